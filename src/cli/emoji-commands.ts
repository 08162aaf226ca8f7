// `chameleon world emoji` (write the emoji dataset: images, JSONL documents, manifest) and
// `chameleon eval emoji` (score a model on the world's test prompts): thin adapters over
// src/eval/emoji/ that parse flags, show progress on stderr and print a summary or JSON.
// The `world` and `eval` groups are created by main.ts; these add their `emoji` subcommands.

import type { Command } from 'commander';
import { evaluateEmoji, type EmojiEvalReport } from '../eval/emoji/evaluate.node.js';
import { buildEmojiWorld } from '../eval/emoji/world.node.js';
import { modelDirOrDemo, openEngine } from './common.js';
import { choiceOption, engineOptions, numberOption, type EngineFlags } from './options.js';

interface WorldEmojiFlags {
  out: string;
  seed: number;
  count?: number;
  variants: number;
  heldoutFraction: number;
  overwrite?: boolean;
  json?: boolean;
}

/** Adds `emoji` to the `world` group. */
export function registerWorldEmoji(world: Command): void {
  world
    .command('emoji')
    .description('write the emoji world: 64×64 Noto emoji on white (img/*.png), train/val/test.jsonl for data build, manifest.json with the catalogue, splits and test prompts')
    .requiredOption('--out <dir>', 'output directory')
    .addOption(numberOption('--seed <n>', 'seed of the sample, the held-out split, placements, phrasings and line order', { int: true, min: 0, max: 2 ** 31 - 1 }, 0))
    .addOption(numberOption('--count <n>', 'use this many emoji of the catalogue (a seeded sample; default all)', { int: true, min: 2 }))
    .addOption(numberOption('--variants <n>', 'scaled/shifted copies of each emoji for "what is this?" documents', { int: true, min: 0, max: 8 }, 1))
    .addOption(numberOption('--heldout-fraction <x>', 'fraction of the emoji kept out of training images (test split)', { min: 0, max: 0.5 }, 0.1))
    .option('--overwrite', 'replace the contents of a non-empty --out')
    .option('--json', 'print one JSON summary')
    .action(async (o: WorldEmojiFlags) => {
      const r = await buildEmojiWorld({ out: o.out, seed: o.seed, count: o.count, variants: o.variants, heldoutFraction: o.heldoutFraction, overwrite: o.overwrite, progress: o.json ? null : undefined });
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      console.log(`wrote ${r.out}: ${r.emoji} emoji (${r.train} in training images, ${r.heldout} held out), ${r.images} images, ${r.documents.train} train / ${r.documents.val} val / ${r.documents.test} test documents, ${r.tests.name + r.tests.draw} test prompts in ${r.seconds.toFixed(1)} s`);
    });
}

interface EvalEmojiFlags extends EngineFlags {
  model?: string;
  world?: string;
  limit?: number;
  seed: number;
  batch: number;
  imageTemperature?: number;
  cfg?: 'off' | '3way' | '2way';
  out?: string;
  json?: boolean;
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`;
}

function summary(r: EmojiEvalReport): string {
  const c = r.counts;
  const k = r.correct;
  return [
    `emoji_name_accuracy          ${pct(r.emoji_name_accuracy)} (${k.name}/${c.name} training emoji)`,
    `emoji_name_heldout_accuracy  ${pct(r.emoji_name_heldout_accuracy)} (${k.name_heldout}/${c.name_heldout} held-out emoji)`,
    `emoji_nn_accuracy            ${pct(r.emoji_nn_accuracy)} (${k.draw}/${c.draw} drawings nearest to the emoji asked for)`,
    `emoji_nn_heldout_accuracy    ${pct(r.emoji_nn_heldout_accuracy)} (${k.draw_heldout}/${c.draw_heldout})`,
    `${r.model}: world seed ${r.world.seed}, ${r.world.count} emoji, ${r.seconds.toFixed(1)} s`,
  ].join('\n');
}

/** Adds `emoji` to the `eval` group. */
export function registerEvalEmoji(evalCmd: Command): void {
  const cmd = evalCmd
    .command('emoji')
    .description('score a model on the emoji world: "What is this?" on emoji images (name accuracy) and "Draw X." (is the drawing\'s nearest emoji X)')
    .option('--model <dir>', 'Chameleon model directory with tokenizer.json, VQ encoder (model.vqmodel.*) and vq_decoder.safetensors (default: the shipped demo model)')
    .option('--world <dir>', 'the chameleon world emoji directory the model was trained on (default: the default world, seed 0)')
    .addOption(numberOption('--limit <n>', 'at most n prompts of each kind (name/draw × training/held-out emoji), a seeded sample', { int: true, min: 1 }))
    .addOption(numberOption('--seed <n>', 'seed of the sample and of image sampling', { int: true, min: 0, max: 2 ** 31 - 1 }, 0))
    .addOption(numberOption('--batch <n>', 'prompts decoded together', { int: true, min: 1, max: 64 }, 8))
    .addOption(numberOption('--image-temperature <t>', 'temperature of the drawings (default the generator\'s, 0.7)', { min: 0, minExclusive: true, max: 100 }))
    .addOption(choiceOption('--cfg <kind>', 'classifier-free guidance of the drawings (default 3way)', ['3way', '2way', 'off'] as const))
    .option('--out <dir>', 'write every drawing (draw-<id>.png) and answers.json here')
    .option('--json', 'print the report as JSON (per-item results included)');
  engineOptions(cmd).action(async (o: EvalEmojiFlags) => {
    const { engine, close } = await openEngine(o);
    try {
      const r = await evaluateEmoji(engine, {
        model: modelDirOrDemo(o.model),
        world: o.world,
        limit: o.limit,
        seed: o.seed,
        batch: o.batch,
        image: { temperature: o.imageTemperature, cfg: o.cfg },
        out: o.out,
        progress: o.json ? null : undefined,
      });
      console.log(o.json ? JSON.stringify(r) : summary(r));
    } finally {
      await close();
    }
  });
}
