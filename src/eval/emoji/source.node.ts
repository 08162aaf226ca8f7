// Node adapter of the emoji world: finds the emoji-datasource-google package, reads its emoji.json
// and 64-pixel Noto PNGs (RGBA), composites artwork on white with the image tokenizer's own formula,
// builds the catalogue (the rules of catalogue.ts) and writes RGB PNGs. Nothing is
// downloaded: the package ships every file.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { ChameleonError, FormatError } from '../../util/errors.js';
import { compositeOnWhite, pngFromPixels } from '../../tokenizers/image/preprocess.node.js';
import { candidateRecords, toEntries, type EmojiEntry, type EmojiRecord } from './catalogue.js';
import type { RgbImage, RgbaImage } from './pixels.js';

/** The npm package the artwork and names come from. */
export const EMOJI_PACKAGE = 'emoji-datasource-google';

/** Side of the package's PNGs that the world uses (img/google/64/). */
export const EMOJI_SIDE = 64;

export interface EmojiSource {
  /** The package directory. */
  dir: string;
  version: string;
  records: EmojiRecord[];
}

/** Locates the package and reads emoji.json; a missing package is refused by name. */
export function openEmojiSource(): EmojiSource {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve(`${EMOJI_PACKAGE}/package.json`);
  } catch {
    throw new ChameleonError(`the npm package ${EMOJI_PACKAGE} is not installed (run npm install); the emoji world reads its names and images`);
  }
  const dir = dirname(pkgJson);
  const version = String((JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version ?? 'unknown');
  const dataPath = join(dir, 'emoji.json');
  let records: EmojiRecord[];
  try {
    records = JSON.parse(readFileSync(dataPath, 'utf8')) as EmojiRecord[];
  } catch (e) {
    throw new FormatError(`${dataPath}: not readable as JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(records) || records.length === 0) throw new FormatError(`${dataPath}: expected a non-empty array of emoji records`);
  return { dir, version, records };
}

/** Path of an entry's 64-pixel PNG inside the package. */
function emojiImagePath(src: EmojiSource, image: string): string {
  return join(src.dir, 'img', 'google', String(EMOJI_SIDE), image);
}

/** Reads an entry's PNG as straight-alpha RGBA, checking its size. */
async function readEmojiRgba(src: EmojiSource, image: string): Promise<RgbaImage> {
  const path = emojiImagePath(src, image);
  if (!existsSync(path)) throw new FormatError(`${path}: the package has no 64-pixel image of this emoji`);
  const { data, info } = await sharp(path).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== EMOJI_SIDE || info.height !== EMOJI_SIDE || info.channels !== 4) {
    throw new FormatError(`${path}: expected a ${EMOJI_SIDE}×${EMOJI_SIDE} RGBA PNG, got ${info.width}×${info.height}×${info.channels}`);
  }
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** RGBA artwork on a white background (Meta's `_whiten_transparency`, as the image tokenizer does). */
export function onWhite(img: RgbaImage): RgbImage {
  return { width: img.width, height: img.height, data: compositeOnWhite(img.data, img.width, img.height) };
}

/** PNG bytes of an RGB image. */
export async function rgbToPng(img: RgbImage): Promise<Uint8Array> {
  return new Uint8Array(await pngFromPixels(img.data, img.width, img.height, 3));
}

/** Decodes PNG (or any sharp-readable) bytes to 8-bit RGB, alpha composited on white. */
export async function pngToRgb(bytes: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return onWhite({ width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
}

export interface EmojiCatalogue {
  source: EmojiSource;
  /** The entries, in the package's order. */
  entries: EmojiEntry[];
  /** Each entry's artwork (RGBA, 64×64) by id. */
  artwork: Map<string, RgbaImage>;
}

/** The world's catalogue (catalogue.ts rules) and its artwork. */
export async function loadEmojiCatalogue(): Promise<EmojiCatalogue> {
  const source = openEmojiSource();
  const entries = toEntries(candidateRecords(source.records));
  const art = await Promise.all(entries.map((e) => readEmojiRgba(source, e.image)));
  return { source, entries, artwork: new Map(entries.map((e, i) => [e.id, art[i]])) };
}
