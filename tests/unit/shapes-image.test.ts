// The shapes world's renderer and exact image parser: determinism and pinned pixels of the renderer;
// 100% parse accuracy on hundreds of random originals; at least 99% on blurred, noised, colour-shifted
// and blotched copies (what a VQ round trip or a model does to a picture); deliberately wrong images
// (another colour, shape, size or cell, a missing shape) read as wrong; other resolutions resampled.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { renderScene } from '../../src/eval/shapes/render.js';
import { parseImage, parseKey, resampleRgb } from '../../src/eval/shapes/parse-image.js';
import { CELL_NAMES, COLOURS, SHAPES, SIZES, sampleScene, sceneKey, type Scene } from '../../src/eval/shapes/world.js';

const S = 64;

/** Separable Gaussian blur of an HWC RGB image. */
function blur(img: Uint8Array, sigma: number): Uint8Array {
  const r = Math.ceil(sigma * 2.5);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let t = -r; t <= r; t++) {
            const xx = horizontal ? Math.min(S - 1, Math.max(0, x + t)) : x;
            const yy = horizontal ? y : Math.min(S - 1, Math.max(0, y + t));
            acc += src[(yy * S + xx) * 3 + c] * k[t + r];
          }
          out[(y * S + x) * 3 + c] = acc / sum;
        }
      }
    }
    return out;
  };
  const f = pass(pass(Float32Array.from(img), true), false);
  return Uint8Array.from(f, (v) => Math.round(v));
}

/** Blur, per-channel colour shift of up to ±shift, Gaussian noise and a few small random blotches. */
function degrade(img: Uint8Array, rng: Rng, o: { sigma: number; shift: number; noise: number; blotches: number }): Uint8Array {
  const out = blur(img, o.sigma);
  const shift = [0, 1, 2].map(() => Math.round((rng.uniform() * 2 - 1) * o.shift));
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, out[i] + shift[i % 3] + Math.round(rng.normal() * o.noise)));
  for (let b = 0; b < o.blotches; b++) {
    const x0 = rng.int(S - 3);
    const y0 = rng.int(S - 3);
    const w = 1 + rng.int(3);
    const col = [rng.int(256), rng.int(256), rng.int(256)];
    for (let y = y0; y < y0 + w; y++) for (let x = x0; x < x0 + w; x++) out.set(col, (y * S + x) * 3);
  }
  return out;
}

const parse = (img: Uint8Array): string => parseKey(parseImage(img));

test('renderScene is deterministic, 64×64 RGB on white, with hard edges (pinned pixels)', () => {
  const scene: Scene = { objects: [{ shape: 'square', colour: 'blue', size: 'large', cell: 4 }] };
  const a = renderScene(scene);
  assert.equal(a.length, S * S * 3);
  assert.deepEqual(renderScene(scene), a);
  const px = (x: number, y: number): number[] => [...a.subarray((y * S + x) * 3, (y * S + x) * 3 + 3)];
  // A large square (19 px) centred at (32, 32): pixel centres 23.5..40.5 are inside (|dx| < 9.5).
  assert.deepEqual(px(32, 32), [40, 80, 220]);
  assert.deepEqual(px(23, 23), [40, 80, 220]);
  assert.deepEqual(px(40, 40), [40, 80, 220]);
  assert.deepEqual(px(22, 32), [255, 255, 255]);
  assert.deepEqual(px(41, 32), [255, 255, 255]);
  assert.deepEqual(px(0, 0), [255, 255, 255]);
  // Only the background and the one colour occur (no anti-aliasing).
  const colours = new Set<string>();
  for (let i = 0; i < a.length; i += 3) colours.add(`${a[i]},${a[i + 1]},${a[i + 2]}`);
  assert.deepEqual([...colours].sort(), ['255,255,255', '40,80,220']);
  let blue = 0;
  for (let i = 0; i < a.length; i += 3) if (a[i] === 40) blue++;
  assert.equal(blue, 18 * 18);
});

test('every shape, colour, size and cell parses exactly from its original', () => {
  for (const shape of SHAPES) {
    for (const colour of COLOURS) {
      for (const size of SIZES) {
        for (let cell = 0; cell < CELL_NAMES.length; cell++) {
          const scene: Scene = { objects: [{ shape, colour, size, cell }] };
          assert.equal(parse(renderScene(scene)), sceneKey(scene));
        }
      }
    }
  }
});

test('hundreds of random scenes: 100% on originals', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 400; i++) {
    const s = sampleScene(rng, { heldOut: i % 5 === 0 });
    assert.equal(parse(renderScene(s)), sceneKey(s), `scene ${i}`);
  }
});

test('blurred, noised, colour-shifted and blotched copies: at least 99% exact', () => {
  const rng = new Rng(12);
  const n = 400;
  let ok = 0;
  const misses: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = sampleScene(rng);
    const img = degrade(renderScene(s), rng, { sigma: 0.5 + rng.uniform() * 0.5, shift: 25, noise: 8, blotches: 3 });
    const got = parse(img);
    if (got === sceneKey(s)) ok++;
    else misses.push(`${sceneKey(s)} -> ${got}`);
  }
  assert.ok(ok / n >= 0.99, `${ok}/${n}: ${misses.slice(0, 5).join('; ')}`);
});

test('deliberately wrong images read as wrong', () => {
  const rng = new Rng(13);
  for (let i = 0; i < 100; i++) {
    const s = sampleScene(rng, { minObjects: 2 });
    const o = s.objects[0];
    const free = [...Array(9).keys()].filter((c) => !s.objects.some((x) => x.cell === c));
    const wrong: Scene[] = [
      { objects: [{ ...o, colour: COLOURS[(COLOURS.indexOf(o.colour) + 1) % 6] }, ...s.objects.slice(1)] },
      { objects: [{ ...o, shape: SHAPES[(SHAPES.indexOf(o.shape) + 1) % 4] }, ...s.objects.slice(1)] },
      { objects: [{ ...o, size: o.size === 'small' ? 'large' : 'small' }, ...s.objects.slice(1)] },
      { objects: [{ ...o, cell: free[0] }, ...s.objects.slice(1)] },
      { objects: s.objects.slice(1) },
    ];
    for (const w of wrong) assert.notEqual(parse(renderScene(w)), sceneKey(s));
  }
});

test('an empty canvas, specks and a grey blotch parse as no shapes', () => {
  const img = renderScene({ objects: [] });
  assert.deepEqual(parseImage(img).objects, []);
  for (let y = 10; y < 13; y++) for (let x = 10; x < 13; x++) img.set([220, 30, 40], (y * S + x) * 3);
  for (let y = 40; y < 50; y++) for (let x = 40; x < 50; x++) img.set([128, 128, 128], (y * S + x) * 3);
  const p = parseImage(img);
  assert.deepEqual([p.objects.length, p.specks], [0, 1]);
});

test('a 128×128 copy is resampled to 64×64 and parses the same', () => {
  const rng = new Rng(14);
  const s = sampleScene(rng, { minObjects: 3, maxObjects: 3 });
  const img = renderScene(s);
  const big = resampleRgb(img, S, S, 128);
  assert.equal(parseKey(parseImage(big, 128, 128)), sceneKey(s));
  // Resampling identical sizes is the identity.
  assert.deepEqual(resampleRgb(img, S, S, S), img);
});
