// Nearest-neighbour emoji matcher (browser-safe). The feature of an RGB image is its "ink" after
// background normalisation: each channel is divided by the background's value (a high percentile of
// the border pixels, so a tinted or darkened background maps back to white), ink = 1 − that (0 on
// background), averaged over a FEATURE_GRID × FEATURE_GRID grid of cells. Distance: Euclidean.

import { ChameleonError } from '../../util/errors.js';
import type { RgbImage } from './pixels.js';

/** Cells per side of the feature grid (a 64×64 image: 4×4-pixel cells). */
export const FEATURE_GRID = 16;

/** The lowest background value a channel may take (a darker "background" is artwork, not paper). */
const MIN_BACKGROUND = 96;

/** Sum of squared differences of two equal-length vectors. */
function squaredDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

/** Per-channel background estimate: the 90th percentile of the one-pixel border. */
export function backgroundOf(img: RgbImage): [number, number, number] {
  const { width: w, height: h, data } = img;
  const border: number[][] = [[], [], []];
  const take = (x: number, y: number): void => {
    for (let c = 0; c < 3; c++) border[c].push(data[(y * w + x) * 3 + c]);
  };
  for (let x = 0; x < w; x++) {
    take(x, 0);
    if (h > 1) take(x, h - 1);
  }
  for (let y = 1; y < h - 1; y++) {
    take(0, y);
    if (w > 1) take(w - 1, y);
  }
  return border.map((vals) => {
    vals.sort((a, b) => a - b);
    return Math.max(MIN_BACKGROUND, vals[Math.min(vals.length - 1, Math.floor(0.9 * vals.length))]);
  }) as [number, number, number];
}

/** The FEATURE_GRID² × 3 ink feature of an image (any size at least FEATURE_GRID per side). */
export function inkFeature(img: RgbImage): Float32Array {
  const { width: w, height: h, data } = img;
  if (w < FEATURE_GRID || h < FEATURE_GRID) throw new ChameleonError(`inkFeature: the image is ${w}×${h}, smaller than the ${FEATURE_GRID}×${FEATURE_GRID} feature grid`);
  if (data.length !== w * h * 3) throw new ChameleonError(`inkFeature: expected ${w * h * 3} bytes for ${w}×${h} RGB, got ${data.length}`);
  const bg = backgroundOf(img);
  const g = FEATURE_GRID;
  const sum = new Float64Array(g * g * 3);
  const count = new Float64Array(g * g);
  for (let y = 0; y < h; y++) {
    const cy = Math.floor((y * g) / h);
    for (let x = 0; x < w; x++) {
      const cell = cy * g + Math.floor((x * g) / w);
      count[cell]++;
      for (let c = 0; c < 3; c++) sum[cell * 3 + c] += 1 - Math.min(1, data[(y * w + x) * 3 + c] / bg[c]);
    }
  }
  const f = new Float32Array(g * g * 3);
  for (let i = 0; i < f.length; i++) f[i] = sum[i] / count[Math.floor(i / 3)];
  return f;
}

export interface EmojiMatch {
  /** Id of the nearest reference. */
  id: string;
  /** Its Euclidean feature distance. */
  distance: number;
  /** The nearest reference of another id (how clear the decision was), or null with one id only. */
  runnerUp: { id: string; distance: number } | null;
}

/** Matches images against reference features (one or more per id). */
export class EmojiMatcher {
  private readonly refs: { id: string; feature: Float32Array }[];

  constructor(refs: readonly { id: string; image: RgbImage }[]) {
    if (refs.length === 0) throw new ChameleonError('EmojiMatcher needs at least one reference image');
    this.refs = refs.map((r) => ({ id: r.id, feature: inkFeature(r.image) }));
  }

  /** Number of reference images. */
  get size(): number {
    return this.refs.length;
  }

  /** The nearest reference id of an image. */
  nearest(img: RgbImage): EmojiMatch {
    const f = inkFeature(img);
    const best = new Map<string, number>();
    for (const r of this.refs) {
      const d = squaredDistance(f, r.feature);
      if (d < (best.get(r.id) ?? Infinity)) best.set(r.id, d);
    }
    const ranked = [...best.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    const [id, d] = ranked[0];
    return { id, distance: Math.sqrt(d), runnerUp: ranked.length > 1 ? { id: ranked[1][0], distance: Math.sqrt(ranked[1][1]) } : null };
  }
}
