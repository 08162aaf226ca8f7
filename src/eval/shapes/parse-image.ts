// The exact image parser of the shapes world: reads an RGB picture back into a scene. Each pixel is
// explained as a blend of white and one named colour (distance to that line; blend ≥ 1/2 is
// foreground), foreground pixels form 8-connected components (tiny specks ignored, components
// spanning cells split by cell), a component's colour is its pixels' majority, and its shape and
// size are the rendered template (4 shapes × 2 sizes, small shifts) with the highest IoU. Leaves out
// overlapping shapes (the world has none). Other resolutions are resampled to 64×64 first.

import { shapeContains } from './render.js';
import { BACKGROUND, CANVAS, COLOURS, COLOUR_RGB, SHAPES, SIZES, SIZE_PX, cellAt, type Colour, type Shape, type Size } from './world.js';

export interface ParsedObject {
  /** null when no template matches well (IoU below ParseOptions.minMatch). */
  shape: Shape | null;
  colour: Colour;
  size: Size;
  cell: number;
  /** Foreground pixels of the component. */
  area: number;
  /** IoU with the best template, in [0, 1]. */
  match: number;
  /** Box centre in pixels. */
  x: number;
  y: number;
}

export interface ImageParse {
  /** In cell order (then left to right). */
  objects: ParsedObject[];
  /** Components too small to be a shape (specks, blotches). */
  specks: number;
}

export interface ParseOptions {
  /** Components below this many pixels are ignored (default 16; a small star has about 56). */
  minArea?: number;
  /** Largest distance (RGB units) of a pixel from a white→colour blend line to count as that colour (default 60). */
  maxResidual?: number;
  /** Below this template IoU a component's shape is null (default 0.4). */
  minMatch?: number;
}

const MIN_AREA = 16;
const MAX_RESIDUAL = 60;
const MIN_MATCH = 0.4;
/** A component wider or taller than this (px) holds more than one cell's shape: it is split by cell. */
const MAX_EXTENT = Math.ceil(SIZE_PX.large * 1.3);

/** Resamples HWC RGB to side×side (k×k bilinear samples averaged per output pixel). */
export function resampleRgb(src: Uint8Array, width: number, height: number, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 3);
  const k = Math.max(1, Math.ceil(Math.max(width, height) / side));
  const at = (x: number, y: number, c: number): number => src[(Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))) * 3 + c];
  for (let oy = 0; oy < side; oy++) {
    for (let ox = 0; ox < side; ox++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let sy = 0; sy < k; sy++) {
          for (let sx = 0; sx < k; sx++) {
            const fx = ((ox + (sx + 0.5) / k) * width) / side - 0.5;
            const fy = ((oy + (sy + 0.5) / k) * height) / side - 0.5;
            const x0 = Math.floor(fx);
            const y0 = Math.floor(fy);
            const tx = fx - x0;
            const ty = fy - y0;
            acc += (at(x0, y0, c) * (1 - tx) + at(x0 + 1, y0, c) * tx) * (1 - ty) + (at(x0, y0 + 1, c) * (1 - tx) + at(x0 + 1, y0 + 1, c) * tx) * ty;
          }
        }
        out[(oy * side + ox) * 3 + c] = Math.round(acc / (k * k));
      }
    }
  }
  return out;
}

/** Per pixel: the colour index whose white blend line is nearest (-1: none near enough) and its blend. */
function classifyPixels(img: Uint8Array, maxResidual: number): { label: Int8Array; alpha: Float32Array } {
  const n = img.length / 3;
  const label = new Int8Array(n).fill(-1);
  const alpha = new Float32Array(n);
  const dirs = COLOURS.map((c) => COLOUR_RGB[c].map((v, k) => v - BACKGROUND[k]));
  const norms = dirs.map((d) => d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  for (let i = 0; i < n; i++) {
    const q0 = img[i * 3] - BACKGROUND[0];
    const q1 = img[i * 3 + 1] - BACKGROUND[1];
    const q2 = img[i * 3 + 2] - BACKGROUND[2];
    let best = -1;
    let bestRes = Infinity;
    let bestA = 0;
    for (let c = 0; c < dirs.length; c++) {
      const d = dirs[c];
      const a = Math.min(1, Math.max(0, (q0 * d[0] + q1 * d[1] + q2 * d[2]) / norms[c]));
      const r = (q0 - a * d[0]) ** 2 + (q1 - a * d[1]) ** 2 + (q2 - a * d[2]) ** 2;
      if (r < bestRes) {
        bestRes = r;
        best = c;
        bestA = a;
      }
    }
    if (bestRes <= maxResidual * maxResidual) {
      label[i] = best;
      alpha[i] = bestA;
    }
  }
  return { label, alpha };
}

/** 8-connected components of `fg` (restricted to pixels where allow(i)); each a list of pixel indices. */
function components(fg: Uint8Array, side: number, pixels?: readonly number[]): number[][] {
  const seen = new Uint8Array(fg.length);
  const inSet = pixels ? new Uint8Array(fg.length) : null;
  if (inSet) for (const p of pixels!) inSet[p] = 1;
  const ok = (i: number): boolean => fg[i] === 1 && seen[i] === 0 && (!inSet || inSet[i] === 1);
  const out: number[][] = [];
  const order = pixels ?? Array.from({ length: fg.length }, (_, i) => i);
  for (const start of order) {
    if (!ok(start)) continue;
    const comp: number[] = [];
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      comp.push(p);
      const x = p % side;
      const y = (p - x) / side;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if ((dx === 0 && dy === 0) || nx < 0 || ny < 0 || nx >= side || ny >= side) continue;
          const q = ny * side + nx;
          if (ok(q)) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    out.push(comp);
  }
  return out;
}

function bounds(comp: readonly number[], side: number): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = side;
  let y0 = side;
  let x1 = -1;
  let y1 = -1;
  for (const p of comp) {
    const x = p % side;
    const y = (p - x) / side;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  return { x0, y0, x1, y1 };
}

interface Template {
  shape: Shape;
  size: Size;
  /** Sub-pixel offset of the template centre: 0 or 0.5 in x and y. */
  fx: number;
  fy: number;
  /** Bitmap of side 2·TEMPLATE_PAD + 1; (u, v) = pixel − floor(centre) + TEMPLATE_PAD. */
  bits: Uint8Array;
  count: number;
}

const TEMPLATE_PAD = Math.ceil(SIZE_PX.large / 2) + 2;
let templateCache: Template[] | null = null;

/** Every (shape, size) rendered at the two sub-pixel phases a box centre can have (integer or half). */
function templates(): Template[] {
  if (templateCache) return templateCache;
  const side = 2 * TEMPLATE_PAD + 1;
  const out: Template[] = [];
  for (const shape of SHAPES) {
    for (const size of SIZES) {
      for (const fy of [0, 0.5]) {
        for (const fx of [0, 0.5]) {
          const bits = new Uint8Array(side * side);
          let count = 0;
          for (let v = 0; v < side; v++) {
            for (let u = 0; u < side; u++) {
              if (shapeContains(shape, SIZE_PX[size], u - TEMPLATE_PAD + 0.5 - fx, v - TEMPLATE_PAD + 0.5 - fy)) {
                bits[v * side + u] = 1;
                count++;
              }
            }
          }
          out.push({ shape, size, fx, fy, bits, count });
        }
      }
    }
  }
  templateCache = out;
  return out;
}

/** Best template (shape, size) for a component's mask by IoU, its centre at the box centre ± 1 px in half steps. */
function matchTemplate(comp: readonly number[], side: number, cx: number, cy: number): { shape: Shape; size: Size; iou: number } {
  const tside = 2 * TEMPLATE_PAD + 1;
  let best = { shape: SHAPES[0] as Shape, size: SIZES[0] as Size, iou: -1 };
  const shifts = [-1, -0.5, 0, 0.5, 1];
  for (const t of templates()) {
    for (const sy of shifts) {
      const ty = cy + sy;
      if (ty - Math.floor(ty) !== t.fy) continue;
      for (const sx of shifts) {
        const tx = cx + sx;
        if (tx - Math.floor(tx) !== t.fx) continue;
        const ox = Math.floor(tx) - TEMPLATE_PAD;
        const oy = Math.floor(ty) - TEMPLATE_PAD;
        let inter = 0;
        for (const p of comp) {
          const u = (p % side) - ox;
          const v = Math.floor(p / side) - oy;
          if (u >= 0 && v >= 0 && u < tside && v < tside) inter += t.bits[v * tside + u];
        }
        const iou = inter / (comp.length + t.count - inter);
        if (iou > best.iou) best = { shape: t.shape, size: t.size, iou };
      }
    }
  }
  return best;
}

/**
 * Reads a picture (HWC RGB bytes, any square-ish size; resampled to 64×64) into objects: colour,
 * shape, size and cell of every shape-sized flat-colour component.
 */
export function parseImage(rgb: Uint8Array, width = CANVAS, height = CANVAS, opts: ParseOptions = {}): ImageParse {
  const side = CANVAS;
  const img = width === side && height === side ? rgb : resampleRgb(rgb, width, height, side);
  const { label, alpha } = classifyPixels(img, opts.maxResidual ?? MAX_RESIDUAL);
  const fg = new Uint8Array(side * side);
  for (let i = 0; i < fg.length; i++) fg[i] = label[i] >= 0 && alpha[i] >= 0.5 ? 1 : 0;
  const minArea = opts.minArea ?? MIN_AREA;
  const pieces: number[][] = [];
  for (const comp of components(fg, side)) {
    const b = bounds(comp, side);
    if (b.x1 - b.x0 + 1 <= MAX_EXTENT && b.y1 - b.y0 + 1 <= MAX_EXTENT) {
      pieces.push(comp);
      continue;
    }
    // Touching shapes of neighbouring cells (a blurred picture): split the component along the grid.
    const byCell = new Map<number, number[]>();
    for (const p of comp) {
      const c = cellAt((p % side) + 0.5, Math.floor(p / side) + 0.5);
      if (!byCell.has(c)) byCell.set(c, []);
      byCell.get(c)!.push(p);
    }
    for (const part of byCell.values()) pieces.push(...components(fg, side, part));
  }
  const objects: ParsedObject[] = [];
  let specks = 0;
  for (const comp of pieces) {
    if (comp.length < minArea) {
      specks++;
      continue;
    }
    const votes = new Array<number>(COLOURS.length).fill(0);
    for (const p of comp) votes[label[p]]++;
    const colour = COLOURS[votes.indexOf(Math.max(...votes))];
    const b = bounds(comp, side);
    const cx = (b.x0 + b.x1 + 1) / 2;
    const cy = (b.y0 + b.y1 + 1) / 2;
    const t = matchTemplate(comp, side, cx, cy);
    objects.push({ shape: t.iou >= (opts.minMatch ?? MIN_MATCH) ? t.shape : null, colour, size: t.size, cell: cellAt(cx, cy), area: comp.length, match: t.iou, x: cx, y: cy });
  }
  objects.sort((a, b) => a.cell - b.cell || a.x - b.x);
  return { objects, specks };
}

/** Canonical key of a parse, comparable with sceneKey of a Scene (unknown shapes read "?"). */
export function parseKey(p: ImageParse): string {
  return p.objects.map((o) => `${o.size} ${o.colour} ${o.shape ?? '?'} @${o.cell}`).join(' | ');
}
