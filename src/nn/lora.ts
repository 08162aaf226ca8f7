// LoRA (Hu et al. 2021) on the Linear adapter seam: y = base(x) + (alpha/rank)·(x·Aᵀ)·Bᵀ with A
// [rank, in] drawn like PEFT's default (Kaiming-uniform, a = √5: U(±1/√in), seeded) and B [out, rank]
// zero, so an adapted model starts equal to its base. A and B are f32 and trainable; the base weight
// is frozen in whatever dtype it is stored in (bf16 too). attachLora / mergeLora walk any model whose
// layers hold `self_attn` and `mlp` Linears (ChameleonModel). Leaves out: the optimizer and the
// freezing rules of the other fine-tuning modes (train/finetune.ts), and file I/O.

import { ChameleonError, ShapeError } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import type { DType } from '../engine/dtype.js';
import { TYPE_TRAITS } from '../engine/dtype.js';
import { ops } from '../engine/index.js';
import type { Tensor } from '../engine/tensor.js';
import { Rng } from '../util/rng.js';
import { Linear, type LinearAdapter } from './modules.js';

/** The projections LoRA can target in a Chameleon decoder layer (HF module names). */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

export interface LoraOptions {
  rank: number;
  alpha: number;
  /** Seed of A's init (B is zero). */
  seed: number;
  /** Dropout probability on the LoRA branch's input while training (default 0, PEFT's lora_dropout). */
  dropout?: number;
}

export interface LoraConfig extends LoraOptions {
  /** Which projections of every layer get an adapter, e.g. ['q_proj', 'v_proj']. */
  targets: readonly string[];
}

/** What attachLora needs of a model: its engine and decoder layers (ChameleonModel fits). */
export interface LoraHost {
  readonly engine: Engine;
  readonly layers: readonly { readonly self_attn: object; readonly mlp: object }[];
}

/** Key of the base layer's weight without the trailing `.weight` (the module's path). */
function modulePath(base: Linear): string {
  const n = base.weight.name;
  return n.endsWith('.weight') ? n.slice(0, -'.weight'.length) : n;
}

/**
 * A LoRA branch over one Linear: forward(x, base) = base + s·(drop(x)·Aᵀ)·Bᵀ, s = alpha/rank.
 * Parameters are named after the base module, PEFT-style without the wrapper prefix:
 * `model.layers.0.self_attn.q_proj.lora_A.weight` (see peftKey for PEFT's file key).
 */
export class LoraAdapter implements LinearAdapter {
  readonly lora_A: Tensor; // [rank, in]
  readonly lora_B: Tensor; // [out, rank]
  readonly rank: number;
  readonly alpha: number;
  /** alpha / rank. */
  readonly scale: number;
  /**
   * Dropout on the LoRA input while gradients are recorded: p and the seed of this step's mask.
   * The trainer sets the seed per step (loraDropoutSeeds) so masks are reproducible on resume;
   * under noGrad (evaluation, generation) no dropout is applied.
   */
  dropout: { p: number; seed: number } | null;
  /** requiresGrad of the base weight/bias before attaching (restored by detach). */
  private readonly baseTrainable: [boolean, boolean];

  constructor(
    engine: Engine,
    readonly base: Linear,
    opts: LoraOptions,
  ) {
    const { rank, alpha } = opts;
    if (!Number.isInteger(rank) || rank < 1) throw new ShapeError(`LoRA: rank must be a positive integer, got ${rank}`);
    if (!(alpha > 0)) throw new ShapeError(`LoRA: alpha must be positive, got ${alpha}`);
    if (rank > Math.min(base.inFeatures, base.outFeatures)) {
      throw new ShapeError(`LoRA: rank ${rank} exceeds min(in ${base.inFeatures}, out ${base.outFeatures}) of ${modulePath(base)}`);
    }
    const p = opts.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ShapeError(`LoRA: dropout ${p} must be in [0, 1)`);
    this.rank = rank;
    this.alpha = alpha;
    this.scale = alpha / rank;
    this.dropout = p > 0 ? { p, seed: opts.seed } : null;
    const path = modulePath(base);
    this.lora_A = engine.zeros([rank, base.inFeatures], 'f32', 'params'); // [rank, in]
    this.lora_B = engine.zeros([base.outFeatures, rank], 'f32', 'params'); // [out, rank]
    this.lora_A.name = `${path}.lora_A.weight`;
    this.lora_B.name = `${path}.lora_B.weight`;
    // PEFT's default init: kaiming_uniform_(a=√5) -> U(-1/√in, 1/√in); B stays zero.
    const bound = 1 / Math.sqrt(base.inFeatures);
    const rng = new Rng(opts.seed);
    const a = this.lora_A.f32();
    for (let i = 0; i < a.length; i++) a[i] = (rng.uniform() * 2 - 1) * bound;
    this.lora_A.requiresGrad = true;
    this.lora_B.requiresGrad = true;
    this.baseTrainable = [base.weight.requiresGrad, base.bias?.requiresGrad ?? false];
  }

  /** x [..., in], base [..., out] -> [..., out]. */
  forward(x: Tensor, base: Tensor): Tensor {
    const e = x.engine;
    const h = this.dropout && e.gradEnabled ? ops.dropout(x, this.dropout.p, this.dropout.seed) : x; // [..., in]
    const down = ops.linear(h, this.lora_A); // [..., rank]
    const up = ops.linear(down, this.lora_B); // [..., out]
    return ops.add(base, ops.scale(up, this.scale)); // [..., out]
  }

  /** The trainable tensors: [A, B]. */
  params(): Tensor[] {
    return [this.lora_A, this.lora_B];
  }

  /** s·B·A as f32 [out, in] (computed in f32, no autograd; a scratch tensor of the current scope). */
  delta(): Tensor {
    const e = this.lora_A.engine;
    return e.noGrad(() => ops.scale(ops.matmul(this.lora_B, this.lora_A), this.scale)); // [out, in]
  }

  /** Attaches to the base layer and freezes its weight (and bias). */
  attach(): void {
    if (this.base.adapter) throw new ChameleonError(`LoRA: ${modulePath(this.base)} already has an adapter`);
    this.base.adapter = this;
    this.base.weight.requiresGrad = false;
    if (this.base.bias) this.base.bias.requiresGrad = false;
  }

  /** Removes the adapter from its layer and restores the base's previous trainability. */
  detach(): void {
    if (this.base.adapter === this) this.base.adapter = null;
    this.base.weight.requiresGrad = this.baseTrainable[0];
    if (this.base.bias) this.base.bias.requiresGrad = this.baseTrainable[1];
  }
}

/** PEFT's key for an adapter tensor in adapter_model.safetensors: `base_model.model.` + our name. */
export function peftKey(name: string): string {
  return `base_model.model.${name}`;
}

/** The Linear named `target` in a layer's self_attn or mlp, or a ChameleonError listing what exists. */
function targetLinear(layer: LoraHost['layers'][number], target: string, index: number): Linear {
  for (const part of [layer.self_attn, layer.mlp] as Record<string, unknown>[]) {
    const m = part[target];
    if (m instanceof Linear) return m;
  }
  const known = [layer.self_attn, layer.mlp].flatMap((part) => Object.entries(part).filter(([, v]) => v instanceof Linear).map(([k]) => k));
  throw new ChameleonError(`LoRA: layer ${index} has no projection '${target}' (known: ${known.join(', ')})`);
}

/**
 * Attaches one LoraAdapter to each `targets` projection of every layer (layer order, then target
 * order; adapter i draws A from seed + i) and freezes those base weights. Refuses a model that
 * already has adapters, unknown or repeated targets.
 */
export function attachLora(model: LoraHost, cfg: LoraConfig): LoraAdapter[] {
  if (cfg.targets.length === 0) throw new ChameleonError('LoRA: targets is empty (e.g. q_proj, v_proj)');
  const seen = new Set<string>();
  for (const t of cfg.targets) {
    if (seen.has(t)) throw new ChameleonError(`LoRA: target '${t}' is listed twice`);
    seen.add(t);
  }
  if (loraAdapters(model).length) throw new ChameleonError('LoRA: the model already has adapters (merge or detach them first)');
  const bases = model.layers.flatMap((layer, l) => cfg.targets.map((t) => targetLinear(layer, t, l)));
  const adapters = bases.map((base, i) => new LoraAdapter(model.engine, base, { rank: cfg.rank, alpha: cfg.alpha, seed: cfg.seed + i, dropout: cfg.dropout }));
  for (const a of adapters) a.attach();
  return adapters;
}

/** Every LoraAdapter attached to the model's layers (layer order, then field order). */
export function loraAdapters(model: LoraHost): LoraAdapter[] {
  const out: LoraAdapter[] = [];
  for (const layer of model.layers) {
    for (const part of [layer.self_attn, layer.mlp] as Record<string, unknown>[]) {
      for (const m of Object.values(part)) if (m instanceof Linear && m.adapter instanceof LoraAdapter) out.push(m.adapter);
    }
  }
  return out;
}

/** Sets each adapter's dropout seed for one step (seed + i), so dropout masks follow the step. */
export function loraDropoutSeeds(adapters: readonly LoraAdapter[], seed: number): void {
  adapters.forEach((a, i) => {
    if (a.dropout) a.dropout = { p: a.dropout.p, seed: (seed + i) >>> 0 };
  });
}

export interface MergeReport {
  /** Base weights that received W += s·B·A, by name. */
  merged: string[];
  /** Storage dtype of the merged weights (the base's, unchanged: bf16 stays bf16, rounded once). */
  dtypes: DType[];
}

/**
 * Folds every attached adapter into its base weight, W += (alpha/rank)·B·A, and removes the adapters,
 * so the model (and an export) holds plain weights. The sum is formed in f32: an f32 W is updated in
 * place; a half-precision W (bf16/f16) is widened row by row, summed in f32 and rounded back to its
 * storage dtype (round to nearest even), which is the checkpoint's dtype, so the export keeps it.
 */
export function mergeLora(model: LoraHost): MergeReport {
  const adapters = loraAdapters(model);
  const report: MergeReport = { merged: [], dtypes: [] };
  const e = model.engine;
  for (const a of adapters) {
    const w = a.base.weight; // [out, in]
    e.scope(() => {
      const d = a.delta().f32(); // [out, in]
      if (w.dtype === 'f32') {
        const wd = w.f32();
        for (let i = 0; i < wd.length; i++) wd[i] += d[i];
      } else if (w.dtype === 'bf16' || w.dtype === 'f16') {
        const traits = TYPE_TRAITS[w.dtype];
        const inF = a.base.inFeatures;
        const row = new Float32Array(inF);
        for (let o = 0; o < a.base.outFeatures; o++) {
          const bits = (w.data as Uint16Array).subarray(o * inF, (o + 1) * inF);
          traits.toF32(bits, row, inF);
          for (let i = 0; i < inF; i++) row[i] += d[o * inF + i];
          traits.fromF32(row, bits, inF);
        }
      } else {
        throw new ShapeError(`mergeLora: cannot merge into ${w.dtype} weight ${w.name} (f32, bf16 or f16 only)`);
      }
    });
    a.detach();
    report.merged.push(w.name);
    report.dtypes.push(w.dtype);
  }
  return report;
}
