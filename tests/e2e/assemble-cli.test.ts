// The from-scratch path a user follows with their own images and text: `train tokenizer` and `train
// vq`, `assemble` into a model directory, `data build` with it, `train lm` on the shards, `export`,
// then `generate` an image with the trained model. Also the assemble refusals (codebook mismatch,
// missing parts), one line with exit code 2.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'assemble-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const imgs = join(dir, 'img');
mkdirSync(imgs);
const colours = ['#d22', '#2a2', '#22d', '#dd2'];
for (let i = 0; i < colours.length; i++) await sharp({ create: { width: 32, height: 32, channels: 3, background: colours[i] } }).png().toFile(join(imgs, `c${i}.png`));
const names = ['red', 'green', 'blue', 'yellow'];
const docs = names.flatMap((n, i) => [
  JSON.stringify({ kind: 'caption', segments: [{ text: `a ${n} square` }, { image: `img/c${i}.png` }] }),
  JSON.stringify({ kind: 'text', segments: [{ text: `the ${n} square is plain and ${n}` }] }),
]);
writeFileSync(join(dir, 'docs.jsonl'), docs.join('\n') + '\n');
writeFileSync(join(dir, 'corpus.jsonl'), names.map((n) => JSON.stringify({ text: `a ${n} square, the ${n} square` })).join('\n') + '\n');

test('train tokenizer + train vq -> assemble -> data build -> train lm -> export -> generate an image', () => {
  const tok = run(['train', 'tokenizer', '--corpus', join(dir, 'corpus.jsonl'), '--vocab-size', '360', '--codebook-size', '64', '--out', join(dir, 'tok')]);
  assert.equal(tok.code, 0, tok.err);
  const vq = run(['train', 'vq', '--images', imgs, '--config', 'tiny', '--steps', '2', '--batch', '2', '--eval-images', '0', '--out', join(dir, 'vq'), '--threads', '2', '--json']);
  assert.equal(vq.code, 0, vq.err);
  const model = join(dir, 'model');
  const a = run(['assemble', model, '--tokenizer', join(dir, 'tok'), '--vq', join(dir, 'vq'), '--preset', 'tiny']);
  assert.equal(a.code, 0, a.err);
  assert.match(a.out, /32×32 images as 4×4 codes/);
  const cfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as { vocab_size: number; vq_config: { num_embeddings: number } };
  const map = JSON.parse(readFileSync(join(dir, 'tok', 'vocabulary_map.json'), 'utf8')) as Record<string, number>;
  assert.equal(cfg.vocab_size, Math.max(...Object.values(map)) + 1, 'every id of the tokenizer, no more');
  assert.ok(cfg.vocab_size <= 360);
  assert.equal(cfg.vq_config.num_embeddings, 64);
  for (const f of ['model.safetensors', 'vq_decoder.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(model, f)), f);

  const data = join(dir, 'data');
  const b = run(['data', 'build', join(dir, 'docs.jsonl'), '--model', model, '--out', data, '--val-fraction', '0.25', '--json']);
  assert.equal(b.code, 0, b.err);
  const built = JSON.parse(b.out) as { images: number; imagesReused: number; documents: number };
  assert.equal(built.documents, 8);
  assert.equal(built.images + built.imagesReused, 4);

  const cfgFile = join(dir, 'lm.json');
  writeFileSync(cfgFile, JSON.stringify({ preset: 'tiny', train: { steps: 3, warmupSteps: 1, batch: 2, seqLen: 32 }, run: { evalEvery: 3, checkpointEvery: 3, evalBatches: 1 } }));
  const t = run(['train', 'lm', '--config', cfgFile, '--data', data, '--out', join(dir, 'run'), '--threads', '2', '--no-mfu', '--no-progress']);
  assert.equal(t.code, 0, t.err);
  const exp = join(dir, 'trained');
  const e = run(['export', join(dir, 'run'), exp, '--threads', '2']);
  assert.equal(e.code, 0, e.err);
  const g = run(['generate', 'a red square', '--model', exp, '--mode', 'image', '--seed', '1', '--threads', '2', '--out', join(dir, 'gen'), '--json']);
  assert.equal(g.code, 0, g.err);
  assert.ok(existsSync(join(dir, 'gen', 'image-1.png')));
});

test('assemble refusals: one line, exit code 2', () => {
  const tok2 = run(['train', 'tokenizer', '--corpus', join(dir, 'corpus.jsonl'), '--vocab-size', '400', '--codebook-size', '32', '--out', join(dir, 'tok32')]);
  assert.equal(tok2.code, 0, tok2.err);
  const cases: [string[], RegExp][] = [
    [['assemble', join(dir, 'x1'), '--tokenizer', join(dir, 'tok32'), '--vq', join(dir, 'vq')], /has 64 codes but the tokenizer reserves 32 image ids; train the tokenizer with --codebook-size 64/],
    [['assemble', join(dir, 'x2'), '--tokenizer', join(dir, 'nope'), '--vq', join(dir, 'vq')], /nope[\\/]tokenizer\.json: missing/],
    [['assemble', join(dir, 'x3'), '--tokenizer', join(dir, 'tok'), '--vq', imgs], /config\.json: missing/],
    [['assemble', join(dir, 'model'), '--tokenizer', join(dir, 'tok'), '--vq', join(dir, 'vq')], /already exists and is not empty/],
    [['assemble', join(dir, 'x4'), '--tokenizer', join(dir, 'tok'), '--vq', join(dir, 'vq'), '--preset', 'huge'], /unknown preset "huge"/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});
