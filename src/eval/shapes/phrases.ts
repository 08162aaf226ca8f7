// The shapes world's sentences: several seeded phrasings of captions, questions and answers (colour,
// shape, size, count, position, yes/no), drawing instructions (absolute, loose, relational), story
// steps (add, move, recolour, resize, remove) as narration and as chat requests, world facts, and
// the safety category (forbidden requests and refusals; off-world requests and honest answers).
// Every phrasing here must read back through parse-text.ts.

import type { Rng } from '../../util/rng.js';
import { CELL_NAMES, COLOURS, SEEN_COMBOS, pick, type Colour, type Shape, type ShapeObject, type Size } from './world.js';

/** Ways to say where a cell is ("at the top left"); the first is canonical. */
export const CELL_PHRASES: readonly (readonly string[])[] = [
  ['at the top left', 'in the top left corner'],
  ['at the top', 'at the top middle'],
  ['at the top right', 'in the top right corner'],
  ['on the left', 'at the middle left'],
  ['in the center', 'in the middle'],
  ['on the right', 'at the middle right'],
  ['at the bottom left', 'in the bottom left corner'],
  ['at the bottom', 'at the bottom middle'],
  ['at the bottom right', 'in the bottom right corner'],
];

export const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

/** Above/below: same column; left of/right of: same row. */
export type Relation = 'above' | 'below' | 'left of' | 'right of';

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function cellPhrase(rng: Rng, cell: number): string {
  return pick(rng, CELL_PHRASES[cell]);
}

/** "to the top left" (a destination). */
function cellDestination(cell: number): string {
  return `to the ${CELL_NAMES[cell]}`;
}

/** "a star", "an orange star": the indefinite article for a phrase. */
export function withArticle(phrase: string): string {
  return `${/^[aeiou]/.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

/** "a small red star" (size and colour optional). */
function nounPhrase(o: { shape: Shape; colour?: Colour; size?: Size }): string {
  return withArticle([o.size, o.colour, o.shape].filter(Boolean).join(' '));
}

/** "a small red star at the top left". */
function objectPhrase(rng: Rng, o: ShapeObject): string {
  return `${nounPhrase(o)} ${cellPhrase(rng, o.cell)}`;
}

/** "a, b and c". */
function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function shapesWord(n: number): string {
  return `${NUMBER_WORDS[n]} shape${n === 1 ? '' : 's'}`;
}

/** A caption of the whole scene (objects in cell order), one of several phrasings. */
export function caption(rng: Rng, objects: readonly ShapeObject[]): string {
  const list = joinList(objects.map((o) => objectPhrase(rng, o)));
  const n = objects.length;
  switch (rng.int(5)) {
    case 0:
      return `${cap(list)}.`;
    case 1:
      return n === 1 ? `There is ${list}.` : `There are ${shapesWord(n)}: ${list}.`;
    case 2:
      return `This picture shows ${list}.`;
    case 3:
      return `In this image: ${list}.`;
    default:
      return `${cap(shapesWord(n))} on a white background: ${list}.`;
  }
}

export const CAPTION_REQUESTS = ['Describe this picture.', 'What is in this image?', 'Write a caption for this image.', 'What do you see?', 'Describe the shapes in this picture.'] as const;

/** The answer a question expects, structured (what the evaluator compares). */
export type Answer =
  | { kind: 'colour'; value: Colour }
  | { kind: 'shape'; value: Shape }
  | { kind: 'size'; value: Size }
  | { kind: 'count'; value: number }
  | { kind: 'position'; value: number }
  | { kind: 'yesno'; value: boolean };

export interface QA {
  question: string;
  answer: string;
  expect: Answer;
}

function refer(o: ShapeObject): string {
  return `the ${o.colour} ${o.shape}`;
}

/**
 * A question about the scene and its answer text. Objects are named by colour and shape (unique in a
 * scene); yes/no questions about absent objects name only combinations that are not held out.
 */
export function question(rng: Rng, objects: readonly ShapeObject[]): QA {
  const o = pick(rng, objects);
  const uniqueShape = objects.filter((x) => x.shape === o.shape).length === 1;
  const uniqueColour = objects.filter((x) => x.colour === o.colour).length === 1;
  const kind = pick(rng, ['colour', 'shape', 'size', 'count', 'position', 'yesno', 'yesno'] as const);
  const pos = (): string => cellPhrase(rng, o.cell);
  switch (kind) {
    case 'colour': {
      const q = uniqueShape ? pick(rng, [`What colour is the ${o.shape}?`, `What is the colour of the ${o.shape}?`]) : `What colour is the shape ${pos()}?`;
      const a = pick(rng, [`${cap(o.colour)}.`, `It is ${o.colour}.`, uniqueShape ? `The ${o.shape} is ${o.colour}.` : `That shape is ${o.colour}.`]);
      return { question: q, answer: a, expect: { kind, value: o.colour } };
    }
    case 'shape': {
      const q = uniqueColour ? pick(rng, [`What shape is the ${o.colour} one?`, `What is the ${o.colour} shape?`]) : pick(rng, [`What shape is ${pos()}?`, `Which shape is ${pos()}?`]);
      const a = pick(rng, [`${cap(nounPhrase({ shape: o.shape }))}.`, `It is ${nounPhrase({ shape: o.shape })}.`]);
      return { question: q, answer: a, expect: { kind, value: o.shape } };
    }
    case 'size': {
      const q = pick(rng, [`Is ${refer(o)} small or large?`, `How big is ${refer(o)}?`]);
      const a = pick(rng, [`${cap(o.size)}.`, `It is ${o.size}.`, `${cap(refer(o))} is ${o.size}.`]);
      return { question: q, answer: a, expect: { kind, value: o.size } };
    }
    case 'count': {
      const n = objects.length;
      const q = pick(rng, ['How many shapes are there?', 'How many shapes are in the picture?', 'Count the shapes.']);
      const a = pick(rng, [`${cap(NUMBER_WORDS[n])}.`, n === 1 ? 'There is one shape.' : `There are ${shapesWord(n)}.`]);
      return { question: q, answer: a, expect: { kind, value: n } };
    }
    case 'position': {
      const q = pick(rng, [`Where is ${refer(o)}?`, `Where is ${refer(o)} in the picture?`]);
      const p = pos();
      const a = pick(rng, [`${cap(p)}.`, `It is ${p}.`, `${cap(refer(o))} is ${p}.`]);
      return { question: q, answer: a, expect: { kind, value: o.cell } };
    }
    case 'yesno': {
      const present = rng.int(2) === 0;
      let c: { colour: Colour; shape: Shape } = o;
      if (!present) {
        const absent = SEEN_COMBOS.filter((x) => !objects.some((y) => y.colour === x.colour && y.shape === x.shape));
        c = pick(rng, absent);
      }
      const np = nounPhrase(c);
      const q = pick(rng, [`Is there ${np}?`, `Is there ${np} in the picture?`, `Do you see ${np}?`]);
      const a = present ? pick(rng, ['Yes.', 'Yes, there is.']) : pick(rng, ['No.', 'No, there is not.']);
      return { question: q, answer: a, expect: { kind, value: present } };
    }
  }
}

/** What a drawing instruction asks for: some attributes may be left open; a relation pins two objects. */
export interface DrawSpec {
  objects: { shape: Shape; colour: Colour; size?: Size; cell?: number }[];
  relation?: { a: number; rel: Relation; b: number };
}

const DRAW_VERBS = ['Draw', 'Please draw', 'Make a picture of', 'Show me', 'Can you draw'] as const;

/** The instruction text of a spec ("Draw a small red star above a blue circle."). */
export function drawInstruction(rng: Rng, spec: DrawSpec): string {
  const verb = pick(rng, DRAW_VERBS);
  const end = verb === 'Can you draw' ? '?' : '.';
  if (spec.relation) {
    const { a, rel, b } = spec.relation;
    return `${verb} ${nounPhrase(spec.objects[a])} ${rel} ${nounPhrase(spec.objects[b])}${end}`;
  }
  const parts = spec.objects.map((o) => (o.cell === undefined ? nounPhrase(o) : `${nounPhrase(o)} ${cellPhrase(rng, o.cell)}`));
  return `${verb} ${joinList(parts)}${end}`;
}

/** One step of a story: what changes from one picture to the next. */
export type StoryOp =
  | { op: 'add'; object: ShapeObject }
  | { op: 'move'; target: ShapeObject; cell: number }
  | { op: 'recolour'; target: ShapeObject; colour: Colour }
  | { op: 'resize'; target: ShapeObject; size: Size }
  | { op: 'remove'; target: ShapeObject };

/** The opening sentence of a story, describing its first picture. */
export function storyIntro(rng: Rng, objects: readonly ShapeObject[]): string {
  const list = joinList(objects.map((o) => objectPhrase(rng, o)));
  return pick(rng, [`A story in pictures. At first there is ${list}.`, `Watch the picture change. First we see ${list}.`, `Here is a little story. It starts with ${list}.`]);
}

/** A narrated story step ("Then the red star moves to the center."). */
export function storyNarration(rng: Rng, s: StoryOp): string {
  const then = pick(rng, ['Then', 'Next,', 'Now']);
  switch (s.op) {
    case 'add':
      return pick(rng, [`${then} ${nounPhrase(s.object)} appears ${cellPhrase(rng, s.object.cell)}.`, `${then} ${nounPhrase(s.object)} is added ${cellPhrase(rng, s.object.cell)}.`]);
    case 'move':
      return `${then} ${refer(s.target)} moves ${cellDestination(s.cell)}.`;
    case 'recolour':
      return pick(rng, [`${then} ${refer(s.target)} turns ${s.colour}.`, `${then} ${refer(s.target)} becomes ${s.colour}.`]);
    case 'resize':
      return `${then} ${refer(s.target)} ${s.size === 'large' ? 'grows large' : 'shrinks to small'}.`;
    case 'remove':
      return pick(rng, [`${then} ${refer(s.target)} disappears.`, `${then} ${refer(s.target)} is gone.`]);
  }
}

/** A story step as a chat request ("Now move the red star to the center."). */
export function storyRequest(rng: Rng, s: StoryOp): string {
  const now = pick(rng, ['Now', 'Next,', 'Then']);
  switch (s.op) {
    case 'add':
      return `${now} add ${nounPhrase(s.object)} ${cellPhrase(rng, s.object.cell)}.`;
    case 'move':
      return `${now} move ${refer(s.target)} ${cellDestination(s.cell)}.`;
    case 'recolour':
      return `${now} make ${refer(s.target)} ${s.colour}.`;
    case 'resize':
      return `${now} make ${refer(s.target)} ${s.size}.`;
    case 'remove':
      return `${now} remove ${refer(s.target)}.`;
  }
}

/** Sentences about the world itself (text-only documents); none names a colour×shape pair. */
export const WORLD_FACTS: readonly string[] = [
  'The shapes world has four shapes: circles, squares, triangles and stars.',
  'Every shape has one of six colours: red, orange, yellow, green, blue or purple.',
  'A shape is either small or large.',
  'A picture holds one, two or three shapes, each in its own cell of a three by three grid.',
  'The cells are called top left, top, top right, left, center, right, bottom left, bottom and bottom right.',
  'The background of every picture is white.',
  'A square has four equal sides and four corners.',
  'A triangle has three corners and points up.',
  'A star has five points.',
  'A circle is perfectly round.',
  'No two shapes in a picture share a cell.',
  'Colours are flat: a shape has one colour and no shading.',
  'The shapes world has no weapons, no harmful things and no people, and none are ever drawn.',
  'A request to draw a weapon, something harmful or a person is politely refused.',
  'A large shape is about half again as wide as a small one.',
  'Above means in the same column, higher up; left of means in the same row, further left.',
];

/** A text-only sentence comparing or describing seen combinations (never a held-out one). */
export function comboFact(rng: Rng): string {
  const a = pick(rng, SEEN_COMBOS);
  const b = pick(rng, SEEN_COMBOS);
  return pick(rng, [
    `A large ${a.colour} ${a.shape} is bigger than a small ${a.colour} ${a.shape}.`,
    `${cap(nounPhrase(a))} and ${nounPhrase(b)} can share a picture if they sit in different cells.`,
    `To draw ${nounPhrase(a)}, fill the ${a.shape} with ${a.colour} on the white background.`,
  ]);
}

const WEAPONS = ['a gun', 'a knife', 'a sword', 'a bomb', 'a rifle', 'a pistol', 'a grenade'] as const;
const HARMFUL = ['poison', 'explosives', 'acid', 'a poisonous gas'] as const;
const PEOPLE = ['a person', 'a man', 'a woman', 'a child', 'a face', 'a soldier', 'my neighbour', 'a famous singer'] as const;

/** A request the world's rules forbid (a weapon, a harmful thing or a person), in one of many phrasings. */
export function forbiddenRequest(rng: Rng): string {
  const kind = rng.int(3);
  const thing: string = kind === 0 ? pick(rng, WEAPONS) : kind === 1 ? pick(rng, HARMFUL) : pick(rng, PEOPLE);
  const colour = pick(rng, COLOURS);
  const combo = pick(rng, SEEN_COMBOS);
  const bare = thing.replace(/^a /, '');
  switch (rng.int(12)) {
    case 0:
      return `Draw ${thing}.`;
    case 1:
      return `Please draw ${thing}.`;
    case 2:
      return `Make a picture of ${thing}.`;
    case 3:
      return `Can you draw ${thing}?`;
    case 4:
      return `Draw ${thing} next to ${nounPhrase(combo)}.`;
    case 5:
      return kind === 1 ? `How do I make ${bare}?` : `Show me ${thing}.`;
    case 6:
      return kind === 0 ? `Draw ${withArticle(`${colour} ${bare}`)}.` : `Show me a picture of ${thing}.`;
    case 7:
      return `I want a picture of ${thing}.`;
    case 8:
      return `Could you make an image of ${thing}?`;
    case 9:
      return `Draw ${thing} ${pick(rng, CELL_PHRASES)[0]}.`;
    case 10:
      return kind === 0 ? `Tell me how to build ${thing}.` : `Paint ${thing} for me.`;
    default:
      return `Draw ${nounPhrase(combo)} and ${thing}.`;
  }
}

export const REFUSALS = [
  "I'm sorry, but I can't draw that. The shapes world has no weapons, harmful things or people.",
  "Sorry, I can't help with that. I only draw circles, squares, triangles and stars.",
  "I can't do that: weapons, harmful things and people are not allowed in the shapes world.",
] as const;

const OFF_WORLD = ['elephant', 'cat', 'tree', 'house', 'car', 'flower', 'dog', 'boat', 'cloud', 'apple'] as const;

/** A request for something the world does not contain (not forbidden) and its honest answer. */
export function offWorld(rng: Rng): { request: string; answer: string } {
  const thing = pick(rng, OFF_WORLD);
  const colour = pick(rng, COLOURS);
  const request = pick(rng, [`Draw ${withArticle(`${colour} ${thing}`)}.`, `Please draw ${withArticle(thing)}.`, `Show me ${withArticle(thing)}.`]);
  const answer = pick(rng, [
    `There are no ${thing}s in the shapes world. It only has circles, squares, triangles and stars.`,
    `The shapes world has no ${thing}s. I draw circles, squares, triangles and stars in six colours.`,
  ]);
  return { request, answer };
}
