import { type Tensor } from '../../engine/index.js';
export interface NearestCodes {
    /** Index of the nearest codebook entry per row. */
    indices: Int32Array;
    /** Second-smallest minus smallest distance per row (how close the choice was to a tie). */
    margins: Float32Array;
}
/** A tensor sharing t's data but cut off from the autograd graph (torch `.detach()`). */
export declare function detach(t: Tensor): Tensor;
/** Nearest codebook rows: z [N, D], codebook [K, D] -> indices [N] (first minimum wins ties). */
export declare function nearestCodes(z: Tensor, codebook: Tensor): NearestCodes;
/** Codebook vectors for codes [B·h·w] (raster order per image) as a latent map [B, D, h, w]. */
export declare function lookupCodes(codebook: Tensor, indices: ArrayLike<number>, b: number, h: number, w: number): Tensor;
export interface QuantizeResult {
    /** [B·h·w] codes, raster order per image. */
    indices: Int32Array;
    /** Codebook vectors [B, D, h, w] (no gradient). */
    quantized: Tensor;
    margins: Float32Array;
}
/** z [B, D, h, w] -> nearest codebook vectors and codes (inference; no gradients). */
export declare function quantize(z: Tensor, codebook: Tensor): QuantizeResult;
export interface StraightThroughOptions {
    /** Commitment weight β (default 0.25). */
    beta?: number;
    /**
     * taming's `legacy=True` placement (Meta/HF default): loss = ‖sg(e) − z‖² + β‖e − sg(z)‖², i.e. β
     * on the codebook term. Default false: the VQ-VAE paper's ‖e − sg(z)‖² + β‖sg(e) − z‖².
     */
    legacy?: boolean;
}
export interface StraightThroughResult extends QuantizeResult {
    /** z + sg(e − z): forward value = codebook vectors, gradient passes to z unchanged. [B, D, h, w] */
    quantized: Tensor;
    /** mean ‖e − sg(z)‖² (moves the codebook). Scalar tensor. */
    codebookLoss: Tensor;
    /** mean ‖sg(e) − z‖² (moves the encoder). Scalar tensor. */
    commitmentLoss: Tensor;
    /** The weighted sum (see StraightThroughOptions.legacy). Scalar tensor. */
    loss: Tensor;
}
/** Training quantizer: straight-through estimator plus codebook and commitment losses. */
export declare function quantizeStraightThrough(z: Tensor, codebook: Tensor, opts?: StraightThroughOptions): StraightThroughResult;
