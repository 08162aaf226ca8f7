// Mixed-modal generation end to end on a model with known behaviour: a tiny Chameleon is trained
// in the test (a few seconds) on a synthetic task — "[BOS] colour-word" → text, an image whose 16
// codes spell the colour's pattern, text, EOS — and must then reproduce it through the generator,
// with and without classifier-free guidance, batched exactly as alone, streamed and abortable.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { AdamW, backward, clipGradNorm, ops, zeroGrad } from '../../src/engine/index.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { ChameleonGenerator, type GenerateRequest } from '../../src/generate/generator.js';
import { resolveOptions, type GenerateOptionsInput } from '../../src/generate/options.js';
import { vocabFromMap } from '../../src/generate/vocab.js';
import type { GenEvent } from '../../src/generate/events.js';
import { backendsUnderTest, type NamedBackend } from '../helpers/backends.js';

const map = (JSON.parse(readFileSync('tests/fixtures/hf-chameleon/mha/config.json', 'utf8')) as { vocabulary_map: Record<string, number> }).vocabulary_map;
const cfg = { ...presetConfig('tiny'), vocabularyMap: map, numHiddenLayers: 2, warnings: [] } as ChameleonConfig;
const vocab = vocabFromMap(map, cfg.vocabSize);
const N = 16;
const COLOURS = [100, 101, 102, 103];
const HERE = 200;
const DONE = 201;
const pattern = (k: number): number[] => Array.from({ length: N }, (_, i) => (k * 16 + ((i * (k + 1)) % 16)) % 64);
const sequence = (k: number): number[] => [vocab.bos, COLOURS[k], HERE, vocab.boi, ...pattern(k).map((c) => vocab.imageIds[c]), vocab.eoi, DONE, vocab.eos];

let backends: NamedBackend[] = [];
let engine: Engine;
let model: ChameleonModel;

before(async () => {
  backends = await backendsUnderTest();
  engine = new Engine(backends[backends.length - 1].backend); // wasm
  model = ChameleonModel.create(engine, cfg, 1234);
  const params = model.params.trainable();
  const opt = new AdamW(params, { lr: 1e-2, weightDecay: 0 });
  const seqs = COLOURS.map((_, k) => sequence(k));
  const T = seqs[0].length - 1;
  let loss = Infinity;
  for (let step = 0; step < 300 && loss > 0.005; step++) {
    loss = engine.scope(() => {
      const ids = engine.ids(seqs.flatMap((s) => s.slice(0, -1)), [seqs.length, T]);
      const targets = engine.ids(seqs.flatMap((s) => [-100, ...s.slice(2)]), [seqs.length, T]); // the colour is the prompt: not predicted
      const { logits } = model.forward({ ids });
      const l = ops.crossEntropy(logits, targets, { zLoss: 1e-4 });
      zeroGrad(params);
      backward(l);
      clipGradNorm(params, 1);
      opt.update();
      return l.item();
    });
  }
  assert.ok(loss < 0.02, `the synthetic task did not train (loss ${loss})`);
});

after(async () => {
  engine.dispose();
  for (const b of backends) await b.backend.dispose();
});

async function collect(g: ChameleonGenerator, reqs: GenerateRequest[]): Promise<GenEvent[]> {
  const out: GenEvent[] = [];
  for await (const ev of g.stream(reqs)) out.push(ev);
  return out;
}

function req(k: number, o: GenerateOptionsInput, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { prompt: [vocab.bos, COLOURS[k]], options: resolveOptions({ maxNewTokens: 40, ...o }), ...extra };
}

test('greedy interleaved generation reproduces the trained text and image codes (CFG off and 3-way)', async () => {
  const g = new ChameleonGenerator({ model, vocab, imageTokens: N });
  for (const cfgMode of ['off', '3way'] as const) {
    for (let k = 0; k < COLOURS.length; k++) {
      const evs = await collect(g, [req(k, { mode: 'interleaved', text: { greedy: true }, image: { greedy: true, cfg: cfgMode } })]);
      const done = evs.find((e) => e.type === 'done');
      assert.ok(done && done.type === 'done');
      assert.deepEqual(done.ids, sequence(k), `colour ${k}, cfg ${cfgMode}`);
      assert.equal(done.reason, 'eos');
      const img = evs.find((e) => e.type === 'image');
      assert.ok(img && img.type === 'image');
      assert.deepEqual([...img.codes], pattern(k));
      const kinds = evs.map((e) => e.type);
      assert.deepEqual(kinds.filter((t) => t !== 'image-progress' && t !== 'text'), ['image-start', 'image', 'done']);
    }
  }
});

test('with a bf16 KV cache a batch of all four prompts reproduces the trained sequences (CFG off and 3-way)', async () => {
  const g = new ChameleonGenerator({ model, vocab, imageTokens: N, kvDtype: 'bf16' });
  for (const cfgMode of ['off', '3way'] as const) {
    const reqs = COLOURS.map((_, k) => req(k, { mode: 'interleaved', text: { greedy: true }, image: { greedy: true, cfg: cfgMode } }));
    const batched = (await collect(g, reqs)).filter((e) => e.type === 'done');
    assert.equal(batched.length, COLOURS.length);
    for (const d of batched) if (d.type === 'done') assert.deepEqual(d.ids, sequence(d.request), `colour ${d.request}, cfg ${cfgMode}`);
  }
});

test('text mode masks images; image mode starts an image at once', async () => {
  const g = new ChameleonGenerator({ model, vocab, imageTokens: N });
  const t = (await collect(g, [req(0, { mode: 'text', text: { greedy: true } })])).find((e) => e.type === 'done');
  assert.ok(t && t.type === 'done');
  assert.ok(!t.ids.slice(2).includes(vocab.boi) && t.ids.slice(2).every((id) => vocab.codeOf(id) < 0));
  const im = (await collect(g, [req(2, { mode: 'image', image: { greedy: true } })])).find((e) => e.type === 'done');
  assert.ok(im && im.type === 'done');
  assert.equal(im.ids[2], vocab.boi);
  assert.equal(im.reason, 'images');
});

test('batched requests give exactly the ids each gives alone (sampling, seeds, CFG, mixed modes)', async () => {
  const g = new ChameleonGenerator({ model, vocab, imageTokens: N });
  const reqs = [
    req(0, { mode: 'interleaved', seed: 1, text: { temperature: 1.3 }, image: { temperature: 1.5, cfg: '3way' } }),
    { ...req(1, { mode: 'text', seed: 2, text: { temperature: 1.0, topK: 20 } }), prompt: [vocab.bos, 300, 301, 302, COLOURS[1]] },
    req(2, { mode: 'image', seed: 3, image: { temperature: 1.2, cfg: '2way' } }, { negativePrompt: [COLOURS[3]] }),
    req(3, { mode: 'interleaved', seed: 4, image: { cfg: 'off', topP: 0.8 } }),
  ];
  const alone: number[][] = [];
  for (const r of reqs) {
    const d = (await collect(g, [r])).find((e) => e.type === 'done');
    assert.ok(d && d.type === 'done');
    alone.push(d.ids);
  }
  const batched = (await collect(g, reqs)).filter((e) => e.type === 'done');
  assert.equal(batched.length, reqs.length);
  for (const d of batched) if (d.type === 'done') assert.deepEqual(d.ids, alone[d.request], `request ${d.request}`);
});

test('image-state steps computing only the image-id logits give the same ids as full logits', async () => {
  // Contiguous image ids let the generator ask the LM head for their rows only; listing the same ids
  // out of order turns that off, and sampled (not greedy) outputs must not change.
  const ids = Int32Array.from(vocab.imageIds);
  [ids[0], ids[1]] = [ids[1], ids[0]];
  const scattered = { ...vocab, imageIds: ids };
  const reqs = [
    req(1, { mode: 'image', seed: 7, image: { temperature: 1.4, cfg: '3way' } }),
    req(2, { mode: 'interleaved', seed: 8, text: { temperature: 1.2 }, image: { temperature: 1.3, topP: 0.9 } }),
  ];
  for (const r of reqs) {
    const fast = (await collect(new ChameleonGenerator({ model, vocab, imageTokens: N }), [r])).find((e) => e.type === 'done');
    const full = (await collect(new ChameleonGenerator({ model, vocab: scattered, imageTokens: N }), [r])).find((e) => e.type === 'done');
    assert.ok(fast && fast.type === 'done' && full && full.type === 'done');
    assert.ok(fast.ids.some((id) => vocab.codeOf(id) >= 0), 'an image was drawn');
    assert.deepEqual(fast.ids, full.ids);
  }
});

test('streaming: progress previews, text deltas concatenate, abort stops at once', async () => {
  const rendered: number[] = [];
  const g = new ChameleonGenerator({
    model,
    vocab,
    imageTokens: N,
    text: { encode: () => [], decode: (ids) => ids.map((i) => `<${i}>`).join('') },
    image: { render: async (codes) => (rendered.push(codes.length), { png: new Uint8Array([1]), width: 4, height: 4 }) },
  });
  const evs = await collect(g, [req(1, { mode: 'interleaved', previewEvery: 4, text: { greedy: true }, image: { greedy: true } })]);
  const progress = evs.filter((e) => e.type === 'image-progress');
  assert.deepEqual(progress.map((e) => (e.type === 'image-progress' ? e.tokens : 0)), [4, 8, 12]);
  assert.ok(progress.every((e) => e.type === 'image-progress' && e.preview));
  const text = evs.map((e) => (e.type === 'text' ? e.delta : '')).join('');
  assert.equal(text, `<${HERE}><${DONE}>`.replace(`<${HERE}>`, `<${HERE}>`));
  const ac = new AbortController();
  let count = 0;
  const evs2: GenEvent[] = [];
  for await (const ev of g.stream([req(0, { mode: 'interleaved', maxNewTokens: 60, text: { greedy: true } }, { signal: ac.signal })])) {
    evs2.push(ev);
    if (++count === 2) ac.abort();
  }
  const d = evs2.find((e) => e.type === 'done');
  assert.ok(d && d.type === 'done' && d.reason === 'abort');
  assert.ok(d.generatedTokens < 10);
});

test('bad requests are refused with clear errors', async () => {
  const g = new ChameleonGenerator({ model, vocab, imageTokens: N });
  await assert.rejects(collect(g, [{ prompt: [5, 6], options: resolveOptions() }]), /must start with BOS/);
  await assert.rejects(collect(g, [{ prompt: [0, 99999], options: resolveOptions() }]), /outside the vocabulary/);
  await assert.rejects(collect(g, [{ prompt: [0, 5], options: resolveOptions({ mode: 'image', maxNewTokens: 10 }) }]), /an image needs 18 tokens/);
  assert.throws(() => resolveOptions({ text: { temperature: -1 } } as GenerateOptionsInput), /invalid generation option text\.temperature/);
  assert.throws(() => resolveOptions({ bogus: 1 } as unknown as GenerateOptionsInput), /invalid generation option/);
});
