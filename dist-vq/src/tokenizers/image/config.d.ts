/** GroupNorm groups used by every Normalize() of the VQGAN (taming / Meta / HF). */
export declare const VQ_NORM_GROUPS = 32;
/** GroupNorm epsilon of the VQGAN. */
export declare const VQ_NORM_EPS = 0.000001;
export interface VqganConfig {
    /** Codebook vector size (quant_conv output channels). HF `embed_dim`. */
    embedDim: number;
    /** Codebook entries. HF `num_embeddings`, taming `n_embed`. */
    numEmbeddings: number;
    /** Encoder output / decoder input channels. HF `latent_channels`, taming `z_channels`. */
    latentChannels: number;
    /** Image side in pixels (square images). */
    resolution: number;
    inChannels: number;
    /** HF `out_channels`, taming `out_ch`. */
    outChannels: number;
    /** HF `base_channels`, taming `ch`. */
    baseChannels: number;
    /** Channel multiplier per resolution level. HF `channel_multiplier`, taming `ch_mult`. */
    channelMultiplier: readonly number[];
    numResBlocks: number;
    /** Resolutions (feature-map sides) at which the down/up levels carry self-attention blocks. */
    attnResolutions: readonly number[];
    dropout: number;
    /** Encoder emits 2·latentChannels (mean/logvar style). HF `double_latent`, taming `double_z`. */
    doubleLatent: boolean;
}
/** Meta's Chameleon tokenizer: 512×512 images -> 32×32 = 1024 codes of an 8192×256 codebook. */
export declare const CHAMELEON_VQGAN: Readonly<VqganConfig>;
/** The vq_config of tests/fixtures/hf-chameleon (32×32 images -> 4×4 codes, 64×8 codebook). */
export declare const TINY_VQGAN: Readonly<VqganConfig>;
/** A CPU-trainable tokenizer for demo models: 64×64 images -> 8×8 = 64 codes of a 1024×64 codebook. */
export declare const SMALL_VQGAN: Readonly<VqganConfig>;
export declare const VQGAN_PRESETS: Readonly<{
    chameleon: Readonly<VqganConfig>;
    tiny: Readonly<VqganConfig>;
    small: Readonly<VqganConfig>;
}>;
export type VqganPresetName = keyof typeof VQGAN_PRESETS;
/** Down-sampling factor of the encoder: 2^(levels − 1). */
export declare function downFactor(cfg: VqganConfig): number;
/** Side of the latent grid: resolution / 2^(len(ch_mult) − 1) (32 for Chameleon). */
export declare function latentGrid(cfg: VqganConfig): number;
/** Number of image tokens per image (latentGrid²; 1024 for Chameleon). */
export declare function tokensPerImage(cfg: VqganConfig): number;
/** Throws FormatError naming every inconsistent field (sizes, divisibility, GroupNorm channels). */
export declare function validateVqganConfig(cfg: VqganConfig): void;
/**
 * Reads a `vq_config` object (HF names: embed_dim, num_embeddings, latent_channels, base_channels,
 * channel_multiplier, out_channels, double_latent; or taming names: n_embed, z_channels, ch, ch_mult,
 * out_ch, double_z). Missing keys take the Chameleon defaults (as HF does); attn_resolutions null
 * means none. Validates the result.
 */
export declare function vqganConfigFromHf(json: unknown): VqganConfig;
/** HF-style `vq_config` keys (with the taming aliases HF also keeps) for writing config.json. */
export declare function vqganConfigToHf(cfg: VqganConfig): Record<string, unknown>;
