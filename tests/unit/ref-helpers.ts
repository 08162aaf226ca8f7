// Shared helpers for the ref kernel unit tests: a seeded RNG, random f32 arrays, closeness assertions
// and central finite differences over float64 reference functions. No kernels and no tests here.

import assert from 'node:assert/strict';

/** mulberry32: a small deterministic uniform [0, 1) generator. */
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

/** n uniform values in [lo, hi) as f32. */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise, reporting the worst index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-5,
  what = 'values',
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: index ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Float64 copy of an array. */
export function f64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>);
}

/**
 * Gradient of L(x) = Σ gy · f(x) by central differences (float64): one entry per element of x.
 */
export function fdGrad(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, gy: ArrayLike<number>, h = 1e-6): Float64Array {
  const xs = f64(x);
  const g = new Float64Array(xs.length);
  const loss = (): number => {
    const y = f(xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += gy[i] * y[i];
    return s;
  };
  for (let i = 0; i < xs.length; i++) {
    const keep = xs[i];
    xs[i] = keep + h;
    const lp = loss();
    xs[i] = keep - h;
    const lm = loss();
    xs[i] = keep;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}
