// The emoji world as data (browser-safe): a seeded plan over the catalogue (which emoji, the held-out
// split, each image file with its placement), the documents it writes in the JSONL format of
// docs/data-format.md (captions both orders, "draw X" -> image, "what is this?" + image -> name, and
// chat SFT pairs of each, several phrasings), and the test items the evaluator runs. Rendering and
// writing files is world.node.ts; the same plan rebuilt from the same options is identical.

import { ChameleonError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import type { RawDocument } from '../../train/data/documents.js';
import { shuffled, splitCatalogue, withArticle, type EmojiEntry } from './catalogue.js';
import { randomPlacement, type Placement } from './pixels.js';

export interface EmojiWorldOptions {
  /** Seed of every choice: the sample, the split, placements, phrasings, line order (default 0). */
  seed?: number;
  /** Use this many emoji of the catalogue (a seeded sample; default all). */
  count?: number;
  /** Fraction of the emoji held out of training images (default 0.1). */
  heldoutFraction?: number;
  /** Augmented (scaled, shifted) images per emoji beside the original, for "what is this?" (default 1). */
  variants?: number;
}

/** One image file of the world: an emoji's artwork under a placement (identity = the original). */
export interface PlannedImage {
  /** Path relative to the world directory, e.g. "img/pizza.png". */
  file: string;
  id: string;
  placement: Placement;
}

export interface EmojiWorldPlan {
  seed: number;
  heldoutFraction: number;
  variants: number;
  /** The chosen emoji in catalogue order, and the split of them. */
  entries: EmojiEntry[];
  train: EmojiEntry[];
  heldout: EmojiEntry[];
  images: PlannedImage[];
  trainDocuments: RawDocument[];
  valDocuments: RawDocument[];
  testDocuments: RawDocument[];
  tests: EmojiTestItem[];
}

/** A test prompt: "what is this?" on an emoji's original image, or "draw X". */
export interface EmojiTestItem {
  kind: 'name' | 'draw';
  id: string;
  /** The emoji is held out of training images. */
  heldout: boolean;
  /** The user's text (for 'name', it follows the image). */
  prompt: string;
  /** 'name': the image shown (world-relative path of the original). */
  image?: string;
  /** The expected answer: the name for 'name', the emoji id for 'draw'. */
  expected: string;
}

/** Phrasings of each document kind; {a} is the name with its article, {A} the same capitalised. */
export const PHRASINGS = {
  captionAfter: ['{A}.', 'This is {a}.', 'An emoji of {a}.', 'A picture of {a}.'],
  captionBefore: ['{A}:', 'A picture of {a}:', 'Here is {a}:', 'An emoji of {a}:'],
  draw: ['Draw {a}.', 'draw {a}', 'Please draw {a}.', 'Show me {a}.', 'Can you draw {a}?', 'Make a picture of {a}.'],
  what: ['What is this?', 'what is this?', 'What is in this picture?', 'Name this emoji.', 'What do you see?', 'Which emoji is this?'],
  answer: ['{A}.', 'It is {a}.', 'This is {a}.'],
} as const;

/** The phrasings of the test prompts (both also occur in training documents). */
export const TEST_PROMPTS = { what: PHRASINGS.what[0], draw: PHRASINGS.draw[0] } as const;

/** Fills {a} / {A} of a phrasing with an entry's name. */
export function phrase(template: string, e: EmojiEntry): string {
  const a = withArticle(e.name);
  return template.replace('{a}', a).replace('{A}', a.charAt(0).toUpperCase() + a.slice(1));
}

const IDENTITY: Placement = { scale: 1, dx: 0, dy: 0 };

/** A file name safe on every file system for an emoji id ("t-rex", "+1" and the like). */
function fileStem(id: string): string {
  return id.replace(/[^a-z0-9_-]/gi, (c) => `~${c.charCodeAt(0).toString(16)}`);
}

function pick<T>(xs: readonly T[], rng: Rng): T {
  return xs[rng.int(xs.length)];
}

/** Two different phrasings of a list. */
function pickTwo<T>(xs: readonly T[], rng: Rng): [T, T] {
  const i = rng.int(xs.length);
  const j = (i + 1 + rng.int(xs.length - 1)) % xs.length;
  return [xs[i], xs[j]];
}

/** Every document of one emoji, given its original and augmented images (world-relative paths). */
function emojiDocuments(e: EmojiEntry, original: string, variants: readonly string[], rng: Rng): RawDocument[] {
  const img = (file: string): { image: string } => ({ image: file });
  const docs: RawDocument[] = [];
  docs.push({ kind: 'caption', segments: [img(original), { text: phrase(pick(PHRASINGS.captionAfter, rng), e) }] });
  docs.push({ kind: 'caption', segments: [{ text: phrase(pick(PHRASINGS.captionBefore, rng), e) }, img(original)] });
  docs.push({ kind: 'caption', segments: [{ text: phrase(pick(PHRASINGS.draw, rng), e) }, img(original)] });
  docs.push({ kind: 'caption', segments: [img(variants[0] ?? original), { text: `${pick(PHRASINGS.what, rng)} ${phrase(pick(PHRASINGS.answer, rng), e)}` }] });
  for (const draw of pickTwo(PHRASINGS.draw, rng)) {
    docs.push({ kind: 'chat', messages: [{ role: 'user', content: [{ text: phrase(draw, e) }] }, { role: 'assistant', content: [img(original)] }] });
  }
  for (const file of [original, ...variants]) {
    docs.push({
      kind: 'chat',
      messages: [
        { role: 'user', content: [img(file), { text: pick(PHRASINGS.what, rng) }] },
        { role: 'assistant', content: [{ text: phrase(pick(PHRASINGS.answer, rng), e) }] },
      ],
    });
  }
  return docs;
}

/** The seeded plan of the world over `catalogue` (entries in catalogue order). */
export function planEmojiWorld(catalogue: readonly EmojiEntry[], opts: EmojiWorldOptions = {}): EmojiWorldPlan {
  const seed = opts.seed ?? 0;
  const heldoutFraction = opts.heldoutFraction ?? 0.1;
  const variants = opts.variants ?? 1;
  if (!Number.isInteger(seed) || seed < 0) throw new ChameleonError(`the emoji world seed must be a non-negative integer, got ${seed}`);
  if (!Number.isInteger(variants) || variants < 0 || variants > 8) throw new ChameleonError(`variants must be an integer in [0, 8], got ${variants}`);
  const count = opts.count ?? catalogue.length;
  if (!Number.isInteger(count) || count < 2 || count > catalogue.length) {
    throw new ChameleonError(`the emoji count must be an integer in [2, ${catalogue.length}] (the catalogue's size), got ${count}`);
  }
  const rng = new Rng(seed);
  const chosen = new Set(shuffled(catalogue.map((e) => e.id), rng).slice(0, count));
  const entries = catalogue.filter((e) => chosen.has(e.id));
  const { train, heldout } = splitCatalogue(entries, seed, heldoutFraction);
  const side = 64;
  const images: PlannedImage[] = [];
  const addImage = (id: string, suffix: string, placement: Placement): string => {
    const file = `img/${fileStem(id)}${suffix}.png`;
    images.push({ file, id, placement });
    return file;
  };
  const docsOf = (e: EmojiEntry, prefix: string): RawDocument[] => {
    const original = addImage(e.id, '', IDENTITY);
    const vs = Array.from({ length: variants }, (_, k) => addImage(e.id, `${prefix}-v${k + 1}`, randomPlacement(rng, side)));
    return emojiDocuments(e, original, vs, rng);
  };
  const trainDocs = train.flatMap((e) => docsOf(e, ''));
  const testDocs = heldout.flatMap((e) => docsOf(e, ''));
  // Validation: "what is this?" on a placement no training document shows, and one draw request.
  const valDocs = train.flatMap((e): RawDocument[] => [
    {
      kind: 'chat',
      messages: [
        { role: 'user', content: [{ image: addImage(e.id, '-val', randomPlacement(rng, side)) }, { text: pick(PHRASINGS.what, rng) }] },
        { role: 'assistant', content: [{ text: phrase(pick(PHRASINGS.answer, rng), e) }] },
      ],
    },
    { kind: 'chat', messages: [{ role: 'user', content: [{ text: phrase(pick(PHRASINGS.draw, rng), e) }] }, { role: 'assistant', content: [{ image: `img/${fileStem(e.id)}.png` }] }] },
  ]);
  const tests: EmojiTestItem[] = [];
  for (const [list, held] of [
    [train, false],
    [heldout, true],
  ] as const) {
    for (const e of list) tests.push({ kind: 'name', id: e.id, heldout: held, prompt: TEST_PROMPTS.what, image: `img/${fileStem(e.id)}.png`, expected: e.name });
  }
  for (const [list, held] of [
    [train, false],
    [heldout, true],
  ] as const) {
    for (const e of list) tests.push({ kind: 'draw', id: e.id, heldout: held, prompt: phrase(TEST_PROMPTS.draw, e), expected: e.id });
  }
  return {
    seed,
    heldoutFraction,
    variants,
    entries,
    train,
    heldout,
    images,
    trainDocuments: shuffled(trainDocs, rng),
    valDocuments: shuffled(valDocs, rng),
    testDocuments: shuffled(testDocs, rng),
    tests,
  };
}
