import type { AdamWParams, F32, I32 } from '../../kernels.js';
/**
 * The dropout uniform of element i under seed: key = fmix32(seed as uint32);
 * h = fmix32((i · 0x9E3779B1 mod 2³²) XOR key); u = (h >>> 8) / 2²⁴ ∈ [0, 1), exactly representable in f32.
 */
export declare function dropoutUniform(seed: number, i: number): number;
/** out[i] = dropoutUniform(seed, i) ≥ p ? x[i] / (1 − p) : 0. p ≥ 1 drops everything. */
export declare function dropout(x: F32, out: F32, p: number, seed: number): void;
/** lse[r] = logsumexp(z[r, :]); losses[r] = lse[r] − z[r, t_r], or 0 when t_r is ignoreIndex. */
export declare function crossEntropy(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number): void;
/**
 * gLogits[r, j] = exp(z[r, j] − lse[r]) · (ceScale + zScale · lse[r]) − [j = t_r] · ceScale, and 0 for
 * rows whose target is ignoreIndex. Uses the saved lse.
 */
export declare function crossEntropyBackward(logits: F32, targets: I32, lse: F32, gLogits: F32, rows: number, vocab: number, ignoreIndex: number, ceScale: number, zScale: number): void;
/** out = silu(g) · u = g·u / (1 + e^−g). */
export declare function swiglu(g: F32, u: F32, out: F32): void;
/** gg = gy · u · silu'(g) with silu'(g) = s·(1 + g·(1 − s)), s = sigmoid(g); gu = gy · silu(g). Both written. */
export declare function swigluBackward(g: F32, u: F32, gy: F32, gg: F32, gu: F32): void;
/**
 * AdamW in place (PyTorch order): param ·= 1 − lr·wd; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 * param −= lr · (m / (1 − β1^step)) / (sqrt(v / (1 − β2^step)) + eps).
 */
export declare function adamw(param: F32, grad: F32, m: F32, v: F32, p: AdamWParams): void;
/** Σ x² accumulated in float64. */
export declare function sumSquares(x: F32): number;
