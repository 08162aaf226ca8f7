// `chameleon train vq` as a library call: loads and splits the images, trains a VQGAN preset with
// VqTrainer, evaluates held-out PSNR and codebook usage every K steps, and writes (atomically) the
// checkpoint (model.safetensors with model.vqmodel.* incl. decoder, config.json with the HF vq_config,
// trainer-state.safetensors for exact resume), metrics.jsonl, loss.svg and reconstruction sheets.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine/index.js';
import { openSafetensors, writeSafetensors } from '../io/safetensors.node.js';
import { VQGAN_PRESETS, vqganConfigFromHf, vqganConfigToHf, type VqganConfig } from '../tokenizers/image/config.js';
import { pngFromPixels } from '../tokenizers/image/preprocess.node.js';
import { VQ_CHECKPOINT_PREFIX, Vqgan } from '../tokenizers/image/vqgan.js';
import { ChameleonError } from '../util/errors.js';
import { ProgressBar, type ProgressStream } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { BatchSampler, DEFAULT_VQ_TRAIN, VqTrainer, evaluateVq, type StepStats, type TrainerState, type UsageStats, type VqTrainOptions } from './vq.js';
import { listImages, loadImages } from './vq-data.node.js';
import { composeSheet, lossCurveSvg, type CurvePoint, type EvalPoint } from './vq-report.js';

const STATE_FILE = 'trainer-state.safetensors';
const MODEL_FILE = 'model.safetensors';

export interface VqRunOptions extends Partial<VqTrainOptions> {
  /** Directory of images or JSONL of {"image": path}. */
  images: string;
  /** Preset name (chameleon | small | tiny); ignored when resuming (the checkpoint's config wins). */
  config: string;
  steps: number;
  batch: number;
  out: string;
  evalEvery: number;
  /** Held-out images (default: min(8, 10 % of the data); 0 = evaluate on training images). */
  evalImages?: number;
  /** Continue from the checkpoint in `out`. */
  resume?: boolean;
  /** Progress bar stream (null: none). */
  progress?: ProgressStream | null;
  /** One line per evaluation / checkpoint (human log). */
  log?: (line: string) => void;
}

export interface EvalRecord {
  type: 'eval';
  step: number;
  psnr: number;
  heldOut: boolean;
  images: number;
  evalCodesUsed: number;
  usage: UsageStats;
}

export interface VqRunResult {
  config: VqganConfig;
  startStep: number;
  steps: number;
  lastStep: StepStats | null;
  finalEval: EvalRecord;
  stepsPerSec: number;
  imagesPerSec: number;
  trainImages: number;
  files: { checkpoint: string; state: string; config: string; metrics: string; curve: string; sheet: string };
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

interface RunState {
  meta: TrainerState['meta'];
  sampler: ReturnType<BatchSampler['state']>;
  preset: string;
  images: number;
}

/** Saves model + config + trainer state (each file written to a temp name and renamed). */
function saveCheckpoint(out: string, vq: Vqgan, trainer: VqTrainer, sampler: BatchSampler, preset: string, images: number): void {
  const step = String(trainer.step);
  const st = trainer.state();
  const run: RunState = { meta: st.meta, sampler: sampler.state(), preset, images };
  writeSafetensors(join(out, STATE_FILE), st.tensors, { step, run: JSON.stringify(run) });
  const params = vq.store.names().map((n) => {
    const t = vq.store.get(n);
    return { name: VQ_CHECKPOINT_PREFIX + n, dtype: 'f32' as const, shape: [...t.shape], data: t.data as Float32Array };
  });
  writeSafetensors(join(out, MODEL_FILE), params, { step });
  const config = { model_type: 'chameleon_vqgan', vq_config: vqganConfigToHf(vq.cfg), training: { preset, step: trainer.step, ...trainer.opts } };
  writeAtomic(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

function readJsonl(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Trains (or resumes) a VQGAN; see VqRunOptions. Deterministic given the seed and the data. */
export async function runVqTraining(engine: Engine, opts: VqRunOptions): Promise<VqRunResult> {
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new ChameleonError(`--steps must be a positive integer, got ${opts.steps}`);
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new ChameleonError(`--batch must be a positive integer, got ${opts.batch}`);
  mkdirSync(opts.out, { recursive: true });
  const statePath = join(opts.out, STATE_FILE);
  const modelPath = join(opts.out, MODEL_FILE);
  let cfg: VqganConfig;
  let preset = opts.config;
  let resumed: RunState | null = null;
  if (opts.resume) {
    if (!existsSync(statePath) || !existsSync(modelPath)) throw new ChameleonError(`--resume: ${opts.out} has no ${MODEL_FILE} + ${STATE_FILE} checkpoint`);
    const json = JSON.parse(readFileSync(join(opts.out, 'config.json'), 'utf8')) as { vq_config?: unknown };
    cfg = vqganConfigFromHf(json.vq_config ?? {});
  } else {
    const p = (VQGAN_PRESETS as Record<string, VqganConfig | undefined>)[opts.config];
    if (!p) throw new ChameleonError(`--config: unknown preset '${opts.config}' (choose ${Object.keys(VQGAN_PRESETS).join(', ')})`);
    cfg = { ...p };
  }
  // Data: load, then a seeded split into held-out and training images.
  const paths = listImages(opts.images);
  const bar0 = new ProgressBar({ total: paths.length, label: 'load images', unit: 'img', stream: opts.progress });
  const all = await loadImages(paths, cfg.resolution, () => bar0.tick());
  bar0.finish();
  const seed = opts.seed ?? 0;
  const order = Array.from({ length: all.length }, (_, i) => i);
  const rng = new Rng(seed ^ 0xe7a1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nEval = all.length < 2 ? 0 : Math.min(opts.evalImages ?? Math.min(8, Math.floor(all.length / 10)), all.length - 1);
  const heldOut = nEval > 0;
  const evalSet = heldOut ? order.slice(0, nEval).map((i) => all[i]) : all.slice(0, 8);
  const train = order.slice(nEval).map((i) => all[i]);

  const vq = new Vqgan(engine, cfg, { encoder: true, decoder: true });
  const trainOpts: Partial<VqTrainOptions> = { seed, totalSteps: opts.totalSteps ?? opts.steps };
  for (const k of Object.keys(DEFAULT_VQ_TRAIN) as (keyof VqTrainOptions)[]) {
    if (opts[k] !== undefined && k !== 'seed' && k !== 'totalSteps') (trainOpts as Record<string, unknown>)[k] = opts[k];
  }
  let trainer: VqTrainer;
  const sampler = new BatchSampler(train.length, seed);
  if (opts.resume) {
    const stArchive = openSafetensors(statePath);
    const mArchive = openSafetensors(modelPath);
    try {
      resumed = JSON.parse(stArchive.metadata?.run ?? 'null') as RunState | null;
      if (!resumed) throw new ChameleonError(`${statePath}: no training state metadata`);
      if (mArchive.metadata?.step !== String(resumed.meta.step)) {
        throw new ChameleonError(`${opts.out}: ${MODEL_FILE} (step ${mArchive.metadata?.step}) and ${STATE_FILE} (step ${resumed.meta.step}) do not match`);
      }
      vq.load(mArchive);
      trainer = new VqTrainer(engine, vq, { ...resumed.meta.options, ...trainOpts, totalSteps: opts.totalSteps ?? resumed.meta.options.totalSteps });
      trainer.restore(resumed.meta, (n) => stArchive.readTensor(n).data as Float32Array | Int32Array);
      sampler.restore(resumed.sampler);
      preset = resumed.preset;
    } finally {
      stArchive.close();
      mArchive.close();
    }
  } else {
    vq.initialize(seed);
    trainer = new VqTrainer(engine, vq, trainOpts);
  }
  const startStep = trainer.step;
  const endStep = opts.resume ? Math.max(startStep, opts.steps) : opts.steps;

  // Metrics history (kept up to the resumed step), curve points for the SVG.
  const metricsPath = join(opts.out, 'metrics.jsonl');
  const history = readJsonl(metricsPath).filter((r) => opts.resume && typeof r.step === 'number' && r.step <= startStep);
  writeAtomic(metricsPath, history.map((r) => JSON.stringify(r) + '\n').join(''));
  const curve: CurvePoint[] = history.filter((r) => r.type === 'step') as unknown as CurvePoint[];
  const evals: EvalPoint[] = history.filter((r) => r.type === 'eval') as unknown as EvalPoint[];
  const metricsLines: string[] = [];
  const flushMetrics = (): void => {
    if (!metricsLines.length) return;
    writeFileSync(metricsPath, metricsLines.join(''), { flag: 'a' });
    metricsLines.length = 0;
  };

  const sheetPath = join(opts.out, 'reconstructions.png');
  const evaluate = async (): Promise<EvalRecord> => {
    const ev = evaluateVq(engine, vq, evalSet, Math.min(4, opts.batch));
    const sheet = composeSheet(ev.originals.slice(0, 16), ev.recons.slice(0, 16), cfg.resolution);
    const png = await pngFromPixels(sheet.data, sheet.width, sheet.height);
    writeAtomic(sheetPath, png);
    writeAtomic(join(opts.out, `reconstructions-step${String(trainer.step).padStart(6, '0')}.png`), png);
    const rec: EvalRecord = { type: 'eval', step: trainer.step, psnr: ev.psnr, heldOut, images: evalSet.length, evalCodesUsed: ev.codesUsed, usage: trainer.usage.stats() };
    metricsLines.push(JSON.stringify(rec) + '\n');
    evals.push({ step: rec.step, psnr: rec.psnr });
    return rec;
  };
  const checkpoint = (): void => {
    saveCheckpoint(opts.out, vq, trainer, sampler, preset, train.length);
    flushMetrics();
    writeAtomic(join(opts.out, 'loss.svg'), lossCurveSvg(curve, evals, `VQGAN ${preset} (${cfg.resolution}², ${cfg.numEmbeddings} codes)`));
  };
  const fmtEval = (r: EvalRecord): string =>
    `step ${r.step}: ${r.heldOut ? 'held-out' : 'train-set'} PSNR ${r.psnr.toFixed(2)} dB over ${r.images} images; codebook: ${r.usage.used}/${cfg.numEmbeddings} codes used (${(100 * r.usage.usedFraction).toFixed(1)} %), perplexity ${r.usage.perplexity.toFixed(1)} over the last ${r.usage.windowSteps} steps`;

  const per = 3 * cfg.resolution * cfg.resolution;
  const batchBuf = new Float32Array(opts.batch * per);
  const bar = new ProgressBar({ total: endStep - startStep, label: `train vq ${preset}`, unit: 'step', stream: opts.progress });
  let last: StepStats | null = null;
  let lastEval: EvalRecord | null = null;
  const t0 = performance.now();
  while (trainer.step < endStep) {
    sampler.next(opts.batch).forEach((idx, k) => batchBuf.set(train[idx], k * per));
    last = trainer.trainStep(batchBuf, opts.batch);
    curve.push({ step: last.step, loss: last.loss, recon: last.recon });
    metricsLines.push(JSON.stringify({ type: 'step', ...last }) + '\n');
    bar.tick(1, `loss ${last.loss.toFixed(4)} (L1 ${last.recon.toFixed(4)}, cb ${last.codebook.toExponential(2)})${last.restarted ? ` restarted ${last.restarted}` : ''}`);
    if (trainer.step % opts.evalEvery === 0 && trainer.step < endStep) {
      lastEval = await evaluate();
      checkpoint();
      log(fmtEval(lastEval));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  bar.finish();
  if (!lastEval || lastEval.step !== trainer.step) lastEval = await evaluate();
  checkpoint();
  log(fmtEval(lastEval));
  const done = trainer.step - startStep;
  return {
    config: cfg,
    startStep,
    steps: trainer.step,
    lastStep: last,
    finalEval: lastEval,
    stepsPerSec: done / Math.max(seconds, 1e-9),
    imagesPerSec: (done * opts.batch) / Math.max(seconds, 1e-9),
    trainImages: train.length,
    files: { checkpoint: modelPath, state: statePath, config: join(opts.out, 'config.json'), metrics: metricsPath, curve: join(opts.out, 'loss.svg'), sheet: sheetPath },
  };
}
