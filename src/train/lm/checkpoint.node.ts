// LM training checkpoints on disk. Each is a directory checkpoints/step-NNNNNNNN/ that is a Hugging Face
// Chameleon directory (config.json + model.safetensors, f32 as trained) plus trainer-state.safetensors
// (AdamW m/v; step, RNG, LR scale, guard window, data position and the run config as metadata). It is
// written under a temporary name and renamed whole, so a killed write never leaves a partial
// checkpoint; keep-last-K + best-by-validation pruning; `chameleon export` (complete model directory).
// A LoRA run's checkpoint holds PEFT-format adapters instead of the frozen base; export merges them.

import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openSafetensors, readTensors, saveSharded, writeSafetensors } from '../../io/safetensors.node.js';
import type { TensorToWrite } from '../../io/safetensors.js';
import type { ChameleonModel } from '../../model/chameleon.js';
import { readConfig, saveChameleon } from '../../model/checkpoint.node.js';
import { toHfConfigJson } from '../../model/config.js';
import { ChameleonError } from '../../util/errors.js';
import type { LmRunConfig } from './config.js';
import { attachLora, mergeLora, peftKey, type LoraAdapter } from '../../nn/lora.js';
import type { Engine } from '../../engine/index.js';
import { loadChameleon, parameterTensors } from '../../model/checkpoint.node.js';
import type { LmTrainer, TrainerMeta } from './trainer.js';

const CKPT_DIR = 'checkpoints';
const STATE_FILE = 'trainer-state.safetensors';
/** LoRA checkpoints hold the adapters in PEFT's layout instead of the (frozen) base weights. */
const ADAPTER_FILE = 'adapter_model.safetensors';
const ADAPTER_CONFIG = 'adapter_config.json';
const STEP_RE = /^step-(\d{8})$/;

/** What a checkpoint stores besides the tensors. */
export interface CheckpointInfo {
  step: number;
  meta: TrainerMeta;
  source: Record<string, unknown>;
  config: LmRunConfig;
  /** Best validation loss so far and its step (null before the first evaluation). */
  best: { step: number; valLoss: number } | null;
  rollbacks: number;
  /** Where tokenizer / VQ files come from for export (null: none known). */
  modelDir: string | null;
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** Writes text atomically (temp + rename). */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Steps of the complete checkpoints in runDir, ascending (temporary directories are not checkpoints). */
export function listCheckpoints(runDir: string): number[] {
  const dir = join(runDir, CKPT_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => STEP_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export function checkpointPath(runDir: string, step: number): string {
  return join(runDir, CKPT_DIR, stepDirName(step));
}

export interface SaveHooks {
  /** Called after each file is written into the temporary directory (tests inject failures here). */
  afterFile?: (file: string) => void;
}

/**
 * Saves the model, trainer and data position for trainer.step as one directory, atomically: files go
 * into checkpoints/.tmp-step-N-<pid>/, which is then renamed to checkpoints/step-N/.
 */
export function saveCheckpoint(runDir: string, model: ChameleonModel, trainer: LmTrainer, info: Omit<CheckpointInfo, 'step' | 'meta'>, hooks: SaveHooks = {}): string {
  const step = trainer.step;
  const root = join(runDir, CKPT_DIR);
  mkdirSync(root, { recursive: true });
  const tmp = join(root, `.tmp-${stepDirName(step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const adapters = trainer.setup?.adapters ?? [];
  if (adapters.length > 0) {
    // The base stays as model.from holds it: store only the adapters (PEFT names) and the base config.
    const lora = info.config.finetune.lora;
    const tensors = adapters.flatMap((a) => a.params()).map((t) => ({ name: peftKey(t.name), dtype: 'f32' as const, shape: [...t.shape], data: new Uint8Array(t.f32().slice().buffer) }));
    writeSafetensors(join(tmp, ADAPTER_FILE), tensors, { format: 'pt' });
    writeFileSync(join(tmp, ADAPTER_CONFIG), JSON.stringify(peftAdapterConfig(lora, info.config.model.from), null, 2) + '\n');
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(toHfConfigJson(model.config), null, 2) + '\n');
    hooks.afterFile?.(ADAPTER_FILE);
  } else {
    saveChameleon(model, tmp);
    hooks.afterFile?.('model.safetensors');
  }
  const tensors: TensorToWrite[] = trainer.optimizer.namedMoments().map((t) => ({ ...t, dtype: 'f32' as const }));
  const meta = trainer.meta();
  writeSafetensors(join(tmp, STATE_FILE), tensors, {
    step: String(step),
    meta: JSON.stringify(meta),
    source: JSON.stringify(info.source),
    config: JSON.stringify(info.config),
    best: JSON.stringify(info.best),
    rollbacks: String(info.rollbacks),
    modelDir: JSON.stringify(info.modelDir),
  });
  hooks.afterFile?.(STATE_FILE);
  const final = checkpointPath(runDir, step);
  if (existsSync(final)) {
    // Same step written again (after a rollback): move the old one aside first, then drop it.
    const old = join(root, `.old-${stepDirName(step)}-${process.pid}`);
    renameSync(final, old);
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, final);
  }
  return final;
}

/** Reads a checkpoint's metadata (no tensors); a FormatError-style refusal naming what is wrong. */
export function readCheckpointInfo(dir: string): CheckpointInfo {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file) || !existsSync(join(dir, 'config.json'))) throw new ChameleonError(`${dir}: not an LM training checkpoint (no ${STATE_FILE} + config.json)`);
  const a = openSafetensors(file);
  try {
    const md = a.metadata ?? {};
    const need = ['step', 'meta', 'source', 'config'];
    const missing = need.filter((k) => md[k] === undefined);
    if (missing.length) throw new ChameleonError(`${file}: metadata lacks ${missing.join(', ')}`);
    return {
      step: Number(md.step),
      meta: JSON.parse(md.meta) as TrainerMeta,
      source: JSON.parse(md.source) as Record<string, unknown>,
      config: JSON.parse(md.config) as LmRunConfig,
      best: JSON.parse(md.best ?? 'null') as CheckpointInfo['best'],
      rollbacks: Number(md.rollbacks ?? 0),
      modelDir: JSON.parse(md.modelDir ?? 'null') as string | null,
    };
  } finally {
    a.close();
  }
}

/** PEFT's adapter_config.json for our LoRA settings (so `PeftModel.from_pretrained` reads the adapters). */
function peftAdapterConfig(lora: LmRunConfig['finetune']['lora'], base: string | null): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: base,
    r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    target_modules: [...lora.targets],
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: false,
  };
}

/** Copies a LoRA checkpoint's adapter tensors into the attached adapters (same names, same shapes). */
function loadAdapters(dir: string, adapters: readonly LoraAdapter[]): void {
  const file = join(dir, ADAPTER_FILE);
  if (!existsSync(file)) throw new ChameleonError(`${dir}: not a LoRA checkpoint (no ${ADAPTER_FILE}); it was trained with another finetune.mode`);
  const a = openSafetensors(file);
  try {
    for (const t of adapters.flatMap((x) => x.params())) {
      const key = peftKey(t.name);
      if (!a.has(key)) throw new ChameleonError(`${file}: no tensor ${key} (the adapters were attached with other targets)`);
      const src = a.readTensorF32(key);
      if (src.length !== t.size) throw new ChameleonError(`${file}: ${key} has ${src.length} values, the adapter ${t.size}`);
      t.f32().set(src);
    }
  } finally {
    a.close();
  }
}

/** Loads parameters and trainer state from a checkpoint directory into model + trainer. */
export function loadCheckpoint(dir: string, model: ChameleonModel, trainer: LmTrainer): CheckpointInfo {
  const info = readCheckpointInfo(dir);
  const adapters = trainer.setup?.adapters ?? [];
  if (adapters.length > 0) loadAdapters(dir, adapters);
  else {
    if (existsSync(join(dir, ADAPTER_FILE))) throw new ChameleonError(`${dir}: a LoRA checkpoint (finetune.mode lora), but this run trains without adapters`);
    const weights = openSafetensors(dir);
    try {
      model.params.load(weights);
    } finally {
      weights.close();
    }
  }
  const st = openSafetensors(join(dir, STATE_FILE));
  try {
    trainer.restore(info.meta, (n) => st.readTensorF32(n));
  } finally {
    st.close();
  }
  if (trainer.step !== info.step) throw new ChameleonError(`${dir}: trainer state is at step ${trainer.step}, the checkpoint says ${info.step}`);
  return info;
}

/** Deletes all but the last `keep` checkpoints and the best one; removes stale temporary dirs of this process. */
export function pruneCheckpoints(runDir: string, keep: number, bestStep: number | null): number[] {
  const steps = listCheckpoints(runDir);
  const kept = new Set(steps.slice(-keep));
  if (bestStep !== null) kept.add(bestStep);
  const removed: number[] = [];
  for (const s of steps) {
    if (kept.has(s)) continue;
    rmSync(checkpointPath(runDir, s), { recursive: true, force: true });
    removed.push(s);
  }
  return removed;
}

/** Removes temporary checkpoint directories left by a killed run (never a complete checkpoint). */
export function removeStaleTemps(runDir: string): string[] {
  const root = join(runDir, CKPT_DIR);
  if (!existsSync(root)) return [];
  const stale = readdirSync(root).filter((n) => n.startsWith('.tmp-') || n.startsWith('.old-'));
  for (const n of stale) rmSync(join(root, n), { recursive: true, force: true });
  return stale;
}

/** A run directory's latest checkpoint, or the argument itself when it is a checkpoint directory. */
function resolveCheckpoint(path: string, which: 'latest' | 'best' = 'latest'): string {
  if (!existsSync(path)) throw new ChameleonError(`${path}: no such run or checkpoint directory`);
  if (existsSync(join(path, STATE_FILE))) return path;
  const steps = listCheckpoints(path);
  if (steps.length === 0) throw new ChameleonError(`${path}: no checkpoints (expected ${CKPT_DIR}/step-NNNNNNNN/ or a checkpoint directory)`);
  if (which === 'best') {
    const info = readCheckpointInfo(checkpointPath(path, steps[steps.length - 1]));
    if (!info.best) throw new ChameleonError(`${path}: no validation loss recorded yet, so no best checkpoint`);
    if (!steps.includes(info.best.step)) throw new ChameleonError(`${path}: the best checkpoint (step ${info.best.step}) is missing`);
    return checkpointPath(path, info.best.step);
  }
  return checkpointPath(path, steps[steps.length - 1]);
}

/**
 * A LoRA checkpoint's weights for export: its base model (the run's model.from) with every adapter
 * merged in (W += alpha/rank · B·A, in the base's dtype: mergeLora), so the export has plain weights.
 */
function mergedLoraTensors(ckpt: string, info: CheckpointInfo, engine: Engine | undefined): TensorToWrite[] {
  const base = info.config.model.from;
  if (!base || !existsSync(join(base, 'config.json'))) throw new ChameleonError(`${ckpt}: a LoRA checkpoint; its base model ${base ?? '(none recorded)'} (model.from) is needed to merge the adapters into, and is missing`);
  if (!engine) throw new ChameleonError(`${ckpt}: a LoRA checkpoint; merging it needs a compute engine (pass one to exportCheckpoint)`);
  const model = loadChameleon(engine, base);
  const adapters = attachLora(model, { ...info.config.finetune.lora, seed: 0 });
  loadAdapters(ckpt, adapters);
  mergeLora(model);
  return parameterTensors(model);
}

const WEIGHT_FILE = /^model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?$/;

export interface ExportResult {
  checkpoint: string;
  out: string;
  files: string[];
  /** Files copied from the tokenizer / VQ source directory (empty: none given or known). */
  copied: string[];
  tokenizerFrom: string | null;
}

/**
 * Writes a checkpoint as a complete Hugging Face Chameleon directory: config.json (with the
 * vocabulary map and vq_config of the tokenizer source when the checkpoint lacks them) and
 * model.safetensors holding the language model as trained plus the source's model.vqmodel.* tensors;
 * tokenizer and VQ-decoder files are copied from the source directory (default: the run's model.from
 * or data model directory).
 */
export function exportCheckpoint(
  ckptOrRun: string,
  out: string,
  opts: { tokenizerFrom?: string | null; which?: 'latest' | 'best'; maxShardBytes?: number; engine?: Engine } = {},
): ExportResult {
  const ckpt = resolveCheckpoint(ckptOrRun, opts.which);
  const info = readCheckpointInfo(ckpt);
  const src = opts.tokenizerFrom ?? info.modelDir;
  if (src && !existsSync(join(src, 'config.json'))) throw new ChameleonError(`--tokenizer-from ${src}: not a Chameleon model directory (no config.json)`);
  if (existsSync(out) && readdirSync(out).length > 0) throw new ChameleonError(`${out} already exists and is not empty`);
  let config = readConfig(ckpt);
  if (config.qkNorm === false) {
    throw new ChameleonError(
      `${ckpt}: trained without QK-norm (model.qkNorm false, a stability-lab arm); Hugging Face Chameleon always applies QK LayerNorm, so no HF directory can hold this model (chameleon-ts loads the checkpoint directory itself)`,
    );
  }
  const tensors = existsSync(join(ckpt, ADAPTER_FILE)) ? mergedLoraTensors(ckpt, info, opts.engine) : readTensors(ckpt);
  const copied: string[] = [];
  if (src) {
    const base = readConfig(src);
    if (base.vocabSize !== config.vocabSize) throw new ChameleonError(`--tokenizer-from ${src}: its vocabulary has ${base.vocabSize} ids, the checkpoint's model ${config.vocabSize}`);
    if (!config.vocabularyMap && base.vocabularyMap) {
      config = { ...config, vocabularyMap: base.vocabularyMap, vqConfig: base.vqConfig, imageTokenId: base.imageTokenId, boiTokenId: base.boiTokenId, eoiTokenId: base.eoiTokenId, warnings: [] } as typeof config;
    }
    tensors.push(...readTensors(src, (name) => name.startsWith('model.vqmodel.')));
    for (const f of readdirSync(src)) {
      if (f === 'config.json' || WEIGHT_FILE.test(f) || f.startsWith('.') || !statSync(join(src, f)).isFile()) continue;
      copied.push(f);
    }
  }
  mkdirSync(out, { recursive: true });
  const saved = saveSharded(out, tensors, { maxShardBytes: opts.maxShardBytes, metadata: { format: 'pt' } });
  for (const f of copied) cpSync(join(src!, f), join(out, f));
  writeAtomic(join(out, 'config.json'), JSON.stringify(toHfConfigJson(config), null, 2) + '\n');
  return { checkpoint: ckpt, out, files: ['config.json', ...saved.files, ...copied], copied, tokenizerFrom: src ?? null };
}

/** Human name of a checkpoint directory (for log lines). */
export function ckptName(dir: string): string {
  return `${basename(join(dir, '..'))}/${basename(dir)}`;
}

/** Size in bytes of the files of a directory (not recursive). */
export function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}
