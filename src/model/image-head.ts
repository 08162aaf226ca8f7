// A check of whether a checkpoint can generate images at all. Meta released Chameleon-7B/30B
// without image generation (the mechanism is undocumented; Anole re-initialises the image rows of
// lm_head to restore it), so we compare the image rows of lm_head with the text rows: rows that are
// zero, tiny, or all identical mean "image output disabled". A heuristic, reported with its numbers.

import { readFloat } from '../engine/dtype.js';
import type { ChameleonModel } from './chameleon.js';

export interface ImageHeadReport {
  /** Mean L2 norm of sampled image rows and text rows of lm_head. */
  imageRowNorm: number;
  textRowNorm: number;
  /** Mean distance of image rows from their mean row, relative to the text rows' norm. */
  imageRowSpread: number;
  /** True when image rows look disabled (tiny or collapsed). */
  disabled: boolean;
  reason: string;
}

const SAMPLE = 512;

export function probeImageHead(model: ChameleonModel): ImageHeadReport {
  const w = model.params.get('lm_head.weight');
  const [V, C] = w.shape;
  const img = model.imageIds;
  if (img.length === 0) return { imageRowNorm: 0, textRowNorm: 0, imageRowSpread: 0, disabled: true, reason: 'the vocabulary has no image tokens' };
  const isImg = new Uint8Array(V);
  for (const id of img) isImg[id] = 1;
  const textRows: number[] = [];
  for (let i = 0; i < V && textRows.length < SAMPLE; i += Math.max(1, Math.floor(V / SAMPLE))) if (!isImg[i]) textRows.push(i);
  const imgRows = Array.from({ length: Math.min(SAMPLE, img.length) }, (_, k) => img[Math.floor((k * img.length) / Math.min(SAMPLE, img.length))]);
  const row = (r: number): Float64Array => {
    const out = new Float64Array(C);
    for (let j = 0; j < C; j++) out[j] = readFloat(w.data, w.dtype, r * C + j);
    return out;
  };
  const norm = (v: Float64Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const meanNorm = (rows: number[]): number => rows.reduce((s, r) => s + norm(row(r)), 0) / Math.max(1, rows.length);
  const textRowNorm = meanNorm(textRows);
  const imageRowNorm = meanNorm(imgRows);
  const mean = new Float64Array(C);
  const rowsData = imgRows.map(row);
  for (const r of rowsData) for (let j = 0; j < C; j++) mean[j] += r[j] / rowsData.length;
  const spread = rowsData.reduce((s, r) => s + norm(r.map((x, j) => x - mean[j])), 0) / Math.max(1, rowsData.length);
  const imageRowSpread = textRowNorm > 0 ? spread / textRowNorm : 0;
  let reason = 'image rows of lm_head look like trained rows';
  let disabled = false;
  if (textRowNorm > 0 && imageRowNorm < 0.05 * textRowNorm) {
    disabled = true;
    reason = `image rows of lm_head are ${(imageRowNorm / textRowNorm).toExponential(1)}× the size of text rows`;
  } else if (imageRowSpread < 1e-3) {
    disabled = true;
    reason = 'all image rows of lm_head are (nearly) identical';
  }
  return { imageRowNorm, textRowNorm, imageRowSpread, disabled, reason };
}
