// Image pre-processing (spec §4.6) on images generated with sharp in the test: RGB, RGBA with partial
// alpha (Meta's white compositing, checked against the float64 formula), grayscale, 16-bit, palette
// GIF/PNG, WebP, JPEG, non-square resize + crop geometry, 1×1; and clear errors for bad inputs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import {
  compositeOnWhite,
  cropOffsets,
  decodeImage,
  pngFromPixels,
  preprocessImage,
  pyRound,
  resizeTarget,
} from '../../src/tokenizers/image/preprocess.node.js';
import { FormatError } from '../../src/util/errors.js';

function pattern(w: number, h: number, c: number): Buffer {
  const b = Buffer.alloc(w * h * c);
  for (let i = 0; i < b.length; i++) b[i] = (i * 37 + 11) % 256;
  return b;
}
const raw = (w: number, h: number, c: 1 | 3 | 4, data = pattern(w, h, c)) => sharp(data, { raw: { width: w, height: h, channels: c } });

async function rejects(input: string | Uint8Array, re: RegExp): Promise<void> {
  await assert.rejects(decodeImage(input, { name: 'x.img' }), (e: unknown) => {
    assert.ok(e instanceof FormatError, `FormatError expected, got ${String(e)}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('RGB PNG decodes to the exact bytes; WebP lossless and palette GIF/PNG too', async () => {
  const px = pattern(10, 6, 3);
  for (const [fmt, buf] of [
    ['png', await raw(10, 6, 3, px).png().toBuffer()],
    ['webp', await raw(10, 6, 3, px).webp({ lossless: true }).toBuffer()],
  ] as const) {
    const img = await decodeImage(buf);
    assert.equal(img.format, fmt);
    assert.deepEqual([img.width, img.height, img.composited], [10, 6, false]);
    assert.deepEqual(Buffer.from(img.data), px);
  }
  // Few colours so the palette is exact.
  const few = Buffer.alloc(8 * 4 * 3);
  for (let i = 0; i < 32; i++) few.set(i % 2 ? [255, 0, 0] : [0, 0, 255], i * 3);
  for (const buf of [await raw(8, 4, 3, few).gif().toBuffer(), await raw(8, 4, 3, few).png({ palette: true }).toBuffer()]) {
    const img = await decodeImage(buf);
    assert.equal((await sharp(buf).metadata()).isPalette, true);
    assert.deepEqual(Buffer.from(img.data), few);
  }
});

test('GIF animations give their first frame', async () => {
  const black = await raw(4, 4, 3, Buffer.alloc(48, 0)).png().toBuffer();
  const white = await raw(4, 4, 3, Buffer.alloc(48, 255)).png().toBuffer();
  const gif = await sharp([black, white], { join: { animated: true } }).gif().toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  const img = await decodeImage(gif);
  assert.deepEqual([img.width, img.height], [4, 4]);
  assert.ok(img.data.every((v) => v === 0));
});

test('RGBA with partial alpha is composited on white exactly like Meta (float64, truncation)', async () => {
  const rgba = Buffer.alloc(16 * 4);
  for (let i = 0; i < 16; i++) rgba.set([200, 100, (i * 13) % 256, i * 17], i * 4);
  const img = await decodeImage(await raw(4, 4, 4, rgba).png().toBuffer());
  assert.equal(img.composited, true);
  for (let i = 0; i < 16; i++) {
    const a = rgba[i * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) assert.equal(img.data[i * 3 + c], Math.trunc((1 - a) * 255 + a * rgba[i * 4 + c]));
  }
  // The compositing helper itself, where truncation differs from rounding: a = 200/255, rgb 5 -> 58.92 -> 58.
  assert.deepEqual(Array.from(compositeOnWhite(new Uint8Array([5, 10, 255, 200]), 1, 1)), [58, 62, 255]);
  // Fully opaque RGBA: just dropped to RGB, not composited.
  const opaque = Buffer.from(rgba);
  for (let i = 0; i < 16; i++) opaque[i * 4 + 3] = 255;
  const o = await decodeImage(await raw(4, 4, 4, opaque).png().toBuffer());
  assert.equal(o.composited, false);
  assert.deepEqual(Array.from(o.data.subarray(0, 3)), [200, 100, 0]);
});

test('grayscale and 16-bit PNGs become 8-bit RGB (16-bit: high byte, as PIL)', async () => {
  const g = await decodeImage(await raw(2, 2, 1, Buffer.from([0, 64, 128, 255])).png().toBuffer());
  assert.deepEqual(Array.from(g.data), [0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255]);
  const u16 = new Uint16Array([0, 1000, 40000, 65535, 300, 600, 900, 1200, 5000, 6000, 7000, 65280]);
  const png16 = await sharp(u16, { raw: { width: 2, height: 2, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, 'ushort');
  const d = await decodeImage(png16);
  assert.deepEqual(Array.from(d.data), Array.from(u16, (v) => v >> 8));
});

test('JPEG decodes close to its source', async () => {
  const flat = Buffer.alloc(16 * 16 * 3, 0);
  for (let i = 0; i < 256; i++) flat.set([200, 120, 40], i * 3);
  const img = await decodeImage(await raw(16, 16, 3, flat).jpeg({ quality: 95 }).toBuffer());
  assert.equal(img.format, 'jpeg');
  for (let i = 0; i < img.data.length; i++) assert.ok(Math.abs(img.data[i] - flat[i]) <= 3);
});

test('resize geometry: short side -> R with Python round(), center crop with floor offsets', async () => {
  assert.equal(pyRound(2.5), 2);
  assert.equal(pyRound(3.5), 4);
  assert.deepEqual(resizeTarget(300, 200, 64), { width: 96, height: 64 });
  assert.deepEqual(resizeTarget(5, 2, 3), { width: 8, height: 3 }); // 7.5 -> 8 (even)
  assert.deepEqual(resizeTarget(9, 2, 3), { width: 14, height: 3 }); // 13.5 -> 14
  assert.deepEqual(resizeTarget(7, 2, 3), { width: 10, height: 3 }); // 10.5 -> 10
  assert.deepEqual(cropOffsets(97, 64, 64), { left: 16, top: 0 });
  // A 3-stripe image 96×32 (left red, middle green, right blue) -> 32×32 keeps only the green middle.
  const w = 96;
  const h = 32;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < 32 ? [255, 0, 0] : x < 64 ? [0, 255, 0] : [0, 0, 255], (y * w + x) * 3);
  const out = await preprocessImage(await raw(w, h, 3, px).png().toBuffer(), 32);
  assert.equal(out.pixels.length, 3 * 32 * 32);
  assert.deepEqual([out.width, out.height], [96, 32]);
  const n = 32 * 32;
  const center = 16 * 32 + 16;
  assert.deepEqual([out.pixels[center], out.pixels[n + center], out.pixels[2 * n + center]], [-1, 1, -1]);
  // Tall image 20×50 at R=10 -> 10×25, crop rows 7..16.
  assert.deepEqual(resizeTarget(20, 50, 10), { width: 10, height: 25 });
  assert.deepEqual(cropOffsets(10, 25, 10), { left: 0, top: 7 });
});

test('scaling is v/255·2−1 in CHW order; a 1×1 image is upscaled', async () => {
  const out = await preprocessImage(await raw(1, 1, 3, Buffer.from([0, 255, 51])).png().toBuffer(), 4);
  assert.equal(out.pixels.length, 48);
  assert.ok(out.pixels.subarray(0, 16).every((v) => v === -1));
  assert.ok(out.pixels.subarray(16, 32).every((v) => v === 1));
  assert.ok(out.pixels.subarray(32).every((v) => v === Math.fround((51 / 255) * 2 - 1)));
});

test('file paths work; pngFromPixels round-trips', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pre-'));
  try {
    const px = pattern(5, 3, 3);
    const png = await pngFromPixels(px, 5, 3);
    const p = join(dir, 'a.png');
    writeFileSync(p, png);
    const img = await decodeImage(p);
    assert.deepEqual(Buffer.from(img.data), px);
    writeFileSync(join(dir, 'empty.png'), Buffer.alloc(0));
    await rejects(join(dir, 'empty.png'), /empty file \(0 bytes\)/);
    await rejects(join(dir, 'missing.png'), /cannot read the file \(no such file\)/);
    await assert.rejects(pngFromPixels(px, 4, 4), /do not make a 4×4×3 image/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function pngHeaderOnly(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

test('bad inputs: clear one-line FormatErrors', async () => {
  await rejects(Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 91 + 7) % 256)), /x\.img: not an image \(unrecognised header\); supported: PNG, JPEG, WebP, GIF/);
  await rejects(Buffer.alloc(0), /x\.img: empty file/);
  await rejects(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'), /SVG image \(vector images are not supported\)/);
  await rejects(Buffer.from('just some text\n'), /text, not an image/);
  const png = await raw(32, 32, 3).png().toBuffer();
  await rejects(png.subarray(0, png.length - 30), /corrupt or truncated PNG/);
  await rejects(png.subarray(0, 40), /corrupt or truncated PNG/);
  const jpg = await raw(64, 64, 3).jpeg().toBuffer();
  await rejects(jpg.subarray(0, Math.floor(jpg.length / 2)), /corrupt or truncated JPEG/);
  // Declared 100000×100000: rejected from the header, before any pixel is decoded (fast, no memory).
  const t = performance.now();
  await rejects(pngHeaderOnly(100_000, 100_000), /PNG image is 100000×100000 \(10000\.0 megapixels\); the limit is 100 megapixels and 16384 pixels per side/);
  await rejects(pngHeaderOnly(20_000, 10), /20000×10/);
  assert.ok(performance.now() - t < 2000);
});
