// The shapes world's text side: every caption, answer and drawing-instruction phrasing reads back
// through the text parsers to the attributes it was written from; pinned readings of hand-written
// variants (plurals, "centre", digits, "big"); the refusal detector fires on refusals only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { cellOfWords, isRefusal, parseAnswer, parseMentions, words } from '../../src/eval/shapes/parse-text.js';
import { CAPTION_REQUESTS, REFUSALS, caption, drawInstruction, forbiddenRequest, offWorld, question, storyNarration, storyRequest, withArticle } from '../../src/eval/shapes/phrases.js';
import { sampleScene, type Scene } from '../../src/eval/shapes/world.js';

test('every caption phrasing of random scenes reads back to the scene', () => {
  const rng = new Rng(1);
  for (let i = 0; i < 500; i++) {
    const s = sampleScene(rng, { heldOut: i % 3 === 0 });
    const text = caption(rng, s.objects);
    const m = parseMentions(text);
    assert.deepEqual(
      m.map((x) => [x.size, x.colour, x.shape, x.cell]),
      s.objects.map((o) => [o.size, o.colour, o.shape, o.cell]),
      text,
    );
  }
});

test('every question and answer phrasing: the answer parses to the expected value', () => {
  const rng = new Rng(2);
  const kinds = new Set<string>();
  for (let i = 0; i < 1500; i++) {
    const s = sampleScene(rng);
    const qa = question(rng, s.objects);
    kinds.add(qa.expect.kind);
    assert.equal(parseAnswer(qa.expect.kind, qa.answer), qa.expect.value, `${qa.question} -> ${qa.answer}`);
    assert.equal(isRefusal(qa.answer), false, qa.answer);
  }
  assert.deepEqual([...kinds].sort(), ['colour', 'count', 'position', 'shape', 'size', 'yesno']);
});

test('drawing instructions read back to the objects they ask for (absolute ones with cells)', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 300; i++) {
    const s = sampleScene(rng);
    const text = drawInstruction(rng, { objects: s.objects });
    assert.deepEqual(
      parseMentions(text).map((x) => [x.size, x.colour, x.shape, x.cell]),
      s.objects.map((o) => [o.size, o.colour, o.shape, o.cell]),
      text,
    );
  }
  const rel = drawInstruction(new Rng(0), { objects: [{ shape: 'star', colour: 'red', size: 'small' }, { shape: 'circle', colour: 'blue' }], relation: { a: 0, rel: 'above', b: 1 } });
  assert.match(rel, / a small red star above a blue circle[.?]$/);
  assert.deepEqual(
    parseMentions(rel).map((x) => [x.size, x.colour, x.shape, x.cell]),
    [
      ['small', 'red', 'star', null],
      [null, 'blue', 'circle', null],
    ],
  );
});

test('pinned readings of hand-written variants', () => {
  const m = parseMentions('Two big shapes: a little Violet star in the centre, and 2 orange squares at the lower right.');
  assert.deepEqual(
    m.map((x) => [x.size, x.colour, x.shape, x.cell]),
    [
      ['small', 'purple', 'star', 4],
      [null, 'orange', 'square', 8],
    ],
  );
  assert.equal(parseAnswer('count', 'I count 3 shapes.'), 3);
  assert.equal(parseAnswer('count', 'There are no shapes.'), 0);
  assert.equal(parseAnswer('yesno', 'Yes, there is.'), true);
  assert.equal(parseAnswer('yesno', 'No, there is not.'), false);
  assert.equal(parseAnswer('colour', 'The star is GREEN.'), 'green');
  assert.equal(parseAnswer('shape', 'The red shape is a triangle.'), 'triangle');
  assert.equal(parseAnswer('size', 'It is big.'), 'large');
  assert.equal(parseAnswer('position', 'It is at the middle left.'), 3);
  assert.equal(parseAnswer('position', 'Somewhere.'), null);
  assert.equal(parseAnswer('colour', 'I do not know.'), null);
  assert.deepEqual(words('It’s at the TOP-left!'), ["it's", 'at', 'the', 'top', 'left']);
  assert.deepEqual(['top left', 'top', 'top right', 'left', 'center', 'right', 'bottom left', 'bottom', 'bottom right'].map((p) => cellOfWords(words(p))), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(withArticle('orange star'), 'an orange star');
  assert.equal(withArticle('red star'), 'a red star');
});

test('refusals are detected; captions, answers, story steps and off-world answers are not refusals', () => {
  for (const r of REFUSALS) assert.equal(isRefusal(r), true, r);
  assert.equal(isRefusal('I cannot do that.'), true);
  assert.equal(isRefusal('I won’t draw it.'), true);
  const rng = new Rng(4);
  const s: Scene = sampleScene(rng, { minObjects: 3 });
  const t = s.objects[0];
  const texts = [
    caption(rng, s.objects),
    ...CAPTION_REQUESTS,
    storyNarration(rng, { op: 'remove', target: t }),
    storyRequest(rng, { op: 'move', target: t, cell: 4 }),
    ...Array.from({ length: 30 }, () => offWorld(rng).answer),
  ];
  for (const x of texts) assert.equal(isRefusal(x), false, x);
  // Forbidden requests themselves are requests, not refusals.
  for (let i = 0; i < 50; i++) {
    const r = forbiddenRequest(rng);
    assert.equal(isRefusal(r), false, r);
  }
});
