// `chameleon plot <run-dir>` as a library call: reads a training run's metrics.jsonl (one object per
// step, evaluation and event lines; format in docs/training.md) and writes SVG charts of the loss,
// the per-modality loss, the last layer's output norm, the gradient norm and the learning rate, plus
// plots.html showing them together. Charts are built by chart.ts; no training logic here.

import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../util/errors.js';
import { lineChartSvg, type Marker, type Series } from './chart.js';

type Row = Record<string, unknown>;

export interface PlotResult {
  /** Files written, in the order of plots.html. */
  files: string[];
  steps: number;
  evals: number;
  events: number;
  /** A torn last line (a run still writing) that was left out. */
  skippedPartialLine: boolean;
}

/** Parses metrics.jsonl; a malformed line is an error naming file and line, except a torn last line. */
export function readMetrics(path: string): { rows: Row[]; skippedPartialLine: boolean } {
  if (!existsSync(path)) throw new FormatError(`${path}: no such file (is this a training run directory?)`);
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows: Row[] = [];
  let skippedPartialLine = false;
  const last = lines.length - 1 - [...lines].reverse().findIndex((l) => l.trim() !== '');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      if (i === last && !lines[i].endsWith('}')) {
        skippedPartialLine = true;
        continue;
      }
      throw new FormatError(`${path}:${i + 1}: not a JSON object`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as Row).step !== 'number') {
      throw new FormatError(`${path}:${i + 1}: expected an object with a numeric "step"`);
    }
    rows.push(v as Row);
  }
  return { rows, skippedPartialLine };
}

const num = (r: Row, k: string): number => (typeof r[k] === 'number' ? (r[k] as number) : NaN);
const pts = (rows: readonly Row[], k: string): [number, number][] => rows.filter((r) => k in r).map((r) => [r.step as number, num(r, k)]);

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes the charts of `runDir` into `outDir` (default: the run directory). */
export function plotRun(runDir: string, outDir = runDir): PlotResult {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new FormatError(`${runDir}: not a directory`);
  const { rows, skippedPartialLine } = readMetrics(join(runDir, 'metrics.jsonl'));
  // After a rollback the trainer runs steps again: the last line written for a step is the one kept.
  const lastPer = (xs: Row[]): Row[] => [...new Map(xs.map((r) => [r.step as number, r])).values()].sort((a, b) => (a.step as number) - (b.step as number));
  const steps = lastPer(rows.filter((r) => 'loss' in r));
  const evals = lastPer(rows.filter((r) => 'valLoss' in r));
  const events = rows.filter((r) => typeof r.event === 'string' && r.event !== 'checkpoint');
  if (steps.length === 0) throw new FormatError(`${join(runDir, 'metrics.jsonl')}: no training steps recorded yet`);
  // Lone loss spikes (applied steps) are ticks on the axis; divergence and rollback are labelled lines.
  const markers: Marker[] = events.map((e) => ({ x: e.step as number, label: String(e.event), color: e.event === 'rollback' ? '#9467bd' : e.event === 'spike' ? '#ff7f0e' : '#d62728', tick: e.event === 'spike' }));
  const smooth = steps.length > 50 ? 0.9 : 0;
  const charts: { file: string; series: Series[]; title: string; yLabel: string; logY?: boolean }[] = [
    {
      file: 'loss.svg',
      title: 'Loss',
      yLabel: 'cross entropy (+ z-loss)',
      series: [
        { label: 'train loss', points: pts(steps, 'loss'), smooth },
        { label: 'validation loss', points: pts(evals, 'valLoss'), dots: true },
      ],
    },
    {
      file: 'modality-loss.svg',
      title: 'Loss by modality',
      yLabel: 'cross entropy',
      series: [
        { label: 'text tokens', points: pts(steps, 'lossText'), smooth, color: '#1f77b4' },
        { label: 'image tokens', points: pts(steps, 'lossImage'), smooth, color: '#ff7f0e' },
        { label: 'validation, text', points: pts(evals, 'valLossText'), dots: true, color: '#17becf' },
        { label: 'validation, image', points: pts(evals, 'valLossImage'), dots: true, color: '#d62728' },
      ],
    },
    { file: 'output-norm.svg', title: "Last layer's output norm", yLabel: 'norm', logY: true, series: [{ label: 'output norm', points: pts(steps, 'outputNorm') }] },
    { file: 'grad-norm.svg', title: 'Gradient norm (before clipping)', yLabel: 'global L2 norm', logY: true, series: [{ label: 'grad norm', points: pts(steps, 'gradNorm') }] },
    { file: 'lr.svg', title: 'Learning rate', yLabel: 'lr', series: [{ label: 'learning rate', points: pts(steps, 'lr') }] },
  ];
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const c of charts) {
    const path = join(outDir, c.file);
    writeAtomic(path, lineChartSvg(c.series, { title: c.title, yLabel: c.yLabel, logY: c.logY, markers }));
    files.push(path);
  }
  const html = [
    '<!doctype html><meta charset="utf-8"><title>training run</title>',
    '<style>body{font-family:sans-serif;margin:24px}img{max-width:760px;display:block;margin:12px 0}</style>',
    `<h1>${runDir.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</h1>`,
    `<p>${steps.length} steps, ${evals.length} evaluations, ${events.length} events</p>`,
    ...charts.map((c) => `<img src="${c.file}" alt="${c.title}">`),
  ].join('\n');
  const htmlPath = join(outDir, 'plots.html');
  writeAtomic(htmlPath, html + '\n');
  files.push(htmlPath);
  return { files, steps: steps.length, evals: evals.length, events: events.length, skippedPartialLine };
}
