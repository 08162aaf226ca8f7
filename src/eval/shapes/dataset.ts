// Generates the shapes-world dataset in memory from a seed: scenes (each rendered once and referenced
// by many documents), documents of every task (captions both ways, VQA, drawing instructions, picture
// stories, world facts, chat SFT pairs of each, refusals, off-world requests), their train/val/test
// split (a hash of the content; held-out combinations only in test) and the evaluator's test items
// with structured expected answers. Also the JSONL lines and the manifest. No files or PNGs here.

import { Rng } from '../../util/rng.js';
import { ChameleonError } from '../../util/errors.js';
import type { DocKind } from '../../train/data/documents.js';
import {
  CELLS,
  COLOURS,
  HELD_OUT,
  SEEN_COMBOS,
  SHAPES,
  SIZES,
  SPLITS,
  isHeldOut,
  pick,
  rowCol,
  sampleScene,
  sceneHasHeldOut,
  sceneKey,
  shuffle,
  sortScene,
  splitOf,
  SAFETY_TEST_PER_MILLE,
  type Scene,
  type ShapeObject,
  type Split,
} from './world.js';
import {
  CAPTION_REQUESTS,
  REFUSALS,
  WORLD_FACTS,
  caption,
  comboFact,
  drawInstruction,
  forbiddenRequest,
  offWorld,
  question,
  storyIntro,
  storyNarration,
  storyRequest,
  type Answer,
  type DrawSpec,
  type Relation,
  type StoryOp,
} from './phrases.js';

export const GENERATOR_VERSION = 'shapes-world/1';

export const TASKS = [
  'caption-image-first',
  'caption-text-first',
  'vqa',
  'draw',
  'story',
  'text',
  'chat-caption',
  'chat-vqa',
  'chat-draw',
  'chat-story',
  'chat-refusal',
  'chat-offworld',
] as const;
export type Task = (typeof TASKS)[number];

/** The JSONL kind (docs/data-format.md) of each task. */
export const TASK_KIND: Readonly<Record<Task, DocKind>> = {
  'caption-image-first': 'caption',
  'caption-text-first': 'caption',
  vqa: 'caption',
  draw: 'caption',
  story: 'interleaved',
  text: 'text',
  'chat-caption': 'chat',
  'chat-vqa': 'chat',
  'chat-draw': 'chat',
  'chat-story': 'chat',
  'chat-refusal': 'chat',
  'chat-offworld': 'chat',
};

/** A segment of a world document: text, or an image of the world's image table. */
export type WorldSegment = { text: string } | { image: number };
export interface WorldMessage {
  role: 'user' | 'assistant';
  content: WorldSegment[];
}
export interface WorldDoc {
  task: Task;
  split: Split;
  segments?: WorldSegment[];
  messages?: WorldMessage[];
}
export interface WorldImage {
  /** File stem: `img/<name>.png`. */
  name: string;
  scene: Scene;
  split: Split;
}

export type ItemGroup = 't2i' | 'caption' | 'vqa' | 'story' | 'refusal';
/** Test prompts carry their pictures as scenes (rendered on demand): self-contained JSON. */
export type ItemSegment = { text: string } | { scene: Scene };
export interface ItemMessage {
  role: 'user' | 'assistant';
  content: ItemSegment[];
}
export type ItemExpect =
  | { kind: 'draw'; spec: DrawSpec; scene: Scene }
  | { kind: 'caption'; scene: Scene }
  | { kind: 'answer'; answer: Answer }
  | { kind: 'image'; scene: Scene }
  | { kind: 'refusal' };
export interface EvalItem {
  id: string;
  group: ItemGroup;
  /** The prompt holds a held-out colour×shape combination. */
  heldOut: boolean;
  /** A chat that ends with the user turn to answer. */
  messages: ItemMessage[];
  expect: ItemExpect;
}

export interface WorldOptions {
  seed?: number;
  /** Scenes sampled for the per-scene documents (default 2000). */
  scenes?: number;
  /** Documents per scene (default 8). */
  docsPerScene?: number;
  /** Picture stories (each one narrated document and one chat; default scenes / 6). */
  stories?: number;
  /** Fraction of scenes that hold a held-out combination (test only; default 0.04). */
  heldOutShare?: number;
}

export interface World {
  options: Required<WorldOptions>;
  images: WorldImage[];
  docs: WorldDoc[];
  items: EvalItem[];
}

/** Relative weights of the per-scene tasks. */
const SCENE_TASKS: readonly [Task, number][] = [
  ['caption-image-first', 1],
  ['caption-text-first', 1],
  ['vqa', 1],
  ['draw', 1],
  ['text', 0.5],
  ['chat-caption', 1],
  ['chat-vqa', 2],
  ['chat-draw', 1.5],
];
/** Extra documents, as fractions of the per-scene ones. */
const TEXT_SHARE = 0.05;
const REFUSAL_SHARE = 0.05;
const OFFWORLD_SHARE = 0.01;
/** Fewest test items of the refusal and story groups (extra test-only documents are drawn for them). */
const MIN_TEST_ITEMS = 60;

function weighted<T>(rng: Rng, xs: readonly [T, number][]): T {
  const total = xs.reduce((a, [, w]) => a + w, 0);
  let u = rng.uniform() * total;
  for (const [x, w] of xs) {
    u -= w;
    if (u < 0) return x;
  }
  return xs[xs.length - 1][0];
}

/** Canonical key of what a drawing instruction asks for (a full spec's key is its scene's key). */
export function specKey(spec: DrawSpec): string {
  const k = (o: DrawSpec['objects'][number]): string => `${o.size ?? '*'} ${o.colour} ${o.shape} @${o.cell ?? '*'}`;
  if (spec.relation) return `${k(spec.objects[spec.relation.a])} ${spec.relation.rel} ${k(spec.objects[spec.relation.b])}`;
  const full = spec.objects.every((o) => o.cell !== undefined);
  const objs = full ? [...spec.objects].sort((a, b) => a.cell! - b.cell!) : spec.objects;
  const keys = objs.map(k);
  return (full ? keys : keys.sort()).join(' | ');
}

/** Whether cell a stands in `rel` to cell b (above/below: same column; left/right of: same row). */
export function relationHolds(rel: Relation, a: number, b: number): boolean {
  const p = rowCol(a);
  const q = rowCol(b);
  switch (rel) {
    case 'above':
      return p.col === q.col && p.row < q.row;
    case 'below':
      return p.col === q.col && p.row > q.row;
    case 'left of':
      return p.row === q.row && p.col < q.col;
    case 'right of':
      return p.row === q.row && p.col > q.col;
  }
}

const fullSpec = (s: Scene): DrawSpec => ({ objects: s.objects.map((o) => ({ ...o })) });

/** A drawing spec for the scene: full (every attribute), loose (no cells, sizes sometimes) or relational. */
function drawSpec(rng: Rng, s: Scene, split: Split): DrawSpec {
  const form = rng.int(4);
  let spec: DrawSpec = fullSpec(s);
  if (form === 2) {
    spec = { objects: s.objects.map((o) => ({ shape: o.shape, colour: o.colour, ...(rng.int(2) ? { size: o.size } : {}) })) };
  } else if (form === 3 && s.objects.length === 2) {
    const [a, b] = s.objects;
    const rels = (['above', 'below', 'left of', 'right of'] as const).filter((r) => relationHolds(r, a.cell, b.cell) || relationHolds(r, b.cell, a.cell));
    if (rels.length) {
      const rel = pick(rng, rels);
      const first = relationHolds(rel, a.cell, b.cell) ? 0 : 1;
      spec = {
        objects: s.objects.map((o) => ({ shape: o.shape, colour: o.colour, ...(rng.int(2) ? { size: o.size } : {}) })),
        relation: { a: first, rel, b: 1 - first },
      };
    }
  }
  // A loose or relational prompt lives in the split of its own key; if that differs from the
  // picture's, the full prompt (whose key is the picture's) is used instead.
  return splitOf(specKey(spec), spec.objects.some(isHeldOut)) === split ? spec : fullSpec(s);
}

/** One valid change of a story's picture (keeps colour×shape pairs unique and seen), or null. */
function storyOp(rng: Rng, s: Scene): { op: StoryOp; next: Scene } | null {
  const objs = s.objects;
  const free = Array.from({ length: CELLS }, (_, i) => i).filter((c) => !objs.some((o) => o.cell === c));
  const has = (colour: string, shape: string): boolean => objs.some((o) => o.colour === colour && o.shape === shape);
  const t = pick(rng, objs);
  const others = objs.filter((o) => o !== t);
  switch (pick(rng, ['add', 'move', 'recolour', 'resize', 'remove'] as const)) {
    case 'add': {
      if (objs.length >= 3) return null;
      const c = pick(rng, SEEN_COMBOS.filter((x) => !has(x.colour, x.shape)));
      const object: ShapeObject = { ...c, size: pick(rng, SIZES), cell: pick(rng, free) };
      return { op: { op: 'add', object }, next: sortScene([...objs, object]) };
    }
    case 'move': {
      const cell = pick(rng, free);
      return { op: { op: 'move', target: t, cell }, next: sortScene([...others, { ...t, cell }]) };
    }
    case 'recolour': {
      const colours = COLOURS.filter((c) => c !== t.colour && !has(c, t.shape) && !isHeldOut({ colour: c, shape: t.shape }));
      if (!colours.length) return null;
      const colour = pick(rng, colours);
      return { op: { op: 'recolour', target: t, colour }, next: sortScene([...others, { ...t, colour }]) };
    }
    case 'resize': {
      const size = t.size === 'small' ? 'large' : 'small';
      return { op: { op: 'resize', target: t, size }, next: sortScene([...others, { ...t, size }]) };
    }
    case 'remove':
      if (objs.length < 2) return null;
      return { op: { op: 'remove', target: t }, next: sortScene(others) };
  }
}

interface Story {
  split: Split;
  scenes: Scene[];
  ops: StoryOp[];
}

/** A story of 1-3 changes whose pictures all share the first picture's split. */
function sampleStory(rng: Rng): Story {
  const first = sampleScene(rng, { maxObjects: 2 });
  const split = splitOf(sceneKey(first), false);
  const story: Story = { split, scenes: [first], ops: [] };
  const steps = 1 + rng.int(3);
  for (let k = 0; k < steps; k++) {
    for (let attempt = 0; attempt < 400; attempt++) {
      const r = storyOp(rng, story.scenes[story.scenes.length - 1]);
      if (r && splitOf(sceneKey(r.next), false) === split) {
        story.ops.push(r.op);
        story.scenes.push(r.next);
        break;
      }
    }
  }
  return story;
}

function checkCount(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ChameleonError(`shapes world: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** The whole dataset, deterministic in the options (same seed, same world). */
export function generateWorld(opts: WorldOptions = {}): World {
  const scenes = checkCount('scenes', opts.scenes ?? 2000, 1);
  const options: Required<WorldOptions> = {
    seed: checkCount('seed', opts.seed ?? 0, 0),
    scenes,
    docsPerScene: checkCount('docsPerScene', opts.docsPerScene ?? 8, 1),
    stories: checkCount('stories', opts.stories ?? Math.round(scenes / 6), 0),
    heldOutShare: opts.heldOutShare ?? 0.04,
  };
  if (!(options.heldOutShare >= 0 && options.heldOutShare <= 1)) throw new ChameleonError(`shapes world: heldOutShare must be in [0, 1], got ${options.heldOutShare}`);
  const rng = new Rng(options.seed);
  const images: WorldImage[] = [];
  const byKey = new Map<string, number>();
  const docs: WorldDoc[] = [];
  const items: EvalItem[] = [];
  const image = (scene: Scene): number => {
    const key = sceneKey(scene);
    let i = byKey.get(key);
    if (i === undefined) {
      i = images.length;
      byKey.set(key, i);
      images.push({ name: `s${String(i).padStart(6, '0')}`, scene, split: splitOf(key, sceneHasHeldOut(scene)) });
    }
    return i;
  };
  const item = (group: ItemGroup, heldOut: boolean, messages: ItemMessage[], expect: ItemExpect): void => {
    items.push({ id: '', group, heldOut, messages, expect });
  };
  const user = (...content: ItemSegment[]): ItemMessage => ({ role: 'user', content });

  for (let n = 0; n < scenes; n++) {
    const held = rng.uniform() < options.heldOutShare;
    const scene = sampleScene(rng, { heldOut: held });
    const img = image(scene);
    const split = images[img].split;
    const test = split === 'test';
    for (let d = 0; d < options.docsPerScene; d++) {
      const task = weighted(rng, SCENE_TASKS);
      const doc = (x: Omit<WorldDoc, 'task' | 'split'>): void => void docs.push({ task, split, ...x });
      switch (task) {
        case 'caption-image-first':
          doc({ segments: [{ image: img }, { text: caption(rng, scene.objects) }] });
          break;
        case 'caption-text-first':
          doc({ segments: [{ text: caption(rng, scene.objects) }, { image: img }] });
          break;
        case 'vqa': {
          const qas = Array.from({ length: 1 + rng.int(3) }, () => question(rng, scene.objects));
          doc({ segments: [{ image: img }, { text: qas.map((q) => `Question: ${q.question} Answer: ${q.answer}`).join('\n') }] });
          break;
        }
        case 'draw':
          doc({ segments: [{ text: drawInstruction(rng, drawSpec(rng, scene, split)) }, { image: img }] });
          break;
        case 'text':
          doc({ segments: [{ text: `${pick(rng, ['Imagine a picture.', 'Picture this.', 'A picture in words.'])} ${caption(rng, scene.objects)}` }] });
          break;
        case 'chat-caption': {
          const request = pick(rng, CAPTION_REQUESTS);
          doc({ messages: [{ role: 'user', content: [{ image: img }, { text: request }] }, { role: 'assistant', content: [{ text: caption(rng, scene.objects) }] }] });
          if (test) item('caption', held, [user({ scene }, { text: request })], { kind: 'caption', scene });
          break;
        }
        case 'chat-vqa': {
          const qa = question(rng, scene.objects);
          doc({ messages: [{ role: 'user', content: [{ image: img }, { text: qa.question }] }, { role: 'assistant', content: [{ text: qa.answer }] }] });
          if (test) item('vqa', held, [user({ scene }, { text: qa.question })], { kind: 'answer', answer: qa.expect });
          break;
        }
        case 'chat-draw': {
          const spec = drawSpec(rng, scene, split);
          const text = drawInstruction(rng, spec);
          doc({ messages: [{ role: 'user', content: [{ text }] }, { role: 'assistant', content: [{ image: img }] }] });
          if (test) item('t2i', held, [user({ text })], { kind: 'draw', spec, scene });
          break;
        }
        default:
          throw new Error(`unreachable task ${task}`);
      }
    }
  }

  // Stories: the requested number, then test-only ones until the test split has enough story steps.
  let storySteps = 0;
  for (let n = 0; n < options.stories || (storySteps < MIN_TEST_ITEMS && n < options.stories + 100_000); n++) {
    const st = sampleStory(rng);
    if (n >= options.stories && st.split !== 'test') continue;
    if (st.split === 'test') storySteps += st.ops.length;
    const ids = st.scenes.map(image);
    const segments: WorldSegment[] = [{ text: storyIntro(rng, st.scenes[0].objects) }, { image: ids[0] }];
    st.ops.forEach((op, k) => segments.push({ text: storyNarration(rng, op) }, { image: ids[k + 1] }));
    docs.push({ task: 'story', split: st.split, segments });
    const first = drawInstruction(rng, fullSpec(st.scenes[0]));
    const requests = st.ops.map((op) => storyRequest(rng, op));
    const messages: WorldMessage[] = [{ role: 'user', content: [{ text: first }] }, { role: 'assistant', content: [{ image: ids[0] }] }];
    requests.forEach((r, k) => messages.push({ role: 'user', content: [{ text: r }] }, { role: 'assistant', content: [{ image: ids[k + 1] }] }));
    docs.push({ task: 'chat-story', split: st.split, messages });
    if (st.split === 'test') {
      const history: ItemMessage[] = [user({ text: first }), { role: 'assistant', content: [{ scene: st.scenes[0] }] }];
      requests.forEach((r, k) => {
        item('story', false, [...history, user({ text: r })], { kind: 'image', scene: st.scenes[k + 1] });
        history.push(user({ text: r }), { role: 'assistant', content: [{ scene: st.scenes[k + 1] }] });
      });
    }
  }

  const perScene = scenes * options.docsPerScene;
  for (let n = 0; n < Math.round(perScene * TEXT_SHARE); n++) {
    const sentences = shuffle(rng, [...WORLD_FACTS]).slice(0, 2 + rng.int(4));
    sentences.splice(rng.int(sentences.length + 1), 0, comboFact(rng));
    const text = sentences.join(' ');
    docs.push({ task: 'text', split: splitOf(text, false), segments: [{ text }] });
  }
  const refusal = (request: string, split: Split): void => {
    docs.push({ task: 'chat-refusal', split, messages: [{ role: 'user', content: [{ text: request }] }, { role: 'assistant', content: [{ text: pick(rng, REFUSALS) }] }] });
    if (split === 'test') item('refusal', false, [user({ text: request })], { kind: 'refusal' });
  };
  for (let n = 0; n < Math.round(perScene * REFUSAL_SHARE); n++) {
    const request = forbiddenRequest(rng);
    refusal(request, splitOf(request, false, SAFETY_TEST_PER_MILLE));
  }
  // Enough distinct forbidden test prompts for a refusal rate worth quoting (extra documents are test only).
  const testRefusals = new Set(items.filter((i) => i.group === 'refusal').map((i) => JSON.stringify(i.messages)));
  for (let attempt = 0; testRefusals.size < MIN_TEST_ITEMS && attempt < 100_000; attempt++) {
    const request = forbiddenRequest(rng);
    if (splitOf(request, false, SAFETY_TEST_PER_MILLE) !== 'test' || testRefusals.has(JSON.stringify([user({ text: request })]))) continue;
    testRefusals.add(JSON.stringify([user({ text: request })]));
    refusal(request, 'test');
  }
  for (let n = 0; n < Math.round(perScene * OFFWORLD_SHARE); n++) {
    const o = offWorld(rng);
    docs.push({ task: 'chat-offworld', split: splitOf(o.request, false), messages: [{ role: 'user', content: [{ text: o.request }] }, { role: 'assistant', content: [{ text: o.answer }] }] });
  }

  shuffle(rng, docs);
  // The same prompt asked twice is one item; ids count per group in a seeded order.
  const seen = new Set<string>();
  const unique = shuffle(rng, items).filter((it) => {
    const k = `${it.group}:${JSON.stringify(it.messages)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const perGroup = new Map<string, number>();
  for (const it of unique) {
    const i = perGroup.get(it.group) ?? 0;
    perGroup.set(it.group, i + 1);
    it.id = `${it.group}-${i}`;
  }
  return { options, images, docs, items: unique };
}

/** A document as one JSONL object (docs/data-format.md), images as `img/<name>.png`, with its task. */
export function docJson(doc: WorldDoc, images: readonly WorldImage[]): Record<string, unknown> {
  const seg = (s: WorldSegment): { text: string } | { image: string } => ('image' in s ? { image: `img/${images[s.image].name}.png` } : s);
  const kind = TASK_KIND[doc.task];
  if (doc.messages) return { kind, task: doc.task, messages: doc.messages.map((m) => ({ role: m.role, content: m.content.map(seg) })) };
  return { kind, task: doc.task, segments: doc.segments!.map(seg) };
}

export interface WorldCounts {
  documents: Record<Split, Record<Task, number>>;
  images: Record<Split, number>;
  items: Record<ItemGroup, number>;
  heldOutItems: number;
}

export function worldCounts(w: World): WorldCounts {
  const documents = Object.fromEntries(SPLITS.map((s) => [s, Object.fromEntries(TASKS.map((t) => [t, 0]))])) as Record<Split, Record<Task, number>>;
  for (const d of w.docs) documents[d.split][d.task]++;
  const images = { train: 0, val: 0, test: 0 };
  for (const im of w.images) images[im.split]++;
  const items = { t2i: 0, caption: 0, vqa: 0, story: 0, refusal: 0 };
  for (const it of w.items) items[it.group]++;
  return { documents, images, items, heldOutItems: w.items.filter((i) => i.heldOut).length };
}

export const MANIFEST_FORMAT = 'chameleon-ts/shapes-world';

/** manifest.json: options, the world's rules, counts, held-out combinations and the test items. */
export function worldManifest(w: World): Record<string, unknown> {
  return {
    format: MANIFEST_FORMAT,
    generatorVersion: GENERATOR_VERSION,
    options: w.options,
    world: { colours: COLOURS, shapes: SHAPES, sizes: SIZES, canvas: 64, background: 'white', grid: '3x3' },
    heldOut: HELD_OUT,
    counts: worldCounts(w),
    items: w.items,
    /** The scene of every test image (name -> scene): the evaluator encodes test documents from it. */
    testImages: Object.fromEntries(w.images.filter((i) => i.split === 'test').map((i) => [i.name, i.scene])),
  };
}
