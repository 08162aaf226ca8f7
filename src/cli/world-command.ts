// `chameleon world <domain>`: generates a seeded synthetic dataset (JSONL documents, images and a
// manifest with the evaluator's test items) that `chameleon data build` takes. One subcommand per
// domain; this file registers `world shapes` (src/eval/shapes/), other domains add theirs to the group.

import type { Command } from 'commander';
import { writeWorld } from '../eval/shapes/writer.node.js';
import { numberOption } from './options.js';

interface WorldShapesFlags {
  out: string;
  seed: number;
  scenes: number;
  docsPerScene: number;
  stories?: number;
  overwrite?: boolean;
  json?: boolean;
}

async function worldShapesCommand(o: WorldShapesFlags): Promise<void> {
  const r = await writeWorld({ out: o.out, seed: o.seed, scenes: o.scenes, docsPerScene: o.docsPerScene, stories: o.stories, overwrite: o.overwrite, progress: o.json ? null : undefined });
  if (o.json) {
    console.log(JSON.stringify(r));
    return;
  }
  const perSplit = (['train', 'val', 'test'] as const).map((s) => `${Object.values(r.counts.documents[s]).reduce((a, b) => a + b, 0)} ${s}`).join(', ');
  const items = Object.entries(r.counts.items).map(([g, n]) => `${n} ${g}`).join(', ');
  console.log(`wrote ${r.out}: ${r.documents} documents (${perSplit}), ${r.images} images, ${r.items} test items (${items}; ${r.counts.heldOutItems} with held-out combinations) in ${r.seconds.toFixed(2)} s`);
  console.log(`held out of train and val: ${r.heldOut.map((c) => `${c.colour} ${c.shape}`).join(', ')}; files: ${r.files.join(', ')}, img/`);
}

/** The `world` command group (created once; each domain adds a subcommand). */
export function worldGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'world') ?? program.command('world').description('generate synthetic mixed-modal datasets (documents, images, test items)');
}

/** Adds `shapes` to the `world` group. */
export function registerWorldShapes(group: Command): void {
  group
    .command('shapes')
    .description('the shapes world: flat circles, squares, triangles and stars in 6 colours on a 3x3 grid (docs/shapes-world.md)')
    .requiredOption('--out <dir>', 'output directory (img/, train/val/test.jsonl, train-sft/val-sft.jsonl, manifest.json)')
    .addOption(numberOption('--seed <n>', 'seed (same seed, byte-identical world)', { int: true, min: 0, max: 2 ** 32 - 1 }, 0))
    .addOption(numberOption('--scenes <n>', 'scenes (images) sampled for the per-scene documents', { int: true, min: 1, max: 1_000_000 }, 2000))
    .addOption(numberOption('--docs-per-scene <n>', 'documents per scene (captions, VQA, drawing, chat)', { int: true, min: 1, max: 1000 }, 8))
    .addOption(numberOption('--stories <n>', 'picture stories (default: scenes / 6)', { int: true, min: 0, max: 1_000_000 }))
    .option('--overwrite', 'replace a world already in --out')
    .option('--json', 'print one JSON summary')
    .action(async (o: WorldShapesFlags) => worldShapesCommand(o));
}
