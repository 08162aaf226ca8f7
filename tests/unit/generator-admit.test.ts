// Continuous batching in the generator (BatchSession): a request admitted between two steps of a
// running batch gives exactly the ids it gives alone, and the running requests' ids do not change;
// slots limit how many run, finished requests free theirs, the shared cache compacts so a session
// outlives the context, errors and early finishes name the right request, and partial-image previews
// stay within their time budget (a fake clock makes that exact). Random-weight tiny model, sampling.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { BatchSession, ChameleonGenerator, type GenerateRequest, type GeneratorParts } from '../../src/generate/generator.js';
import { resolveOptions, type GenerateOptionsInput } from '../../src/generate/options.js';
import { vocabFromMap } from '../../src/generate/vocab.js';
import type { GenEvent } from '../../src/generate/events.js';
import { backendsUnderTest, type NamedBackend } from '../helpers/backends.js';

const map = (JSON.parse(readFileSync('tests/fixtures/hf-chameleon/mha/config.json', 'utf8')) as { vocabulary_map: Record<string, number> }).vocabulary_map;
const cfg = { ...presetConfig('tiny'), vocabularyMap: map, numHiddenLayers: 2, maxPositionEmbeddings: 64, warnings: [] } as ChameleonConfig;
const vocab = vocabFromMap(map, cfg.vocabSize);
const N = 16;

let backends: NamedBackend[] = [];
let engine: Engine;
let parts: GeneratorParts;

before(async () => {
  backends = await backendsUnderTest();
  engine = new Engine(backends[backends.length - 1].backend); // wasm
  parts = { model: ChameleonModel.create(engine, cfg, 99), vocab, imageTokens: N };
});

after(async () => {
  engine.dispose();
  for (const b of backends) await b.backend.dispose();
});

/** A prompt of BOS + n text ids (distinct per seed), and a sampled request over it. */
const textIds = [...vocab.textMask.keys()].filter((i) => vocab.textMask[i]);
const prompt = (n: number, seed: number): number[] => [vocab.bos, ...Array.from({ length: n }, (_, i) => textIds[(seed * 37 + i * 11) % textIds.length])];
function req(n: number, o: GenerateOptionsInput, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  const seed = o.seed ?? 0;
  return { prompt: prompt(n, seed), options: resolveOptions({ maxNewTokens: 30, text: { temperature: 1.2 }, image: { temperature: 1.2 }, ...o }), ...extra };
}

async function alone(r: GenerateRequest): Promise<number[]> {
  for await (const ev of new ChameleonGenerator(parts).stream([r])) if (ev.type === 'done') return ev.ids;
  throw new Error('no done event');
}

/** Steps a session until idle, admitting plan[k] before step k; returns each request's final ids. */
async function drive(s: BatchSession, plan: Map<number, GenerateRequest[]>, onStep?: (k: number, evs: GenEvent[]) => void): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  for (let k = 0; k < 500; k++) {
    for (const r of plan.get(k) ?? []) s.admit(r);
    if (s.idle && ![...plan.keys()].some((j) => j > k)) break;
    const evs = await s.step();
    onStep?.(k, evs);
    for (const ev of evs) if (ev.type === 'done') out.set(ev.request, ev.ids);
  }
  return out;
}

test('a request admitted at step k of a running batch gives the ids it gives alone; the running ones are unchanged', async () => {
  const a = req(9, { mode: 'image', seed: 1, maxNewTokens: N + 2, image: { cfg: '3way' } }); // 3 rows while drawing
  const b = req(3, { mode: 'text', seed: 2, maxNewTokens: 40 });
  const c = req(20, { mode: 'image', seed: 3, image: { cfg: '2way' } }, { negativePrompt: [textIds[5], textIds[9]] }); // longer than the cache so far
  const d = req(1, { mode: 'interleaved', seed: 4, text: { topK: 30 } });
  const want = await Promise.all([a, b, c, d].map(alone));
  assert.ok(want[0].some((id) => vocab.codeOf(id) >= 0) && want[2].some((id) => vocab.codeOf(id) >= 0), 'the image requests draw images');
  assert.ok(want[1].length - b.prompt.length >= 30 && want[3].length - d.prompt.length >= 10, `text runs long enough (${want.map((w) => w.length)})`);
  // k = 1: before A's guidance rows exist; 4: while A draws with CFG; 25: after A left.
  for (const k of [1, 4, 25]) {
    const s = new ChameleonGenerator(parts).session();
    try {
      const got = await drive(s, new Map([[0, [a, b]], [k, [c, d]]]));
      for (let i = 0; i < 4; i++) assert.deepEqual(got.get(i), want[i], `request ${i}, admitted ${i < 2 ? 'first' : `at step ${k}`}`);
    } finally {
      s.dispose();
    }
  }
});

test('slots: at most maxRequests run, the rest wait in order and start when a request finishes', async () => {
  const reqs = [
    req(4, { mode: 'text', seed: 5, maxNewTokens: 6 }),
    req(2, { mode: 'image', seed: 6, image: { cfg: '3way' } }),
    req(7, { mode: 'text', seed: 7, maxNewTokens: 12 }),
    req(3, { mode: 'image', seed: 8, image: { cfg: 'off' } }),
  ];
  const want = await Promise.all(reqs.map(alone));
  const g = new ChameleonGenerator(parts);
  let step = 0;
  const firstToken = new Map<number, number>();
  g.onToken = (r) => void (firstToken.has(r) || firstToken.set(r, step));
  const s = g.session({ maxRequests: 2 });
  const doneAt = new Map<number, number>();
  try {
    const got = await drive(s, new Map([[0, reqs]]), (k, evs) => {
      assert.ok(s.runningCount <= 2 && s.rowCount <= 4, `step ${k}: ${s.runningCount} running, ${s.rowCount} rows`);
      for (const ev of evs) if (ev.type === 'done') doneAt.set(ev.request, k);
      step = k + 1;
    });
    for (let i = 0; i < reqs.length; i++) assert.deepEqual(got.get(i), want[i], `request ${i}`);
    assert.equal(firstToken.get(0), 0);
    assert.equal(firstToken.get(1), 0);
    // Request 0 finishes first (6 tokens); request 2 takes its slot at the next step, 3 waits for 1 or 2.
    assert.ok(doneAt.get(0)! < doneAt.get(1)!);
    assert.equal(firstToken.get(2), doneAt.get(0)! + 1);
    assert.equal(firstToken.get(3), Math.min(doneAt.get(1)!, doneAt.get(2)!) + 1);
  } finally {
    s.dispose();
  }
});

test('the shared cache compacts as rows leave: a session outlives the context, long and short requests mix', async () => {
  // Context 64. Batched without compaction, the cache would keep the 40-token prompt's padding for
  // the short request's whole budget (40 + 50 > 64), and a server session would grow without end.
  const long = req(40, { mode: 'text', seed: 9, maxNewTokens: 4 });
  const short = req(2, { mode: 'text', seed: 10, maxNewTokens: 50, text: { temperature: 0.8 } });
  const serial = Array.from({ length: 6 }, (_, i) => req(5, { mode: i % 2 ? 'image' : 'text', seed: 20 + i, maxNewTokens: N + 2 }));
  const want = await Promise.all([long, short, ...serial].map(alone));
  assert.ok(want[1].length > 20, 'the short request runs long enough to outlast the long one');
  const s = new ChameleonGenerator(parts).session({ maxRequests: 3 });
  try {
    // One new request every 7 steps: 6 × 23 positions in all, far past the 64-token context.
    const plan = new Map<number, GenerateRequest[]>([[0, [long, short]], ...serial.map((r, i) => [1 + i * 7, [r]] as [number, GenerateRequest[]])]);
    const got = await drive(s, plan);
    [long, short, ...serial].forEach((_, i) => assert.deepEqual(got.get(i), want[i], `request ${i}`));
  } finally {
    s.dispose();
  }
});

test('errors and early finishes name the right request; a request aborted while waiting never runs', async () => {
  const g = new ChameleonGenerator(parts);
  const s = g.session({ maxRequests: 1 });
  try {
    s.admit(req(2, { seed: 1 }));
    assert.throws(() => s.admit({ prompt: [5, 6], options: resolveOptions() }), /^ChameleonError: request 1: the prompt must start with BOS/);
    assert.throws(() => s.admit(req(70, {})), /^ChameleonError: request 2: prompt of 71 tokens leaves no room/);
    const ac = new AbortController();
    assert.equal(s.admit(req(3, { seed: 2 }, { signal: ac.signal })), 3);
    ac.abort();
    const evs = await s.step();
    const d = evs.find((e) => e.type === 'done');
    assert.ok(d && d.type === 'done', 'the aborted waiting request finishes at the next step');
    assert.equal(d.request, 3);
    assert.equal(d.reason, 'abort');
    assert.equal(d.generatedTokens, 0);
    assert.equal(s.waitingCount, 0);
  } finally {
    s.dispose();
  }
  // A request with nothing to generate (image mode, maxImages 0) finishes at once, under its own index.
  const evs: GenEvent[] = [];
  for await (const ev of g.stream([req(2, { mode: 'text', seed: 3, maxNewTokens: 3 }), req(2, { mode: 'image', maxImages: 0 })])) evs.push(ev);
  const done = evs.filter((e) => e.type === 'done');
  assert.deepEqual(done.map((e) => e.request).sort(), [0, 1]);
  const early = done.find((e) => e.type === 'done' && e.reason === 'images');
  assert.ok(early && early.type === 'done' && early.generatedTokens === 0);
  assert.equal(early.request, 1, 'the early finish is reported for request 1');
});

test('previews: rendered within the time budget (fake clock), never block or change the ids', async () => {
  let now = 0;
  const RENDER = 50; // fake ms per preview render; every sampled token costs 1 fake ms
  let renders = 0;
  const image = { render: async () => ((now += RENDER), renders++, { png: new Uint8Array([1]), width: 1, height: 1 }) };
  const run = async (budget: number): Promise<{ ids: number[]; tokens: number[]; previews: number; total: number; renders: number }> => {
    now = 0;
    renders = 0;
    const g = new ChameleonGenerator({ ...parts, image });
    const s = g.session({ previewBudget: budget, clock: () => now, onToken: () => void (now += 1) });
    try {
      const evs: GenEvent[] = [];
      await drive(s, new Map([[0, [req(3, { mode: 'image', seed: 11, previewEvery: 1 }), req(2, { mode: 'text', seed: 12, maxNewTokens: 20 })]]]), (_, e) => evs.push(...e));
      const progress = evs.filter((e) => e.type === 'image-progress');
      const done = evs.find((e) => e.type === 'done' && e.request === 0);
      assert.ok(done && done.type === 'done');
      // Final images are rendered outside the budget: count previews only.
      return { ids: done.ids, tokens: progress.map((e) => (e.type === 'image-progress' ? e.tokens : 0)), previews: progress.filter((e) => e.type === 'image-progress' && e.preview).length, total: now, renders: renders - 1 };
    } finally {
      s.dispose();
    }
  };
  const every = await run(1);
  const share = await run(0.25);
  const none = await run(0);
  const due = Array.from({ length: N - 1 }, (_, i) => i + 1);
  for (const r of [every, share, none]) {
    assert.deepEqual(r.tokens, due, 'every due progress event goes out');
    assert.deepEqual(r.ids, every.ids, 'previews do not change the ids');
    assert.equal(r.previews, r.renders);
  }
  assert.equal(every.previews, N - 1);
  assert.equal(none.previews, 0);
  assert.ok(share.previews >= 1 && share.previews < N - 1, `${share.previews} previews under a 0.25 budget`);
  // Preview time ≤ budget × busy time, plus the one render that may cross the line.
  assert.ok(share.previews * RENDER <= 0.25 * share.total + RENDER, `${share.previews * RENDER} ms of previews in ${share.total} ms`);
});

test('rows join and leave without a new cache: a steady stream of requests builds it twice (its rows double)', async () => {
  // Ten text requests, one admitted every 3 steps, each 8 tokens: rows join and leave at almost
  // every step. A re-layout that rebuilt the cache on each change (copying every row) would count
  // ~20 builds here; the slot cache is built at 2 rows and doubles once to 4 (it never shrinks while
  // requests run), and each request's ids are still its own.
  const reqs = Array.from({ length: 10 }, (_, i) => req(4 + (i % 3), { mode: 'text', seed: 40 + i, maxNewTokens: 8 }));
  const want = await Promise.all(reqs.map(alone));
  const s = new ChameleonGenerator(parts).session({ maxRequests: 4 });
  try {
    let most = 0;
    const got = await drive(s, new Map(reqs.map((r, i) => [i * 3, [r]] as [number, GenerateRequest[]])), () => (most = Math.max(most, s.cacheInfo.rows)));
    reqs.forEach((_, i) => assert.deepEqual(got.get(i), want[i], `request ${i}`));
    assert.ok(most >= 3, `requests overlapped (${most} rows at most)`);
    assert.equal(s.cacheInfo.builds, 2);
    assert.equal(s.cacheInfo.capacity, 0, 'the idle session frees its cache');
  } finally {
    s.dispose();
  }
});

test('a short row outlives a long one past the context length of the shared cache: positions, not the cache length, meet the limit', async () => {
  // Context 64: the 50-token prompt pads the short request's row to 50, and the short one runs 40
  // tokens, so the shared length reaches 90 while no row's own position passes 42.
  const long = req(50, { mode: 'text', seed: 60, maxNewTokens: 2 });
  const short = req(1, { mode: 'text', seed: 61, maxNewTokens: 40, text: { temperature: 0.9 } });
  const want = await Promise.all([long, short].map(alone));
  assert.ok(want[1].length >= 20, 'the short request runs long enough');
  const s = new ChameleonGenerator(parts).session({ maxRequests: 2 });
  try {
    const got = await drive(s, new Map([[0, [long, short]]]));
    assert.deepEqual(got.get(0), want[0]);
    assert.deepEqual(got.get(1), want[1]);
  } finally {
    s.dispose();
  }
});
