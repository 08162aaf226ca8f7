// Model behaviour beyond the HF fixtures: save → load round trips (same logits, same tensor names,
// shapes and config keys as the HF fixture files), the swin-norm layout against an independent
// composition of ops, KV-cache decoding equal to full recomputation, and training-mode features.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { backward, ops } from '../../src/engine/index.js';
import { loadChameleon, saveChameleon } from '../../src/model/checkpoint.node.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { KVCache } from '../../src/model/kv-cache.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { openSafetensors } from '../../src/io/safetensors.node.js';

const FIX = 'tests/fixtures/hf-chameleon/mha';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('save → load reproduces logits, HF tensor names/shapes and config keys', () => {
  const e = new Engine(createRefBackend());
  const dir = mkdtempSync(join(tmpdir(), 'cham-save-'));
  try {
    const model = loadChameleon(e, FIX);
    const ids = e.ids([0, 5, 9, 100, 7], [1, 5]);
    const before = e.noGrad(() => model.forward({ ids }).logits.toArray());
    const src = openSafetensors(FIX);
    const vq = [...src.tensors().values()].filter((t) => t.name.startsWith('model.vqmodel.'));
    const extra = vq.map((t) => ({ name: t.name, dtype: 'f32' as const, shape: [...t.shape], data: src.readBytes(t.name) }));
    saveChameleon(model, dir, { extraTensors: extra });
    src.close();
    const back = loadChameleon(e, dir);
    const after = e.noGrad(() => back.forward({ ids }).logits.toArray());
    assert.equal(maxDiff(before, after), 0);
    const a = openSafetensors(FIX);
    const b = openSafetensors(dir);
    const sig = (m: ReturnType<typeof openSafetensors>) => [...m.tensors().values()].map((t) => `${t.name} ${t.dtype} ${t.shape.join('x')}`).sort();
    assert.deepEqual(sig(b), sig(a), 'saved tensors must match the HF checkpoint exactly (names, dtypes, shapes)');
    a.close();
    b.close();
    const full = JSON.parse(readFileSync(`${FIX}/expected.json`, 'utf8')).config_full as Record<string, unknown>;
    const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['model_type', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size', 'rms_norm_eps', 'rope_theta', 'swin_norm', 'vocabulary_map', 'max_position_embeddings']) {
      assert.deepEqual(saved[key], full[key], `config key ${key}`);
    }
    const vqSaved = saved.vq_config as Record<string, unknown>;
    const vqFull = full.vq_config as Record<string, unknown>;
    for (const [k, v] of Object.entries(vqSaved)) if (k in vqFull) assert.deepEqual(v, vqFull[k], `vq_config.${k}`);
    assert.deepEqual(saved.architectures, ['ChameleonForConditionalGeneration']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    e.dispose();
  }
});

function tinyConfig(swin: boolean): ChameleonConfig {
  const c = presetConfig('tiny');
  return { ...c, swinNorm: swin, numKeyValueHeads: 2, warnings: [] } as ChameleonConfig;
}

test('swin-norm layout equals an independent composition of ops', () => {
  const e = new Engine(createRefBackend());
  const cfg = tinyConfig(true);
  const m = ChameleonModel.create(e, cfg, 3);
  const ids = [0, 11, 22, 33];
  const got = e.noGrad(() => m.forward({ ids: e.ids(ids, [1, 4]) }).logits.toArray());
  const want = e.noGrad(() => {
    const w = (n: string) => m.params.get(n);
    const T = ids.length;
    const H = cfg.numAttentionHeads;
    const Hk = cfg.numKeyValueHeads;
    const D = cfg.headDim;
    const pos = Int32Array.from([0, 1, 2, 3]);
    let x = ops.embedding(w('model.embed_tokens.weight'), e.ids(ids, [1, T]));
    for (let l = 0; l < cfg.numHiddenLayers; l++) {
      const p = `model.layers.${l}`;
      const q0 = ops.layernorm(ops.reshape(ops.linear(x, w(`${p}.self_attn.q_proj.weight`)), [1, T, H, D]), w(`${p}.self_attn.q_norm.weight`), w(`${p}.self_attn.q_norm.bias`), 1e-5);
      const k0 = ops.layernorm(ops.reshape(ops.linear(x, w(`${p}.self_attn.k_proj.weight`)), [1, T, Hk, D]), w(`${p}.self_attn.k_norm.weight`), w(`${p}.self_attn.k_norm.bias`), 1e-5);
      const v = ops.reshape(ops.linear(x, w(`${p}.self_attn.v_proj.weight`)), [1, T, Hk, D]);
      const att = ops.attention(ops.rope(q0, pos, cfg.ropeTheta), ops.rope(k0, pos, cfg.ropeTheta), v);
      const o = ops.linear(ops.reshape(att, [1, T, H * D]), w(`${p}.self_attn.o_proj.weight`));
      const h = ops.add(x, ops.rmsnorm(o, w(`${p}.input_layernorm.weight`), cfg.rmsNormEps));
      const mlp = ops.linear(ops.mul(ops.silu(ops.linear(h, w(`${p}.mlp.gate_proj.weight`))), ops.linear(h, w(`${p}.mlp.up_proj.weight`))), w(`${p}.mlp.down_proj.weight`));
      x = ops.add(h, ops.rmsnorm(mlp, w(`${p}.post_attention_layernorm.weight`), cfg.rmsNormEps));
    }
    return ops.linear(ops.rmsnorm(x, w('model.norm.weight'), cfg.rmsNormEps), w('lm_head.weight')).toArray();
  });
  assert.ok(maxDiff(got, want) < 1e-5, `swin layout differs: ${maxDiff(got, want)}`);
  e.dispose();
});

test('KV-cache decode equals full recomputation (pre-norm and swin, GQA)', () => {
  for (const swin of [false, true]) {
    const e = new Engine(createRefBackend());
    const m = ChameleonModel.create(e, tinyConfig(swin), 5);
    const seq = [0, 17, 4, 99, 250, 3, 42];
    const full = e.noGrad(() => m.forward({ ids: e.ids(seq, [1, seq.length]) }).logits.toArray());
    const cache = new KVCache(e, m.config, 1, 16);
    const V = m.config.vocabSize;
    e.noGrad(() => {
      const pre = m.forward({ ids: e.ids(seq.slice(0, 4), [1, 4]), cache }).logits.toArray();
      assert.ok(maxDiff(pre, full.slice(0, 4 * V)) < 1e-5);
      for (let t = 4; t < seq.length; t++) {
        const step = m.forward({ ids: e.ids([seq[t]], [1, 1]), cache }).logits.toArray();
        assert.ok(maxDiff(step, full.slice(t * V, (t + 1) * V)) < 1e-5, `swin=${swin} step ${t}`);
      }
    });
    assert.throws(() => m.forward({ ids: e.ids(new Array(10).fill(1), [1, 10]), cache }), /exceed the cache length 16/);
    cache.dispose();
    e.dispose();
  }
});

test('a bf16 KV cache halves the cache and decodes to logits close to the f32 cache', () => {
  const e = new Engine(createRefBackend());
  const m = ChameleonModel.create(e, tinyConfig(false), 5);
  const seq = [0, 17, 4, 99, 250, 3, 42, 7];
  const V = m.config.vocabSize;
  const caches = [new KVCache(e, m.config, 1, 16), new KVCache(e, m.config, 1, 16, 'bf16')];
  assert.equal(caches[1].bytes() * 2, caches[0].bytes());
  assert.equal(caches[1].k[0].dtype, 'bf16');
  e.noGrad(() => {
    const steps = [caches.map((c) => m.forward({ ids: e.ids(seq.slice(0, 4), [1, 4]), cache: c }).logits.toArray())]; // prefill [1, 4, V]
    for (let t = 4; t < seq.length; t++) steps.push(caches.map((c) => m.forward({ ids: e.ids([seq[t]], [1, 1]), cache: c }).logits.toArray()));
    assert.equal(steps[0][0].length, 4 * V);
    for (const [t, [x, y]] of steps.entries()) {
      let scale = 0;
      for (const v of x) scale = Math.max(scale, Math.abs(v));
      const err = maxDiff(y, x);
      assert.ok(err > 0 && err < 2e-2 * scale, `step ${t}: bf16-cache logits differ by ${err} (scale ${scale})`);
    }
  });
  // Copying rows between caches keeps their dtype; mixing dtypes is refused.
  const c2 = new KVCache(e, m.config, 2, 16, 'bf16');
  c2.copyRange(caches[1], 0, 0, 1, 0, 8);
  assert.deepEqual([...c2.k[1].data.subarray(16 * c2.k[1].shape[2] * c2.k[1].shape[3], 16 * c2.k[1].shape[2] * c2.k[1].shape[3] + 8)], [...caches[1].k[1].data.subarray(0, 8)]);
  assert.throws(() => c2.copyRange(caches[0], 0, 0, 0, 0, 4), /incompatible caches/);
  assert.throws(() => new KVCache(e, m.config, 1, 4, 'f16' as never), /dtype must be f32 or bf16/);
  for (const c of [...caches, c2]) c.dispose();
  e.dispose();
});

test('a KV cache holds more rows than the forward uses: setBatch views its first rows, moveRange moves within it', () => {
  const e = new Engine(createRefBackend());
  const m = ChameleonModel.create(e, tinyConfig(false), 5);
  const c = new KVCache(e, m.config, 4, 8);
  const [, S, hk, d] = c.k[0].shape;
  const row = hk * d; // elements per position
  const full = c.k[0].data;
  for (let i = 0; i < full.length; i++) full[i] = i; // element i of row r, position s: i = (r·S + s)·row + j
  c.setBatch(2);
  assert.equal(c.batch, 2);
  assert.deepEqual(c.k[0].shape, [2, S, hk, d]);
  assert.equal(c.k[0].data.buffer, full.buffer);
  assert.equal(c.k[0].data.byteOffset, full.byteOffset, 'the view starts at row 0');
  assert.equal(c.k[0].data.length, 2 * S * row);
  assert.throws(() => m.forward({ ids: e.ids([1, 2, 3], [3, 1]), cache: c }), /batch 3 does not match the cache's 2/);
  // Row 3 positions [2, 6) to row 1 at [2, 6); then row 1 [2, 6) to [3, 7) (overlapping, moves right).
  c.moveRange(3, 2, 1, 2, 4);
  const at = (r: number, s: number): number => full[(r * S + s) * row];
  assert.deepEqual([2, 3, 4, 5].map((s) => at(1, s)), [2, 3, 4, 5].map((s) => (3 * S + s) * row));
  c.moveRange(1, 2, 1, 3, 4);
  assert.deepEqual([3, 4, 5, 6].map((s) => at(1, s)), [2, 3, 4, 5].map((s) => (3 * S + s) * row));
  assert.equal(c.v[0].data[(1 * S + 3) * row], 0, 'values move with keys (zeros here)');
  assert.throws(() => c.setBatch(5), /holds 1\.\.4/);
  assert.throws(() => c.moveRange(0, 6, 1, 0, 4), /incompatible caches or range/);
  c.setBatch(4);
  assert.equal(c.k[0].data.length, 4 * S * row);
  c.dispose();
  e.dispose();
});

test('logitRange computes exactly the chosen vocabulary slice of the logits (lastOnly too)', () => {
  const e = new Engine(createRefBackend());
  const m = ChameleonModel.create(e, tinyConfig(false), 9);
  const seq = [0, 17, 4, 99, 250, 3];
  const V = m.config.vocabSize;
  const [lo, hi] = [4, 4 + 64];
  e.noGrad(() => {
    const full = m.forward({ ids: e.ids(seq, [2, 3]) }).logits.toArray(); // [2, 3, V]
    const part = m.forward({ ids: e.ids(seq, [2, 3]), logitRange: [lo, hi] }); // [2, 3, 64]
    assert.deepEqual(part.logits.shape, [2, 3, hi - lo]);
    const got = part.logits.toArray();
    for (let r = 0; r < 6; r++) assert.deepEqual(got.slice(r * (hi - lo), (r + 1) * (hi - lo)), full.slice(r * V + lo, r * V + hi), `row ${r}`);
    const last = m.forward({ ids: e.ids(seq, [2, 3]), logitRange: [lo, hi], lastOnly: true }).logits;
    assert.deepEqual(last.shape, [2, 1, hi - lo]);
    assert.deepEqual(last.toArray().slice(0, hi - lo), got.slice(2 * (hi - lo), 3 * (hi - lo)));
  });
  assert.throws(() => m.forward({ ids: e.ids(seq, [1, 6]), logitRange: [10, V + 1] }), /narrow: rows \[10, \d+\) out of bounds/);
  assert.throws(() => m.forward({ ids: e.ids(seq, [1, 6]), logitRange: [lo, hi], maskImageTokens: true }), /cannot be combined/);
  e.dispose();
});

test('training forward: dropout is seeded, z-loss and gradients reach every parameter', () => {
  const e = new Engine(createRefBackend());
  const m = ChameleonModel.create(e, tinyConfig(false), 9);
  const ids = e.ids([0, 5, 6, 7, 8, 9], [1, 6]);
  const targets = e.ids([5, 6, 7, 8, 9, 2], [1, 6]);
  const run = (seed: number) => e.scope(() => m.forward({ ids, dropout: { p: 0.1, seed } }).logits.toArray());
  assert.equal(maxDiff(run(1), run(1)), 0, 'same seed, same dropout masks');
  assert.ok(maxDiff(run(1), run(2)) > 0, 'different seeds differ');
  e.scope(() => {
    const { logits } = m.forward({ ids, dropout: { p: 0.1, seed: 1 } });
    backward(ops.crossEntropy(logits, targets, { zLoss: 1e-5 }));
  });
  for (const p of m.params.list()) {
    assert.ok(p.grad, `${p.name} has no gradient`);
    assert.ok(p.grad.toArray().some((v) => v !== 0), `${p.name} gradient is all zero`);
  }
  e.dispose();
});

test('loading a checkpoint that does not match the config names every problem', () => {
  const e = new Engine(createRefBackend());
  const src = openSafetensors(FIX);
  const m = ChameleonModel.create(e, { ...presetConfig('tiny'), numHiddenLayers: 3, intermediateSize: 96, warnings: [] } as ChameleonConfig);
  assert.throws(
    () => m.params.load(src, { ignore: (n) => n.startsWith('model.vqmodel.') }),
    (err: Error) => /missing .*model\.layers\.2\.self_attn\.q_proj\.weight/.test(err.message) && /shape mismatch: model\.layers\.0\.mlp\.gate_proj\.weight: checkpoint \[128, 64\], model \[96, 64\]/.test(err.message),
  );
  src.close();
  e.dispose();
});
