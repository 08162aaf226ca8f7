// One optimizer step of Chameleon LM training (browser-safe): gradient accumulation over micro-batches
// (each micro-loss weighted by its share of the counted targets, so k × B/k equals 1 × B), forward with
// residual dropout and packed-document segIds/positions, cross-entropy (ignore −100) + z-loss with the
// per-modality CE sums taken in the same pass, the last layer's output norm, global grad-norm clip,
// the divergence guard before the update, AdamW; plus validation loss and the state for exact resume.
// A FinetuneSetup (train/finetune.ts) picks what trains: LoRA adapters, or lm_head's image rows with the
// loss over the image vocabulary. Files (checkpoints, metrics) are run.node.ts's.

import { AdamW, backward, clipGradNorm, ops, zeroGrad, type Engine, type Tensor } from '../../engine/index.js';
import type { ChameleonModel } from '../../model/chameleon.js';
import { ChameleonError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import type { TrainSection } from './config.js';
import { DivergenceGuard, lmNoDecay, lrAt, type GuardVerdict } from './schedule.js';
import { IGNORE_INDEX, type TokenBatch } from './source.js';
import { loraDropoutSeeds } from '../../nn/lora.js';
import type { FinetuneSetup } from '../finetune.js';

export type TrainerOptions = TrainSection & { spikeFactor: number; spikeWindow: number; spikePatience?: number };

/** The per-step numbers of metrics.jsonl (contract), before tokens/s and MFU are added. */
export interface StepMetrics {
  step: number;
  tokens: number;
  loss: number;
  /** Mean CE over text / image targets (null when the step had none of that modality). */
  lossText: number | null;
  lossImage: number | null;
  /** z-loss term as added to the loss (coefficient · mean lse²). */
  zLoss: number;
  /** Mean L2 norm of the last decoder layer's output vectors (before the final norm). */
  outputNorm: number;
  gradNorm: number;
  lr: number;
}

export type StepOutcome = { ok: true; metrics: StepMetrics; /** Set when the step spiked without tripping the guard (it was applied). */ spike: string | null } | { ok: false; step: number; verdict: GuardVerdict; loss: number };

export interface EvalMetrics {
  valLoss: number;
  valLossText: number | null;
  valLossImage: number | null;
}

/** Everything besides the parameters that the next step depends on (JSON part; m/v are tensors). */
export interface TrainerMeta {
  step: number;
  optimizerStep: number;
  rng: number[];
  lrScale: number;
  guard: number[];
}

/** 0 (text) / 1 (image) for every vocabulary id. */
export function modalityGroups(vocabSize: number, imageIds: Int32Array): Uint8Array {
  const g = new Uint8Array(vocabSize);
  for (const id of imageIds) g[id] = 1;
  return g;
}

interface Accum {
  ce: number;
  lse: number;
  groupSums: Float64Array;
  groupCounts: Int32Array;
  normSum: number;
  normCount: number;
}

export class LmTrainer {
  readonly params: Tensor[];
  readonly optimizer: AdamW;
  readonly guard: DivergenceGuard;
  /** Source of the dropout seeds. */
  readonly rng: Rng;
  step = 0;
  /** Multiplies the scheduled LR (lowered by rollbacks). */
  lrScale = 1;

  constructor(
    readonly engine: Engine,
    readonly model: ChameleonModel,
    readonly opts: TrainerOptions,
    readonly groups: Uint8Array,
    /** The fine-tuning mode (finetuneSetup); absent: every trainable f32 model parameter, the LM rules. */
    readonly setup: FinetuneSetup | null = null,
  ) {
    this.params = setup ? setup.params : model.params.trainable();
    if (this.params.length === 0) throw new ChameleonError('LM training: the model has no trainable f32 parameters');
    const noDecay = setup?.noDecay ?? lmNoDecay;
    this.optimizer = new AdamW(this.params, { lr: opts.lr, beta1: opts.beta1, beta2: opts.beta2, eps: opts.eps, weightDecay: opts.weightDecay, noDecay });
    this.guard = new DivergenceGuard(opts.spikeFactor, opts.spikeWindow, opts.spikePatience ?? 1);
    this.rng = new Rng(opts.seed ^ 0xd50f);
  }

  lr(step = this.step): number {
    return lrAt(this.opts, step) * this.lrScale;
  }

  /** Forward + loss of one micro-batch inside the caller's scope; adds its sums into acc. */
  private microLoss(b: TokenBatch, acc: Accum, dropoutSeed: number | null): { loss: Tensor; count: number } {
    const e = this.engine;
    const ids = e.tensor(b.inputs, [b.batch, b.seqLen], 'i32'); // [B, T]
    const head = this.head();
    const targets = e.tensor(head.targets(b.targets), [b.batch, b.seqLen], 'i32'); // [B, T]
    const fwd = this.model.forward({
      ids,
      positions: b.positions,
      segIds: b.segIds,
      dropout: dropoutSeed === null ? undefined : { p: this.opts.dropout, seed: dropoutSeed },
      trace: true,
      logitRange: head.range,
    });
    const logits = head.logits(fwd.logits); // [B, T, V or end - start]
    const parts = ops.crossEntropyParts(logits, targets, { ignoreIndex: IGNORE_INDEX, zLoss: this.opts.zLoss, targetGroups: head.groups, groupCount: 2 });
    acc.ce += parts.ce * parts.count;
    acc.lse += parts.lseSq * parts.count;
    for (let g = 0; g < 2; g++) {
      acc.groupSums[g] += parts.groupSums![g];
      acc.groupCounts[g] += parts.groupCounts![g];
    }
    const last = fwd.layers![fwd.layers!.length - 1].layer_out.f32(); // [B, T, C]
    const C = this.model.config.hiddenSize;
    for (let r = 0; r < last.length; r += C) {
      let s = 0;
      for (let c = 0; c < C; c++) s += last[r + c] * last[r + c];
      acc.normSum += Math.sqrt(s);
      acc.normCount++;
    }
    return { loss: parts.loss, count: parts.count };
  }

  /**
   * How logits and targets reach the loss: the whole vocabulary, or (image-head mode) the image
   * vocabulary only: the logitRange of the LM head with targets shifted into it, or the additive mask.
   * Targets outside the image vocabulary are already IGNORE_INDEX (masked()).
   */
  private head(): { range: readonly [number, number] | undefined; targets(t: Int32Array): Int32Array; logits(l: Tensor): Tensor; groups: Uint8Array } {
    const lg = this.setup?.logits ?? null;
    if (!lg) return { range: undefined, targets: (t) => t, logits: (l) => l, groups: this.groups };
    if (!lg.range) return { range: undefined, targets: (t) => t, logits: (l) => lg.mask(l), groups: this.groups };
    const [start, end] = lg.range;
    return {
      range: lg.range,
      targets: (t) => t.map((x) => (x === IGNORE_INDEX ? x : x - start)),
      logits: (l) => l,
      groups: this.groups.subarray(start, end),
    };
  }

  /** The batch as the loss sees it: image-head mode ignores targets outside the image vocabulary. */
  private masked(b: TokenBatch): TokenBatch {
    const lg = this.setup?.logits;
    if (!lg) return b;
    const targets = Int32Array.from(b.targets);
    lg.maskTargets(targets, IGNORE_INDEX);
    return { ...b, targets };
  }

  private static counted(b: TokenBatch): number {
    let n = 0;
    for (let i = 0; i < b.targets.length; i++) if (b.targets[i] !== IGNORE_INDEX) n++;
    return n;
  }

  /**
   * One optimizer step over `micro` (gradAccum micro-batches). The guard runs after backward and
   * before the update: a tripped step changes neither the parameters nor the step counter.
   */
  trainStep(rawMicro: readonly TokenBatch[]): StepOutcome {
    const e = this.engine;
    if (rawMicro.length === 0) throw new ChameleonError('trainStep: no micro-batches');
    const micro = rawMicro.map((b) => this.masked(b));
    const total = micro.reduce((s, b) => s + LmTrainer.counted(b), 0);
    if (total === 0) {
      const why = this.setup?.logits ? 'no image-token targets (finetune.mode image-head trains on image tokens only: give it data with images)' : `no target tokens (every target is ${IGNORE_INDEX})`;
      throw new ChameleonError(`trainStep: step ${this.step + 1} has ${why}`);
    }
    const acc: Accum = { ce: 0, lse: 0, groupSums: new Float64Array(2), groupCounts: new Int32Array(2), normSum: 0, normCount: 0 };
    const seeds = micro.map(() => (this.opts.dropout > 0 ? this.rng.nextU32() : null));
    const adapters = this.setup?.adapters ?? [];
    const loraSeeds = adapters.some((a) => a.dropout) ? micro.map(() => this.rng.nextU32()) : null;
    zeroGrad(this.params);
    micro.forEach((b, i) => {
      if (loraSeeds) loraDropoutSeeds(adapters, loraSeeds[i]);
      e.scope(() => {
        const { loss, count } = this.microLoss(b, acc, seeds[i]);
        if (count > 0) backward(ops.affine(loss, count / total)); // weight = share of the counted targets
      });
    });
    const ce = acc.ce / total;
    const zLoss = (this.opts.zLoss * acc.lse) / total;
    const loss = ce + zLoss;
    const lr = this.lr();
    this.setup?.afterBackward?.(this.params);
    const gradNorm = clipGradNorm(this.params, this.opts.clipNorm);
    const verdict = this.guard.check(loss, gradNorm);
    if (verdict) return { ok: false, step: this.step + 1, verdict, loss };
    const spike = this.guard.spike;
    this.optimizer.update(lr);
    this.guard.push(loss);
    this.step++;
    const tokens = micro.reduce((s, b) => s + b.batch * b.seqLen, 0);
    const mean = (g: number): number | null => (acc.groupCounts[g] > 0 ? acc.groupSums[g] / acc.groupCounts[g] : null);
    return { ok: true, spike, metrics: { step: this.step, tokens, loss, lossText: mean(0), lossImage: mean(1), zLoss, outputNorm: acc.normSum / Math.max(1, acc.normCount), gradNorm, lr } };
  }

  /** Mean CE (no z-loss, no dropout, no graph) over the batches, overall and per modality. */
  evaluate(batches: readonly TokenBatch[]): EvalMetrics {
    const e = this.engine;
    let ce = 0;
    let count = 0;
    const sums = new Float64Array(2);
    const counts = new Int32Array(2);
    const head = this.head();
    e.noGrad(() => {
      for (const raw of batches) {
        const b = this.masked(raw);
        if (LmTrainer.counted(b) === 0) continue;
        e.scope(() => {
          const ids = e.tensor(b.inputs, [b.batch, b.seqLen], 'i32'); // [B, T]
          const targets = e.tensor(head.targets(b.targets), [b.batch, b.seqLen], 'i32'); // [B, T]
          const fwd = this.model.forward({ ids, positions: b.positions, segIds: b.segIds, logitRange: head.range }); // [B, T, V or end - start]
          const p = ops.crossEntropyParts(head.logits(fwd.logits), targets, { ignoreIndex: IGNORE_INDEX, targetGroups: head.groups, groupCount: 2 });
          ce += p.ce * p.count;
          count += p.count;
          for (let g = 0; g < 2; g++) {
            sums[g] += p.groupSums![g];
            counts[g] += p.groupCounts![g];
          }
        });
      }
    });
    const mean = (g: number): number | null => (counts[g] > 0 ? sums[g] / counts[g] : null);
    return { valLoss: ce / Math.max(1, count), valLossText: mean(0), valLossImage: mean(1) };
  }

  /** The JSON part of the trainer state; m and v are optimizer.namedMoments(). */
  meta(): TrainerMeta {
    return { step: this.step, optimizerStep: this.optimizer.step, rng: this.rng.getState(), lrScale: this.lrScale, guard: this.guard.state() };
  }

  /** Restores meta() and the moment buffers (by parameter name). Parameters are loaded separately. */
  restore(meta: TrainerMeta, get: (name: string) => Float32Array): void {
    this.optimizer.loadMoments(get);
    this.step = meta.step;
    this.optimizer.step = meta.optimizerStep;
    this.rng.setState(meta.rng);
    this.lrScale = meta.lrScale;
    this.guard.restore(meta.guard);
  }
}
