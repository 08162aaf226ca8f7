import type { BinaryOp, UnaryOp } from '../../kernels.js';
/** Every threaded export takes (...args, start, end, scratch); a job names one by index here. */
export declare const EXPORTS: readonly ["gemm", "matvec", "bandwidth_sum", "debug_trap", "fill_f32", "affine", "unary", "unary_backward", "binary", "swiglu", "swiglu_backward", "adamw", "sum_squares", "cast_f32_bf16", "cast_f32_f16", "cast_h_f32", "cast_i32_f32", "cast_f32_i32", "copy_elems", "softmax", "softmax_backward", "rmsnorm", "rmsnorm_backward", "norm_backward_gw", "layernorm", "layernorm_backward", "cross_entropy", "cross_entropy_backward", "reduce", "rope", "gather", "scatter_add"];
export type ExportName = (typeof EXPORTS)[number];
export declare const EXPORT_INDEX: Readonly<Record<ExportName, number>>;
/** gemm/matvec flags. */
export declare const GEMM_TRANS_A = 1;
export declare const GEMM_TRANS_B = 2;
export declare const GEMM_ACCUMULATE = 4;
export declare const DTYPE_CODE: {
    readonly f32: 0;
    readonly bf16: 1;
    readonly f16: 2;
};
/** gemm split axis. */
export declare const SPLIT_BATCH = 0;
export declare const SPLIT_ROWS = 1;
export declare const SPLIT_COLS = 2;
export declare const UNARY_CODE: Readonly<Record<UnaryOp, number>>;
export declare const BINARY_CODE: Readonly<Record<BinaryOp, number>>;
/** binary operand modes. */
export declare const MODE_DENSE = 0;
export declare const MODE_ROW = 1;
export declare const MODE_SCALAR = 2;
/** Bytes below this belong to the module's static data (AS places it at 1024) and are never handed out. */
export declare const STATIC_BYTES = 65536;
/** The control block sits right after the static data. */
export declare const CTL_OFFSET = 65536;
export declare const CTL_BYTES = 4096;
/** Int32 slots of the control block. */
export declare const CTL_SEQ = 0;
export declare const CTL_DONE = 1;
export declare const CTL_FN = 2;
export declare const CTL_NPARTS = 3;
export declare const CTL_TOTAL = 4;
export declare const CTL_ALIGN = 5;
export declare const CTL_ERR = 6;
export declare const CTL_NARGS = 7;
export declare const CTL_ERRLEN = 8;
/** Float64 job arguments start at this byte offset inside the control block. */
export declare const CTL_ARGS_BYTE = 64;
export declare const MAX_ARGS = 24;
/** UTF-16 error message of the first failing participant. */
export declare const CTL_ERRMSG_BYTE = 512;
export declare const ERRMSG_MAX = 1024;
/** FN value that tells workers to exit. */
export declare const FN_EXIT = -1;
/** Participant p's share [start, end) of total items, boundaries multiples of align (last takes the rest). */
export declare function partition(total: number, parts: number, p: number, align: number): [number, number];
