// Declarations of every op case checked by the harness: one entry per op and interesting
// configuration (broadcasting, transposes, GQA, KV cache, masks, strides, padding). Shapes are
// small so the float64 finite-difference pass stays fast.

import { ops } from '../../src/engine/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import type { OpCase } from './harness.js';

const f = (shape: number[], lo = -1, hi = 1, grad = true) => ({ kind: 'f32' as const, shape, lo, hi, grad });
const UNARY_RANGES: Record<string, [number, number]> = {
  log: [0.5, 2],
  sqrt: [0.5, 2],
  rsqrt: [0.5, 2],
  exp: [-2, 2],
};

const unaryCases: OpCase[] = (['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'sigmoid', 'silu', 'tanh', 'square', 'relu', 'abs'] as const).map((op) => {
  const [lo, hi] = UNARY_RANGES[op] ?? [-2, 2];
  return { name: `unary ${op}`, inputs: [f([3, 37], lo, hi)], fn: (x: Tensor) => ops.unary(op, x) };
});

const pos = (b: number, t: number, start = 0) => Int32Array.from({ length: b * t }, (_, i) => start + (i % t));

export const CASES: OpCase[] = [
  { name: 'add broadcast [2,3,4]+[3,1]', inputs: [f([2, 3, 4]), f([3, 1])], fn: (a, b) => ops.add(a, b) },
  { name: 'add same shape (vector path)', inputs: [f([5, 33]), f([5, 33])], fn: (a, b) => ops.add(a, b) },
  { name: 'sub [2,3]-[3]', inputs: [f([2, 3]), f([3])], fn: (a, b) => ops.sub(a, b) },
  { name: 'mul row broadcast [4,33]*[33]', inputs: [f([4, 33]), f([33])], fn: (a, b) => ops.mul(a, b) },
  { name: 'mul scalar broadcast [3,5]*[1]', inputs: [f([3, 5]), f([1])], fn: (a, b) => ops.mul(a, b) },
  { name: 'div', inputs: [f([3, 4]), f([3, 4], 0.5, 2)], fn: (a, b) => ops.div(a, b) },
  { name: 'maximum [3,4] vs [4]', inputs: [f([3, 4]), f([4])], fn: (a, b) => ops.maximum(a, b) },
  { name: 'minimum', inputs: [f([3, 4]), f([3, 4])], fn: (a, b) => ops.minimum(a, b) },
  ...unaryCases,
  { name: 'affine', inputs: [f([4, 9])], fn: (x) => ops.affine(x, -1.5, 0.25) },
  { name: 'sum axis 1', inputs: [f([2, 3, 4])], fn: (x) => ops.sum(x, 1) },
  { name: 'sum axes [0,2] keepdims', inputs: [f([2, 3, 4])], fn: (x) => ops.sum(x, [0, 2], true) },
  { name: 'sum all', inputs: [f([3, 5])], fn: (x) => ops.sum(x) },
  { name: 'mean last axis', inputs: [f([3, 6])], fn: (x) => ops.mean(x, -1) },
  { name: 'max axis 1', inputs: [f([2, 5, 3])], fn: (x) => ops.max(x, 1) },
  { name: 'reshape then permute [2,0,1]', inputs: [f([24])], fn: (x) => ops.permute(ops.reshape(x, [2, 3, 4]), [2, 0, 1]) },
  { name: 'transpose 4-D axes 1,2', inputs: [f([2, 3, 4, 5])], fn: (x) => ops.transpose(x, 1, 2) },
  { name: 'slice axis 1 [1,3)', inputs: [f([2, 4, 3])], fn: (x) => ops.slice(x, 1, 1, 3) },
  { name: 'narrow rows [1,4) (a view) feeding a linear', inputs: [f([2, 3]), f([5, 3])], fn: (x, w) => ops.linear(x, ops.narrow(w, 1, 4)) },
  { name: 'concat axis 1', inputs: [f([2, 1, 3]), f([2, 2, 3]), f([2, 3, 3])], fn: (a, b, c) => ops.concat([a, b, c], 1) },
  { name: 'broadcastTo [3,1] -> [2,3,4]', inputs: [f([3, 1])], fn: (x) => ops.broadcastTo(x, [2, 3, 4]) },
  {
    name: 'cast f32 -> bf16 -> f32',
    inputs: [f([4, 5], -3, 3)],
    fn: (x) => ops.cast(ops.cast(x, 'bf16'), 'f32'),
    noGradCheck: 'bf16 rounding is piecewise constant: finite differences are 0 or huge',
  },
  { name: 'cast f32 -> f16 -> f32 (value)', inputs: [f([4, 5], -3, 3, false)], fn: (x) => ops.cast(ops.cast(x, 'f16'), 'f32') },
  { name: 'matmul [2,3,4]·[2,4,5]', inputs: [f([2, 3, 4]), f([2, 4, 5])], fn: (a, b) => ops.matmul(a, b) },
  { name: 'matmul transA', inputs: [f([2, 4, 3]), f([2, 4, 5])], fn: (a, b) => ops.matmul(a, b, { transA: true }) },
  { name: 'matmul transB', inputs: [f([2, 3, 4]), f([2, 5, 4])], fn: (a, b) => ops.matmul(a, b, { transB: true }) },
  { name: 'matmul transA transB', inputs: [f([2, 4, 3]), f([2, 5, 4])], fn: (a, b) => ops.matmul(a, b, { transA: true, transB: true }) },
  { name: 'matmul shared 2-D b (folded batch)', inputs: [f([2, 3, 4]), f([4, 5])], fn: (a, b) => ops.matmul(a, b) },
  { name: 'matmul shared 2-D b with transA', inputs: [f([2, 4, 3]), f([4, 5])], fn: (a, b) => ops.matmul(a, b, { transA: true }) },
  { name: 'matmul odd edges 13x17 · 17x19', inputs: [f([13, 17]), f([17, 19])], fn: (a, b) => ops.matmul(a, b) },
  { name: 'linear [2,5,8]·[6,8]ᵀ', inputs: [f([2, 5, 8]), f([6, 8])], fn: (x, w) => ops.linear(x, w) },
  {
    name: 'linear with bf16 weight (decode matvec)',
    inputs: [f([1, 40]), { kind: 'f32', shape: [24, 40], dtype: 'bf16' }],
    fn: (x, w) => ops.linear(x, w),
  },
  {
    name: 'linear with bf16 weight, 3 rows (guidance rows decoded together)',
    inputs: [f([3, 48]), { kind: 'f32', shape: [26, 48], dtype: 'bf16' }],
    fn: (x, w) => ops.linear(x, w),
  },
  {
    name: 'linear with bf16 weight, 2 and 4 rows',
    inputs: [f([2, 32]), f([4, 32]), { kind: 'f32', shape: [9, 32], dtype: 'bf16' }],
    fn: (x2, x4, w) => ops.concat([ops.linear(x2, w), ops.linear(x4, w)], 0),
  },
  {
    name: 'linear with f16 weight, 3 rows',
    inputs: [f([3, 40]), { kind: 'f32', shape: [24, 40], dtype: 'f16' }],
    fn: (x, w) => ops.linear(x, w),
  },
  { name: 'embedding', inputs: [f([10, 6]), { kind: 'ids', shape: [2, 5], max: 10 }], fn: (t, ids) => ops.embedding(t, ids) },
  {
    name: 'embedding bf16 table (value)',
    inputs: [{ kind: 'f32', shape: [10, 6], dtype: 'bf16' }, { kind: 'ids', shape: [7], max: 10 }],
    fn: (t, ids) => ops.embedding(t, ids),
  },
  { name: 'rmsnorm', inputs: [f([2, 3, 8]), f([8], 0.5, 1.5)], fn: (x, w) => ops.rmsnorm(x, w, 1e-5) },
  { name: 'layernorm [D] affine', inputs: [f([2, 3, 8]), f([8], 0.5, 1.5), f([8])], fn: (x, w, b) => ops.layernorm(x, w, b, 1e-5) },
  {
    name: 'layernorm per-head [H,D] affine (QK-norm)',
    inputs: [f([2, 3, 4, 8]), f([4, 8], 0.5, 1.5), f([4, 8])],
    fn: (x, w, b) => ops.layernorm(x, w, b, 1e-5),
  },
  { name: 'layernorm no affine', inputs: [f([5, 7])], fn: (x) => ops.layernorm(x, null, null, 1e-5) },
  { name: 'groupnorm', inputs: [f([2, 8, 3, 3]), f([8], 0.5, 1.5), f([8])], fn: (x, w, b) => ops.groupnorm(x, w, b, 4, 1e-6) },
  { name: 'softmax', inputs: [f([3, 7], -3, 3)], fn: (x) => ops.softmax(x) },
  {
    name: 'attention causal MHA',
    inputs: [f([2, 5, 2, 8]), f([2, 5, 2, 8]), f([2, 5, 2, 8])],
    fn: (q, k, v) => ops.attention(q, k, v),
  },
  {
    name: 'attention causal GQA (4 q heads, 2 kv heads)',
    inputs: [f([1, 6, 4, 8]), f([1, 6, 2, 8]), f([1, 6, 2, 8])],
    fn: (q, k, v) => ops.attention(q, k, v),
  },
  {
    name: 'attention non-causal',
    inputs: [f([1, 3, 2, 4]), f([1, 5, 2, 4]), f([1, 5, 2, 4])],
    fn: (q, k, v) => ops.attention(q, k, v, { causal: false }),
  },
  {
    name: 'attention left padding (keyStart)',
    inputs: [f([2, 5, 2, 8]), f([2, 5, 2, 8]), f([2, 5, 2, 8])],
    fn: (q, k, v) => ops.attention(q, k, v, { keyStart: Int32Array.from([0, 2]) }),
  },
  {
    name: 'attention packed documents (segIds)',
    inputs: [f([1, 6, 2, 8]), f([1, 6, 2, 8]), f([1, 6, 2, 8])],
    fn: (q, k, v) => ops.attention(q, k, v, { segIds: Int32Array.from([0, 0, 0, 1, 1, 2]) }),
  },
  {
    name: 'attention over a bf16 KV cache (GQA, left padding, 6 of 9 positions; inference only)',
    inputs: [f([2, 2, 4, 8], -1, 1, false), { kind: 'f32', shape: [2, 9, 2, 8], lo: -1, hi: 1, dtype: 'bf16' }, { kind: 'f32', shape: [2, 9, 2, 8], lo: -1, hi: 1, dtype: 'bf16' }],
    fn: (q, k, v) => ops.attention(q, k, v, { kvLen: 6, keyStart: Int32Array.from([0, 3]) }),
  },
  {
    name: 'attention KV cache (2 new queries, 5 of 8 cached positions used)',
    inputs: [f([2, 2, 4, 8], -1, 1, false), f([2, 8, 2, 8], -1, 1, false), f([2, 8, 2, 8], -1, 1, false)],
    fn: (q, k, v) => ops.attention(q, k, v, { kvLen: 5 }),
  },
  { name: 'rope', inputs: [f([2, 3, 2, 8])], fn: (x) => ops.rope(x, pos(2, 3, 4), 10000) },
  { name: 'swiglu', inputs: [f([3, 11], -3, 3), f([3, 11])], fn: (g, u) => ops.swiglu(g, u) },
  {
    name: 'conv2d 3x3 pad 1 with bias',
    inputs: [f([2, 3, 5, 4]), f([4, 3, 3, 3]), f([4])],
    fn: (x, w, b) => ops.conv2d(x, w, b, { padding: 1 }),
  },
  {
    name: 'conv2d 3x3 stride 2 pad right/bottom (VQGAN downsample)',
    inputs: [f([1, 2, 6, 6]), f([3, 2, 3, 3]), f([3])],
    fn: (x, w, b) => ops.conv2d(x, w, b, { stride: 2, padding: [0, 0, 1, 1] }),
  },
  { name: 'conv2d 1x1 no bias', inputs: [f([2, 4, 3, 3]), f([5, 4, 1, 1])], fn: (x, w) => ops.conv2d(x, w, null) },
  { name: 'upsampleNearest x2', inputs: [f([1, 2, 3, 4])], fn: (x) => ops.upsampleNearest(x, 2) },
  { name: 'dropout p=0.3', inputs: [f([4, 50])], fn: (x) => ops.dropout(x, 0.3, 42) },
  {
    name: 'crossEntropy + z-loss with ignored targets',
    inputs: [f([2, 4, 9], -3, 3), { kind: 'ids', shape: [2, 4], max: 9, ignore: 0.25 }],
    fn: (l, t) => ops.crossEntropy(l, t, { zLoss: 1e-2 }),
  },
  {
    name: 'composite: (x+x)·x, gradient accumulation through aliases',
    inputs: [f([3, 4])],
    fn: (x) => ops.mul(ops.add(x, x), x),
  },
  {
    name: 'composite: transformer-ish block',
    inputs: [f([1, 4, 8]), f([8]), f([24, 8], -0.5, 0.5), f([8, 8], -0.5, 0.5)],
    fn: (x, g, wqkv, wo) => {
      const h = ops.rmsnorm(x, g, 1e-5);
      const qkv = ops.linear(h, wqkv); // [1, 4, 24]
      const q = ops.reshape(ops.slice(qkv, 2, 0, 8), [1, 4, 2, 4]);
      const k = ops.reshape(ops.slice(qkv, 2, 8, 16), [1, 4, 2, 4]);
      const v = ops.reshape(ops.slice(qkv, 2, 16, 24), [1, 4, 2, 4]);
      const p = Int32Array.from([0, 1, 2, 3]);
      const a = ops.attention(ops.rope(q, p, 10000), ops.rope(k, p, 10000), v);
      return ops.add(x, ops.linear(ops.reshape(a, [1, 4, 8]), wo));
    },
  },
];
