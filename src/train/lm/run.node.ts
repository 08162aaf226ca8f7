// `chameleon train lm|sft` as a library call: reads the config file (JSON or the YAML subset), refuses
// a run that does not fit in memory, builds or loads the model, resumes from the latest complete
// checkpoint (refusing one from another config), and runs the loop: steps with metrics.jsonl lines
// (contract of issue 10), a progress bar, validation every K steps, checkpoints every K steps (pruned
// to the last K + best), and the divergence guard's stop or rollback. Data comes in as BatchSources.

import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Engine } from '../../engine/index.js';
import { ChameleonModel } from '../../model/chameleon.js';
import { loadChameleon, readConfig } from '../../model/checkpoint.node.js';
import { parameterCount, type ChameleonConfig } from '../../model/config.js';
import { ChameleonError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import { parseYamlSubset } from '../../util/yaml-subset.js';
import { checkMemory, configMismatch, LM_PRESETS, modelConfigFor, parseLmConfig, type LmRunConfig, type MemoryEstimate } from './config.js';
import {
  checkpointPath,
  ckptName,
  listCheckpoints,
  loadCheckpoint,
  pruneCheckpoints,
  readCheckpointInfo,
  removeStaleTemps,
  saveCheckpoint,
  writeAtomic,
  type CheckpointInfo,
} from './checkpoint.node.js';
import type { BatchSource, TokenBatch } from './source.js';
import { LmTrainer, modalityGroups, type StepMetrics } from './trainer.js';
import { finetuneSetup } from '../finetune.js';

/** Reads `--config`: a JSON or YAML(-subset) file, or the name of a preset. */
export function readLmConfigFile(pathOrPreset: string, task: 'lm' | 'sft'): LmRunConfig {
  const isPreset = Object.prototype.hasOwnProperty.call(LM_PRESETS, pathOrPreset);
  // A preset name wins over a directory of the same name (`--config tiny` beside a `tiny/` model dir).
  const isFile = existsSync(pathOrPreset) && statSync(pathOrPreset).isFile();
  if (!isFile) {
    if (isPreset) return parseLmConfig({ preset: pathOrPreset }, { task, source: `preset ${pathOrPreset}` });
    if (existsSync(pathOrPreset)) throw new ChameleonError(`--config ${pathOrPreset}: a directory, not a config file (JSON or YAML), and not a preset (${Object.keys(LM_PRESETS).join(', ')})`);
    throw new ChameleonError(`--config ${pathOrPreset}: no such file, and not a preset (${Object.keys(LM_PRESETS).join(', ')})`);
  }
  const text = readFileSync(pathOrPreset, 'utf8');
  let json: unknown;
  const ext = extname(pathOrPreset).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') json = parseYamlSubset(text, pathOrPreset);
  else {
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ChameleonError(`${pathOrPreset}: not valid JSON (${(e as Error).message}); YAML files need a .yaml extension`);
    }
  }
  return parseLmConfig(json, { task, source: pathOrPreset });
}

/** FLOPs of one training token: 6·N (matmul parameters, i.e. without the embedding lookup) + 12·L·C·T (attention, PaLM appendix B). */
function flopsPerToken(c: ChameleonConfig, seqLen: number): number {
  const n = parameterCount(c);
  return 6 * (n.total - n.embeddings) + 12 * c.numHiddenLayers * c.hiddenSize * seqLen;
}

export interface LmRunOptions {
  config: LmRunConfig;
  out: string;
  resume?: boolean;
  /** Training batches (seqLen × batch as configured). */
  source: BatchSource;
  /** A fresh validation source, restarted for every evaluation (null: no validation). */
  valSource?: (() => BatchSource) | null;
  /** Image-token ids of the vocabulary (for the per-modality losses); default: the model's own. */
  imageIds?: Int32Array;
  /** Backend FMA peak in GFLOP/s for the MFU column (null: mfu is null). */
  peakGflops?: number | null;
  /** Config of the tokenizers' model (a dataset's): a fresh model takes its vocabulary map and VQ config. */
  vocabularyFrom?: ChameleonConfig | null;
  /** Model directory whose tokenizer / VQ files `chameleon export` copies (default: model.from). */
  modelDir?: string | null;
  progress?: ProgressStream | null;
  log?: (line: string) => void;
  /** Divergence and rollback notices (default: stderr). */
  warn?: (line: string) => void;
  /** Test hook after every applied step. */
  afterStep?: (trainer: LmTrainer, model: ChameleonModel) => void;
}

export interface LmRunResult {
  status: 'done' | 'diverged';
  startStep: number;
  step: number;
  model: ChameleonConfig;
  memory: MemoryEstimate;
  last: StepMetrics | null;
  lastEval: { step: number; valLoss: number } | null;
  best: CheckpointInfo['best'];
  tokensPerSec: number;
  mfu: number | null;
  rollbacks: number;
  /** The divergence that stopped the run. */
  divergence: string | null;
  metrics: string;
  checkpoints: number[];
}

/** metrics.jsonl lines with step <= upTo (a torn last line from a killed run is dropped). */
function keptMetrics(file: string, upTo: number): string {
  if (!existsSync(file)) return '';
  const kept: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let rec: { step?: unknown };
    try {
      rec = JSON.parse(line) as { step?: unknown };
    } catch {
      continue;
    }
    if (typeof rec.step === 'number' && rec.step <= upTo) kept.push(line + '\n');
  }
  return kept.join('');
}

/** Trains (or resumes) an LM run; see LmRunOptions. Bit-reproducible given the config and the data. */
export async function runLmTraining(engine: Engine, opts: LmRunOptions): Promise<LmRunResult> {
  const cfg = opts.config;
  const log = opts.log ?? (() => {});
  const warn = opts.warn ?? ((l: string) => process.stderr.write(l + '\n'));
  const out = opts.out;
  const fromDir = cfg.model.from;
  const modelCfg = modelConfigFor(cfg, fromDir ? readConfig(fromDir) : undefined);
  const vocab = opts.vocabularyFrom;
  if (!fromDir && vocab && !modelCfg.vocabularyMap && vocab.vocabSize === modelCfg.vocabSize) {
    // A model trained from scratch on a dataset speaks its tokenizer's vocabulary: the exported
    // directory then carries the same vocabulary map and VQ config as the tokenizers' model.
    Object.assign(modelCfg, {
      vocabularyMap: vocab.vocabularyMap,
      vqConfig: vocab.vqConfig,
      imageTokenId: vocab.imageTokenId,
      boiTokenId: vocab.boiTokenId,
      eoiTokenId: vocab.eoiTokenId,
      bosTokenId: vocab.bosTokenId,
      eosTokenId: vocab.eosTokenId,
      padTokenId: vocab.padTokenId,
    });
  }
  const memory = checkMemory(modelCfg, cfg); // before anything is allocated
  mkdirSync(out, { recursive: true });

  // Resume: the latest complete checkpoint, refused when its config differs.
  let resumeDir: string | null = null;
  if (opts.resume) {
    removeStaleTemps(out);
    const steps = listCheckpoints(out);
    if (steps.length === 0) throw new ChameleonError(`--resume: ${out} has no checkpoint (${join(out, 'checkpoints')}/step-*)`);
    resumeDir = checkpointPath(out, steps[steps.length - 1]);
    const saved = readCheckpointInfo(resumeDir);
    const diff = configMismatch(saved.config, cfg);
    if (diff) throw new ChameleonError(`--resume: ${ckptName(resumeDir)} was trained with another config (${diff})`);
  } else if (listCheckpoints(out).length > 0) {
    throw new ChameleonError(`${out} already holds checkpoints; pass --resume to continue, or choose another --out`);
  }

  const ft = cfg.finetune;
  if (ft.mode !== 'full' && !fromDir) throw new ChameleonError(`finetune.mode ${ft.mode} fine-tunes a trained model: set model.from (or pass --init <model-dir>)`);
  // LoRA keeps the base as stored (bf16 stays bf16) and always reads it from model.from: its
  // checkpoints hold only the adapters. The other modes train f32 weights, from the checkpoint on resume.
  const model =
    ft.mode === 'lora'
      ? loadChameleon(engine, fromDir!)
      : fromDir && !resumeDir
        ? loadChameleon(engine, fromDir, { weights: 'f32' })
        : ChameleonModel.create(engine, modelCfg, cfg.train.seed);
  if (fromDir && model.config.vocabSize !== modelCfg.vocabSize) throw new ChameleonError('model.from: vocabulary changed');
  const setup = finetuneSetup(model, ft.mode, { lora: { ...ft.lora, seed: cfg.train.seed }, reinitImageRows: ft.reinitImageRows, seed: cfg.train.seed, fresh: !resumeDir });
  const trainable = setup.params.reduce((n, t) => n + t.size, 0);
  if (ft.mode !== 'full') log(`finetune ${ft.mode}: ${trainable} trainable parameters (${((100 * trainable) / parameterCount(model.config).total).toFixed(2)} % of ${parameterCount(model.config).total})`);
  const imageIds = opts.imageIds ?? model.imageIds;
  const trainer = new LmTrainer(engine, model, { ...cfg.train, spikeFactor: cfg.run.spikeFactor, spikeWindow: cfg.run.spikeWindow, spikePatience: cfg.run.spikePatience }, modalityGroups(modelCfg.vocabSize, imageIds), setup);
  const modelDir = opts.modelDir ?? fromDir ?? null;
  let best: CheckpointInfo['best'] = null;
  let rollbacks = 0;
  if (resumeDir) {
    const info = loadCheckpoint(resumeDir, model, trainer);
    opts.source.restore(info.source);
    best = info.best;
    rollbacks = info.rollbacks;
    log(`resumed from ${ckptName(resumeDir)} (step ${info.step})`);
  }
  const startStep = trainer.step;
  const metricsPath = join(out, 'metrics.jsonl');
  writeAtomic(metricsPath, resumeDir ? keptMetrics(metricsPath, startStep) : '');
  writeAtomic(join(out, 'run.json'), JSON.stringify({ config: cfg, model: { ...modelCfg, vocabularyMap: modelCfg.vocabularyMap ? '(see checkpoint config.json)' : null }, parameters: parameterCount(modelCfg), trainable, memory }, null, 2) + '\n');
  const emit = (rec: Record<string, unknown>): void => appendFileSync(metricsPath, JSON.stringify(rec) + '\n');

  const checkpoint = (): void => {
    const dir = saveCheckpoint(out, model, trainer, { source: opts.source.state(), config: cfg, best, rollbacks, modelDir });
    pruneCheckpoints(out, cfg.run.keepLast, best?.step ?? null);
    emit({ step: trainer.step, event: 'checkpoint', detail: ckptName(dir) });
  };
  let lastEval: LmRunResult['lastEval'] = null;
  const evaluate = (): void => {
    if (!opts.valSource) return;
    const src = opts.valSource();
    const batches = Array.from({ length: cfg.run.evalBatches }, () => src.next());
    const ev = trainer.evaluate(batches);
    emit({ step: trainer.step, ...ev });
    lastEval = { step: trainer.step, valLoss: ev.valLoss };
    if (Number.isFinite(ev.valLoss) && (!best || ev.valLoss < best.valLoss)) best = { step: trainer.step, valLoss: ev.valLoss };
    log(`step ${trainer.step}: val loss ${ev.valLoss.toFixed(4)}${ev.valLossImage !== null ? ` (text ${ev.valLossText?.toFixed(4)}, image ${ev.valLossImage.toFixed(4)})` : ''}`);
  };

  const fpt = flopsPerToken(modelCfg, cfg.train.seqLen);
  const peak = opts.peakGflops ?? null;
  const endStep = cfg.train.steps;
  const bar = new ProgressBar({ total: Math.max(0, endStep - startStep), label: `train ${cfg.task}`, unit: 'step', stream: opts.progress });
  let last: StepMetrics | null = null;
  let divergence: string | null = null;
  let tokensDone = 0;
  let secondsDone = 0;
  while (trainer.step < endStep) {
    const t0 = performance.now();
    const micro: TokenBatch[] = Array.from({ length: cfg.train.gradAccum }, () => opts.source.next());
    for (const b of micro) {
      if (b.seqLen !== cfg.train.seqLen || b.batch !== cfg.train.batch) throw new ChameleonError(`data: batch ${b.batch} × ${b.seqLen}, the config says ${cfg.train.batch} × ${cfg.train.seqLen}`);
    }
    const res = trainer.trainStep(micro);
    if (!res.ok) {
      const detail = `step ${res.step}: ${res.verdict.reason}`;
      emit({ step: res.step, event: 'divergence', detail });
      const steps = listCheckpoints(out).filter((s) => s < res.step);
      if (cfg.run.onDivergence === 'rollback' && steps.length > 0 && rollbacks < cfg.run.maxRollbacks) {
        const target = checkpointPath(out, steps[steps.length - 1]);
        const scale = trainer.lrScale * cfg.run.rollbackLrFactor;
        const info = loadCheckpoint(target, model, trainer);
        opts.source.restore(info.source);
        trainer.lrScale = scale;
        rollbacks++;
        best = info.best ?? best;
        const msg = `divergence at ${detail}; rolled back to ${ckptName(target)} (step ${info.step}) and lowered the learning rate to ${scale} × schedule (rollback ${rollbacks} of at most ${cfg.run.maxRollbacks})`;
        emit({ step: info.step, event: 'rollback', detail: msg });
        warn(`chameleon: ${msg}`);
        continue;
      }
      const why =
        cfg.run.onDivergence === 'stop' ? 'run.onDivergence is stop' : steps.length === 0 ? 'no earlier checkpoint to roll back to' : `${rollbacks} rollbacks already (run.maxRollbacks)`;
      divergence = `divergence at ${detail}; stopped (${why}); the parameters are those after step ${trainer.step}`;
      warn(`chameleon: ${divergence}`);
      break;
    }
    opts.afterStep?.(trainer, model);
    const secs = (performance.now() - t0) / 1000;
    const m = res.metrics;
    tokensDone += m.tokens;
    secondsDone += secs;
    const tokensPerSec = m.tokens / Math.max(secs, 1e-9);
    const mfu = peak ? (fpt * tokensPerSec) / (peak * 1e9) : null;
    emit({ ...m, tokensPerSec, mfu });
    if (res.spike) emit({ step: m.step, event: 'spike', detail: res.spike });
    last = m;
    bar.tick(1, `loss ${m.loss.toFixed(4)} · ${tokensPerSec.toFixed(0)} tok/s · step ${m.step}/${endStep}`);
    const atEnd = trainer.step === endStep;
    if (trainer.step % cfg.run.evalEvery === 0 || atEnd) evaluate();
    if (trainer.step % cfg.run.checkpointEvery === 0 || atEnd) checkpoint();
  }
  bar.finish();
  const tps = tokensDone / Math.max(secondsDone, 1e-9);
  return {
    status: divergence ? 'diverged' : 'done',
    startStep,
    step: trainer.step,
    model: modelCfg,
    memory,
    last,
    lastEval,
    best,
    tokensPerSec: tps,
    mfu: peak ? (fpt * tps) / (peak * 1e9) : null,
    rollbacks,
    divergence,
    metrics: metricsPath,
    checkpoints: listCheckpoints(out),
  };
}
