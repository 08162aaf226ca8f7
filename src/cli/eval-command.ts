// `chameleon eval <domain>`: scores a model on a synthetic world's test split with that world's exact
// evaluator and prints a table (or one JSON object with --json). One subcommand per domain; this file
// registers `eval shapes` (src/eval/shapes/evaluate.node.ts), other domains add theirs to the group.

import type { Command } from 'commander';
import { REPORT_KEYS, evaluateShapes } from '../eval/shapes/evaluate.node.js';
import { modelDirOrDemo, openEngine } from './common.js';
import { engineOptions, numberOption, type EngineFlags } from './options.js';

interface EvalShapesFlags extends EngineFlags {
  model?: string;
  world?: string;
  seed: number;
  limit: number;
  batch: number;
  details?: boolean;
  json?: boolean;
}

const fmt = (v: number | null): string => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(4));

async function evalShapesCommand(o: EvalShapesFlags): Promise<void> {
  const { engine, close } = await openEngine(o);
  try {
    const r = await evaluateShapes(engine, { model: modelDirOrDemo(o.model), world: o.world, seed: o.seed, limit: o.limit, batch: o.batch, progress: o.json ? null : undefined });
    const { details, ...summary } = r;
    if (o.json) {
      console.log(JSON.stringify(o.details ? r : summary));
      return;
    }
    console.log(`eval shapes: ${r.model} on the ${r.generatorVersion} test split (${r.world}); ${r.skipped} prompts too long for the context skipped; ${r.seconds.toFixed(1)} s`);
    const w = Math.max(...REPORT_KEYS.map((k) => k.length));
    console.log(`${'metric'.padEnd(w)}  ${'value'.padStart(9)}  count`);
    for (const k of REPORT_KEYS) console.log(`${k.padEnd(w)}  ${fmt(r[k]).padStart(9)}  ${r.counts[k]}`);
    if (o.details) for (const d of details) console.log(`${d.id}: ${d.correct}/${d.total}${d.refused ? ' (refused)' : ''}  read: ${d.read}`);
  } finally {
    await close();
  }
}

/** The `eval` command group (created once; each domain adds a subcommand). */
export function evalGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'eval') ?? program.command('eval').description('score a model on a synthetic world with its exact evaluator');
}

/** Adds `shapes` to the `eval` group. */
export function registerEvalShapes(group: Command): void {
  const cmd = group
    .command('shapes')
    .description('text→image, captions, VQA, stories, refusals, VQ agreement and perplexity on the shapes world test split (docs/shapes-world.md)')
    .option('--model <dir>', 'Chameleon model directory: config.json, model.safetensors (with model.vqmodel.*), vq_decoder.safetensors, tokenizer.json (default: the shipped demo model)')
    .option('--world <dir>', 'a world written by `chameleon world shapes` (default: regenerate it in memory from --seed)')
    .addOption(numberOption('--seed <n>', 'world seed (without --world) and generation seed', { int: true, min: 0, max: 2 ** 32 - 1 }, 0))
    .addOption(numberOption('--limit <n>', 'items per group (t2i, t2i held-out, caption, vqa, story, refusal), test documents and VQ images', { int: true, min: 1 }, 100))
    .addOption(numberOption('--batch <n>', 'requests decoded together', { int: true, min: 1, max: 256 }, 8))
    .option('--details', 'also print (or include in the JSON) what was read from every output')
    .option('--json', 'print one JSON object');
  engineOptions(cmd).action(async (o: EvalShapesFlags) => evalShapesCommand(o));
}
