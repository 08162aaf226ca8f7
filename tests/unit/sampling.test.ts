// The sampler at temperatures other than 1, against distributions computed by hand: exact
// inverse-CDF boundaries with a fixed uniform (the sampler consumes one uniform and walks the
// cumulative probabilities), top-p applied after the temperature, and empirical frequencies over
// many seeded draws vs softmax(logits / T).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sample, type SampleSettings } from '../../src/generate/sampling.js';
import { Rng } from '../../src/util/rng.js';

/** An Rng whose every uniform() is u: sample() then returns the id whose cumulative-probability interval holds u. */
class FixedUniform extends Rng {
  constructor(private readonly u: number) {
    super(0);
  }

  override uniform(): number {
    return this.u;
  }
}

const settings = (temperature: number, topP = 1): SampleSettings => ({ temperature, topK: 0, topP, greedy: false });
const drawAt = (logits: number[], s: SampleSettings, u: number): number => sample(Float32Array.from(logits), s, new FixedUniform(u));

// Ids 0, 1, 2 hold logits 0, 2, 1, so the sampler's order (logit descending) is id 1, id 2, id 0.
const LOGITS = [0, 2, 1];

test('T = 0.5: the cumulative boundaries are those of softmax(logits / 0.5)', () => {
  // logits / 0.5 = [0, 4, 2] → e^x = 1, 54.59815, 7.389056, sum 62.98721
  // p(id 1) = 0.866813, p(id 2) = 0.117310, p(id 0) = 0.015876; cumulative 0.866813, 0.984124.
  // (At T = 1 they would be 0.665241 and 0.909969: every probe below lands elsewhere.)
  const s = settings(0.5);
  assert.equal(drawAt(LOGITS, s, 0), 1);
  assert.equal(drawAt(LOGITS, s, 0.8667), 1);
  assert.equal(drawAt(LOGITS, s, 0.8669), 2);
  assert.equal(drawAt(LOGITS, s, 0.9841), 2);
  assert.equal(drawAt(LOGITS, s, 0.9842), 0);
  assert.equal(drawAt(LOGITS, s, 0.999999), 0);
});

test('T = 2: the cumulative boundaries are those of softmax(logits / 2)', () => {
  // logits / 2 = [0, 1, 0.5] → e^x = 1, 2.718282, 1.648721, sum 5.367003
  // p(id 1) = 0.506480, p(id 2) = 0.307196, p(id 0) = 0.186324; cumulative 0.506480, 0.813676.
  const s = settings(2);
  assert.equal(drawAt(LOGITS, s, 0.5064), 1);
  assert.equal(drawAt(LOGITS, s, 0.5066), 2);
  assert.equal(drawAt(LOGITS, s, 0.8136), 2);
  assert.equal(drawAt(LOGITS, s, 0.8138), 0);
  // The same probes at T = 1 (cumulative 0.665241, 0.909969) fall in other intervals.
  assert.equal(drawAt(LOGITS, settings(1), 0.5066), 1);
  assert.equal(drawAt(LOGITS, settings(1), 0.8138), 2);
});

test('top-p is applied to the tempered distribution', () => {
  // T = 0.5: the top id alone holds 0.866813 ≥ 0.85, so top-p 0.85 keeps only id 1, whatever u is.
  // At T = 1 it would hold 0.665241 < 0.85 and two ids would be kept.
  for (const u of [0, 0.5, 0.9, 0.999999]) assert.equal(drawAt(LOGITS, settings(0.5, 0.85), u), 1, `u ${u}`);
  assert.equal(drawAt(LOGITS, settings(1, 0.85), 0.9), 2);
  // T = 2 and top-p 0.8: cumulative 0.506480 < 0.8 ≤ 0.813676 keeps ids 1 and 2, renormalised over
  // 0.813676: the boundary is 0.506480 / 0.813676 = 0.622459.
  assert.equal(drawAt(LOGITS, settings(2, 0.8), 0.6224), 1);
  assert.equal(drawAt(LOGITS, settings(2, 0.8), 0.6226), 2);
  assert.equal(drawAt(LOGITS, settings(2, 0.8), 0.999999), 2);
});

test('empirical frequencies over 40000 seeded draws match softmax(logits / 0.7)', () => {
  // logits / 0.7 = [0.714286, −1.428571, 2.142857, 0.357143]
  // softmax = [0.166953, 0.019587, 0.696649, 0.116812]
  const logits = Float32Array.from([0.5, -1, 1.5, 0.25]);
  const want = [0.166953, 0.019587, 0.696649, 0.116812];
  const n = 40000;
  const counts = [0, 0, 0, 0];
  const rng = new Rng(2024);
  for (let i = 0; i < n; i++) counts[sample(logits, settings(0.7), rng)]++;
  for (let id = 0; id < 4; id++) {
    const f = counts[id] / n;
    const sigma = Math.sqrt((want[id] * (1 - want[id])) / n); // binomial standard deviation, at most 0.0023
    assert.ok(Math.abs(f - want[id]) < 5 * sigma, `id ${id}: frequency ${f}, want ${want[id]} ± ${5 * sigma}`);
  }
  // At T = 1 id 2 would have probability 0.575881: far outside these bounds.
});

test('top-p without top-k sorts only the candidates it may keep, and draws exactly as the full sort does', () => {
  // topK ≥ the vocabulary takes the full-sort path with the same kept set, so the two must agree id
  // for id. The cases cover flat and peaked logits, masked ids, ties, tiny and near-1 p.
  const src = new Rng(5);
  const gauss = (): number => Math.sqrt(-2 * Math.log(src.uniform() || 1e-12)) * Math.cos(2 * Math.PI * src.uniform());
  let kept = 0;
  for (let k = 0; k < 1500; k++) {
    const logits = new Float32Array(k % 5 === 0 ? 64 : 2048);
    const scale = [0.2, 1, 3, 8][k % 4];
    for (let i = 0; i < logits.length; i++) logits[i] = src.uniform() < 0.3 ? -Infinity : gauss() * scale;
    if (k % 7 === 0) for (let i = 0; i < logits.length; i += 3) logits[i] = 1.25; // many exact ties
    const s: SampleSettings = { temperature: [0.7, 1, 1.5][k % 3], topK: 0, topP: [0.9, 0.5, 0.999, 0.05][k % 4], greedy: false };
    const fast = sample(logits, s, new Rng(k));
    assert.equal(fast, sample(logits, { ...s, topK: 1e9 }, new Rng(k)), `case ${k}`);
    assert.ok(logits[fast] > -Infinity, `case ${k}: a masked id was drawn`);
    kept += fast;
  }
  assert.ok(kept > 0);
});
