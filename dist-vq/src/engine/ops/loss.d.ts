import type { Tensor } from '../tensor.js';
export interface CrossEntropyOptions {
    /** Targets equal to this are not counted (default -100, as in PyTorch). */
    ignoreIndex?: number;
    /** z-loss coefficient (Chameleon: 1e-5); 0 disables it. */
    zLoss?: number;
}
export interface CrossEntropyParts {
    /** Scalar loss tensor (mean CE + zLoss · mean lse²), differentiable. */
    loss: Tensor;
    /** Mean CE alone, and mean lse² alone, over counted positions. */
    ce: number;
    lseSq: number;
    /** Number of counted positions. */
    count: number;
}
/** Mean cross-entropy of logits [..., V] against targets [...] (i32) plus z-loss. */
export declare function crossEntropyParts(logits: Tensor, targets: Tensor, opts?: CrossEntropyOptions): CrossEntropyParts;
export declare function crossEntropy(logits: Tensor, targets: Tensor, opts?: CrossEntropyOptions): Tensor;
