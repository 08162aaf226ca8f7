// `chameleon plot <run-dir>`: SVG charts of a training run (loss, loss by modality, the last layer's
// output norm, gradient norm, learning rate) and a plots.html page showing them. A thin adapter over
// src/train/plot.node.ts; it never changes the run.

import type { Command } from 'commander';
import { plotRun } from '../train/plot.node.js';

export function registerPlotCommand(program: Command): void {
  program
    .command('plot')
    .description("write SVG charts of a training run's metrics.jsonl (loss, per-modality loss, output norm, grad norm, lr) and plots.html")
    .argument('<run-dir>', 'a training run directory (holds metrics.jsonl)')
    .option('--out <dir>', 'where to write the charts (default: the run directory)')
    .option('--json', 'print the result as JSON')
    .action((runDir: string, opts: { out?: string; json?: boolean }) => {
      const r = plotRun(runDir, opts.out ?? runDir);
      if (opts.json) {
        console.log(JSON.stringify(r));
        return;
      }
      console.log(`${r.steps} steps, ${r.evals} evaluations, ${r.events} events${r.skippedPartialLine ? ' (a torn last line, still being written, left out)' : ''}`);
      for (const f of r.files) console.log(`wrote ${f}`);
    });
}
