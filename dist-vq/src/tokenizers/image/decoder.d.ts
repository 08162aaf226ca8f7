import type { Tensor } from '../../engine/index.js';
import type { ParamStore } from '../../nn/params.js';
import { AttnBlock, ResnetBlock, type ConvParams, type NormParams, type VqForwardOptions } from './blocks.js';
import { type VqganConfig } from './config.js';
interface UpLevel {
    blocks: ResnetBlock[];
    attns: AttnBlock[];
    up: ConvParams | null;
}
export declare class VqDecoder {
    readonly cfg: VqganConfig;
    readonly convIn: ConvParams;
    readonly mid1: ResnetBlock;
    readonly midAttn: AttnBlock;
    readonly mid2: ResnetBlock;
    /** Indexed by resolution level, like the checkpoint (levels[0] is the full-resolution one). */
    readonly levels: UpLevel[];
    readonly normOut: NormParams;
    readonly convOut: ConvParams;
    /** Declares every `decoder.*` parameter in `store`. */
    constructor(store: ParamStore, cfg: VqganConfig);
    /** latent [B, latentChannels, g, g] (post_quant_conv output) -> pixels [B, outChannels, R, R]. */
    forward(z: Tensor, opts?: VqForwardOptions): Tensor;
}
export {};
