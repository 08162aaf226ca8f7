// Pixel work of the emoji world on plain arrays (browser-safe): the seeded scale/shift variants used
// for light augmentation (bilinear on RGBA, premultiplied alpha, outside = transparent) and a contact
// sheet of many images. Decoding, compositing on white (the image tokenizer's own formula) and PNG
// encoding are source.node.ts's job.

import { ChameleonError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An 8-bit RGBA image (straight alpha), row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A similarity transform about the image centre: scale, then shift by (dx, dy) pixels. */
export interface Placement {
  scale: number;
  dx: number;
  dy: number;
}

/** Bilinear resampling of RGBA under a placement (premultiplied, so edges do not darken). */
export function placeRgba(src: RgbaImage, p: Placement): RgbaImage {
  const { width: w, height: h, data } = src;
  const out = new Uint8Array(w * h * 4);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const tap = (x: number, y: number, c: number): number => {
    if (x < 0 || y < 0 || x >= w || y >= h) return 0;
    const o = (y * w + x) * 4;
    const a = data[o + 3];
    return c === 3 ? a : (data[o + c] * a) / 255;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = (x - cx - p.dx) / p.scale + cx;
      const sy = (y - cy - p.dy) / p.scale + cy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const px = [0, 0, 0, 0];
      for (let c = 0; c < 4; c++) {
        px[c] = (1 - fy) * ((1 - fx) * tap(x0, y0, c) + fx * tap(x0 + 1, y0, c)) + fy * ((1 - fx) * tap(x0, y0 + 1, c) + fx * tap(x0 + 1, y0 + 1, c));
      }
      const o = (y * w + x) * 4;
      const a = px[3];
      out[o + 3] = Math.round(a);
      for (let c = 0; c < 3; c++) out[o + c] = a > 0 ? Math.min(255, Math.round((px[c] * 255) / a)) : 0;
    }
  }
  return { width: w, height: h, data: out };
}

/** A light augmentation: scale in [0.78, 0.94] and a shift that keeps the artwork inside the frame. */
export function randomPlacement(rng: Rng, side: number): Placement {
  const scale = 0.78 + 0.16 * rng.uniform();
  const room = Math.floor(((1 - scale) * side) / 2);
  const dx = rng.int(2 * room + 1) - room;
  const dy = rng.int(2 * room + 1) - room;
  return { scale: Math.round(scale * 1000) / 1000, dx, dy };
}

/** Tiles equal-size RGB images into a sheet `cols` wide with a `gap`-pixel grey grid between them. */
export function contactSheet(images: readonly RgbImage[], cols: number, gap = 2): RgbImage {
  if (images.length === 0) throw new ChameleonError('contactSheet: no images');
  const { width: w, height: h } = images[0];
  const rows = Math.ceil(images.length / cols);
  const W = cols * (w + gap) + gap;
  const H = rows * (h + gap) + gap;
  const out = new Uint8Array(W * H * 3).fill(160);
  images.forEach((im, k) => {
    if (im.width !== w || im.height !== h) throw new ChameleonError(`contactSheet: image ${k} is ${im.width}×${im.height}, the first is ${w}×${h}`);
    const ox = gap + (k % cols) * (w + gap);
    const oy = gap + Math.floor(k / cols) * (h + gap);
    for (let y = 0; y < h; y++) out.set(im.data.subarray(y * w * 3, (y + 1) * w * 3), ((oy + y) * W + ox) * 3);
  });
  return { width: W, height: H, data: out };
}
