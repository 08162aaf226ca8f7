// Vector quantizer (taming `VectorQuantizer2`, HF `ChameleonVQVAEVectorQuantizer`): nearest codebook
// entry by Σz² + Σe² − 2·z·e in f32 with torch.argmin's tie rule (first minimum), code lookup, and
// the training form: straight-through estimator plus codebook and commitment losses (β).
// Leaves out: index remapping, L2-normalised codebooks, EMA codebook updates (none used by Chameleon).

import { ops, type Engine, type Tensor } from '../../engine/index.js';
import { ChameleonError, ShapeError, fmtShape } from '../../util/errors.js';

export interface NearestCodes {
  /** Index of the nearest codebook entry per row. */
  indices: Int32Array;
  /** Second-smallest minus smallest distance per row (how close the choice was to a tie). */
  margins: Float32Array;
}

/** Rows of the distance matrix computed per chunk (bounds scratch memory: chunk·K floats). */
const DIST_CHUNK_ELEMS = 1 << 22;

/** A tensor sharing t's data but cut off from the autograd graph (torch `.detach()`). */
function detach(t: Tensor): Tensor {
  return t.engine.noGrad(() => ops.reshape(t, t.shape));
}

function checkCodebook(op: string, codebook: Tensor, dim: number, what: string): void {
  if (codebook.rank !== 2 || codebook.shape[1] !== dim || codebook.shape[0] < 1) {
    throw new ShapeError(`${op}: codebook ${fmtShape(codebook.shape)} must be [K, ${dim}] for ${what}`);
  }
}

/** Nearest codebook rows: z [N, D], codebook [K, D] -> indices [N] (first minimum wins ties). */
export function nearestCodes(z: Tensor, codebook: Tensor): NearestCodes {
  if (z.rank !== 2) throw new ShapeError(`nearestCodes: latents must be [N, D], got ${fmtShape(z.shape)}`);
  const [n, d] = z.shape;
  checkCodebook('nearestCodes', codebook, d, `latents ${fmtShape(z.shape)}`);
  const k = codebook.shape[0];
  const e = z.engine;
  const indices = new Int32Array(n);
  const margins = new Float32Array(n);
  const chunk = Math.max(1, Math.floor(DIST_CHUNK_ELEMS / k));
  e.noGrad(() =>
    e.scope(() => {
      const ee = ops.sum(ops.square(codebook), 1); // [K]
      for (let r0 = 0; r0 < n; r0 += chunk) {
        const r1 = Math.min(n, r0 + chunk);
        e.scope(() => {
          const zc = r0 === 0 && r1 === n ? z : ops.slice(z, 0, r0, r1); // [n, D]
          const zz = ops.sum(ops.square(zc), 1, true); // [n, 1]
          const ze = ops.matmul(zc, codebook, { transB: true }); // [n, K]
          const dist = ops.sub(ops.add(zz, ee), ops.scale(ze, 2)).f32(); // [n, K]
          for (let r = 0; r < r1 - r0; r++) {
            const base = r * k;
            let best = 0;
            let bestV = dist[base];
            let second = Infinity;
            let nan = Number.isNaN(bestV);
            for (let j = 1; j < k; j++) {
              const v = dist[base + j];
              if (Number.isNaN(v)) nan = true;
              else if (v < bestV) {
                second = bestV;
                bestV = v;
                best = j;
              } else if (v < second) second = v;
            }
            if (nan) {
              throw new ChameleonError(`nearestCodes: non-finite distance in row ${r0 + r} (the latents contain NaN)`);
            }
            indices[r0 + r] = best;
            margins[r0 + r] = k > 1 ? second - bestV : Infinity;
          }
        });
      }
    }),
  );
  return { indices, margins };
}

/** Codebook vectors for codes [B·h·w] (raster order per image) as a latent map [B, D, h, w]. */
export function lookupCodes(codebook: Tensor, indices: ArrayLike<number>, b: number, h: number, w: number): Tensor {
  if (codebook.rank !== 2) throw new ShapeError(`lookupCodes: codebook must be [K, D], got ${fmtShape(codebook.shape)}`);
  if (indices.length !== b * h * w) {
    throw new ShapeError(`lookupCodes: ${indices.length} codes do not fill ${b} image(s) of ${h}×${w} codes`);
  }
  const e: Engine = codebook.engine;
  const d = codebook.shape[1];
  const ids = e.ids(indices, [b, h * w]); // [B, hw]
  const vecs = ops.embedding(codebook, ids); // [B, hw, D]
  return ops.permute(ops.reshape(vecs, [b, h, w, d]), [0, 3, 1, 2]); // [B, D, h, w]
}

export interface QuantizeResult {
  /** [B·h·w] codes, raster order per image. */
  indices: Int32Array;
  /** Codebook vectors [B, D, h, w] (no gradient). */
  quantized: Tensor;
  margins: Float32Array;
}

/** z [B, D, h, w] -> nearest codebook vectors and codes (inference; no gradients). */
export function quantize(z: Tensor, codebook: Tensor): QuantizeResult {
  if (z.rank !== 4) throw new ShapeError(`quantize: latents must be [B, D, h, w], got ${fmtShape(z.shape)}`);
  const [b, d, h, w] = z.shape;
  checkCodebook('quantize', codebook, d, `latents ${fmtShape(z.shape)}`);
  return z.engine.noGrad(() => {
    const flat = ops.reshape(ops.permute(z, [0, 2, 3, 1]), [b * h * w, d]); // [BHW, D]
    const { indices, margins } = nearestCodes(flat, codebook);
    return { indices, margins, quantized: lookupCodes(codebook, indices, b, h, w) };
  });
}

export interface StraightThroughOptions {
  /** Commitment weight β (default 0.25). */
  beta?: number;
  /**
   * taming's `legacy=True` placement (Meta/HF default): loss = ‖sg(e) − z‖² + β‖e − sg(z)‖², i.e. β
   * on the codebook term. Default false: the VQ-VAE paper's ‖e − sg(z)‖² + β‖sg(e) − z‖².
   */
  legacy?: boolean;
}

export interface StraightThroughResult extends QuantizeResult {
  /** z + sg(e − z): forward value = codebook vectors, gradient passes to z unchanged. [B, D, h, w] */
  quantized: Tensor;
  /** mean ‖e − sg(z)‖² (moves the codebook). Scalar tensor. */
  codebookLoss: Tensor;
  /** mean ‖sg(e) − z‖² (moves the encoder). Scalar tensor. */
  commitmentLoss: Tensor;
  /** The weighted sum (see StraightThroughOptions.legacy). Scalar tensor. */
  loss: Tensor;
}

/** Training quantizer: straight-through estimator plus codebook and commitment losses. */
export function quantizeStraightThrough(z: Tensor, codebook: Tensor, opts: StraightThroughOptions = {}): StraightThroughResult {
  if (z.rank !== 4) throw new ShapeError(`quantizeStraightThrough: latents must be [B, D, h, w], got ${fmtShape(z.shape)}`);
  const [b, d, h, w] = z.shape;
  checkCodebook('quantizeStraightThrough', codebook, d, `latents ${fmtShape(z.shape)}`);
  const beta = opts.beta ?? 0.25;
  const e = z.engine;
  const { indices, margins } = e.noGrad(() => nearestCodes(ops.reshape(ops.permute(z, [0, 2, 3, 1]), [b * h * w, d]), codebook));
  const zq = lookupCodes(codebook, indices, b, h, w); // [B, D, h, w], gradient to the codebook rows
  const codebookLoss = ops.mean(ops.square(ops.sub(zq, detach(z))));
  const commitmentLoss = ops.mean(ops.square(ops.sub(detach(zq), z)));
  const loss = opts.legacy
    ? ops.add(commitmentLoss, ops.scale(codebookLoss, beta))
    : ops.add(codebookLoss, ops.scale(commitmentLoss, beta));
  const quantized = ops.add(z, e.noGrad(() => ops.sub(zq, z))); // [B, D, h, w]
  return { indices, margins, quantized, codebookLoss, commitmentLoss, loss };
}
