// Layers built once from a ParamStore under their checkpoint names (candle style: a constructor
// takes a ParamPath and declares `weight`/`bias` under it, so model field paths mirror checkpoint
// keys). Forward is one engine op each: Linear (x·Wᵀ + b, with a seam for adapters such as LoRA),
// Embedding, RMSNorm, LayerNorm (optionally per-head affine), GroupNorm, Conv2d. Leaves out: LoRA
// and quantization themselves (Linear's adapter hook and MatrixStorage in params.ts are the seams).

import { ShapeError, fmtShape } from '../util/errors.js';
import { ops } from '../engine/index.js';
import type { Tensor } from '../engine/tensor.js';
import type { Init, ParamPath } from './params.js';

/**
 * Something that changes a Linear's output given its input: `forward(x, base)` with
 * base = x·Wᵀ (+ b) the frozen layer's output. A LoRA adapter returns base + s·(x·Aᵀ)·Bᵀ, training
 * only A and B (f32) while W stays in its storage dtype (bf16, or a quantized type later).
 */
export interface LinearAdapter {
  forward(x: Tensor, base: Tensor): Tensor;
}

export interface LinearOptions {
  /** Declare a `bias` [out] (default false: every Chameleon projection is bias-free). */
  bias?: boolean;
  /** Weight init (default normal, std 0.02). */
  init?: Init;
  /** Bias init (default zeros). */
  biasInit?: Init;
}

/**
 * y = x·Wᵀ (+ b), W `weight` [out, in] in any storage dtype ops.linear takes (f32, bf16, f16; the
 * kernel widens in registers; blocked quantized types later through the engine's type traits).
 * With an adapter attached, y = adapter.forward(x, x·Wᵀ (+ b)).
 */
export class Linear {
  readonly weight: Tensor; // [out, in]
  readonly bias: Tensor | null; // [out]
  /** Optional output hook (LoRA); null = the plain layer. */
  adapter: LinearAdapter | null = null;

  constructor(
    p: ParamPath,
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    this.weight = p.matrix('weight', [outFeatures, inFeatures], opts.init ?? { kind: 'normal', std: 0.02 });
    this.bias = opts.bias ? p.f32('bias', [outFeatures], opts.biasInit ?? { kind: 'zeros' }) : null;
  }

  /** x [..., in] -> [..., out]. */
  forward(x: Tensor): Tensor {
    let y = ops.linear(x, this.weight); // [..., out]
    if (this.bias) y = ops.add(y, this.bias); // [..., out]
    return this.adapter ? this.adapter.forward(x, y) : y;
  }

  /**
   * Only the output features [start, end): x [..., in] -> [..., end - start], reading just those
   * rows of W (a view). For an LM head restricted to part of the vocabulary; plain layers only.
   */
  forwardRows(x: Tensor, start: number, end: number): Tensor {
    if (this.adapter || this.bias) throw new ShapeError('Linear.forwardRows: only for bias-free layers without an adapter');
    return ops.linear(x, ops.narrow(this.weight, start, end)); // [..., end - start]
  }
}

export interface EmbeddingOptions {
  /** Table init (default normal, std 0.02). */
  init?: Init;
}

/** Row lookup in `weight` [num, dim] (f32, bf16 or f16 storage): ids [...] -> [..., dim] f32. */
export class Embedding {
  readonly weight: Tensor; // [num, dim]

  constructor(
    p: ParamPath,
    readonly num: number,
    readonly dim: number,
    opts: EmbeddingOptions = {},
  ) {
    this.weight = p.matrix('weight', [num, dim], opts.init ?? { kind: 'normal', std: 0.02 });
  }

  forward(ids: Tensor): Tensor {
    return ops.embedding(this.weight, ids); // [..., dim]
  }
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight, weight [dim] (init ones). */
export class RMSNorm {
  readonly weight: Tensor; // [dim]

  constructor(
    p: ParamPath,
    readonly dim: number,
    readonly eps: number,
  ) {
    this.weight = p.f32('weight', [dim], { kind: 'ones' });
  }

  forward(x: Tensor): Tensor {
    return ops.rmsnorm(x, this.weight, this.eps); // [..., dim]
  }
}

/**
 * LayerNorm over the last axis (biased variance) with `weight` (ones) and `bias` (zeros) of `shape`:
 * [D] for a plain LayerNorm, or [H, D] for per-head affine on x [..., H, D] (Chameleon's QK-norm:
 * row r of x uses affine row r mod H).
 */
export class LayerNorm {
  readonly weight: Tensor; // [D] or [H, D]
  readonly bias: Tensor; // [D] or [H, D]

  constructor(
    p: ParamPath,
    readonly shape: readonly number[],
    readonly eps: number,
  ) {
    if (shape.length !== 1 && shape.length !== 2) throw new ShapeError(`LayerNorm: affine shape must be [D] or [H, D], got ${fmtShape(shape)}`);
    this.weight = p.f32('weight', shape, { kind: 'ones' });
    this.bias = p.f32('bias', shape, { kind: 'zeros' });
  }

  forward(x: Tensor): Tensor {
    return ops.layernorm(x, this.weight, this.bias, this.eps); // x's shape
  }
}

/** GroupNorm over [B, C, H, W] with `groups` groups and per-channel `weight` (ones) and `bias` (zeros). */
export class GroupNorm {
  readonly weight: Tensor; // [C]
  readonly bias: Tensor; // [C]

  constructor(
    p: ParamPath,
    readonly channels: number,
    readonly groups: number,
    readonly eps: number,
  ) {
    this.weight = p.f32('weight', [channels], { kind: 'ones' });
    this.bias = p.f32('bias', [channels], { kind: 'zeros' });
  }

  forward(x: Tensor): Tensor {
    return ops.groupnorm(x, this.weight, this.bias, this.groups, this.eps); // [B, C, H, W]
  }
}

export interface Conv2dOptions {
  stride?: number;
  /** Symmetric padding or [top, left, bottom, right]; default (k − 1) / 2 ("same" for odd k). */
  padding?: number | [number, number, number, number];
}

/**
 * 2-D convolution (NCHW) with `weight` [Cout, Cin, k, k] and `bias` [Cout], both f32 with PyTorch's
 * default init bounds (uniform ±1/sqrt(Cin·k²)).
 */
export class Conv2d {
  readonly weight: Tensor; // [Cout, Cin, k, k]
  readonly bias: Tensor; // [Cout]
  private readonly stride: number;
  private readonly padding: number | [number, number, number, number];

  constructor(
    p: ParamPath,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    opts: Conv2dOptions = {},
  ) {
    const bound = 1 / Math.sqrt(inChannels * kernel * kernel);
    this.weight = p.f32('weight', [outChannels, inChannels, kernel, kernel], { kind: 'uniform', bound });
    this.bias = p.f32('bias', [outChannels], { kind: 'uniform', bound });
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? (kernel - 1) / 2;
  }

  /** x [B, Cin, H, W] -> [B, Cout, H', W']. */
  forward(x: Tensor): Tensor {
    return ops.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding }); // [B, Cout, H', W']
  }

  /**
   * A 1×1 convolution applied to channels-last rows: x [..., Cin] -> [..., Cout] as x·Wᵀ + b
   * (the VQGAN attention's q, k, v and proj_out).
   */
  pointwise(x: Tensor): Tensor {
    if (this.kernel !== 1) throw new ShapeError(`Conv2d.pointwise: needs a 1×1 kernel, this one is ${this.kernel}×${this.kernel}`);
    return ops.add(ops.linear(x, ops.reshape(this.weight, [this.outChannels, this.inChannels])), this.bias); // [..., Cout]
  }
}
