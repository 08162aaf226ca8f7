// `chameleon train lm`, `chameleon train sft` and `chameleon export`: thin adapters over
// train/lm/run.node.ts and train/lm/checkpoint.node.ts. Data: `--data <dir>` (shards from `chameleon
// data build`, read by train/data's openDataset), or `--synthetic-data <seed>`, a built-in smoke-test
// source. The FMA peak for MFU is probed once at start (wasm only).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ChameleonConfig } from '../model/config.js';
import { measureFmaPeak } from '../eval/roofline.js';
import { Vocabulary } from '../tokenizers/vocab.js';
import { readConfig } from '../model/checkpoint.node.js';
import { modelConfigFor, type LmRunConfig } from '../train/lm/config.js';
import { dirBytes, exportCheckpoint } from '../train/lm/checkpoint.node.js';
import { readLmConfigFile, runLmTraining } from '../train/lm/run.node.js';
import { SyntheticSource, type BatchSource } from '../train/lm/source.js';
import { openDataset } from '../train/data/dataset.node.js';
import { ChameleonError } from '../util/errors.js';
import { openEngine, fmtBytes } from './common.js';
import { choiceOption, engineOptions, numberOption, type EngineFlags } from './options.js';

interface TrainLmCliOptions extends EngineFlags {
  config: string;
  data?: string;
  syntheticData?: number;
  out: string;
  resume?: boolean;
  init?: string;
  steps?: number;
  onDivergence?: 'stop' | 'rollback';
  mode?: 'full' | 'lora' | 'image-head';
  mfu: boolean;
  progress: boolean;
  json?: boolean;
}

function withOverrides(cfg: LmRunConfig, o: TrainLmCliOptions): LmRunConfig {
  const c: LmRunConfig = { ...cfg, model: { ...cfg.model }, train: { ...cfg.train }, run: { ...cfg.run }, finetune: { ...cfg.finetune } };
  if (o.mode !== undefined) c.finetune.mode = o.mode;
  if (o.init !== undefined) c.model.from = o.init;
  if (o.steps !== undefined) c.train.steps = o.steps;
  if (o.onDivergence !== undefined) c.run.onDivergence = o.onDivergence;
  if (c.task === 'sft' && !c.model.from) throw new ChameleonError('train sft: starts from a trained model: pass --init <model-dir> (or model.from in the config)');
  return c;
}

async function trainLmCommand(task: 'lm' | 'sft', o: TrainLmCliOptions): Promise<void> {
  if ((o.data === undefined) === (o.syntheticData === undefined)) throw new ChameleonError('give exactly one of --data <dir> and --synthetic-data <seed>');
  const cfg = withOverrides(readLmConfigFile(o.config, task), o);
  let modelCfg = modelConfigFor(cfg, cfg.model.from ? readConfig(cfg.model.from) : undefined);
  let source: BatchSource;
  let valSource: (() => BatchSource) | null;
  let imageIds: Int32Array | undefined;
  let modelDir: string | null = null;
  let vocabularyFrom: ChameleonConfig | null = null;
  const { batch, seqLen, seed } = cfg.train;
  if (o.data !== undefined) {
    const base = { seqLen, batch, seed, packing: cfg.data.packing, mix: cfg.data.mix, balance: cfg.data.balance, longDocs: cfg.data.longDocs };
    const ds = openDataset(o.data, { ...base, split: 'train' });
    source = ds;
    valSource = () => openDataset(o.data!, { ...base, split: 'val' });
    // The dataset's index says which vocabulary made its tokens: it must be the model's.
    const index = ds.info.index;
    if (index.vocab.size !== modelCfg.vocabSize && !cfg.model.from && cfg.model.vocabSize === undefined) {
      // A model trained from scratch speaks the dataset's tokenizer: its vocabulary size unless the config names one.
      cfg.model.vocabSize = index.vocab.size;
      modelCfg = modelConfigFor(cfg);
    }
    if (index.vocab.size !== modelCfg.vocabSize) {
      ds.close();
      throw new ChameleonError(
        `--data ${o.data}: tokens come from a ${index.vocab.size}-id vocabulary (${index.model}) but the model has ${modelCfg.vocabSize} ids; set model.vocabSize to ${index.vocab.size} or model.from a model with that tokenizer`,
      );
    }
    imageIds = Int32Array.from({ length: index.vocab.codebookSize }, (_, c) => index.vocab.imageStart + c);
    modelDir = index.model;
    vocabularyFrom = existsSync(join(index.model, 'config.json')) ? readConfig(index.model) : null;
  } else {
    const vocab = modelCfg.vocabularyMap ? Vocabulary.fromVocabularyMap(modelCfg.vocabularyMap, { vocabSize: modelCfg.vocabSize }) : null;
    imageIds = vocab ? Int32Array.from({ length: vocab.codebookSize }, (_, c) => vocab.codeToId(c)) : new Int32Array(0);
    const make = (s: number): BatchSource =>
      new SyntheticSource({ seed: s, batch, seqLen, vocabSize: modelCfg.vocabSize, imageIds: imageIds!, boi: vocab?.boiId, eoi: vocab?.eoiId });
    source = make(o.syntheticData!);
    valSource = () => make(o.syntheticData! + 1);
  }
  const { engine, backend, close } = await openEngine(o);
  try {
    let peak: number | null = null;
    if (o.mfu && backend.name === 'wasm') peak = measureFmaPeak(backend, 9);
    const log = o.json ? undefined : (l: string): void => console.log(l);
    const res = await runLmTraining(engine, {
      config: cfg,
      out: o.out,
      resume: o.resume,
      source,
      valSource,
      imageIds,
      modelDir: modelDir ?? undefined,
      vocabularyFrom,
      peakGflops: peak,
      progress: o.progress ? undefined : null,
      log,
    });
    const summary = {
      status: res.status,
      steps: res.step,
      resumedFrom: res.startStep,
      backend: backend.description,
      tokensPerSec: res.tokensPerSec,
      mfu: res.mfu,
      fmaPeakGflops: peak,
      finalLoss: res.last?.loss ?? null,
      lastEval: res.lastEval,
      best: res.best,
      memoryEstimateBytes: res.memory.total,
      rollbacks: res.rollbacks,
      divergence: res.divergence,
      checkpoints: res.checkpoints,
      metrics: res.metrics,
    };
    if (o.json) console.log(JSON.stringify(summary));
    else {
      const mfu = res.mfu === null ? '' : `, MFU ${(100 * res.mfu).toFixed(1)} % of ${peak!.toFixed(1)} GFLOP/s`;
      console.log(`trained steps ${res.startStep + 1}-${res.step} at ${res.tokensPerSec.toFixed(0)} tok/s${mfu} (${backend.description}); final loss ${res.last?.loss.toFixed(4) ?? '-'}`);
      console.log(`checkpoints ${res.checkpoints.join(', ') || 'none'} in ${o.out}/checkpoints; metrics ${res.metrics}; estimated memory ${fmtBytes(res.memory.total)}`);
    }
    if (res.status === 'diverged') process.exitCode = 3;
  } finally {
    await close();
  }
}

function trainOptions(cmd: Command, task: 'lm' | 'sft'): Command {
  return engineOptions(
    cmd
      .requiredOption('--config <file|preset>', 'run config: JSON or YAML file (see docs/training.md), or a preset: tiny | small | d256-l6')
      .option('--data <dir>', 'pre-tokenized dataset directory (`chameleon data build`)')
      .addOption(numberOption('--synthetic-data <seed>', 'smoke-test data instead of --data: seeded packed random documents over the model vocabulary', { int: true, min: 0, max: 2 ** 31 - 1 }))
      .requiredOption('--out <dir>', 'run directory: checkpoints/, metrics.jsonl, run.json')
      .option('--resume', 'continue from the latest checkpoint in --out (refused if the config differs)')
      .option('--init <model-dir>', task === 'sft' ? 'the trained model to fine-tune (Hugging Face Chameleon directory); required' : 'start from this Hugging Face Chameleon directory instead of random weights')
      .addOption(numberOption('--steps <n>', 'override train.steps (total optimizer steps)', { int: true, min: 1 }))
      .addOption(choiceOption('--mode <mode>', 'fine-tuning mode: full | lora (adapters by finetune.lora in the config) | image-head (Anole: only the image rows of lm_head); overrides finetune.mode', ['full', 'lora', 'image-head']))
      .addOption(choiceOption('--on-divergence <what>', 'on NaN/Inf or a loss spike: stop, or roll back to the last checkpoint with a lower LR (overrides run.onDivergence)', ['stop', 'rollback']))
      .option('--no-mfu', 'skip the FMA-peak probe (~1 s); the mfu column is then null')
      .option('--no-progress', 'no progress bar on stderr')
      .option('--json', 'print one JSON summary at the end'),
  );
}

/** Adds `train lm`, `train sft` (to the `train` group) and `export` to the program. */
export function registerTrainLmCommands(program: Command): void {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('training');
  trainOptions(train.command('lm').description('pre-train a Chameleon LM (AdamW, warmup + cosine/exponential decay, z-loss, dropout, checkpoints)'), 'lm').action(
    async (o: TrainLmCliOptions) => trainLmCommand('lm', o),
  );
  trainOptions(train.command('sft').description('supervised fine-tuning: the LM trainer on chat data with masked prompts; defaults cosine from 1e-5, dropout 0.05 (spec §7.4)'), 'sft').action(
    async (o: TrainLmCliOptions) => trainLmCommand('sft', o),
  );
  engineOptions(
    program
      .command('export <run-or-checkpoint> <out-dir>')
      .description('write a training checkpoint (a run dir: its latest) as a complete Hugging Face Chameleon directory (LoRA adapters merged into the base weights)')
      .option('--tokenizer-from <model-dir>', 'copy tokenizer and VQ files (and model.vqmodel.* weights) from this model dir (default: the run\'s --init / model.from)')
      .option('--best', 'from a run dir, export the best checkpoint by validation loss instead of the latest')
      .option('--json', 'print {"checkpoint", "out", "files", "bytes"}'),
  ).action(async (src: string, out: string, o: EngineFlags & { tokenizerFrom?: string; best?: boolean; json?: boolean }) => {
      const { engine, close } = await openEngine(o);
      let r: ReturnType<typeof exportCheckpoint>;
      try {
        r = exportCheckpoint(src, out, { tokenizerFrom: o.tokenizerFrom ?? null, which: o.best ? 'best' : 'latest', engine });
      } finally {
        await close();
      }
      const bytes = dirBytes(out);
      if (o.json) {
        console.log(JSON.stringify({ checkpoint: r.checkpoint, out: r.out, files: r.files, bytes }));
        return;
      }
      console.log(`exported ${r.checkpoint} to ${out}: ${r.files.join(', ')} (${fmtBytes(bytes)})`);
      if (!r.tokenizerFrom) process.stderr.write('chameleon: warning: no tokenizer source (pass --tokenizer-from <model-dir>); the export has weights and config only, so `chameleon generate` cannot run on it\n');
    });
}
