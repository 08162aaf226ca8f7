// The training path end to end, as the README runs it: `data build` on the example JSONL with a tiny
// model's tokenizers, `train lm --data` on the shards (per-modality losses, validation), `export` to a
// complete model directory that carries the tokenizers' vocabulary map and VQ config, `generate` on
// it, `plot` of the run; and a model whose vocabulary differs from the dataset's refused by name.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = 'dist/src/cli/main.js';
let root = '';

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'cham-train-data-'));
  assert.equal(run(['init-tiny', join(root, 'tiny')]).code, 0);
  const b = run(['data', 'build', 'tests/fixtures/data/example.jsonl', '--model', join(root, 'tiny'), '--out', join(root, 'data')]);
  assert.equal(b.code, 0, b.err);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('data build -> train lm --data -> export -> generate -> plot', () => {
  const cfg = join(root, 'c.json');
  writeFileSync(cfg, JSON.stringify({ preset: 'tiny', model: { vocabSize: 376 }, train: { steps: 6, warmupSteps: 1, seqLen: 64, batch: 2 }, run: { evalEvery: 3, checkpointEvery: 3 } }));
  const t = run(['train', 'lm', '--config', cfg, '--data', join(root, 'data'), '--out', join(root, 'run'), '--no-progress', '--no-mfu']);
  assert.equal(t.code, 0, t.err);
  const lines = readFileSync(join(root, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const steps = lines.filter((l) => 'loss' in l);
  assert.equal(steps.length, 6);
  // The example has image documents, so some steps take loss on image tokens and report it.
  assert.ok(steps.some((s) => typeof s.lossImage === 'number' && Number.isFinite(s.lossImage)), 'an image-token loss');
  assert.ok(steps.every((s) => typeof s.lossText === 'number' && Number.isFinite(s.lossText)), 'text-token losses');
  assert.equal(lines.filter((l) => 'valLoss' in l).length, 2);
  const e = run(['export', join(root, 'run'), join(root, 'exp')]);
  assert.equal(e.code, 0, e.err);
  const exported = JSON.parse(readFileSync(join(root, 'exp', 'config.json'), 'utf8')) as Record<string, unknown>;
  const tinyCfg = JSON.parse(readFileSync(join(root, 'tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(exported.vocabulary_map, tinyCfg.vocabulary_map, 'the export speaks the tokenizer vocabulary');
  assert.deepEqual(exported.vq_config, tinyCfg.vq_config);
  assert.ok(existsSync(join(root, 'exp', 'tokenizer.json')) && existsSync(join(root, 'exp', 'vq_decoder.safetensors')));
  const g = run(['generate', '--model', join(root, 'exp'), '--mode', 'image', '--json', '--out', join(root, 'gen'), 'a red circle']);
  assert.equal(g.code, 0, g.err);
  assert.ok(existsSync(join(root, 'gen', 'image-1.png')), 'the exported model draws an image');
  const p = run(['plot', join(root, 'run')]);
  assert.equal(p.code, 0, p.err);
  assert.ok(existsSync(join(root, 'run', 'modality-loss.svg')));
});

test('a model vocabulary other than the dataset\'s is refused by name, before training', () => {
  const wrong = join(root, 'wrong-vocab.json');
  writeFileSync(wrong, JSON.stringify({ preset: 'tiny', model: { vocabSize: 512 } }));
  const r = run(['train', 'lm', '--config', wrong, '--data', join(root, 'data'), '--out', join(root, 'bad'), '--no-progress']);
  assert.equal(r.code, 2);
  const err = r.err.trim().split('\n');
  assert.equal(err.length, 1, r.err);
  assert.match(err[0], /^chameleon: --data .*376-id vocabulary .* the model has 512 ids; set model\.vocabSize to 376/);
  assert.ok(!existsSync(join(root, 'bad', 'checkpoints')));
});
