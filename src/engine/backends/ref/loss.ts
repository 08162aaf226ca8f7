// Reference loss and regularisation kernels: counter-hash inverted dropout, and cross entropy with
// logsumexp (and the z-loss-aware backward), per row in float64. The dropout hash is part of the
// contract (the wasm backend must produce the same mask), so its key and uniform are exported.

import type { F32, FamilyKernels, I32 } from '../../kernels.js';

/** murmur3's 32-bit finaliser: a bijective avalanche mix of a uint32. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The dropout hash key of a seed: fmix32(seed as uint32). The wasm kernel takes it precomputed. */
export function dropoutKey(seed: number): number {
  return fmix32(seed >>> 0);
}

/**
 * The dropout uniform of element i under seed: key = dropoutKey(seed);
 * h = fmix32((i · 0x9E3779B1 mod 2³²) XOR key); u = (h >>> 8) / 2²⁴ ∈ [0, 1), exactly representable in f32.
 */
export function dropoutUniform(seed: number, i: number): number {
  const key = dropoutKey(seed);
  return (fmix32((Math.imul(i, 0x9e3779b1) ^ key) >>> 0) >>> 8) * (1 / 16777216);
}

/** out[i] = dropoutUniform(seed, i) ≥ p ? x[i] / (1 − p) : 0. p ≥ 1 drops everything. */
function dropout(x: F32, out: F32, p: number, seed: number): void {
  const n = x.length;
  if (p >= 1) {
    out.fill(0, 0, n);
    return;
  }
  const key = dropoutKey(seed);
  const scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) {
    const u = (fmix32((Math.imul(i, 0x9e3779b1) ^ key) >>> 0) >>> 8) * (1 / 16777216);
    out[i] = u >= p ? x[i] * scale : 0;
  }
}

/** lse[r] = logsumexp(z[r, :]); losses[r] = lse[r] − z[r, t_r], or 0 when t_r is ignoreIndex. */
function crossEntropy(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let mx = -Infinity;
    for (let j = 0; j < vocab; j++) if (logits[o + j] > mx) mx = logits[o + j];
    let s = 0;
    for (let j = 0; j < vocab; j++) s += Math.exp(logits[o + j] - mx);
    const l = mx + Math.log(s);
    lse[r] = l;
    const t = targets[r];
    losses[r] = t === ignoreIndex ? 0 : l - logits[o + t];
  }
}

/**
 * gLogits[r, j] = exp(z[r, j] − lse[r]) · (ceScale + zScale · lse[r]) − [j = t_r] · ceScale, and 0 for
 * rows whose target is ignoreIndex. Uses the saved lse.
 */
function crossEntropyBackward(
  logits: F32,
  targets: I32,
  lse: F32,
  gLogits: F32,
  rows: number,
  vocab: number,
  ignoreIndex: number,
  ceScale: number,
  zScale: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const t = targets[r];
    if (t === ignoreIndex) {
      gLogits.fill(0, o, o + vocab);
      continue;
    }
    const l = lse[r];
    const c = ceScale + zScale * l;
    for (let j = 0; j < vocab; j++) gLogits[o + j] = Math.exp(logits[o + j] - l) * c;
    gLogits[o + t] = Math.exp(logits[o + t] - l) * c - ceScale;
  }
}

/** crossEntropy, then crossEntropyBackward from the lse it wrote (the fused kernel's spec). */
function crossEntropyWithGrad(
  logits: F32,
  targets: I32,
  losses: F32,
  lse: F32,
  gLogits: F32,
  rows: number,
  vocab: number,
  ignoreIndex: number,
  ceScale: number,
  zScale: number,
): void {
  crossEntropy(logits, targets, losses, lse, rows, vocab, ignoreIndex);
  crossEntropyBackward(logits, targets, lse, gLogits, rows, vocab, ignoreIndex, ceScale, zScale);
}

/** The loss family of the ref kernel table. */
export const lossKernels: FamilyKernels<'loss'> = { dropout, crossEntropy, crossEntropyBackward, crossEntropyWithGrad };
