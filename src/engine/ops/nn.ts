// Neural-network ops built as fused primitives: embedding gather, RMSNorm, LayerNorm (with per-head
// 2-D affine for QK-norm), GroupNorm, softmax, causal attention (GQA, KV cache, left padding,
// packed documents), rotate-half RoPE, SwiGLU and seeded dropout. Each saves what its backward
// needs only when autograd is recording. Convolutions are in conv.ts, losses in loss.ts.

import { ShapeError, fmtShape } from '../../util/errors.js';
import { record, willRecord } from '../autograd/primitives.js';
import type { Tensor } from '../tensor.js';
import type { Engine } from '../engine.js';
import { numel, sameShape } from '../tensor.js';
import { checkIndices, engineOf, expectDtype, expectRank, expectStorage } from './check.js';

/** A scratch copy of an index array in engine memory (kernels of the wasm backend read only that). */
export function inEngine<T extends Int32Array | null>(e: Engine, a: T): T {
  if (a === null) return a;
  return e.tensor(a, [a.length], 'i32').i32() as T;
}

/** table [V, D] (f32/bf16/f16) gathered at ids [...] -> [..., D] f32. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  const e = engineOf('embedding', table, ids);
  expectRank('embedding', table, 2, 'table');
  expectStorage('embedding', 'gather', table, 'table');
  expectDtype('embedding', ids, 'i32');
  const [v, d] = table.shape;
  checkIndices('embedding', ids.i32(), v, 'token id');
  const out = e.empty([...ids.shape, d], 'f32', { zero: false }); // [..., D]
  e.k.gather(table.data, table.dtype, ids.i32(), out.f32(), d);
  if (table.dtype !== 'f32' && table.requiresGrad && e.gradEnabled) {
    throw new ShapeError(`embedding: ${table.dtype} table cannot be trained (cast it to f32)`);
  }
  return record('embedding', [table, ids], out, null, null);
}

/** RMSNorm over the last axis with weight [D]. */
export function rmsnorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const e = engineOf('rmsnorm', x, w);
  expectDtype('rmsnorm', x, 'f32');
  expectDtype('rmsnorm', w, 'f32');
  const d = x.shape[x.rank - 1];
  if (w.rank !== 1 || w.shape[0] !== d) throw new ShapeError(`rmsnorm: weight ${fmtShape(w.shape)} does not match last axis of ${fmtShape(x.shape)}`);
  const rows = x.size / d;
  const out = e.empty(x.shape, 'f32', { zero: false });
  const save = willRecord([x, w]);
  const rstd = save ? e.empty([rows], 'f32', { zero: false }) : null; // [rows]
  e.k.rmsnorm(x.f32(), w.f32(), out.f32(), rstd ? rstd.f32() : null, rows, d, eps);
  return record('rmsnorm', [x, w], out, { eps }, rstd ? { rstd } : null);
}

/**
 * LayerNorm over the last axis (biased variance). w and b are [D] or, for per-head QK-norm on
 * x [..., H, D], [H, D] (row r of x uses affine row r mod H). Pass null for no affine.
 */
export function layernorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const e = engineOf('layernorm', x, ...(w ? [w] : []), ...(b ? [b] : []));
  expectDtype('layernorm', x, 'f32');
  const d = x.shape[x.rank - 1];
  if ((w === null) !== (b === null)) throw new ShapeError('layernorm: weight and bias must both be given or both be null');
  let affineRows = 1;
  if (w && b) {
    expectDtype('layernorm', w, 'f32');
    expectDtype('layernorm', b, 'f32');
    if (!sameShape(w.shape, b.shape)) throw new ShapeError(`layernorm: weight ${fmtShape(w.shape)} and bias ${fmtShape(b.shape)} differ`);
    if (w.rank === 1 && w.shape[0] === d) affineRows = 1;
    else if (w.rank === 2 && w.shape[1] === d && x.rank >= 2 && x.shape[x.rank - 2] === w.shape[0]) affineRows = w.shape[0];
    else throw new ShapeError(`layernorm: weight ${fmtShape(w.shape)} must be [${d}] or [heads, ${d}] matching input ${fmtShape(x.shape)}`);
  }
  const rows = x.size / d;
  const inputs = w && b ? [x, w, b] : [x];
  const save = willRecord(inputs);
  const out = e.empty(x.shape, 'f32', { zero: false });
  const mean = save ? e.empty([rows], 'f32', { zero: false }) : null; // [rows]
  const rstd = save ? e.empty([rows], 'f32', { zero: false }) : null; // [rows]
  e.k.layernorm(x.f32(), w ? w.f32() : null, b ? b.f32() : null, out.f32(), mean?.f32() ?? null, rstd?.f32() ?? null, rows, d, affineRows, eps);
  return record('layernorm', inputs, out, { eps, affine: w !== null, affineRows }, mean && rstd ? { mean, rstd } : null);
}

/** GroupNorm on x [N, C, H, W] with affine w, b [C]. */
export function groupnorm(x: Tensor, w: Tensor, b: Tensor, groups: number, eps: number): Tensor {
  const e = engineOf('groupnorm', x, w, b);
  expectDtype('groupnorm', x, 'f32');
  if (x.rank < 2) throw new ShapeError(`groupnorm: input must be [N, C, ...], got ${fmtShape(x.shape)}`);
  const [n, c] = x.shape;
  if (!Number.isInteger(groups) || groups <= 0 || c % groups !== 0) throw new ShapeError(`groupnorm: ${groups} groups do not divide ${c} channels of ${fmtShape(x.shape)}`);
  if (!sameShape(w.shape, [c]) || !sameShape(b.shape, [c])) throw new ShapeError(`groupnorm: weight ${fmtShape(w.shape)} / bias ${fmtShape(b.shape)} must be [${c}]`);
  const hw = numel(x.shape.slice(2));
  const save = willRecord([x, w, b]);
  const out = e.empty(x.shape, 'f32', { zero: false });
  const mean = save ? e.empty([n, groups], 'f32', { zero: false }) : null;
  const rstd = save ? e.empty([n, groups], 'f32', { zero: false }) : null;
  e.k.groupnorm(x.f32(), w.f32(), b.f32(), out.f32(), mean?.f32() ?? null, rstd?.f32() ?? null, n, c, hw, groups, eps);
  return record('groupnorm', [x, w, b], out, { groups, eps }, mean && rstd ? { mean, rstd } : null);
}

/** Softmax over the last axis. */
export function softmax(x: Tensor): Tensor {
  const e = engineOf('softmax', x);
  expectDtype('softmax', x, 'f32');
  const d = x.shape[x.rank - 1];
  const out = e.empty(x.shape, 'f32', { zero: false });
  e.k.softmax(x.f32(), out.f32(), x.size / Math.max(1, d), d);
  return record('softmax', [x], out, null, null);
}

export interface AttentionOptions {
  causal?: boolean;
  /** Default 1/sqrt(D). */
  scale?: number;
  /** Keys/values used: the first kvLen positions of k and v (KV cache). Default k.shape[1]. */
  kvLen?: number;
  /** Query t sits at key position qOffset + t. Default kvLen - tq (the cache convention). */
  qOffset?: number;
  /** [B]: keys before keyStart[b] are padding. */
  keyStart?: Int32Array | null;
  /** [B, kvLen]: segment (document) id of every key position; queries see only their own segment. */
  segIds?: Int32Array | null;
}

/** Scaled-dot-product attention: q [B, T, Hq, D], k/v [B, S, Hkv, D] -> [B, T, Hq, D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const e = engineOf('attention', q, k, v);
  expectDtype('attention', q, 'f32');
  for (const [n, t] of [['q', q], ['k', k], ['v', v]] as const) expectRank('attention', t, 4, n);
  // Keys and values may be stored as bf16 (a half-size KV cache); both alike, forward only.
  const kvDtype = k.dtype;
  if ((kvDtype !== 'f32' && kvDtype !== 'bf16') || v.dtype !== kvDtype) {
    throw new ShapeError(`attention: k and v must both be f32 or both bf16, got ${k.dtype} and ${v.dtype}`);
  }
  const [b, tq, hq, d] = q.shape;
  const [bk, smax, hkv, dk] = k.shape;
  const desc = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  if (bk !== b || dk !== d || !sameShape(k.shape, v.shape)) throw new ShapeError(`attention: incompatible shapes ${desc}`);
  if (hkv === 0 || hq % hkv !== 0) throw new ShapeError(`attention: ${hkv} KV heads do not divide ${hq} query heads (${desc})`);
  const kvLen = opts.kvLen ?? smax;
  if (!Number.isInteger(kvLen) || kvLen < 0 || kvLen > smax) throw new ShapeError(`attention: kvLen ${kvLen} outside [0, ${smax}] (${desc})`);
  const qOffset = opts.qOffset ?? kvLen - tq;
  const causal = opts.causal ?? true;
  if (causal && (qOffset < 0 || qOffset + tq > kvLen)) {
    throw new ShapeError(`attention: queries at positions ${qOffset}..${qOffset + tq - 1} exceed the ${kvLen} visible keys (${desc})`);
  }
  const keyStart = opts.keyStart ?? null;
  if (keyStart && keyStart.length !== b) throw new ShapeError(`attention: keyStart has ${keyStart.length} entries for batch ${b}`);
  const segIds = opts.segIds ?? null;
  if (segIds && segIds.length !== b * kvLen) throw new ShapeError(`attention: segIds has ${segIds.length} entries, expected ${b}×${kvLen}`);
  const save = willRecord([q, k, v]);
  if (save && kvLen !== smax) throw new ShapeError('attention: training through a partially filled KV cache is not supported');
  if (save && kvDtype === 'bf16') throw new ShapeError('attention: bf16 keys/values are inference-only (run under noGrad)');
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const out = e.empty(q.shape, 'f32', { zero: false }); // [B, T, Hq, D]
  const lse = save ? e.empty([b, hq, tq], 'f32', { zero: false }) : null; // [B, Hq, T] row logsumexp
  // Index arrays live in engine memory, where every backend's kernels can read them.
  const p = { batch: b, tq, tk: kvLen, hq, hkv, dim: d, scale, causal, qOffset, kvBatchStride: smax * hkv * d, keyStart: inEngine(e, keyStart), segIds: inEngine(e, segIds), kvDtype };
  const kv = (t: Tensor): Float32Array | Uint16Array => (kvDtype === 'bf16' ? (t.data as Uint16Array) : t.f32());
  e.k.attention(q.f32(), kv(k), kv(v), out.f32(), lse ? lse.f32() : null, p);
  const attrs = { causal, scale, qOffset, kvLen, keyStart, segIds };
  return record('attention', [q, k, v], out, attrs, lse ? { lse } : null);
}

/** Rotate-half rotary embedding on x [B, T, H, D] at positions [B, T] (Hugging Face convention). */
export function rope(x: Tensor, positions: Int32Array, theta: number): Tensor {
  const e = engineOf('rope', x);
  expectDtype('rope', x, 'f32');
  expectRank('rope', x, 4);
  const [b, t, h, d] = x.shape;
  if (d % 2 !== 0) throw new ShapeError(`rope: head dimension ${d} of ${fmtShape(x.shape)} must be even`);
  if (positions.length !== b * t) throw new ShapeError(`rope: ${positions.length} positions for input ${fmtShape(x.shape)} (need ${b}×${t})`);
  const out = e.empty(x.shape, 'f32', { zero: false });
  e.k.rope(x.f32(), out.f32(), inEngine(e, positions), b, t, h, d, theta, false);
  return record('rope', [x], out, { positions, theta }, null);
}

/** silu(g) · u. */
export function swiglu(g: Tensor, u: Tensor): Tensor {
  const e = engineOf('swiglu', g, u);
  expectDtype('swiglu', g, 'f32');
  expectDtype('swiglu', u, 'f32');
  if (!sameShape(g.shape, u.shape)) throw new ShapeError(`swiglu: gate ${fmtShape(g.shape)} and up ${fmtShape(u.shape)} differ`);
  const out = e.empty(g.shape, 'f32', { zero: false });
  e.k.swiglu(g.f32(), u.f32(), out.f32());
  return record('swiglu', [g, u], out, null, null);
}

/** Inverted dropout with probability p, reproducible from seed. Identity when p = 0. */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  const e = engineOf('dropout', x);
  expectDtype('dropout', x, 'f32');
  if (!(p >= 0 && p < 1)) throw new ShapeError(`dropout: probability ${p} must be in [0, 1)`);
  if (p === 0) return x;
  const out = e.empty(x.shape, 'f32', { zero: false });
  e.k.dropout(x.f32(), out.f32(), p, seed >>> 0);
  return record('dropout', [x], out, { p, seed: seed >>> 0 }, null);
}
