// `chameleon data build`: tokenizes mixed-modal JSONL documents once with a model's tokenizers into
// the shard format of docs/data-format.md (thin adapter over src/train/data/build.node.ts), with a
// progress bar on stderr and a summary (human text, or JSON with --json). Training reads the result
// with openDataset (src/train/data/dataset.node.ts).

import type { Command } from 'commander';
import { DEFAULT_SHARD_TOKENS, buildDataset, loadDataTokenizers } from '../train/data/build.node.js';
import { fmtBytes, fmtCount, openEngine } from './common.js';
import { choiceOption, engineOptions, numberOption, type EngineFlags } from './options.js';

interface DataBuildFlags extends EngineFlags {
  model: string;
  out: string;
  valFraction: number;
  seed: number;
  onError: 'skip' | 'fatal';
  shardTokens: number;
  imageBatch?: number;
  workers?: number;
  overwrite?: boolean;
  json?: boolean;
}

async function dataBuildCommand(inputs: string[], opts: DataBuildFlags): Promise<void> {
  const { engine, close } = await openEngine(opts);
  try {
    const tk = await loadDataTokenizers(engine, opts.model);
    const r = await buildDataset(engine, tk, {
      inputs,
      out: opts.out,
      valFraction: opts.valFraction,
      seed: opts.seed,
      onError: opts.onError,
      shardTokens: opts.shardTokens,
      imageBatch: opts.imageBatch,
      workers: opts.workers,
      overwrite: opts.overwrite,
      progress: opts.json ? null : undefined,
    });
    if (opts.json) {
      console.log(JSON.stringify(r));
      return;
    }
    const kinds = Object.entries(r.byKind).map(([k, n]) => `${n} ${k}`).join(', ');
    console.log(`wrote ${r.out}: ${r.documents} documents (${kinds}; ${r.trainDocuments} train, ${r.valDocuments} val), ${fmtCount(r.tokens)} tokens (${fmtCount(r.targetTokens)} taking loss), ${r.images} images encoded${r.imagesReused ? ` (${r.imagesReused} more references reused their codes)` : ''}, ${r.shards} shard${r.shards === 1 ? '' : 's'}`);
    console.log(`${fmtBytes(r.inputBytes)} of JSONL in ${r.seconds.toFixed(2)} s: ${(r.bytesPerSec / 1e6).toFixed(2)} MB/s, ${fmtCount(Math.round(r.tokensPerSec))} tokens/s`);
    if (r.skipped > 0) console.error(`skipped ${r.skipped} line${r.skipped === 1 ? '' : 's'}; first: ${r.skippedReports.join(' | ')}`);
    if (r.longDocuments > 0) console.error(`note: ${r.longDocuments} documents are longer than the model's context (${tk.context} tokens); training splits or drops them (longDocs)`);
  } finally {
    await close();
  }
}

/** Adds `data build` to the program. */
export function registerDataCommands(program: Command): void {
  const data = program.commands.find((c) => c.name() === 'data') ?? program.command('data').description('training data: JSONL documents -> token shards');
  engineOptions(
    data
      .command('build <jsonl...>')
      .description('tokenize JSONL documents (docs/data-format.md) with a model\'s tokenizers into shards + index.json')
      .requiredOption('--model <dir>', 'model directory: config.json (vocabulary_map), tokenizer.json, VQ encoder for images')
      .requiredOption('--out <dir>', 'output dataset directory')
      .addOption(numberOption('--val-fraction <x>', 'fraction of documents held out for validation', { min: 0, max: 0.99 }, 0.05))
      .addOption(numberOption('--seed <n>', 'seed of the validation choice', { int: true, min: 0, max: 2 ** 32 - 1 }, 0))
      .addOption(choiceOption('--on-error <mode>', 'bad lines, missing or undecodable images: skip with a count, or stop', ['skip', 'fatal'], 'skip'))
      .addOption(numberOption('--shard-tokens <n>', 'tokens per shard', { int: true, min: 1 }, DEFAULT_SHARD_TOKENS))
      .addOption(numberOption('--image-batch <n>', 'images per VQ encoder batch (default: 8, fewer above 64×64, 1 at 256×256 and more)', { int: true, min: 1 }))
      .addOption(numberOption('--workers <n>', 'worker threads tokenizing text (default: the cores, at most 4; 0: none)', { int: true, min: 0, max: 64 }))
      .option('--overwrite', 'replace a dataset already in --out')
      .option('--json', 'print one JSON summary'),
  ).action(async (inputs: string[], opts: DataBuildFlags) => dataBuildCommand(inputs, opts));
}
