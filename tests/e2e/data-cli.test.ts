// `chameleon data build` as a user runs it (child processes on the compiled CLI) on a tiny model:
// a mixed build with its summary and --json, and each bad input as one `chameleon:` line with exit
// code 2 naming file and line: malformed JSONL (fatal, or skipped with a count), missing and
// undecodable images, an empty dataset, a model without the tokenizers it needs, an existing --out.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'data-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const model = join(dir, 'model');
const e = new Engine(createRefBackend());
writeTinyModel(e, model);
e.dispose();
const px = Buffer.alloc(32 * 32 * 3, 90);
await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(dir, 'ok.png'));
writeFileSync(join(dir, 'broken.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40, 7)]));

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

let n = 0;
function jsonl(lines: unknown[]): string {
  const f = join(dir, `in-${n++}.jsonl`);
  writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return f;
}
const outDir = (): string => join(dir, `out-${n++}`);
const TEXT = { kind: 'text', segments: [{ text: 'hello world' }] };

test('data build: a mixed dataset, its summary and --json', () => {
  const f = jsonl([
    TEXT,
    { kind: 'caption', segments: [{ image: 'ok.png' }, { text: 'a grey square' }] },
    { kind: 'chat', messages: [{ role: 'user', content: 'draw it' }, { role: 'assistant', content: [{ image: 'ok.png' }] }] },
    { kind: 'text', segments: [{ text: 'the small star '.repeat(80) }] },
  ]);
  const out = outDir();
  const r = run(['data', 'build', f, '--model', model, '--out', out, '--backend', 'ref']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /wrote .*: 4 documents \(2 text, 1 caption, 1 chat; 3 train, 1 val\), .* tokens .*, 2 images encoded, 1 shard/);
  assert.match(r.out, /MB\/s, .* tokens\/s/);
  assert.match(r.err, /note: 1 documents are longer than the model's context \(256 tokens\)/);
  assert.ok(existsSync(join(out, 'index.json')) && existsSync(join(out, 'shard-00000.tok')) && existsSync(join(out, 'shard-00000.mask')));
  oneLineError(run(['data', 'build', f, '--model', model, '--out', out]), /already holds a dataset \(index\.json\); pass --overwrite/);
  const j = run(['data', 'build', f, '--model', model, '--out', out, '--overwrite', '--json', '--val-fraction', '0']);
  assert.equal(j.code, 0, j.err);
  const s = JSON.parse(j.out) as { documents: number; valDocuments: number; images: number; skipped: number };
  assert.deepEqual([s.documents, s.valDocuments, s.images, s.skipped], [4, 0, 2, 0]);
});

test('the example file of docs/data-format.md builds (every kind, images as data URLs)', () => {
  const out = outDir();
  const r = run(['data', 'build', 'tests/fixtures/data/example.jsonl', '--model', model, '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as { documents: number; images: number; byKind: Record<string, number> };
  assert.deepEqual([s.documents, s.images, s.byKind], [6, 6, { text: 1, caption: 2, interleaved: 1, chat: 2 }]);
});

test('malformed JSONL: fatal names file and line; skip counts and reports it', () => {
  const f = jsonl([TEXT, TEXT, '{"kind": "text", "segments": [', { kind: 'nope' }, TEXT]);
  oneLineError(run(['data', 'build', f, '--model', model, '--out', outDir(), '--on-error', 'fatal']), new RegExp(`${f.replace(/[.]/g, '\\.')}:3: not valid JSON .*\\(--on-error fatal\\)`));
  const r = run(['data', 'build', f, '--model', model, '--out', outDir()]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /3 documents/);
  assert.match(r.err, new RegExp(`skipped 2 lines; first: ${f.replace(/[.]/g, '\\.')}:3: not valid JSON.* \\| .*:4: "kind" must be one of`));
});

test('missing and undecodable images name file and line', () => {
  const f = jsonl([TEXT, { kind: 'caption', segments: [{ image: 'nope.png' }, { text: 'x' }] }]);
  oneLineError(run(['data', 'build', f, '--model', model, '--out', outDir(), '--on-error', 'fatal']), /in-\d+\.jsonl:2: image "nope\.png" not found \(looked at .*nope\.png\)/);
  const g = jsonl([{ kind: 'interleaved', segments: [{ text: 'x' }, { image: 'broken.png' }] }, TEXT]);
  oneLineError(run(['data', 'build', g, '--model', model, '--out', outDir(), '--on-error', 'fatal']), /in-\d+\.jsonl:1: broken\.png: corrupt or truncated PNG/);
  const h = jsonl([{ kind: 'caption', segments: [{ image: 'data:image/png;base64,AAAA' }, { text: 'x' }] }]);
  oneLineError(run(['data', 'build', h, '--model', model, '--out', outDir(), '--on-error', 'fatal']), /in-\d+\.jsonl:1: data URL image: /);
});

test('an empty dataset is refused', () => {
  oneLineError(run(['data', 'build', jsonl(['', '   ']), '--model', model, '--out', outDir()]), /no documents; the dataset would be empty/);
  oneLineError(run(['data', 'build', jsonl(['not json', '[]']), '--model', model, '--out', outDir()]), /no documents; all 2 non-empty lines were skipped \(first: .*:1: not valid JSON/);
  oneLineError(run(['data', 'build', join(dir, 'absent.jsonl'), '--model', model, '--out', outDir()]), /absent\.jsonl: no such file/);
});

test('a model directory without the tokenizers it needs', () => {
  const noTok = join(dir, 'no-tok');
  mkdirSync(noTok);
  copyFileSync(join(model, 'config.json'), join(noTok, 'config.json'));
  oneLineError(run(['data', 'build', jsonl([TEXT]), '--model', noTok, '--out', outDir()]), /no-tok: no tokenizer\.json \(data build needs the model's text tokenizer\)/);
  copyFileSync(join(model, 'tokenizer.json'), join(noTok, 'tokenizer.json'));
  const img = jsonl([TEXT, { kind: 'caption', segments: [{ image: 'ok.png' }, { text: 'x' }] }]);
  oneLineError(run(['data', 'build', img, '--model', noTok, '--out', outDir()]), /:2: the document has images but --model .*no-tok has no image tokenizer/);
  oneLineError(run(['data', 'build', jsonl([TEXT]), '--model', join(dir, 'nowhere'), '--out', outDir()]), /nowhere: no config\.json/);
});

test('data build --help lists the options', () => {
  const r = run(['data', 'build', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--model', '--out', '--val-fraction', '--seed', '--on-error', '--shard-tokens']) assert.match(r.out, new RegExp(flag));
});
