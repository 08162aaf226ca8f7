// The pieces of the LM recipe that are plain arithmetic: the learning-rate schedule (linear warmup,
// then cosine or exponential decay to a floor, or constant), which parameters AdamW decays (not norms,
// biases or the embedding, spec §7.1), and the divergence guard (NaN/Inf, or a loss spike against the
// running median). No tensors here; the trainer applies them.

import type { Tensor } from '../../engine/index.js';
import type { TrainSection } from './config.js';

export type ScheduleOptions = Pick<TrainSection, 'lr' | 'warmupSteps' | 'decay' | 'minLrFraction' | 'steps'>;

/**
 * Learning rate of optimizer step `step` (0-based). Warmup: lr·(step+1)/warmupSteps. Then, with
 * t = (step − warmup)/(steps − 1 − warmup) in [0, 1] (1 at the last step):
 * cosine lr·(f + (1−f)·½(1+cos πt)); exponential lr·f^t (geometric from lr to lr·f); constant lr.
 */
export function lrAt(o: ScheduleOptions, step: number): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const span = o.steps - 1 - o.warmupSteps;
  if (o.decay === 'constant' || span <= 0) return o.lr;
  const t = Math.min(1, (step - o.warmupSteps) / span);
  const f = o.minLrFraction;
  if (o.decay === 'exponential') return o.lr * Math.pow(f, t);
  return o.lr * (f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/**
 * AdamW's no-decay rule for Chameleon parameters: every rank-1 tensor (RMSNorm weights, biases), the
 * per-head QK LayerNorm weight and bias (rank 2, [H, D]) and the token embedding. Decayed: the
 * projection matrices and the LM head.
 */
export function lmNoDecay(p: Tensor): boolean {
  const n = p.name;
  return p.rank < 2 || n.endsWith('.bias') || /(^|\.)(q_norm|k_norm)\./.test(n) || n === 'model.embed_tokens.weight';
}

export interface GuardVerdict {
  reason: string;
}

/**
 * Trips on a non-finite loss / grad norm, or on `patience` steps in a row whose loss is above
 * factor × the median of the last `window` steps. The loss is measured before the step's update,
 * so one hard batch (a rarer modality, a piece of a long document) spikes alone while broken
 * parameters spike on every batch; a lone spike is only reported (`spike`) and its step applied.
 */
export class DivergenceGuard {
  private losses: number[] = [];
  /** Spiking steps in a row, up to the last pushed one. */
  private streak = 0;
  /** The reason of the last checked step when it spiked without tripping the guard (else null). */
  spike: string | null = null;

  constructor(
    readonly factor: number,
    readonly window: number,
    readonly patience = 1,
  ) {}

  median(): number {
    if (this.losses.length === 0) return NaN;
    const s = [...this.losses].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  /** Checks a step before it is applied; null when it may be applied (see `spike`). */
  check(loss: number, gradNorm: number): GuardVerdict | null {
    this.spike = null;
    if (!Number.isFinite(loss)) return { reason: `loss is ${loss}` };
    if (!Number.isFinite(gradNorm)) return { reason: `gradient norm is ${gradNorm} (loss ${loss})` };
    // A median needs a few samples before a spike means anything.
    if (this.losses.length >= Math.min(this.window, 8)) {
      const med = this.median();
      if (loss > this.factor * med) {
        const run = this.streak + 1;
        const reason = `loss spike: ${loss.toFixed(4)} > ${this.factor} × running median ${med.toFixed(4)} of the last ${this.losses.length} steps`;
        if (run >= this.patience) return { reason: this.patience > 1 ? `${reason}, ${run} steps in a row` : reason };
        this.spike = `${reason} (${run} of ${this.patience} in a row before it counts as divergence)`;
      }
    }
    return null;
  }

  /** Records an applied step's loss (after check). */
  push(loss: number): void {
    this.streak = this.spike !== null ? this.streak + 1 : 0;
    this.losses.push(loss);
    if (this.losses.length > this.window) this.losses.shift();
  }

  state(): number[] {
    return [...this.losses];
  }

  /** Back to a checkpoint's losses (the spike streak starts again at 0). */
  restore(losses: readonly number[]): void {
    this.streak = 0;
    this.spike = null;
    this.losses = losses.slice(-this.window);
  }
}
