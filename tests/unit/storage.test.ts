// Tensor storage: the type-traits table (block sizes, bytes, reference quantize/dequantize pinned to
// hand-computed GGUF blocks), blocked tensors through the ops (refused by kernels that do not take
// them, converted by cast, viewed by narrow), and tensors in a second memory: the ref kernels handle
// them, the wasm kernels refuse them by kernel and memory name, and scopes release them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { createWasmBackend } from '../../src/engine/backends/wasm/backend.node.js';
import { ops } from '../../src/engine/index.js';
import { TYPE_TRAITS, bytesFor, kernelTakes, type DType } from '../../src/engine/dtype.js';
import { HostMemory, KernelMemoryError, memoryName } from '../../src/engine/memory.js';
import { f16ToF32 } from '../../src/engine/half.js';
import { Rng } from '../../src/util/rng.js';

const ramp = (): Float32Array => Float32Array.from({ length: 32 }, (_, j) => j - 16); // -16 .. 15

test('traits: block sizes and bytes per block, views of the right length, kernels that take each type', () => {
  const expect: Record<DType, [number, number]> = { f32: [1, 4], bf16: [1, 2], f16: [1, 2], i32: [1, 4], q8_0: [32, 34], q4_0: [32, 18] };
  for (const [d, [bs, bb]] of Object.entries(expect) as [DType, [number, number]][]) {
    assert.equal(TYPE_TRAITS[d].blockSize, bs, d);
    assert.equal(TYPE_TRAITS[d].blockBytes, bb, d);
    assert.equal(bytesFor(d, 64), (64 / bs) * bb, d);
    assert.equal(TYPE_TRAITS[d].view(new ArrayBuffer(256), 0, 64).byteLength, bytesFor(d, 64), d);
  }
  assert.ok(kernelTakes('gemm', 'bf16') && kernelTakes('gemm', 'f16') && kernelTakes('gemm', 'f32'));
  assert.ok(!kernelTakes('gemm', 'q8_0') && !kernelTakes('gemm', 'i32') && !kernelTakes('softmax', 'bf16'));
  assert.ok(kernelTakes('attention', 'bf16') && !kernelTakes('attention', 'f16'));
  assert.ok(kernelTakes('cast', 'q4_0') && !kernelTakes('permute', 'q4_0'));
});

test('q8_0: one block of -16..15 quantizes to the hand-computed GGUF bytes and back', () => {
  // d = max|x|/127 = 16/127 = 0.12598..., stored as f16: 2^-3 · (1 + 8/1024) = 0.1259765625 (bits 0x3008).
  const out = new Uint8Array(34);
  TYPE_TRAITS.q8_0.fromF32(ramp(), out, 32);
  assert.deepEqual([out[0], out[1]], [0x08, 0x30]);
  const d = f16ToF32(0x3008);
  assert.equal(d, 0.1259765625);
  // q = round(x / d): -16 -> -127 (0x81), 1 -> round(7.938) = 8, 15 -> round(119.07) = 119.
  assert.equal(out[2 + 0], 0x81);
  assert.equal(out[2 + 17], 8);
  assert.equal(out[2 + 31], 119);
  const back = new Float32Array(32);
  TYPE_TRAITS.q8_0.toF32(out, back, 32);
  assert.equal(back[17], 8 * d);
  assert.equal(back[0], -127 * d);
  for (let j = 0; j < 32; j++) assert.ok(Math.abs(back[j] - (j - 16)) <= d / 2 + 1e-6, `element ${j}`);
});

test('q4_0: one block of -16..15 quantizes to the hand-computed GGUF nibbles and back', () => {
  // The value of largest magnitude is -16, so d = -16 / -8 = 2 (exact in f16: bits 0x4000); q = floor(x/d + 8.5) clamped to 15.
  const out = new Uint8Array(18);
  TYPE_TRAITS.q4_0.fromF32(ramp(), out, 32);
  assert.deepEqual([out[0], out[1]], [0x00, 0x40]);
  // byte j: low nibble = element j, high nibble = element j + 16.
  // j = 0: x = -16 -> 0, x = 0 -> 8: 0x80.  j = 3: x = -13 -> floor(2) = 2, x = 3 -> floor(10) = 10: 0xa2.
  // j = 15: x = -1 -> floor(8) = 8, x = 15 -> floor(16) clamped to 15: 0xf8.
  assert.equal(out[2], 0x80);
  assert.equal(out[2 + 3], 0xa2);
  assert.equal(out[2 + 15], 0xf8);
  const back = new Float32Array(32);
  TYPE_TRAITS.q4_0.toF32(out, back, 32);
  assert.equal(back[0], -16);
  assert.equal(back[3], (2 - 8) * 2);
  assert.equal(back[31], (15 - 8) * 2);
  for (let j = 0; j < 32; j++) assert.ok(Math.abs(back[j] - (j - 16)) <= 1, `element ${j}`);
});

test('blocked tensors: cast quantizes per row block, narrow views whole rows, kernels refuse what they do not take', async () => {
  for (const backend of [createRefBackend(), await createWasmBackend({ threads: 2 })]) {
    const e = new Engine(backend);
    const rng = new Rng(3);
    const vals = Float32Array.from({ length: 4 * 64 }, () => rng.normal());
    const w = e.tensor(vals, [4, 64]);
    for (const q of ['q8_0', 'q4_0'] as const) {
      const wq = ops.cast(w, q);
      assert.equal(wq.size, 256);
      assert.equal(wq.data.byteLength, bytesFor(q, 256));
      const back = ops.cast(wq, 'f32').f32();
      // Against the reference pair directly, block by block.
      const ref = new Uint8Array(bytesFor(q, 256));
      TYPE_TRAITS[q].fromF32(vals, ref, 256);
      assert.deepEqual(new Uint8Array(wq.data.buffer, wq.data.byteOffset, wq.data.byteLength), ref, `${backend.name} ${q} bytes`);
      const maxErr = Math.max(...back.map((v, i) => Math.abs(v - vals[i])));
      assert.ok(maxErr < (q === 'q8_0' ? 0.03 : 0.4), `${q} round trip error ${maxErr}`);
      assert.deepEqual(wq.toFloat32(), back);
      // narrow: rows 1..3 of the blocked matrix are exactly rows 1..3 of its dequantization.
      const rows = ops.narrow(wq, 1, 3);
      assert.deepEqual(rows.shape, [2, 64]);
      assert.deepEqual(rows.toFloat32(), back.subarray(64, 192));
      const x = e.tensor(new Float32Array(2 * 64).fill(1), [2, 64]);
      assert.throws(() => ops.linear(x, wq), new RegExp(`matmul: the gemm kernel does not take a ${q} operand \\[4, 64\\].*dequantize`));
      assert.throws(() => ops.embedding(wq, e.ids([0])), new RegExp(`embedding: the gather kernel does not take a ${q} table`));
      assert.throws(() => ops.transpose(wq), new RegExp(`permute: the permute kernel does not take ${q} tensors`));
      assert.throws(() => ops.reshape(wq, [8, 32, 1]), /blocks of 32 along its last dimension/);
      assert.throws(() => ops.add(wq, wq), /add: expected f32/);
    }
    assert.throws(() => e.empty([3, 31], 'q8_0'), /empty: a q8_0 tensor stores blocks of 32 along its last dimension; shape \[3, 31\]/);
    assert.throws(() => ops.cast(e.zeros([2, 48]), 'q4_0'), /cast: a q4_0 tensor/);
    e.dispose();
    await backend.dispose();
  }
});

test('a tensor in a second memory: ref kernels handle it, scopes release it', async () => {
  const backend = createRefBackend();
  const e = new Engine(backend);
  e.addMemory(new HostMemory('host'));
  assert.deepEqual(e.memoryNames(), ['ref', 'host']);
  assert.throws(() => e.addMemory(new HostMemory('host')), /already added/);
  const host = (): { reservedBytes: number; liveBytes: number } => e.memoryStats().memories.find((m) => m.name === 'host')!;
  const sum = e.scope(() => {
    const a = e.tensor([1, 2, 3, 4], [2, 2], 'f32', undefined, 'host');
    assert.equal(a.storage.memory.name, 'host');
    assert.equal(memoryName(a.data.buffer), 'host');
    const b = ops.mul(a, a); // ref kernels address any ArrayBuffer
    const moved = e.toMemory(a, 'ref');
    assert.equal(moved.memory.name, 'ref');
    assert.deepEqual(moved.toArray(), [1, 2, 3, 4]);
    return b.toArray();
  });
  assert.deepEqual(sum, [1, 4, 9, 16]);
  assert.ok(host().reservedBytes > 0, 'the host arena keeps its chunk for reuse');
  // A scope's scratch in the second memory is released like the backend's; persistent arenas are not.
  assert.equal(host().liveBytes, 0);
  e.scope(() => {
    e.empty([1024], 'f32', { memory: 'host' });
    assert.equal(host().liveBytes, 4096);
  });
  assert.equal(host().liveBytes, 0);
  const kept = e.empty([16], 'f32', { memory: 'host', arena: 'state' });
  assert.equal(kept.scope, 0);
  assert.equal(host().liveBytes, 64);
  assert.throws(() => e.empty([2], 'f32', { memory: 'gpu' }), /no memory named 'gpu' \(have ref, host\)/);
  e.dispose();
});

test('a tensor in a second memory: wasm kernels refuse it by kernel and memory name, and work once it is copied over', async () => {
  const backend = await createWasmBackend({ threads: 2 });
  const e = new Engine(backend);
  e.addMemory(new HostMemory('host'));
  e.scope(() => {
    const a = e.tensor([1, 2, 3, 4], [2, 2], 'f32', undefined, 'host');
    const w = e.tensor([1, 0, 0, 1], [2, 2]);
    assert.throws(
      () => ops.mul(a, a),
      (err: Error) => err instanceof KernelMemoryError && err.kernel === 'binary' && err.memory === 'host' && /wasm kernel binary cannot address an operand in memory 'host'/.test(err.message),
    );
    assert.throws(() => ops.linear(a, w), (err: Error) => err instanceof KernelMemoryError && err.kernel === 'gemm');
    assert.throws(() => ops.softmax(a), (err: Error) => err instanceof KernelMemoryError && err.kernel === 'softmax');
    const moved = e.toMemory(a, 'wasm');
    assert.deepEqual(ops.mul(moved, moved).toArray(), [1, 4, 9, 16]);
    assert.deepEqual(ops.linear(moved, w).toArray(), [1, 2, 3, 4]);
  });
  e.dispose();
  await backend.dispose();
});
