// Scoring of the emoji evaluation, apart from generation (browser-safe): given the test items and
// what a model produced for each (text for "what is this?", an image for "draw X"), the name
// accuracy (answer equals the name or an alias after normalisation) and the nearest-neighbour
// accuracy (the generated image's nearest catalogue emoji is the one asked for), training and
// held-out emoji apart. A test feeds ground-truth outputs (1.0) and wrong ones.

import { ChameleonError } from '../../util/errors.js';
import { answerNames, type EmojiEntry } from './catalogue.js';
import type { EmojiMatcher } from './matcher.js';
import type { RgbImage } from './pixels.js';
import type { EmojiTestItem } from './world.js';

/** What the model produced for one item: its text answer, or its image (null: it drew none). */
export type EmojiOutput = { text: string } | { image: RgbImage | null };

export interface EmojiItemResult {
  kind: EmojiTestItem['kind'];
  id: string;
  heldout: boolean;
  correct: boolean;
  /** 'name': the answer given; 'draw': the nearest emoji's id ('' when no image came). */
  got: string;
  /** 'draw': the feature distance to the nearest emoji. */
  distance?: number;
}

/** The figures of the emoji evaluation; accuracies are in [0, 1], null when no item of that kind ran. */
export interface EmojiScores {
  emoji_name_accuracy: number | null;
  emoji_name_heldout_accuracy: number | null;
  emoji_nn_accuracy: number | null;
  emoji_nn_heldout_accuracy: number | null;
  counts: { name: number; name_heldout: number; draw: number; draw_heldout: number };
  correct: { name: number; name_heldout: number; draw: number; draw_heldout: number };
  items: EmojiItemResult[];
}

type Bucket = keyof EmojiScores['counts'];

function bucketOf(item: EmojiTestItem): Bucket {
  if (item.kind === 'name') return item.heldout ? 'name_heldout' : 'name';
  return item.heldout ? 'draw_heldout' : 'draw';
}

/**
 * Scores `outputs[i]` against `items[i]`. Name answers are matched against `entries` (by id);
 * images against `matcher` (whose reference ids are entry ids).
 */
export function scoreOutputs(items: readonly EmojiTestItem[], outputs: readonly EmojiOutput[], entries: readonly EmojiEntry[], matcher: EmojiMatcher): EmojiScores {
  if (items.length !== outputs.length) throw new ChameleonError(`scoreOutputs: ${items.length} items but ${outputs.length} outputs`);
  const byId = new Map(entries.map((e) => [e.id, e]));
  const counts = { name: 0, name_heldout: 0, draw: 0, draw_heldout: 0 };
  const correct = { name: 0, name_heldout: 0, draw: 0, draw_heldout: 0 };
  const results = items.map((item, i): EmojiItemResult => {
    const out = outputs[i];
    const entry = byId.get(item.id);
    if (!entry) throw new ChameleonError(`scoreOutputs: item ${i} names emoji '${item.id}', which is not in the catalogue`);
    const bucket = bucketOf(item);
    counts[bucket]++;
    let r: EmojiItemResult;
    if (item.kind === 'name') {
      if (!('text' in out)) throw new ChameleonError(`scoreOutputs: item ${i} asks for a name but its output is an image`);
      r = { kind: item.kind, id: item.id, heldout: item.heldout, correct: answerNames(out.text, entry), got: out.text };
    } else {
      if (!('image' in out)) throw new ChameleonError(`scoreOutputs: item ${i} asks for a drawing but its output is text`);
      const m = out.image ? matcher.nearest(out.image) : null;
      r = { kind: item.kind, id: item.id, heldout: item.heldout, correct: m?.id === item.id, got: m?.id ?? '', ...(m ? { distance: Number(m.distance.toFixed(4)) } : {}) };
    }
    if (r.correct) correct[bucket]++;
    return r;
  });
  const acc = (b: Bucket): number | null => (counts[b] > 0 ? correct[b] / counts[b] : null);
  return {
    emoji_name_accuracy: acc('name'),
    emoji_name_heldout_accuracy: acc('name_heldout'),
    emoji_nn_accuracy: acc('draw'),
    emoji_nn_heldout_accuracy: acc('draw_heldout'),
    counts,
    correct,
    items: results,
  };
}
