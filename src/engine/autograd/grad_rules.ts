// The gradient table: one vector-Jacobian rule per primitive, typed as a mapped type over Prim so
// a primitive without a rule does not compile. Each rule receives the node and the gradient of its
// output and returns one gradient per input (null where none flows, e.g. integer ids). Rules run in
// no-grad mode (no higher-order gradients) and use ops and backward kernels.

import { ChameleonError } from '../../util/errors.js';
import type { Engine } from '../engine.js';
import { cast, div, mul, neg, scale } from '../ops/elementwise.js';
import { convParams } from '../ops/conv.js';
import { matmul, matmulAccumulate } from '../ops/matmul.js';
import { inEngine } from '../ops/nn.js';
import { broadcastStrides } from '../ops/check.js';
import { broadcastTo, permute, reshape, slice, sumTo } from '../ops/shape.js';
import { numel, type Tensor } from '../tensor.js';
import type { NodeOf, Prim } from './primitives.js';

/**
 * The gradient buffer of a leaf that requires grad (created zeroed on first use and counted as having
 * received a gradient), or null for any other tensor. A rule may add an input's gradient straight
 * into it (e.g. a weight-gradient GEMM with beta = 1) and return null for that input instead of a
 * temporary that backward() would then add.
 */
export type LeafGrad = (t: Tensor) => Tensor | null;

export type GradRule<P extends Prim> = (node: NodeOf<P>, g: Tensor, leafGrad: LeafGrad) => (Tensor | null)[];

function emptyLike(e: Engine, t: Tensor, zero = false): Tensor {
  return e.empty(t.shape, 'f32', { zero });
}

/** Gradient of a min/max selection: flows to a where a wins (ties to a), else to b. */
function minmaxGrad(node: NodeOf<'minmax'>, g: Tensor): (Tensor | null)[] {
  const [a, b] = node.inputs;
  const e = g.engine;
  const af = broadcastTo(a, g.shape).f32();
  const bf = broadcastTo(b, g.shape).f32();
  const ga = emptyLike(e, g);
  const gb = emptyLike(e, g);
  const gd = g.f32();
  const isMax = node.attrs.op === 'max';
  for (let i = 0; i < gd.length; i++) {
    const aWins = isMax ? af[i] >= bf[i] : af[i] <= bf[i];
    ga.f32()[i] = aWins ? gd[i] : 0;
    gb.f32()[i] = aWins ? 0 : gd[i];
  }
  return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
}

function matmulGrad(node: NodeOf<'matmul'>, g: Tensor, leafGrad: LeafGrad): (Tensor | null)[] {
  const [a, b] = node.inputs;
  const { transA, transB } = node.attrs;
  let ga: Tensor | null = null;
  let gb: Tensor | null = null;
  if (a.requiresGrad) {
    // d op(A) = dC · op(B)ᵀ ; stored A = op(A)ᵀ when transA.
    const dOpA = matmul(g, b, { transB: !transB }); // [..., m, k]
    ga = transA ? permute(dOpA, [...Array(dOpA.rank - 2).keys(), dOpA.rank - 1, dOpA.rank - 2]) : dOpA;
  }
  if (b.requiresGrad) {
    const shared = b.rank === 2 && a.rank > 2;
    if (shared && !transA) {
      // Fold the batch: A [(B·m), k], dC [(B·m), n]. A leaf weight's GEMM adds into its .grad.
      const k = a.shape[a.rank - 1];
      const n = g.shape[g.rank - 1];
      const a2 = reshape(a, [-1, k]);
      const g2 = reshape(g, [-1, n]);
      const acc = leafGrad(b);
      if (acc) {
        if (transB) matmulAccumulate(acc, g2, a2, { transA: true });
        else matmulAccumulate(acc, a2, g2, { transA: true });
      } else {
        gb = transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
      }
    } else {
      // op(B) grad = op(A)ᵀ · dC ; stored B grad = (dC)ᵀ · op(A) when transB.
      const full = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
      gb = shared ? sumTo(full, b.shape) : full;
    }
  }
  return [ga, gb];
}

export const GRAD_RULES: { readonly [P in Prim]: GradRule<P> } = {
  matmul: matmulGrad,
  add: (n, g) => [sumTo(g, n.inputs[0].shape), sumTo(g, n.inputs[1].shape)],
  sub: (n, g) => [sumTo(g, n.inputs[0].shape), sumTo(neg(g), n.inputs[1].shape)],
  mul: (n, g) => {
    const [a, b] = n.inputs;
    return [a.requiresGrad ? sumTo(mul(g, b), a.shape) : null, b.requiresGrad ? sumTo(mul(g, a), b.shape) : null];
  },
  div: (n, g) => {
    const [a, b] = n.inputs;
    const ga = a.requiresGrad ? sumTo(div(g, b), a.shape) : null;
    // d(a/b)/db = -(a/b)/b = -out/b
    const gb = b.requiresGrad ? sumTo(neg(div(mul(g, n.out), b)), b.shape) : null;
    return [ga, gb];
  },
  minmax: minmaxGrad,
  unary: (n, g) => {
    const [x] = n.inputs;
    const gx = emptyLike(g.engine, x);
    g.engine.k.unaryBackward(n.attrs.op, x.f32(), n.out.f32(), g.f32(), gx.f32());
    return [gx];
  },
  affine: (n, g) => [scale(g, n.attrs.mul)],
  sum: (n, g) => {
    const [x] = n.inputs;
    const kept = x.shape.map((d, i) => (n.attrs.axes.includes(i) ? 1 : d));
    return [broadcastTo(reshape(g, kept), x.shape)];
  },
  max: (n, g) => {
    const [x] = n.inputs;
    const ax = n.attrs.axis;
    const gx = emptyLike(g.engine, x);
    const outer = numel(x.shape.slice(0, ax));
    const inner = numel(x.shape.slice(ax + 1));
    g.engine.k.reduceMaxBackward(x.f32(), n.out.f32(), g.f32(), gx.f32(), outer, x.shape[ax], inner);
    return [gx];
  },
  reshape: (n, g) => [reshape(g, n.inputs[0].shape)],
  permute: (n, g) => {
    const inv = new Array<number>(n.attrs.perm.length);
    n.attrs.perm.forEach((p, i) => (inv[p] = i));
    return [permute(g, inv)];
  },
  slice: (n, g) => {
    const [x] = n.inputs;
    const { axis, start, end } = n.attrs;
    const gx = emptyLike(g.engine, x, true);
    const outer = numel(x.shape.slice(0, axis));
    const inner = numel(x.shape.slice(axis + 1));
    g.engine.k.copyAxis(g.f32(), gx.f32(), outer, inner, end - start, 0, x.shape[axis], start, end - start, false);
    return [gx];
  },
  concat: (n, g) => {
    let at = 0;
    return n.inputs.map((t) => {
      const len = t.shape[n.attrs.axis];
      const part = t.requiresGrad ? slice(g, n.attrs.axis, at, at + len) : null;
      at += len;
      return part;
    });
  },
  broadcastTo: (n, g) => [sumTo(g, n.inputs[0].shape)],
  cast: (n, g) => [g.dtype === n.inputs[0].dtype ? g : cast(g, n.inputs[0].dtype)],
  // The kernels below add into their table/weight gradients: a leaf's .grad directly when it is one.
  embedding: (n, g, leafGrad) => {
    const [table, ids] = n.inputs;
    const leaf = leafGrad(table);
    const gt = leaf ?? emptyLike(g.engine, table, true);
    g.engine.k.scatterAdd(g.f32(), ids.i32(), gt.f32(), table.shape[1]);
    return [leaf ? null : gt, null];
  },
  rmsnorm: (n, g, leafGrad) => {
    const [x, w] = n.inputs;
    const d = w.shape[0];
    const gx = emptyLike(g.engine, x);
    const leaf = leafGrad(w);
    const gw = leaf ?? emptyLike(g.engine, w, true);
    g.engine.k.rmsnormBackward(x.f32(), w.f32(), n.saved.rstd.f32(), g.f32(), gx.f32(), gw.f32(), x.size / d, d);
    return [gx, leaf ? null : gw];
  },
  layernorm: (n, g, leafGrad) => {
    const [x, w, b] = n.inputs;
    const d = x.shape[x.rank - 1];
    const gx = emptyLike(g.engine, x);
    const wLeaf = w ? leafGrad(w) : null;
    const bLeaf = b ? leafGrad(b) : null;
    const gw = w ? (wLeaf ?? emptyLike(g.engine, w, true)) : null;
    const gb = b ? (bLeaf ?? emptyLike(g.engine, b, true)) : null;
    const { mean, rstd } = n.saved;
    g.engine.k.layernormBackward(x.f32(), w ? w.f32() : null, mean.f32(), rstd.f32(), g.f32(), gx.f32(), gw?.f32() ?? null, gb?.f32() ?? null, x.size / d, d, n.attrs.affineRows);
    return n.attrs.affine ? [gx, wLeaf ? null : gw, bLeaf ? null : gb] : [gx];
  },
  groupnorm: (n, g) => {
    const [x, w, b] = n.inputs;
    const [bn, c] = x.shape;
    const gx = emptyLike(g.engine, x);
    const gw = emptyLike(g.engine, w, true);
    const gb = emptyLike(g.engine, b, true);
    const { mean, rstd } = n.saved;
    g.engine.k.groupnormBackward(x.f32(), w.f32(), mean.f32(), rstd.f32(), g.f32(), gx.f32(), gw.f32(), gb.f32(), bn, c, numel(x.shape.slice(2)), n.attrs.groups);
    return [gx, gw, gb];
  },
  softmax: (n, g) => {
    const [x] = n.inputs;
    const d = x.shape[x.rank - 1];
    const gx = emptyLike(g.engine, x);
    g.engine.k.softmaxBackward(n.out.f32(), g.f32(), gx.f32(), x.size / Math.max(1, d), d);
    return [gx];
  },
  attention: (n, g) => {
    const [q, k, v] = n.inputs;
    const [b, tq, hq, d] = q.shape;
    const hkv = k.shape[2];
    const a = n.attrs;
    const p = { batch: b, tq, tk: a.kvLen, hq, hkv, dim: d, scale: a.scale, causal: a.causal, qOffset: a.qOffset, kvBatchStride: k.shape[1] * hkv * d, keyStart: inEngine(g.engine, a.keyStart), segIds: inEngine(g.engine, a.segIds) };
    const gq = emptyLike(g.engine, q);
    const gk = emptyLike(g.engine, k);
    const gv = emptyLike(g.engine, v);
    g.engine.k.attentionBackward(q.f32(), k.f32(), v.f32(), n.out.f32(), n.saved.lse.f32(), g.f32(), gq.f32(), gk.f32(), gv.f32(), p);
    return [gq, gk, gv];
  },
  rope: (n, g) => {
    const [x] = n.inputs;
    const [b, t, h, d] = x.shape;
    const gx = emptyLike(g.engine, x);
    g.engine.k.rope(g.f32(), gx.f32(), inEngine(g.engine, n.attrs.positions), b, t, h, d, n.attrs.theta, true);
    return [gx];
  },
  swiglu: (n, g) => {
    const [gate, up] = n.inputs;
    const gg = emptyLike(g.engine, gate);
    const gu = emptyLike(g.engine, up);
    g.engine.k.swigluBackward(gate.f32(), up.f32(), g.f32(), gg.f32(), gu.f32());
    return [gg, gu];
  },
  conv2d: (n, g) => {
    const [x, w, b] = n.inputs;
    const p = convParams(x.shape, w.shape, n.attrs.geometry);
    const gx = x.requiresGrad ? emptyLike(g.engine, x) : null;
    const gw = w.requiresGrad ? emptyLike(g.engine, w) : null;
    const gb = b && b.requiresGrad ? emptyLike(g.engine, b) : null;
    g.engine.k.conv2dBackward(x.f32(), w.f32(), g.f32(), gx?.f32() ?? null, gw?.f32() ?? null, gb?.f32() ?? null, p);
    return b ? [gx, gw, gb] : [gx, gw];
  },
  upsample: (n, g) => {
    const [x] = n.inputs;
    const [bn, c, h, w] = x.shape;
    const gx = emptyLike(g.engine, x);
    g.engine.k.upsampleNearestBackward(g.f32(), gx.f32(), bn * c, h, w, n.attrs.factor);
    return [gx];
  },
  dropout: (n, g) => {
    const gx = emptyLike(g.engine, n.inputs[0]);
    g.engine.k.dropout(g.f32(), gx.f32(), n.attrs.p, n.attrs.seed);
    return [gx];
  },
  // The forward formed the gradient for an upstream 1 (crossEntropyWithGrad); the loss is linear in it.
  crossEntropy: (n, g) => {
    const gv = g.item();
    return [gv === 1 ? n.saved.grad : scale(n.saved.grad, gv), null];
  },
};

/** Adds g into acc in place (same shapes). */
export function accumulateInto(acc: Tensor, g: Tensor): void {
  if (acc.size !== g.size) throw new ChameleonError(`autograd: gradient ${g} does not match ${acc}`);
  const s = broadcastStrides(acc.shape, acc.shape);
  acc.engine.k.binary('add', acc.f32(), g.f32(), acc.f32(), acc.shape, s, s);
}
