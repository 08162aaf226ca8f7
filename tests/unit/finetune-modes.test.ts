// Fine-tuning modes other than LoRA (src/train/finetune.ts): image-head (Anole, spec §7.5) trains
// only lm_head's image rows + EOI — after AdamW steps every other lm_head row and every other
// parameter is bit-identical, on an f32 model and on a bf16 model with an f32 head; the re-init has
// std √(2/hidden); the logit mask puts the loss on the image vocabulary only (equal to the cheap
// logitRange path); full mode trains everything in f32; frozen weights get no gradient buffer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { AdamW, backward, clipGradNorm, ops, zeroGrad } from '../../src/engine/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { ParamStore } from '../../src/nn/params.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { FINETUNE_MODES, finetuneNoDecay, imageHeadGradMask, imageHeadLogits, imageHeadRows, reinitImageRows, trainableParams } from '../../src/train/finetune.js';

const map = (JSON.parse(readFileSync('tests/fixtures/hf-chameleon/mha/config.json', 'utf8')) as { vocabulary_map: Record<string, number> }).vocabulary_map;
const cfg = (): ChameleonConfig => ({ ...presetConfig('tiny'), vocabularyMap: map, warnings: [] }) as ChameleonConfig;
const BOS = 0;
const EOS = 2;
const BOI = 68;
const EOI = 69;
const C = 64;
const V = 512;
/** Two bare image documents, BOS BOI <16 codes> EOI EOS (codes = ids 4..67). */
const docs = [0, 1].map((k) => [BOS, BOI, ...Array.from({ length: 16 }, (_, i) => 4 + ((i * (k + 3) + k * 5) % 64)), EOI, EOS]);
const T = docs[0].length - 1;
const inputs = docs.flatMap((d) => d.slice(0, -1));
const targets = docs.flatMap((d) => d.slice(1));

const bytes = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const row = (w: Tensor, r: number): Buffer => bytes(w).subarray(r * C * 4, (r + 1) * C * 4);
const gradsLive = (e: Engine): number => e.memoryStats().arenas.find((a) => a.name === 'grads')!.liveBytes;

/** A model whose matrices are bf16 except lm_head (f32, trainable): the image-head setup on a half-precision base. */
function bf16WithF32Head(e: Engine, seed: number): ChameleonModel {
  const store = new ParamStore(e, { matrices: (n) => (n === 'lm_head.weight' ? 'f32' : 'bf16') });
  const m = new ChameleonModel(e, cfg(), store);
  store.initialize(seed);
  return m;
}

test('image-head: AdamW steps change only the image rows + EOI of lm_head; every other row and parameter stays bit-identical', async () => {
  // On wasm the masked logits' gradient is ~1e-39, not 0 (its exp floor): the grad mask is what keeps the rows exact.
  const wasm = (await backendsUnderTest()).find((b) => b.name.startsWith('wasm'))!;
  for (const kind of ['f32 ref', 'bf16 base, f32 head, ref', 'f32 wasm']) {
    const e = new Engine(kind.endsWith('wasm') ? wasm.backend : createRefBackend());
    try {
      const m = kind.startsWith('f32') ? ChameleonModel.create(e, cfg(), 2) : bf16WithF32Head(e, 2);
      const w = m.lm_head.weight;
      const params = trainableParams(m, 'image-head');
      assert.deepEqual(params, [w]);
      reinitImageRows(m, 11);
      const before = new Map(m.params.list().map((t) => [t, Buffer.from(bytes(t))]));
      const mask = imageHeadGradMask(m);
      const lg = imageHeadLogits(m);
      const tgt = Int32Array.from(targets);
      assert.equal(lg.maskTargets(tgt), 2, 'the two EOS targets (text) are ignored');
      const opt = new AdamW(params, { lr: 1e-2, weightDecay: 0.1, noDecay: finetuneNoDecay('image-head') });
      const losses: number[] = [];
      for (let s = 0; s < 5; s++) {
        e.scope(() => {
          const logits = m.forward({ ids: e.ids(inputs, [2, T]) }).logits; // [2, T, V]
          const loss = ops.crossEntropy(lg.mask(logits), e.ids(tgt, [2, T]), { zLoss: 1e-5 });
          backward(loss);
          losses.push(loss.item());
        });
        assert.equal(gradsLive(e), V * C * 4, `${kind}: the grads arena holds lm_head's gradient only`);
        assert.ok(m.params.list().every((t) => t === w || t.grad === null), 'frozen parameters have no .grad');
        mask(params);
        clipGradNorm(params, 1.0);
        opt.update();
        zeroGrad(params);
      }
      assert.ok(losses[4] < losses[0] - 0.1, `${kind}: loss fell (${losses.map((l) => l.toFixed(3)).join(' ')})`);
      for (const [t, b] of before) if (t !== w) assert.ok(bytes(t).equals(b), `${kind}: ${t.name} bit-identical`);
      const trained = new Set(imageHeadRows(m));
      assert.equal(trained.size, 65);
      assert.ok(trained.has(EOI) && !trained.has(BOI));
      const w0 = before.get(w)!;
      for (let r = 0; r < V; r++) {
        const same = row(w, r).equals(w0.subarray(r * C * 4, (r + 1) * C * 4));
        if (trained.has(r)) assert.ok(!same, `${kind}: trainable row ${r} changed`);
        else assert.ok(same, `${kind}: lm_head row ${r} (outside image ids + EOI) bit-identical`);
      }
    } finally {
      e.dispose();
    }
  }
  wasm.backend.dispose();
});

test('reinitImageRows: image rows ~ N(0, 2/hidden) from the seed; text rows and EOI untouched', () => {
  const e = new Engine(createRefBackend());
  try {
    const m = ChameleonModel.create(e, cfg(), 1);
    const w = m.lm_head.weight;
    const w0 = Buffer.from(bytes(w));
    reinitImageRows(m, 5);
    const vals: number[] = [];
    for (const id of m.imageIds) vals.push(...w.f32().subarray(id * C, (id + 1) * C));
    const n = vals.length;
    assert.equal(n, 64 * C);
    const mean = vals.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
    const want = Math.sqrt(2 / C);
    // The sample std of n normals has relative standard error ≈ 1/√(2n) = 1.1% here: 5% is > 4 SE.
    assert.ok(Math.abs(std / want - 1) < 0.05, `std ${std} ≈ √(2/${C}) = ${want}`);
    assert.ok(Math.abs(mean) < (4 * want) / Math.sqrt(n), `mean ${mean} ≈ 0`);
    const image = new Set(m.imageIds);
    for (let r = 0; r < V; r++) if (!image.has(r)) assert.ok(row(w, r).equals(w0.subarray(r * C * 4, (r + 1) * C * 4)), `row ${r} untouched`);
    const again = ChameleonModel.create(e, cfg(), 1);
    reinitImageRows(again, 5);
    assert.ok(bytes(again.lm_head.weight).equals(bytes(w)), 'same seed, same rows');
    reinitImageRows(again, 6);
    assert.ok(!bytes(again.lm_head.weight).equals(bytes(w)), 'another seed, other rows');
  } finally {
    e.dispose();
  }
});

test('image-head logit mask: the loss is over image ids + EOI + BOI only, text logits get no gradient, and it equals the logitRange path', () => {
  const e = new Engine(createRefBackend());
  try {
    const m = ChameleonModel.create(e, cfg(), 3);
    const lg = imageHeadLogits(m);
    assert.deepEqual(lg.allowed, Int32Array.from({ length: 66 }, (_, i) => 4 + i), 'ids 4..69 (spec §7.5: everything else masked)');
    assert.deepEqual(lg.range, [4, 70]);
    const tgt = Int32Array.from(targets);
    lg.maskTargets(tgt);
    e.scope(() => {
      const logits = e.tensor(Array.from({ length: 2 * T * V }, (_, i) => Math.sin(i * 0.37) * 3), [2, T, V]).trainable(); // [2, T, V]
      const loss = ops.crossEntropy(lg.mask(logits), e.ids(tgt, [2, T]), { zLoss: 1e-4 });
      backward(loss);
      const g = logits.grad!.f32();
      const allowed = new Set(lg.allowed);
      let text = 0;
      let image = 0;
      for (let i = 0; i < g.length; i++) {
        if (allowed.has(i % V)) image += Math.abs(g[i]);
        else text += Math.abs(g[i]);
      }
      assert.equal(text, 0, 'no gradient reaches a text logit');
      assert.ok(image > 0);
      // Same loss from only the allowed columns, targets shifted into the range.
      const [s0, s1] = lg.range!;
      const sub = ops.slice(logits, 2, s0, s1); // [2, T, 66]
      const shifted = tgt.map((t) => (t === -100 ? t : t - s0));
      const ref = ops.crossEntropy(sub, e.ids(shifted, [2, T]), { zLoss: 1e-4 }).item();
      assert.ok(Math.abs(loss.item() - ref) < 1e-5, `masked ${loss.item()} = sliced ${ref}`);
    });
    // The model's logitRange forward gives that loss without computing the text logits.
    e.noGrad(() =>
      e.scope(() => {
        const ids = e.ids(inputs, [2, T]);
        const full = ops.crossEntropy(lg.mask(m.forward({ ids }).logits), e.ids(tgt, [2, T])).item();
        const ranged = ops.crossEntropy(m.forward({ ids, logitRange: lg.range! }).logits, e.ids(tgt.map((t) => (t === -100 ? t : t - 4)), [2, T])).item();
        assert.ok(Math.abs(full - ranged) < 1e-5, `mask ${full} vs logitRange ${ranged}`);
      }),
    );
    assert.equal(lg.maskTargets(Int32Array.from([5, 0, 69, 68, 70, -100, 511])), 3, 'BOS, <image> (70) and 511 are text targets');
  } finally {
    e.dispose();
  }
});

test('full mode trains every parameter (f32 only); frozen modes allocate no gradient for frozen weights', () => {
  const e = new Engine(createRefBackend());
  try {
    const m = ChameleonModel.create(e, cfg(), 4);
    const all = trainableParams(m, 'full');
    assert.equal(all.length, m.params.list().length);
    e.scope(() => {
      const logits = m.forward({ ids: e.ids(inputs, [2, T]) }).logits;
      backward(ops.crossEntropy(logits, e.ids(targets, [2, T])));
    });
    assert.ok(all.every((p) => p.grad !== null), 'every parameter got a gradient');
    assert.equal(gradsLive(e), all.reduce((s, p) => s + Math.ceil((p.size * 4) / 64) * 64, 0));
    // Switching to image-head drops the stale gradients of what is now frozen.
    trainableParams(m, 'image-head');
    assert.ok(m.params.list().every((p) => p === m.lm_head.weight || (p.grad === null && !p.requiresGrad)));
    assert.throws(() => trainableParams(ChameleonModel.create(e, cfg(), 0, 'bf16'), 'full'), /finetune full: \d+ weights are bf16 \(e\.g\. model\.embed_tokens\.weight\); load the checkpoint with f32 weights/);
    assert.throws(() => trainableParams(ChameleonModel.create(e, cfg(), 0, 'bf16'), 'image-head'), /lm_head\.weight is bf16; it must be f32/);
    const noVocab = ChameleonModel.create(e, { ...presetConfig('tiny'), warnings: [] } as ChameleonConfig, 0);
    assert.throws(() => trainableParams(noVocab, 'image-head'), /no image tokens/);
    assert.throws(() => trainableParams(m, 'partial' as never), /unknown fine-tuning mode 'partial' \(known: full, lora, image-head\)/);
  } finally {
    e.dispose();
  }
});

test('every mode: exactly the returned tensors require grad (model parameters and adapters alike)', () => {
  const e = new Engine(createRefBackend());
  try {
    for (const mode of FINETUNE_MODES) {
      const m = ChameleonModel.create(e, cfg(), 1);
      const ps = new Set(trainableParams(m, mode, { lora: { rank: 2, alpha: 2, targets: ['q_proj', 'up_proj'], seed: 0 } }));
      assert.ok(ps.size > 0, mode);
      for (const t of m.params.list()) assert.equal(t.requiresGrad, ps.has(t), `${mode}: ${t.name}`);
      for (const t of ps) assert.ok(t.requiresGrad && t.dtype === 'f32', `${mode}: ${t.name} trainable f32`);
    }
  } finally {
    e.dispose();
  }
});

test('imageHeadGradMask zeroes exactly the rows outside image ids + EOI (and any stray gradient)', () => {
  const e = new Engine(createRefBackend());
  try {
    const m = ChameleonModel.create(e, cfg(), 4);
    const w = m.lm_head.weight;
    const stray = m.norm.weight;
    w.grad = e.full(w.shape, 1, 'grads');
    stray.grad = e.full(stray.shape, 1, 'grads');
    imageHeadGradMask(m)([w, stray]);
    const g = w.grad.f32();
    for (let r = 0; r < V; r++) {
      const want = (r >= 4 && r < 68) || r === EOI ? 1 : 0;
      assert.ok(g.subarray(r * C, (r + 1) * C).every((v) => v === want), `row ${r} gradient ${want ? 'kept' : 'zeroed'}`);
    }
    assert.ok(stray.grad.f32().every((v) => v === 0));
  } finally {
    e.dispose();
  }
});
