// The Chameleon decoder (spec §1): token embedding, N decoder layers (LLaMA pre-norm or the 34B
// "swin" norm re-ordering), per-head QK LayerNorm before rotate-half RoPE, GQA causal attention,
// SwiGLU MLP, final RMSNorm and an untied LM head, built from nn/modules.ts layers whose field paths
// are the Hugging Face checkpoint keys (`model.layers.0.self_attn.q_proj.weight` is
// `layers[0].self_attn.q_proj.weight`). KV caches are in kv-cache.ts; losses and sampling live in
// train/ and generate/.
//
// Legend: B batch, T new tokens, S visible key positions, H query heads, Hk KV heads, D head dim,
// C hidden size, F FFN size, V vocabulary size.

import { ShapeError, fmtShape } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import type { DType } from '../engine/dtype.js';
import { ops } from '../engine/index.js';
import type { Tensor } from '../engine/tensor.js';
import { ParamStore, type ParamPath } from '../nn/params.js';
import { Embedding, LayerNorm, Linear, RMSNorm } from '../nn/modules.js';
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

/** Vocabulary ids of image tokens (index = code); [] without a vocabulary map. */
function imageTokenIds(cfg: ChameleonConfig): Int32Array {
  if (!cfg.vocabularyMap) return new Int32Array(0);
  const v = Vocabulary.fromVocabularyMap(cfg.vocabularyMap, { vocabSize: cfg.vocabSize });
  return Int32Array.from({ length: v.codebookSize }, (_, c) => v.codeToId(c));
}

/** Self-attention with per-head QK LayerNorm (HF `ChameleonAttention`). */
class ChameleonAttention {
  readonly q_proj: Linear; // [H·D, C]
  readonly k_proj: Linear; // [Hk·D, C]
  readonly v_proj: Linear; // [Hk·D, C]
  readonly o_proj: Linear; // [C, H·D]
  /** null only when config.qkNorm is false (the stability lab's LLaMA-layout arm). */
  readonly q_norm: LayerNorm | null; // affine [H, D]
  readonly k_norm: LayerNorm | null; // affine [Hk, D]

  constructor(
    p: ParamPath,
    private readonly cfg: ChameleonConfig,
    /** Layer index (its KV-cache slot). */
    readonly index: number,
  ) {
    const { hiddenSize: C, numAttentionHeads: H, numKeyValueHeads: Hk, headDim: D } = cfg;
    const init = { kind: 'normal' as const, std: cfg.initializerRange };
    const qkEps = 1e-5; // HF hard-codes the QK LayerNorm eps (torch default)
    this.q_proj = new Linear(p.pp('q_proj'), C, H * D, { init });
    this.k_proj = new Linear(p.pp('k_proj'), C, Hk * D, { init });
    this.v_proj = new Linear(p.pp('v_proj'), C, Hk * D, { init });
    this.o_proj = new Linear(p.pp('o_proj'), H * D, C, { init });
    this.q_norm = cfg.qkNorm ? new LayerNorm(p.pp('q_norm'), [H, D], qkEps) : null;
    this.k_norm = cfg.qkNorm ? new LayerNorm(p.pp('k_norm'), [Hk, D], qkEps) : null;
  }

  forward(a: Tensor, positions: Int32Array, opts: ForwardOptions, trace: Partial<LayerTrace> | null): Tensor {
    const cfg = this.cfg;
    const [B, T] = a.shape;
    const H = cfg.numAttentionHeads;
    const Hk = cfg.numKeyValueHeads;
    const D = cfg.headDim;
    let q = ops.reshape(this.q_proj.forward(a), [B, T, H, D]); // [B, T, H, D]
    let k = ops.reshape(this.k_proj.forward(a), [B, T, Hk, D]); // [B, T, Hk, D]
    const v = ops.reshape(this.v_proj.forward(a), [B, T, Hk, D]); // [B, T, Hk, D]
    if (this.q_norm && this.k_norm) {
      q = this.q_norm.forward(q); // [B, T, H, D]
      k = this.k_norm.forward(k); // [B, T, Hk, D]
    }
    if (trace) Object.assign(trace, { q_norm: q, k_norm: k });
    q = ops.rope(q, positions, cfg.ropeTheta); // [B, T, H, D]
    k = ops.rope(k, positions, cfg.ropeTheta); // [B, T, Hk, D]
    let out: Tensor;
    const cache = opts.cache;
    if (cache) {
      const { k: kc, v: vc } = cache.append(this.index, k, v); // [B, Smax, Hk, D]
      out = ops.attention(q, kc, vc, { kvLen: cache.length + T, qOffset: cache.length, keyStart: opts.keyStart, segIds: opts.segIds }); // [B, T, H, D]
    } else {
      out = ops.attention(q, k, v, { keyStart: opts.keyStart, segIds: opts.segIds }); // [B, T, H, D]
    }
    return this.o_proj.forward(ops.reshape(out, [B, T, H * D])); // [B, T, C]
  }
}

/** SwiGLU MLP: down(silu(gate(x)) · up(x)) (HF `ChameleonMLP`). */
class ChameleonMLP {
  readonly gate_proj: Linear; // [F, C]
  readonly up_proj: Linear; // [F, C]
  readonly down_proj: Linear; // [C, F]

  constructor(p: ParamPath, cfg: ChameleonConfig) {
    const { hiddenSize: C, intermediateSize: F } = cfg;
    const init = { kind: 'normal' as const, std: cfg.initializerRange };
    this.gate_proj = new Linear(p.pp('gate_proj'), C, F, { init });
    this.up_proj = new Linear(p.pp('up_proj'), C, F, { init });
    this.down_proj = new Linear(p.pp('down_proj'), F, C, { init });
  }

  forward(x: Tensor): Tensor {
    const g = this.gate_proj.forward(x); // [B, T, F]
    const u = this.up_proj.forward(x); // [B, T, F]
    return this.down_proj.forward(ops.swiglu(g, u)); // [B, T, C]
  }
}

/** One decoder layer (HF `ChameleonDecoderLayer`, or `ChameleonSwinDecoderLayer` with swinNorm). */
class ChameleonDecoderLayer {
  readonly self_attn: ChameleonAttention;
  readonly mlp: ChameleonMLP;
  readonly input_layernorm: RMSNorm; // [C]
  readonly post_attention_layernorm: RMSNorm; // [C]

  constructor(
    p: ParamPath,
    private readonly cfg: ChameleonConfig,
    readonly index: number,
  ) {
    this.self_attn = new ChameleonAttention(p.pp('self_attn'), cfg, index);
    this.mlp = new ChameleonMLP(p.pp('mlp'), cfg);
    this.input_layernorm = new RMSNorm(p.pp('input_layernorm'), cfg.hiddenSize, cfg.rmsNormEps);
    this.post_attention_layernorm = new RMSNorm(p.pp('post_attention_layernorm'), cfg.hiddenSize, cfg.rmsNormEps);
  }

  forward(x: Tensor, positions: Int32Array, opts: ForwardOptions, trace: Partial<LayerTrace> | null): Tensor {
    const l = this.index;
    const drop = (t: Tensor, k: number): Tensor => (opts.dropout ? ops.dropout(t, opts.dropout.p, opts.dropout.seed + l * 2 + k) : t);
    if (!this.cfg.swinNorm) {
      // LLaMA pre-norm: h = x + Attn(norm(x)); out = h + MLP(norm(h)).
      const a = this.input_layernorm.forward(x); // [B, T, C]
      const attn = this.self_attn.forward(a, positions, opts, trace); // [B, T, C]
      const h = ops.add(x, drop(attn, 0)); // [B, T, C]
      const m = this.post_attention_layernorm.forward(h); // [B, T, C]
      const mlp = this.mlp.forward(m); // [B, T, C]
      const out = ops.add(h, drop(mlp, 1)); // [B, T, C]
      if (trace) Object.assign(trace, { input_layernorm: a, attn_out: attn, post_attention_layernorm: m, mlp_out: mlp, layer_out: out });
      return out;
    }
    // Swin norm re-ordering: h = x + norm(Attn(x)); out = h + norm(MLP(h)).
    const attn = this.self_attn.forward(x, positions, opts, trace); // [B, T, C]
    const an = this.input_layernorm.forward(attn); // [B, T, C]
    const h = ops.add(x, drop(an, 0)); // [B, T, C]
    const mlp = this.mlp.forward(h); // [B, T, C]
    const mn = this.post_attention_layernorm.forward(mlp); // [B, T, C]
    const out = ops.add(h, drop(mn, 1)); // [B, T, C]
    if (trace) Object.assign(trace, { input_layernorm: an, attn_out: attn, post_attention_layernorm: mn, mlp_out: mlp, layer_out: out });
    return out;
  }
}

/**
 * The language model (HF `ChameleonForConditionalGeneration` without the VQ model): the fields of
 * HF's inner `model` (embed_tokens, layers, norm) and lm_head sit side by side here.
 */
export class ChameleonModel {
  readonly imageIds: Int32Array;
  readonly embed_tokens: Embedding; // [V, C]
  readonly layers: readonly ChameleonDecoderLayer[];
  readonly norm: RMSNorm; // [C]
  readonly lm_head: Linear; // [V, C]

  /**
   * Declares every parameter in `params` under its HF name, in checkpoint order (zeros until the
   * store is loaded or initialised). Matrices get the store's MatrixStorage dtype; norms are f32.
   */
  constructor(
    readonly engine: Engine,
    readonly config: ChameleonConfig,
    readonly params: ParamStore,
  ) {
    const cfg = config;
    const init = { kind: 'normal' as const, std: cfg.initializerRange };
    const p = params.pp('model');
    this.embed_tokens = new Embedding(p.pp('embed_tokens'), cfg.vocabSize, cfg.hiddenSize, { init });
    this.layers = Array.from({ length: cfg.numHiddenLayers }, (_, i) => new ChameleonDecoderLayer(p.pp('layers').pp(i), cfg, i));
    this.norm = new RMSNorm(p.pp('norm'), cfg.hiddenSize, cfg.rmsNormEps);
    this.lm_head = new Linear(params.pp('lm_head'), cfg.hiddenSize, cfg.vocabSize, { init });
    this.imageIds = imageTokenIds(config);
  }

  /**
   * A model with freshly declared parameters, initialised from `seed` (training from scratch; with
   * bf16/f16 matrices, random-weight inference benchmarks).
   */
  static create(engine: Engine, config: ChameleonConfig, seed = 0, matrices: DType = 'f32'): ChameleonModel {
    const store = new ParamStore(engine, { matrices });
    const model = new ChameleonModel(engine, config, store);
    store.initialize(seed);
    return model;
  }

  /** Storage dtype of the weight matrices ('bf16' for a bf16 checkpoint loaded as stored). */
  get matrixDType(): DType {
    return this.lm_head.weight.dtype;
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
    const keyStart = opts.keyStart ?? null;
    const positions = opts.positions ?? this.positionsFor(B, T, past, keyStart);
    if (positions.length !== B * T) throw new ShapeError(`forward: ${positions.length} positions for ids ${fmtShape(ids.shape)}`);
    // The limit is on positions, not on the cache length: a left-padded row of a shared cache
    // (continuous batching) sits at cache length − its padding.
    let last = -1;
    for (let i = 0; i < positions.length; i++) if (positions[i] > last) last = positions[i];
    if (last + 1 > cfg.maxPositionEmbeddings) {
      throw new ShapeError(`forward: ${last + 1} positions exceed max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    }

    let x = this.embed_tokens.forward(ids); // [B, T, C]
    const hiddenStates: Tensor[] = [];
    const layers: LayerTrace[] = [];
    for (const layer of this.layers) {
      if (opts.trace) hiddenStates.push(x);
      const trace: Partial<LayerTrace> | null = opts.trace ? {} : null;
      x = layer.forward(x, positions, opts, trace); // [B, T, C]
      if (trace) layers.push(trace as LayerTrace);
    }
    if (cache) cache.advance(T);
    let h = this.norm.forward(x); // [B, T, C]
    if (opts.trace) hiddenStates.push(h);
    const lastHidden = h;
    if (opts.lastOnly && T > 1) h = ops.slice(h, 1, T - 1, T); // [B, 1, C]
    let logits: Tensor;
    if (opts.logitRange) {
      if (opts.maskImageTokens) throw new ShapeError('forward: maskImageTokens and logitRange cannot be combined');
      logits = this.lm_head.forwardRows(h, opts.logitRange[0], opts.logitRange[1]); // [B, T, end - start]
    } else {
      logits = this.lm_head.forward(h); // [B, T, V]
    }
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
}
