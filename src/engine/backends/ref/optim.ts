// Reference optimiser kernels: AdamW in place in PyTorch's operation order (the update reads the
// stored f32 moments) and Σx² in float64 for global grad-norm clipping. No optimiser state layout
// here (src/engine/optim.ts owns it).

import type { AdamWParams, F32, FamilyKernels } from '../../kernels.js';

/**
 * AdamW in place (PyTorch order): param ·= 1 − lr·wd; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 * param −= lr · (m / (1 − β1^step)) / (sqrt(v / (1 − β2^step)) + eps).
 */
function adamw(param: F32, grad: F32, m: F32, v: F32, p: AdamWParams): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = p;
  const decay = 1 - lr * weightDecay;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    // The update reads the stored (f32) moments, as PyTorch's fp32 AdamW does.
    param[i] = param[i] * decay - (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
  }
}

/** Σ x² accumulated in float64. */
function sumSquares(x: F32): number {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

/** The optim family of the ref kernel table. */
export const optimKernels: FamilyKernels<'optim'> = { adamw, sumSquares };
