// Fine-tuning modes: which parameters AdamW updates and what is frozen (requiresGrad false, so
// backward neither computes nor allocates their gradients). 'full' trains every (f32) weight;
// 'lora' trains only LoRA adapters over a frozen base (nn/lora.ts); 'image-head' is Anole's recipe
// (spec §7.5): only lm_head trains, its image rows re-initialised N(0, 2/hidden), gradients zeroed
// outside the image rows + EOI, text logits masked in the loss. Also the memory estimate per mode.
// Leaves out: the training loop, schedules and checkpoint files (train/lm/).

import { ChameleonError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { ops } from '../engine/index.js';
import type { Tensor } from '../engine/tensor.js';
import { attachLora, loraAdapters, type LoraAdapter, type LoraConfig } from '../nn/lora.js';
import type { ChameleonModel } from '../model/chameleon.js';
import { parameterCount, type ChameleonConfig } from '../model/config.js';

export type FinetuneMode = 'full' | 'lora' | 'image-head';

export const FINETUNE_MODES: readonly FinetuneMode[] = ['full', 'lora', 'image-head'];

export interface FinetuneOptions {
  /** LoRA mode: attach adapters with this config unless the model already has some. */
  lora?: LoraConfig;
}

/**
 * The parameters AdamW should update for `mode`; every other model parameter gets requiresGrad =
 * false (and its stale gradient dropped), so backward computes no gradient for it.
 * - full: every parameter (all must be f32: load with weights 'f32'); no adapters allowed.
 * - lora: the adapters' A and B (attached from opts.lora if none are attached yet).
 * - image-head: lm_head.weight only (f32). Pair with imageHeadGradMask, imageHeadLogits and
 *   imageHeadNoDecay; re-initialise with reinitImageRows on a fresh start (not on resume).
 */
export function trainableParams(model: ChameleonModel, mode: FinetuneMode, opts: FinetuneOptions = {}): Tensor[] {
  const all = model.params.list();
  const freeze = (t: Tensor): void => {
    t.requiresGrad = false;
    t.grad = null;
  };
  switch (mode) {
    case 'full': {
      if (loraAdapters(model).length) throw new ChameleonError('finetune full: the model has LoRA adapters attached (merge them first, or use mode lora)');
      const half = all.filter((t) => t.dtype !== 'f32');
      if (half.length) throw new ChameleonError(`finetune full: ${half.length} weights are ${half[0].dtype} (e.g. ${half[0].name}); load the checkpoint with f32 weights`);
      for (const t of all) t.requiresGrad = true;
      return all;
    }
    case 'lora': {
      for (const t of all) freeze(t);
      let adapters = loraAdapters(model);
      if (adapters.length === 0) {
        if (!opts.lora) throw new ChameleonError('finetune lora: no adapters attached and no lora config given (rank, alpha, targets)');
        adapters = attachLora(model, opts.lora);
      }
      return adapters.flatMap((a) => a.params());
    }
    case 'image-head': {
      if (loraAdapters(model).length) throw new ChameleonError('finetune image-head: the model has LoRA adapters attached');
      imageHeadRows(model); // refuses a vocabulary without image tokens
      const w = model.lm_head.weight;
      if (w.dtype !== 'f32') throw new ChameleonError(`finetune image-head: lm_head.weight is ${w.dtype}; it must be f32 to train (the rest may stay ${w.dtype})`);
      for (const t of all) if (t !== w) freeze(t);
      w.requiresGrad = true;
      return [w];
    }
    default:
      throw new ChameleonError(`unknown fine-tuning mode '${String(mode)}' (known: ${FINETUNE_MODES.join(', ')})`);
  }
}

/** The lm_head rows that train in image-head mode: every image-token id, then EOI (spec §7.5). */
export function imageHeadRows(model: ChameleonModel): Int32Array {
  const img = model.imageIds;
  if (img.length === 0) throw new ChameleonError('finetune image-head: the model vocabulary has no image tokens (config has no vocabulary_map)');
  const eoi = model.config.eoiTokenId;
  if (eoi === null) throw new ChameleonError('finetune image-head: the config has no end-of-image id (eoi_token_id)');
  const rows = Array.from(new Set([...img, eoi])).sort((a, b) => a - b);
  return Int32Array.from(rows);
}

/**
 * Anole's re-initialisation: every image row of lm_head drawn from N(0, 2/hidden) (He init) with a
 * seeded RNG, row by row in id order. EOI and text rows are untouched. Call on a fresh start only.
 */
export function reinitImageRows(model: ChameleonModel, seed: number): void {
  const w = model.lm_head.weight; // [V, C]
  if (w.dtype !== 'f32') throw new ChameleonError(`reinitImageRows: lm_head.weight is ${w.dtype}, not f32`);
  const C = model.config.hiddenSize;
  const std = Math.sqrt(2 / C);
  const rng = new Rng(seed);
  const d = w.f32();
  for (const id of model.imageIds) for (let c = 0; c < C; c++) d[id * C + c] = rng.normal() * std;
}

/**
 * A hook to run after backward and before clipping: zeroes lm_head's gradient rows outside the
 * image ids + EOI, and every other gradient among `params` (none should exist in this mode; a stray
 * one would otherwise train). Clipping after it sees only the rows that train.
 */
export function imageHeadGradMask(model: ChameleonModel): (params?: readonly Tensor[]) => void {
  const w = model.lm_head.weight;
  const [V, C] = w.shape;
  const keep = new Uint8Array(V);
  for (const r of imageHeadRows(model)) keep[r] = 1;
  return (params = [w]) => {
    for (const p of params) {
      if (!p.grad) continue;
      if (p !== w) {
        p.engine.k.fill(p.grad.data, 0);
        continue;
      }
      const g = p.grad.f32();
      for (let r = 0; r < V; r++) if (!keep[r]) g.fill(0, r * C, (r + 1) * C);
    }
  };
}

/**
 * Weight decay predicate for AdamW in image-head mode: nothing decays. Decoupled decay would shrink
 * the frozen text rows of lm_head even with zero gradients (w ← w·(1 − lr·wd)); Anole trained with
 * the HF Trainer's default weight_decay 0. Other modes: undefined (the trainer's own rule).
 */
export function finetuneNoDecay(mode: FinetuneMode): ((p: Tensor) => boolean) | undefined {
  return mode === 'image-head' ? () => true : undefined;
}

const NEG_MAX = -3.4028234663852886e38;

export interface ImageHeadLogits {
  /** Vocabulary ids whose logits are kept: image ids, EOI and BOI (Anole masks ids 0..3 and 8198..). */
  allowed: Int32Array;
  /**
   * logits [..., V] + bias (0 on allowed ids, -FLT_MAX elsewhere): differentiable, so the loss (and
   * its logsumexp, z-loss included) is over the image vocabulary only and masked ids get no gradient.
   */
  mask(logits: Tensor): Tensor;
  /**
   * Replaces targets outside `allowed` (text tokens in the batch) by ignoreIndex in place, since a
   * masked target would have infinite loss; returns how many were replaced.
   */
  maskTargets(targets: Int32Array, ignoreIndex?: number): number;
  /**
   * [start, end) when `allowed` is one contiguous id range (Chameleon's layout: image ids, EOI, BOI
   * are 4..8197): forward({ logitRange }) then computes only those logits (same loss, ~8× less LM
   * head work); shift targets by -start. null otherwise.
   */
  range: readonly [number, number] | null;
}

/** The training-time logit mask of image-head mode (spec §7.5). */
export function imageHeadLogits(model: ChameleonModel): ImageHeadLogits {
  const V = model.config.vocabSize;
  const ids = new Set(imageHeadRows(model));
  if (model.config.boiTokenId !== null) ids.add(model.config.boiTokenId);
  const allowed = Int32Array.from([...ids].sort((a, b) => a - b));
  const keep = new Uint8Array(V);
  for (const id of allowed) keep[id] = 1;
  const bias = new Float32Array(V).fill(NEG_MAX);
  for (const id of allowed) bias[id] = 0;
  const contiguous = allowed[allowed.length - 1] - allowed[0] + 1 === allowed.length;
  return {
    allowed,
    mask(logits: Tensor): Tensor {
      if (logits.shape[logits.rank - 1] !== V) throw new ChameleonError(`imageHeadLogits.mask: logits have ${logits.shape[logits.rank - 1]} columns, vocabulary is ${V}`);
      const b = logits.engine.tensor(bias, [V]); // [V]
      return ops.add(logits, b); // [..., V]
    },
    maskTargets(targets: Int32Array, ignoreIndex = -100): number {
      let n = 0;
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i];
        if (t !== ignoreIndex && !(t >= 0 && t < V && keep[t])) {
          targets[i] = ignoreIndex;
          n++;
        }
      }
      return n;
    },
    range: contiguous ? [allowed[0], allowed[allowed.length - 1] + 1] : null,
  };
}

/** What the LM trainer needs to train in one mode (built by finetuneSetup). */
export interface FinetuneSetup {
  mode: FinetuneMode;
  /** The tensors AdamW updates. */
  params: Tensor[];
  /** AdamW's no-decay predicate (undefined: the trainer's own rule). */
  noDecay?: (p: Tensor) => boolean;
  /** Runs after backward, before clipping (image-head: the row mask). */
  afterBackward?: (params: readonly Tensor[]) => void;
  /** image-head: the loss is over the image vocabulary only. */
  logits: ImageHeadLogits | null;
  /** lora: the attached adapters (checkpoints save them; export merges them). */
  adapters: LoraAdapter[];
}

/**
 * Prepares `model` for training in `mode`: freezes what does not train, attaches LoRA adapters
 * (lora), and on a fresh image-head start optionally re-initialises the image rows (Anole). Call
 * once, before the optimizer is built; on resume pass fresh: false (the checkpoint holds the rows).
 */
export function finetuneSetup(
  model: ChameleonModel,
  mode: FinetuneMode,
  opts: { lora?: LoraConfig; reinitImageRows?: boolean; seed?: number; fresh?: boolean } = {},
): FinetuneSetup {
  const params = trainableParams(model, mode, { lora: opts.lora });
  if (mode !== 'image-head') return { mode, params, logits: null, adapters: loraAdapters(model) };
  if (opts.reinitImageRows && opts.fresh !== false) reinitImageRows(model, opts.seed ?? 0);
  const mask = imageHeadGradMask(model);
  return { mode, params, noDecay: finetuneNoDecay(mode), afterBackward: (ps) => mask(ps), logits: imageHeadLogits(model), adapters: [] };
}

export interface FinetuneMemory {
  /** Parameters trained by AdamW. */
  trainable: number;
  /** Bytes: all parameters as stored, gradients (trainable only, f32), AdamW m and v (f32 each). */
  params: number;
  grads: number;
  m: number;
  v: number;
  total: number;
}

/**
 * Bytes of parameters, gradients and AdamW moments for a config in `mode` (activations and scratch
 * not included). matrixBytes: bytes per element of the weight matrices (4 for f32, 2 for a bf16 base
 * in LoRA mode); norms are f32. LoRA counts rank·(in + out) f32 per adapted projection.
 */
export function finetuneMemory(cfg: ChameleonConfig, mode: FinetuneMode, opts: { lora?: Pick<LoraConfig, 'rank' | 'targets'>; matrixBytes?: number } = {}): FinetuneMemory {
  const pc = parameterCount(cfg);
  const mb = opts.matrixBytes ?? 4;
  const matrices = pc.total - pc.norms;
  let params = matrices * mb + pc.norms * 4;
  let trainable: number;
  if (mode === 'full') {
    if (mb !== 4) throw new ChameleonError('finetuneMemory: full mode trains f32 weights (matrixBytes 4)');
    trainable = pc.total;
  } else if (mode === 'lora') {
    if (!opts.lora) throw new ChameleonError('finetuneMemory: lora mode needs lora.rank and lora.targets');
    const C = cfg.hiddenSize;
    const q = cfg.numAttentionHeads * cfg.headDim;
    const kv = cfg.numKeyValueHeads * cfg.headDim;
    const F = cfg.intermediateSize;
    const dims: Record<string, [number, number]> = { q_proj: [C, q], k_proj: [C, kv], v_proj: [C, kv], o_proj: [q, C], gate_proj: [C, F], up_proj: [C, F], down_proj: [F, C] };
    let perLayer = 0;
    for (const t of opts.lora.targets) {
      const d = dims[t];
      if (!d) throw new ChameleonError(`finetuneMemory: unknown LoRA target '${t}'`);
      perLayer += opts.lora.rank * (d[0] + d[1]);
    }
    trainable = perLayer * cfg.numHiddenLayers;
    params += trainable * 4;
  } else {
    trainable = cfg.vocabSize * cfg.hiddenSize; // lm_head (f32)
    params += trainable * (4 - mb);
  }
  const grads = trainable * 4;
  const m = trainable * 4;
  const v = trainable * 4;
  return { trainable, params, grads, m, v, total: params + grads + m + v };
}
