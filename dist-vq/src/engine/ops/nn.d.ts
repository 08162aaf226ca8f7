import type { Tensor } from '../tensor.js';
/** table [V, D] (f32/bf16/f16) gathered at ids [...] -> [..., D] f32. */
export declare function embedding(table: Tensor, ids: Tensor): Tensor;
/** RMSNorm over the last axis with weight [D]. */
export declare function rmsnorm(x: Tensor, w: Tensor, eps: number): Tensor;
/**
 * LayerNorm over the last axis (biased variance). w and b are [D] or, for per-head QK-norm on
 * x [..., H, D], [H, D] (row r of x uses affine row r mod H). Pass null for no affine.
 */
export declare function layernorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor;
/** GroupNorm on x [N, C, H, W] with affine w, b [C]. */
export declare function groupnorm(x: Tensor, w: Tensor, b: Tensor, groups: number, eps: number): Tensor;
/** Softmax over the last axis. */
export declare function softmax(x: Tensor): Tensor;
export interface AttentionOptions {
    causal?: boolean;
    /** Default 1/sqrt(D). */
    scale?: number;
    /** Keys/values used: the first kvLen positions of k and v (KV cache). Default k.shape[1]. */
    kvLen?: number;
    /** Query t sits at key position qOffset + t. Default kvLen - tq (the cache convention). */
    qOffset?: number;
    /** [B]: keys before keyStart[b] are padding. */
    keyStart?: Int32Array | null;
    /** [B, kvLen]: segment (document) id of every key position; queries see only their own segment. */
    segIds?: Int32Array | null;
}
/** Scaled-dot-product attention: q [B, T, Hq, D], k/v [B, S, Hkv, D] -> [B, T, Hq, D]. */
export declare function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor;
/** Rotate-half rotary embedding on x [B, T, H, D] at positions [B, T] (Hugging Face convention). */
export declare function rope(x: Tensor, positions: Int32Array, theta: number): Tensor;
/** silu(g) · u. */
export declare function swiglu(g: Tensor, u: Tensor): Tensor;
/** Inverted dropout with probability p, reproducible from seed. Identity when p = 0. */
export declare function dropout(x: Tensor, p: number, seed: number): Tensor;
