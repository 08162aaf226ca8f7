// VQGAN image-tokenizer configuration: the VqganConfig type, presets (the real Chameleon tokenizer,
// the tiny one of the HF test fixtures, a small one for demo models), latentGrid, validation with
// clear messages, and a converter from Hugging Face / taming `vq_config` JSON (both key spellings).
// Leaves out: the quantizer's training beta (a training option) and HF's generic PretrainedConfig keys.

import { FormatError } from '../../util/errors.js';

/** GroupNorm groups used by every Normalize() of the VQGAN (taming / Meta / HF). */
export const VQ_NORM_GROUPS = 32;
/** GroupNorm epsilon of the VQGAN. */
export const VQ_NORM_EPS = 1e-6;

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
export const CHAMELEON_VQGAN: Readonly<VqganConfig> = Object.freeze({
  embedDim: 256,
  numEmbeddings: 8192,
  latentChannels: 256,
  resolution: 512,
  inChannels: 3,
  outChannels: 3,
  baseChannels: 128,
  channelMultiplier: Object.freeze([1, 1, 2, 2, 4]),
  numResBlocks: 2,
  attnResolutions: Object.freeze([]),
  dropout: 0,
  doubleLatent: false,
});

/** The vq_config of tests/fixtures/hf-chameleon (32×32 images -> 4×4 codes, 64×8 codebook). */
export const TINY_VQGAN: Readonly<VqganConfig> = Object.freeze({
  embedDim: 8,
  numEmbeddings: 64,
  latentChannels: 4,
  resolution: 32,
  inChannels: 3,
  outChannels: 3,
  baseChannels: 32,
  channelMultiplier: Object.freeze([1, 1, 1, 2]),
  numResBlocks: 1,
  attnResolutions: Object.freeze([]),
  dropout: 0,
  doubleLatent: false,
});

/** A CPU-trainable tokenizer for demo models: 64×64 images -> 8×8 = 64 codes of a 1024×64 codebook. */
export const SMALL_VQGAN: Readonly<VqganConfig> = Object.freeze({
  embedDim: 64,
  numEmbeddings: 1024,
  latentChannels: 64,
  resolution: 64,
  inChannels: 3,
  outChannels: 3,
  baseChannels: 32,
  channelMultiplier: Object.freeze([1, 2, 2, 4]),
  numResBlocks: 1,
  attnResolutions: Object.freeze([]),
  dropout: 0,
  doubleLatent: false,
});

/**
 * The demo model's tokenizer: 64×64 -> 8×8 codes like `small`, 32 channels at 64² and 32², 64 at 16²,
 * 128 at 8² (about half small's FLOPs). The GroupNorms have 32 groups, so at 32 channels each channel
 * is normalised alone per image, which erases a lone shape's absolute colour; the last level (where
 * norm_out feeds the latent) keeps 4 channels per group, so colour survives into the codes.
 */
const DEMO_VQGAN: Readonly<VqganConfig> = Object.freeze({
  embedDim: 32,
  numEmbeddings: 1024,
  latentChannels: 32,
  resolution: 64,
  inChannels: 3,
  outChannels: 3,
  baseChannels: 32,
  channelMultiplier: Object.freeze([1, 1, 2, 4]),
  numResBlocks: 1,
  attnResolutions: Object.freeze([]),
  dropout: 0,
  doubleLatent: false,
});

/**
 * The shipped demo model's tokenizer: 64×64 -> 16×16 = 256 codes (4×4-pixel patches) of a 1024×32
 * codebook; 32 channels at 64², 64 at 32² and 16² (2 per GroupNorm group, so colour survives). About
 * as many FLOPs as `demo`, yet at 8×8 codes `demo` plateaus at 77 % parser agreement (an 8×8 patch of
 * this world has more distinct contents than 1024 codes) while this one reads 98 % by step 1800.
 */
const DEMO16_VQGAN: Readonly<VqganConfig> = Object.freeze({ ...DEMO_VQGAN, channelMultiplier: Object.freeze([1, 2, 2]) });

export const VQGAN_PRESETS = Object.freeze({ chameleon: CHAMELEON_VQGAN, tiny: TINY_VQGAN, small: SMALL_VQGAN, demo: DEMO_VQGAN, demo16: DEMO16_VQGAN });

/** Down-sampling factor of the encoder: 2^(levels − 1). */
function downFactor(cfg: VqganConfig): number {
  return 2 ** (cfg.channelMultiplier.length - 1);
}

/** Side of the latent grid: resolution / 2^(len(ch_mult) − 1) (32 for Chameleon). */
export function latentGrid(cfg: VqganConfig): number {
  return cfg.resolution / downFactor(cfg);
}

/** Number of image tokens per image (latentGrid²; 1024 for Chameleon). */
export function tokensPerImage(cfg: VqganConfig): number {
  return latentGrid(cfg) ** 2;
}

/** Throws FormatError naming every inconsistent field (sizes, divisibility, GroupNorm channels). */
export function validateVqganConfig(cfg: VqganConfig): void {
  const bad: string[] = [];
  const posInt = (name: keyof VqganConfig, v: number): void => {
    if (!Number.isInteger(v) || v <= 0) bad.push(`${name} must be a positive integer, got ${v}`);
  };
  posInt('embedDim', cfg.embedDim);
  posInt('numEmbeddings', cfg.numEmbeddings);
  posInt('latentChannels', cfg.latentChannels);
  posInt('resolution', cfg.resolution);
  posInt('inChannels', cfg.inChannels);
  posInt('outChannels', cfg.outChannels);
  posInt('baseChannels', cfg.baseChannels);
  posInt('numResBlocks', cfg.numResBlocks);
  if (cfg.channelMultiplier.length === 0) bad.push('channelMultiplier must not be empty');
  for (const m of cfg.channelMultiplier) {
    if (!Number.isInteger(m) || m <= 0) bad.push(`channelMultiplier entries must be positive integers, got ${m}`);
    else if ((cfg.baseChannels * m) % VQ_NORM_GROUPS !== 0) {
      bad.push(`baseChannels·${m} = ${cfg.baseChannels * m} is not divisible by the ${VQ_NORM_GROUPS} GroupNorm groups`);
    }
  }
  if (Number.isInteger(cfg.resolution) && cfg.channelMultiplier.length > 0 && cfg.resolution % downFactor(cfg) !== 0) {
    bad.push(`resolution ${cfg.resolution} is not divisible by the down-sampling factor ${downFactor(cfg)}`);
  }
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) bad.push(`dropout must be in [0, 1), got ${cfg.dropout}`);
  if (bad.length) throw new FormatError(`invalid VQGAN config: ${bad.join('; ')}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads a `vq_config` object (HF names: embed_dim, num_embeddings, latent_channels, base_channels,
 * channel_multiplier, out_channels, double_latent; or taming names: n_embed, z_channels, ch, ch_mult,
 * out_ch, double_z). Missing keys take the Chameleon defaults (as HF does); attn_resolutions null
 * means none. Validates the result.
 */
export function vqganConfigFromHf(json: unknown): VqganConfig {
  if (!isRecord(json)) throw new FormatError('vq_config must be a JSON object');
  const errors: string[] = [];
  const pick = (names: string[]): unknown => {
    for (const n of names) if (json[n] !== undefined) return json[n];
    return undefined;
  };
  const num = (names: string[], dflt: number): number => {
    const v = pick(names);
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      errors.push(`${names.join('/')} must be a number, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  };
  const list = (names: string[], dflt: readonly number[]): number[] => {
    const v = pick(names);
    if (v === undefined || v === null) return [...(names[0] === 'attn_resolutions' ? [] : dflt)];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) {
      errors.push(`${names.join('/')} must be a list of numbers, got ${JSON.stringify(v)}`);
      return [...dflt];
    }
    return v as number[];
  };
  const bool = (names: string[], dflt: boolean): boolean => {
    const v = pick(names);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      errors.push(`${names.join('/')} must be a boolean, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  };
  const d = CHAMELEON_VQGAN;
  const cfg: VqganConfig = {
    embedDim: num(['embed_dim'], d.embedDim),
    numEmbeddings: num(['num_embeddings', 'n_embed'], d.numEmbeddings),
    latentChannels: num(['latent_channels', 'z_channels'], d.latentChannels),
    resolution: num(['resolution'], d.resolution),
    inChannels: num(['in_channels'], d.inChannels),
    outChannels: num(['out_channels', 'out_ch'], d.outChannels),
    baseChannels: num(['base_channels', 'ch'], d.baseChannels),
    channelMultiplier: list(['channel_multiplier', 'ch_mult'], d.channelMultiplier),
    numResBlocks: num(['num_res_blocks'], d.numResBlocks),
    attnResolutions: list(['attn_resolutions'], d.attnResolutions),
    dropout: num(['dropout'], d.dropout),
    doubleLatent: bool(['double_latent', 'double_z'], d.doubleLatent),
  };
  const attnType = json.attn_type;
  if (attnType !== undefined && attnType !== 'vanilla') errors.push(`attn_type ${JSON.stringify(attnType)} is not supported (only "vanilla")`);
  if (errors.length) throw new FormatError(`invalid vq_config: ${errors.join('; ')}`);
  validateVqganConfig(cfg);
  return cfg;
}

/** HF-style `vq_config` keys (with the taming aliases HF also keeps) for writing config.json. */
export function vqganConfigToHf(cfg: VqganConfig): Record<string, unknown> {
  return {
    model_type: 'chameleon_vqgan',
    embed_dim: cfg.embedDim,
    num_embeddings: cfg.numEmbeddings,
    double_latent: cfg.doubleLatent,
    latent_channels: cfg.latentChannels,
    resolution: cfg.resolution,
    in_channels: cfg.inChannels,
    out_channels: cfg.outChannels,
    base_channels: cfg.baseChannels,
    channel_multiplier: [...cfg.channelMultiplier],
    num_res_blocks: cfg.numResBlocks,
    attn_resolutions: [...cfg.attnResolutions],
    dropout: cfg.dropout,
    attn_type: 'vanilla',
  };
}
