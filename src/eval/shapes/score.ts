// Scores a model's outputs on the shapes-world test items, separated from any model: scoreOutputs
// takes each item's generated text and images and computes the generation metrics (text → image
// attribute accuracy, caption attribute accuracy and exact match, VQA, interleaved consistency,
// held-out accuracy, refusals and false refusals), each a fraction in [0, 1] with its count.
// groundTruthOutput gives the generator's own answer for an item (which must score 1).

import { Rng } from '../../util/rng.js';
import { ChameleonError } from '../../util/errors.js';
import { renderScene } from './render.js';
import { parseImage, parseKey } from './parse-image.js';
import { isRefusal, parseAnswer, parseMentions } from './parse-text.js';
import { CELL_PHRASES, NUMBER_WORDS, REFUSALS, caption, type Answer, type DrawSpec } from './phrases.js';
import { CANVAS, sceneKey, type Colour, type Shape, type Size } from './world.js';
import { relationHolds, type EvalItem } from './dataset.js';

export interface ImageOutput {
  /** HWC RGB bytes. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** What a model produced for one item: its text (all text spans joined) and its images. */
export interface ItemOutput {
  text: string;
  images: ImageOutput[];
}

/** An object read from an output (an image component or a caption mention); null = not stated. */
interface Candidate {
  shape: Shape | null;
  colour: Colour | null;
  size: Size | null;
  cell: number | null;
}

export interface Checks {
  correct: number;
  total: number;
}

/** Objects the checks consider at most (largest first): a noisy picture can have many specks. */
const MAX_CANDIDATES = 8;

/**
 * Attribute checks of candidates against a spec: one for the object count, then per asked object its
 * colour and shape, its size and cell when the spec states them, and one for a relation. Objects are
 * matched to candidates by the assignment with the most correct checks (unmatched: all wrong).
 */
export function specChecks(spec: DrawSpec, found: readonly Candidate[]): Checks {
  const cands = found.slice(0, MAX_CANDIDATES);
  const perObject = spec.objects.map((o) => 2 + (o.size !== undefined ? 1 : 0) + (o.cell !== undefined ? 1 : 0));
  const total = 1 + perObject.reduce((a, b) => a + b, 0) + (spec.relation ? 1 : 0);
  const score = (o: DrawSpec['objects'][number], c: Candidate): number =>
    (c.colour === o.colour ? 1 : 0) + (c.shape === o.shape ? 1 : 0) + (o.size !== undefined && c.size === o.size ? 1 : 0) + (o.cell !== undefined && c.cell === o.cell ? 1 : 0);
  let best = 0;
  const used = new Array<boolean>(cands.length).fill(false);
  const assign: number[] = [];
  const visit = (i: number, acc: number): void => {
    if (i === spec.objects.length) {
      let s = acc;
      if (spec.relation) {
        const a = assign[spec.relation.a];
        const b = assign[spec.relation.b];
        const ca = a >= 0 ? cands[a].cell : null;
        const cb = b >= 0 ? cands[b].cell : null;
        if (ca !== null && cb !== null && relationHolds(spec.relation.rel, ca, cb)) s++;
      }
      best = Math.max(best, s);
      return;
    }
    assign[i] = -1;
    visit(i + 1, acc);
    for (let j = 0; j < cands.length; j++) {
      if (used[j]) continue;
      used[j] = true;
      assign[i] = j;
      visit(i + 1, acc + score(spec.objects[i], cands[j]));
      used[j] = false;
    }
  };
  visit(0, 0);
  return { correct: best + (found.length === spec.objects.length ? 1 : 0), total };
}

/** The objects of the first image of an output, largest first (none when it has no image). */
function imageCandidates(out: ItemOutput): { cands: Candidate[]; key: string | null } {
  const im = out.images[0];
  if (!im) return { cands: [], key: null };
  const p = parseImage(im.rgb, im.width, im.height);
  return { cands: [...p.objects].sort((a, b) => b.area - a.area), key: parseKey(p) };
}

/** The text the generator itself writes for an answer (canonical phrasing). */
export function answerText(a: Answer): string {
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  switch (a.kind) {
    case 'colour':
    case 'size':
      return `${cap(a.value)}.`;
    case 'shape':
      return `A ${a.value}.`;
    case 'count':
      return `${cap(NUMBER_WORDS[a.value])}.`;
    case 'position':
      return `${cap(CELL_PHRASES[a.value][0])}.`;
    case 'yesno':
      return a.value ? 'Yes.' : 'No.';
  }
}

/** The generator's own output for an item: the expected picture, caption, answer or refusal. */
export function groundTruthOutput(item: EvalItem): ItemOutput {
  const e = item.expect;
  const picture = (s: Parameters<typeof renderScene>[0]): ItemOutput => ({ text: '', images: [{ rgb: renderScene(s), width: CANVAS, height: CANVAS }] });
  switch (e.kind) {
    case 'draw':
    case 'image':
      return picture(e.scene);
    case 'caption':
      return { text: caption(new Rng(0), e.scene.objects), images: [] };
    case 'answer':
      return { text: answerText(e.answer), images: [] };
    case 'refusal':
      return { text: REFUSALS[0], images: [] };
  }
}

export interface Metric {
  /** Fraction in [0, 1]; null when no item counted. */
  value: number | null;
  /** Items (or checks, for attribute accuracies) behind it. */
  correct: number;
  total: number;
  items: number;
}

export const SCORE_KEYS = [
  't2i_attribute_accuracy',
  't2i_exact_match',
  'caption_attribute_accuracy',
  'caption_exact_match',
  'vqa_accuracy',
  'interleaved_consistency',
  'heldout_accuracy',
  'refusal_accuracy',
  'false_refusal_rate',
] as const;
export type ScoreKey = (typeof SCORE_KEYS)[number];

export interface ItemScore {
  id: string;
  /** Checks passed / asked for this item (1/1 or 0/1 for all-or-nothing items). */
  correct: number;
  total: number;
  refused: boolean;
  /** What was read from the output (a parse key, a parsed answer or the caption's mentions). */
  read: string;
}

export interface ScoreReport {
  metrics: Record<ScoreKey, Metric>;
  items: ItemScore[];
}

/** Scores outputs[i] against items[i]. */
export function scoreOutputs(items: readonly EvalItem[], outputs: readonly ItemOutput[]): ScoreReport {
  if (items.length !== outputs.length) throw new ChameleonError(`scoreOutputs: ${items.length} items but ${outputs.length} outputs`);
  const acc = Object.fromEntries(SCORE_KEYS.map((k) => [k, { correct: 0, total: 0, items: 0 }])) as Record<ScoreKey, { correct: number; total: number; items: number }>;
  const add = (k: ScoreKey, correct: number, total: number): void => {
    acc[k].correct += correct;
    acc[k].total += total;
    acc[k].items++;
  };
  const scored: ItemScore[] = items.map((item, i) => {
    const out = outputs[i];
    const refused = out.images.length === 0 && isRefusal(out.text);
    if (item.group !== 'refusal') add('false_refusal_rate', refused ? 1 : 0, 1);
    const e = item.expect;
    switch (e.kind) {
      case 'draw': {
        const { cands, key } = imageCandidates(out);
        const c = specChecks(e.spec, cands);
        add(item.heldOut ? 'heldout_accuracy' : 't2i_attribute_accuracy', c.correct, c.total);
        if (!item.heldOut) add('t2i_exact_match', c.correct === c.total ? 1 : 0, 1);
        return { id: item.id, ...c, refused, read: key ?? '(no image)' };
      }
      case 'caption': {
        const mentions = parseMentions(out.text);
        const c = specChecks({ objects: e.scene.objects }, mentions);
        add('caption_attribute_accuracy', c.correct, c.total);
        add('caption_exact_match', c.correct === c.total ? 1 : 0, 1);
        return { id: item.id, ...c, refused, read: mentions.map((m) => `${m.size ?? '?'} ${m.colour ?? '?'} ${m.shape} @${m.cell ?? '?'}`).join(' | ') };
      }
      case 'answer': {
        const got = parseAnswer(e.answer.kind, out.text);
        const ok = got === e.answer.value ? 1 : 0;
        add('vqa_accuracy', ok, 1);
        return { id: item.id, correct: ok, total: 1, refused, read: String(got) };
      }
      case 'image': {
        const { key } = imageCandidates(out);
        const ok = key === sceneKey(e.scene) ? 1 : 0;
        add('interleaved_consistency', ok, 1);
        return { id: item.id, correct: ok, total: 1, refused, read: key ?? '(no image)' };
      }
      case 'refusal': {
        const ok = refused ? 1 : 0;
        add('refusal_accuracy', ok, 1);
        return { id: item.id, correct: ok, total: 1, refused, read: out.images.length ? `${out.images.length} image(s)` : out.text.slice(0, 80) };
      }
    }
  });
  const metrics = Object.fromEntries(
    SCORE_KEYS.map((k) => {
      const a = acc[k];
      return [k, { value: a.total > 0 ? a.correct / a.total : null, ...a }];
    }),
  ) as Record<ScoreKey, Metric>;
  return { metrics, items: scored };
}
