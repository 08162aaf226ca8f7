// `chameleon demo train` (= `npm run train:demo`): reproduces the shipped demo model from nothing with
// the pipeline of src/eval/demo/ (worlds, tokenizers, VQ, shards, pre-training, SFT, export, both
// evaluators, model card), printing each stage and its progress; rerunning continues where a killed
// run stopped. `--recipe smoke` runs every stage in about a minute (tests).

import type { Command } from 'commander';
import { measureFmaPeak } from '../eval/roofline.js';
import { evaluateDemo, writeModelCard } from '../eval/demo/card.node.js';
import { DEMO_STAGES, runDemoPipeline, type DemoStage } from '../eval/demo/pipeline.node.js';
import { DEMO_RECIPES, demoRecipe } from '../eval/demo/recipe.js';
import { DEMO_MODEL_DIR, openEngine } from './common.js';
import { choiceOption, engineOptions, type EngineFlags } from './options.js';

interface DemoTrainOptions extends EngineFlags {
  recipe: string;
  work: string;
  out?: string;
  from?: DemoStage;
  progress: boolean;
  json?: boolean;
}

async function demoTrain(o: DemoTrainOptions): Promise<void> {
  const recipe = demoRecipe(o.recipe);
  const { engine, backend, close } = await openEngine(o);
  try {
    const peak = backend.name === 'wasm' ? measureFmaPeak(backend, 9) : null;
    const out = o.out ?? DEMO_MODEL_DIR;
    const t0 = performance.now();
    const progress = o.progress ? undefined : null;
    const record = await runDemoPipeline(engine, {
      recipe,
      work: o.work,
      out,
      from: o.from,
      peakGflops: peak,
      progress,
      log: o.json ? undefined : (l) => console.log(l),
      evaluate: (e, model, worlds, limit) => evaluateDemo(e, model, worlds, limit, progress),
      card: writeModelCard,
    });
    const secs = (performance.now() - t0) / 1000;
    const ev = (record.stages.eval?.result ?? {}) as Record<string, unknown>;
    if (o.json) console.log(JSON.stringify({ out, work: o.work, seconds: secs, stages: Object.fromEntries(Object.entries(record.stages).map(([k, s]) => [k, s?.seconds])), eval: ev }));
    else console.log(`demo model in ${out} (this run ${(secs / 60).toFixed(1)} min; stages ${Object.entries(record.stages).map(([k, s]) => `${k} ${((s?.seconds ?? 0) / 60).toFixed(1)}`).join(', ')} min); model card ${out}/README.md`);
  } finally {
    await close();
  }
}

/** Adds `demo train` to the program. */
export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description('the shipped demo model: reproduce it from nothing');
  engineOptions(
    demo
      .command('train')
      .description('build the demo model: worlds -> BPE -> VQ -> shards -> pre-training -> SFT -> export -> evaluation -> model card (resumable)')
      .addOption(choiceOption('--recipe <name>', 'demo (the shipped model, ~90 min on 2 cores) or smoke (every stage in about a minute)', Object.keys(DEMO_RECIPES), 'demo'))
      .option('--work <dir>', 'work directory: worlds, runs, shards, pipeline.json (rerun to continue)', 'runs/demo')
      .option('--out <dir>', `the finished model directory (default ${DEMO_MODEL_DIR})`)
      .addOption(choiceOption('--from <stage>', 'redo this stage and every later one', DEMO_STAGES))
      .option('--no-progress', 'no progress bars')
      .option('--json', 'print one JSON summary at the end'),
  ).action(async (o: DemoTrainOptions) => demoTrain(o));
}
