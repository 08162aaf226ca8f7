// nn modules and the ParamStore they declare through: module field paths are the checkpoint keys
// (Chameleon and VQGAN), half-precision checkpoints load into half-precision matrices with no f32
// copy (params arena bytes = stored bytes), the Linear adapter seam (a LoRA-style adapter trains
// over a frozen bf16 weight), Embedding over f32/bf16/f16 tables, per-head LayerNorm, RMSNorm.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { backward, ops } from '../../src/engine/index.js';
import { Tensor } from '../../src/engine/tensor.js';
import { bf16ToF32, f16ToF32, type DType } from '../../src/engine/dtype.js';
import { ParamStore } from '../../src/nn/params.js';
import { Embedding, LayerNorm, Linear, RMSNorm, type LinearAdapter } from '../../src/nn/modules.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { loadChameleon, saveChameleon } from '../../src/model/checkpoint.node.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { Vqgan } from '../../src/tokenizers/image/vqgan.js';
import { TINY_VQGAN } from '../../src/tokenizers/image/config.js';

const tiny = (): ChameleonConfig => ({ ...presetConfig('tiny'), numKeyValueHeads: 2, warnings: [] }) as ChameleonConfig;

/** Every tensor reachable through module fields, with its field path (array index = path segment). */
function fieldPaths(obj: unknown, path: string, out: Map<Tensor, string[]>): void {
  if (obj instanceof Tensor) {
    out.set(obj, [...(out.get(obj) ?? []), path]);
    return;
  }
  if (obj === null || typeof obj !== 'object' || obj instanceof Engine || obj instanceof ParamStore || ArrayBuffer.isView(obj)) return;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'config' || k === 'cfg') continue;
    fieldPaths(v, path ? `${path}.${k}` : k, out);
  }
}

function assertFieldPathsAreNames(root: object, store: ParamStore, prefixOf: (path: string) => string): void {
  const found = new Map<Tensor, string[]>();
  fieldPaths(root, '', found);
  for (const t of store.list()) {
    const paths = found.get(t);
    assert.ok(paths, `parameter ${t.name} is not reachable through a module field`);
    assert.deepEqual(paths.map((p) => prefixOf(p) + p), [t.name], `field path of ${t.name}`);
  }
  assert.equal(found.size, store.list().length, 'every tensor field is a declared parameter');
}

test('module field paths are the checkpoint keys (layers[0].self_attn.q_proj.weight = model.layers.0.self_attn.q_proj.weight)', () => {
  const e = new Engine(createRefBackend());
  try {
    const m = new ChameleonModel(e, tiny(), new ParamStore(e));
    assertFieldPathsAreNames(m, m.params, (p) => (p.startsWith('lm_head.') ? '' : 'model.'));
    assert.equal(m.layers[1].self_attn.k_norm!.weight.name, 'model.layers.1.self_attn.k_norm.weight');
    const vq = new Vqgan(e, { ...TINY_VQGAN, attnResolutions: [8] }, { decoder: true });
    assertFieldPathsAreNames(vq, vq.store, () => '');
    assert.equal(vq.encoder!.down[2].attn[0].proj_out.weight.name, 'encoder.down.2.attn.0.proj_out.weight');
    assert.equal(vq.decoder!.up[1].upsample!.conv.weight.name, 'decoder.up.1.upsample.conv.weight');
  } finally {
    e.dispose();
  }
});

test('ParamPath: pp() composes dotted keys; a key declared twice is an error naming it', () => {
  const e = new Engine(createRefBackend());
  try {
    const store = new ParamStore(e, { matrices: 'bf16' });
    const p = store.pp('model').pp('layers').pp(3);
    assert.equal(p.key('mlp'), 'model.layers.3.mlp');
    assert.equal(store.pp().pp('lm_head').key('weight'), 'lm_head.weight');
    assert.equal(p.matrix('w', [2, 2], { kind: 'ones' }).dtype, 'bf16');
    assert.equal(p.f32('b', [2], { kind: 'ones' }).dtype, 'f32');
    assert.throws(() => p.f32('b', [2], { kind: 'ones' }), /model\.layers\.3\.b declared twice/);
  } finally {
    e.dispose();
  }
});

/** Bytes the arena hands out for the store's tensors (each allocation is rounded up to 64 bytes). */
function alignedBytes(store: ParamStore): number {
  return store.list().reduce((s, t) => s + Math.max(64, Math.ceil(t.data.byteLength / 64) * 64), 0);
}

const MATRIX = /(_proj|embed_tokens|lm_head)\.weight$/;

for (const half of ['bf16', 'f16'] as const) {
  test(`a ${half} checkpoint loads with ${half} matrices and no f32 copy (params arena = stored size); weights: 'f32' widens`, () => {
    const e = new Engine(createRefBackend());
    const dir = mkdtempSync(join(tmpdir(), `cham-${half}-`));
    try {
      const src = ChameleonModel.create(e, tiny(), 7, half);
      saveChameleon(src, dir);
      const ids = e.ids([1, 4, 9, 16, 25], [1, 5]);
      const want = e.noGrad(() => src.forward({ ids }).logits.toArray());

      const e2 = new Engine(createRefBackend());
      try {
        const scratchBefore = e2.arenas.scratch.stats().peakBytes;
        const m = loadChameleon(e2, dir);
        for (const t of m.params.list()) assert.equal(t.dtype, MATRIX.test(t.name) ? half : 'f32', t.name);
        assert.equal(m.matrixDType, half);
        const halfBytes = m.params.bytes();
        const stats = e2.arenas.params.stats();
        assert.equal(stats.liveBytes, alignedBytes(m.params), 'params arena holds exactly the stored tensors');
        assert.equal(stats.peakBytes, stats.liveBytes, 'nothing was allocated in the params arena and dropped');
        assert.equal(e2.arenas.scratch.stats().peakBytes, scratchBefore, 'no scratch copy for widening');
        for (const t of m.params.list()) assert.deepEqual(t.data, src.params.get(t.name).data, `${t.name} bits as saved`);
        assert.deepEqual(e2.noGrad(() => m.forward({ ids: e2.ids([1, 4, 9, 16, 25], [1, 5]) }).logits.toArray()), want);

        const w = loadChameleon(e2, dir, { weights: 'f32' });
        for (const t of w.params.list()) assert.equal(t.dtype, 'f32', t.name);
        assert.ok(w.params.bytes() > 1.9 * halfBytes, 'widened matrices take twice the bytes');
        const widen = half === 'bf16' ? bf16ToF32 : f16ToF32;
        const name = 'model.layers.0.mlp.up_proj.weight';
        assert.deepEqual(w.params.get(name).data, Float32Array.from(m.params.get(name).data, widen));
      } finally {
        e2.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      e.dispose();
    }
  });
}

/** LoRA as the training issue will build it: y = base + (x·Aᵀ)·Bᵀ, A [r, in], B [out, r] trainable. */
class TestLora implements LinearAdapter {
  calls = 0;
  constructor(
    readonly a: Tensor,
    readonly b: Tensor,
  ) {}

  forward(x: Tensor, base: Tensor): Tensor {
    this.calls++;
    return ops.add(base, ops.linear(ops.linear(x, this.a), this.b)); // [..., out]
  }
}

test('Linear: x·Wᵀ + b over any storage dtype; an adapter sees (x, base) and trains over a frozen bf16 weight', () => {
  const e = new Engine(createRefBackend());
  try {
    const store = new ParamStore(e, { matrices: 'bf16' });
    const lin = new Linear(store.pp('proj'), 4, 3, { bias: true, init: { kind: 'normal', std: 0.5 }, biasInit: { kind: 'uniform', bound: 1 } });
    store.initialize(11);
    assert.equal(lin.weight.dtype, 'bf16');
    assert.equal(lin.bias!.dtype, 'f32');
    const x = e.tensor([0.5, -1, 2, 0.25, 1, 1, -0.5, 3], [2, 4]);
    const plain = lin.forward(x).toArray();
    const w = lin.weight.toArray();
    const b = lin.bias!.toArray();
    for (let r = 0; r < 2; r++) {
      for (let o = 0; o < 3; o++) {
        let s = 0;
        for (let i = 0; i < 4; i++) s += x.toArray()[r * 4 + i] * w[o * 4 + i];
        assert.ok(Math.abs(plain[r * 3 + o] - (s + b[o])) < 1e-5, `y[${r},${o}]`);
      }
    }
    assert.deepEqual(store.trainable().map((t) => t.name), ['proj.bias'], 'a bf16 weight is never trainable');

    const lora = new TestLora(e.tensor([0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8], [2, 4]).trainable(), e.tensor([1, 0, 0, 1, 1, 1], [3, 2]).trainable());
    lin.adapter = lora;
    const y = lin.forward(x);
    assert.equal(lora.calls, 1);
    const delta = ops.linear(ops.linear(x, lora.a), lora.b).toArray();
    y.toArray().forEach((v, i) => assert.ok(Math.abs(v - (plain[i] + delta[i])) < 1e-6, `adapted y[${i}]`));
    backward(ops.sum(y));
    assert.ok(lora.a.grad && lora.b.grad, 'gradients reach the adapter');
    assert.ok(lora.b.grad.toArray().some((g) => g !== 0));
    assert.equal(lin.weight.grad, null);
    lin.adapter = null;
    assert.deepEqual(lin.forward(x).toArray(), plain, 'detaching the adapter restores the base layer');
  } finally {
    e.dispose();
  }
});

test('Embedding gathers f32, bf16 and f16 tables exactly (rows widened)', () => {
  const e = new Engine(createRefBackend());
  try {
    for (const dt of ['f32', 'bf16', 'f16'] as DType[]) {
      const store = new ParamStore(e, { matrices: dt });
      const emb = new Embedding(store.pp('embed_tokens'), 5, 3);
      store.initialize(3);
      assert.equal(emb.weight.dtype, dt);
      const table = emb.weight.toArray();
      const got = emb.forward(e.ids([4, 0, 4, 2], [2, 2]));
      assert.deepEqual(got.shape, [2, 2, 3]);
      assert.deepEqual(got.toArray(), [4, 0, 4, 2].flatMap((id) => table.slice(id * 3, id * 3 + 3)), dt);
    }
  } finally {
    e.dispose();
  }
});

test('LayerNorm with [H, D] affine normalises each head with its own row; RMSNorm scales by 1/rms', () => {
  const e = new Engine(createRefBackend());
  try {
    const store = new ParamStore(e);
    const ln = new LayerNorm(store.pp('q_norm'), [2, 3], 1e-5);
    const rms = new RMSNorm(store.pp('norm'), 3, 1e-6);
    ln.weight.data.set([1, 2, 3, -1, 0.5, 2]);
    ln.bias.data.set([0, 0.1, 0.2, 1, 1, 1]);
    rms.weight.data.set([2, 1, 0.5]);
    const xs = [1, 2, 4, -3, 0, 6, 0.5, 0.5, 2, 7, -1, 1]; // [2 tokens, 2 heads, 3]
    const y = ln.forward(e.tensor(xs, [2, 2, 3])).toArray();
    const r = rms.forward(e.tensor(xs, [4, 3])).toArray();
    for (let row = 0; row < 4; row++) {
      const v = xs.slice(row * 3, row * 3 + 3);
      const mean = (v[0] + v[1] + v[2]) / 3;
      const vr = v.reduce((s, a) => s + (a - mean) ** 2, 0) / 3;
      const ms = v.reduce((s, a) => s + a * a, 0) / 3;
      const h = row % 2;
      for (let i = 0; i < 3; i++) {
        const wantLn = ((v[i] - mean) / Math.sqrt(vr + 1e-5)) * ln.weight.toArray()[h * 3 + i] + ln.bias.toArray()[h * 3 + i];
        assert.ok(Math.abs(y[row * 3 + i] - wantLn) < 1e-5, `layernorm row ${row} col ${i}`);
        assert.ok(Math.abs(r[row * 3 + i] - (v[i] / Math.sqrt(ms + 1e-6)) * rms.weight.toArray()[i]) < 1e-5, `rmsnorm row ${row} col ${i}`);
      }
    }
  } finally {
    e.dispose();
  }
});

test('qkNorm false (the stability lab arm): no q_norm/k_norm parameters, different logits, and the config says so', () => {
  const e = new Engine(createRefBackend());
  try {
    const withNorm = ChameleonModel.create(e, tiny(), 3);
    const without = ChameleonModel.create(e, { ...tiny(), qkNorm: false }, 3);
    const normNames = withNorm.params.names().filter((n) => /\.(q|k)_norm\./.test(n));
    assert.equal(normNames.length, 4 * tiny().numHiddenLayers);
    assert.deepEqual(without.params.names(), withNorm.params.names().filter((n) => !normNames.includes(n)));
    assert.equal(without.layers[0].self_attn.q_norm, null);
    e.scope(() => {
      const ids = e.ids([1, 5, 9, 13, 2, 7], [1, 6]);
      const a = withNorm.forward({ ids }).logits.toArray();
      const b = without.forward({ ids }).logits.toArray();
      assert.ok(a.some((v, i) => Math.abs(v - b[i]) > 1e-4), 'skipping the QK norm changes the logits');
    });
    const dir = mkdtempSync(join(tmpdir(), 'cham-qk-'));
    try {
      saveChameleon(without, dir);
      const back = loadChameleon(e, dir);
      assert.equal(back.config.qkNorm, false);
      saveChameleon(withNorm, join(dir, 'b'));
      assert.equal(loadChameleon(e, join(dir, 'b')).config.qkNorm, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    e.dispose();
  }
});
