// Image pre- and post-processing for the VQGAN tokenizer (spec §4.6-4.7), on sharp (libvips): decode
// PNG/JPEG/WebP/GIF (first frame) to 8-bit RGB, composite transparency on white exactly as Meta does,
// resize the short side with Lanczos (Meta's round()), center crop, scale to [−1, 1] CHW floats; and
// uint8 HWC pixels -> PNG bytes. Sizes are checked from the header before any pixel is decoded.

import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo, type SharpOptions } from 'sharp';
import type { Tensor } from '../../engine/index.js';
import { ChameleonError, FormatError } from '../../util/errors.js';
import { toUint8HWC } from './vqgan.js';

/** A file path, or the encoded bytes of an image. */
export type ImageInput = string | Uint8Array;

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif';

/** Largest accepted image: pixel count and side (checked on the header before decoding). */
const MAX_IMAGE_PIXELS = 100_000_000;
const MAX_IMAGE_SIDE = 16_384;

export interface DecodeOptions {
  /** Name used in error messages (default: the path, or "image" for bytes). */
  name?: string;
  maxPixels?: number;
  maxSide?: number;
}

/** 8-bit RGB pixels, channels last (row-major HWC). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** Container format detected from the file's signature. */
  format: ImageFormat;
  /** Whether transparency was composited onto white. */
  composited: boolean;
}

export interface PreprocessedImage {
  /** [3, R, R] channels-first values v/255·2−1 (Meta's formula). */
  pixels: Float32Array;
  resolution: number;
  /** Original size (before resizing). */
  width: number;
  height: number;
  format: ImageFormat;
}

const FORMAT_NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', gif: 'GIF' };
const SUPPORTED = 'supported: PNG, JPEG, WebP, GIF';

/** Recognises the container from its first bytes; null when it is none of the supported four. */
function sniffFormat(b: Uint8Array): ImageFormat | null {
  const at = (i: number, s: string): boolean => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));
  if (b.length >= 8 && b[0] === 0x89 && at(1, 'PNG\r\n\x1a\n')) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && (at(0, 'GIF87a') || at(0, 'GIF89a'))) return 'gif';
  if (b.length >= 12 && at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  return null;
}

/** A guess at what an unsupported file is, for the error message. */
function describeUnknown(b: Uint8Array): string {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 512)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'an SVG image (vector images are not supported)';
  const at = (s: string): boolean => [...s].every((c, k) => b[k] === c.charCodeAt(0));
  if (at('II*\0') || at('MM\0*')) return 'a TIFF image';
  if (at('BM')) return 'a BMP image';
  if (b.length >= 12 && at('\0\0\0') && [...'ftyp'].every((c, k) => b[4 + k] === c.charCodeAt(0))) return 'an AVIF/HEIF image';
  if (at('%PDF')) return 'a PDF document';
  let printable = 0;
  const n = Math.min(b.length, 512);
  for (let i = 0; i < n; i++) if (b[i] === 9 || b[i] === 10 || b[i] === 13 || (b[i] >= 32 && b[i] < 127) || b[i] >= 0xc0) printable++;
  if (n > 0 && printable / n > 0.95) return 'text, not an image';
  return 'not an image (unrecognised header)';
}

async function readInput(input: ImageInput, name?: string): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof input === 'string') {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(input);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new FormatError(`${name ?? input}: cannot read the file (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message)})`);
    }
    return { bytes, name: name ?? input };
  }
  if (!(input instanceof Uint8Array)) throw new ChameleonError('image input must be a file path or a Uint8Array/Buffer');
  return { bytes: input, name: name ?? 'image' };
}

function cleanSharpMessage(err: unknown): string {
  const msg = String((err as Error)?.message ?? err).split('\n')[0];
  return msg
    .replace(/^Input (buffer|file|image) /, '')
    .replace(/^(has|contains) corrupt header:\s*/, '')
    .replace(/^Vips\w+:\s*/i, '')
    .trim();
}

/** " (detail)" or "" when libvips said nothing useful. */
function detail(err: unknown): string {
  const m = cleanSharpMessage(err);
  return m ? ` (${m})` : '';
}

/**
 * Meta's `_whiten_transparency`: RGBA -> RGB with rgb' = (1−a)·255 + a·rgb, a = alpha/255, computed in
 * float64 and truncated to uint8. Apply only when some alpha < 255 (see `hasTransparency`).
 */
export function compositeOnWhite(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  if (rgba.length !== n * 4) throw new ChameleonError(`compositeOnWhite: expected ${n * 4} RGBA bytes for ${width}×${height}, got ${rgba.length}`);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.trunc((1 - a) * 255 + a * rgba[i * 4 + c]);
  }
  return out;
}

/** True when some pixel of an RGBA buffer has alpha < 255. */
function hasTransparency(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] < 255) return true;
  return false;
}

/**
 * Decodes an image to 8-bit RGB (HWC). Grayscale, 16-bit and palette images are converted; alpha
 * is composited on white only when some pixel is transparent; GIF/WebP animations give their first
 * frame. EXIF orientation and ICC profiles are ignored, as PIL does in Meta's code.
 */
export async function decodeImage(input: ImageInput, opts: DecodeOptions = {}): Promise<RgbImage> {
  const { bytes, name } = await readInput(input, opts.name);
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  const maxSide = opts.maxSide ?? MAX_IMAGE_SIDE;
  if (bytes.length === 0) throw new FormatError(`${name}: empty file (0 bytes)`);
  const format = sniffFormat(bytes);
  if (!format) throw new FormatError(`${name}: ${describeUnknown(bytes)}; ${SUPPORTED}`);
  const what = FORMAT_NAMES[format];
  const sharpOpts: SharpOptions = { limitInputPixels: maxPixels, failOn: 'error', ignoreIcc: true, autoOrient: false, pages: 1, page: 0 };
  let meta: Metadata;
  try {
    // Header only: the pixel limit is checked below with a clearer message than libvips'.
    meta = await sharp(bytes, { ...sharpOpts, limitInputPixels: false }).metadata();
  } catch (err) {
    throw new FormatError(`${name}: corrupt or truncated ${what} file${detail(err)}`);
  }
  const w = meta.width ?? 0;
  const h = meta.pageHeight && meta.pageHeight < (meta.height ?? 0) ? meta.pageHeight : (meta.height ?? 0);
  if (!(w > 0 && h > 0)) throw new FormatError(`${name}: ${what} image has zero size (${w}×${h})`);
  if (w > maxSide || h > maxSide || w * h > maxPixels) {
    throw new FormatError(
      `${name}: ${what} image is ${w}×${h} (${((w * h) / 1e6).toFixed(1)} megapixels); the limit is ${maxPixels / 1e6} megapixels and ${maxSide} pixels per side`,
    );
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    const img = sharp(bytes, sharpOpts).toColourspace('srgb');
    raw = await (meta.hasAlpha ? img.ensureAlpha() : img.removeAlpha()).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new FormatError(`${name}: corrupt or truncated ${what} data${detail(err)}`);
  }
  const { width, height, channels } = raw.info;
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  if (width !== w || height !== h || (channels !== 3 && channels !== 4) || data.length !== width * height * channels) {
    throw new FormatError(`${name}: decoder returned ${width}×${height}×${channels} for a ${w}×${h} ${what} image`);
  }
  if (channels === 3) return { data, width, height, format, composited: false };
  if (!hasTransparency(data)) {
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) rgb.set(data.subarray(i * 4, i * 4 + 3), i * 3);
    return { data: rgb, width, height, format, composited: false };
  }
  return { data: compositeOnWhite(data, width, height), width, height, format, composited: true };
}

/** Python 3 round(): halves go to the even neighbour. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Meta's resize target: short side -> resolution, other side round(scale·side). */
export function resizeTarget(width: number, height: number, resolution: number): { width: number; height: number } {
  const scale = resolution / Math.min(width, height);
  return { width: Math.max(resolution, pyRound(scale * width)), height: Math.max(resolution, pyRound(scale * height)) };
}

/** Center-crop offsets floor((W − R)/2), floor((H − R)/2). */
export function cropOffsets(width: number, height: number, resolution: number): { left: number; top: number } {
  return { left: Math.floor((width - resolution) / 2), top: Math.floor((height - resolution) / 2) };
}

/** Resizes (Lanczos-3) so the short side is `resolution`, then center crops: RGB HWC -> R×R RGB HWC. */
async function resizeAndCrop(img: { data: Uint8Array; width: number; height: number }, resolution: number): Promise<Uint8Array> {
  if (!Number.isInteger(resolution) || resolution < 1) throw new ChameleonError(`resolution must be a positive integer, got ${resolution}`);
  const t = resizeTarget(img.width, img.height, resolution);
  let resized: Uint8Array = img.data;
  if (t.width !== img.width || t.height !== img.height) {
    const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(t.width, t.height, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer();
    resized = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const { left, top } = cropOffsets(t.width, t.height, resolution);
  const out = new Uint8Array(resolution * resolution * 3);
  for (let y = 0; y < resolution; y++) {
    const src = ((top + y) * t.width + left) * 3;
    out.set(resized.subarray(src, src + resolution * 3), y * resolution * 3);
  }
  return out;
}

/** uint8 RGB HWC -> Float32Array CHW with v/255·2−1 (computed in float64 as numpy does, then stored f32). */
function toModelPixels(rgb: Uint8Array, width: number, height: number): Float32Array {
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = (rgb[i * 3 + c] / 255) * 2 - 1;
  return out;
}

/** The full §4.6 pipeline: file or bytes -> [3, R, R] floats in [−1, 1]. */
export async function preprocessImage(input: ImageInput, resolution: number, opts: DecodeOptions = {}): Promise<PreprocessedImage> {
  const img = await decodeImage(input, opts);
  const rgb = await resizeAndCrop(img, resolution);
  return { pixels: toModelPixels(rgb, resolution, resolution), resolution, width: img.width, height: img.height, format: img.format };
}

/** Encodes uint8 pixels (HWC, 3 or 4 channels) as PNG bytes. */
export async function pngFromPixels(hwc: Uint8Array, width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  if (hwc.length !== width * height * channels) {
    throw new ChameleonError(`pngFromPixels: ${hwc.length} bytes do not make a ${width}×${height}×${channels} image`);
  }
  return sharp(hwc, { raw: { width, height, channels } }).png().toBuffer();
}

/** Decoded pixels [B, 3, H, W] (≈[−1, 1]) -> one PNG per image, via Meta's post-processing (toUint8HWC). */
export async function imageToPng(pixels: Tensor): Promise<Buffer[]> {
  const [b, , h, w] = pixels.rank === 4 ? pixels.shape : [1, ...pixels.shape];
  const bytes = toUint8HWC(pixels);
  const per = h * w * 3;
  const out: Buffer[] = [];
  for (let i = 0; i < b; i++) out.push(await pngFromPixels(bytes.subarray(i * per, (i + 1) * per), w, h));
  return out;
}
