// The shapes world's vocabulary and scenes: 6 named colours (RGB), 4 shapes, 2 sizes, a 3×3 grid of
// cells on a 64×64 white canvas; a Scene is 1-3 objects in distinct cells with distinct colour×shape
// pairs. Seeded scene sampling, canonical keys, the held-out colour×shape combinations and the
// split of a key (a hash, so equal scenes always land in the same split). No rendering or text here.

import { Rng } from '../../util/rng.js';

export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple'] as const;
export type Colour = (typeof COLOURS)[number];
export const SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export type Shape = (typeof SHAPES)[number];
export const SIZES = ['small', 'large'] as const;
export type Size = (typeof SIZES)[number];

/** Flat RGB of each colour: far apart from each other and from the white background. */
export const COLOUR_RGB: Readonly<Record<Colour, readonly [number, number, number]>> = {
  red: [220, 30, 40],
  orange: [245, 130, 20],
  yellow: [240, 210, 20],
  green: [30, 170, 50],
  blue: [40, 80, 220],
  purple: [140, 50, 180],
};
export const BACKGROUND: readonly [number, number, number] = [255, 255, 255];

/** Canvas side in pixels. */
export const CANVAS = 64;
/** Extent (bounding-box side) of a shape in pixels, per size. */
export const SIZE_PX: Readonly<Record<Size, number>> = { small: 13, large: 19 };

/** Cells 0-8 in raster order (row-major from the top left); the canonical name of each. */
export const CELL_NAMES = ['top left', 'top', 'top right', 'left', 'center', 'right', 'bottom left', 'bottom', 'bottom right'] as const;
export const CELLS = 9;

/** Centre of a cell in pixel coordinates (the canvas split in thirds). */
export function cellCentre(cell: number): { x: number; y: number } {
  const third = CANVAS / 3;
  return { x: ((cell % 3) + 0.5) * third, y: (Math.floor(cell / 3) + 0.5) * third };
}

/** The cell holding pixel coordinate (x, y). */
export function cellAt(x: number, y: number): number {
  const third = CANVAS / 3;
  const c = Math.min(2, Math.max(0, Math.floor(x / third)));
  const r = Math.min(2, Math.max(0, Math.floor(y / third)));
  return r * 3 + c;
}

export interface ShapeObject {
  shape: Shape;
  colour: Colour;
  size: Size;
  /** 0-8, row-major (CELL_NAMES). */
  cell: number;
}

/** Objects sorted by cell. */
export interface Scene {
  objects: ShapeObject[];
}

export interface Combo {
  colour: Colour;
  shape: Shape;
}

/** Colour×shape pairs that no train or validation image or text contains (one per shape, four colours). */
export const HELD_OUT: readonly Combo[] = Object.freeze([
  { colour: 'red', shape: 'star' },
  { colour: 'orange', shape: 'circle' },
  { colour: 'green', shape: 'triangle' },
  { colour: 'blue', shape: 'square' },
]);

export function isHeldOut(c: Combo): boolean {
  return HELD_OUT.some((h) => h.colour === c.colour && h.shape === c.shape);
}

export function sceneHasHeldOut(s: Scene): boolean {
  return s.objects.some(isHeldOut);
}

function objectKey(o: ShapeObject): string {
  return `${o.size} ${o.colour} ${o.shape} @${o.cell}`;
}

/** Canonical text key of a scene (objects in cell order). */
export function sceneKey(s: Scene): string {
  return [...s.objects].sort((a, b) => a.cell - b.cell).map(objectKey).join(' | ');
}

export function sortScene(objects: readonly ShapeObject[]): Scene {
  return { objects: [...objects].sort((a, b) => a.cell - b.cell) };
}

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** Fisher-Yates in place. */
export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** Every colour×shape pair that is not held out (20 of 24). */
export const SEEN_COMBOS: readonly Combo[] = Object.freeze(COLOURS.flatMap((colour) => SHAPES.map((shape) => ({ colour, shape }))).filter((c) => !isHeldOut(c)));

export interface SampleOptions {
  /** Objects in [min, max] (default 1-3). */
  minObjects?: number;
  maxObjects?: number;
  /** Force one object to be a held-out combination (default false: none is). */
  heldOut?: boolean;
}

/** A random scene: distinct cells, distinct colour×shape pairs; held-out combos only when asked (then exactly one). */
export function sampleScene(rng: Rng, opts: SampleOptions = {}): Scene {
  const lo = opts.minObjects ?? 1;
  const hi = opts.maxObjects ?? 3;
  const n = lo + rng.int(hi - lo + 1);
  const cells = shuffle(rng, Array.from({ length: CELLS }, (_, i) => i)).slice(0, n);
  const combos = shuffle(rng, [...SEEN_COMBOS]).slice(0, n);
  if (opts.heldOut) combos[0] = pick(rng, HELD_OUT);
  return sortScene(combos.map((c, i) => ({ ...c, size: pick(rng, SIZES), cell: cells[i] })));
}

/** FNV-1a 32-bit hash of a string (for seed-free, content-based splits). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** Per mille of keys that go to validation and to test (the rest train). */
const VAL_PER_MILLE = 40;
const TEST_PER_MILLE = 50;

/**
 * The split of a content key: anything with a held-out combination is test; otherwise a hash of the
 * key decides, so the same scene or prompt is in the same split in every world of this generator.
 */
export function splitOf(key: string, heldOut: boolean, testPerMille = TEST_PER_MILLE): Split {
  if (heldOut) return 'test';
  const m = hashString(key) % 1000;
  return m < testPerMille ? 'test' : m < testPerMille + VAL_PER_MILLE ? 'val' : 'train';
}

/** Safety prompts (a small space of phrasings) keep more of their distinct texts for the test split. */
export const SAFETY_TEST_PER_MILLE = 150;

/** Row 0-2 and column 0-2 of a cell. */
export function rowCol(cell: number): { row: number; col: number } {
  return { row: Math.floor(cell / 3), col: cell % 3 };
}
