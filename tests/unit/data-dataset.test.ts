// Building a dataset from JSONL with a tiny model's tokenizers and reading it back: the documented
// Python standard-library reader (extracted from docs/data-format.md, run with /usr/bin/python3)
// reads the same documents as our loader; the first epoch's targets are exactly the masked tokens of
// the train split; corrupt and truncated shards are refused by name; long documents are counted.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, cpSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { buildDataset, defaultImageBatch, loadDataTokenizers } from '../../src/train/data/build.node.js';
import { openDataset, openDocuments } from '../../src/train/data/dataset.node.js';
import { IGNORE_INDEX } from '../../src/train/data/batch.js';
import { chooseValidation, crc32 } from '../../src/train/data/shards.js';
import { parseDocumentLine, tokenizeDocument } from '../../src/train/data/documents.js';

const dir = mkdtempSync(join(tmpdir(), 'data-dataset-'));
const engine = new Engine(createRefBackend());
after(() => {
  engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const model = join(dir, 'model');
writeTinyModel(engine, model);
const px = Buffer.alloc(40 * 36 * 3);
for (let i = 0; i < px.length; i++) px[i] = (i * 29) % 251;
await sharp(px, { raw: { width: 40, height: 36, channels: 3 } }).png().toFile(join(dir, 'pic.png'));
const dataUrl = `data:image/png;base64,${(await sharp(px, { raw: { width: 40, height: 36, channels: 3 } }).flip().png().toBuffer()).toString('base64')}`;

const words = ['red', 'circle', 'blue', 'square', 'the', 'small', 'draw', 'world', 'hello', 'star'];
const lines: string[] = [];
for (let i = 0; i < 60; i++) {
  const text = Array.from({ length: 3 + ((i * 7) % 40) }, (_, j) => words[(i * 3 + j * 5) % words.length]).join(' ');
  if (i % 5 === 1) lines.push(JSON.stringify({ kind: 'caption', segments: [{ image: 'pic.png' }, { text }] }));
  else if (i % 5 === 3) lines.push(JSON.stringify({ kind: 'chat', messages: [{ role: 'user', content: text }, { role: 'assistant', content: [{ image: dataUrl }, { text: 'done' }] }] }));
  else lines.push(JSON.stringify({ kind: 'text', segments: [{ text }] }));
}
writeFileSync(join(dir, 'docs.jsonl'), lines.join('\n') + '\n');
const tk = await loadDataTokenizers(engine, model);
const out = join(dir, 'data');
const result = await buildDataset(engine, tk, { inputs: [join(dir, 'docs.jsonl')], out, valFraction: 0.1, seed: 3, shardTokens: 500, progress: null, workers: 2 });

test('crc32 matches the standard check value; the validation choice is exact and seeded', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const v = chooseValidation(100, 0.05, 1);
  assert.equal(v.reduce((a, b) => a + b, 0), 5);
  assert.deepEqual(chooseValidation(100, 0.05, 1), v);
  assert.notDeepEqual(chooseValidation(100, 0.05, 2), v);
  assert.equal(chooseValidation(3, 0.01, 0).reduce((a, b) => a + b, 0), 1, 'at least one when the fraction is above 0');
});

test('image batches shrink with the resolution (a 512×512 batch of 4 exceeds the wasm heap)', () => {
  assert.deepEqual([32, 64, 128, 256, 512].map(defaultImageBatch), [8, 8, 2, 1, 1]);
});

test('build: counts, several shards, documents as tokenizeDocument lays them out', () => {
  assert.equal(result.documents, 60);
  assert.deepEqual(result.byKind, { text: 36, caption: 12, chat: 12 });
  assert.equal(result.valDocuments, 6);
  // 24 image references: pic.png (12 captions) is encoded until its codes are cached, then reused;
  // the 12 data URLs are never cached.
  assert.equal(result.images + result.imagesReused, 24);
  assert.ok(result.imagesReused >= 4 && result.images >= 13, `${result.images} encoded, ${result.imagesReused} reused`);
  assert.ok(result.shards > 1, `${result.shards} shards`);
  const store = openDocuments(out);
  try {
    const d = store.index.documents;
    assert.equal(d.count, 60);
    // A text document is BOS + BPE + EOS; the caption's image block is BOI, 16 codes, EOI.
    const expected = tokenizeDocument(parseDocumentLine(lines[0]), tk.parts, () => []);
    assert.deepEqual(store.read(0), { tokens: expected.tokens, mask: expected.mask });
    const cap = store.read(1).tokens;
    const v = store.index.vocab;
    assert.equal(cap[1], v.boi);
    assert.equal(cap[2 + v.imageTokens], v.eoi);
    assert.ok(Array.from(cap.subarray(2, 2 + v.imageTokens)).every((t) => t >= v.imageStart && t < v.imageStart + v.codebookSize));
    // Every caption carries pic.png's codes, whether encoded for it or reused from the cache.
    const code = (i: number): number[] => Array.from(store.read(i).tokens.subarray(2, 2 + v.imageTokens));
    for (let i = 6; i < 60; i += 5) assert.deepEqual(code(i), code(1), `caption ${i}`);
  } finally {
    store.close();
  }
});

test('the Python reader of docs/data-format.md reads what our loader reads', () => {
  const doc = readFileSync('docs/data-format.md', 'utf8');
  const m = /```python reader\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'the doc has a ```python reader block');
  const script = `${m[1]}\nimport json, sys\nroot = sys.argv[1]\nindex = load_index(root)\nprint(json.dumps([read_document(root, index, i) for i in range(index["documents"]["count"])]))\n`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, out], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const py = JSON.parse(r.stdout) as [number[], number[]][];
  const store = openDocuments(out);
  try {
    assert.equal(py.length, store.index.documents.count);
    py.forEach(([ids, mask], i) => {
      const ours = store.read(i);
      assert.deepEqual(ids, Array.from(ours.tokens), `document ${i} tokens`);
      assert.deepEqual(mask, Array.from(ours.mask), `document ${i} mask`);
    });
    // The first training epoch's targets are exactly the masked tokens of the train documents.
    const d = store.index.documents;
    const want = py.flatMap(([ids, mask], i) => (d.split[i] === 0 ? ids.filter((_, j) => mask[j] === 1) : [])).sort((a, b) => a - b);
    const ds = openDataset(out, { split: 'train', seqLen: 32, batch: 4, seed: 9 });
    const got: number[] = [];
    while (got.length < want.length) for (const t of ds.next().targets) if (t !== IGNORE_INDEX) got.push(t);
    ds.close();
    assert.deepEqual(got.slice(0, want.length).sort((a, b) => a - b), want);
    assert.ok(ds.info.longDocuments > 0, 'some documents are longer than 32 positions (split)');
  } finally {
    store.close();
  }
});

test('validation split: index order, disjoint from train; long documents dropped with a count', () => {
  const val = openDataset(out, { split: 'val', seqLen: 64, batch: 2, seed: 0 });
  assert.equal(val.info.documents, 6);
  val.close();
  const keep = openDataset(out, { split: 'train', seqLen: 32, batch: 2, seed: 0 });
  const drop = openDataset(out, { split: 'train', seqLen: 32, batch: 2, seed: 0, longDocs: 'drop' });
  assert.equal(drop.info.droppedDocuments, keep.info.longDocuments);
  assert.equal(drop.info.documents, keep.info.documents - keep.info.longDocuments);
  for (let k = 0; k < 10; k++) {
    const b = drop.next();
    for (let r = 0; r < 2; r++) assert.equal(b.positions[r * 32], 0, 'with dropping no piece continues a document');
  }
  keep.close();
  drop.close();
  assert.throws(() => openDataset(out, { split: 'train', seqLen: 2, batch: 1, seed: 0, longDocs: 'drop' }), /no documents with targets \(all \d+ were longer than seqLen 2 and dropped\)/);
});

test('a corrupt or truncated shard is refused by name, never read', () => {
  const bad = join(dir, 'bad');
  cpSync(out, bad, { recursive: true });
  const tok = join(bad, 'shard-00001.tok');
  const bytes = readFileSync(tok);
  bytes[7] ^= 0x10;
  writeFileSync(tok, bytes);
  assert.throws(() => openDataset(bad, { split: 'train', seqLen: 32, batch: 1, seed: 0 }), /shard-00001\.tok: shard checksum [0-9a-f]+ differs from the index's [0-9a-f]+ \(corrupt\)/);
  bytes[7] ^= 0x10;
  writeFileSync(tok, bytes);
  openDataset(bad, { split: 'train', seqLen: 32, batch: 1, seed: 0 }).close();
  const mask = join(bad, 'shard-00000.mask');
  truncateSync(mask, statSync(mask).size - 3);
  assert.throws(() => openDataset(bad, { split: 'train', seqLen: 32, batch: 1, seed: 0, verify: 'size' }), /shard-00000\.mask: shard is \d+ bytes but the index says \d+ \(truncated or replaced\)/);
  rmSync(mask);
  assert.throws(() => openDataset(bad, { split: 'train', seqLen: 32, batch: 1, seed: 0 }), /shard-00000\.mask: cannot open/);
  writeFileSync(join(bad, 'index.json'), '{"format":"chameleon-ts/token-shards"');
  assert.throws(() => openDataset(bad, { split: 'train', seqLen: 32, batch: 1, seed: 0 }), /index\.json: not valid JSON/);
  const idx = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { documents: { offset: number[] } };
  idx.documents.offset[0] = 1e6;
  writeFileSync(join(bad, 'index.json'), JSON.stringify(idx));
  assert.throws(() => openDataset(bad, { split: 'train', seqLen: 32, batch: 1, seed: 0 }), /document 0 lies outside its shard/);
  assert.throws(() => openDataset(join(dir, 'model'), { split: 'train', seqLen: 32, batch: 1, seed: 0 }), /no index\.json \(not a dataset directory/);
});

test('worker threads and the main thread build byte-identical datasets (image documents kept in order)', async () => {
  const solo = join(dir, 'solo');
  const r = await buildDataset(engine, tk, { inputs: [join(dir, 'docs.jsonl')], out: solo, valFraction: 0.1, seed: 3, shardTokens: 500, progress: null, workers: 0 });
  assert.equal(r.shards, result.shards);
  assert.deepEqual(readFileSync(join(solo, 'index.json')), readFileSync(join(out, 'index.json')));
  for (let i = 0; i < r.shards; i++) {
    for (const ext of ['tok', 'mask']) {
      const f = `shard-${String(i).padStart(5, '0')}.${ext}`;
      assert.deepEqual(readFileSync(join(solo, f)), readFileSync(join(out, f)), f);
    }
  }
});
