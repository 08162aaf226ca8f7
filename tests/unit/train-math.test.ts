// The training math pinned to numbers worked out by hand, through the engine on ref and wasm:
// cross entropy + z-loss (value and gradient, so a coefficient that is wrong in both forward and
// backward still fails — a finite-difference check cannot see that), and AdamW's default no-decay
// rule (rank-1 tensors such as norms and biases are not decayed, rank-2 weights are).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { AdamW, backward, ops, zeroGrad } from '../../src/engine/index.js';
import { crossEntropyParts } from '../../src/engine/ops/loss.js';
import { backendsUnderTest, type NamedBackend } from '../helpers/backends.js';

let backends: NamedBackend[] = [];

before(async () => {
  backends = await backendsUnderTest();
});
after(async () => {
  for (const b of backends) await b.backend.dispose();
});

function assertNear(got: ArrayLike<number>, want: readonly number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
}

test('cross entropy + z-loss: loss = mean CE + coeff · mean lse², and its gradient, on a hand-worked case', () => {
  // Three rows over a vocabulary of 3; the last row is ignored (target -100), so means are over 2 rows.
  // row 0: logits [0, 0, 0]        softmax [1/3, 1/3, 1/3]  lse = ln 3 = 1.0986123  CE(target 0) = ln 3
  // row 1: logits [0, ln 2, ln 3]  e^z = 1, 2, 3, sum 6     softmax [1/6, 1/3, 1/2]  lse = ln 6 = 1.7917595
  //                                                          CE(target 2) = ln 6 − ln 3 = ln 2
  // mean CE   = (ln 3 + ln 2) / 2 = ln 6 / 2                = 0.8958797
  // mean lse² = (1.0986123² + 1.7917595²) / 2 = (1.2069490 + 3.2104019) / 2 = 2.2086755
  // coeff 0.1: loss = 0.8958797 + 0.1 · 2.2086755           = 1.1167473
  // d loss / d z = (softmax − onehot + 2 · coeff · lse · softmax) / 2 per counted row, 0 on the ignored row:
  // row 0: 2·0.1·lse = 0.2197225; softmax·1.2197225 = 0.4065742 → [(0.4065742 − 1)/2, 0.4065742/2, 0.4065742/2]
  //        = [−0.2967129, 0.2032871, 0.2032871]
  // row 1: 2·0.1·lse = 0.3583519; softmax·1.3583519 = [0.2263920, 0.4527840, 0.6791759]
  //        → [0.2263920/2, 0.4527840/2, (0.6791759 − 1)/2] = [0.1131960, 0.2263920, −0.1604120]
  const logits = [0, 0, 0, 0, Math.log(2), Math.log(3), 5, -1, 2];
  const targets = [0, 2, -100];
  const wantGrad = [-0.2967129, 0.2032871, 0.2032871, 0.113196, 0.226392, -0.160412, 0, 0, 0];
  for (const b of backends) {
    const e = new Engine(b.backend);
    try {
      const z = e.tensor(logits, [3, 3], 'f32', 'params').trainable(); // [rows, V]
      e.scope(() => {
        const parts = crossEntropyParts(z, e.ids(targets, [3]), { zLoss: 0.1 });
        assert.equal(parts.count, 2, b.name);
        assertNear([parts.ce], [0.8958797], 1e-6, `${b.name} mean CE`);
        assertNear([parts.lseSq], [2.2086755], 1e-6, `${b.name} mean lse²`);
        assertNear([parts.loss.item()], [1.1167473], 1e-6, `${b.name} loss`);
        backward(parts.loss);
      });
      assertNear(z.grad!.f32(), wantGrad, 1e-6, `${b.name} gradient`);
      // Without z-loss the loss is the mean CE alone and the gradient (softmax − onehot) / 2.
      zeroGrad([z]);
      e.scope(() => {
        const loss = ops.crossEntropy(z, e.ids(targets, [3]));
        assertNear([loss.item()], [0.8958797], 1e-6, `${b.name} loss without z-loss`);
        backward(loss);
      });
      assertNear(z.grad!.f32(), [-1 / 3, 1 / 6, 1 / 6, 1 / 12, 1 / 6, -1 / 4, 0, 0, 0], 1e-6, `${b.name} gradient without z-loss`);
    } finally {
      e.dispose();
    }
  }
});

test('AdamW: by default rank-1 parameters are not decayed, rank-2 ones are (one step, zero gradient)', () => {
  // With a zero gradient the moments stay 0, so the Adam step is lr · 0 / (0 + eps) = 0 and only the
  // decoupled decay acts: p ← p − lr · wd · p = p · (1 − 0.1 · 0.5) = 0.95 · p for decayed tensors.
  for (const b of backends) {
    const e = new Engine(b.backend);
    try {
      const norm = e.tensor([1, -2, 4], [3], 'f32', 'params').trainable(); // [3]: a norm weight / bias
      const weight = e.tensor([1, 2, -3, 4], [2, 2], 'f32', 'params').trainable(); // [2, 2]: a matrix
      e.scope(() => backward(ops.add(ops.sum(ops.mul(norm, norm)), ops.sum(ops.mul(weight, weight)))));
      zeroGrad([norm, weight]);
      const opt = new AdamW([norm, weight], { lr: 0.1, weightDecay: 0.5 });
      opt.update();
      assert.deepEqual(norm.toArray(), [1, -2, 4], `${b.name}: the rank-1 tensor must not change`);
      assertNear(weight.f32(), [0.95, 1.9, -2.85, 3.8], 1e-6, `${b.name}: the rank-2 tensor decays by lr · wd`);
      // An explicit rule overrides the default: decay everything.
      const all = new AdamW([norm, weight], { lr: 0.1, weightDecay: 0.5, noDecay: () => false });
      all.update();
      assertNear(norm.f32(), [0.95, -1.9, 3.8], 1e-6, `${b.name}: rank-1 decayed when the rule says so`);
      assertNear(weight.f32(), [0.9025, 1.805, -2.7075, 3.61], 1e-6, `${b.name}: rank-2 decayed again`);
    } finally {
      e.dispose();
    }
  }
});
