// Writes a generated shapes world to a directory: img/<name>.png for every scene (sharp, a few
// encodes in flight), train/val/test.jsonl with every document of the split, train-sft/val-sft.jsonl
// with just the chat documents (an SFT stage's input), and manifest.json (written last) with the
// counts, held-out combinations and test items. Also reads a manifest's items back. Node adapter.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import { pngFromPixels } from '../../tokenizers/image/preprocess.node.js';
import { renderScene } from './render.js';
import { CANVAS, HELD_OUT, SPLITS, type Combo, type Scene } from './world.js';
import { GENERATOR_VERSION, MANIFEST_FORMAT, TASK_KIND, docJson, generateWorld, worldCounts, worldManifest, type EvalItem, type WorldCounts, type WorldOptions } from './dataset.js';

const MANIFEST_FILE = 'manifest.json';
/** Files (images + documents) from which writeWorld shows a progress bar. */
const PROGRESS_MIN = 4000;

export interface WriteWorldOptions extends WorldOptions {
  out: string;
  /** Replace a world already in `out` (default: refuse). */
  overwrite?: boolean;
  /** Progress bar stream (default stderr; null for none). */
  progress?: ProgressStream | null;
}

export interface WriteWorldResult {
  out: string;
  documents: number;
  images: number;
  items: number;
  heldOut: readonly Combo[];
  counts: WorldCounts;
  files: string[];
  generatorVersion: string;
  seconds: number;
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** Generates the world for the options and writes it under opts.out. */
export async function writeWorld(opts: WriteWorldOptions): Promise<WriteWorldResult> {
  const t0 = performance.now();
  const out = opts.out;
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new ChameleonError(`--out ${out}: exists and is not a directory`);
  if (fs.existsSync(join(out, MANIFEST_FILE))) {
    if (!opts.overwrite) throw new ChameleonError(`--out ${out}: already holds a shapes world (${MANIFEST_FILE}); pass --overwrite to replace it`);
    fs.rmSync(join(out, MANIFEST_FILE));
  }
  const world = generateWorld(opts);
  fs.mkdirSync(join(out, 'img'), { recursive: true });
  const total = world.images.length + world.docs.length;
  // Small worlds take well under a second: the bar is for large counts.
  const bar = opts.progress === null || total < PROGRESS_MIN ? null : new ProgressBar({ total, label: 'world shapes', unit: 'file', stream: opts.progress });
  // PNG encoding runs on libvips threads: keep a few in flight.
  const inFlight = new Set<Promise<void>>();
  for (const im of world.images) {
    const p = pngFromPixels(renderScene(im.scene), CANVAS, CANVAS).then((png) => {
      fs.writeFileSync(join(out, 'img', `${im.name}.png`), png);
      bar?.tick(1);
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 16) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const files: string[] = [];
  for (const split of SPLITS) {
    const lines: string[] = [];
    const sft: string[] = [];
    for (const d of world.docs) {
      if (d.split !== split) continue;
      const line = JSON.stringify(docJson(d, world.images));
      lines.push(line);
      if (TASK_KIND[d.task] === 'chat') sft.push(line);
    }
    writeAtomic(join(out, `${split}.jsonl`), lines.join('\n') + '\n');
    files.push(`${split}.jsonl`);
    if (split !== 'test') {
      writeAtomic(join(out, `${split}-sft.jsonl`), sft.join('\n') + '\n');
      files.push(`${split}-sft.jsonl`);
    }
    bar?.tick(lines.length);
  }
  writeAtomic(join(out, MANIFEST_FILE), JSON.stringify(worldManifest(world)) + '\n');
  files.push(MANIFEST_FILE);
  bar?.finish();
  return {
    out,
    documents: world.docs.length,
    images: world.images.length,
    items: world.items.length,
    heldOut: HELD_OUT,
    counts: worldCounts(world),
    files,
    generatorVersion: GENERATOR_VERSION,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A written world's test items and test images (manifest.json), checked for format and generator version. */
export function readWorld(dir: string): { items: EvalItem[]; testImages: Map<string, Scene> } {
  const path = join(dir, MANIFEST_FILE);
  if (!fs.existsSync(path)) throw new ChameleonError(`--world ${dir}: no ${MANIFEST_FILE} (write one with \`chameleon world shapes --out ${dir}\`)`);
  let m: { format?: unknown; generatorVersion?: unknown; items?: unknown; testImages?: unknown };
  try {
    m = JSON.parse(fs.readFileSync(path, 'utf8')) as typeof m;
  } catch (e) {
    throw new ChameleonError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== MANIFEST_FORMAT) throw new ChameleonError(`${path}: not a shapes-world manifest (format ${JSON.stringify(m.format)})`);
  if (m.generatorVersion !== GENERATOR_VERSION) throw new ChameleonError(`${path}: written by ${String(m.generatorVersion)}, this evaluator reads ${GENERATOR_VERSION}; regenerate the world`);
  if (!Array.isArray(m.items) || typeof m.testImages !== 'object' || m.testImages === null) throw new ChameleonError(`${path}: no items / testImages`);
  const testImages = new Map(Object.entries(m.testImages as Record<string, Scene>).map(([name, scene]) => [`img/${name}.png`, scene]));
  return { items: m.items as EvalItem[], testImages };
}
