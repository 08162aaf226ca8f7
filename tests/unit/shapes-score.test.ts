// scoreOutputs, the model-free half of `chameleon eval shapes`: the generator's own outputs score 1
// on every metric (0 false refusals); deliberately wrong pictures, captions, answers and refusals score
// low; the attribute checks are pinned on hand-built items (counts, matching, relations, no image).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { renderScene } from '../../src/eval/shapes/render.js';
import { generateWorld, type EvalItem } from '../../src/eval/shapes/dataset.js';
import { REFUSALS, caption } from '../../src/eval/shapes/phrases.js';
import { SCORE_KEYS, answerText, groundTruthOutput, scoreOutputs, specChecks, type ItemOutput } from '../../src/eval/shapes/score.js';
import { COLOURS, SHAPES, type Scene } from '../../src/eval/shapes/world.js';

const world = generateWorld({ seed: 1, scenes: 400, docsPerScene: 6 });
const items = world.items;
const picture = (s: Scene): ItemOutput => ({ text: '', images: [{ rgb: renderScene(s), width: 64, height: 64 }] });

/** The scene with its first object recoloured and its second (if any) moved to a free cell. */
function corrupt(s: Scene): Scene {
  const [o, ...rest] = s.objects;
  const objs = [{ ...o, colour: COLOURS[(COLOURS.indexOf(o.colour) + 1) % 6], shape: SHAPES[(SHAPES.indexOf(o.shape) + 1) % 4] }, ...rest];
  const free = [...Array(9).keys()].find((c) => !objs.some((x) => x.cell === c))!;
  if (objs.length > 1) objs[1] = { ...objs[1], cell: free };
  return { objects: objs };
}

test('the generator’s own outputs score 1 on every metric and are never refusals (except refusals)', () => {
  const r = scoreOutputs(items, items.map(groundTruthOutput));
  for (const k of SCORE_KEYS) {
    const m = r.metrics[k];
    assert.ok(m.items > 0, `${k} has items`);
    assert.equal(m.value, k === 'false_refusal_rate' ? 0 : 1, k);
  }
  assert.equal(r.items.length, items.length);
});

test('deliberately wrong outputs score low', () => {
  const wrong = items.map((it): ItemOutput => {
    const e = it.expect;
    switch (e.kind) {
      case 'draw':
      case 'image':
        return picture(corrupt(e.scene));
      case 'caption':
        return { text: caption(new Rng(0), corrupt(e.scene).objects), images: [] };
      case 'answer': {
        const a = e.answer;
        const other = a.kind === 'yesno' ? { ...a, value: !a.value } : a.kind === 'count' ? { ...a, value: a.value + 1 } : a.kind === 'position' ? { ...a, value: (a.value + 1) % 9 } : a.kind === 'size' ? { ...a, value: a.value === 'small' ? 'large' : 'small' } : a.kind === 'colour' ? { ...a, value: COLOURS[(COLOURS.indexOf(a.value) + 1) % 6] } : { ...a, value: SHAPES[(SHAPES.indexOf(a.value) + 1) % 4] };
        return { text: answerText(other as typeof a), images: [] };
      }
      case 'refusal':
        return picture({ objects: [{ shape: 'circle', colour: 'red', size: 'small', cell: 0 }] });
    }
  });
  const m = scoreOutputs(items, wrong).metrics;
  assert.equal(m.vqa_accuracy.value, 0);
  assert.equal(m.interleaved_consistency.value, 0);
  assert.equal(m.t2i_exact_match.value, 0);
  assert.equal(m.caption_exact_match.value, 0);
  assert.equal(m.refusal_accuracy.value, 0);
  for (const k of ['t2i_attribute_accuracy', 'caption_attribute_accuracy', 'heldout_accuracy'] as const) assert.ok(m[k].value! < 0.85, `${k} ${m[k].value}`);
  // Refusing everything: every allowed request is a false refusal.
  const refuseAll = scoreOutputs(items, items.map(() => ({ text: REFUSALS[1], images: [] }))).metrics;
  assert.equal(refuseAll.false_refusal_rate.value, 1);
  assert.equal(refuseAll.refusal_accuracy.value, 1);
  assert.equal(refuseAll.t2i_attribute_accuracy.value, 0);
});

test('attribute checks, pinned: count, per-object attributes, best matching, relations, no image', () => {
  const spec = { objects: [{ shape: 'circle' as const, colour: 'red' as const, size: 'small' as const, cell: 0 }, { shape: 'star' as const, colour: 'blue' as const, size: 'large' as const, cell: 4 }] };
  const cand = (shape: 'circle' | 'star', colour: 'red' | 'blue', size: 'small' | 'large', cell: number) => ({ shape, colour, size, cell });
  // 1 count + 4 + 4 checks; the star is in the wrong cell.
  assert.deepEqual(specChecks(spec, [cand('star', 'blue', 'large', 8), cand('circle', 'red', 'small', 0)]), { correct: 8, total: 9 });
  // Only one object drawn: the count and the other object's four checks fail.
  assert.deepEqual(specChecks(spec, [cand('circle', 'red', 'small', 0)]), { correct: 4, total: 9 });
  assert.deepEqual(specChecks(spec, []), { correct: 0, total: 9 });
  const rel = { objects: [{ shape: 'circle' as const, colour: 'red' as const }, { shape: 'star' as const, colour: 'blue' as const }], relation: { a: 0, rel: 'above' as const, b: 1 } };
  // 1 count + 2 + 2 + 1 relation.
  assert.deepEqual(specChecks(rel, [cand('circle', 'red', 'large', 1), cand('star', 'blue', 'small', 7)]), { correct: 6, total: 6 });
  assert.deepEqual(specChecks(rel, [cand('circle', 'red', 'large', 1), cand('star', 'blue', 'small', 8)]), { correct: 5, total: 6 });
  assert.deepEqual(specChecks(rel, [cand('circle', 'red', 'large', 7), cand('star', 'blue', 'small', 1)]), { correct: 5, total: 6 });
  // Through scoreOutputs: a drawing item answered with text only scores 0 of its checks.
  const t2i = items.find((i) => i.group === 't2i' && !i.heldOut)!;
  const r = scoreOutputs([t2i], [{ text: 'a red circle', images: [] }]);
  assert.equal(r.metrics.t2i_attribute_accuracy.correct, 0);
  assert.equal(r.items[0].read, '(no image)');
});

test('scoreOutputs refuses mismatched lengths', () => {
  assert.throws(() => scoreOutputs(items.slice(0, 2) as EvalItem[], []), /2 items but 0 outputs/);
});
