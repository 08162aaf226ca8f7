// AdamW with decoupled weight decay (Loshchilov & Hutter) and global gradient-norm clipping, over
// a list of parameter tensors. Moment buffers live in the engine's optim arena; parameters and
// gradients are updated in place. LR schedules live in train/, not here.

import { ChameleonError, ShapeError } from '../util/errors.js';
import type { Tensor } from './tensor.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Parameters excluded from weight decay (e.g. norms, biases); by default every rank-1 tensor. */
  noDecay?: (p: Tensor) => boolean;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of update steps taken so far. */
  step = 0;
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private readonly decays: boolean[];

  constructor(
    readonly params: readonly Tensor[],
    public opts: AdamWOptions,
  ) {
    if (params.length === 0) throw new ChameleonError('AdamW: no parameters');
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-5;
    this.weightDecay = opts.weightDecay ?? 0.1;
    const e = params[0].engine;
    for (const p of params) {
      if (p.dtype !== 'f32') throw new ShapeError(`AdamW: parameter ${p} must be f32`);
    }
    this.m = params.map((p) => e.zeros(p.shape, 'f32', 'optim'));
    this.v = params.map((p) => e.zeros(p.shape, 'f32', 'optim'));
    const noDecay = opts.noDecay ?? ((p: Tensor) => p.rank < 2);
    this.decays = params.map((p) => !noDecay(p));
  }

  /** Moment buffers, in parameter order (for checkpointing). */
  state(): { m: readonly Tensor[]; v: readonly Tensor[] } {
    return { m: this.m, v: this.v };
  }

  /** The moment buffers as named f32 arrays (`optim.m.<param>`, `optim.v.<param>`): the layout checkpoints store. */
  namedMoments(): { name: string; shape: number[]; data: Float32Array }[] {
    return this.params.flatMap((p, i) => [
      { name: `optim.m.${p.name}`, shape: [...p.shape], data: this.m[i].f32() },
      { name: `optim.v.${p.name}`, shape: [...p.shape], data: this.v[i].f32() },
    ]);
  }

  /** Restores namedMoments() by name; a buffer of the wrong length is refused, naming it. */
  loadMoments(get: (name: string) => ArrayLike<number>): void {
    for (const t of this.namedMoments()) {
      const src = get(t.name);
      if (src.length !== t.data.length) throw new ShapeError(`trainer state: ${t.name} has ${src.length} values, expected ${t.data.length}`);
      t.data.set(src);
    }
  }

  /** One update with learning rate lr (defaults to opts.lr). Parameters without a gradient are skipped. */
  update(lr = this.opts.lr): void {
    this.step++;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      p.engine.k.adamw(p.f32(), p.grad.f32(), this.m[i].f32(), this.v[i].f32(), {
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.decays[i] ? this.weightDecay : 0,
        step: this.step,
      });
    });
  }
}

/** Global L2 norm of all gradients. */
export function gradNorm(params: readonly Tensor[]): number {
  let s = 0;
  for (const p of params) if (p.grad) s += p.engine.k.sumSquares(p.grad.f32());
  return Math.sqrt(s);
}

/** Scales all gradients so their global norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  const norm = gradNorm(params);
  if (norm > maxNorm && norm > 0) {
    const f = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) p.engine.k.affine(p.grad.f32(), p.grad.f32(), f, 0);
  }
  return norm;
}
