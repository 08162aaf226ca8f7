import type { F32 } from '../../kernels.js';
/** out = x / sqrt(mean(x²) + eps) · w per row of length dim; rstd[r] = 1/rms when rstd is given. */
export declare function rmsnorm(x: F32, w: F32, out: F32, rstd: F32 | null, rows: number, dim: number, eps: number): void;
/**
 * gx = rstd·(w⊙gy) − rstd³/dim · x · Σ(w⊙gy⊙x) per row (written); gw += Σ_rows gy·x·rstd (accumulated).
 */
export declare function rmsnormBackward(x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, dim: number): void;
/**
 * LayerNorm per row of length dim with biased variance; row r uses affine row r % affineRows of w and
 * b (null w means 1, null b means 0). mean/rstd (either may be null) get the row statistics.
 */
export declare function layernorm(x: F32, w: F32 | null, b: F32 | null, out: F32, mean: F32 | null, rstd: F32 | null, rows: number, dim: number, affineRows: number, eps: number): void;
/**
 * With x̂ = (x − mean)·rstd and ĝ = gy·w: gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) (written);
 * gw[r % affineRows] += gy·x̂ and gb[r % affineRows] += gy (accumulated; either may be null).
 */
export declare function layernormBackward(x: F32, w: F32 | null, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32 | null, gb: F32 | null, rows: number, dim: number, affineRows: number): void;
/**
 * GroupNorm on x [n, c, hw]: each (sample, group of c/groups consecutive channels) is normalised over
 * its (c/groups)·hw values, then channel ch gets ·w[ch] + b[ch]. mean/rstd are [n, groups].
 */
export declare function groupnorm(x: F32, w: F32, b: F32, out: F32, mean: F32 | null, rstd: F32 | null, n: number, c: number, hw: number, groups: number, eps: number): void;
/**
 * Per (sample, group) with x̂ = (x − mean)·rstd and ĝ = gy·w[ch]: gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
 * (written); gw[ch] += Σ gy·x̂ and gb[ch] += Σ gy over samples and positions (accumulated).
 */
export declare function groupnormBackward(x: F32, w: F32, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32, gb: F32, n: number, c: number, hw: number, groups: number): void;
