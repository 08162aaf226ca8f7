// Reference normalisation kernels: RMSNorm, LayerNorm (with [affineRows, dim] affine for per-head
// QK-norm) and GroupNorm, forward and backward. Statistics are two-pass in float64 (biased variance);
// backward passes recompute x̂ from the saved f32 mean/rstd. Softmax lives in attention.ts.

import type { F32, FamilyKernels } from '../../kernels.js';

/** out = x / sqrt(mean(x²) + eps) · w per row of length dim; rstd[r] = 1/rms when rstd is given. */
function rmsnorm(x: F32, w: F32, out: F32, rstd: F32 | null, rows: number, dim: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[o + j] * x[o + j];
    const rs = 1 / Math.sqrt(ss / dim + eps);
    for (let j = 0; j < dim; j++) out[o + j] = x[o + j] * rs * w[j];
    if (rstd !== null) rstd[r] = rs;
  }
}

/**
 * gx = rstd·(w⊙gy) − rstd³/dim · x · Σ(w⊙gy⊙x) per row (written); gw += Σ_rows gy·x·rstd (accumulated).
 */
function rmsnormBackward(x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, dim: number): void {
  const gwAcc = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const rs = rstd[r];
    let dot = 0;
    for (let j = 0; j < dim; j++) {
      const g = gy[o + j];
      dot += g * w[j] * x[o + j];
      gwAcc[j] += g * x[o + j] * rs;
    }
    const c = (rs * rs * rs * dot) / dim;
    for (let j = 0; j < dim; j++) gx[o + j] = rs * w[j] * gy[o + j] - c * x[o + j];
  }
  for (let j = 0; j < dim; j++) gw[j] += gwAcc[j];
}

/**
 * LayerNorm per row of length dim with biased variance; row r uses affine row r % affineRows of w and
 * b (null w means 1, null b means 0). mean/rstd (either may be null) get the row statistics.
 */
function layernorm(
  x: F32,
  w: F32 | null,
  b: F32 | null,
  out: F32,
  mean: F32 | null,
  rstd: F32 | null,
  rows: number,
  dim: number,
  affineRows: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const a = (r % affineRows) * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[o + j];
    const mu = s / dim;
    let v = 0;
    for (let j = 0; j < dim; j++) {
      const d = x[o + j] - mu;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / dim + eps);
    if (w !== null && b !== null) {
      for (let j = 0; j < dim; j++) out[o + j] = (x[o + j] - mu) * rs * w[a + j] + b[a + j];
    } else if (w !== null) {
      for (let j = 0; j < dim; j++) out[o + j] = (x[o + j] - mu) * rs * w[a + j];
    } else if (b !== null) {
      for (let j = 0; j < dim; j++) out[o + j] = (x[o + j] - mu) * rs + b[a + j];
    } else {
      for (let j = 0; j < dim; j++) out[o + j] = (x[o + j] - mu) * rs;
    }
    if (mean !== null) mean[r] = mu;
    if (rstd !== null) rstd[r] = rs;
  }
}

/**
 * With x̂ = (x − mean)·rstd and ĝ = gy·w: gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) (written);
 * gw[r % affineRows] += gy·x̂ and gb[r % affineRows] += gy (accumulated; either may be null).
 */
function layernormBackward(
  x: F32,
  w: F32 | null,
  mean: F32,
  rstd: F32,
  gy: F32,
  gx: F32,
  gw: F32 | null,
  gb: F32 | null,
  rows: number,
  dim: number,
  affineRows: number,
): void {
  const gwAcc = gw !== null ? new Float64Array(affineRows * dim) : null;
  const gbAcc = gb !== null ? new Float64Array(affineRows * dim) : null;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const a = (r % affineRows) * dim;
    const mu = mean[r];
    const rs = rstd[r];
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < dim; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = gy[o + j];
      const gh = w !== null ? g * w[a + j] : g;
      sg += gh;
      sgx += gh * xh;
      if (gwAcc !== null) gwAcc[a + j] += g * xh;
      if (gbAcc !== null) gbAcc[a + j] += g;
    }
    const mg = sg / dim;
    const mgx = sgx / dim;
    for (let j = 0; j < dim; j++) {
      const xh = (x[o + j] - mu) * rs;
      const gh = w !== null ? gy[o + j] * w[a + j] : gy[o + j];
      gx[o + j] = rs * (gh - mg - xh * mgx);
    }
  }
  if (gw !== null) for (let j = 0; j < affineRows * dim; j++) gw[j] += gwAcc![j];
  if (gb !== null) for (let j = 0; j < affineRows * dim; j++) gb[j] += gbAcc![j];
}

/**
 * GroupNorm on x [n, c, hw]: each (sample, group of c/groups consecutive channels) is normalised over
 * its (c/groups)·hw values, then channel ch gets ·w[ch] + b[ch]. mean/rstd are [n, groups].
 */
function groupnorm(
  x: F32,
  w: F32,
  b: F32,
  out: F32,
  mean: F32 | null,
  rstd: F32 | null,
  n: number,
  c: number,
  hw: number,
  groups: number,
  eps: number,
): void {
  const cpg = c / groups;
  const size = cpg * hw;
  for (let s = 0; s < n; s++) {
    for (let g = 0; g < groups; g++) {
      const base = (s * c + g * cpg) * hw;
      let sum = 0;
      for (let j = 0; j < size; j++) sum += x[base + j];
      const mu = sum / size;
      let v = 0;
      for (let j = 0; j < size; j++) {
        const d = x[base + j] - mu;
        v += d * d;
      }
      const rs = 1 / Math.sqrt(v / size + eps);
      for (let cc = 0; cc < cpg; cc++) {
        const ch = g * cpg + cc;
        const scale = rs * w[ch];
        const shift = b[ch] - mu * scale;
        const o = base + cc * hw;
        for (let j = 0; j < hw; j++) out[o + j] = x[o + j] * scale + shift;
      }
      if (mean !== null) mean[s * groups + g] = mu;
      if (rstd !== null) rstd[s * groups + g] = rs;
    }
  }
}

/**
 * Per (sample, group) with x̂ = (x − mean)·rstd and ĝ = gy·w[ch]: gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
 * (written); gw[ch] += Σ gy·x̂ and gb[ch] += Σ gy over samples and positions (accumulated).
 */
function groupnormBackward(
  x: F32,
  w: F32,
  mean: F32,
  rstd: F32,
  gy: F32,
  gx: F32,
  gw: F32,
  gb: F32,
  n: number,
  c: number,
  hw: number,
  groups: number,
): void {
  const cpg = c / groups;
  const size = cpg * hw;
  const gwAcc = new Float64Array(c);
  const gbAcc = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    for (let g = 0; g < groups; g++) {
      const base = (s * c + g * cpg) * hw;
      const mu = mean[s * groups + g];
      const rs = rstd[s * groups + g];
      let sg = 0;
      let sgx = 0;
      for (let cc = 0; cc < cpg; cc++) {
        const ch = g * cpg + cc;
        const o = base + cc * hw;
        let sgy = 0;
        let sgyx = 0;
        for (let j = 0; j < hw; j++) {
          const xh = (x[o + j] - mu) * rs;
          const gv = gy[o + j];
          sgy += gv;
          sgyx += gv * xh;
        }
        gbAcc[ch] += sgy;
        gwAcc[ch] += sgyx;
        sg += sgy * w[ch];
        sgx += sgyx * w[ch];
      }
      const mg = sg / size;
      const mgx = sgx / size;
      for (let cc = 0; cc < cpg; cc++) {
        const ch = g * cpg + cc;
        const wc = w[ch];
        const o = base + cc * hw;
        for (let j = 0; j < hw; j++) {
          const xh = (x[o + j] - mu) * rs;
          gx[o + j] = rs * (gy[o + j] * wc - mg - xh * mgx);
        }
      }
    }
  }
  for (let ch = 0; ch < c; ch++) {
    gw[ch] += gwAcc[ch];
    gb[ch] += gbAcc[ch];
  }
}

/** The norm family of the ref kernel table. */
export const normKernels: FamilyKernels<'norm'> = { rmsnorm, rmsnormBackward, layernorm, layernormBackward, groupnorm, groupnormBackward };
