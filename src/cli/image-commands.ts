// CLI commands for the image tokenizer: `image encode` (image -> code grid, with vocabulary ids when
// the model has a vocabulary_map), `image decode` (codes JSON -> PNG) and `train vq` (train a VQGAN
// preset on a folder of images). Thin adapters over tokenizers/image and train/vq-run.node.ts.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../util/errors.js';
import { loadVqgan } from '../tokenizers/image/load.node.js';
import { pngFromPixels, preprocessImage } from '../tokenizers/image/preprocess.node.js';
import { toUint8HWC } from '../tokenizers/image/vqgan.js';
import { tokensPerImage } from '../tokenizers/image/config.js';
import { Vocabulary } from '../tokenizers/vocab.js';
import { runVqTraining } from '../train/vq-run.node.js';
import { openEngine } from './common.js';
import { choiceOption, engineOptions, numberOption, type EngineFlags } from './options.js';
import { VQ_RECON_LOSSES, type VqReconLoss } from '../train/vq.js';
import type { Engine } from '../engine/index.js';
import type { Vqgan } from '../tokenizers/image/vqgan.js';
import type { Command } from 'commander';

function requireVqgan(engine: Engine, dir: string): Vqgan {
  if (!existsSync(join(dir, 'config.json'))) throw new ChameleonError(`--model ${dir}: no config.json (expected a Chameleon or VQGAN checkpoint directory)`);
  const vq = loadVqgan(engine, dir);
  if (!vq) throw new ChameleonError(`--model ${dir}: the checkpoint has no image tokenizer weights (model.vqmodel.*)`);
  return vq;
}

/** Vocabulary ids of codes when the model directory's config.json has a vocabulary_map. */
function vocabIds(dir: string, codes: Int32Array): number[] | undefined {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { vocabulary_map?: Record<string, number>; vocab_size?: number };
  if (!cfg.vocabulary_map) return undefined;
  try {
    const v = Vocabulary.fromVocabularyMap(cfg.vocabulary_map, { vocabSize: cfg.vocab_size });
    return Array.from(codes, (c) => v.codeToId(c));
  } catch {
    return undefined; // a map without (enough) image tokens: codes only
  }
}

async function imageEncodeCommand(image: string, opts: EngineFlags & { model: string; json?: boolean }): Promise<void> {
  const { engine, close } = await openEngine(opts);
  try {
    const vq = requireVqgan(engine, opts.model);
    const r = vq.cfg.resolution;
    const { pixels } = await preprocessImage(image, r);
    const indices = engine.scope(() => vq.encode(engine.tensor(pixels, [1, 3, r, r])).indices);
    const g = vq.grid;
    const codes = Array.from({ length: g }, (_, y) => Array.from(indices.subarray(y * g, (y + 1) * g)));
    const ids = vocabIds(opts.model, indices);
    if (opts.json) {
      console.log(JSON.stringify({ grid: g, codes, ...(ids ? { ids } : {}) }));
      return;
    }
    const width = String(vq.cfg.numEmbeddings - 1).length;
    console.log(`${image}: ${g}×${g} codes (${vq.cfg.numEmbeddings}-entry codebook, ${r}×${r} input)`);
    for (const row of codes) console.log(row.map((c) => String(c).padStart(width)).join(' '));
  } finally {
    await close();
  }
}

/** Codes from an `image encode --json` object ({codes: rows} or {ids}) or a flat array (optionally nested). */
function parseCodesJson(text: string, file: string): number[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new ChameleonError(`${file}: not JSON (expected the output of \`chameleon image encode --json\` or an array of codes)`);
  }
  const src = Array.isArray(j) ? j : (j as { codes?: unknown } | null)?.codes;
  if (!Array.isArray(src)) throw new ChameleonError(`${file}: expected {"codes": [[...], ...]} or an array of codes`);
  const flat = (src as unknown[]).flat(2);
  const bad = flat.findIndex((v) => typeof v !== 'number' || !Number.isInteger(v));
  if (bad >= 0) throw new ChameleonError(`${file}: code #${bad} (${JSON.stringify(flat[bad])}) is not an integer`);
  return flat as number[];
}

async function imageDecodeCommand(codesFile: string, opts: EngineFlags & { model: string; output: string }): Promise<void> {
  if (!existsSync(codesFile)) throw new ChameleonError(`${codesFile}: no such file`);
  const codes = parseCodesJson(readFileSync(codesFile, 'utf8'), codesFile);
  const { engine, close } = await openEngine(opts);
  try {
    const vq = requireVqgan(engine, opts.model);
    if (!vq.decoder) {
      throw new ChameleonError(`--model ${opts.model}: no decoder weights (model.vqmodel.decoder.*); Hugging Face checkpoints carry only the encoder — add vq_decoder.safetensors`);
    }
    const n = tokensPerImage(vq.cfg);
    if (codes.length !== n) throw new ChameleonError(`${codesFile}: ${codes.length} codes, but this tokenizer decodes ${vq.grid}×${vq.grid} = ${n} codes per image`);
    const k = vq.cfg.numEmbeddings;
    const bad = codes.findIndex((c) => c < 0 || c >= k);
    if (bad >= 0) throw new ChameleonError(`${codesFile}: code ${codes[bad]} at position ${bad} is outside the codebook [0, ${k})`);
    const r = vq.cfg.resolution;
    const bytes = engine.scope(() => toUint8HWC(vq.decodeCodes(codes, 1))); // [1, R, R, 3]
    const png = await pngFromPixels(bytes, r, r);
    writeFileSync(opts.output, png);
    console.log(`wrote ${opts.output} (${vq.cfg.resolution}×${vq.cfg.resolution} PNG)`);
  } finally {
    await close();
  }
}

export interface TrainVqCliOptions extends EngineFlags {
  images: string;
  config: string;
  steps: number;
  batch: number;
  lr?: number;
  out: string;
  evalEvery: number;
  evalImages?: number;
  seed: number;
  deadAfter?: number;
  reconLoss?: VqReconLoss;
  codebookUpdate?: 'gradient' | 'ema';
  emaDecay?: number;
  resume?: boolean;
  json?: boolean;
}

async function trainVqCommand(opts: TrainVqCliOptions): Promise<void> {
  const { engine, backend, close } = await openEngine(opts);
  try {
    const res = await runVqTraining(engine, {
      images: opts.images,
      config: opts.config,
      steps: opts.steps,
      batch: opts.batch,
      lr: opts.lr,
      out: opts.out,
      evalEvery: opts.evalEvery,
      evalImages: opts.evalImages,
      seed: opts.seed,
      deadAfter: opts.deadAfter,
      reconLoss: opts.reconLoss,
      codebookUpdate: opts.codebookUpdate,
      emaDecay: opts.emaDecay,
      resume: opts.resume,
      log: opts.json ? undefined : (l) => console.log(l),
    });
    const summary = {
      config: res.config,
      backend: backend.description,
      steps: res.steps,
      resumedFrom: res.startStep,
      trainImages: res.trainImages,
      stepsPerSec: res.stepsPerSec,
      imagesPerSec: res.imagesPerSec,
      finalLoss: res.lastStep?.loss ?? null,
      eval: res.finalEval,
      files: res.files,
    };
    if (opts.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    console.log(`trained ${res.steps - res.startStep} steps at ${res.stepsPerSec.toFixed(3)} steps/s (${res.imagesPerSec.toFixed(2)} images/s, ${backend.description})`);
    console.log(`checkpoint ${res.files.checkpoint} (+ config.json, ${res.files.state}); sheet ${res.files.sheet}; curve ${res.files.curve}; metrics ${res.files.metrics}`);
  } finally {
    await close();
  }
}

/** Adds `image encode`, `image decode` and `train vq` to the program. */
export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('image tokenizer (VQGAN): images <-> code grids');
  engineOptions(
    image
      .command('encode <image>')
      .description('encode an image (PNG, JPEG, WebP, GIF) into its code grid')
      .requiredOption('--model <dir>', 'Chameleon or VQGAN checkpoint directory (config.json with vq_config)')
      .option('--json', 'print {"grid", "codes": rows, "ids"?}'),
  ).action(async (img: string, opts: EngineFlags & { model: string; json?: boolean }) => imageEncodeCommand(img, opts));
  engineOptions(
    image
      .command('decode <codes-json>')
      .description('decode codes (the JSON of `image encode --json`, or a flat array) into a PNG')
      .requiredOption('--model <dir>', 'checkpoint directory with decoder weights (model.vqmodel.decoder.* or vq_decoder.safetensors)')
      .requiredOption('-o, --output <png>', 'output PNG file'),
  ).action(async (file: string, opts: EngineFlags & { model: string; output: string }) => imageDecodeCommand(file, opts));

  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('training');
  engineOptions(
    train
      .command('vq')
      .description('train a VQGAN image tokenizer preset on a folder (or JSONL) of images')
      .requiredOption('--images <dir|jsonl>', 'folder of images (recursive) or JSONL of {"image": path} lines')
      .option('--config <preset>', 'chameleon | small | demo | demo16 | tiny', 'small')
      .addOption(numberOption('--steps <n>', 'training steps (with --resume: the total to reach)', { int: true, min: 1 }, 200))
      .addOption(numberOption('--batch <n>', 'images per step', { int: true, min: 1 }, 8))
      .addOption(numberOption('--lr <x>', 'peak learning rate (default 1e-3; warmup 20 steps, cosine to 10 %)', { min: 0, minExclusive: true }))
      .option('--out <dir>', 'output folder: checkpoint, metrics.jsonl, loss.svg, reconstruction sheets', 'vq-run')
      .addOption(numberOption('--eval-every <k>', 'evaluate (PSNR, codebook usage, sheet) and checkpoint every k steps', { int: true, min: 1 }, 50))
      .addOption(numberOption('--eval-images <n>', 'held-out images (default min(8, 10 % of the data))', { int: true, min: 0 }))
      .addOption(numberOption('--dead-after <m>', 'restart codes unused for m steps (0: never; default 50)', { int: true, min: 0 }))
      .addOption(choiceOption('--recon-loss <kind>', 'pixel loss: l1 (default), l2, or l1+l2 (the squared term pulls sparse objects on plain backgrounds in early)', VQ_RECON_LOSSES))
      .addOption(choiceOption('--codebook-update <how>', 'codebook learning: gradient (codebook loss + AdamW, default) or ema (running means of the assigned latents, VQ-VAE-2)', ['gradient', 'ema'] as const))
      .addOption(numberOption('--ema-decay <g>', 'decay of the EMA codebook statistics (default 0.99)', { min: 0, max: 0.9999, minExclusive: true }))
      .addOption(numberOption('--seed <n>', 'seed for init, data order and restarts', { int: true, min: 0, max: 2 ** 32 - 1 }, 0))
      .option('--resume', 'continue from the checkpoint in --out')
      .option('--json', 'print one JSON summary at the end'),
  ).action(async (opts: TrainVqCliOptions) => trainVqCommand(opts));
}
