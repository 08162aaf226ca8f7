// The Chameleon decoder (spec §1): token embedding, N decoder layers (LLaMA pre-norm or the 34B
// "swin" norm re-ordering), per-head QK LayerNorm before rotate-half RoPE, GQA causal attention,
// SwiGLU MLP, final RMSNorm and an untied LM head. Parameters are named exactly like Hugging Face
// checkpoint keys. KV caches are in kv-cache.ts; losses and sampling live in train/ and generate/.
//
// Legend: B batch, T new tokens, S visible key positions, H query heads, Hk KV heads, D head dim,
// C hidden size, F FFN size, V vocabulary size.

import { ShapeError, fmtShape } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import type { DType } from '../engine/dtype.js';
import { ops } from '../engine/index.js';
import type { Tensor } from '../engine/tensor.js';
import { ParamStore } from '../nn/params.js';
import { Vocabulary } from '../tokenizers/vocab.js';
import type { ChameleonConfig } from './config.js';
import type { KVCache } from './kv-cache.js';

/** Per-layer tensors captured for parity checks and debugging (only when requested). */
export interface LayerTrace {
  input_layernorm: Tensor;
  q_norm: Tensor;
  k_norm: Tensor;
  attn_out: Tensor;
  post_attention_layernorm: Tensor;
  mlp_out: Tensor;
  layer_out: Tensor;
}

export interface ForwardOptions {
  /** Token ids, i32 [B, T]. */
  ids: Tensor;
  /** Position of every token, [B·T]. Default: cache length + t (or derived from keyStart). */
  positions?: Int32Array;
  /** [B]: the first keyStart[b] positions of row b are left padding (never attended to). */
  keyStart?: Int32Array | null;
  /** [B, S]: document id of every position (packed training sequences). */
  segIds?: Int32Array | null;
  /** Prefill/decode through this cache: new k/v are appended after cache.length. */
  cache?: KVCache;
  /** Set image-token logits to -FLT_MAX as Hugging Face's forward always does (default false). */
  maskImageTokens?: boolean;
  /** Compute logits only for the last position of each row ([B, 1, V]); saves the LM head work. */
  lastOnly?: boolean;
  /**
   * Compute logits only for the vocabulary ids [start, end) ([B, T, end - start]): the LM head reads
   * just those rows (a generator in image state needs only the image ids, 1/8 of the vocabulary).
   */
  logitRange?: readonly [number, number];
  /** Residual dropout (training): probability and a seed that makes the masks reproducible. */
  dropout?: { p: number; seed: number };
  /** Capture hidden states (HF `output_hidden_states`) and per-layer intermediates. */
  trace?: boolean;
}

export interface ForwardResult {
  /** [B, T, V] (T = 1 with lastOnly; V = end - start with logitRange). */
  logits: Tensor;
  /** Output of the final RMSNorm, [B, T, C]. */
  lastHidden: Tensor;
  /** With trace: HF hidden_states (embeddings, each layer's output, the last one after the final norm). */
  hiddenStates?: Tensor[];
  layers?: LayerTrace[];
}

const NEG_MAX = -3.4028234663852886e38;

/**
 * Declares every language-model parameter of a config, with HF names and init rules. `matrices`
 * sets the storage of the 2-D weights (bf16/f16: inference only); norms are always f32.
 */
export function declareChameleonParams(store: ParamStore, cfg: ChameleonConfig, matrices: DType = 'f32'): void {
  const std = cfg.initializerRange;
  const C = cfg.hiddenSize;
  const D = cfg.headDim;
  const normal = { kind: 'normal' as const, std };
  const mat = (name: string, shape: number[]): void => void store.declare(name, shape, normal, matrices);
  mat('model.embed_tokens.weight', [cfg.vocabSize, C]);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    mat(`${p}.self_attn.q_proj.weight`, [cfg.numAttentionHeads * D, C]);
    mat(`${p}.self_attn.k_proj.weight`, [cfg.numKeyValueHeads * D, C]);
    mat(`${p}.self_attn.v_proj.weight`, [cfg.numKeyValueHeads * D, C]);
    mat(`${p}.self_attn.o_proj.weight`, [C, cfg.numAttentionHeads * D]);
    store.declare(`${p}.self_attn.q_norm.weight`, [cfg.numAttentionHeads, D], { kind: 'ones' });
    store.declare(`${p}.self_attn.q_norm.bias`, [cfg.numAttentionHeads, D], { kind: 'zeros' });
    store.declare(`${p}.self_attn.k_norm.weight`, [cfg.numKeyValueHeads, D], { kind: 'ones' });
    store.declare(`${p}.self_attn.k_norm.bias`, [cfg.numKeyValueHeads, D], { kind: 'zeros' });
    mat(`${p}.mlp.gate_proj.weight`, [cfg.intermediateSize, C]);
    mat(`${p}.mlp.up_proj.weight`, [cfg.intermediateSize, C]);
    mat(`${p}.mlp.down_proj.weight`, [C, cfg.intermediateSize]);
    store.declare(`${p}.input_layernorm.weight`, [C], { kind: 'ones' });
    store.declare(`${p}.post_attention_layernorm.weight`, [C], { kind: 'ones' });
  }
  store.declare('model.norm.weight', [C], { kind: 'ones' });
  mat('lm_head.weight', [cfg.vocabSize, C]);
}

/** Vocabulary ids of image tokens (index = code); [] without a vocabulary map. */
export function imageTokenIds(cfg: ChameleonConfig): Int32Array {
  if (!cfg.vocabularyMap) return new Int32Array(0);
  const v = Vocabulary.fromVocabularyMap(cfg.vocabularyMap, { vocabSize: cfg.vocabSize });
  return Int32Array.from({ length: v.codebookSize }, (_, c) => v.codeToId(c));
}

export class ChameleonModel {
  readonly imageIds: Int32Array;

  constructor(
    readonly engine: Engine,
    readonly config: ChameleonConfig,
    readonly params: ParamStore,
  ) {
    this.imageIds = imageTokenIds(config);
  }

  /**
   * A model with freshly declared parameters, initialised from `seed` (training from scratch; with
   * bf16/f16 matrices, random-weight inference benchmarks).
   */
  static create(engine: Engine, config: ChameleonConfig, seed = 0, matrices: DType = 'f32'): ChameleonModel {
    const store = new ParamStore(engine);
    declareChameleonParams(store, config, matrices);
    store.initialize(seed);
    return new ChameleonModel(engine, config, store);
  }

  private w(name: string): Tensor {
    return this.params.get(name);
  }

  /** Positions for each token: explicit, or continuing the cache, shifted back by left padding. */
  private positionsFor(b: number, t: number, past: number, keyStart: Int32Array | null): Int32Array {
    const pos = new Int32Array(b * t);
    for (let r = 0; r < b; r++) {
      const pad = keyStart ? keyStart[r] : 0;
      for (let i = 0; i < t; i++) {
        const p = past + i - pad;
        pos[r * t + i] = p < 0 ? 1 : p; // HF sets padded positions to 1
      }
    }
    return pos;
  }

  forward(opts: ForwardOptions): ForwardResult {
    const cfg = this.config;
    const { ids, cache } = opts;
    if (ids.dtype !== 'i32' || ids.rank !== 2) throw new ShapeError(`forward: ids must be i32 [B, T], got ${ids.dtype} ${fmtShape(ids.shape)}`);
    const [B, T] = ids.shape;
    const past = cache ? cache.length : 0;
    if (cache) cache.check(B, T);
    if (past + T > cfg.maxPositionEmbeddings) {
      throw new ShapeError(`forward: ${past + T} positions exceed max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    }
    const keyStart = opts.keyStart ?? null;
    const positions = opts.positions ?? this.positionsFor(B, T, past, keyStart);
    if (positions.length !== B * T) throw new ShapeError(`forward: ${positions.length} positions for ids ${fmtShape(ids.shape)}`);

    let x = ops.embedding(this.w('model.embed_tokens.weight'), ids); // [B, T, C]
    const hiddenStates: Tensor[] = [];
    const layers: LayerTrace[] = [];
    for (let l = 0; l < cfg.numHiddenLayers; l++) {
      if (opts.trace) hiddenStates.push(x);
      const trace: Partial<LayerTrace> | null = opts.trace ? {} : null;
      x = this.layer(l, x, positions, opts, trace);
      if (trace) layers.push(trace as LayerTrace);
    }
    if (cache) cache.advance(T);
    let h = ops.rmsnorm(x, this.w('model.norm.weight'), cfg.rmsNormEps); // [B, T, C]
    if (opts.trace) hiddenStates.push(h);
    const lastHidden = h;
    if (opts.lastOnly && T > 1) h = ops.slice(h, 1, T - 1, T); // [B, 1, C]
    let head = this.w('lm_head.weight'); // [V, C]
    if (opts.logitRange) {
      if (opts.maskImageTokens) throw new ShapeError('forward: maskImageTokens and logitRange cannot be combined');
      head = ops.narrow(head, opts.logitRange[0], opts.logitRange[1]); // [end - start, C], a view
    }
    const logits = ops.linear(h, head); // [B, T, V] (or [B, T, end - start])
    if (opts.maskImageTokens) this.maskImages(logits);
    return opts.trace ? { logits, lastHidden, hiddenStates, layers } : { logits, lastHidden };
  }

  /** Overwrites the logits of every image-token id with -FLT_MAX, in place (inference only). */
  maskImages(logits: Tensor): void {
    if (logits.requiresGrad) throw new ShapeError('maskImages: cannot mask logits that are being differentiated');
    const v = logits.shape[logits.rank - 1];
    const d = logits.f32();
    for (let r = 0; r < d.length; r += v) for (const id of this.imageIds) d[r + id] = NEG_MAX;
  }

  private layer(l: number, x: Tensor, positions: Int32Array, opts: ForwardOptions, trace: Partial<LayerTrace> | null): Tensor {
    const cfg = this.config;
    const p = `model.layers.${l}`;
    const inNorm = this.w(`${p}.input_layernorm.weight`);
    const postNorm = this.w(`${p}.post_attention_layernorm.weight`);
    const drop = (t: Tensor, k: number): Tensor => (opts.dropout ? ops.dropout(t, opts.dropout.p, opts.dropout.seed + l * 2 + k) : t);
    if (!cfg.swinNorm) {
      // LLaMA pre-norm: h = x + Attn(norm(x)); out = h + MLP(norm(h)).
      const a = ops.rmsnorm(x, inNorm, cfg.rmsNormEps); // [B, T, C]
      const attn = this.attention(l, a, positions, opts, trace); // [B, T, C]
      const h = ops.add(x, drop(attn, 0)); // [B, T, C]
      const m = ops.rmsnorm(h, postNorm, cfg.rmsNormEps); // [B, T, C]
      const mlp = this.mlp(p, m); // [B, T, C]
      const out = ops.add(h, drop(mlp, 1)); // [B, T, C]
      if (trace) Object.assign(trace, { input_layernorm: a, attn_out: attn, post_attention_layernorm: m, mlp_out: mlp, layer_out: out });
      return out;
    }
    // Swin norm re-ordering: h = x + norm(Attn(x)); out = h + norm(MLP(h)).
    const attn = this.attention(l, x, positions, opts, trace); // [B, T, C]
    const an = ops.rmsnorm(attn, inNorm, cfg.rmsNormEps); // [B, T, C]
    const h = ops.add(x, drop(an, 0)); // [B, T, C]
    const mlp = this.mlp(p, h); // [B, T, C]
    const mn = ops.rmsnorm(mlp, postNorm, cfg.rmsNormEps); // [B, T, C]
    const out = ops.add(h, drop(mn, 1)); // [B, T, C]
    if (trace) Object.assign(trace, { input_layernorm: an, attn_out: attn, post_attention_layernorm: mn, mlp_out: mlp, layer_out: out });
    return out;
  }

  private attention(l: number, a: Tensor, positions: Int32Array, opts: ForwardOptions, trace: Partial<LayerTrace> | null): Tensor {
    const cfg = this.config;
    const p = `model.layers.${l}.self_attn`;
    const [B, T] = a.shape;
    const H = cfg.numAttentionHeads;
    const Hk = cfg.numKeyValueHeads;
    const D = cfg.headDim;
    const qkEps = 1e-5; // HF hard-codes the QK LayerNorm eps (torch default)
    let q = ops.reshape(ops.linear(a, this.w(`${p}.q_proj.weight`)), [B, T, H, D]); // [B, T, H, D]
    let k = ops.reshape(ops.linear(a, this.w(`${p}.k_proj.weight`)), [B, T, Hk, D]); // [B, T, Hk, D]
    const v = ops.reshape(ops.linear(a, this.w(`${p}.v_proj.weight`)), [B, T, Hk, D]); // [B, T, Hk, D]
    q = ops.layernorm(q, this.w(`${p}.q_norm.weight`), this.w(`${p}.q_norm.bias`), qkEps); // [B, T, H, D]
    k = ops.layernorm(k, this.w(`${p}.k_norm.weight`), this.w(`${p}.k_norm.bias`), qkEps); // [B, T, Hk, D]
    if (trace) Object.assign(trace, { q_norm: q, k_norm: k });
    q = ops.rope(q, positions, cfg.ropeTheta); // [B, T, H, D]
    k = ops.rope(k, positions, cfg.ropeTheta); // [B, T, Hk, D]
    let out: Tensor;
    const cache = opts.cache;
    if (cache) {
      const { k: kc, v: vc } = cache.append(l, k, v); // [B, Smax, Hk, D]
      out = ops.attention(q, kc, vc, { kvLen: cache.length + T, qOffset: cache.length, keyStart: opts.keyStart, segIds: opts.segIds }); // [B, T, H, D]
    } else {
      out = ops.attention(q, k, v, { keyStart: opts.keyStart, segIds: opts.segIds }); // [B, T, H, D]
    }
    return ops.linear(ops.reshape(out, [B, T, H * D]), this.w(`${p}.o_proj.weight`)); // [B, T, C]
  }

  private mlp(p: string, x: Tensor): Tensor {
    const g = ops.linear(x, this.w(`${p}.mlp.gate_proj.weight`)); // [B, T, F]
    const u = ops.linear(x, this.w(`${p}.mlp.up_proj.weight`)); // [B, T, F]
    return ops.linear(ops.swiglu(g, u), this.w(`${p}.mlp.down_proj.weight`)); // [B, T, C]
  }
}
