import type { DType } from '../dtype.js';
import type { BinaryOp, Conv2dParams, UnaryOp } from '../kernels.js';
import type { Tensor } from '../tensor.js';
export interface AttentionAttrs {
    causal: boolean;
    scale: number;
    qOffset: number;
    /** Number of key positions used (≤ k.shape[1]; < only for KV caches, which have no backward). */
    kvLen: number;
    keyStart: Int32Array | null;
    segIds: Int32Array | null;
}
export type ConvGeometry = Omit<Conv2dParams, 'n' | 'cin' | 'h' | 'w' | 'cout' | 'kh' | 'kw' | 'outH' | 'outW'>;
/** attrs: how the primitive was applied; saved: tensors/arrays the backward pass needs. */
export interface PrimSpec {
    matmul: {
        attrs: {
            transA: boolean;
            transB: boolean;
        };
        saved: null;
    };
    add: {
        attrs: null;
        saved: null;
    };
    sub: {
        attrs: null;
        saved: null;
    };
    mul: {
        attrs: null;
        saved: null;
    };
    div: {
        attrs: null;
        saved: null;
    };
    /** Elementwise max/min of two tensors (broadcast); gradient to the selected side (ties: a). */
    minmax: {
        attrs: {
            op: Extract<BinaryOp, 'max' | 'min'>;
        };
        saved: null;
    };
    unary: {
        attrs: {
            op: UnaryOp;
        };
        saved: null;
    };
    affine: {
        attrs: {
            mul: number;
            add: number;
        };
        saved: null;
    };
    sum: {
        attrs: {
            axes: number[];
            keepdims: boolean;
        };
        saved: null;
    };
    max: {
        attrs: {
            axis: number;
            keepdims: boolean;
        };
        saved: null;
    };
    reshape: {
        attrs: {
            shape: number[];
        };
        saved: null;
    };
    permute: {
        attrs: {
            perm: number[];
        };
        saved: null;
    };
    slice: {
        attrs: {
            axis: number;
            start: number;
            end: number;
        };
        saved: null;
    };
    concat: {
        attrs: {
            axis: number;
        };
        saved: null;
    };
    broadcastTo: {
        attrs: {
            shape: number[];
        };
        saved: null;
    };
    cast: {
        attrs: {
            dtype: DType;
        };
        saved: null;
    };
    embedding: {
        attrs: null;
        saved: null;
    };
    rmsnorm: {
        attrs: {
            eps: number;
        };
        saved: {
            rstd: Tensor;
        };
    };
    layernorm: {
        attrs: {
            eps: number;
            affine: boolean;
            affineRows: number;
        };
        saved: {
            mean: Tensor;
            rstd: Tensor;
        };
    };
    groupnorm: {
        attrs: {
            groups: number;
            eps: number;
        };
        saved: {
            mean: Tensor;
            rstd: Tensor;
        };
    };
    softmax: {
        attrs: null;
        saved: null;
    };
    attention: {
        attrs: AttentionAttrs;
        saved: {
            probs: Tensor;
        };
    };
    rope: {
        attrs: {
            positions: Int32Array;
            theta: number;
        };
        saved: null;
    };
    swiglu: {
        attrs: null;
        saved: null;
    };
    conv2d: {
        attrs: {
            geometry: ConvGeometry;
            bias: boolean;
        };
        saved: null;
    };
    upsample: {
        attrs: {
            factor: number;
        };
        saved: null;
    };
    dropout: {
        attrs: {
            p: number;
            seed: number;
        };
        saved: null;
    };
    crossEntropy: {
        attrs: {
            ignoreIndex: number;
            zLoss: number;
            count: number;
        };
        saved: {
            lse: Tensor;
        };
    };
}
export type Prim = keyof PrimSpec;
/** One recorded application of a primitive. `out` is the tensor it produced. */
export interface NodeOf<P extends Prim> {
    readonly prim: P;
    readonly inputs: readonly Tensor[];
    readonly attrs: PrimSpec[P]['attrs'];
    readonly saved: PrimSpec[P]['saved'];
    readonly out: Tensor;
}
export type Node = {
    [P in Prim]: NodeOf<P>;
}[Prim];
/** Records a node on `out` if grad mode is on and any input requires grad. Returns out. */
export declare function record<P extends Prim>(prim: P, inputs: readonly Tensor[], out: Tensor, attrs: PrimSpec[P]['attrs'], saved: PrimSpec[P]['saved']): Tensor;
/** Whether the current op needs to save tensors for backward (so inference skips that work). */
export declare function willRecord(inputs: readonly Tensor[]): boolean;
