// Seeded pseudo-random numbers (xoshiro128** seeded through splitmix32): uniform floats, normals
// (Box-Muller), integers, and an explicit state for checkpoint/resume. Every random choice in
// chameleon-ts (init, sampling, data order) goes through an Rng value; there is no global RNG.
export class Rng {
    s = new Uint32Array(4);
    spare = null;
    constructor(seed) {
        let x = seed >>> 0;
        for (let i = 0; i < 4; i++) {
            // splitmix32
            x = (x + 0x9e3779b9) >>> 0;
            let z = x;
            z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
            z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
            this.s[i] = (z ^ (z >>> 16)) >>> 0;
        }
        if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0)
            this.s[0] = 1;
    }
    /** Next raw 32-bit unsigned integer. */
    nextU32() {
        const s = this.s;
        const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
        const t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 11);
        return result;
    }
    /** Uniform in [0, 1) with 32 bits of randomness. */
    uniform() {
        return this.nextU32() / 4294967296;
    }
    /** Standard normal (Box-Muller, caching the second value). */
    normal() {
        if (this.spare !== null) {
            const v = this.spare;
            this.spare = null;
            return v;
        }
        let u = 0;
        while (u === 0)
            u = this.uniform();
        const v = this.uniform();
        const r = Math.sqrt(-2 * Math.log(u));
        this.spare = r * Math.sin(2 * Math.PI * v);
        return r * Math.cos(2 * Math.PI * v);
    }
    /** Integer in [0, n). */
    int(n) {
        return Math.floor(this.uniform() * n);
    }
    /** Snapshot of the state (for bit-identical resume). */
    getState() {
        return [...this.s, this.spare === null ? NaN : this.spare];
    }
    setState(state) {
        for (let i = 0; i < 4; i++)
            this.s[i] = state[i] >>> 0;
        this.spare = Number.isNaN(state[4]) ? null : state[4];
    }
}
function rotl(x, k) {
    return ((x << k) | (x >>> (32 - k))) >>> 0;
}
//# sourceMappingURL=rng.js.map