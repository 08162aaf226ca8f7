// `npm run train:demo`: builds the shipped demo model from nothing with our own commands, as stages in
// one work directory: the two worlds (shapes, emoji) → a byte-level BPE on their text → the VQ image
// tokenizer on their training images → a model directory of those tokenizers → token shards → LM
// pre-training on every document kind → SFT on the chat documents → export (bf16) → both evaluators →
// the model card. A finished stage is recorded in pipeline.json and skipped on the next run; the
// training stages resume from their checkpoints, so a killed run continues where it stopped.

import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Engine } from '../../engine/index.js';
import { ChameleonError } from '../../util/errors.js';
import type { ProgressStream } from '../../util/progress.js';
import { trainChameleonTokenizer } from '../../tokenizers/chameleon-tokenizer.js';
import { VQGAN_PRESETS } from '../../tokenizers/image/config.js';
import { assembleModelDir } from '../../model/model-dir.node.js';
import { readConfig } from '../../model/checkpoint.node.js';
import { buildDataset, loadDataTokenizers } from '../../train/data/build.node.js';
import { openDataset } from '../../train/data/dataset.node.js';
import { runVqTraining } from '../../train/vq-run.node.js';
import { GENERATION_CONFIG_FILE, greedyGenerationConfig } from '../../generate/generation-config.js';
import { parseLmConfig } from '../../train/lm/config.js';
import { exportCheckpoint, listCheckpoints, writeAtomic } from '../../train/lm/checkpoint.node.js';
import { documentImages, parseDocumentLine, type RawDocument } from '../../train/data/documents.js';
import { runLmTraining } from '../../train/lm/run.node.js';
import { plotRun } from '../../train/plot.node.js';
import { buildEmojiWorld } from '../emoji/world.node.js';
import { writeWorld } from '../shapes/writer.node.js';
import { convertModelDtype } from './export.node.js';
import type { DemoRecipe } from './recipe.js';
import { Rng } from '../../util/rng.js';
import { pngFromPixels } from '../../tokenizers/image/preprocess.node.js';
import { renderScene } from '../shapes/render.js';
import { CANVAS, sampleScene } from '../shapes/world.js';

/** The stages in order (names are the keys of pipeline.json and of --from). */
export const DEMO_STAGES = ['worlds', 'tokenizer', 'vq', 'tokenizers', 'data', 'pretrain', 'sft', 'export', 'eval', 'card'] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

export interface DemoPipelineOptions {
  recipe: DemoRecipe;
  /** Work directory (worlds, runs, shards, pipeline.json). */
  work: string;
  /** Where the finished model directory goes (models/demo). */
  out: string;
  /** Redo this stage and every later one (default: continue after the last finished stage). */
  from?: DemoStage;
  /** FMA peak for the trainer's MFU column (null: none). */
  peakGflops?: number | null;
  progress?: ProgressStream | null;
  log?: (line: string) => void;
  /** Evaluators (injected: they live in the eval layer beside this file, but tests swap them). */
  evaluate: (engine: Engine, model: string, worlds: { shapes: string; emoji: string }, limit: number) => Promise<Record<string, unknown>>;
  /** Writes the model card (README.md and figures) into `out` from the pipeline's record. */
  card: (out: string, record: PipelineRecord, recipe: DemoRecipe) => void;
}

export interface StageRecord {
  seconds: number;
  finishedAt: string;
  result: Record<string, unknown>;
}

export interface PipelineRecord {
  recipe: string;
  stages: Partial<Record<DemoStage, StageRecord>>;
}

function readRecord(work: string, recipe: string): PipelineRecord {
  const file = join(work, 'pipeline.json');
  if (!existsSync(file)) return { recipe, stages: {} };
  const r = JSON.parse(readFileSync(file, 'utf8')) as PipelineRecord;
  if (r.recipe !== recipe) throw new ChameleonError(`${work} holds a run of recipe '${r.recipe}', not '${recipe}'; choose another --work or --from worlds`);
  return r;
}

function writeRecord(work: string, r: PipelineRecord): void {
  writeAtomic(join(work, 'pipeline.json'), JSON.stringify(r, null, 2) + '\n');
}

/** The documents of a JSONL file (the world writers' output: every line is valid). */
function readDocuments(file: string): RawDocument[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map(parseDocumentLine);
}

/** Every text segment of a JSONL of documents (plain and chat), for the BPE corpus. */
function documentTexts(file: string): string[] {
  return readDocuments(file).flatMap((d) => (d.kind === 'chat' ? d.messages.flatMap((m) => m.content) : d.segments).flatMap((s) => ('text' in s ? [s.text] : [])));
}

/** Absolute paths of the images a JSONL's documents reference (relative paths resolved against it). */
function imagePaths(file: string): string[] {
  const refs = readDocuments(file).flatMap(documentImages).filter((ref) => !ref.startsWith('data:'));
  return [...new Set(refs.map((ref) => resolve(dirname(file), ref)))].sort();
}

/** Runs (or continues) the pipeline; returns the record of every stage. */
export async function runDemoPipeline(engine: Engine, opts: DemoPipelineOptions): Promise<PipelineRecord> {
  const r = opts.recipe;
  const log = opts.log ?? (() => {});
  const work = resolve(opts.work);
  mkdirSync(work, { recursive: true });
  const record = readRecord(work, r.name);
  if (opts.from) {
    const i = DEMO_STAGES.indexOf(opts.from);
    for (const s of DEMO_STAGES.slice(i)) delete record.stages[s];
  }
  const p = {
    shapes: join(work, 'world', 'shapes'),
    emoji: join(work, 'world', 'emoji'),
    tokenizer: join(work, 'tokenizer'),
    vq: join(work, 'vq'),
    tokenizers: join(work, 'tokenizers'),
    data: join(work, 'data'),
    pretrain: join(work, 'pretrain'),
    pretrained: join(work, 'pretrained'),
    sft: join(work, 'sft'),
    exported: join(work, 'exported-f32'),
    out: resolve(opts.out),
  };
  const codebook = VQGAN_PRESETS[r.vq.preset as keyof typeof VQGAN_PRESETS]?.numEmbeddings;
  if (codebook === undefined) throw new ChameleonError(`recipe ${r.name}: unknown VQ preset '${r.vq.preset}'`);
  const trainFiles = (): string[] => [join(p.shapes, 'train.jsonl'), join(p.emoji, 'train.jsonl')];

  const lmConfig = (task: 'lm' | 'sft'): ReturnType<typeof parseLmConfig> => {
    const t = task === 'lm' ? r.pretrain : r.sft;
    return parseLmConfig(
      {
        model: task === 'lm' ? { ...r.model } : { from: p.pretrained },
        train: {
          steps: t.steps,
          batch: t.batch,
          seqLen: r.pretrain.seqLen,
          lr: t.lr,
          warmupSteps: task === 'lm' ? r.pretrain.warmupSteps : 0,
          dropout: t.dropout,
          seed: r.seed,
        },
        data: task === 'lm' ? { balance: false } : { mix: { chat: 1 }, balance: true },
        run: { evalEvery: task === 'lm' ? r.pretrain.evalEvery : Math.max(1, Math.floor(t.steps / 3)), checkpointEvery: t.checkpointEvery, keepLast: 2, onDivergence: 'rollback' },
      },
      { task, source: `recipe ${r.name} (${task})` },
    );
  };

  const train = async (task: 'lm' | 'sft', out: string): Promise<Record<string, unknown>> => {
    const cfg = lmConfig(task);
    const base = { seqLen: cfg.train.seqLen, batch: cfg.train.batch, seed: cfg.train.seed, packing: cfg.data.packing, mix: cfg.data.mix, balance: cfg.data.balance, longDocs: cfg.data.longDocs };
    const source = openDataset(p.data, { ...base, split: 'train' });
    try {
      const index = source.info.index;
      if (task === 'lm') cfg.model.vocabSize = index.vocab.size;
      const res = await runLmTraining(engine, {
        config: cfg,
        out,
        resume: listCheckpoints(out).length > 0,
        source,
        valSource: () => openDataset(p.data, { ...base, mix: undefined, split: 'val' }),
        imageIds: Int32Array.from({ length: index.vocab.codebookSize }, (_, c) => index.vocab.imageStart + c),
        vocabularyFrom: readConfig(p.tokenizers),
        modelDir: p.tokenizers,
        peakGflops: opts.peakGflops ?? null,
        progress: opts.progress,
        log,
      });
      if (res.status !== 'done') throw new ChameleonError(`${task}: ${res.divergence ?? 'did not finish'}`);
      plotRun(out);
      return { steps: res.step, resumedFrom: res.startStep, finalLoss: res.last?.loss ?? null, lastEval: res.lastEval, best: res.best, tokensPerSec: res.tokensPerSec, mfu: res.mfu, rollbacks: res.rollbacks };
    } finally {
      source.close();
    }
  };

  const stages: Record<DemoStage, () => Promise<Record<string, unknown>>> = {
    worlds: async () => {
      const s = await writeWorld({ out: p.shapes, seed: r.seed, scenes: r.world.shapesScenes, docsPerScene: r.world.shapesDocsPerScene, stories: r.world.shapesStories, overwrite: true, progress: opts.progress });
      const e = await buildEmojiWorld({ out: p.emoji, seed: r.seed, count: r.world.emojiCount || undefined, variants: r.world.emojiVariants, overwrite: true, progress: opts.progress });
      return { shapes: { documents: s.documents, images: s.images, testItems: s.items, counts: s.counts }, emoji: { emoji: e.emoji, heldout: e.heldout, images: e.images, documents: e.documents } };
    },
    tokenizer: async () => {
      const corpus = trainFiles().flatMap(documentTexts);
      const tok = trainChameleonTokenizer(corpus, { codebookSize: codebook, vocabSize: r.tokenizer.vocabSize, minFrequency: r.tokenizer.minFrequency, progress: opts.progress });
      mkdirSync(p.tokenizer, { recursive: true });
      writeFileSync(join(p.tokenizer, 'tokenizer.json'), JSON.stringify(tok.json));
      writeFileSync(join(p.tokenizer, 'vocabulary_map.json'), JSON.stringify(tok.vocab.toVocabularyMap()));
      return { texts: corpus.length, vocabSize: tok.vocab.size, merges: tok.merges };
    },
    vq: async () => {
      const dense = join(work, 'vq-dense');
      mkdirSync(dense, { recursive: true });
      const rng = new Rng(r.seed ^ 0xde45e);
      const densePaths: string[] = [];
      for (let i = 0; i < r.vq.denseScenes; i++) {
        const file = join(dense, `dense-${String(i).padStart(5, '0')}.png`);
        writeFileSync(file, await pngFromPixels(renderScene(sampleScene(rng, { minObjects: 5, maxObjects: 9 })), CANVAS, CANVAS));
        densePaths.push(file);
      }
      const images = [...new Set([...trainFiles().flatMap(imagePaths), ...densePaths])];
      const list = join(work, 'vq-images.jsonl');
      writeFileSync(list, images.map((image) => JSON.stringify({ image })).join('\n') + '\n');
      const resume = existsSync(join(p.vq, 'trainer-state.safetensors'));
      const res = await runVqTraining(engine, {
        images: list,
        config: r.vq.preset,
        steps: r.vq.steps,
        batch: r.vq.batch,
        lr: r.vq.lr,
        reconLoss: r.vq.reconLoss,
        codebookUpdate: r.vq.codebookUpdate,
        out: p.vq,
        evalEvery: Math.max(1, Math.min(200, r.vq.steps)),
        seed: r.seed,
        resume,
        progress: opts.progress,
        log,
      });
      return { images: images.length, denseScenes: densePaths.length, steps: res.steps, resumedFrom: res.startStep, imagesPerSec: res.imagesPerSec, psnr: res.finalEval.psnr, usage: res.finalEval.usage };
    },
    tokenizers: async () => {
      const res = assembleModelDir(engine, p.tokenizers, { tokenizer: p.tokenizer, vq: p.vq, preset: 'small', seed: r.seed, force: true });
      return { vocabSize: res.config.vocabSize, files: res.files };
    },
    data: async () => {
      const tk = await loadDataTokenizers(engine, p.tokenizers);
      const res = await buildDataset(engine, tk, { inputs: trainFiles(), out: p.data, valFraction: 0.03, seed: r.seed, overwrite: true, progress: opts.progress });
      return { documents: res.documents, byKind: res.byKind, tokens: res.tokens, targetTokens: res.targetTokens, images: res.images, imagesReused: res.imagesReused, longDocuments: res.longDocuments, seconds: res.seconds };
    },
    pretrain: async () => train('lm', p.pretrain),
    sft: async () => {
      if (existsSync(p.pretrained)) rmSync(p.pretrained, { recursive: true });
      exportCheckpoint(p.pretrain, p.pretrained, { tokenizerFrom: p.tokenizers, engine });
      return train('sft', p.sft);
    },
    export: async () => {
      if (existsSync(p.exported)) rmSync(p.exported, { recursive: true });
      exportCheckpoint(p.sft, p.exported, { tokenizerFrom: p.tokenizers, engine });
      if (existsSync(p.out)) for (const f of readdirSync(p.out)) rmSync(join(p.out, f), { recursive: true });
      const res = convertModelDtype(p.exported, p.out, r.exportDtype);
      // The evaluator's decoding (greedy, no guidance) is also what users get by default.
      writeFileSync(join(p.out, GENERATION_CONFIG_FILE), JSON.stringify(greedyGenerationConfig(), null, 2) + '\n');
      return res as unknown as Record<string, unknown>;
    },
    eval: async () => opts.evaluate(engine, p.out, { shapes: p.shapes, emoji: p.emoji }, r.evalLimit),
    card: async () => {
      for (const run of ['pretrain', 'sft'] as const) {
        for (const f of readdirSync(join(work, run)).filter((n) => n.endsWith('.svg'))) cpSync(join(work, run, f), join(p.out, `${run}-${f}`));
      }
      opts.card(p.out, record, r);
      return { files: readdirSync(p.out).sort() };
    },
  };

  for (const [i, name] of DEMO_STAGES.entries()) {
    if (record.stages[name]) {
      log(`[${i + 1}/${DEMO_STAGES.length}] ${name}: done (${record.stages[name].seconds.toFixed(0)} s), skipped`);
      continue;
    }
    log(`[${i + 1}/${DEMO_STAGES.length}] ${name}`);
    const t0 = performance.now();
    const result = await stages[name]();
    record.stages[name] = { seconds: (performance.now() - t0) / 1000, finishedAt: new Date().toISOString(), result };
    writeRecord(work, record);
  }
  return record;
}
