// VQGAN tokenizer training core (browser-safe): one optimisation step (L1 reconstruction + codebook +
// β·commitment losses, AdamW, gradient clipping), codebook-usage tracking over a window of steps
// (counts, perplexity, % used), restart of dead codes from recent encoder outputs, held-out PSNR,
// a deterministic batch sampler, and the trainer state as tensors + JSON for exact resume.
// File IO (images, checkpoints, sheets, metrics) lives in vq-run.node.ts / vq-data.node.ts.

import { AdamW, backward, clipGradNorm, ops, zeroGrad, type Engine, type Tensor } from '../engine/index.js';
import { quantizeStraightThrough } from '../tokenizers/image/quantizer.js';
import { toUint8HWC, type Vqgan } from '../tokenizers/image/vqgan.js';
import { ChameleonError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface VqTrainOptions {
  /** Peak learning rate (after warmup). */
  lr: number;
  /** Linear warmup steps. */
  warmupSteps: number;
  /** Cosine decay to lr·minLrFraction at `totalSteps` (0 = constant after warmup). */
  totalSteps: number;
  minLrFraction: number;
  /** Commitment weight β (VQ-VAE placement: codebook + β·commitment). */
  beta: number;
  /** Global gradient-norm clip. */
  clipNorm: number;
  weightDecay: number;
  /** A code unused for this many steps is restarted (0 disables restarts). */
  deadAfter: number;
  /** Steps over which codebook usage (counts, perplexity, % used) is measured. */
  usageWindow: number;
  /** Recent encoder outputs kept as restart candidates. */
  reservoirSize: number;
  /**
   * Pixel loss: l1 (taming's), l2 (mean squared error), or their sum. L1's optimum per pixel is the
   * median, so on images that are mostly background an undertrained decoder can sit at "all
   * background"; the squared term's gradient grows with the error and pulls sparse objects in early.
   */
  reconLoss: VqReconLoss;
  /**
   * How the codebook learns: 'gradient' (the codebook loss ‖e − sg(z)‖², AdamW) or 'ema' (VQ-VAE-2's
   * exponential moving averages: each code moves to the running mean of the latents assigned to it,
   * decay `emaDecay`; no codebook loss, the commitment term still trains the encoder). EMA finds
   * rarely-used codes' clusters far sooner; the saved model is the same either way.
   */
  codebookUpdate: 'gradient' | 'ema';
  emaDecay: number;
  seed: number;
}

export type VqReconLoss = 'l1' | 'l2' | 'l1+l2';
export const VQ_RECON_LOSSES: readonly VqReconLoss[] = ['l1', 'l2', 'l1+l2'];

export const DEFAULT_VQ_TRAIN: Readonly<VqTrainOptions> = Object.freeze({
  lr: 1e-3,
  warmupSteps: 20,
  totalSteps: 0,
  minLrFraction: 0.1,
  beta: 0.25,
  clipNorm: 1,
  weightDecay: 0,
  deadAfter: 50,
  usageWindow: 50,
  reservoirSize: 4096,
  reconLoss: 'l1',
  codebookUpdate: 'gradient',
  emaDecay: 0.99,
  seed: 0,
});

export interface StepStats {
  step: number;
  loss: number;
  recon: number;
  codebook: number;
  commitment: number;
  gradNorm: number;
  lr: number;
  /** Codes restarted after this step. */
  restarted: number;
}

export interface UsageStats {
  /** Codes used at least once in the window. */
  used: number;
  usedFraction: number;
  /** exp(entropy) of the code distribution over the window (K = uniform use of every code). */
  perplexity: number;
  windowSteps: number;
}

/** Per-code counts over the last `window` steps, and the step at which each code was last chosen. */
export class CodeUsage {
  readonly lastUsed: Int32Array;
  readonly counts: Float64Array;
  private ring: Int32Array[] = [];

  constructor(
    readonly numCodes: number,
    readonly window: number,
  ) {
    this.lastUsed = new Int32Array(numCodes);
    this.counts = new Float64Array(numCodes);
  }

  record(step: number, indices: Int32Array): void {
    const copy = Int32Array.from(indices);
    for (const k of copy) {
      this.counts[k]++;
      this.lastUsed[k] = step;
    }
    this.ring.push(copy);
    while (this.ring.length > this.window) for (const k of this.ring.shift()!) this.counts[k]--;
  }

  stats(): UsageStats {
    let total = 0;
    let used = 0;
    for (const c of this.counts) {
      total += c;
      if (c > 0) used++;
    }
    let h = 0;
    for (const c of this.counts) if (c > 0) h -= (c / total) * Math.log(c / total);
    return { used, usedFraction: used / this.numCodes, perplexity: total > 0 ? Math.exp(h) : 0, windowSteps: this.ring.length };
  }

  /** Codes not chosen in the last `after` steps (as of `step`). */
  dead(step: number, after: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.numCodes; k++) if (step - this.lastUsed[k] >= after) out.push(k);
    return out;
  }

  /** Window contents for checkpointing. */
  windowState(): { codes: Int32Array; lengths: Int32Array } {
    const lengths = Int32Array.from(this.ring.map((r) => r.length));
    const codes = new Int32Array(lengths.reduce((a, b) => a + b, 0));
    let o = 0;
    for (const r of this.ring) {
      codes.set(r, o);
      o += r.length;
    }
    return { codes, lengths };
  }

  restore(lastUsed: ArrayLike<number>, codes: ArrayLike<number>, lengths: ArrayLike<number>): void {
    this.lastUsed.set(lastUsed);
    this.counts.fill(0);
    this.ring = [];
    let o = 0;
    for (let i = 0; i < lengths.length; i++) {
      const r = Int32Array.from(Array.prototype.slice.call(codes, o, o + lengths[i]) as number[]);
      o += lengths[i];
      for (const k of r) this.counts[k]++;
      this.ring.push(r);
    }
  }
}

/** Learning rate at `step` (0-based): linear warmup, then cosine to lr·minLrFraction over totalSteps. */
export function lrAt(o: Pick<VqTrainOptions, 'lr' | 'warmupSteps' | 'totalSteps' | 'minLrFraction'>, step: number): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  if (o.totalSteps <= o.warmupSteps) return o.lr;
  const t = Math.min(1, (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps));
  return o.lr * (o.minLrFraction + (1 - o.minLrFraction) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Tensors + JSON that together restore a trainer exactly (with the model parameters). */
export interface TrainerState {
  tensors: { name: string; dtype: 'f32' | 'i32'; shape: number[]; data: Float32Array | Int32Array }[];
  meta: { step: number; optimizerStep: number; rng: number[]; reservoirFill: number; reservoirNext: number; options: VqTrainOptions };
}

export class VqTrainer {
  readonly opts: VqTrainOptions;
  readonly params: Tensor[];
  readonly optimizer: AdamW;
  readonly usage: CodeUsage;
  /** Training steps taken. */
  step = 0;
  readonly rng: Rng;
  /** Ring buffer of recent latent vectors [reservoirSize, D] (restart candidates). */
  private readonly reservoir: Float32Array;
  private reservoirFill = 0;
  private reservoirNext = 0;
  private readonly codebookIndex: number;
  /** EMA codebook statistics: assignments n_k [K] and latent sums m_k [K, D] (empty in gradient mode). */
  private readonly emaCount: Float32Array;
  private readonly emaSum: Float32Array;

  constructor(
    readonly engine: Engine,
    readonly vq: Vqgan,
    opts: Partial<VqTrainOptions> = {},
  ) {
    if (!vq.encoder || !vq.decoder) throw new ChameleonError('VqTrainer: the VQGAN needs both encoder and decoder to train');
    this.opts = { ...DEFAULT_VQ_TRAIN, ...opts };
    if (this.opts.codebookUpdate !== 'gradient' && this.opts.codebookUpdate !== 'ema') throw new ChameleonError(`codebookUpdate must be gradient or ema, got ${String(this.opts.codebookUpdate)}`);
    if (!(this.opts.emaDecay > 0 && this.opts.emaDecay < 1)) throw new ChameleonError(`emaDecay must be in (0, 1), got ${this.opts.emaDecay}`);
    const ema = this.opts.codebookUpdate === 'ema';
    this.params = vq.store.trainable().filter((t) => !ema || t !== vq.codebook);
    if (ema) vq.codebook.requiresGrad = false; // moved by emaUpdate, not by gradients
    this.optimizer = new AdamW(this.params, { lr: this.opts.lr, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: this.opts.weightDecay });
    this.usage = new CodeUsage(vq.cfg.numEmbeddings, this.opts.usageWindow);
    this.rng = new Rng(this.opts.seed ^ 0x5eed);
    this.reservoir = new Float32Array(this.opts.reservoirSize * vq.cfg.embedDim);
    this.codebookIndex = this.params.indexOf(vq.codebook);
    if (this.codebookIndex < 0 && !ema) throw new ChameleonError('VqTrainer: the codebook is not a trainable parameter');
    const K = vq.cfg.numEmbeddings;
    // EMA statistics start as one assignment at the code itself, so e = m / n is the initial codebook.
    this.emaCount = new Float32Array(ema ? K : 0).fill(1);
    this.emaSum = ema ? Float32Array.from(vq.codebook.f32()) : new Float32Array(0);
  }

  /**
   * One optimisation step on a batch of pre-processed images ([b, 3, R, R] values in [−1, 1]):
   * loss = pixel loss (mean|x̂ − x| and/or mean (x̂ − x)²) + mean‖e − sg(z)‖² + β·mean‖sg(e) − z‖², then clip, AdamW, usage, restarts.
   */
  trainStep(batch: Float32Array, b: number): StepStats {
    const e = this.engine;
    const { resolution: r, dropout } = this.vq.cfg;
    if (batch.length !== b * 3 * r * r) throw new ChameleonError(`trainStep: ${batch.length} values are not ${b} images of 3×${r}×${r}`);
    const lr = lrAt(this.opts, this.step);
    const dropoutSeed = dropout > 0 ? this.rng.nextU32() : undefined;
    const out = e.scope(() => {
      const x = e.tensor(batch, [b, 3, r, r]);
      const z = this.vq.encodeLatent(x, { dropoutSeed });
      const st = quantizeStraightThrough(z, this.vq.codebook, { beta: this.opts.beta });
      const recon = this.vq.decodeLatent(st.quantized, { dropoutSeed });
      const diff = ops.sub(recon, x); // [B, 3, R, R]
      const l1 = (): Tensor => ops.mean(ops.abs(diff));
      const l2 = (): Tensor => ops.mean(ops.mul(diff, diff));
      const kind = this.opts.reconLoss;
      const reconLoss = kind === 'l1' ? l1() : kind === 'l2' ? l2() : ops.add(l1(), l2());
      const loss = ops.add(reconLoss, st.loss);
      zeroGrad(this.params);
      backward(loss);
      const gradNorm = clipGradNorm(this.params, this.opts.clipNorm);
      this.optimizer.update(lr);
      if (this.opts.codebookUpdate === 'ema') this.emaUpdate(z, st.indices);
      this.remember(z);
      return {
        loss: loss.item(),
        recon: reconLoss.item(),
        codebook: st.codebookLoss.item(),
        commitment: st.commitmentLoss.item(),
        gradNorm,
        indices: st.indices,
      };
    });
    if (!Number.isFinite(out.loss)) throw new ChameleonError(`training diverged at step ${this.step + 1} (loss ${out.loss}); lower --lr`);
    this.step++;
    this.usage.record(this.step, out.indices);
    const restarted = this.opts.deadAfter > 0 ? this.restartDeadCodes() : 0;
    return { step: this.step, loss: out.loss, recon: out.recon, codebook: out.codebook, commitment: out.commitment, gradNorm: out.gradNorm, lr, restarted };
  }

  /**
   * One EMA step of the codebook: n_k ← γ·n_k + (1 − γ)·count_k, m_k ← γ·m_k + (1 − γ)·Σ z assigned
   * to k, e_k = m_k / n_k (codes assigned nothing keep e_k: both decay by γ). z is [B, D, h, w].
   */
  private emaUpdate(z: Tensor, indices: ArrayLike<number>): void {
    const [b, d, h, w] = z.shape;
    const hw = h * w;
    const K = this.vq.cfg.numEmbeddings;
    const g = this.opts.emaDecay;
    const zd = z.toFloat32();
    const count = new Float64Array(K);
    const sum = new Float64Array(K * d);
    for (let n = 0; n < b; n++) {
      for (let p = 0; p < hw; p++) {
        const k = indices[n * hw + p];
        count[k]++;
        for (let c = 0; c < d; c++) sum[k * d + c] += zd[(n * d + c) * hw + p];
      }
    }
    const cb = this.vq.codebook.f32();
    for (let k = 0; k < K; k++) {
      const nk = g * this.emaCount[k] + (1 - g) * count[k];
      this.emaCount[k] = nk;
      for (let c = 0; c < d; c++) {
        const m = g * this.emaSum[k * d + c] + (1 - g) * sum[k * d + c];
        this.emaSum[k * d + c] = m;
        cb[k * d + c] = m / Math.max(nk, 1e-12);
      }
    }
  }

  /** Copies the latent vectors z [B, D, g, g] into the reservoir ring (oldest overwritten). */
  private remember(z: Tensor): void {
    const [b, d, h, w] = z.shape;
    const cap = this.opts.reservoirSize;
    if (cap === 0) return;
    const zd = z.toFloat32();
    const hw = h * w;
    for (let n = 0; n < b; n++) {
      for (let p = 0; p < hw; p++) {
        const row = this.reservoirNext * d;
        for (let c = 0; c < d; c++) this.reservoir[row + c] = zd[(n * d + c) * hw + p];
        this.reservoirNext = (this.reservoirNext + 1) % cap;
        this.reservoirFill = Math.min(cap, this.reservoirFill + 1);
      }
    }
  }

  /**
   * Dead-code restart: every code not chosen in the last `deadAfter` steps is set to a uniformly
   * random vector of the reservoir (recent encoder outputs), its AdamW moments are zeroed and its
   * clock reset, so it gets another `deadAfter` steps to be chosen. Returns how many were restarted.
   */
  restartDeadCodes(): number {
    if (this.reservoirFill === 0) return 0;
    const dead = this.usage.dead(this.step, this.opts.deadAfter);
    if (dead.length === 0) return 0;
    const d = this.vq.cfg.embedDim;
    const cb = this.vq.codebook.data as Float32Array;
    const ema = this.opts.codebookUpdate === 'ema';
    const { m, v } = this.optimizer.state();
    const md = ema ? null : (m[this.codebookIndex].data as Float32Array);
    const vd = ema ? null : (v[this.codebookIndex].data as Float32Array);
    for (const k of dead) {
      const j = this.rng.int(this.reservoirFill);
      cb.set(this.reservoir.subarray(j * d, (j + 1) * d), k * d);
      if (ema) {
        // The restarted code's statistics: one assignment at its new vector.
        this.emaCount[k] = 1;
        this.emaSum.set(this.reservoir.subarray(j * d, (j + 1) * d), k * d);
      } else {
        md!.fill(0, k * d, (k + 1) * d);
        vd!.fill(0, k * d, (k + 1) * d);
      }
      this.usage.lastUsed[k] = this.step;
    }
    return dead.length;
  }

  /** Everything besides the model parameters that the next step depends on. */
  state(): TrainerState {
    const tensors: TrainerState['tensors'] = this.optimizer.namedMoments().map((t) => ({ ...t, dtype: 'f32' as const }));
    const win = this.usage.windowState();
    tensors.push({ name: 'usage.last_used', dtype: 'i32', shape: [this.usage.numCodes], data: this.usage.lastUsed });
    tensors.push({ name: 'usage.window_codes', dtype: 'i32', shape: [win.codes.length], data: win.codes });
    tensors.push({ name: 'usage.window_lengths', dtype: 'i32', shape: [win.lengths.length], data: win.lengths });
    tensors.push({ name: 'reservoir', dtype: 'f32', shape: [this.opts.reservoirSize, this.vq.cfg.embedDim], data: this.reservoir });
    if (this.opts.codebookUpdate === 'ema') {
      tensors.push({ name: 'ema.count', dtype: 'f32', shape: [this.emaCount.length], data: this.emaCount });
      tensors.push({ name: 'ema.sum', dtype: 'f32', shape: [this.emaCount.length, this.vq.cfg.embedDim], data: this.emaSum });
    }
    return {
      tensors,
      meta: {
        step: this.step,
        optimizerStep: this.optimizer.step,
        rng: this.rng.getState(),
        reservoirFill: this.reservoirFill,
        reservoirNext: this.reservoirNext,
        options: { ...this.opts },
      },
    };
  }

  /** Restores a state() snapshot (tensors by name). The model parameters are loaded separately. */
  restore(meta: TrainerState['meta'], get: (name: string) => Float32Array | Int32Array): void {
    this.optimizer.loadMoments(get);
    this.usage.restore(get('usage.last_used'), get('usage.window_codes'), get('usage.window_lengths'));
    const res = get('reservoir');
    if (res.length !== this.reservoir.length) throw new ChameleonError(`trainer state: reservoir has ${res.length} values, expected ${this.reservoir.length} (--reservoir changed?)`);
    this.reservoir.set(res);
    if (this.opts.codebookUpdate === 'ema') {
      this.emaCount.set(get('ema.count'));
      this.emaSum.set(get('ema.sum'));
    }
    this.step = meta.step;
    this.optimizer.step = meta.optimizerStep;
    this.rng.setState(meta.rng);
    this.reservoirFill = meta.reservoirFill;
    this.reservoirNext = meta.reservoirNext;
  }
}

export interface EvalResult {
  /** Mean per-image PSNR (dB) of the uint8 reconstruction against the uint8 original. */
  psnr: number;
  /** Distinct codes used over the evaluation images. */
  codesUsed: number;
  /** Reconstructions, uint8 HWC per image. */
  recons: Uint8Array[];
  originals: Uint8Array[];
}

/** [3, R, R] floats v/255·2−1 back to the uint8 HWC bytes they came from. */
function pixelsToUint8HWC(pixels: Float32Array, r: number): Uint8Array {
  const n = r * r;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.min(255, Math.max(0, Math.round(((pixels[c * n + i] + 1) / 2) * 255)));
  return out;
}

/** PSNR in dB between two uint8 images (Infinity-safe: capped at 100 dB for identical images). */
function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? 100 : 10 * Math.log10((255 * 255) / mse);
}

/** Encodes and decodes each image (inference path, post-processed to uint8) and measures PSNR. */
export function evaluateVq(engine: Engine, vq: Vqgan, images: Float32Array[], batch = 4): EvalResult {
  const r = vq.cfg.resolution;
  const per = 3 * r * r;
  const recons: Uint8Array[] = [];
  const originals = images.map((im) => pixelsToUint8HWC(im, r));
  const used = new Set<number>();
  for (let i = 0; i < images.length; i += batch) {
    const chunk = images.slice(i, i + batch);
    const bytes = engine.scope(() => {
      const x = new Float32Array(chunk.length * per);
      chunk.forEach((im, k) => x.set(im, k * per));
      const { indices } = vq.encode(engine.tensor(x, [chunk.length, 3, r, r]));
      for (const k of indices) used.add(k);
      return toUint8HWC(vq.decodeCodes(indices, chunk.length));
    });
    for (let k = 0; k < chunk.length; k++) recons.push(bytes.slice(k * r * r * 3, (k + 1) * r * r * 3));
  }
  const scores = recons.map((rec, k) => psnr(originals[k], rec));
  return { psnr: scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length), codesUsed: used.size, recons, originals };
}

/** Deterministic batches: a fresh seeded permutation each epoch; state() for exact resume. */
export class BatchSampler {
  private perm: number[] = [];
  private cursor = 0;
  epoch = 0;
  private readonly rng: Rng;

  constructor(
    readonly size: number,
    seed: number,
  ) {
    if (size < 1) throw new ChameleonError('BatchSampler: no training images');
    this.rng = new Rng(seed ^ 0xba7c4);
    this.shuffle();
  }

  private shuffle(): void {
    this.perm = Array.from({ length: this.size }, (_, i) => i);
    for (let i = this.size - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [this.perm[i], this.perm[j]] = [this.perm[j], this.perm[i]];
    }
    this.cursor = 0;
  }

  /** Next b indices (wrapping into a new epoch as needed). */
  next(b: number): number[] {
    const out: number[] = [];
    while (out.length < b) {
      if (this.cursor >= this.perm.length) {
        this.epoch++;
        this.shuffle();
      }
      out.push(this.perm[this.cursor++]);
    }
    return out;
  }

  state(): { perm: number[]; cursor: number; epoch: number; rng: number[] } {
    return { perm: [...this.perm], cursor: this.cursor, epoch: this.epoch, rng: this.rng.getState() };
  }

  restore(s: { perm: number[]; cursor: number; epoch: number; rng: number[] }): void {
    if (s.perm.length !== this.size) throw new ChameleonError(`resume: the checkpoint was trained on ${s.perm.length} images, the data now has ${this.size}`);
    this.perm = [...s.perm];
    this.cursor = s.cursor;
    this.epoch = s.epoch;
    this.rng.setState(s.rng);
  }
}
