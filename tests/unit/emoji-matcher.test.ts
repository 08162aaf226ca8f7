// The nearest-neighbour emoji matcher: the ink feature pinned on hand-computed images, background
// normalisation, and recognition of every catalogue emoji as itself and under mild blur, noise and
// colour shifts (each at least 95%), plus the placements the world's augmentation uses.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { EmojiMatcher, FEATURE_GRID, backgroundOf, inkFeature } from '../../src/eval/emoji/matcher.js';
import type { RgbImage } from '../../src/eval/emoji/pixels.js';
import { loadEmojiCatalogue, onWhite, type EmojiCatalogue } from '../../src/eval/emoji/source.node.js';
import { matcherFor, renderEmoji } from '../../src/eval/emoji/world.node.js';

function solid(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
}

function setPixel(img: RgbImage, x: number, y: number, rgb: [number, number, number]): void {
  img.data.set(rgb, (y * img.width + x) * 3);
}

test('ink feature: 0 on background, the ink of one cell averaged over its pixels', () => {
  const img = solid(32, 32, [255, 255, 255]);
  // Cell (0, 0) of the 16×16 grid is the 2×2 block at the top left; one black pixel in it.
  setPixel(img, 1, 1, [0, 0, 0]);
  // A pixel of value 51 in red only, in cell (row 3, col 5): ink 1 − 51/255 = 0.8 in red.
  setPixel(img, 10, 6, [51, 255, 255]);
  const f = inkFeature(img);
  assert.equal(f.length, FEATURE_GRID * FEATURE_GRID * 3);
  assert.deepEqual([...f.subarray(0, 3)], [0.25, 0.25, 0.25]);
  const cell = (3 * FEATURE_GRID + 5) * 3;
  assert.ok(Math.abs(f[cell] - 0.2) < 1e-6, `0.8 / 4 pixels = 0.2, got ${f[cell]}`);
  assert.equal(f[cell + 1], 0);
  const total = f.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(total - 0.95) < 1e-6, `only those two cells carry ink: 0.75 + 0.2, got ${total}`);
});

test('background: the 90th percentile of the border per channel, so a tinted background is no ink', () => {
  const tinted = solid(20, 20, [200, 220, 240]);
  setPixel(tinted, 0, 0, [0, 0, 0]); // one dark border pixel does not move the percentile
  assert.deepEqual(backgroundOf(tinted), [200, 220, 240]);
  const total = inkFeature(tinted).reduce((s, v) => s + v, 0);
  // Only the dark pixel is ink: full ink in 3 channels over the 4 pixels of its cell (20 px / 16 cells).
  assert.ok(Math.abs(total - 0.75) < 1e-6, `the tinted background itself carries no ink, got ${total}`);
  assert.deepEqual(backgroundOf(solid(20, 20, [10, 10, 10])), [96, 96, 96], 'a dark border is clamped: it is artwork, not paper');
  assert.throws(() => inkFeature(solid(8, 8, [255, 255, 255])), /smaller than the 16×16 feature grid/);
});

test('EmojiMatcher: nearest id, runner-up of another id, refusal of an empty reference set', () => {
  const white = solid(16, 16, [255, 255, 255]);
  const dot = solid(16, 16, [255, 255, 255]);
  setPixel(dot, 8, 8, [0, 0, 0]);
  const m = new EmojiMatcher([
    { id: 'blank', image: white },
    { id: 'dot', image: dot },
  ]);
  assert.equal(m.size, 2);
  const r = m.nearest(dot);
  assert.equal(r.id, 'dot');
  assert.equal(r.distance, 0);
  assert.deepEqual(r.runnerUp, { id: 'blank', distance: Math.sqrt(3) }, 'one pixel of full ink in 3 channels: sqrt(3)');
  assert.throws(() => new EmojiMatcher([]), /at least one reference image/);
});

let cat: EmojiCatalogue;
let matcher: EmojiMatcher;
before(async () => {
  cat = await loadEmojiCatalogue();
  matcher = matcherFor(cat, cat.entries);
});

function boxBlur(im: RgbImage): RgbImage {
  const { width: w, height: h, data } = im;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += data[(Math.min(h - 1, Math.max(0, y + dy)) * w + Math.min(w - 1, Math.max(0, x + dx))) * 3 + c];
        out[(y * w + x) * 3 + c] = Math.round(s / 9);
      }
    }
  }
  return { width: w, height: h, data: out };
}

const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

function noisy(im: RgbImage, sigma: number, rng: Rng): RgbImage {
  return { ...im, data: im.data.map((v) => clamp(v + sigma * rng.normal())) };
}

function colourShift(im: RgbImage, gain: [number, number, number], offset: [number, number, number]): RgbImage {
  return { ...im, data: im.data.map((v, i) => clamp(v * gain[i % 3] + offset[i % 3])) };
}

/** Share of catalogue emoji recognised after `f`. */
function accuracy(f: (im: RgbImage) => RgbImage): { acc: number; wrong: string[] } {
  const wrong: string[] = [];
  for (const e of cat.entries) {
    const got = matcher.nearest(f(onWhite(cat.artwork.get(e.id)!))).id;
    if (got !== e.id) wrong.push(`${e.id}->${got}`);
  }
  return { acc: 1 - wrong.length / cat.entries.length, wrong };
}

test('every catalogue emoji is its own nearest neighbour', () => {
  const { acc, wrong } = accuracy((im) => im);
  assert.equal(acc, 1, wrong.join(' '));
});

test('mildly blurred, noised and colour-shifted emoji are still recognised (>= 95% each)', () => {
  const rng = new Rng(7);
  const cases: [string, (im: RgbImage) => RgbImage][] = [
    ['3×3 box blur', boxBlur],
    ['gaussian noise sigma 12', (im) => noisy(im, 12, rng)],
    ['channel gains 0.88/0.95/1.0', (im) => colourShift(im, [0.88, 0.95, 1], [0, 0, 0])],
    ['channel offsets -20/+10/-10', (im) => colourShift(im, [1, 1, 1], [-20, 10, -10])],
    ['blur + noise + shift', (im) => colourShift(noisy(boxBlur(im), 8, rng), [0.92, 0.97, 1], [-8, 4, 0])],
  ];
  for (const [name, f] of cases) {
    const { acc, wrong } = accuracy(f);
    assert.ok(acc >= 0.95, `${name}: ${(acc * 100).toFixed(1)}% (${wrong.slice(0, 5).join(' ')})`);
  }
});

test('a small shift or shrink is tolerated; the world draws "draw X" targets unplaced because larger ones are not', () => {
  const at = (scale: number, dx: number, dy: number): number => cat.entries.filter((e) => matcher.nearest(renderEmoji(cat.artwork.get(e.id)!, { scale, dx, dy })).id === e.id).length / cat.entries.length;
  assert.ok(at(1, 2, 0) >= 0.95);
  assert.ok(at(0.9, 0, 0) >= 0.95);
  assert.ok(at(0.8, 3, -3) < 0.5, 'position-sensitive by design: the feature is a grid of cells');
});
