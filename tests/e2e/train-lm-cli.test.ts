// `chameleon train lm` / `train sft` / `export` as a user runs them (child processes on the compiled
// CLI): a run killed with SIGKILL after a checkpoint and resumed reproduces the 20 per-step losses of an
// uninterrupted run bit for bit and never leaves a partial checkpoint; export writes a complete model
// directory that `chameleon generate` runs on; bad input is one line with exit code 2.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors } from '../../src/io/safetensors.node.js';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'train-lm-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Per-step losses of metrics.jsonl (the last line per step wins), as written. */
function losses(runDir: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n')) {
    const r = JSON.parse(l) as { step: number; loss?: number };
    if (r.loss !== undefined) m.set(r.step, r.loss);
  }
  return m;
}

// tiny model, seq 128 × batch 8, dropout on: ~0.1 s a step, so a kill lands mid-run.
const config = join(dir, 'run.json');
writeFileSync(config, JSON.stringify({ preset: 'tiny', train: { steps: 20, batch: 8, seqLen: 128, warmupSteps: 4, dropout: 0.1 }, run: { checkpointEvery: 3, evalEvery: 5, keepLast: 2 } }));
const common = ['--config', config, '--synthetic-data', '11', '--threads', '2', '--no-mfu', '--no-progress'];

test('kill -9 mid-run, then --resume: the 20 per-step losses equal an uninterrupted run bit for bit', async () => {
  const ref = join(dir, 'ref');
  const r = run(['train', 'lm', ...common, '--out', ref]);
  assert.equal(r.code, 0, r.err);
  const want = losses(ref);
  assert.equal(want.size, 20);

  const killed = join(dir, 'killed');
  const child = spawn(process.execPath, [CLI, 'train', 'lm', ...common, '--out', killed], { stdio: 'ignore' });
  const ckpt = join(killed, 'checkpoints', 'step-00000003');
  const signal = await new Promise<string | null>((resolve) => {
    child.on('exit', (_code, sig) => resolve(sig));
    const poll = setInterval(() => {
      if (!existsSync(ckpt)) return;
      clearInterval(poll);
      setTimeout(() => child.kill('SIGKILL'), 37); // some moment after the first checkpoint
    }, 2);
  });
  assert.equal(signal, 'SIGKILL', 'the run was killed, not finished');
  const partial = losses(killed);
  assert.ok(partial.size >= 3 && partial.size < 20, `killed after ${partial.size} steps`);
  // Only complete checkpoints carry a step-N name; each one loads.
  for (const n of readdirSync(join(killed, 'checkpoints')).filter((x) => x.startsWith('step-'))) {
    const a = openSafetensors(join(killed, 'checkpoints', n, 'trainer-state.safetensors'));
    assert.ok(a.metadata?.meta, `${n} has its trainer state`);
    a.close();
    assert.ok(existsSync(join(killed, 'checkpoints', n, 'model.safetensors')) && existsSync(join(killed, 'checkpoints', n, 'config.json')));
  }
  const resumed = run(['train', 'lm', ...common, '--out', killed, '--resume']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /resumed from checkpoints\/step-\d{8} \(step \d+\)/);
  const got = losses(killed);
  assert.equal(got.size, 20);
  for (let s = 1; s <= 20; s++) assert.ok(Object.is(got.get(s), want.get(s)), `step ${s}: ${got.get(s)} vs ${want.get(s)}`);
  assert.ok(!readdirSync(join(killed, 'checkpoints')).some((n) => n.startsWith('.tmp-')), 'stale temporaries removed');
});

test('metrics.jsonl lines carry the contract keys; export writes a model dir that generate runs on', () => {
  const init = join(dir, 'tiny-model');
  assert.equal(run(['init-tiny', init]).code, 0);
  const out = join(dir, 'sft');
  const r = run(['train', 'sft', '--config', 'tiny', '--init', init, '--steps', '4', '--synthetic-data', '3', '--threads', '2', '--out', out, '--json', '--no-progress']);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as { status: string; steps: number; mfu: number | null };
  assert.equal(summary.status, 'done');
  assert.equal(summary.steps, 4);
  assert.ok(summary.mfu !== null && summary.mfu > 0 && summary.mfu < 1);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const step = lines.find((l) => 'loss' in l)!;
  assert.deepEqual(Object.keys(step).sort(), ['gradNorm', 'loss', 'lossImage', 'lossText', 'lr', 'mfu', 'outputNorm', 'step', 'tokens', 'tokensPerSec', 'zLoss'].sort());
  assert.ok(typeof step.lossImage === 'number', 'synthetic data over the tiny vocabulary has image targets');
  assert.equal(step.lr, 1e-5); // SFT: cosine from 1e-5, no warmup (over the tiny preset's 1e-3 and 20 warmup steps)
  const ev = lines.find((l) => 'valLoss' in l)!;
  assert.deepEqual(Object.keys(ev).sort(), ['step', 'valLoss', 'valLossImage', 'valLossText']);
  assert.ok(lines.some((l) => l.event === 'checkpoint'));

  const exp = join(dir, 'export');
  const e = run(['export', out, exp, '--json']);
  assert.equal(e.code, 0, e.err);
  const files = readdirSync(exp).sort();
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vq_decoder.safetensors']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  const cfg = JSON.parse(readFileSync(join(exp, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.model_type, 'chameleon');
  assert.ok(cfg.vocabulary_map && cfg.vq_config);
  const a = openSafetensors(exp);
  const names = [...a.tensors()].map(([n]) => n);
  assert.ok(names.includes('model.embed_tokens.weight') && names.includes('lm_head.weight') && names.some((n) => n.startsWith('model.vqmodel.')));
  assert.equal(a.get('lm_head.weight').dtype, 'F32');
  a.close();
  const g = run(['generate', 'a red', '--model', exp, '--max-new-tokens', '4', '--seed', '1', '--threads', '2']);
  assert.equal(g.code, 0, g.err);
});

test('bad input: one line, exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['train', 'lm', '--config', 'nope', '--synthetic-data', '1', '--out', join(dir, 'x')], /--config nope: no such file, and not a preset/],
    [['train', 'lm', '--config', 'tiny', '--out', join(dir, 'x')], /give exactly one of --data <dir> and --synthetic-data <seed>/],
    [['train', 'lm', '--config', 'tiny', '--data', dir, '--out', join(dir, 'x')], /no index\.json \(not a dataset directory; build one with `chameleon data build`\)/],
    [['train', 'sft', '--config', 'tiny', '--synthetic-data', '1', '--out', join(dir, 'x')], /train sft: starts from a trained model: pass --init/],
    [['export', join(dir, 'missing'), join(dir, 'y')], /no such run or checkpoint directory/],
    [['train', 'lm', '--config', dir, '--synthetic-data', '1', '--out', join(dir, 'x')], /a directory, not a config file \(JSON or YAML\), and not a preset/],
  ];
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ train: { batchsize: 4 } }));
  cases.push([['train', 'lm', '--config', bad, '--synthetic-data', '1', '--out', join(dir, 'x')], /unknown key 'train\.batchsize'/]);
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});
