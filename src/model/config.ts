// Chameleon model configuration: the typed config (camelCase mirror of HF ChameleonConfig v4.44 keys),
// parseHfConfig (zod type checks + HF defaults for absent keys + semantic validation), toHfConfigJson
// (the full HF config.json), presets (7b, 30b, tiny, small, 1b), ffnSize and parameterCount.
// Leaves out: tokenizer files, generation_config.json, Meta params.json, and the VQ-GAN decoder's weights
// (parameterCount covers the language model only).

import { z } from 'zod';
import { FormatError } from '../util/errors.js';
import { CHAMELEON_VQGAN, type VqganConfig } from '../tokenizers/image/config.js';

/**
 * The `vq_config` of a Chameleon config.json: the image tokenizer's own VqganConfig (the type the
 * VQGAN is built from) plus the HF keys it does not use, so a parsed config round-trips exactly.
 */
export interface VqConfig extends VqganConfig {
  channelMultiplier: number[];
  /** HF's default is None; we store [] for "no attention resolutions". */
  attnResolutions: number[];
  attnType: string;
  initializerRange: number;
  /** Keys we don't model, kept verbatim so toHfConfigJson writes them back (HF does the same). */
  extra: Record<string, unknown>;
}

export interface ChameleonConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** Derived: hiddenSize / numAttentionHeads (always even). */
  headDim: number;
  hiddenAct: 'silu';
  maxPositionEmbeddings: number;
  initializerRange: number;
  rmsNormEps: number;
  useCache: boolean;
  padTokenId: number | null;
  bosTokenId: number | null;
  eosTokenId: number | null;
  tieWordEmbeddings: boolean;
  ropeTheta: number;
  ropeScaling: Record<string, unknown> | null;
  attentionBias: boolean;
  attentionDropout: number;
  modelParallelSize: number;
  swinNorm: boolean;
  /**
   * Per-head QK LayerNorm (every Chameleon checkpoint has it; false only for the stability lab's
   * LLaMA-layout arm, written as `qk_norm: false`, a key Hugging Face does not know).
   */
  qkNorm: boolean;
  mlpBias: boolean;
  torchDtype: string | null;
  /** Newer HF configs carry these; otherwise derived from vocabularyMap (<image>, <racm3:break>, <eoss>). */
  imageTokenId: number | null;
  boiTokenId: number | null;
  eoiTokenId: number | null;
  vqConfig: VqConfig;
  vocabularyMap: Record<string, number> | null;
  /** Keys we don't model (generic PretrainedConfig keys, newer HF keys), kept for the round trip. */
  extra: Record<string, unknown>;
  /**
   * Unknown keys and other non-fatal findings of the parse that produced this object. Non-enumerable:
   * it describes the source document, not the model, so deep equality, JSON and spreads ignore it.
   */
  readonly warnings: readonly string[];
}

type ConfigFields = Omit<ChameleonConfig, 'warnings'>;

function withWarnings(c: ConfigFields, warnings: readonly string[]): ChameleonConfig {
  Object.defineProperty(c, 'warnings', { value: warnings, enumerable: false, writable: true, configurable: true });
  return c as ChameleonConfig;
}

// ---------------------------------------------------------------------------------------------------
// Schemas: types only. Semantic checks (positivity, divisibility, ...) follow with clear messages.

const int = z.number().int();
const optInt = int.nullable().optional();

const MAIN_SCHEMA = z.object({
  model_type: z.string().optional(),
  vocab_size: int.optional(),
  hidden_size: int.optional(),
  intermediate_size: int.optional(),
  num_hidden_layers: int.optional(),
  num_attention_heads: int.optional(),
  num_key_value_heads: optInt,
  hidden_act: z.string().optional(),
  max_position_embeddings: int.optional(),
  initializer_range: z.number().optional(),
  rms_norm_eps: z.number().optional(),
  use_cache: z.boolean().optional(),
  pad_token_id: optInt,
  bos_token_id: optInt,
  eos_token_id: optInt,
  tie_word_embeddings: z.boolean().optional(),
  rope_theta: z.number().optional(),
  rope_scaling: z.record(z.string(), z.unknown()).nullable().optional(),
  rope_parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  attention_bias: z.boolean().optional(),
  attention_dropout: z.number().optional(),
  model_parallel_size: int.optional(),
  swin_norm: z.boolean().optional(),
  qk_norm: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  torch_dtype: z.string().nullable().optional(),
  dtype: z.string().nullable().optional(),
  image_token_id: optInt,
  boi_token_id: optInt,
  eoi_token_id: optInt,
  vq_config: z.record(z.string(), z.unknown()).nullable().optional(),
  vocabulary_map: z.record(z.string(), int).nullable().optional(),
  architectures: z.array(z.string()).nullable().optional(),
  transformers_version: z.string().optional(),
});

const VQ_SCHEMA = z.object({
  model_type: z.string().optional(),
  embed_dim: int.optional(),
  num_embeddings: int.optional(),
  n_embed: int.optional(),
  double_latent: z.boolean().optional(),
  double_z: z.boolean().optional(),
  latent_channels: int.optional(),
  z_channels: int.optional(),
  resolution: int.optional(),
  in_channels: int.optional(),
  out_channels: int.optional(),
  out_ch: int.optional(),
  base_channels: int.optional(),
  ch: int.optional(),
  channel_multiplier: z.array(int).optional(),
  ch_mult: z.array(int).optional(),
  num_res_blocks: int.optional(),
  attn_resolutions: z.array(int).nullable().optional(),
  dropout: z.number().optional(),
  attn_type: z.string().nullable().optional(),
  initializer_range: z.number().optional(),
  // taming-only switches with a single meaningful value for Chameleon
  resamp_with_conv: z.boolean().optional(),
  give_pre_end: z.boolean().optional(),
});

/** Keys every HF PretrainedConfig serializes (generation/task settings): kept in `extra`, no warning. */
const GENERIC_KEYS = new Set([
  '_name_or_path', 'add_cross_attention', 'bad_words_ids', 'begin_suppress_tokens', 'chunk_size_feed_forward',
  'cross_attention_hidden_size', 'decoder_start_token_id', 'diversity_penalty', 'do_sample', 'early_stopping',
  'encoder_no_repeat_ngram_size', 'exponential_decay_length_penalty', 'finetuning_task', 'forced_bos_token_id',
  'forced_eos_token_id', 'id2label', 'is_decoder', 'is_encoder_decoder', 'label2id', 'length_penalty',
  'max_length', 'min_length', 'no_repeat_ngram_size', 'num_beam_groups', 'num_beams', 'num_return_sequences',
  'output_attentions', 'output_hidden_states', 'output_scores', 'prefix', 'problem_type', 'pruned_heads',
  'remove_invalid_values', 'repetition_penalty', 'return_dict', 'return_dict_in_generate', 'sep_token_id',
  'suppress_tokens', 'task_specific_params', 'temperature', 'tf_legacy_loss', 'tie_encoder_decoder',
  'tokenizer_class', 'top_k', 'top_p', 'torchscript', 'typical_p', 'use_bfloat16', 'bos_token_id',
  'eos_token_id', 'pad_token_id', 'torch_dtype', 'architectures', 'transformers_version', 'tie_word_embeddings',
  'initializer_range', 'output_router_logits', '_attn_implementation_autoset', '_commit_hash',
]);

const MAIN_KEYS = new Set(Object.keys(MAIN_SCHEMA.shape));
const VQ_KEYS = new Set(Object.keys(VQ_SCHEMA.shape));

/** HF v4.44 ChameleonVQVAEConfig defaults: the real Chameleon tokenizer (out_channels 3 = RGB like in_channels). */
export const DEFAULT_VQ: Readonly<Omit<VqConfig, 'extra'>> = {
  ...CHAMELEON_VQGAN,
  channelMultiplier: [...CHAMELEON_VQGAN.channelMultiplier],
  attnResolutions: [...CHAMELEON_VQGAN.attnResolutions],
  attnType: 'vanilla',
  initializerRange: 0.02,
};

// ---------------------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeErrors(where: string, issues: readonly { path: PropertyKey[]; message: string }[]): FormatError {
  const lines = issues.map((i) => `${where}${i.path.map(String).join('.')}: ${i.message}`);
  return new FormatError(`invalid Chameleon config: ${lines.join('; ')}`);
}

function positive(name: string, v: number): number {
  if (!(v > 0)) throw new FormatError(`invalid Chameleon config: ${name} must be positive, got ${v}`);
  return v;
}

/** Picks HF name or taming alias; both present with different values is an error. */
function alias<T>(o: Record<string, unknown>, hf: string, taming: string, dflt: T): T {
  const a = o[hf] as T | undefined;
  const b = o[taming] as T | undefined;
  if (a !== undefined && b !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
    throw new FormatError(`invalid Chameleon config: vq_config.${hf} (${JSON.stringify(a)}) and vq_config.${taming} (${JSON.stringify(b)}) disagree`);
  }
  return a ?? b ?? dflt;
}

function parseVq(raw: Record<string, unknown> | null | undefined, warnings: string[]): VqConfig {
  const o = raw ?? {};
  const r = VQ_SCHEMA.safeParse(o);
  if (!r.success) throw typeErrors('vq_config.', r.error.issues);
  if (o.model_type !== undefined && o.model_type !== 'chameleon_vqgan') {
    throw new FormatError(`invalid Chameleon config: vq_config.model_type must be "chameleon_vqgan", got ${JSON.stringify(o.model_type)}`);
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (VQ_KEYS.has(k)) continue;
    extra[k] = v;
    if (!GENERIC_KEYS.has(k)) warnings.push(`unknown key vq_config.${k} (kept, not used)`);
  }
  const d = DEFAULT_VQ;
  const vq: VqConfig = {
    embedDim: (o.embed_dim as number | undefined) ?? d.embedDim,
    numEmbeddings: alias(o, 'num_embeddings', 'n_embed', d.numEmbeddings),
    doubleLatent: alias(o, 'double_latent', 'double_z', d.doubleLatent),
    latentChannels: alias(o, 'latent_channels', 'z_channels', d.latentChannels),
    resolution: (o.resolution as number | undefined) ?? d.resolution,
    inChannels: (o.in_channels as number | undefined) ?? d.inChannels,
    outChannels: alias(o, 'out_channels', 'out_ch', d.outChannels),
    baseChannels: alias(o, 'base_channels', 'ch', d.baseChannels),
    channelMultiplier: [...alias<number[]>(o, 'channel_multiplier', 'ch_mult', d.channelMultiplier)],
    numResBlocks: (o.num_res_blocks as number | undefined) ?? d.numResBlocks,
    attnResolutions: [...((o.attn_resolutions as number[] | null | undefined) ?? d.attnResolutions)],
    dropout: (o.dropout as number | undefined) ?? d.dropout,
    attnType: (o.attn_type as string | null | undefined) ?? d.attnType,
    initializerRange: (o.initializer_range as number | undefined) ?? d.initializerRange,
    extra,
  };
  const sizes = [
    ['embed_dim', vq.embedDim], ['num_embeddings', vq.numEmbeddings], ['latent_channels', vq.latentChannels],
    ['resolution', vq.resolution], ['in_channels', vq.inChannels], ['out_channels', vq.outChannels],
    ['base_channels', vq.baseChannels], ['num_res_blocks', vq.numResBlocks],
  ] as const;
  for (const [k, v] of sizes) positive(`vq_config.${k}`, v);
  if (vq.channelMultiplier.length === 0 || vq.channelMultiplier.some((m) => m <= 0)) {
    const got = JSON.stringify(vq.channelMultiplier);
    throw new FormatError(`invalid Chameleon config: vq_config.channel_multiplier must be non-empty positive integers, got ${got}`);
  }
  if (vq.dropout < 0 || vq.dropout >= 1) {
    throw new FormatError(`invalid Chameleon config: vq_config.dropout must be in [0, 1), got ${vq.dropout}`);
  }
  return vq;
}

/**
 * Parses an HF Chameleon config.json object. Absent keys get HF v4.44 defaults (HF writes only non-default
 * keys). Unknown keys go to `warnings` (and `extra`); a known key with the wrong type is a FormatError.
 */
export function parseHfConfig(json: unknown): ChameleonConfig {
  if (!isRecord(json)) {
    const got = json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json;
    throw new FormatError(`invalid Chameleon config: expected a JSON object, got ${got}`);
  }
  const r = MAIN_SCHEMA.safeParse(json);
  if (!r.success) throw typeErrors('', r.error.issues);
  const o = r.data;
  const warnings: string[] = [];
  if (o.model_type === undefined) warnings.push('config has no model_type; assuming "chameleon"');
  else if (o.model_type !== 'chameleon') {
    throw new FormatError(`invalid Chameleon config: model_type must be "chameleon", got "${o.model_type}"`);
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (MAIN_KEYS.has(k)) continue;
    extra[k] = v;
    if (!GENERIC_KEYS.has(k)) warnings.push(`unknown key ${k} (kept, not used)`);
  }
  const hiddenAct = o.hidden_act ?? 'silu';
  if (hiddenAct !== 'silu') throw new FormatError(`invalid Chameleon config: hidden_act "${hiddenAct}" is not supported (Chameleon uses "silu")`);

  // Newer transformers move rope_theta into rope_parameters.
  let ropeTheta = o.rope_theta;
  let ropeScaling = o.rope_scaling ?? null;
  if (o.rope_parameters) {
    const rp = o.rope_parameters;
    if (ropeTheta === undefined && typeof rp.rope_theta === 'number') ropeTheta = rp.rope_theta;
    const type = rp.rope_type ?? rp.type;
    if (ropeScaling === null && type !== undefined && type !== 'default') ropeScaling = { ...rp };
  }

  const vocabularyMap = o.vocabulary_map ? { ...o.vocabulary_map } : null;
  const fromVocab = (name: string): number | null => (vocabularyMap && name in vocabularyMap ? vocabularyMap[name] : null);

  const hiddenSize = positive('hidden_size', o.hidden_size ?? 4096);
  const heads = positive('num_attention_heads', o.num_attention_heads ?? 32);
  // absent -> HF default 32; explicit null -> no GQA (as LLaMA configs mean it)
  const kvHeads = positive('num_key_value_heads', o.num_key_value_heads === null ? heads : (o.num_key_value_heads ?? 32));
  const cfg: ConfigFields = {
    vocabSize: positive('vocab_size', o.vocab_size ?? 65536),
    hiddenSize,
    intermediateSize: positive('intermediate_size', o.intermediate_size ?? 11008),
    numHiddenLayers: positive('num_hidden_layers', o.num_hidden_layers ?? 32),
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim: hiddenSize / heads,
    hiddenAct: 'silu',
    maxPositionEmbeddings: positive('max_position_embeddings', o.max_position_embeddings ?? 4096),
    initializerRange: o.initializer_range ?? 0.02,
    rmsNormEps: positive('rms_norm_eps', o.rms_norm_eps ?? 1e-5),
    useCache: o.use_cache ?? true,
    padTokenId: o.pad_token_id ?? null,
    bosTokenId: o.bos_token_id === undefined ? 1 : o.bos_token_id,
    eosTokenId: o.eos_token_id === undefined ? 2 : o.eos_token_id,
    tieWordEmbeddings: o.tie_word_embeddings ?? false,
    ropeTheta: positive('rope_theta', ropeTheta ?? 10000.0),
    ropeScaling,
    attentionBias: o.attention_bias ?? false,
    attentionDropout: o.attention_dropout ?? 0.0,
    modelParallelSize: positive('model_parallel_size', o.model_parallel_size ?? 1),
    swinNorm: o.swin_norm ?? false,
    qkNorm: o.qk_norm ?? true,
    mlpBias: o.mlp_bias ?? false,
    torchDtype: o.torch_dtype !== undefined ? o.torch_dtype : (o.dtype ?? null),
    imageTokenId: o.image_token_id ?? fromVocab('<image>'),
    boiTokenId: o.boi_token_id ?? fromVocab('<racm3:break>'),
    eoiTokenId: o.eoi_token_id ?? fromVocab('<eoss>'),
    vqConfig: parseVq(o.vq_config, warnings),
    vocabularyMap,
    extra,
  };
  validateConfig(cfg);
  if (o.bos_token_id === undefined) warnings.push('bos_token_id absent: HF default 1 is <pad> in the released vocabulary; take BOS from the tokenizer');
  if (vocabularyMap && '<s>' in vocabularyMap && cfg.bosTokenId !== null && vocabularyMap['<s>'] !== cfg.bosTokenId) {
    warnings.push(`bos_token_id ${cfg.bosTokenId} differs from vocabulary_map["<s>"] = ${vocabularyMap['<s>']}`);
  }
  return withWarnings(cfg, warnings);
}

/** Semantic checks shared by parseHfConfig and presets. Throws FormatError naming the HF key. */
function validateConfig(c: ConfigFields): void {
  const bad = (msg: string): never => {
    throw new FormatError(`invalid Chameleon config: ${msg}`);
  };
  if (c.hiddenSize % c.numAttentionHeads !== 0) {
    bad(`num_attention_heads (${c.numAttentionHeads}) must divide hidden_size (${c.hiddenSize})`);
  }
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    bad(`num_key_value_heads (${c.numKeyValueHeads}) must divide num_attention_heads (${c.numAttentionHeads})`);
  }
  if (c.headDim !== c.hiddenSize / c.numAttentionHeads) bad(`headDim ${c.headDim} != hidden_size / num_attention_heads`);
  if (c.headDim % 2 !== 0) bad(`head dim hidden_size / num_attention_heads = ${c.headDim} must be even (RoPE rotates pairs)`);
  if (c.attentionDropout < 0 || c.attentionDropout >= 1) bad(`attention_dropout must be in [0, 1), got ${c.attentionDropout}`);
  const ids: [string, number | null][] = [
    ['bos_token_id', c.bosTokenId], ['eos_token_id', c.eosTokenId], ['pad_token_id', c.padTokenId],
    ['image_token_id', c.imageTokenId], ['boi_token_id', c.boiTokenId], ['eoi_token_id', c.eoiTokenId],
  ];
  for (const [k, v] of ids) {
    if (v !== null && (v < 0 || v >= c.vocabSize)) bad(`${k} ${v} is outside the vocabulary (vocab_size ${c.vocabSize})`);
  }
  if (c.vocabularyMap) {
    let maxId = -1;
    let maxName = '';
    for (const [name, id] of Object.entries(c.vocabularyMap)) {
      if (id < 0) bad(`vocabulary_map["${name}"] = ${id} is negative`);
      if (id > maxId) [maxId, maxName] = [id, name];
    }
    if (c.vocabSize < maxId + 1) {
      bad(`vocab_size ${c.vocabSize} is smaller than the largest vocabulary_map id + 1 (${maxId + 1}, "${maxName}")`);
    }
  }
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** The complete HF config.json object (every key, HF names, keys sorted like HF's to_json_string). */
export function toHfConfigJson(c: ChameleonConfig): Record<string, unknown> {
  const v = c.vqConfig;
  const vq: Record<string, unknown> = {
    ...v.extra,
    model_type: 'chameleon_vqgan',
    embed_dim: v.embedDim,
    num_embeddings: v.numEmbeddings,
    double_latent: v.doubleLatent,
    latent_channels: v.latentChannels,
    resolution: v.resolution,
    in_channels: v.inChannels,
    out_channels: v.outChannels,
    base_channels: v.baseChannels,
    channel_multiplier: [...v.channelMultiplier],
    num_res_blocks: v.numResBlocks,
    attn_resolutions: [...v.attnResolutions],
    dropout: v.dropout,
    attn_type: v.attnType,
    initializer_range: v.initializerRange,
  };
  const out: Record<string, unknown> = {
    ...c.extra,
    architectures: ['ChameleonForConditionalGeneration'],
    model_type: 'chameleon',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    hidden_act: c.hiddenAct,
    max_position_embeddings: c.maxPositionEmbeddings,
    initializer_range: c.initializerRange,
    rms_norm_eps: c.rmsNormEps,
    use_cache: c.useCache,
    pad_token_id: c.padTokenId,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    tie_word_embeddings: c.tieWordEmbeddings,
    rope_theta: c.ropeTheta,
    rope_scaling: c.ropeScaling ? { ...c.ropeScaling } : null,
    attention_bias: c.attentionBias,
    attention_dropout: c.attentionDropout,
    model_parallel_size: c.modelParallelSize,
    swin_norm: c.swinNorm,
    ...(c.qkNorm ? {} : { qk_norm: false }),
    mlp_bias: c.mlpBias,
    torch_dtype: c.torchDtype,
    vq_config: sortKeys(vq),
    vocabulary_map: c.vocabularyMap ? sortKeys(c.vocabularyMap) : null,
    transformers_version: '4.44.0',
  };
  // Not v4.44 keys (newer revisions have them); always written so the round trip never re-derives them.
  out.image_token_id = c.imageTokenId;
  out.boi_token_id = c.boiTokenId;
  out.eoi_token_id = c.eoiTokenId;
  return sortKeys(out);
}

// ---------------------------------------------------------------------------------------------------
// Sizes, presets, parameter counts

/**
 * LLaMA/Meta FeedForward width: int(2/3 * 4*dim), times `multiplier` if given, rounded UP to `multipleOf`.
 * ffnSize(4096) = 11008 (7B), ffnSize(8192) = 22016 (34B).
 */
export function ffnSize(dim: number, multipleOf = 256, multiplier?: number): number {
  let h = Math.floor((2 * 4 * dim) / 3);
  if (multiplier !== undefined) h = Math.floor(multiplier * h);
  return multipleOf * Math.ceil(h / multipleOf);
}

export type PresetName = 'chameleon-7b' | 'chameleon-30b' | 'tiny' | 'small' | '1b';

interface PresetSpec {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  vocab: number;
  maxPos: number;
  swin: boolean;
  mp: number;
  dtype: string;
  ids: [image: number | null, boi: number | null, eoi: number | null];
  vq: Partial<Omit<VqConfig, 'extra'>>;
}

const FIXTURE_VQ: Partial<Omit<VqConfig, 'extra'>> = {
  embedDim: 8, numEmbeddings: 64, latentChannels: 4, resolution: 32, baseChannels: 32,
  channelMultiplier: [1, 1, 1, 2], numResBlocks: 1,
};

const REAL_IDS: PresetSpec['ids'] = [8711, 8197, 8196];

const PRESET_SPECS: Record<PresetName, PresetSpec> = {
  // spec §1.1, VERIFIED against the HF 7B config
  'chameleon-7b': { hidden: 4096, layers: 32, heads: 32, kvHeads: 32, ffn: 11008, vocab: 65536, maxPos: 4096, swin: false, mp: 1, dtype: 'bfloat16', ids: REAL_IDS, vq: {} },
  // spec §1.1 INFERRED 34B shape; 4 model-parallel shards in the release
  'chameleon-30b': { hidden: 8192, layers: 48, heads: 64, kvHeads: 8, ffn: 22016, vocab: 65536, maxPos: 4096, swin: true, mp: 4, dtype: 'bfloat16', ids: REAL_IDS, vq: {} },
  // the shape of the HF test fixtures (tests/fixtures/hf-chameleon/mha)
  tiny: { hidden: 64, layers: 2, heads: 4, kvHeads: 4, ffn: 128, vocab: 512, maxPos: 256, swin: false, mp: 1, dtype: 'float32', ids: [70, 68, 69], vq: FIXTURE_VQ },
  // for training experiments: small BPE + 1024-code VQ (64x64 images -> 8x8 = 64 image tokens)
  small: {
    hidden: 256, layers: 6, heads: 8, kvHeads: 8, ffn: ffnSize(256, 16), vocab: 4096, maxPos: 1024, swin: false, mp: 1, dtype: 'float32', ids: [null, null, null],
    vq: { embedDim: 64, numEmbeddings: 1024, latentChannels: 64, resolution: 64, baseChannels: 64, channelMultiplier: [1, 1, 2, 2], numResBlocks: 1 },
  },
  // ~1.1B parameters for benchmarks; real vocabulary layout
  '1b': { hidden: 2048, layers: 16, heads: 16, kvHeads: 16, ffn: ffnSize(2048), vocab: 65536, maxPos: 4096, swin: false, mp: 1, dtype: 'bfloat16', ids: REAL_IDS, vq: {} },
};

function buildPreset(s: PresetSpec): ChameleonConfig {
  const c: ConfigFields = {
    vocabSize: s.vocab,
    hiddenSize: s.hidden,
    intermediateSize: s.ffn,
    numHiddenLayers: s.layers,
    numAttentionHeads: s.heads,
    numKeyValueHeads: s.kvHeads,
    headDim: s.hidden / s.heads,
    hiddenAct: 'silu',
    maxPositionEmbeddings: s.maxPos,
    initializerRange: 0.02,
    rmsNormEps: 1e-5,
    useCache: true,
    padTokenId: 1,
    bosTokenId: 0,
    eosTokenId: 2,
    tieWordEmbeddings: false,
    ropeTheta: 10000.0,
    ropeScaling: null,
    attentionBias: false,
    attentionDropout: 0.0,
    modelParallelSize: s.mp,
    swinNorm: s.swin,
    qkNorm: true,
    mlpBias: false,
    torchDtype: s.dtype,
    imageTokenId: s.ids[0],
    boiTokenId: s.ids[1],
    eoiTokenId: s.ids[2],
    vqConfig: {
      ...DEFAULT_VQ,
      ...s.vq,
      channelMultiplier: [...(s.vq.channelMultiplier ?? DEFAULT_VQ.channelMultiplier)],
      attnResolutions: [...(s.vq.attnResolutions ?? DEFAULT_VQ.attnResolutions)],
      extra: {},
    },
    vocabularyMap: null,
    extra: {},
  };
  validateConfig(c);
  return withWarnings(c, []);
}

/** Read-only view of every preset (call presetConfig for a mutable copy). */
export const PRESETS: Readonly<Record<PresetName, Readonly<ChameleonConfig>>> = Object.fromEntries(
  (Object.keys(PRESET_SPECS) as PresetName[]).map((k) => [k, buildPreset(PRESET_SPECS[k])]),
) as Record<PresetName, ChameleonConfig>;

function isPresetName(s: string): s is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESET_SPECS, s);
}

/** A fresh copy of a preset; FormatError listing the known names otherwise. */
export function presetConfig(name: string): ChameleonConfig {
  if (!isPresetName(name)) throw new FormatError(`unknown preset "${name}" (known: ${Object.keys(PRESET_SPECS).join(', ')})`);
  return buildPreset(PRESET_SPECS[name]);
}

export interface ParameterCount {
  embeddings: number;
  attention: number;
  mlp: number;
  /** RMSNorms (2 per layer + final) and the per-head q/k LayerNorm weight + bias. */
  norms: number;
  /** 0 when tied to the embeddings. */
  lmHead: number;
  total: number;
}

/** Language-model parameters by group (the VQ-GAN is not counted). */
export function parameterCount(c: ChameleonConfig): ParameterCount {
  const d = c.hiddenSize;
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  const L = c.numHiddenLayers;
  const attnPerLayer = d * q + 2 * d * kv + q * d + (c.attentionBias ? q + 2 * kv + d : 0);
  const mlpPerLayer = 3 * d * c.intermediateSize + (c.mlpBias ? 2 * c.intermediateSize + d : 0);
  const normsPerLayer = 2 * d + 2 * q + 2 * kv;
  const embeddings = c.vocabSize * d;
  const attention = L * attnPerLayer;
  const mlp = L * mlpPerLayer;
  const norms = L * normsPerLayer + d;
  const lmHead = c.tieWordEmbeddings ? 0 : c.vocabSize * d;
  return { embeddings, attention, mlp, norms, lmHead, total: embeddings + attention + mlp + norms + lmHead };
}
