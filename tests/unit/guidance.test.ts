// Classifier-free guidance against spec §6.2: cfg3 / cfg2 pinned to hand-computed numbers, and
// greedy image generation with a random-weight tiny model checked step by step against an
// independent reference (full forwards of the three rows, the spec formula, argmax over image ids).
// The setup is asserted to discriminate: guidance changes the codes, and so would dropping the
// unconditional row or flipping the 2-way sign.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { ChameleonGenerator, type GenerateRequest } from '../../src/generate/generator.js';
import { resolveOptions, type ImageSampling } from '../../src/generate/options.js';
import { vocabFromMap } from '../../src/generate/vocab.js';
import { cfg2, cfg3 } from '../../src/generate/sampling.js';
import { backendsUnderTest, type NamedBackend } from '../helpers/backends.js';

test('cfg3 is ℓu + s_img·(ℓic − ℓu) + s_txt·(ℓfc − ℓic) (hand-computed)', () => {
  const full = Float32Array.of(2, 0, -1);
  const imageOnly = Float32Array.of(1, 1, 0);
  const uncond = Float32Array.of(0, 2, 0.5);
  const out = new Float32Array(3);
  // s_txt 3, s_img 1.2 (Meta's defaults):
  //   id 0: 0   + 1.2·(1 − 0)   + 3·(2 − 1)  =  0   + 1.2  + 3 =  4.2
  //   id 1: 2   + 1.2·(1 − 2)   + 3·(0 − 1)  =  2   − 1.2  − 3 = −2.2
  //   id 2: 0.5 + 1.2·(0 − 0.5) + 3·(−1 − 0) =  0.5 − 0.6  − 3 = −3.1
  // (Leaving out the unconditional row, ℓic + 3·(ℓfc − ℓic), would give [4, −2, −3].)
  cfg3(out, full, imageOnly, uncond, 3, 1.2);
  assert.deepEqual([...out].map((v) => Math.round(v * 1e5) / 1e5), [4.2, -2.2, -3.1]);
  // s_txt = s_img = 1 gives the full row; both 0 give the unconditional row.
  cfg3(out, full, imageOnly, uncond, 1, 1);
  assert.deepEqual([...out], [2, 0, -1]);
  cfg3(out, full, imageOnly, uncond, 0, 0);
  assert.deepEqual([...out], [0, 2, 0.5]);
  // s_txt 0, s_img 2: ℓu + 2·(ℓic − ℓu) = [2, 0, −0.5].
  cfg3(out, full, imageOnly, uncond, 0, 2);
  assert.deepEqual([...out], [2, 0, -0.5]);
});

test('cfg2 is ℓn + s·(ℓc − ℓn) (hand-computed)', () => {
  const cond = Float32Array.of(2, 0, -1);
  const neg = Float32Array.of(1, 1, 0);
  const out = new Float32Array(3);
  // s 3: [1 + 3·1, 1 + 3·(−1), 0 + 3·(−1)] = [4, −2, −3] (a flipped sign would give [−2, 4, 3]).
  cfg2(out, cond, neg, 3);
  assert.deepEqual([...out], [4, -2, -3]);
  cfg2(out, cond, neg, 1);
  assert.deepEqual([...out], [2, 0, -1]);
  cfg2(out, cond, neg, 0);
  assert.deepEqual([...out], [1, 1, 0]);
  // s 0.5: [1.5, 0.5, −0.5].
  cfg2(out, cond, neg, 0.5);
  assert.deepEqual([...out], [1.5, 0.5, -0.5]);
});

// ---------------------------------------------------------------------------------------------------
// Generation with guidance, against a reference that shares nothing with the generator but the model.

const map = (JSON.parse(readFileSync('tests/fixtures/hf-chameleon/mha/config.json', 'utf8')) as { vocabulary_map: Record<string, number> }).vocabulary_map;
// A larger init than HF's 0.02 gives decisive logits, so cached/padded vs full forwards cannot flip an argmax.
const cfg = { ...presetConfig('tiny'), vocabularyMap: map, initializerRange: 0.25, warnings: [] } as ChameleonConfig;
const vocab = vocabFromMap(map, cfg.vocabSize);
const N = 6; // image tokens per image
const img = (codes: number[]): number[] => codes.map((c) => vocab.imageIds[c]);
// Text, an earlier image, more text: the image-only row keeps BOS and the image, the unconditional row only BOS.
const PROMPT = [vocab.bos, 300, 301, vocab.boi, ...img([5, 17, 40, 2, 63, 9]), vocab.eoi, 302, 303];
const NEGATIVE = [310, 311];
// s_img 2.5 rather than Meta's 1.2: 3-way minus "3-way without the unconditional row" is
// (1 − s_img)·(ℓu − ℓic), which at 1.2 is too small to move an argmax of this model.
const S_TXT = 3;
const S_IMG = 2.5;

let backends: NamedBackend[] = [];
before(async () => {
  backends = await backendsUnderTest();
});
after(async () => {
  for (const b of backends) await b.backend.dispose();
});

type Combine = (rows: { full: Float32Array; imageOnly: Float32Array; uncond: Float32Array; negative: Float32Array }, id: number) => number;

const COMBINE: Record<string, Combine> = {
  off: (r, i) => r.full[i],
  '3way': (r, i) => r.uncond[i] + S_IMG * (r.imageOnly[i] - r.uncond[i]) + S_TXT * (r.full[i] - r.imageOnly[i]),
  '2way': (r, i) => r.negative[i] + S_TXT * (r.full[i] - r.negative[i]),
  // Wrong implementations the test must tell apart from the right ones:
  '3way without the unconditional row': (r, i) => r.imageOnly[i] + S_TXT * (r.full[i] - r.imageOnly[i]),
  '2way with the sign flipped': (r, i) => r.negative[i] - S_TXT * (r.full[i] - r.negative[i]),
};

/** Last-position logits of one unpadded sequence, by a full forward without a cache. */
function lastLogits(model: ChameleonModel, ids: number[]): Float32Array {
  const e = model.engine;
  return e.scope(() => e.noGrad(() => Float32Array.from(model.forward({ ids: e.ids(ids, [1, ids.length]), lastOnly: true }).logits.f32()))); // [V]
}

/** Greedy image codes by the spec: each step combines the rows' raw logits, then argmax over the image ids. */
function referenceCodes(model: ChameleonModel, combine: Combine): { codes: number[]; minMargin: number } {
  const imageOnlyPrefix = PROMPT.filter((id) => id === vocab.bos || id === vocab.boi || id === vocab.eoi || vocab.codeOf(id) >= 0);
  const codes: number[] = [];
  let minMargin = Infinity;
  for (let step = 0; step < N; step++) {
    const drawn = [vocab.boi, ...img(codes)];
    const rows = {
      full: lastLogits(model, [...PROMPT, ...drawn]),
      imageOnly: lastLogits(model, [...imageOnlyPrefix, ...drawn]),
      uncond: lastLogits(model, [vocab.bos, ...drawn]),
      negative: lastLogits(model, [vocab.bos, ...NEGATIVE, ...drawn]),
    };
    const scores = Array.from(vocab.imageIds, (id) => combine(rows, id));
    const order = scores.map((s, c) => [s, c]).sort((a, b) => b[0] - a[0]);
    minMargin = Math.min(minMargin, order[0][0] - order[1][0]);
    codes.push(order[0][1]);
  }
  return { codes, minMargin };
}

async function generatedCodes(model: ChameleonModel, image: Partial<ImageSampling>): Promise<number[]> {
  const g = new ChameleonGenerator({ model, vocab, imageTokens: N });
  const r: GenerateRequest = { prompt: PROMPT, negativePrompt: NEGATIVE, options: resolveOptions({ mode: 'image', maxNewTokens: N + 2, image: { greedy: true, guidanceText: S_TXT, guidanceImage: S_IMG, ...image } }) };
  for await (const ev of g.stream([r])) if (ev.type === 'image') return [...ev.codes];
  throw new Error('no image was generated');
}

test('greedy image generation with 3-way and 2-way guidance follows the spec formula step by step', async () => {
  for (const b of backends) {
    const e = new Engine(b.backend);
    try {
      const model = ChameleonModel.create(e, cfg, 77);
      const ref: Record<string, number[]> = {};
      for (const [name, combine] of Object.entries(COMBINE)) {
        const r = referenceCodes(model, combine);
        assert.ok(r.minMargin > 1e-3, `${b.name} ${name}: argmax margin ${r.minMargin} too small for a stable comparison`);
        ref[name] = r.codes;
      }
      // The setup discriminates: each wrong variant and CFG off give other codes than the right formula.
      assert.notDeepEqual(ref['3way'], ref.off, `${b.name}: 3-way guidance must change the greedy codes`);
      assert.notDeepEqual(ref['3way'], ref['3way without the unconditional row'], `${b.name}: the unconditional row must matter`);
      assert.notDeepEqual(ref['2way'], ref.off, `${b.name}: 2-way guidance must change the greedy codes`);
      assert.notDeepEqual(ref['2way'], ref['2way with the sign flipped'], `${b.name}: the 2-way sign must matter`);
      for (const mode of ['off', '3way', '2way'] as const) {
        assert.deepEqual(await generatedCodes(model, { cfg: mode }), ref[mode], `${b.name}: cfg ${mode}`);
      }
    } finally {
      e.dispose();
    }
  }
});
