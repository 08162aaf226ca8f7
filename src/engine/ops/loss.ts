// Training loss: token cross-entropy with an ignore index, averaged over the counted positions,
// plus Chameleon's z-loss (coefficient · mean logsumexp²) in the same fused primitive. Returns a
// scalar tensor; the per-row parts are available through crossEntropyParts for metrics.

import { ShapeError, fmtShape } from '../../util/errors.js';
import { record, willRecord } from '../autograd/primitives.js';
import type { Tensor } from '../tensor.js';
import { checkIndices, engineOf, expectDtype } from './check.js';

export interface CrossEntropyOptions {
  /** Targets equal to this are not counted (default -100, as in PyTorch). */
  ignoreIndex?: number;
  /** z-loss coefficient (Chameleon: 1e-5); 0 disables it. */
  zLoss?: number;
  /**
   * Group of every vocabulary id ([V], values < groupCount), e.g. 0 text / 1 image: the counted
   * positions' CE is also summed per group of their target, in the same pass (metrics only).
   */
  targetGroups?: Uint8Array;
  groupCount?: number;
}

export interface CrossEntropyParts {
  /** Scalar loss tensor (mean CE + zLoss · mean lse²), differentiable. */
  loss: Tensor;
  /** Mean CE alone, and mean lse² alone, over counted positions. */
  ce: number;
  lseSq: number;
  /** Number of counted positions. */
  count: number;
  /** With targetGroups: per group, the CE sum (not mean) and the count of its counted positions. */
  groupSums?: Float64Array;
  groupCounts?: Int32Array;
}

/** Mean cross-entropy of logits [..., V] against targets [...] (i32) plus z-loss. */
export function crossEntropyParts(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): CrossEntropyParts {
  const e = engineOf('crossEntropy', logits, targets);
  expectDtype('crossEntropy', logits, 'f32');
  expectDtype('crossEntropy', targets, 'i32');
  const v = logits.shape[logits.rank - 1];
  const rows = logits.size / Math.max(1, v);
  if (targets.size !== rows || logits.rank !== targets.rank + 1 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw new ShapeError(`crossEntropy: targets ${fmtShape(targets.shape)} do not match logits ${fmtShape(logits.shape)} without the vocab axis`);
  }
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const zLoss = opts.zLoss ?? 0;
  const t = targets.i32();
  checkIndices('crossEntropy', t, v, 'target', ignoreIndex);
  let count = 0;
  for (let i = 0; i < t.length; i++) if (t[i] !== ignoreIndex) count++;
  const losses = e.empty([rows], 'f32', { zero: false }); // [rows]
  const lse = e.empty([rows], 'f32', { zero: false }); // [rows]
  const keep = willRecord([logits]);
  const denom = Math.max(1, count);
  // Training: the gradient for an upstream gradient of 1 is formed in the same pass (the backward
  // rule scales it by the actual upstream value), so each logit's exponential is evaluated once.
  const grad = keep ? e.empty(logits.shape, 'f32', { zero: false }) : null; // [..., V]
  if (grad) e.k.crossEntropyWithGrad(logits.f32(), t, losses.f32(), lse.f32(), grad.f32(), rows, v, ignoreIndex, 1 / denom, (2 * zLoss) / denom);
  else e.k.crossEntropy(logits.f32(), t, losses.f32(), lse.f32(), rows, v, ignoreIndex);
  let ce = 0;
  let lseSq = 0;
  const l = losses.f32();
  const z = lse.f32();
  const groups = opts.targetGroups;
  if (groups && groups.length !== v) throw new ShapeError(`crossEntropy: targetGroups has ${groups.length} entries for a vocabulary of ${v}`);
  const nGroups = groups ? (opts.groupCount ?? 2) : 0;
  const groupSums = groups ? new Float64Array(nGroups) : undefined;
  const groupCounts = groups ? new Int32Array(nGroups) : undefined;
  for (let i = 0; i < rows; i++) {
    if (t[i] === ignoreIndex) continue;
    ce += l[i];
    lseSq += z[i] * z[i];
    if (groups) {
      groupSums![groups[t[i]]] += l[i];
      groupCounts![groups[t[i]]]++;
    }
  }
  ce /= denom;
  lseSq /= denom;
  const loss = e.tensor([ce + zLoss * lseSq], []);
  record('crossEntropy', [logits, targets], loss, { ignoreIndex, zLoss, count }, grad ? { lse, grad } : null);
  return groups ? { loss, ce, lseSq, count, groupSums, groupCounts } : { loss, ce, lseSq, count };
}

export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return crossEntropyParts(logits, targets, opts).loss;
}
