// Building blocks shared by the VQGAN encoder and decoder (taming / Meta / HF semantics), built from
// nn/modules.ts Conv2d and GroupNorm declared under checkpoint names: ResnetBlock, single-head
// spatial AttnBlock, Downsample (pad right/bottom by 1, 3×3 stride 2) and Upsample (nearest ×2, 3×3).
// Everything is built from engine ops, so it runs on any backend and is differentiable.

import { Tensor, numel, ops, sameShape, type Engine } from '../../engine/index.js';
import { ChameleonError, fmtShape } from '../../util/errors.js';
import type { ParamPath } from '../../nn/params.js';
import { Conv2d, GroupNorm } from '../../nn/modules.js';
import { VQ_NORM_EPS, VQ_NORM_GROUPS } from './config.js';

/** Options of one forward pass. */
export interface VqForwardOptions {
  /** Training: applies the config's dropout inside ResnetBlocks with seeds derived from this one. */
  dropoutSeed?: number;
  /**
   * Receives named intermediate activations (e.g. "conv_in", "down.0.block_out", "mid"). In no-grad
   * mode a captured tensor is valid only during the callback (its buffer is reused): copy it there.
   */
  capture?: (name: string, t: Tensor) => void;
}

/** GroupNorm with the VQGAN's group count and eps (taming `Normalize`). */
export function vqNorm(p: ParamPath, channels: number): GroupNorm {
  return new GroupNorm(p, channels, VQ_NORM_GROUPS, VQ_NORM_EPS);
}

/** swish(GroupNorm(x)): Normalize + nonlinearity. */
export function normSwish(x: Tensor, n: GroupNorm): Tensor {
  return ops.silu(n.forward(x)); // [B, C, H, W]
}

/** Mixes a block id into a dropout seed (distinct masks per block, reproducible). */
function blockSeed(seed: number, id: number): number {
  return (Math.imul(id + 1, 0x9e3779b1) ^ seed) >>> 0;
}

/** h = conv1(swish(GN(x))); h = conv2(dropout(swish(GN(h)))); out = shortcut(x) + h. */
export class ResnetBlock {
  readonly norm1: GroupNorm; // [Cin]
  readonly conv1: Conv2d; // [Cout, Cin, 3, 3]
  readonly norm2: GroupNorm; // [Cout]
  readonly conv2: Conv2d; // [Cout, Cout, 3, 3]
  /** 1×1 `nin_shortcut` when the channel count changes. */
  readonly nin_shortcut: Conv2d | null; // [Cout, Cin, 1, 1]

  constructor(
    p: ParamPath,
    readonly cin: number,
    readonly cout: number,
    private readonly dropout: number,
    private readonly id: number,
  ) {
    this.norm1 = vqNorm(p.pp('norm1'), cin);
    this.conv1 = new Conv2d(p.pp('conv1'), cin, cout, 3);
    this.norm2 = vqNorm(p.pp('norm2'), cout);
    this.conv2 = new Conv2d(p.pp('conv2'), cout, cout, 3);
    this.nin_shortcut = cin !== cout ? new Conv2d(p.pp('nin_shortcut'), cin, cout, 1) : null;
  }

  forward(x: Tensor, opts: VqForwardOptions = {}): Tensor {
    let h = this.conv1.forward(normSwish(x, this.norm1)); // [B, Cout, H, W]
    h = normSwish(h, this.norm2);
    if (this.dropout > 0 && opts.dropoutSeed !== undefined) h = ops.dropout(h, this.dropout, blockSeed(opts.dropoutSeed, this.id));
    h = this.conv2.forward(h); // [B, Cout, H, W]
    const skip = this.nin_shortcut ? this.nin_shortcut.forward(x) : x; // [B, Cout, H, W]
    return ops.add(skip, h);
  }
}

/**
 * Single-head self-attention over all H·W positions: q, k, v, proj_out are 1×1 convs (applied
 * here as linear maps on [B, HW, C]), scale C^−0.5, out = x + proj_out(attn).
 */
export class AttnBlock {
  readonly norm: GroupNorm; // [C]
  readonly q: Conv2d; // [C, C, 1, 1]
  readonly k: Conv2d; // [C, C, 1, 1]
  readonly v: Conv2d; // [C, C, 1, 1]
  readonly proj_out: Conv2d; // [C, C, 1, 1]

  constructor(p: ParamPath, readonly channels: number) {
    this.norm = vqNorm(p.pp('norm'), channels);
    this.q = new Conv2d(p.pp('q'), channels, channels, 1);
    this.k = new Conv2d(p.pp('k'), channels, channels, 1);
    this.v = new Conv2d(p.pp('v'), channels, channels, 1);
    this.proj_out = new Conv2d(p.pp('proj_out'), channels, channels, 1);
  }

  forward(x: Tensor): Tensor {
    const [b, c, hh, ww] = x.shape;
    const n = this.norm.forward(x); // [B, C, H, W]
    const seq = ops.permute(ops.reshape(n, [b, c, hh * ww]), [0, 2, 1]); // [B, HW, C]
    const q = ops.reshape(this.q.pointwise(seq), [b, hh * ww, 1, c]); // [B, HW, 1, C]
    const k = ops.reshape(this.k.pointwise(seq), [b, hh * ww, 1, c]); // [B, HW, 1, C]
    const v = ops.reshape(this.v.pointwise(seq), [b, hh * ww, 1, c]); // [B, HW, 1, C]
    const a = ops.attention(q, k, v, { causal: false, scale: c ** -0.5 }); // [B, HW, 1, C]
    const o = this.proj_out.pointwise(ops.reshape(a, [b, hh * ww, c])); // [B, HW, C]
    const back = ops.reshape(ops.permute(o, [0, 2, 1]), [b, c, hh, ww]); // [B, C, H, W]
    return ops.add(x, back);
  }
}

/** Downsample's conv: zero-pad right and bottom by one pixel, then 3×3 with stride 2: [B,C,H,W] -> [B,C,H/2,W/2]. */
export function downsampleConv(p: ParamPath, channels: number): Conv2d {
  return new Conv2d(p, channels, channels, 3, { stride: 2, padding: [0, 0, 1, 1] });
}

/** Nearest-neighbour ×2 then 3×3 conv (padding 1): [B,C,H,W] -> [B,C,2H,2W]. */
export function upsample(x: Tensor, conv: Conv2d): Tensor {
  return conv.forward(ops.upsampleNearest(x, 2)); // [B, C, 2H, 2W]
}

/**
 * Inference memory plan: in no-grad mode each stage runs in its own scope and only its output is
 * kept, alternating between two buffers of the caller's scope, so the peak is two stage outputs plus
 * one stage's temporaries instead of every activation (GBs at 512×512). With autograd on, stages run
 * directly: the graph needs every activation.
 */
export class Stages {
  private readonly bufs: [Float32Array, Float32Array] | null;
  private readonly scope: number;
  private next = 0;

  constructor(private readonly e: Engine, maxElems: number) {
    this.scope = e.currentScope;
    this.bufs = e.gradEnabled
      ? null
      : [e.empty([maxElems], 'f32', { zero: false }).f32(), e.empty([maxElems], 'f32', { zero: false }).f32()];
  }

  /** Runs fn (whose result must have `shape`) and returns its output, in a ping-pong buffer when planned. */
  run(shape: readonly number[], fn: () => Tensor): Tensor {
    if (!this.bufs) return fn();
    const n = numel(shape);
    if (n > this.bufs[0].length) throw new ChameleonError(`Stages: output ${fmtShape(shape)} exceeds the planned ${this.bufs[0].length} elements`);
    const dst = this.bufs[this.next].subarray(0, n);
    this.next ^= 1;
    this.e.scope(() => {
      const r = fn();
      if (!sameShape(r.shape, shape)) throw new ChameleonError(`Stages: stage produced ${fmtShape(r.shape)}, planned ${fmtShape(shape)}`);
      dst.set(r.f32());
    });
    return new Tensor(this.e, [...shape], 'f32', dst, this.scope, this.e.memory);
  }
}

/** The ResNet blocks of one resolution level, each followed by its attention block when the level has them. */
export function runLevelBlocks(st: Stages, blocks: readonly ResnetBlock[], attns: readonly AttnBlock[], h: Tensor, shape: readonly number[], opts: VqForwardOptions): Tensor {
  blocks.forEach((block, j) => {
    const inp = h;
    h = st.run(shape, () => {
      const y = block.forward(inp, opts); // [B, c, r, r]
      return attns.length ? attns[j].forward(y) : y;
    });
  });
  return h;
}

/** The middle of encoder and decoder: ResNet block, attention, ResNet block, at a constant shape. */
export function runMid(st: Stages, mid1: ResnetBlock, attn: AttnBlock, mid2: ResnetBlock, h: Tensor, opts: VqForwardOptions): Tensor {
  for (const stage of [(t: Tensor) => mid1.forward(t, opts), (t: Tensor) => attn.forward(t), (t: Tensor) => mid2.forward(t, opts)]) {
    const inp = h;
    h = st.run(inp.shape, () => stage(inp)); // [B, C, g, g]
  }
  return h;
}

