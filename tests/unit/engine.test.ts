// Engine behaviour that is not a kernel: clear errors before any kernel runs, scope lifetimes and
// memory reuse, no-grad mode, gradient accumulation, AdamW + clipping on a small regression.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { AdamW, backward, clipGradNorm, gradNorm, ops, zeroGrad } from '../../src/engine/index.js';
import { ShapeError, ChameleonError } from '../../src/util/errors.js';

function engine(): Engine {
  return new Engine(createRefBackend());
}

test('shape errors name the op and the shapes, and allocate nothing', () => {
  const e = engine();
  const a = e.zeros([2, 3]);
  const b = e.zeros([4, 5]);
  const w4 = e.zeros([4]);
  const before = e.arenas.scratch.stats().liveBytes;
  assert.throws(() => ops.matmul(a, b), (err: Error) => err instanceof ShapeError && /matmul/.test(err.message) && /\[2, 3\]/.test(err.message) && /\[4, 5\]/.test(err.message));
  assert.throws(() => ops.add(a, b), /add: shapes \[2, 3\] and \[4, 5\] cannot be broadcast/);
  assert.throws(() => ops.reshape(a, [4, 2]), /reshape: cannot reshape \[2, 3\]/);
  assert.throws(() => ops.slice(a, 1, 2, 5), /slice: range \[2, 5\) out of bounds/);
  assert.throws(() => ops.permute(a, [0, 0]), /not a permutation/);
  assert.throws(() => ops.rmsnorm(a, w4, 1e-5), /rmsnorm: weight \[4\]/);
  assert.equal(e.arenas.scratch.stats().liveBytes, before, 'a failed op must not allocate');
  e.dispose();
});

test('index errors: embedding ids and cross-entropy targets out of range', () => {
  const e = engine();
  const table = e.zeros([10, 4]);
  assert.throws(() => ops.embedding(table, e.ids([1, 2, 10])), /embedding: token id 10 at position 2 is out of range \[0, 10\)/);
  assert.throws(() => ops.embedding(table, e.ids([-1])), /token id -1/);
  const logits = e.zeros([3, 5]);
  assert.throws(() => ops.crossEntropy(logits, e.ids([0, 7, 1])), /crossEntropy: target 7/);
  assert.throws(() => ops.crossEntropy(logits, e.ids([0, 1])), /targets \[2\] do not match logits \[3, 5\]/);
  assert.throws(() => e.tensor([1.5], [1], 'i32'), /not an integer/);
  e.dispose();
});

test('attention and conv validate heads, channels and cache bounds', () => {
  const e = engine();
  const q = e.zeros([1, 2, 3, 4]);
  const k = e.zeros([1, 2, 2, 4]);
  assert.throws(() => ops.attention(q, k, k), /2 KV heads do not divide 3 query heads/);
  const q2 = e.zeros([1, 3, 2, 4]);
  assert.throws(() => ops.attention(q2, k, k), /exceed the 2 visible keys/);
  assert.throws(() => ops.conv2d(e.zeros([1, 3, 4, 4]), e.zeros([2, 4, 3, 3]), null), /input has 3 channels, weight expects 4/);
  assert.throws(() => ops.groupnorm(e.zeros([1, 6, 2, 2]), e.zeros([6]), e.zeros([6]), 4, 1e-6), /4 groups do not divide 6 channels/);
  e.dispose();
});

test('scopes free scratch memory and reject tensors that outlived their scope', () => {
  const e = engine();
  let escaped: ReturnType<Engine['zeros']> | null = null;
  const kept = e.scope(() => {
    escaped = e.full([4], 2);
    return e.keep(ops.scale(escaped, 3));
  });
  assert.deepEqual(kept.toArray(), [6, 6, 6, 6]);
  assert.throws(() => ops.add(escaped!, escaped!), (err: Error) => err instanceof ChameleonError && /freed when its scope ended/.test(err.message));
  const live0 = e.arenas.scratch.stats().liveBytes;
  for (let i = 0; i < 5; i++) e.scope(() => ops.add(e.full([1000], 1), e.full([1000], 2)).size);
  assert.equal(e.arenas.scratch.stats().liveBytes, live0, 'scopes must release their scratch memory');
  e.dispose();
});

test('noGrad records nothing; grad mode records and accumulates across backward calls', () => {
  const e = engine();
  const w = e.tensor([1, 2, 3], [3], 'f32', 'params').trainable();
  const y = e.noGrad(() => ops.mul(w, w));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
  for (let i = 0; i < 2; i++) e.scope(() => backward(ops.sum(ops.mul(w, w))));
  assert.deepEqual(w.grad!.toArray(), [4, 8, 12]); // 2 × 2w
  zeroGrad([w]);
  assert.deepEqual(w.grad!.toArray(), [0, 0, 0]);
  assert.throws(() => backward(e.zeros([1])), /does not depend on any trainable tensor/);
  e.dispose();
});

test('weight gradients added straight into .grad (linear used twice, rmsnorm, embedding) sum across uses and backward calls', () => {
  const e = engine();
  // W [2, 2] used by two linears on x [1, 2, 2] (shared-weight GEMM path) and once by a plain 2-D matmul.
  const w = e.tensor([1, 2, 3, 4], [2, 2], 'f32', 'params').trainable();
  const nw = e.tensor([2, 2], [2], 'f32', 'params').trainable();
  const table = e.tensor([1, 0, 0, 1, 1, 1], [3, 2], 'f32', 'params').trainable();
  const run = (): void =>
    e.scope(() => {
      const x = e.tensor([1, 0, 0, 1], [1, 2, 2]);
      const y = ops.add(ops.linear(x, w), ops.linear(x, w)); // 2·x·Wᵀ
      const z = ops.matmul(e.tensor([1, 1], [1, 2]), w); // [1, 2]: column sums of W
      const emb = ops.embedding(table, e.ids([2, 2], [1, 2])); // [1, 2, 2]: row 2 twice
      const r = ops.rmsnorm(e.tensor([3, 4], [1, 2]), nw, 0); // rms = sqrt(12.5)
      backward(ops.add(ops.add(ops.sum(y), ops.sum(z)), ops.add(ops.sum(emb), ops.sum(r))));
    });
  run();
  // d/dW of Σ 2·x·Wᵀ with x = I: 2 everywhere; of Σ [1 1]·W: 1 everywhere.
  assert.deepEqual(w.grad!.toArray(), [3, 3, 3, 3]);
  assert.deepEqual(table.grad!.toArray(), [0, 0, 0, 0, 2, 2]);
  const rms = Math.sqrt(12.5);
  const ng = nw.grad!.toArray();
  assert.ok(Math.abs(ng[0] - 3 / rms) < 1e-6 && Math.abs(ng[1] - 4 / rms) < 1e-6, `norm weight grad ${ng.join(', ')}`);
  run();
  assert.deepEqual(w.grad!.toArray(), [6, 6, 6, 6]);
  assert.deepEqual(table.grad!.toArray(), [0, 0, 0, 0, 4, 4]);
  e.dispose();
});

test('cross entropy gradient formed by the forward pass: softmax − onehot, scaled by the upstream gradient', () => {
  const e = engine();
  // logits [0, 0, ln 2]: softmax [1/4, 1/4, 1/2]; target 0 -> d CE / d logits = [-3/4, 1/4, 1/2].
  const logits = e.tensor([0, 0, Math.log(2)], [1, 3], 'f32', 'params').trainable();
  const t = e.ids([0], [1]);
  e.scope(() => backward(ops.crossEntropy(logits, t)));
  const g1 = logits.grad!.toArray();
  [-0.75, 0.25, 0.5].forEach((v, i) => assert.ok(Math.abs(g1[i] - v) < 1e-6, `upstream 1: ${g1.join(', ')}`));
  zeroGrad([logits]);
  e.scope(() => backward(ops.affine(ops.crossEntropy(logits, t), 3)));
  const g3 = logits.grad!.toArray();
  [-2.25, 0.75, 1.5].forEach((v, i) => assert.ok(Math.abs(g3[i] - v) < 1e-6, `upstream 3: ${g3.join(', ')}`));
  e.dispose();
});

test('AdamW with clipping fits a linear regression', () => {
  const e = engine();
  const wTrue = [0.5, -1.25, 2];
  const xs = Array.from({ length: 32 * 3 }, (_, i) => Math.sin(i * i * 0.37 + i)); // not a linear recurrence: full rank
  const ys = Array.from({ length: 32 }, (_, r) => wTrue.reduce((s, w, j) => s + w * xs[r * 3 + j], 0));
  const w = e.zeros([1, 3], 'f32', 'params').trainable();
  const opt = new AdamW([w], { lr: 0.05, weightDecay: 0, noDecay: () => true });
  let first = 0;
  let last = 0;
  for (let step = 0; step < 300; step++) {
    last = e.scope(() => {
      const x = e.tensor(xs, [32, 3]);
      const y = e.tensor(ys, [32, 1]);
      const err = ops.sub(ops.linear(x, w), y);
      const loss = ops.mean(ops.square(err));
      zeroGrad([w]);
      backward(loss);
      clipGradNorm([w], 1.0);
      assert.ok(gradNorm([w]) <= 1.0 + 1e-5);
      opt.update();
      return loss.item();
    });
    if (step === 0) first = last;
  }
  assert.ok(last < first * 1e-3, `loss ${first} -> ${last}`);
  w.toArray().forEach((v, i) => assert.ok(Math.abs(v - wTrue[i]) < 0.02, `w[${i}] = ${v}`));
  e.dispose();
});
