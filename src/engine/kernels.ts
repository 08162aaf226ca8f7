// The kernel contract between the op layer and the backends. Every backend provides every kernel
// (the type checker enforces it); `ref` implements them in plain TypeScript as the readable spec,
// `wasm` replaces the hot ones with SIMD kernels run on a worker pool. Kernels never validate
// input: the op layer checks shapes, dtypes and index ranges before calling them. All arrays are
// contiguous row-major; a kernel fully overwrites its outputs unless the doc says "accumulates".
// Elementwise kernels (binary, unary, affine, cast within a dtype) allow `out` to alias an input of
// the output's shape (in-place updates such as gradient accumulation rely on it).

import type { AnyArray, DType } from './dtype.js';

export type F32 = Float32Array;
export type I32 = Int32Array;

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'sigmoid'
  | 'silu'
  | 'tanh'
  | 'square'
  | 'relu'
  | 'abs';
export type ReduceOp = 'sum' | 'max';

/** C[b] (+)= op(A[b]) · op(B[b]) with op(A): m×k, op(B): k×n, C: m×n. */
export interface GemmParams {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A is stored k×m (so op(A) = Aᵀ). */
  transA: boolean;
  /** B is stored n×k (so op(B) = Bᵀ); the layout of nn.Linear weights. */
  transB: boolean;
  /** Element strides between consecutive batch matrices; 0 broadcasts one matrix to every batch. */
  aStride: number;
  bStride: number;
  cStride: number;
  /** Storage type of B: f32, or bf16/f16 weights widened to f32 inside the kernel. */
  bDtype: 'f32' | 'bf16' | 'f16';
  /** false: C = A·B. true: C += A·B. */
  accumulate: boolean;
}

/** Fused causal scaled-dot-product attention over the [B, T, H, D] layout (GQA by head groups). */
export interface AttentionParams {
  batch: number;
  /** Number of query positions (T) and of key/value positions visible (S, includes cached ones). */
  tq: number;
  tk: number;
  hq: number;
  hkv: number;
  /** Head dimension D. */
  dim: number;
  scale: number;
  causal: boolean;
  /** Query t sits at key position qOffset + t (qOffset = tk - tq for a KV cache). */
  qOffset: number;
  /** Elements between batch rows of k and v (tk·hkv·D when dense, Smax·hkv·D inside a cache). */
  kvBatchStride: number;
  /** [batch]: keys at positions < keyStart[b] are masked (left padding). null: none. */
  keyStart: I32 | null;
  /** [batch, tk]: a query attends only keys with its own segment id (packed documents). null: none. */
  segIds: I32 | null;
  /** Storage of k and v (default f32). bf16 (a KV cache kept at half size) is for the forward only. */
  kvDtype?: 'f32' | 'bf16';
}

export interface Conv2dParams {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  padT: number;
  padL: number;
  padB: number;
  padR: number;
  outH: number;
  outW: number;
}

export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
}

export interface Kernels {
  // ---- matmul -------------------------------------------------------------------------------
  /** a: f32, b: f32 | bf16/f16 bits (p.bDtype), c: f32 (accumulates when p.accumulate). */
  gemm(a: F32, b: AnyArray, c: F32, p: GemmParams): void;

  // ---- elementwise --------------------------------------------------------------------------
  /**
   * out[idx] = a[idx·aStrides] op b[idx·bStrides] over outShape; strides are element strides in
   * the rank of outShape, 0 on broadcast axes.
   */
  binary(op: BinaryOp, a: F32, b: F32, out: F32, outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void;
  unary(op: UnaryOp, x: F32, out: F32): void;
  /** gx = gy · f'(x) for the unary op (y = f(x) is given for ops whose derivative uses it). */
  unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32): void;
  /** out = x · mul + add. */
  affine(x: F32, out: F32, mul: number, add: number): void;
  fill(out: AnyArray, value: number): void;
  /** Converts between storage types (f32 <-> bf16/f16 with round-to-nearest-even, i32 <-> f32). */
  cast(x: AnyArray, xDtype: DType, out: AnyArray, outDtype: DType): void;
  /** out = silu(g) · u. */
  swiglu(g: F32, u: F32, out: F32): void;
  swigluBackward(g: F32, u: F32, gy: F32, gg: F32, gu: F32): void;

  // ---- movement: reductions, copies, embeddings -----------------------------------------------
  /** x viewed as [outer, len, inner]; out[o, i] = op over l of x[o, l, i]. */
  reduce(op: ReduceOp, x: F32, out: F32, outer: number, len: number, inner: number): void;
  /** Gradient of reduce max: gy[o, i] flows to the first l attaining the max; other gx are 0. */
  reduceMaxBackward(x: F32, y: F32, gy: F32, gx: F32, outer: number, len: number, inner: number): void;
  /** out[idx] = x[idx·xStrides] over outShape (broadcast copy; strides 0 on broadcast axes). */
  broadcast(x: AnyArray, out: AnyArray, outShape: readonly number[], xStrides: readonly number[]): void;
  /** out = x permuted: out.shape[i] = inShape[perm[i]]. */
  permute(x: AnyArray, out: AnyArray, inShape: readonly number[], perm: readonly number[]): void;
  /**
   * Copies count slices along one axis: for o < outer, l < count, i < inner:
   * dst[o, dstStart + l, i] (+)= src[o, srcStart + l, i], with src axis length srcLen, dst axis length dstLen.
   */
  copyAxis(
    src: AnyArray,
    dst: AnyArray,
    outer: number,
    inner: number,
    srcLen: number,
    srcStart: number,
    dstLen: number,
    dstStart: number,
    count: number,
    accumulate: boolean,
  ): void;

  /** out[i, :] = table[ids[i], :] widened to f32; table is [rows, dim] of tableDtype. */
  gather(table: AnyArray, tableDtype: DType, ids: I32, out: F32, dim: number): void;
  /** Accumulates: gTable[ids[i], :] += g[i, :]. */
  scatterAdd(g: F32, ids: I32, gTable: F32, dim: number): void;

  // ---- norm ---------------------------------------------------------------------------------
  /** RMSNorm over rows of length dim: out = x / sqrt(mean(x²) + eps) · w; rstd (may be null) gets 1/rms. */
  rmsnorm(x: F32, w: F32, out: F32, rstd: F32 | null, rows: number, dim: number, eps: number): void;
  /** gx written; gw accumulates Σ_rows gy·x·rstd. */
  rmsnormBackward(x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, dim: number): void;
  /**
   * LayerNorm over rows of length dim (biased variance). w, b (or null) are [affineRows, dim];
   * row r uses affine row r % affineRows (affineRows = heads gives per-head QK-norm).
   */
  layernorm(
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
  ): void;
  /** gx written; gw, gb (may be null) accumulate. */
  layernormBackward(
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
  ): void;
  /** GroupNorm on x [n, c, hw] with per-channel affine w, b [c]; mean/rstd [n, groups]. */
  groupnorm(x: F32, w: F32, b: F32, out: F32, mean: F32 | null, rstd: F32 | null, n: number, c: number, hw: number, groups: number, eps: number): void;
  /** gx written; gw, gb accumulate. */
  groupnormBackward(x: F32, w: F32, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32, gb: F32, n: number, c: number, hw: number, groups: number): void;

  // ---- attention: softmax, attention, position ------------------------------------------------
  softmax(x: F32, out: F32, rows: number, dim: number): void;
  softmaxBackward(y: F32, gy: F32, gx: F32, rows: number, dim: number): void;
  /**
   * q [B, tq, hq, D], k/v [B, tk, hkv, D] (batch stride p.kvBatchStride), out [B, tq, hq, D];
   * lse [B, hq, tq] or null (inference): training gets the row logsumexp of the scaled scores
   * over the visible keys (-Infinity for a query with none), all the backward needs. A query with
   * no visible key outputs zeros. Backends keep the inference path's (lse null) summation order
   * fixed (decode parity fixtures are exact); the training path may sum differently.
   * k and v hold f32, or bf16 bits (Uint16Array) when p.kvDtype is 'bf16' (inference only).
   */
  attention(q: F32, k: F32 | Uint16Array, v: F32 | Uint16Array, out: F32, lse: F32 | null, p: AttentionParams): void;
  /**
   * From the forward's out and lse (probabilities recomputed as exp(score − lse)): gq, gk, gv
   * written (gk/gv dense [B, tk, hkv, D]).
   */
  attentionBackward(q: F32, k: F32, v: F32, out: F32, lse: F32, gOut: F32, gq: F32, gk: F32, gv: F32, p: AttentionParams): void;
  /**
   * Rotate-half RoPE on x [batch, t, heads, dim]: for i < dim/2 with angle = pos · theta^(-2i/dim),
   * (x_i, x_{i+dim/2}) -> (x_i cos - x_{i+dim/2} sin, x_{i+dim/2} cos + x_i sin); inverse rotates by -angle.
   * positions: [batch, t].
   */
  rope(x: F32, out: F32, positions: I32, batch: number, t: number, heads: number, dim: number, theta: number, inverse: boolean): void;

  // ---- conv: convolution and resampling -------------------------------------------------------
  /** x [n, cin, h, w], w [cout, cin, kh, kw], b [cout] or null, out [n, cout, outH, outW]; zero padding. */
  conv2d(x: F32, w: F32, b: F32 | null, out: F32, p: Conv2dParams): void;
  /** Any of gx, gw, gb may be null (not needed); those given are written (not accumulated). */
  conv2dBackward(x: F32, w: F32, gy: F32, gx: F32 | null, gw: F32 | null, gb: F32 | null, p: Conv2dParams): void;
  /** Nearest-neighbour upsampling of x [planes, h, w] by an integer factor. */
  upsampleNearest(x: F32, out: F32, planes: number, h: number, w: number, factor: number): void;
  upsampleNearestBackward(gy: F32, gx: F32, planes: number, h: number, w: number, factor: number): void;

  // ---- loss: regularisation and loss ----------------------------------------------------------
  /**
   * Inverted dropout with a counter-based hash: element i is kept iff hash(seed, i) ≥ p, kept values
   * scaled by 1/(1-p). Deterministic in (seed, i), so the backward pass is the same call on gy.
   */
  dropout(x: F32, out: F32, p: number, seed: number): void;
  /**
   * Per-row cross entropy of logits [rows, vocab] against targets [rows]: losses[r] = lse_r - z[r, t_r]
   * and lse[r] = logsumexp(z[r, :]); rows whose target is ignoreIndex get loss 0 (lse still written).
   */
  crossEntropy(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number): void;
  /**
   * gLogits[r, j] = softmax_j · (ceScale + zScale · lse_r) − [j = t_r] · ceScale for rows with a
   * valid target, 0 for ignored rows. (ceScale = g/count; zScale = g·2·zCoef/count.)
   */
  crossEntropyBackward(logits: F32, targets: I32, lse: F32, gLogits: F32, rows: number, vocab: number, ignoreIndex: number, ceScale: number, zScale: number): void;
  /**
   * crossEntropy and crossEntropyBackward in one call (training: the gradient for upstream 1 is
   * formed while each row is at hand, so e^z is evaluated once per logit instead of twice).
   */
  crossEntropyWithGrad(logits: F32, targets: I32, losses: F32, lse: F32, gLogits: F32, rows: number, vocab: number, ignoreIndex: number, ceScale: number, zScale: number): void;

  // ---- optim --------------------------------------------------------------------------------
  /** In-place AdamW with decoupled weight decay over n elements of param/grad/m/v. */
  adamw(param: F32, grad: F32, m: F32, v: F32, p: AdamWParams): void;
  /** Σ x² in float64 accumulation (for global grad-norm clipping). */
  sumSquares(x: F32): number;
}

export type KernelName = keyof Kernels;

/**
 * Kernel families: each family is one file of that name in backends/ref/, in backends/wasm/kernels/
 * (the native wrappers, for the kernels that have one) and in kernels/ (the AssemblyScript exports),
 * so a kernel's twins are found by its family name.
 */
export type KernelFamily = 'matmul' | 'elementwise' | 'movement' | 'norm' | 'attention' | 'conv' | 'loss' | 'optim';

/** The family of every kernel (complete: a kernel added to `Kernels` without a family is a compile error). */
export const KERNEL_FAMILY = {
  gemm: 'matmul',
  binary: 'elementwise',
  unary: 'elementwise',
  unaryBackward: 'elementwise',
  affine: 'elementwise',
  fill: 'elementwise',
  cast: 'elementwise',
  swiglu: 'elementwise',
  swigluBackward: 'elementwise',
  reduce: 'movement',
  reduceMaxBackward: 'movement',
  broadcast: 'movement',
  permute: 'movement',
  copyAxis: 'movement',
  gather: 'movement',
  scatterAdd: 'movement',
  rmsnorm: 'norm',
  rmsnormBackward: 'norm',
  layernorm: 'norm',
  layernormBackward: 'norm',
  groupnorm: 'norm',
  groupnormBackward: 'norm',
  softmax: 'attention',
  softmaxBackward: 'attention',
  attention: 'attention',
  attentionBackward: 'attention',
  rope: 'attention',
  conv2d: 'conv',
  conv2dBackward: 'conv',
  upsampleNearest: 'conv',
  upsampleNearestBackward: 'conv',
  dropout: 'loss',
  crossEntropy: 'loss',
  crossEntropyBackward: 'loss',
  crossEntropyWithGrad: 'loss',
  adamw: 'optim',
  sumSquares: 'optim',
} as const satisfies Record<KernelName, KernelFamily>;

/** The kernels of one family, as a slice of the `Kernels` table (what each ref family file exports). */
export type FamilyKernels<F extends KernelFamily> = Pick<Kernels, { [K in KernelName]: (typeof KERNEL_FAMILY)[K] extends F ? K : never }[KernelName]>;
