// `chameleon generate` as a user runs it, on a complete tiny model directory: text, image and
// interleaved modes with an input image, the files it writes (PNGs, index.html, answer.json),
// reproducibility from a seed, and clear errors for bad input.

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeTinyBundle } from '../helpers/tiny-bundle.js';

let root = '';
let model = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cham-gen-'));
  model = join(root, 'model');
  makeTinyBundle(model);
  const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
  writeFileSync(join(root, 'red.png'), png);
  writeFileSync(join(root, 'not-an-image.png'), 'hello');
});

after(() => rmSync(root, { recursive: true, force: true }));

function runOn(dir: string, args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'generate', '--model', dir, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const run = (args: string[]): { code: number; out: string; err: string } => runOn(model, args);

test('image mode draws one image, writes the PNG, index.html and answer.json', () => {
  const out = join(root, 'img');
  const r = run(['a red circle', '--mode', 'image', '--seed', '3', '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as { reason: string; images: number; kvDtype: string; answer: { kind: string; file?: string }[] };
  assert.equal(summary.reason, 'images');
  assert.equal(summary.kvDtype, 'f32', 'auto: an f32 model keeps an f32 KV cache');
  assert.equal(summary.images, 1);
  const img = summary.answer.find((p) => p.kind === 'image');
  assert.ok(img?.file && existsSync(join(out, img.file)));
  const png = readFileSync(join(out, img.file));
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG file');
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.match(html, /<img src="image-1\.png"/);
  assert.match(html, /a red circle/);
});

test('interleaved mode with an input image streams text and reproduces from the seed', () => {
  const a = run(['what colour is <image> this?', '--image', join(root, 'red.png'), '--mode', 'interleaved', '--seed', '5', '--max-new-tokens', '40', '--temperature', '1.2', '--out', join(root, 'i1')]);
  assert.equal(a.code, 0, a.err);
  const b = run(['what colour is <image> this?', '--image', join(root, 'red.png'), '--mode', 'interleaved', '--seed', '5', '--max-new-tokens', '40', '--temperature', '1.2', '--out', join(root, 'i2')]);
  assert.equal(a.out, b.out, 'same seed, same output');
  const ans = JSON.parse(readFileSync(join(root, 'i1', 'answer.json'), 'utf8')) as { generatedTokens: number };
  assert.ok(ans.generatedTokens > 0);
  assert.ok(existsSync(join(root, 'i1', 'input-1-red.png')));
});

test('text mode never draws; chat mode works with the end-of-turn token (bf16 KV cache)', () => {
  const r = run(['hello', '--mode', 'text', '--chat', '--max-new-tokens', '12', '--json', '--kv-dtype', 'bf16', '--out', join(root, 't')]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { images: number; kvDtype: string; answer: { kind: string }[] };
  assert.equal(j.images, 0);
  assert.equal(j.kvDtype, 'bf16');
  assert.ok(j.answer.every((p) => p.kind === 'text'));
});

test('bad input: unreadable image, marker/image mismatch, bad options → one clear line, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['look <image>', '--image', join(root, 'not-an-image.png')], /not-an-image\.png/],
    [['<image> and <image>', '--image', join(root, 'red.png')], /2 <image> markers but 1 image was given/],
    [['hi', '--mode', 'video'], /--mode must be text, image or interleaved/],
    [['hi', '--kv-dtype', 'int4'], /--kv-dtype must be auto, f32 or bf16, got 'int4'/],
    [['hi', '--temperature', '-1'], /--temperature must be > 0, got -1/],
    [['hi', '--mode', 'image', '--max-new-tokens', '5'], /an image needs 18 tokens/],
  ];
  for (const [args, re] of cases) {
    const r = run([...args, '--out', join(root, 'bad')]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
});

test("the model's generation_config.json sets the defaults: greedy there = --greedy here; flags go over it; bad content is one line", () => {
  const greedyDir = join(root, 'model-greedy');
  cpSync(model, greedyDir, { recursive: true });
  writeFileSync(join(greedyDir, 'generation_config.json'), JSON.stringify({ do_sample: false, repetition_penalty: 1.0, bos_token_id: 0 }));
  const text = (dir: string, extra: string[]): string => {
    const r = runOn(dir, ['hello there', '--max-new-tokens', '12', '--json', '--out', join(root, 'g'), ...extra]);
    assert.equal(r.code, 0, r.err);
    return JSON.stringify((JSON.parse(r.out) as { answer: unknown }).answer);
  };
  const byFile = text(greedyDir, ['--seed', '1']);
  assert.equal(text(greedyDir, ['--seed', '2']), byFile, 'greedy: the seed does not matter');
  assert.equal(text(model, ['--greedy', '--repetition-penalty', '1', '--seed', '3']), byFile, 'the same as asking for greedy');
  const sampledA = text(greedyDir, ['--seed', '1', '--temperature', '1.5']);
  const sampledB = text(model, ['--seed', '1', '--temperature', '1.5', '--repetition-penalty', '1']);
  assert.equal(sampledA, sampledB, 'a temperature flag samples over the greedy default');
  writeFileSync(join(greedyDir, 'generation_config.json'), JSON.stringify({ top_p: 7 }));
  const bad = runOn(greedyDir, ['hi', '--out', join(root, 'g')]);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /generation_config\.json: top_p/);
  assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
});
