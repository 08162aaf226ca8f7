// `chameleon world emoji` as a library call: plans the world (world.ts), renders every planned image
// from the package's artwork (placement, then white background) into img/*.png, and writes
// train/val/test.jsonl, manifest.json (catalogue, splits, test prompts with expected answers) and a
// contact sheet into the output directory, with a progress bar. Also reloads a plan for the evaluator.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ChameleonError, FormatError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import type { EmojiEntry } from './catalogue.js';
import { EmojiMatcher } from './matcher.js';
import { contactSheet, placeRgba, type Placement, type RgbaImage, type RgbImage } from './pixels.js';
import { EMOJI_PACKAGE, EMOJI_SIDE, loadEmojiCatalogue, onWhite, rgbToPng, type EmojiCatalogue } from './source.node.js';
import { PHRASINGS, TEST_PROMPTS, planEmojiWorld, type EmojiWorldOptions, type EmojiWorldPlan } from './world.js';

/** Licence of the artwork, as the model card quotes it. */
const EMOJI_ARTWORK_LICENSE = 'Noto Emoji images (Google), Apache License 2.0, via the emoji-datasource-google npm package (MIT, data and packaging)';

const MANIFEST_FORMAT = 'chameleon-ts/emoji-world';

export interface BuildEmojiWorldOptions extends EmojiWorldOptions {
  out: string;
  /** Replace the contents of a non-empty output directory. */
  overwrite?: boolean;
  /** Progress bar stream (default stderr; null for none). */
  progress?: ProgressStream | null;
}

export interface EmojiWorldResult {
  out: string;
  seed: number;
  emoji: number;
  train: number;
  heldout: number;
  images: number;
  documents: { train: number; val: number; test: number };
  tests: { name: number; draw: number };
  seconds: number;
}

/** The manifest.json of a world directory (catalogue, splits, test prompts, how it was built). */
export interface EmojiManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  options: Required<EmojiWorldOptions>;
  package: { name: string; version: string };
  license: string;
  imageSide: number;
  phrasings: typeof PHRASINGS;
  testPrompts: typeof TEST_PROMPTS;
  catalogue: (EmojiEntry & { split: 'train' | 'heldout'; file: string })[];
  splits: { train: string[]; heldout: string[] };
  tests: EmojiWorldPlan['tests'];
  files: { train: string; val: string; test: string; images: number };
}

/** An emoji's artwork under a placement, on white (the identity placement is the package's image itself). */
export function renderEmoji(art: RgbaImage, p: Placement): RgbImage {
  const identity = p.scale === 1 && p.dx === 0 && p.dy === 0;
  return onWhite(identity ? art : placeRgba(art, p));
}

/** A matcher whose references are the original images of the given entries. */
export function matcherFor(catalogue: EmojiCatalogue, entries: readonly EmojiEntry[]): EmojiMatcher {
  return new EmojiMatcher(entries.map((e) => ({ id: e.id, image: onWhite(catalogue.artwork.get(e.id)!) })));
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Builds the world into opts.out. */
export async function buildEmojiWorld(opts: BuildEmojiWorldOptions): Promise<EmojiWorldResult> {
  const t0 = performance.now();
  const out = resolve(opts.out);
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!opts.overwrite) throw new ChameleonError(`${out} already exists and is not empty (pass --overwrite to replace it)`);
    for (const f of ['img', 'train.jsonl', 'val.jsonl', 'test.jsonl', 'manifest.json', 'contact.png']) rmSync(join(out, f), { recursive: true, force: true });
  }
  const catalogue = await loadEmojiCatalogue();
  const plan = planEmojiWorld(catalogue.entries, opts);
  mkdirSync(join(out, 'img'), { recursive: true });
  const bar = new ProgressBar({ total: plan.images.length, label: 'emoji images', unit: 'img', stream: opts.progress });
  for (const im of plan.images) {
    writeFileSync(join(out, im.file), await rgbToPng(renderEmoji(catalogue.artwork.get(im.id)!, im.placement)));
    bar.tick();
  }
  bar.finish();
  // contact.png: every emoji of the world as the model sees it, training ones first, 20 per row.
  const sheet = [...plan.train, ...plan.heldout].map((e) => onWhite(catalogue.artwork.get(e.id)!));
  writeAtomic(join(out, 'contact.png'), await rgbToPng(contactSheet(sheet, Math.min(20, sheet.length))));
  const jsonl = (docs: readonly unknown[]): string => docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
  writeAtomic(join(out, 'train.jsonl'), jsonl(plan.trainDocuments));
  writeAtomic(join(out, 'val.jsonl'), jsonl(plan.valDocuments));
  writeAtomic(join(out, 'test.jsonl'), jsonl(plan.testDocuments));
  const held = new Set(plan.heldout.map((e) => e.id));
  const manifest: EmojiManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    options: { seed: plan.seed, count: plan.entries.length, heldoutFraction: plan.heldoutFraction, variants: plan.variants },
    package: { name: EMOJI_PACKAGE, version: catalogue.source.version },
    license: EMOJI_ARTWORK_LICENSE,
    imageSide: EMOJI_SIDE,
    phrasings: PHRASINGS,
    testPrompts: TEST_PROMPTS,
    catalogue: plan.entries.map((e) => ({ ...e, split: held.has(e.id) ? 'heldout' : 'train', file: plan.images.find((i) => i.id === e.id)!.file })),
    splits: { train: plan.train.map((e) => e.id), heldout: plan.heldout.map((e) => e.id) },
    tests: plan.tests,
    files: { train: 'train.jsonl', val: 'val.jsonl', test: 'test.jsonl', images: plan.images.length },
  };
  writeAtomic(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  return {
    out,
    seed: plan.seed,
    emoji: plan.entries.length,
    train: plan.train.length,
    heldout: plan.heldout.length,
    images: plan.images.length,
    documents: { train: plan.trainDocuments.length, val: plan.valDocuments.length, test: plan.testDocuments.length },
    tests: { name: plan.tests.filter((t) => t.kind === 'name').length, draw: plan.tests.filter((t) => t.kind === 'draw').length },
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Reads a world directory's manifest.json, refusing anything else by name. */
export function readEmojiManifest(dir: string): EmojiManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new ChameleonError(`${dir}: no manifest.json (is this a directory written by chameleon world emoji?)`);
  let m: EmojiManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as EmojiManifest;
  } catch (e) {
    throw new FormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== MANIFEST_FORMAT || m.version !== 1) throw new FormatError(`${path}: not an emoji world manifest (format ${JSON.stringify(m.format)}, version ${JSON.stringify(m.version)})`);
  return m;
}

/**
 * The catalogue and plan of a world: rebuilt from a manifest's options (checked against its
 * catalogue, so a different package version cannot silently change the test set), or from the
 * default options when no manifest is given.
 */
export async function loadEmojiPlan(manifest?: EmojiManifest): Promise<{ catalogue: EmojiCatalogue; plan: EmojiWorldPlan }> {
  const catalogue = await loadEmojiCatalogue();
  const plan = planEmojiWorld(catalogue.entries, manifest?.options ?? {});
  if (manifest) {
    const want = manifest.catalogue.map((e) => `${e.id}:${e.split}`).join(',');
    const held = new Set(plan.heldout.map((e) => e.id));
    const got = plan.entries.map((e) => `${e.id}:${held.has(e.id) ? 'heldout' : 'train'}`).join(',');
    if (want !== got) {
      throw new ChameleonError(`the emoji world's manifest was built from ${manifest.package.name} ${manifest.package.version}, whose catalogue or split differs from the installed ${catalogue.source.version}; rebuild the world`);
    }
  }
  return { catalogue, plan };
}
