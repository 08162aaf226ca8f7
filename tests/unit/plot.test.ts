// Training charts: the smoothing and the value -> pixel mapping pinned to hand-computed numbers (linear
// and log axes, gaps for non-finite values), and `plotRun` / `chameleon plot` over a hand-written
// metrics.jsonl: every chart written, validation dots and event markers present, a torn last line
// tolerated, a malformed line and a missing run refused with one line and exit code 2.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emaSmooth, lineChartSvg } from '../../src/train/chart.js';
import { plotRun, readMetrics } from '../../src/train/plot.node.js';

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'cham-plot-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('emaSmooth: acc = α·acc + (1-α)·y over finite values, gaps kept', () => {
  const out = emaSmooth([[0, 1], [1, 3], [2, NaN], [3, 5]], 0.5);
  // 1; 0.5·1 + 0.5·3 = 2; gap; 0.5·2 + 0.5·5 = 3.5
  assert.deepEqual(out.map((p) => p[1]), [1, 2, NaN, 3.5]);
});

test('lineChartSvg maps values to pixels (5% padding, y grows upwards), on linear and log axes', () => {
  // Plot area: x from 70 to 70 + (760 - 94) = 736; y from 40 to 40 + (420 - 88) = 372.
  // Linear: y range [0, 10] padded by 0.5 -> [-0.5, 10.5]; y(0) = 372 - 0.5/11·332 = 356.9, y(10) = 372 - 10.5/11·332 = 55.1.
  const lin = lineChartSvg([{ label: 'a', points: [[0, 0], [10, 10]] }], { title: 't' });
  assert.ok(lin.includes('d="M70.0,356.9L736.0,55.1"'), lin);
  // Log: log10 of [1, 100] is [0, 2], padded by 0.1: the same pixels.
  const log = lineChartSvg([{ label: 'a', points: [[0, 1], [10, 100]] }], { title: 't', logY: true });
  assert.ok(log.includes('d="M70.0,356.9L736.0,55.1"'), log);
  // A non-finite value breaks the line into two pieces.
  const gap = lineChartSvg([{ label: 'a', points: [[0, 1], [1, NaN], [2, 3]] }], { title: 't' });
  const d = /<path d="(M[^"]*)" fill="none" stroke="#1f77b4"/.exec(gap)![1];
  assert.equal(d.split('M').length - 1, 2);
  // A series without data is named so in the legend; text is escaped.
  const empty = lineChartSvg([{ label: 'x<y', points: [] }], { title: 'a & b' });
  assert.ok(empty.includes('x&lt;y (no data)') && empty.includes('a &amp; b'));
});

function writeRun(dir: string, lines: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
}

const step = (s: number, loss: number): string =>
  JSON.stringify({ step: s, tokens: s * 100, loss, lossText: loss + 0.1, lossImage: loss - 0.1, zLoss: 0.01, outputNorm: 10 + s, gradNorm: 1 / s, lr: 1e-3 * s, tokensPerSec: 1000, mfu: 0.1 });

test('plotRun writes every chart and plots.html, with validation dots and event markers', () => {
  const dir = join(root, 'run');
  // Step 3 diverged, the run rolled back to step 2 and ran step 3 again: the later line counts.
  writeRun(dir, [step(1, 3), step(2, 2.5), JSON.stringify({ step: 2, valLoss: 2.7, valLossText: 2.8, valLossImage: 2.6 }), JSON.stringify({ step: 2, event: 'checkpoint', detail: 'x' }), step(3, 9), JSON.stringify({ step: 3, event: 'divergence', detail: 'spike' }), step(3, 2.25)]);
  const r = plotRun(dir);
  assert.deepEqual(r.files.map((f) => f.slice(dir.length + 1)), ['loss.svg', 'modality-loss.svg', 'output-norm.svg', 'grad-norm.svg', 'lr.svg', 'plots.html']);
  assert.deepEqual([r.steps, r.evals, r.events], [3, 1, 1]);
  const loss = readFileSync(join(dir, 'loss.svg'), 'utf8');
  assert.equal((loss.match(/<circle /g) ?? []).length, 1, 'one validation dot');
  assert.ok(loss.includes('>divergence<'), 'the divergence marker is drawn');
  assert.ok(!loss.includes('>checkpoint<'), 'checkpoints are not markers');
  // The re-run step 3 (loss 2.25) is plotted, not the diverged one (9): the y axis tops out below 4.
  assert.ok(!/>(8|10)</.test(loss) && />3</.test(loss), 'the y ticks follow the re-run value');
  const html = readFileSync(join(dir, 'plots.html'), 'utf8');
  for (const f of ['loss.svg', 'modality-loss.svg', 'output-norm.svg', 'grad-norm.svg', 'lr.svg']) assert.ok(html.includes(`src="${f}"`));
});

test('a lone spike (an applied step) is an unlabelled tick on the axis, not a labelled line', () => {
  const dir = join(root, 'spikes');
  writeRun(dir, [step(1, 3), step(2, 2.5), step(3, 6), JSON.stringify({ step: 3, event: 'spike', detail: 'loss spike: 6 > 2 × 2.75' }), step(4, 2.2)]);
  const r = plotRun(dir);
  assert.equal(r.events, 1);
  const loss = readFileSync(join(dir, 'loss.svg'), 'utf8');
  assert.ok(!/<text[^>]*>spike<\/text>/.test(loss), 'no text label');
  assert.match(loss, /<line [^>]*stroke="#ff7f0e" stroke-width="1\.5"><title>spike<\/title><\/line>/);
  assert.ok(!loss.includes('stroke="#ff7f0e" stroke-dasharray'), 'not a dashed full-height line');
});

test('metrics.jsonl: a torn last line is left out, a malformed line elsewhere is refused by file and line', () => {
  const dir = join(root, 'torn');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metrics.jsonl'), `${step(1, 3)}\n${step(2, 2)}\n{"step": 3, "lo`);
  const m = readMetrics(join(dir, 'metrics.jsonl'));
  assert.equal(m.rows.length, 2);
  assert.ok(m.skippedPartialLine);
  writeFileSync(join(dir, 'metrics.jsonl'), `${step(1, 3)}\nnot json\n${step(3, 2)}\n`);
  assert.throws(() => readMetrics(join(dir, 'metrics.jsonl')), /metrics\.jsonl:2: not a JSON object/);
  writeFileSync(join(dir, 'metrics.jsonl'), `${step(1, 3)}\n{"loss": 2}\n`);
  assert.throws(() => readMetrics(join(dir, 'metrics.jsonl')), /metrics\.jsonl:2: expected an object with a numeric "step"/);
});

test('chameleon plot: charts from the CLI; a missing run or an empty one is one line and exit code 2', () => {
  const dir = join(root, 'cli');
  writeRun(dir, [step(1, 3), step(2, 2)]);
  const run = (args: string[]): { code: number; out: string; err: string } => {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const ok = run(['plot', dir, '--out', join(dir, 'charts')]);
  assert.equal(ok.code, 0, ok.err);
  assert.ok(existsSync(join(dir, 'charts', 'grad-norm.svg')));
  assert.match(ok.out, /2 steps, 0 evaluations, 0 events/);
  for (const [args, msg] of [
    [['plot', join(root, 'nope')], /not a directory/],
    [['plot', root], /metrics\.jsonl: no such file/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.code, 2, r.err);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /^chameleon: /);
    assert.match(lines[0], msg);
  }
  writeRun(join(root, 'empty'), [JSON.stringify({ step: 0, event: 'checkpoint' })]);
  const empty = run(['plot', join(root, 'empty')]);
  assert.equal(empty.code, 2);
  assert.match(empty.err, /no training steps recorded yet/);
});
