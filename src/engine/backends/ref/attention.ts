// Reference softmax, fused scaled-dot-product attention (causal / KV-cache offset / GQA / left padding /
// packed segments) saving the row logsumexp for training, its backward recomputing probabilities from
// it, and rotate-half RoPE. Scores, softmax sums and weighted sums are float64. No blocking or online
// softmax: one query row at a time.
// The forward also reads bf16 keys/values (a half-size KV cache), widened through a lookup table.

import type { AttentionParams, F32, FamilyKernels, I32 } from '../../kernels.js';
import { bf16Table } from './util.js';

/** Row softmax with the row max subtracted; a row whose max is -Infinity (all masked) becomes zeros. */
function softmax(x: F32, out: F32, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let mx = -Infinity;
    for (let j = 0; j < dim; j++) if (x[o + j] > mx) mx = x[o + j];
    if (mx === -Infinity) {
      out.fill(0, o, o + dim);
      continue;
    }
    let s = 0;
    for (let j = 0; j < dim; j++) s += Math.exp(x[o + j] - mx);
    const inv = 1 / s;
    for (let j = 0; j < dim; j++) out[o + j] = Math.exp(x[o + j] - mx) * inv;
  }
}

/** gx = y ⊙ (gy − Σ y·gy) per row. */
function softmaxBackward(y: F32, gy: F32, gx: F32, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let d = 0;
    for (let j = 0; j < dim; j++) d += y[o + j] * gy[o + j];
    for (let j = 0; j < dim; j++) gx[o + j] = y[o + j] * (gy[o + j] - d);
  }
}

/**
 * Visibility of key s for query t of batch b, written into vis (1 = visible); returns how many are
 * visible. Query t sits at key position qOffset + t; its segment id is segIds[b, qOffset + t].
 */
function visibleKeys(p: AttentionParams, b: number, t: number, vis: Uint8Array): number {
  const { tk, causal, qOffset, keyStart, segIds } = p;
  const qpos = qOffset + t;
  const lo = keyStart !== null ? Math.max(0, keyStart[b]) : 0;
  const hi = causal ? Math.min(tk, qpos + 1) : tk;
  vis.fill(0);
  let count = 0;
  if (segIds !== null) {
    const seg = segIds[b * tk + qpos];
    for (let s = lo; s < hi; s++) {
      if (segIds[b * tk + s] === seg) {
        vis[s] = 1;
        count++;
      }
    }
  } else {
    for (let s = lo; s < hi; s++) vis[s] = 1;
    count = Math.max(0, hi - lo);
  }
  return count;
}

/**
 * out[b, t, h] = Σ_s softmax_s(scale · q[b, t, h]·k[b, s, h']) · v[b, s, h'] over visible keys s, with
 * h' = floor(h / (hq/hkv)). lse [B, hq, tq] (if given) gets log Σ_s e^{score_s} over visible keys;
 * a query with no visible key gets out = 0 and lse = -Infinity.
 */
function attention(q: F32, k: F32 | Uint16Array, v: F32 | Uint16Array, out: F32, lse: F32 | null, p: AttentionParams): void {
  const { batch, tq, tk, hq, hkv, dim, scale, kvBatchStride } = p;
  // bf16 keys/values read through the widening table; f32 through an identity (same loop).
  const table = p.kvDtype === 'bf16' ? bf16Table() : null;
  const kAt = table ? (i: number): number => table[k[i]] : (i: number): number => k[i];
  const vAt = table ? (i: number): number => table[v[i]] : (i: number): number => v[i];
  const group = hq / hkv;
  const kvRow = hkv * dim;
  const qRow = hq * dim;
  const vis = new Uint8Array(tk);
  const sc = new Float64Array(tk);
  const acc = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    const kvB = b * kvBatchStride;
    for (let t = 0; t < tq; t++) {
      const count = visibleKeys(p, b, t, vis);
      for (let h = 0; h < hq; h++) {
        const qo = (b * tq + t) * qRow + h * dim;
        const kvh = Math.floor(h / group) * dim;
        const lo = (b * hq + h) * tq + t;
        if (count === 0) {
          out.fill(0, qo, qo + dim);
          if (lse !== null) lse[lo] = -Infinity;
          continue;
        }
        let mx = -Infinity;
        for (let s = 0; s < tk; s++) {
          if (vis[s] === 0) continue;
          const ko = kvB + s * kvRow + kvh;
          let d = 0;
          for (let i = 0; i < dim; i++) d += q[qo + i] * kAt(ko + i);
          d *= scale;
          sc[s] = d;
          if (d > mx) mx = d;
        }
        let sum = 0;
        for (let s = 0; s < tk; s++) {
          if (vis[s] === 0) continue;
          const e = Math.exp(sc[s] - mx);
          sc[s] = e;
          sum += e;
        }
        const inv = 1 / sum;
        if (lse !== null) lse[lo] = mx + Math.log(sum);
        acc.fill(0);
        for (let s = 0; s < tk; s++) {
          if (vis[s] === 0) continue;
          const pr = sc[s] * inv;
          const vo = kvB + s * kvRow + kvh;
          for (let i = 0; i < dim; i++) acc[i] += pr * vAt(vo + i);
        }
        for (let i = 0; i < dim; i++) out[qo + i] = acc[i];
      }
    }
  }
}

/**
 * Backward of attention from the forward's lse: P_s = exp(scale · q·k_s − lse) over visible keys,
 * dP_s = gOut·v_s, dS_s = P_s·(dP_s − Σ P·dP); gq = scale·Σ_s dS_s·k_s, gk_s += scale·dS_s·q,
 * gv_s += P_s·gOut (summed over the query heads of each kv head and over queries). gq is
 * [B, tq, hq, D]; gk, gv are written dense [B, tk, hkv, D] even when k, v use a larger
 * kvBatchStride. Masked keys (and queries with lse = -Infinity) contribute nothing. out is unused
 * here (native kernels form Σ P·dP as gOut·out).
 */
function attentionBackward(q: F32, k: F32, v: F32, _out: F32, lse: F32, gOut: F32, gq: F32, gk: F32, gv: F32, p: AttentionParams): void {
  const { batch, tq, tk, hq, hkv, dim, scale, kvBatchStride } = p;
  const group = hq / hkv;
  const kvRow = hkv * dim;
  const qRow = hq * dim;
  const gkAcc = new Float64Array(batch * tk * kvRow);
  const gvAcc = new Float64Array(batch * tk * kvRow);
  const vis = new Uint8Array(tk);
  const P = new Float64Array(tk);
  const dP = new Float64Array(tk);
  const gqAcc = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    const kvB = b * kvBatchStride;
    const gB = b * tk * kvRow;
    for (let t = 0; t < tq; t++) {
      const count = visibleKeys(p, b, t, vis);
      for (let h = 0; h < hq; h++) {
        const qo = (b * tq + t) * qRow + h * dim;
        const kvh = Math.floor(h / group) * dim;
        const l = lse[(b * hq + h) * tq + t];
        if (count === 0 || l === -Infinity) {
          gq.fill(0, qo, qo + dim);
          continue;
        }
        // P_s recomputed from the scores, dP_s = gOut · v_s, and the row's Σ P·dP.
        let pdp = 0;
        for (let s = 0; s < tk; s++) {
          if (vis[s] === 0) continue;
          const ko = kvB + s * kvRow + kvh;
          let sc = 0;
          let d = 0;
          for (let i = 0; i < dim; i++) {
            sc += q[qo + i] * k[ko + i];
            d += gOut[qo + i] * v[ko + i];
          }
          P[s] = Math.exp(sc * scale - l);
          dP[s] = d;
          pdp += P[s] * d;
        }
        gqAcc.fill(0);
        for (let s = 0; s < tk; s++) {
          if (vis[s] === 0) continue;
          const pr = P[s];
          const ds = pr * (dP[s] - pdp) * scale;
          const ko = kvB + s * kvRow + kvh;
          const go = gB + s * kvRow + kvh;
          for (let i = 0; i < dim; i++) {
            gqAcc[i] += ds * k[ko + i];
            gkAcc[go + i] += ds * q[qo + i];
            gvAcc[go + i] += pr * gOut[qo + i];
          }
        }
        for (let i = 0; i < dim; i++) gq[qo + i] = gqAcc[i];
      }
    }
  }
  const n = batch * tk * kvRow;
  for (let i = 0; i < n; i++) {
    gk[i] = gkAcc[i];
    gv[i] = gvAcc[i];
  }
}

/**
 * Rotate-half RoPE on x [batch, t, heads, dim] with positions [batch, t]: for i < dim/2,
 * (x_i, x_{i+dim/2}) -> (x_i·cos − x_{i+dim/2}·sin, x_{i+dim/2}·cos + x_i·sin), sin negated when inverse.
 * Frequencies and angles are rounded to f32 as Hugging Face computes them (inv_freq_i =
 * 1/theta^(2i/dim), angle = pos·inv_freq_i, cos/sin of the f32 angle, all fp32). out may alias x.
 */
function rope(x: F32, out: F32, positions: I32, batch: number, t: number, heads: number, dim: number, theta: number, inverse: boolean): void {
  const half = dim >> 1;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / dim));
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  const sign = inverse ? -1 : 1;
  for (let b = 0; b < batch; b++) {
    for (let ti = 0; ti < t; ti++) {
      const pos = positions[b * t + ti];
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(pos * invFreq[i]);
        cos[i] = Math.cos(angle);
        sin[i] = sign * Math.fround(Math.sin(angle));
      }
      const rowBase = (b * t + ti) * heads * dim;
      for (let h = 0; h < heads; h++) {
        const o = rowBase + h * dim;
        for (let i = 0; i < half; i++) {
          const x1 = x[o + i];
          const x2 = x[o + i + half];
          out[o + i] = x1 * cos[i] - x2 * sin[i];
          out[o + i + half] = x2 * cos[i] + x1 * sin[i];
        }
      }
    }
  }
}

/** The attention family of the ref kernel table. */
export const attentionKernels: FamilyKernels<'attention'> = { softmax, softmaxBackward, attention, attentionBackward, rope };
