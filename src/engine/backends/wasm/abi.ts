// The ABI between the TypeScript side and the wasm kernel module (kernels/*.ts): export names in a
// fixed order (jobs name kernels by index), flag and op encodings, and the layout of the control
// block the thread pool shares through memory. Change it together with kernels/. No logic here.

import type { BinaryOp, UnaryOp } from '../../kernels.js';

/** Every threaded export takes (...args, start, end, scratch); a job names one by index here. */
export const EXPORTS = [
  'gemm',
  'matvec',
  'bandwidth_sum',
  'fma_peak',
  'bandwidth_streams',
  'debug_trap',
  'fill_f32',
  'affine',
  'unary',
  'unary_backward',
  'binary',
  'swiglu',
  'swiglu_backward',
  'adamw',
  'dropout',
  'sum_squares',
  'cast_f32_bf16',
  'cast_f32_f16',
  'cast_h_f32',
  'cast_i32_f32',
  'cast_f32_i32',
  'copy_elems',
  'softmax',
  'softmax_backward',
  'rmsnorm',
  'rmsnorm_backward',
  'norm_backward_gw',
  'layernorm',
  'layernorm_backward',
  'groupnorm',
  'cross_entropy',
  'cross_entropy_backward',
  'cross_entropy_grad',
  'reduce',
  'rope',
  'gather',
  'scatter_add',
  'attention',
  'attention_train',
  'attention_train_backward',
  'im2col',
  'col2im',
] as const;

export type ExportName = (typeof EXPORTS)[number];
export const EXPORT_INDEX: Readonly<Record<ExportName, number>> = Object.fromEntries(EXPORTS.map((n, i) => [n, i])) as Record<ExportName, number>;

/** gemm/matvec flags. */
export const GEMM_TRANS_A = 1;
export const GEMM_TRANS_B = 2;
export const GEMM_ACCUMULATE = 4;
export const DTYPE_CODE = { f32: 0, bf16: 1, f16: 2 } as const;
/** gemm split axis. */
export const SPLIT_BATCH = 0;
export const SPLIT_ROWS = 1;
export const SPLIT_COLS = 2;

export const UNARY_CODE: Readonly<Record<UnaryOp, number>> = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  rsqrt: 4,
  sigmoid: 5,
  silu: 6,
  tanh: 7,
  square: 8,
  relu: 9,
  abs: 10,
};
export const BINARY_CODE: Readonly<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5 };
/** binary operand modes. */
export const MODE_DENSE = 0;
export const MODE_ROW = 1;
export const MODE_SCALAR = 2;

// ---- memory layout -----------------------------------------------------------------------------

/** Bytes below this belong to the module's static data (AS places it at 1024) and are never handed out. */
const STATIC_BYTES = 65536;
/** The control block sits right after the static data. */
export const CTL_OFFSET = STATIC_BYTES;
export const CTL_BYTES = 4096;
/** Int32 slots of the control block. */
export const CTL_SEQ = 0;
export const CTL_DONE = 1;
export const CTL_FN = 2;
export const CTL_NPARTS = 3;
export const CTL_TOTAL = 4;
export const CTL_ALIGN = 5;
export const CTL_ERR = 6;
export const CTL_NARGS = 7;
export const CTL_ERRLEN = 8;
/** Dynamic scheduling: number of chunks (0 = static, one range per participant) and the next chunk to take. */
export const CTL_CHUNKS = 9;
export const CTL_NEXT = 10;
/** Float64 job arguments start at this byte offset inside the control block. */
export const CTL_ARGS_BYTE = 64;
export const MAX_ARGS = 24;
/** UTF-16 error message of the first failing participant. */
export const CTL_ERRMSG_BYTE = 512;
export const ERRMSG_MAX = 1024;
/** FN value that tells workers to exit. */
export const FN_EXIT = -1;

/** Participant p's share [start, end) of total items, boundaries multiples of align (last takes the rest). */
/**
 * Runs a job's share: static (chunks = 0: participant p takes range p of `parts`) or dynamic (every
 * participant takes the next unclaimed of `chunks` ranges until none is left, so a participant on
 * a slower core simply takes fewer; used where a range's result does not depend on who computes it).
 */
export function runShare(ctl: Int32Array, p: number, parts: number, total: number, align: number, chunks: number, run: (start: number, end: number) => void): void {
  if (chunks <= 0) {
    const [s, e] = partition(total, parts, p, align);
    run(s, e);
    return;
  }
  for (;;) {
    const c = Atomics.add(ctl, CTL_NEXT, 1);
    if (c >= chunks) return;
    const [s, e] = partition(total, chunks, c, align);
    if (s < e) run(s, e);
  }
}

function partition(total: number, parts: number, p: number, align: number): [number, number] {
  const cut = (q: number): number => (q >= parts ? total : Math.min(total, Math.floor((total * q) / parts / align) * align));
  return [cut(p), cut(p + 1)];
}
