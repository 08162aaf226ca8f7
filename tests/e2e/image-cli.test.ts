// `chameleon image encode/decode` and `train vq` as a user runs them (child processes on the compiled
// CLI): encode -> decode round trip on the mha fixture (32×32, decoder in vq_decoder.safetensors),
// vocabulary ids, and one clear line + exit code 2 for bad input.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const CLI = 'dist/src/cli/main.js';
const MHA = 'tests/fixtures/hf-chameleon/mha';
const GQA = 'tests/fixtures/hf-chameleon/gqa';
const dir = mkdtempSync(join(tmpdir(), 'image-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function oneLineError(r: { code: number; err: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.err);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0], /^chameleon: /);
  assert.match(lines[0], re);
}

const px = Buffer.alloc(48 * 40 * 3);
for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 256;
const imgPath = join(dir, 'in.jpg');
await sharp(px, { raw: { width: 48, height: 40, channels: 3 } }).jpeg().toFile(imgPath);

for (const backend of ['wasm', 'ref']) {
  test(`image encode -> decode round trip (--backend ${backend})`, async () => {
    const enc = run(['image', 'encode', imgPath, '--model', MHA, '--json', '--backend', backend]);
    assert.equal(enc.code, 0, enc.err);
    const j = JSON.parse(enc.out) as { grid: number; codes: number[][]; ids?: number[] };
    assert.equal(j.grid, 4);
    assert.equal(j.codes.length, 4);
    assert.ok(j.codes.every((row) => row.length === 4 && row.every((c) => Number.isInteger(c) && c >= 0 && c < 64)));
    assert.deepEqual(j.ids, j.codes.flat().map((c) => c + 4), 'image ids = code + 4 in the fixture vocabulary');
    const codesFile = join(dir, `codes-${backend}.json`);
    writeFileSync(codesFile, enc.out);
    const out = join(dir, `out-${backend}.png`);
    const dec = run(['image', 'decode', codesFile, '--model', MHA, '-o', out, '--backend', backend]);
    assert.equal(dec.code, 0, dec.err);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 32, 32, 3]);
    // A flat array decodes to the same picture.
    const flatFile = join(dir, `flat-${backend}.json`);
    writeFileSync(flatFile, JSON.stringify(j.codes.flat()));
    const out2 = join(dir, `out2-${backend}.png`);
    assert.equal(run(['image', 'decode', flatFile, '--model', MHA, '-o', out2, '--backend', backend]).code, 0);
    assert.deepEqual(await sharp(out2).raw().toBuffer(), await sharp(out).raw().toBuffer());
  });
}

test('image encode prints the grid as text', () => {
  const r = run(['image', 'encode', imgPath, '--model', MHA]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /4×4 codes \(64-entry codebook, 32×32 input\)/);
  assert.equal(r.out.trim().split('\n').length, 5);
});

test('bad input: one clear line and exit code 2', () => {
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const out = join(dir, 'x.png');
  oneLineError(run(['image', 'decode', write('short.json', '[1,2,3]'), '--model', MHA, '-o', out]), /3 codes, but this tokenizer decodes 4×4 = 16 codes/);
  oneLineError(run(['image', 'decode', write('range.json', JSON.stringify(Array(16).fill(64))), '--model', MHA, '-o', out]), /code 64 at position 0 is outside the codebook \[0, 64\)/);
  oneLineError(run(['image', 'decode', write('neg.json', JSON.stringify([-1, ...Array(15).fill(0)])), '--model', MHA, '-o', out]), /code -1 at position 0/);
  oneLineError(run(['image', 'decode', write('notjson.json', 'hello'), '--model', MHA, '-o', out]), /not JSON/);
  oneLineError(run(['image', 'decode', write('ok.json', JSON.stringify(Array(16).fill(1))), '--model', GQA, '-o', out]), /no decoder weights/);
  assert.ok(!existsSync(out));
  oneLineError(run(['image', 'encode', write('text.png', 'hello there'), '--model', MHA]), /text\.png: text, not an image; supported: PNG, JPEG, WebP, GIF/);
  oneLineError(run(['image', 'encode', join(dir, 'missing.png'), '--model', MHA]), /missing\.png: cannot read the file/);
  oneLineError(run(['image', 'encode', imgPath, '--model', dir]), /no config\.json/);
  oneLineError(run(['train', 'vq', '--images', join(dir, 'nothing-here')]), /--images .*no such file or directory/);
  oneLineError(run(['train', 'vq', '--images', dir, '--config', 'huge']), /unknown preset 'huge'/);
});
