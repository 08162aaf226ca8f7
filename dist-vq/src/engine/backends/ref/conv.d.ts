import type { Conv2dParams, F32 } from '../../kernels.js';
/**
 * out[n, co, oy, ox] = b[co] + Σ_{ci, ky, kx} w[co, ci, ky, kx] · x[n, ci, oy·stride − padT + ky,
 * ox·stride − padL + kx], taps outside the input read 0. padB/padR only shape outH/outW.
 */
export declare function conv2d(x: F32, w: F32, b: F32 | null, out: F32, p: Conv2dParams): void;
/**
 * Gradients of conv2d. gb[co] = Σ gy[·, co]; gw[co, ci, ky, kx] = Σ gy[n, co, oy, ox] · x[n, ci, iy, ix];
 * gx[n, ci, iy, ix] = Σ w[co, ci, ky, kx] · gy[n, co, oy, ox] over the taps that read (iy, ix).
 * Each non-null output is written (not accumulated).
 */
export declare function conv2dBackward(x: F32, w: F32, gy: F32, gx: F32 | null, gw: F32 | null, gb: F32 | null, p: Conv2dParams): void;
/** out[p, oy, ox] = x[p, floor(oy / factor), floor(ox / factor)]; out is [planes, h·factor, w·factor]. */
export declare function upsampleNearest(x: F32, out: F32, planes: number, h: number, w: number, factor: number): void;
/** gx[p, y, x] = Σ of gy over its factor×factor block (written). */
export declare function upsampleNearestBackward(gy: F32, gx: F32, planes: number, h: number, w: number, factor: number): void;
