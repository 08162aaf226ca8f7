import { type Tensor } from '../../engine/index.js';
import type { ParamStore } from '../../nn/params.js';
/** Options of one forward pass. */
export interface VqForwardOptions {
    /** Training: applies the config's dropout inside ResnetBlocks with seeds derived from this one. */
    dropoutSeed?: number;
    /** Receives named intermediate activations (e.g. "conv_in", "down.0.block_out", "mid"). */
    capture?: (name: string, t: Tensor) => void;
}
export interface ConvParams {
    w: Tensor;
    b: Tensor;
}
export interface NormParams {
    w: Tensor;
    b: Tensor;
}
/** Declares `${name}.weight` [cout, cin, k, k] and `${name}.bias` (PyTorch default init bounds). */
export declare function declareConv(store: ParamStore, name: string, cout: number, cin: number, k: number): ConvParams;
/** Declares a GroupNorm's `${name}.weight` (ones) and `${name}.bias` (zeros), both [c]. */
export declare function declareNorm(store: ParamStore, name: string, c: number): NormParams;
/** 3×3 "same" convolution (padding 1) or 1×1 convolution, by the weight's kernel size. */
export declare function conv(x: Tensor, p: ConvParams): Tensor;
/** swish(GroupNorm(x)): Normalize + nonlinearity. */
export declare function normSwish(x: Tensor, n: NormParams): Tensor;
/** h = conv1(swish(GN(x))); h = conv2(dropout(swish(GN(h)))); out = shortcut(x) + h. */
export declare class ResnetBlock {
    readonly cin: number;
    readonly cout: number;
    private readonly dropout;
    private readonly id;
    readonly norm1: NormParams;
    readonly conv1: ConvParams;
    readonly norm2: NormParams;
    readonly conv2: ConvParams;
    /** 1×1 `nin_shortcut` when the channel count changes. */
    readonly shortcut: ConvParams | null;
    constructor(store: ParamStore, prefix: string, cin: number, cout: number, dropout: number, id: number);
    forward(x: Tensor, opts?: VqForwardOptions): Tensor;
}
/**
 * Single-head self-attention over all H·W positions: q, k, v, proj_out are 1×1 convs (applied
 * here as linear maps on [B, HW, C]), scale C^−0.5, out = x + proj_out(attn).
 */
export declare class AttnBlock {
    readonly channels: number;
    readonly norm: NormParams;
    readonly q: ConvParams;
    readonly k: ConvParams;
    readonly v: ConvParams;
    readonly proj: ConvParams;
    constructor(store: ParamStore, prefix: string, channels: number);
    private lin;
    forward(x: Tensor): Tensor;
}
/** Zero-pad right and bottom by one pixel, then 3×3 conv with stride 2: [B,C,H,W] -> [B,C,H/2,W/2]. */
export declare function downsample(x: Tensor, p: ConvParams): Tensor;
/** Nearest-neighbour ×2 then 3×3 conv (padding 1): [B,C,H,W] -> [B,C,2H,2W]. */
export declare function upsample(x: Tensor, p: ConvParams): Tensor;
