// Training images for `chameleon train vq`: a directory (recursive, any supported format by file
// extension) or a JSONL file of {"image": path} lines (paths relative to the JSONL's folder), each
// run through the tokenizer's pre-processing (spec §4.6) at the config's resolution.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { preprocessImage } from '../tokenizers/image/preprocess.node.js';
import { ChameleonError, FormatError } from '../util/errors.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif']);

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) out.push(p);
  }
}

/** Image paths of a directory (sorted, recursive) or a JSONL of {"image": path} lines. */
export function listImages(source: string): string[] {
  let st;
  try {
    st = statSync(source);
  } catch {
    throw new ChameleonError(`--images ${source}: no such file or directory`);
  }
  if (st.isDirectory()) {
    const out: string[] = [];
    walk(source, out);
    if (out.length === 0) throw new ChameleonError(`--images ${source}: no images (${[...IMAGE_EXTENSIONS].join(', ')}) found`);
    return out;
  }
  const base = dirname(resolve(source));
  const out: string[] = [];
  readFileSync(source, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const t = line.trim();
      if (!t) return;
      let rec: unknown;
      try {
        rec = JSON.parse(t);
      } catch {
        throw new FormatError(`${source}:${i + 1}: not JSON`);
      }
      const img = (rec as { image?: unknown } | null)?.image;
      if (typeof img !== 'string' || !img) throw new FormatError(`${source}:${i + 1}: expected {"image": "<path>"}`);
      out.push(isAbsolute(img) ? img : join(base, img));
    });
  if (out.length === 0) throw new ChameleonError(`--images ${source}: the JSONL lists no images`);
  return out;
}

/**
 * Pre-processes every image ([3, R, R] floats) with bounded concurrency, in list order. A bad image
 * fails the whole load with its own message (naming the file).
 */
export async function loadImages(paths: readonly string[], resolution: number, onImage?: (done: number) => void): Promise<Float32Array[]> {
  const out: Float32Array[] = new Array(paths.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      out[i] = (await preprocessImage(paths[i], resolution)).pixels;
      onImage?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, paths.length) }, worker));
  return out;
}
