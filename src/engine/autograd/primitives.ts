// The fixed primitive set of the autograd: for every primitive, the attributes it was applied with
// and what its forward pass saved for the backward pass. Ops (engine/ops) are the only producers of
// nodes; gradient rules (grad_rules.ts) are the only consumers. Adding a primitive means adding a
// row here, which makes the rule table fail to type-check until its rule exists.

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
  matmul: { attrs: { transA: boolean; transB: boolean }; saved: null };
  add: { attrs: null; saved: null };
  sub: { attrs: null; saved: null };
  mul: { attrs: null; saved: null };
  div: { attrs: null; saved: null };
  /** Elementwise max/min of two tensors (broadcast); gradient to the selected side (ties: a). */
  minmax: { attrs: { op: Extract<BinaryOp, 'max' | 'min'> }; saved: null };
  unary: { attrs: { op: UnaryOp }; saved: null };
  affine: { attrs: { mul: number; add: number }; saved: null };
  sum: { attrs: { axes: number[]; keepdims: boolean }; saved: null };
  max: { attrs: { axis: number; keepdims: boolean }; saved: null };
  reshape: { attrs: { shape: number[] }; saved: null };
  permute: { attrs: { perm: number[] }; saved: null };
  slice: { attrs: { axis: number; start: number; end: number }; saved: null };
  concat: { attrs: { axis: number }; saved: null };
  broadcastTo: { attrs: { shape: number[] }; saved: null };
  cast: { attrs: { dtype: DType }; saved: null };
  embedding: { attrs: null; saved: null };
  rmsnorm: { attrs: { eps: number }; saved: { rstd: Tensor } };
  layernorm: { attrs: { eps: number; affine: boolean; affineRows: number }; saved: { mean: Tensor; rstd: Tensor } };
  groupnorm: { attrs: { groups: number; eps: number }; saved: { mean: Tensor; rstd: Tensor } };
  softmax: { attrs: null; saved: null };
  attention: { attrs: AttentionAttrs; saved: { lse: Tensor } };
  rope: { attrs: { positions: Int32Array; theta: number }; saved: null };
  swiglu: { attrs: null; saved: null };
  conv2d: { attrs: { geometry: ConvGeometry; bias: boolean }; saved: null };
  upsample: { attrs: { factor: number }; saved: null };
  dropout: { attrs: { p: number; seed: number }; saved: null };
  /** saved.grad: d loss / d logits for an upstream gradient of 1, formed by the forward pass. */
  crossEntropy: { attrs: { ignoreIndex: number; zLoss: number; count: number }; saved: { lse: Tensor; grad: Tensor } };
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

export type Node = { [P in Prim]: NodeOf<P> }[Prim];

/**
 * Records a node on `out` if grad mode is on and any input requires grad. Returns out. Ops decide
 * with willRecord() whether to compute what backward needs; when they did not, they pass `saved`
 * null, and no node is recorded in that case, so rules never see a missing saved value.
 */
export function record<P extends Prim>(
  prim: P,
  inputs: readonly Tensor[],
  out: Tensor,
  attrs: PrimSpec[P]['attrs'],
  saved: PrimSpec[P]['saved'] | null,
): Tensor {
  if (!out.engine.gradEnabled) return out;
  let any = false;
  for (const t of inputs) if (t.requiresGrad) any = true;
  if (!any) return out;
  out.requiresGrad = true;
  out.node = { prim, inputs, attrs, saved, out } as unknown as Node;
  return out;
}

/** Whether the current op needs to save tensors for backward (so inference skips that work). */
export function willRecord(inputs: readonly Tensor[]): boolean {
  if (inputs.length === 0 || !inputs[0].engine.gradEnabled) return false;
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}
