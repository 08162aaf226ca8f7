// `chameleon lab stability`: the stability lab (src/train/lab.node.ts) from the command line: arms of
// the paper's recipe trained on the same data at a high learning rate, then report.md + SVG charts.
// A thin adapter: parses flags, opens the backend, prints where the report is.

import type { Command } from 'commander';
import { runStabilityLab, STABILITY_ARMS } from '../train/lab.node.js';
import { openEngine } from './common.js';
import { engineOptions, numberOption, type EngineFlags } from './options.js';

interface LabCliOptions extends EngineFlags {
  out: string;
  steps: number;
  lr: number;
  seed: number;
  arms?: string;
  hidden: number;
  layers: number;
  progress: boolean;
  json?: boolean;
}

export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('experiments that reproduce findings of the paper at small scale');
  const cmd = lab
    .command('stability')
    .description(`train one small config once per stability recipe (${STABILITY_ARMS.map((a) => a.name).join(', ')}) at a high learning rate; write report.md and SVG charts (about 5 minutes with the defaults on 2 cores)`)
    .requiredOption('--out <dir>', 'report directory (each arm is trained anew in <dir>/arms/<arm>)')
    .addOption(numberOption('--steps <n>', 'optimizer steps per arm', { int: true, min: 10 }, 400))
    .addOption(numberOption('--lr <lr>', 'peak learning rate (deliberately high)', { min: 0, minExclusive: true, max: 1 }, 1e-2))
    .addOption(numberOption('--seed <n>', 'seed of the weights and the data (same for every arm)', { int: true, min: 0, max: 2 ** 31 - 1 }, 0))
    .addOption(numberOption('--hidden <n>', 'model width', { int: true, min: 16, max: 1024 }, 128))
    .addOption(numberOption('--layers <n>', 'model depth', { int: true, min: 1, max: 32 }, 4))
    .option('--arms <list>', `comma-separated subset of ${STABILITY_ARMS.map((a) => a.name).join(',')}`)
    .option('--no-progress', 'no progress bars on stderr')
    .option('--json', 'print the per-arm results as JSON');
  engineOptions(cmd).action(async (o: LabCliOptions) => {
    const { backend, close } = await openEngine(o);
    try {
      const r = await runStabilityLab(backend, {
        out: o.out,
        steps: o.steps,
        lr: o.lr,
        seed: o.seed,
        hidden: o.hidden,
        layers: o.layers,
        arms: o.arms?.split(',').map((s) => s.trim()).filter(Boolean),
        progress: o.progress ? undefined : null,
        log: (l) => process.stderr.write(l + '\n'),
      });
      if (o.json) console.log(JSON.stringify(r.results.map((x) => ({ ...x, arm: x.arm.name }))));
      else for (const f of r.files) console.log(`wrote ${f}`);
    } finally {
      await close();
    }
  });
}
