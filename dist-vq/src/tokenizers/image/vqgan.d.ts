import type { Engine, Tensor } from '../../engine/index.js';
import { ParamStore, type LoadOptions, type TensorSource } from '../../nn/params.js';
import { type ConvParams, type VqForwardOptions } from './blocks.js';
import { type VqganConfig } from './config.js';
import { VqDecoder } from './decoder.js';
import { VqEncoder } from './encoder.js';
import { type StraightThroughOptions } from './quantizer.js';
/** Prefix of the VQGAN tensors inside a Chameleon checkpoint. */
export declare const VQ_CHECKPOINT_PREFIX = "model.vqmodel.";
export interface VqganParts {
    /** Declare `encoder.*` (default true). */
    encoder?: boolean;
    /** Declare `decoder.*` (default false: Hugging Face checkpoints have no decoder). */
    decoder?: boolean;
}
export interface EncodeResult {
    /** [B·g·g] codes, raster order per image (image b's codes are indices[b·g² .. (b+1)·g²)). */
    indices: Int32Array;
    batch: number;
    /** Latent grid side g. */
    grid: number;
    /** Codebook vectors [B, D, g, g]. */
    quantized: Tensor;
    /** Encoder output (before quant_conv) [B, latentChannels, g, g]. */
    encoderOut: Tensor;
    /** quant_conv output (the vectors that are quantized) [B, D, g, g]. */
    quantConvOut: Tensor;
    /** Second-best minus best distance per code (near-tie diagnostics). */
    margins: Float32Array;
}
export interface ReconstructResult {
    /** Decoded pixels [B, outChannels, R, R], differentiable. */
    recon: Tensor;
    indices: Int32Array;
    codebookLoss: Tensor;
    commitmentLoss: Tensor;
    /** Weighted codebook + commitment loss (scalar tensor). */
    vqLoss: Tensor;
}
export declare class Vqgan {
    readonly engine: Engine;
    readonly cfg: VqganConfig;
    readonly store: ParamStore;
    readonly encoder: VqEncoder | null;
    readonly decoder: VqDecoder | null;
    readonly quantConv: ConvParams;
    readonly postQuantConv: ConvParams;
    /** `quantize.embedding.weight` [numEmbeddings, embedDim]. */
    readonly codebook: Tensor;
    private ready;
    /**
     * Declares the parameters (zeros until load() or initialize()). quant_conv, the codebook and
     * post_quant_conv are always present, as in every Chameleon checkpoint.
     */
    constructor(engine: Engine, cfg: VqganConfig, parts?: VqganParts);
    /**
     * Builds a Vqgan whose decoder exists iff `src` holds `model.vqmodel.decoder.*` tensors, and loads it.
     * (Hugging Face checkpoints: encoder only; decodeCodes then explains what is missing.)
     */
    static fromCheckpoint(engine: Engine, cfg: VqganConfig, src: TensorSource, opts?: Omit<LoadOptions, 'prefix'>): Vqgan;
    /** Latent grid side (32 for Chameleon). */
    get grid(): number;
    /** Loads every declared parameter from `model.vqmodel.*` tensors of src (always as f32). */
    load(src: TensorSource, opts?: Omit<LoadOptions, 'prefix'>): void;
    /** Seeded random initialisation (for training from scratch). */
    initialize(seed: number): void;
    private assertReady;
    private requireEncoder;
    private requireDecoder;
    private checkPixels;
    /** Encoder + quant_conv: pixels [B, C, R, R] -> latents [B, D, g, g]. Differentiable. */
    encodeLatent(pixels: Tensor, opts?: VqForwardOptions): Tensor;
    /**
     * Tokenizes images: pixels [B, C, R, R] in [−1, 1] -> codes (raster order) and the tensors along
     * the way. Runs without autograd; returned tensors live in the caller's scope.
     */
    encode(pixels: Tensor, opts?: Pick<VqForwardOptions, 'capture'>): EncodeResult;
    /** post_quant_conv + decoder: quantized [B, D, g, g] -> pixels [B, outChannels, R, R]. Differentiable. */
    decodeLatent(quantized: Tensor, opts?: VqForwardOptions): Tensor;
    /**
     * Renders codes: `indices` holds batch·g² codes in raster order -> pixels [B, outChannels, R, R]
     * (roughly [−1, 1]; see toUint8HWC). Runs without autograd.
     */
    decodeCodes(indices: ArrayLike<number>, batch?: number, opts?: Pick<VqForwardOptions, 'capture'>): Tensor;
    /**
     * Training forward pass: encoder -> quant_conv -> straight-through quantizer (codebook and
     * commitment losses, β default 0.25) -> post_quant_conv -> decoder, all recorded for autograd.
     * The caller adds its reconstruction loss on `recon` and calls backward().
     */
    reconstruct(pixels: Tensor, opts?: StraightThroughOptions & Pick<VqForwardOptions, 'dropoutSeed'>): ReconstructResult;
}
/**
 * Meta's post-processing: clamp to [−1, 1], (x + 1) / 2, × 255 in f32, truncate to uint8, channels
 * last. pixels [B, C, H, W] (or [C, H, W]) -> bytes [B, H, W, C].
 */
export declare function toUint8HWC(pixels: Tensor): Uint8Array;
/** Pads a partial code list to `n` codes with copies of the first code (Meta's streaming preview). */
export declare function padCodes(codes: ArrayLike<number>, n: number): Int32Array;
/**
 * One TensorSource over several (e.g. an HF model.safetensors plus a decoder-only file); a name
 * present in several sources is read from the first that has it.
 */
export declare function combineSources(...sources: TensorSource[]): TensorSource;
