import type { Tensor } from './tensor.js';
export interface AdamWOptions {
    lr: number;
    beta1?: number;
    beta2?: number;
    eps?: number;
    weightDecay?: number;
    /** Parameters excluded from weight decay (e.g. norms, biases); by default every rank-1 tensor. */
    noDecay?: (p: Tensor) => boolean;
}
export declare class AdamW {
    readonly params: readonly Tensor[];
    opts: AdamWOptions;
    readonly beta1: number;
    readonly beta2: number;
    readonly eps: number;
    readonly weightDecay: number;
    /** Number of update steps taken so far. */
    step: number;
    private readonly m;
    private readonly v;
    private readonly decays;
    constructor(params: readonly Tensor[], opts: AdamWOptions);
    /** Moment buffers, in parameter order (for checkpointing). */
    state(): {
        m: readonly Tensor[];
        v: readonly Tensor[];
    };
    /** One update with learning rate lr (defaults to opts.lr). Parameters without a gradient are skipped. */
    update(lr?: number): void;
}
/** Global L2 norm of all gradients. */
export declare function gradNorm(params: readonly Tensor[]): number;
/** Scales all gradients so their global norm is at most maxNorm; returns the norm before clipping. */
export declare function clipGradNorm(params: readonly Tensor[], maxNorm: number): number;
