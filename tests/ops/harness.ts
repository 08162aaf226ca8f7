// The op harness: each op is declared once (inputs with shapes and ranges, a function of them,
// tolerances) and checked three ways: (1) its gradients on the float64 oracle against central
// finite differences, (2) its forward values and (3) its gradients on every backend against the
// oracle. Exclusions are explicit entries with a reason, counted in the summary.

import { Engine } from '../../src/engine/engine.js';
import { backward } from '../../src/engine/autograd/backward.js';
import type { Tensor } from '../../src/engine/tensor.js';
import type { DType } from '../../src/engine/dtype.js';
import { ops } from '../../src/engine/index.js';

export interface FloatInput {
  kind: 'f32';
  shape: number[];
  lo?: number;
  hi?: number;
  /** Stored as this dtype (bf16/f16 inputs are never differentiated). */
  dtype?: DType;
  grad?: boolean;
}
export interface IdInput {
  kind: 'ids';
  shape: number[];
  max: number;
  /** Fraction of positions set to this ignore value. */
  ignore?: number;
}
export type InputSpec = FloatInput | IdInput;

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  /** Relative tolerance of backend values vs the oracle (scaled by max |oracle value|). */
  tol?: number;
  /** Why this case is excluded from the finite-difference gradient check (counted). */
  noGradCheck?: string;
}

/** Deterministic uniform numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function numel(s: number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** Input values for a case, identical across backends (f32-rounded so every backend sees the same numbers). */
export function makeValues(c: OpCase, seed = 1234): number[][] {
  const r = rng(seed);
  return c.inputs.map((spec) => {
    const n = numel(spec.shape);
    const out = new Array<number>(n);
    if (spec.kind === 'ids') {
      for (let i = 0; i < n; i++) out[i] = spec.ignore && r() < spec.ignore ? -100 : Math.floor(r() * spec.max);
    } else {
      const lo = spec.lo ?? -1;
      const hi = spec.hi ?? 1;
      for (let i = 0; i < n; i++) out[i] = Math.fround(lo + (hi - lo) * r());
    }
    return out;
  });
}

export function buildInputs(e: Engine, c: OpCase, values: number[][]): Tensor[] {
  return c.inputs.map((spec, i) => {
    if (spec.kind === 'ids') return e.tensor(values[i], spec.shape, 'i32');
    const t = e.tensor(values[i], spec.shape, spec.dtype ?? 'f32');
    if ((spec.grad ?? true) && (spec.dtype ?? 'f32') === 'f32') t.requiresGrad = true;
    return t;
  });
}

/** Fixed random weights R so that loss = Σ out·R exercises every output element differently. */
function lossOf(out: Tensor, weights: Tensor): Tensor {
  return ops.sum(ops.mul(out, weights));
}

export interface RunResult {
  out: number[];
  grads: (number[] | null)[];
}

/** Forward, then backward of Σ out·R; returns values and input gradients. */
export function runCase(e: Engine, c: OpCase, values: number[][]): RunResult {
  return e.scope(() => {
    const xs = buildInputs(e, c, values);
    const out = c.fn(...xs);
    const r = rng(99);
    const w = e.tensor(Array.from({ length: out.size }, () => Math.fround(r() * 2 - 1)), out.shape);
    const result: RunResult = { out: out.toArray(), grads: xs.map(() => null) };
    if (out.requiresGrad && out.dtype === 'f32') {
      backward(lossOf(out, w));
      result.grads = xs.map((x) => (x.grad ? x.grad.toArray() : null));
    }
    return result;
  });
}

/** Central finite differences of Σ out·R with respect to up to `samples` elements of each input. */
export function finiteDiff(e: Engine, c: OpCase, values: number[][], samples = 12, h = 1e-6): { input: number; index: number; numeric: number }[] {
  const res: { input: number; index: number; numeric: number }[] = [];
  const evalLoss = (vals: number[][]): number =>
    e.scope(() =>
      e.noGrad(() => {
        const xs = buildInputs(e, c, vals);
        const out = c.fn(...xs);
        const r = rng(99);
        let s = 0;
        const o = out.toArray();
        for (let i = 0; i < o.length; i++) s += o[i] * Math.fround(r() * 2 - 1);
        return s;
      }),
    );
  const pick = rng(7);
  c.inputs.forEach((spec, i) => {
    if (spec.kind !== 'f32' || spec.grad === false || (spec.dtype ?? 'f32') !== 'f32') return;
    const n = values[i].length;
    const idx = new Set<number>();
    while (idx.size < Math.min(samples, n)) idx.add(Math.floor(pick() * n));
    for (const j of idx) {
      const plus = values.map((v) => v.slice());
      const minus = values.map((v) => v.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      res.push({ input: i, index: j, numeric: (evalLoss(plus) - evalLoss(minus)) / (2 * h) });
    }
  });
  return res;
}

/** max |a - b| / max(1, max |b|): the error measure used for every comparison. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let maxAbs = 1;
  let err = 0;
  for (let i = 0; i < b.length; i++) maxAbs = Math.max(maxAbs, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : Math.max(err, d);
  }
  return err / maxAbs;
}
