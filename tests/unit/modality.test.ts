// Property tests of the modality state machine with random logits: every image has exactly N codes
// and an EOI, no BOI inside an image, no image id in text state, no image started without room,
// and the context budget is respected — in text, image and interleaved modes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ModalityMachine, type ModalityConfig } from '../../src/generate/modality.js';
import { vocabFromMap } from '../../src/generate/vocab.js';
import { sample } from '../../src/generate/sampling.js';
import { Rng } from '../../src/util/rng.js';

const cfgJson = JSON.parse(readFileSync('tests/fixtures/hf-chameleon/mha/config.json', 'utf8')) as { vocabulary_map: Record<string, number>; vocab_size: number };
const vocab = vocabFromMap(cfgJson.vocabulary_map, cfgJson.vocab_size);

function run(mc: ModalityConfig, seed: number, promptLen: number): { ids: number[]; reason: string } {
  const rng = new Rng(seed);
  const m = new ModalityMachine(vocab, mc, promptLen);
  const ids: number[] = [];
  let guard = 0;
  while (m.state !== 'done' && guard++ < 100000) {
    const forced = m.forced();
    let id = forced;
    if (id < 0) {
      const logits = new Float32Array(vocab.size);
      // Random logits that strongly favour specials and BOI so transitions happen often.
      for (let i = 0; i < logits.length; i++) logits[i] = rng.normal() * 3;
      logits[vocab.boi] += rng.uniform() * 12;
      logits[vocab.eos] += rng.uniform() * 4 - 3;
      m.apply(logits);
      id = sample(logits, { temperature: 1, topK: 0, topP: 1, greedy: false }, rng);
    }
    ids.push(id);
    m.advance(id);
  }
  return { ids, reason: m.stopReason ?? 'none' };
}

function checkSequence(ids: number[], mc: ModalityConfig, promptLen: number): void {
  let inImage = false;
  let codes = 0;
  let images = 0;
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    const pos = promptLen + t;
    if (inImage) {
      if (codes < mc.imageTokens) {
        assert.ok(vocab.codeOf(id) >= 0, `non-image id ${id} inside an image at ${pos}`);
        codes++;
      } else {
        assert.equal(id, vocab.eoi, 'EOI must follow exactly N codes');
        inImage = false;
        images++;
      }
    } else {
      assert.ok(vocab.codeOf(id) < 0, `image id ${id} in text state at ${pos}`);
      assert.notEqual(id, vocab.eoi, 'EOI outside an image');
      if (id === vocab.boi) {
        assert.notEqual(mc.mode, 'text', 'BOI in text mode');
        assert.ok(pos + 1 + mc.imageTokens + 1 <= mc.maxLength, `BOI at ${pos} with fewer than N + 2 positions left`);
        inImage = true;
        codes = 0;
      }
    }
  }
  assert.ok(promptLen + ids.length <= mc.maxLength, 'context budget exceeded');
  assert.ok(!inImage, 'generation ended inside an image');
  assert.ok(images <= mc.maxImages);
}

test('interleaved mode: random logits never break the image rules (200 runs)', () => {
  for (let seed = 0; seed < 200; seed++) {
    const mc: ModalityConfig = { mode: 'interleaved', imageTokens: 16, maxImages: 3, maxLength: 20 + (seed % 80), stopOnEndOfTurn: true };
    const { ids } = run(mc, seed, 3);
    checkSequence(ids, mc, 3);
  }
});

test('text mode never emits BOI or image ids; image mode draws exactly the requested images', () => {
  for (let seed = 0; seed < 100; seed++) {
    const t: ModalityConfig = { mode: 'text', imageTokens: 16, maxImages: 2, maxLength: 60, stopOnEndOfTurn: true };
    const r = run(t, seed, 2);
    checkSequence(r.ids, t, 2);
    assert.ok(!r.ids.includes(vocab.boi));
    const im: ModalityConfig = { mode: 'image', imageTokens: 16, maxImages: 2, maxLength: 200, stopOnEndOfTurn: true };
    const ri = run(im, seed, 2);
    checkSequence(ri.ids, im, 2);
    assert.equal(ri.reason, 'images');
    assert.equal(ri.ids.filter((x) => x === vocab.boi).length, 2);
    assert.equal(ri.ids[0], vocab.boi, 'image mode starts an image at once');
  }
});

test('the vocabulary rules: image ids = code + 4, Meta text set excludes <...> names', () => {
  assert.equal(vocab.imageIds.length, 64);
  assert.equal(vocab.imageIds[0], 4);
  assert.equal(vocab.imageIds[63], 67);
  assert.equal(vocab.codeOf(4), 0);
  assert.equal(vocab.codeOf(vocab.boi), -1);
  assert.equal(vocab.textMask[vocab.boi], 0);
  assert.equal(vocab.textMask[vocab.bos], 0);
  assert.equal(vocab.textMask[5], 0);
});

test('sample: same draw as a comparator-sorted reference (ties by id, ±0, NaN and -Infinity skipped)', () => {
  /** The sampler's definition, written plainly: candidates sorted by logit desc then id asc. */
  const reference = (l: Float32Array, topK: number, topP: number, u: number): number => {
    let cand: number[] = [];
    for (let i = 0; i < l.length; i++) if (l[i] > -Infinity) cand.push(i);
    cand.sort((a, b) => l[b] - l[a] || a - b);
    if (topK > 0) cand = cand.slice(0, topK);
    const probs = cand.map((id) => Math.exp(l[id] - l[cand[0]]));
    const z = probs.reduce((a, b) => a + b, 0);
    let keep = cand.length;
    let cum = 0;
    for (let i = 0; i < cand.length && topP < 1; i++) {
      cum += probs[i] / z;
      if (cum >= topP) {
        keep = i + 1;
        break;
      }
    }
    const total = probs.slice(0, keep).reduce((a, b) => a + b, 0);
    let acc = 0;
    for (let i = 0; i < keep; i++) {
      acc += probs[i];
      if (u * total < acc) return cand[i];
    }
    return cand[keep - 1];
  };
  const gen = new Rng(11);
  for (let run = 0; run < 300; run++) {
    const n = 1 + Math.floor(gen.uniform() * 300);
    const l = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const r = gen.uniform();
      // Coarse values make many ties; some -Infinity (masked), NaN, -0 and +0.
      l[i] = r < 0.1 ? -Infinity : r < 0.12 ? NaN : r < 0.15 ? (gen.uniform() < 0.5 ? -0 : 0) : Math.round((gen.uniform() * 8 - 4) * 2) / 2;
    }
    if (!l.some((v) => v > -Infinity)) continue;
    const topK = run % 3 === 0 ? 5 : 0;
    const topP = run % 2 === 0 ? 0.8 : 1;
    const a = new Rng(run);
    const b = new Rng(run);
    const got = sample(l, { temperature: 1, topK, topP, greedy: false }, a);
    assert.equal(got, reference(l, topK, topP, b.uniform()), `run ${run}`);
  }
});
