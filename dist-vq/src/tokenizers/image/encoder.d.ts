import type { Tensor } from '../../engine/index.js';
import type { ParamStore } from '../../nn/params.js';
import { AttnBlock, ResnetBlock, type ConvParams, type NormParams, type VqForwardOptions } from './blocks.js';
import type { VqganConfig } from './config.js';
interface DownLevel {
    blocks: ResnetBlock[];
    attns: AttnBlock[];
    down: ConvParams | null;
}
export declare class VqEncoder {
    readonly cfg: VqganConfig;
    readonly convIn: ConvParams;
    readonly levels: DownLevel[];
    readonly mid1: ResnetBlock;
    readonly midAttn: AttnBlock;
    readonly mid2: ResnetBlock;
    readonly normOut: NormParams;
    readonly convOut: ConvParams;
    /** Declares every `encoder.*` parameter in `store`. */
    constructor(store: ParamStore, cfg: VqganConfig);
    /** pixels [B, inChannels, R, R] in [−1, 1] -> latent [B, latentChannels(×2), R/f, R/f]. */
    forward(x: Tensor, opts?: VqForwardOptions): Tensor;
}
export {};
