// Typed configuration of an LM training run (`chameleon train lm|sft --config`): the model (a preset or
// a Hugging Face directory to start from, with shape overrides), the optimisation recipe (the paper's
// defaults, spec §7.1; SFT defaults §7.4), the data options and run control. Presets tiny / small /
// d256-l6 (the training bench's config); zod validation whose errors name the key; the memory estimate
// that refuses a run before it starts. File reading (JSON / YAML subset) is in run.node.ts.

import { z } from 'zod';
import { presetConfig, type ChameleonConfig } from '../../model/config.js';
import { ChameleonError } from '../../util/errors.js';
import { LORA_TARGETS } from '../../nn/lora.js';
import { FINETUNE_MODES, finetuneMemory, type FinetuneMode } from '../finetune.js';

const pos = z.number().int().positive();
const nonNeg = z.number().int().nonnegative();
const unit = z.number().min(0).max(1);

const MODEL_SCHEMA = z
  .object({
    /** Model preset (src/model/config.ts) used when `from` is absent. */
    preset: z.string().default('small'),
    /** Hugging Face Chameleon directory to start from (weights + config; SFT and fine-tuning). */
    from: z.string().nullable().default(null),
    hiddenSize: pos.optional(),
    intermediateSize: pos.optional(),
    numHiddenLayers: pos.optional(),
    numAttentionHeads: pos.optional(),
    numKeyValueHeads: pos.optional(),
    vocabSize: pos.optional(),
    maxPositionEmbeddings: pos.optional(),
    /** 34B layout: norms after attention / MLP (spec §1.3). */
    swinNorm: z.boolean().optional(),
    /** Per-head QK LayerNorm (default true; false only for stability experiments: such a model has no HF equivalent). */
    qkNorm: z.boolean().optional(),
  })
  .strict();

const TRAIN_SCHEMA = z
  .object({
    steps: pos.default(1000),
    /** Sequences per micro-batch and tokens per sequence. */
    batch: pos.default(8),
    seqLen: pos.default(256),
    /** Micro-batches per optimizer step. */
    gradAccum: pos.default(1),
    lr: z.number().positive().default(3e-4),
    warmupSteps: nonNeg.default(100),
    decay: z.enum(['cosine', 'exponential', 'constant']).default('cosine'),
    /** The LR floor at the last step, as a fraction of the peak (exponential needs > 0). */
    minLrFraction: unit.default(0.1),
    beta1: unit.default(0.9),
    beta2: unit.default(0.95),
    eps: z.number().positive().default(1e-5),
    weightDecay: z.number().min(0).default(0.1),
    clipNorm: z.number().positive().default(1.0),
    zLoss: z.number().min(0).default(1e-5),
    dropout: z.number().min(0).lt(1).default(0.1),
    seed: nonNeg.default(0),
  })
  .strict();

const DATA_SCHEMA = z
  .object({
    packing: z.enum(['segments', 'separators']).default('segments'),
    /** Sampling weight per document kind (text, caption, interleaved, chat). */
    mix: z.record(z.string(), z.number().min(0)).optional(),
    /** Keep each batch's share of documents with image targets near the dataset's (SFT: the paper's modality balance). */
    balance: z.boolean().default(false),
    /** Documents longer than a row: split into row-sized pieces, or drop (counted either way). */
    longDocs: z.enum(['split', 'drop']).default('split'),
  })
  .strict();

const LORA_SCHEMA = z
  .object({
    rank: pos.default(8),
    alpha: z.number().positive().default(16),
    /** Projections of every decoder layer that get an adapter (q_proj k_proj v_proj o_proj gate_proj up_proj down_proj). */
    targets: z.array(z.enum(LORA_TARGETS)).min(1).default(['q_proj', 'v_proj']),
    /** Dropout on the LoRA branch's input (PEFT's lora_dropout). */
    dropout: z.number().min(0).lt(1).default(0),
  })
  .strict();

const FINETUNE_SCHEMA = z
  .object({
    /** full: every weight trains; lora: adapters over a frozen base (merged on export); image-head: Anole's recipe (spec §7.5). */
    mode: z.enum(FINETUNE_MODES as [FinetuneMode, ...FinetuneMode[]]).default('full'),
    lora: LORA_SCHEMA.default(LORA_SCHEMA.parse({})),
    /** image-head: re-initialise the image rows of lm_head N(0, 2/hidden) before training (public 7B weights, whose image rows were disabled). */
    reinitImageRows: z.boolean().default(false),
  })
  .strict();

const RUN_SCHEMA = z
  .object({
    evalEvery: pos.default(100),
    evalBatches: pos.default(4),
    checkpointEvery: pos.default(100),
    /** Checkpoints kept besides the best by validation loss. */
    keepLast: pos.default(3),
    onDivergence: z.enum(['stop', 'rollback']).default('stop'),
    /** A loss above spikeFactor × the median of the last spikeWindow steps is a spike. */
    spikeFactor: z.number().gt(1).default(2),
    spikeWindow: z.number().int().min(4).default(50),
    /**
     * Spiking steps in a row that count as divergence: one hard batch spikes alone (it is reported
     * as a `spike` event and applied), broken parameters spike on every batch.
     */
    spikePatience: pos.default(3),
    /** After a rollback the learning rate is multiplied by this. */
    rollbackLrFactor: z.number().gt(0).lt(1).default(0.5),
    maxRollbacks: nonNeg.default(3),
    /** Refuse configs whose estimate exceeds this many bytes (default: the wasm heap, 4 GiB). */
    memoryLimitBytes: pos.default(4 * 1024 ** 3),
  })
  .strict();

/** The same keys, all optional and without defaults (a file's section overrides only what it names). */
function optionalKeys<S extends z.ZodRawShape>(o: z.ZodObject<S>): z.ZodObject {
  const shape = Object.fromEntries(Object.entries(o.shape).map(([k, v]) => [k, (v instanceof z.ZodDefault ? (v.unwrap() as z.ZodType) : (v as z.ZodType)).optional()]));
  return z.object(shape).strict();
}

const FILE_SCHEMA = z
  .object({
    /** A preset (below) the rest of the file overrides. */
    preset: z.string().optional(),
    model: optionalKeys(MODEL_SCHEMA).optional(),
    train: optionalKeys(TRAIN_SCHEMA).optional(),
    data: optionalKeys(DATA_SCHEMA).optional(),
    run: optionalKeys(RUN_SCHEMA).optional(),
    finetune: z
      .object({ mode: FINETUNE_SCHEMA.shape.mode.unwrap().optional(), lora: optionalKeys(LORA_SCHEMA).optional(), reinitImageRows: z.boolean().optional() })
      .strict()
      .optional(),
  })
  .strict();

export type ModelSection = z.infer<typeof MODEL_SCHEMA>;
export type TrainSection = z.infer<typeof TRAIN_SCHEMA>;
export type DataSection = z.infer<typeof DATA_SCHEMA>;
export type RunSection = z.infer<typeof RUN_SCHEMA>;
export type FinetuneSection = z.infer<typeof FINETUNE_SCHEMA>;

export interface LmRunConfig {
  /** 'lm' (pre-training) or 'sft' (same trainer, §7.4 defaults). */
  task: 'lm' | 'sft';
  preset: string | null;
  model: ModelSection;
  train: TrainSection;
  data: DataSection;
  run: RunSection;
  finetune: FinetuneSection;
}

type PartialFinetune = { mode?: FinetuneMode; lora?: Partial<FinetuneSection['lora']>; reinitImageRows?: boolean };
type Partial2 = { model?: Partial<ModelSection>; train?: Partial<TrainSection>; data?: Partial<DataSection>; run?: Partial<RunSection>; finetune?: PartialFinetune };

/** Training presets: model shape and run size together. */
export const LM_PRESETS: Readonly<Record<string, Partial2>> = {
  // the `tiny` model (HF fixture shape): seconds per run; tests and smoke runs
  tiny: { model: { preset: 'tiny' }, train: { batch: 4, seqLen: 64, steps: 200, warmupSteps: 20, lr: 1e-3 }, run: { evalEvery: 50, checkpointEvery: 50 } },
  // the `small` model (d 256, 6 layers, vocab 4096)
  small: { model: { preset: 'small' }, train: { batch: 8, seqLen: 256, steps: 2000, warmupSteps: 100, lr: 6e-4 } },
  // the training bench's config: d 256, 6 layers, 8 heads, vocab 2048, seq 256, batch 8
  'd256-l6': { model: { preset: 'small', vocabSize: 2048 }, train: { batch: 8, seqLen: 256, steps: 2000, warmupSteps: 100, lr: 6e-4 } },
};

/** SFT defaults (spec §7.4): cosine from 1e-5, dropout 0.05, weight decay 0.1, same z-loss. */
const SFT_DEFAULTS: Partial2 = { train: { lr: 1e-5, decay: 'cosine', dropout: 0.05, weightDecay: 0.1, warmupSteps: 0, minLrFraction: 0 }, data: { balance: true } };

function issuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function fail(source: string, err: z.ZodError): never {
  const first = err.issues[0];
  const key = issuePath(first.path);
  if (first.code === 'unrecognized_keys') {
    const where = key ? `${key}.` : '';
    throw new ChameleonError(`${source}: unknown key ${first.keys.map((k) => `'${where}${k}'`).join(', ')}`);
  }
  throw new ChameleonError(`${source}: ${key || '(top level)'}: ${first.message}`);
}

/**
 * Validates a parsed config file (or {} / a preset name) and fills the defaults:
 * preset < task defaults (SFT's recipe) < file. Errors name the file and the key.
 */
export function parseLmConfig(json: unknown, opts: { task?: 'lm' | 'sft'; source?: string } = {}): LmRunConfig {
  const source = opts.source ?? 'config';
  const task = opts.task ?? 'lm';
  const parsed = FILE_SCHEMA.safeParse(json);
  if (!parsed.success) fail(source, parsed.error);
  const file = parsed.data as Partial2 & { preset?: string };
  let preset: Partial2 = {};
  if (file.preset !== undefined) {
    const p = LM_PRESETS[file.preset];
    if (!p) throw new ChameleonError(`${source}: preset: unknown preset '${file.preset}' (known: ${Object.keys(LM_PRESETS).join(', ')})`);
    preset = p;
  }
  const base = task === 'sft' ? SFT_DEFAULTS : {};
  const merged = {
    model: { ...preset.model, ...base.model, ...file.model },
    train: { ...preset.train, ...base.train, ...file.train },
    data: { ...preset.data, ...base.data, ...file.data },
    run: { ...preset.run, ...base.run, ...file.run },
    finetune: { ...preset.finetune, ...base.finetune, ...file.finetune, lora: { ...preset.finetune?.lora, ...base.finetune?.lora, ...file.finetune?.lora } },
  };
  const full = z.object({ model: MODEL_SCHEMA, train: TRAIN_SCHEMA, data: DATA_SCHEMA, run: RUN_SCHEMA, finetune: FINETUNE_SCHEMA }).safeParse(merged);
  if (!full.success) fail(source, full.error);
  const cfg: LmRunConfig = { task, preset: file.preset ?? null, ...full.data };
  const t = cfg.train;
  if (t.decay === 'exponential' && t.minLrFraction <= 0) throw new ChameleonError(`${source}: train.minLrFraction must be > 0 with train.decay 'exponential' (it decays to that floor)`);
  if (t.warmupSteps > t.steps) throw new ChameleonError(`${source}: train.warmupSteps ${t.warmupSteps} exceeds train.steps ${t.steps}`);
  const ft = cfg.finetune;
  if (new Set(ft.lora.targets).size !== ft.lora.targets.length) throw new ChameleonError(`${source}: finetune.lora.targets lists a projection twice (${ft.lora.targets.join(', ')})`);
  if (ft.reinitImageRows && ft.mode !== 'image-head') throw new ChameleonError(`${source}: finetune.reinitImageRows applies to finetune.mode 'image-head' only (mode is '${ft.mode}')`);
  return cfg;
}

/** The model configuration of a run: the preset with the overrides (or `base`, read from model.from). */
export function modelConfigFor(cfg: LmRunConfig, base?: ChameleonConfig): ChameleonConfig {
  const m = cfg.model;
  const c: ChameleonConfig = base ? { ...base } : presetConfig(m.preset);
  Object.defineProperty(c, 'warnings', { value: [], enumerable: false, writable: true, configurable: true });
  const keys = ['hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'vocabSize', 'maxPositionEmbeddings', 'swinNorm', 'qkNorm'] as const;
  for (const k of keys) if (m[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = m[k];
  if (m.numAttentionHeads !== undefined && m.numKeyValueHeads === undefined && !base) c.numKeyValueHeads = m.numAttentionHeads;
  if (c.hiddenSize % c.numAttentionHeads !== 0) throw new ChameleonError(`model.hiddenSize ${c.hiddenSize} is not divisible by model.numAttentionHeads ${c.numAttentionHeads}`);
  c.headDim = c.hiddenSize / c.numAttentionHeads;
  if (c.headDim % 2 !== 0) throw new ChameleonError(`model: head dim ${c.headDim} (hiddenSize / numAttentionHeads) must be even for RoPE`);
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) throw new ChameleonError(`model.numAttentionHeads ${c.numAttentionHeads} is not a multiple of model.numKeyValueHeads ${c.numKeyValueHeads}`);
  if (cfg.train.seqLen > c.maxPositionEmbeddings) throw new ChameleonError(`train.seqLen ${cfg.train.seqLen} exceeds model.maxPositionEmbeddings ${c.maxPositionEmbeddings}`);
  if (c.vocabularyMap && m.vocabSize !== undefined && base) throw new ChameleonError('model.vocabSize cannot change the vocabulary of a model loaded with model.from');
  c.attentionDropout = 0;
  c.torchDtype = 'float32';
  return c;
}

export interface MemoryEstimate {
  params: number;
  grads: number;
  adam: number;
  activations: number;
  total: number;
}

/**
 * Bytes a training step needs: parameters, gradients and AdamW m + v of what trains (finetuneMemory:
 * 16 B per parameter in full mode, far less for LoRA / image-head) plus the activations one micro-batch
 * keeps for backward. Per layer and token: ~14 C + 4 F floats (norms, q/k/v before and after norm and
 * RoPE, attention output, residuals, gate / up / SwiGLU), the attention probabilities (H·T per token),
 * and per token 3 V floats for logits and their gradient.
 */
function estimateMemory(model: ChameleonConfig, train: Pick<TrainSection, 'batch' | 'seqLen'>, ft: FinetuneSection): MemoryEstimate {
  const tokens = train.batch * train.seqLen;
  const C = model.hiddenSize;
  const perLayer = tokens * (14 * C + 4 * model.intermediateSize + model.numAttentionHeads * train.seqLen);
  const activations = 4 * (model.numHiddenLayers * perLayer + tokens * (3 * model.vocabSize + 4 * C));
  const m = finetuneMemory(model, ft.mode, { lora: ft.lora });
  return { params: m.params, grads: m.grads, adam: m.m + m.v, activations, total: m.total + activations };
}

function gib(b: number): string {
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

/** Refuses (before anything is allocated) a config whose estimate exceeds the limit. */
export function checkMemory(model: ChameleonConfig, cfg: LmRunConfig): MemoryEstimate {
  const est = estimateMemory(model, cfg.train, cfg.finetune);
  const limit = cfg.run.memoryLimitBytes;
  if (est.total > limit) {
    throw new ChameleonError(
      `config does not fit in memory: estimated ${gib(est.total)} (parameters ${gib(est.params)} + gradients ${gib(est.grads)} + AdamW m/v ${gib(est.adam)} + activations ${gib(est.activations)} for batch ${cfg.train.batch} × seq ${cfg.train.seqLen}) > limit ${gib(limit)}; lower train.batch or train.seqLen (use train.gradAccum) or the model size`,
    );
  }
  return est;
}

/**
 * Keys whose change a `--resume` accepts (run control, not the trajectory). Everything else must
 * equal the checkpoint's config.
 */
const RESUMABLE_CHANGES = new Set(['run.evalEvery', 'run.checkpointEvery', 'run.keepLast', 'run.onDivergence', 'run.maxRollbacks', 'run.memoryLimitBytes', 'train.steps']);

function flatten(o: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(o ?? null));
  return out;
}

/** The first key on which a checkpoint's run config and the new one differ (null: compatible). */
export function configMismatch(saved: LmRunConfig, now: LmRunConfig): string | null {
  const a = flatten(saved, '', new Map());
  const b = flatten(now, '', new Map());
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (RESUMABLE_CHANGES.has(k) || k.startsWith('run.spike') || k === 'run.rollbackLrFactor') continue;
    if (a.get(k) !== b.get(k)) return `${k}: checkpoint ${a.get(k) ?? 'absent'}, config ${b.get(k) ?? 'absent'}`;
  }
  return null;
}
