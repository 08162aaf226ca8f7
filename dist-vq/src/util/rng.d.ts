export declare class Rng {
    private s;
    private spare;
    constructor(seed: number);
    /** Next raw 32-bit unsigned integer. */
    nextU32(): number;
    /** Uniform in [0, 1) with 32 bits of randomness. */
    uniform(): number;
    /** Standard normal (Box-Muller, caching the second value). */
    normal(): number;
    /** Integer in [0, n). */
    int(n: number): number;
    /** Snapshot of the state (for bit-identical resume). */
    getState(): number[];
    setState(state: readonly number[]): void;
}
