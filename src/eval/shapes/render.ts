// Renders a shapes-world Scene to 64×64 RGB pixels (row-major HWC, uint8): flat colours on white, hard
// edges (a pixel takes a shape's colour when its centre is inside the shape), each shape centred on
// its cell. The geometry (shapeContains) is shared with the image parser's templates. No PNG here.

import { BACKGROUND, CANVAS, COLOUR_RGB, SIZE_PX, cellCentre, type Scene, type Shape } from './world.js';

type Pt = readonly [number, number];

/** Star: 5 outer points (radius R, one straight up) and 5 inner ones at this fraction of R. */
const STAR_INNER = 0.45;

function starPolygon(r: number): Pt[] {
  const pts: Pt[] = [];
  // The star spans y in [-R, R·cos 36°]: shift it down so its box is centred like the other shapes.
  const dy = (r - r * Math.cos(Math.PI / 5)) / 2;
  for (let k = 0; k < 10; k++) {
    const a = -Math.PI / 2 + (k * Math.PI) / 5;
    const rad = k % 2 === 0 ? r : r * STAR_INNER;
    pts.push([rad * Math.cos(a), rad * Math.sin(a) + dy]);
  }
  return pts;
}

function trianglePolygon(r: number): Pt[] {
  return [
    [0, -r],
    [r, r],
    [-r, r],
  ];
}

/** Even-odd point-in-polygon test. */
function inPolygon(pts: readonly Pt[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const polygons = new Map<string, Pt[]>();
function polygon(shape: 'star' | 'triangle', extent: number): Pt[] {
  const k = `${shape}:${extent}`;
  let p = polygons.get(k);
  if (!p) {
    p = shape === 'star' ? starPolygon(extent / 2) : trianglePolygon(extent / 2);
    polygons.set(k, p);
  }
  return p;
}

/** Whether the point (dx, dy), relative to the shape's centre, is inside a shape of this extent (px). */
export function shapeContains(shape: Shape, extent: number, dx: number, dy: number): boolean {
  const r = extent / 2;
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy < r * r;
    case 'square':
      return Math.abs(dx) < r && Math.abs(dy) < r;
    case 'triangle':
    case 'star':
      return inPolygon(polygon(shape, extent), dx, dy);
  }
}

/** Paints one shape (colour rgb) centred at (cx, cy) into an HWC image of side `side`. */
function paintShape(img: Uint8Array, side: number, shape: Shape, extent: number, cx: number, cy: number, rgb: readonly number[]): void {
  const r = Math.ceil(extent / 2) + 1;
  for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(side, Math.ceil(cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(side, Math.ceil(cx + r)); x++) {
      if (!shapeContains(shape, extent, x + 0.5 - cx, y + 0.5 - cy)) continue;
      const i = (y * side + x) * 3;
      img[i] = rgb[0];
      img[i + 1] = rgb[1];
      img[i + 2] = rgb[2];
    }
  }
}

/** The scene's 64×64 RGB image, [64·64·3] row-major HWC; the same scene always gives the same bytes. */
export function renderScene(scene: Scene): Uint8Array {
  const img = new Uint8Array(CANVAS * CANVAS * 3);
  for (let i = 0; i < img.length; i += 3) img.set(BACKGROUND, i);
  for (const o of scene.objects) {
    const c = cellCentre(o.cell);
    paintShape(img, CANVAS, o.shape, SIZE_PX[o.size], c.x, c.y, COLOUR_RGB[o.colour]);
  }
  return img;
}
