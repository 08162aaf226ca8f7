// The data loader's core on in-memory documents (no files): a hand-built pack's inputs, targets,
// segment ids and positions; separators mode; long documents cut into overlapping pieces; same seed
// -> same batches; restore(state) continues identically; every target exactly once per epoch;
// per-batch modality balancing; token-share mixing per kind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IGNORE_INDEX, type TokenBatch } from '../../src/train/data/batch.js';
import { DocSampler, type SamplerDoc } from '../../src/train/data/sampler.js';
import { PackedBatchSource, type DocReader, type Packing } from '../../src/train/data/packer.js';

interface MemDoc {
  tokens: number[];
  mask?: number[];
  kind?: string;
}

const IMG0 = 4;
const IMG1 = 68; // image ids [4, 68)

function reader(docs: MemDoc[]): DocReader {
  return {
    read: (i) => ({ tokens: Int32Array.from(docs[i].tokens), mask: Uint8Array.from(docs[i].mask ?? docs[i].tokens.map((_, j) => (j === 0 ? 0 : 1))) }),
  };
}

function samplerDocs(docs: MemDoc[]): SamplerDoc[] {
  return docs.map((d, id) => {
    const m = d.mask ?? d.tokens.map((_, j) => (j === 0 ? 0 : 1));
    return { id, tokens: d.tokens.length, kind: d.kind ?? 'text', imageTargets: d.tokens.some((t, j) => m[j] === 1 && t >= IMG0 && t < IMG1) };
  });
}

function source(docs: MemDoc[], o: { seqLen: number; batch: number; seed?: number; packing?: Packing; shuffle?: boolean; mix?: Record<string, number>; balance?: boolean }): PackedBatchSource {
  const sampler = new DocSampler(samplerDocs(docs), { seed: o.seed ?? 0, shuffle: o.shuffle, mix: o.mix, balance: o.balance });
  return new PackedBatchSource(sampler, reader(docs), { seqLen: o.seqLen, batch: o.batch, packing: o.packing ?? 'segments', padId: 1, imageStart: IMG0, imageEnd: IMG1 });
}

const I = IGNORE_INDEX;

test('a hand-built pack: inputs, targets, segment ids and positions (segments mode)', () => {
  // doc A = [0 100 101 2] (3 positions), doc B = [0 200 2] (2), doc C = [0 300 301 302 2] (4): T = 6.
  const docs: MemDoc[] = [{ tokens: [0, 100, 101, 2] }, { tokens: [0, 200, 2] }, { tokens: [0, 300, 301, 302, 2] }];
  const b = source(docs, { seqLen: 6, batch: 2, shuffle: false }).next();
  // Row 0: A then B fill 5 positions; C (4) does not fit the last one -> padding. Row 1: C, then A
  // (next epoch) needs 3 positions but 2 are left -> padding.
  assert.deepEqual(Array.from(b.inputs), [0, 100, 101, 0, 200, 1, 0, 300, 301, 302, 1, 1]);
  assert.deepEqual(Array.from(b.targets), [100, 101, 2, 200, 2, I, 300, 301, 302, 2, I, I]);
  assert.deepEqual(Array.from(b.segIds!), [0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(b.positions), [0, 1, 2, 0, 1, 0, 0, 1, 2, 3, 0, 1]);
  assert.equal(b.textTargets, 9);
  assert.equal(b.imageTargets, 0);
  assert.deepEqual([b.batch, b.seqLen], [2, 6]);
});

test('separators mode: no segment ids, positions count along the row', () => {
  const docs: MemDoc[] = [{ tokens: [0, 100, 101, 2] }, { tokens: [0, 200, 2] }];
  const b = source(docs, { seqLen: 6, batch: 1, shuffle: false, packing: 'separators' }).next();
  assert.equal(b.segIds, null);
  assert.deepEqual(Array.from(b.inputs), [0, 100, 101, 0, 200, 1]);
  assert.deepEqual(Array.from(b.positions), [0, 1, 2, 3, 4, 5]);
});

test('masked prompt tokens and image targets are counted per modality', () => {
  // chat-like: BOS user(50 51 EOT) assistant(IMG IMG EOT) with mask on the assistant part only
  const docs: MemDoc[] = [{ tokens: [0, 50, 51, 70, 10, 11, 70], mask: [0, 0, 0, 0, 1, 1, 1] }];
  const b = source(docs, { seqLen: 6, batch: 1, shuffle: false }).next();
  assert.deepEqual(Array.from(b.targets), [I, I, I, 10, 11, 70]);
  assert.deepEqual([b.textTargets, b.imageTargets], [1, 2]);
});

test('a document longer than a row is cut into row-sized pieces overlapping by one token', () => {
  const long = { tokens: [0, 1001, 1002, 1003, 1004, 1005, 1006, 2] }; // 7 positions, T = 3 -> 3, 3, 1
  const b = source([long], { seqLen: 3, batch: 3, shuffle: false }).next();
  assert.deepEqual(Array.from(b.inputs), [0, 1001, 1002, 1003, 1004, 1005, 1006, 1, 1]);
  assert.deepEqual(Array.from(b.targets), [1001, 1002, 1003, 1004, 1005, 1006, 2, I, I]);
  assert.deepEqual(Array.from(b.positions), [0, 1, 2, 0, 1, 2, 0, 0, 1]);
  assert.deepEqual(Array.from(b.segIds!), [0, 0, 0, 0, 0, 0, 0, 1, 1]);
});

/** Documents whose target tokens are all distinct: doc i token j = 1000·(i+1) + j (BOS 0 first). */
function uniqueDocs(n: number, seed: number, kinds = ['text']): MemDoc[] {
  let r = seed;
  return Array.from({ length: n }, (_, i) => {
    r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    const len = 2 + (r % 23);
    return { tokens: [0, ...Array.from({ length: len - 1 }, (_, j) => 1000 * (i + 1) + j + 1)], kind: kinds[i % kinds.length] };
  });
}

function targetsOf(b: TokenBatch): number[] {
  return Array.from(b.targets).filter((t) => t !== IGNORE_INDEX);
}

test('every target token appears exactly once per epoch (two epochs, long documents split)', () => {
  const docs = uniqueDocs(40, 7);
  const all = docs.flatMap((d) => d.tokens.slice(1)).sort((a, b) => a - b);
  const src = source(docs, { seqLen: 8, batch: 3, seed: 5 });
  const stream: number[] = [];
  while (stream.length < 2 * all.length) stream.push(...targetsOf(src.next()));
  const e0 = stream.slice(0, all.length).sort((a, b) => a - b);
  const e1 = stream.slice(all.length, 2 * all.length).sort((a, b) => a - b);
  assert.deepEqual(e0, all);
  assert.deepEqual(e1, all);
  assert.notDeepEqual(stream.slice(0, all.length), stream.slice(all.length, 2 * all.length), 'each epoch is shuffled anew');
});

function batches(src: PackedBatchSource, n: number): TokenBatch[] {
  return Array.from({ length: n }, () => src.next());
}

test('same seed -> same batches; another seed -> another order', () => {
  const docs = uniqueDocs(30, 3);
  const a = batches(source(docs, { seqLen: 16, batch: 2, seed: 11 }), 12);
  const b = batches(source(docs, { seqLen: 16, batch: 2, seed: 11 }), 12);
  const c = batches(source(docs, { seqLen: 16, batch: 2, seed: 12 }), 12);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((x) => Array.from(x.inputs)), c.map((x) => Array.from(x.inputs)));
});

test('restore(state) continues identically, across epochs and mid-document, through JSON', () => {
  const docs = uniqueDocs(25, 9, ['text', 'chat']);
  for (const cfg of [{ seqLen: 7, batch: 2 }, { seqLen: 12, batch: 3, mix: { text: 1, chat: 3 } }, { seqLen: 9, batch: 2, balance: true }]) {
    const ref = source(docs, { ...cfg, seed: 4 });
    const expected = batches(ref, 40);
    for (const at of [0, 1, 7, 23]) {
      const a = source(docs, { ...cfg, seed: 4 });
      batches(a, at);
      const saved = JSON.parse(JSON.stringify(a.state())) as Record<string, unknown>;
      const b = source(docs, { ...cfg, seed: 4 });
      b.restore(saved);
      assert.deepEqual(batches(b, 40 - at), expected.slice(at), `resume after ${at} batches (${JSON.stringify(cfg)})`);
    }
  }
});

test('restore refuses a state from another configuration', () => {
  const docs = uniqueDocs(10, 1, ['text', 'chat']);
  const s = source(docs, { seqLen: 8, batch: 1, mix: { text: 1, chat: 1 } }).state();
  assert.throws(() => source(docs, { seqLen: 8, batch: 1 }).restore(s), /does not match/);
});

test('modality balancing keeps each batch near the dataset share of image-answer documents', () => {
  // 10 of 40 documents answer with image tokens; without balancing a seed can bunch them.
  const docs: MemDoc[] = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? { tokens: [0, 9, 10, 11, 2] } : { tokens: [0, 500 + i, 501 + i, 502 + i, 2] }));
  const worst = (balance: boolean, seed: number): number => {
    const src = source(docs, { seqLen: 8, batch: 4, seed, balance }); // 2 docs per row, 8 docs per batch
    let w = 0;
    for (let k = 0; k < 5; k++) {
      const b = src.next();
      w = Math.max(w, Math.abs(b.imageTargets / 3 - 2)); // 3 image targets per image doc; ideal 8 × 1/4 = 2 per batch
    }
    return w;
  };
  for (let seed = 0; seed < 20; seed++) assert.ok(worst(true, seed) <= 1, `balanced batches stay within one document of the share (seed ${seed})`);
  assert.ok(Array.from({ length: 20 }, (_, s) => worst(false, s)).some((w) => w > 1), 'without balancing some batch strays further');
});

test('mixing ratios: token shares follow the weights, each kind cycling on its own', () => {
  const docs = uniqueDocs(60, 2, ['text', 'caption', 'chat']);
  const kindOf = new Map<number, string>();
  docs.forEach((d) => d.tokens.slice(1).forEach((t) => kindOf.set(t, d.kind!)));
  const src = source(docs, { seqLen: 32, batch: 4, seed: 1, mix: { text: 2, caption: 1, chat: 0 } });
  const count: Record<string, number> = { text: 0, caption: 0, chat: 0 };
  for (let k = 0; k < 60; k++) for (const t of targetsOf(src.next())) count[kindOf.get(t)!]++;
  assert.equal(count.chat, 0, 'weight 0 leaves a kind out');
  const share = count.text / (count.text + count.caption);
  assert.ok(Math.abs(share - 2 / 3) < 0.02, `text share ${share.toFixed(3)} ≈ 2/3`);
  assert.throws(() => source(docs, { seqLen: 8, batch: 1, mix: { interleaved: 1 } }), /no "interleaved" documents/);
  assert.throws(() => source(docs, { seqLen: 8, batch: 1, mix: { text: -1 } }), /mix\.text/);
});

test('restore refuses a state taken with another batch shape or packing', () => {
  const docs = uniqueDocs(10, 1);
  const s = source(docs, { seqLen: 8, batch: 2 }).state();
  assert.throws(() => source(docs, { seqLen: 16, batch: 2 }).restore(s), /batches of 2x8 segments/);
  assert.throws(() => source(docs, { seqLen: 8, batch: 2, packing: 'separators' }).restore(s), /2x8 separators/);
});
