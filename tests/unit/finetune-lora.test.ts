// LoRA fine-tuning (src/nn/lora.ts + trainableParams 'lora'): an adapted model starts bit-equal to
// its base (f32 and bf16 bases); AdamW steps on a toy next-token objective lower the loss while
// every base weight stays bit-identical and only A/B move; frozen weights get no gradient buffer
// (the grads arena holds exactly the adapters); merging gives the adapted logits and leaves no
// adapters; names follow PEFT; bad configs are refused by name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { AdamW, backward, ops, zeroGrad } from '../../src/engine/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import type { DType } from '../../src/engine/dtype.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { LORA_TARGETS, LoraAdapter, attachLora, loraAdapters, loraDropoutSeeds, mergeLora, peftKey } from '../../src/nn/lora.js';
import { finetuneMemory, trainableParams } from '../../src/train/finetune.js';

const cfg = (): ChameleonConfig => ({ ...presetConfig('tiny'), numKeyValueHeads: 2, warnings: [] }) as ChameleonConfig;
const B = 2;
const T = 12;
/** A fixed pseudo-random token stream (the toy objective: memorise its next tokens). */
const stream = Array.from({ length: B * (T + 1) }, (_, i) => (i * 37 + 11) % 200);
const inputs = Array.from({ length: B * T }, (_, i) => stream[Math.floor(i / T) * (T + 1) + (i % T)]);
const targets = Array.from({ length: B * T }, (_, i) => stream[Math.floor(i / T) * (T + 1) + (i % T) + 1]);

function logits(e: Engine, m: ChameleonModel): Float32Array {
  return e.noGrad(() => e.scope(() => Float32Array.from(m.forward({ ids: e.ids(inputs, [B, T]) }).logits.f32())));
}

function lossStep(e: Engine, m: ChameleonModel): { loss: number; grads: number } {
  return e.scope(() => {
    const out = m.forward({ ids: e.ids(inputs, [B, T]) }).logits; // [B, T, V]
    const loss = ops.crossEntropy(out, e.ids(targets, [B, T]));
    backward(loss);
    return { loss: loss.item(), grads: e.memoryStats().arenas.find((a) => a.name === 'grads')!.liveBytes };
  });
}

const bytes = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const snapshot = (m: ChameleonModel): Map<string, Buffer> => new Map(m.params.list().map((t) => [t.name, Buffer.from(bytes(t))]));
const aligned = (ts: readonly Tensor[]): number => ts.reduce((s, t) => s + Math.ceil((t.size * 4) / 64) * 64, 0);
const ALL = [...LORA_TARGETS];

test('LoRA: an adapted model starts bit-equal to its base (B = 0), on f32 and bf16 bases', () => {
  for (const dtype of ['f32', 'bf16'] as DType[]) {
    const e = new Engine(createRefBackend());
    try {
      const m = ChameleonModel.create(e, cfg(), 3, dtype);
      const before = logits(e, m);
      const adapters = attachLora(m, { rank: 4, alpha: 8, targets: ALL, seed: 1 });
      assert.equal(adapters.length, 2 * 7);
      assert.ok(adapters[0].lora_A.toArray().some((v) => v !== 0), 'A is random');
      if (dtype === 'f32') {
        assert.ok(adapters.every((a) => !a.base.weight.requiresGrad), 'attachLora freezes the adapted base weights');
        assert.ok(m.layers[0].input_layernorm.weight.requiresGrad, 'attachLora alone leaves other parameters as they were');
      }
      assert.ok(Buffer.from(before.buffer).equals(Buffer.from(logits(e, m).buffer)), `${dtype}: logits bit-identical after attach`);
    } finally {
      e.dispose();
    }
  }
});

test('LoRA: AdamW steps lower the loss, move only A and B, and leave every base weight bit-identical (f32 and bf16 base)', () => {
  for (const dtype of ['f32', 'bf16'] as DType[]) {
    const e = new Engine(createRefBackend());
    try {
      const m = ChameleonModel.create(e, cfg(), 5, dtype);
      const base = snapshot(m);
      const params = trainableParams(m, 'lora', { lora: { rank: 4, alpha: 8, targets: ALL, seed: 2 } });
      assert.equal(params.length, 2 * 2 * 7);
      assert.ok(params.every((p) => p.dtype === 'f32' && p.requiresGrad && /\.lora_[AB]\.weight$/.test(p.name)));
      const a0 = params.map((p) => Float32Array.from(p.f32()));
      const opt = new AdamW(params, { lr: 1e-2 });
      const losses: number[] = [];
      for (let s = 0; s < 6; s++) {
        const { loss, grads } = lossStep(e, m);
        losses.push(loss);
        // Frozen weights get no gradient buffer: the grads arena holds exactly the adapters' A and B.
        assert.equal(grads, aligned(params), `${dtype} step ${s}: grads arena bytes = adapters only`);
        for (const t of m.params.list()) assert.equal(t.grad, null, `${t.name} has no .grad`);
        opt.update();
        zeroGrad(params);
      }
      assert.ok(losses[5] < losses[0] - 0.05, `${dtype}: loss fell (${losses.map((l) => l.toFixed(3)).join(' ')})`);
      for (const t of m.params.list()) assert.ok(bytes(t).equals(base.get(t.name)!), `${dtype}: base ${t.name} bit-identical`);
      assert.ok(params.every((p, i) => p.f32().some((v, j) => v !== a0[i][j])), `${dtype}: every A and B moved`);
    } finally {
      e.dispose();
    }
  }
});

test('mergeLora: W += (alpha/rank)·B·A gives the adapted logits, removes every adapter, keeps the storage dtype', () => {
  for (const [dtype, tol] of [['f32', 2e-5], ['bf16', 5e-3]] as [DType, number][]) {
    const e = new Engine(createRefBackend());
    try {
      const m = ChameleonModel.create(e, cfg(), 7, dtype);
      const params = trainableParams(m, 'lora', { lora: { rank: 4, alpha: 16, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'], seed: 4 } });
      const opt = new AdamW(params, { lr: 2e-2 });
      for (let s = 0; s < 4; s++) {
        lossStep(e, m);
        opt.update();
        zeroGrad(params);
      }
      const base = baseLogits(e, m);
      const adapted = logits(e, m);
      const drift = maxAbsDiff(base, adapted);
      assert.ok(drift > 10 * tol, `${dtype}: the trained adapters change the logits (max |Δ| ${drift})`);
      const q = m.layers[0].self_attn.q_proj.weight;
      const q0 = Buffer.from(bytes(q));
      const report = mergeLora(m);
      assert.equal(report.merged.length, 2 * 5);
      assert.ok(report.dtypes.every((d) => d === dtype), `${dtype}: merged weights keep their storage dtype`);
      assert.equal(loraAdapters(m).length, 0);
      for (const l of m.layers) for (const p of [l.self_attn, l.mlp] as object[]) for (const v of Object.values(p)) if (v && typeof v === 'object' && 'adapter' in v) assert.equal(v.adapter, null);
      assert.ok(!bytes(q).equals(q0), 'q_proj weight changed');
      assert.ok(q.requiresGrad === false, 'trainability restored to what it was before attaching (frozen by trainableParams)');
      const merged = logits(e, m);
      const err = maxAbsDiff(merged, adapted);
      assert.ok(err < tol, `${dtype}: merged logits match the adapted model (max |Δ| ${err} < ${tol})`);
    } finally {
      e.dispose();
    }
  }
});

/** The base model's logits: adapters unhooked from their layers for one forward, then put back. */
function baseLogits(e: Engine, m: ChameleonModel): Float32Array {
  const adapters = loraAdapters(m);
  for (const a of adapters) a.base.adapter = null;
  try {
    return logits(e, m);
  } finally {
    for (const a of adapters) a.base.adapter = a;
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('LoRA names follow PEFT; A ~ U(±1/√in) seeded; dropout only while recording gradients', () => {
  const e = new Engine(createRefBackend());
  try {
    const m = ChameleonModel.create(e, cfg(), 1);
    const ad = attachLora(m, { rank: 2, alpha: 4, targets: ['k_proj', 'gate_proj'], seed: 9, dropout: 0.5 });
    assert.deepEqual(
      ad.map((a) => a.lora_A.name),
      ['model.layers.0.self_attn.k_proj.lora_A.weight', 'model.layers.0.mlp.gate_proj.lora_A.weight', 'model.layers.1.self_attn.k_proj.lora_A.weight', 'model.layers.1.mlp.gate_proj.lora_A.weight'],
    );
    assert.equal(ad[3].lora_B.name, 'model.layers.1.mlp.gate_proj.lora_B.weight');
    assert.deepEqual(ad[1].lora_B.shape, [128, 2]);
    assert.equal(peftKey(ad[0].lora_A.name), 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight');
    const bound = 1 / Math.sqrt(64);
    const a = ad[0].lora_A.toArray();
    assert.ok(a.every((v) => Math.abs(v) <= bound) && Math.max(...a.map(Math.abs)) > 0.8 * bound, 'A within the Kaiming-uniform bound');
    assert.notDeepEqual(ad[0].lora_A.toArray(), ad[2].lora_A.toArray(), 'each adapter draws its own A');
    // With B ≠ 0, dropout changes the training forward but never the no-grad one.
    for (const x of ad) x.lora_B.f32().fill(0.05);
    const evalA = logits(e, m);
    loraDropoutSeeds(ad, 123);
    assert.deepEqual(ad.map((x) => x.dropout!.seed), [123, 124, 125, 126]);
    assert.deepEqual(logits(e, m), evalA, 'no dropout under noGrad');
    const train = e.scope(() => Float32Array.from(m.forward({ ids: e.ids(inputs, [B, T]) }).logits.f32()));
    assert.ok(maxAbsDiff(train, evalA) > 1e-4, 'dropout applies while recording');
  } finally {
    e.dispose();
  }
});

test('attachLora refuses unknown and repeated targets, a second attach, and a bad rank, naming the problem', () => {
  const e = new Engine(createRefBackend());
  try {
    const m = ChameleonModel.create(e, cfg(), 1);
    assert.throws(() => attachLora(m, { rank: 2, alpha: 4, targets: ['qkv'], seed: 0 }), /no projection 'qkv' \(known: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj\)/);
    assert.throws(() => attachLora(m, { rank: 2, alpha: 4, targets: ['q_proj', 'q_proj'], seed: 0 }), /'q_proj' is listed twice/);
    assert.throws(() => attachLora(m, { rank: 0, alpha: 4, targets: ['q_proj'], seed: 0 }), /rank must be a positive integer/);
    assert.throws(() => new LoraAdapter(e, m.layers[0].self_attn.k_proj, { rank: 65, alpha: 1, seed: 0 }), /rank 65 exceeds/);
    assert.equal(loraAdapters(m).length, 0, 'a refused attach leaves nothing attached');
    attachLora(m, { rank: 2, alpha: 4, targets: ['q_proj'], seed: 0 });
    assert.throws(() => attachLora(m, { rank: 2, alpha: 4, targets: ['v_proj'], seed: 0 }), /already has adapters/);
    assert.throws(() => trainableParams(m, 'full'), /LoRA adapters attached/);
    assert.throws(() => trainableParams(ChameleonModel.create(e, cfg(), 1), 'lora'), /no adapters attached and no lora config/);
  } finally {
    e.dispose();
  }
});

test('finetuneMemory matches the arenas measured after one LoRA step (params, grads, m, v)', () => {
  const e = new Engine(createRefBackend());
  try {
    const c = cfg();
    const m = ChameleonModel.create(e, c, 1, 'bf16');
    const lora = { rank: 4, alpha: 8, targets: ['q_proj', 'k_proj', 'down_proj'], seed: 0 };
    const params = trainableParams(m, 'lora', { lora });
    const opt = new AdamW(params, { lr: 1e-3 });
    lossStep(e, m);
    opt.update();
    const est = finetuneMemory(c, 'lora', { lora, matrixBytes: 2 });
    const live = (n: string): number => e.memoryStats().arenas.find((a) => a.name === n)!.liveBytes;
    const slack = 64 * (m.params.list().length + params.length); // each allocation rounds up to 64 bytes
    assert.equal(est.trainable, params.reduce((s, p) => s + p.size, 0));
    assert.ok(Math.abs(live('params') - est.params) <= slack, `params arena ${live('params')} vs estimate ${est.params}`);
    assert.ok(Math.abs(live('grads') - est.grads) <= 64 * params.length, `grads arena ${live('grads')} vs estimate ${est.grads}`);
    assert.ok(Math.abs(live('optim') - (est.m + est.v)) <= 128 * params.length, `optim arena ${live('optim')} vs estimate ${est.m + est.v}`);
  } finally {
    e.dispose();
  }
});
