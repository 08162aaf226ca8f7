// The emoji catalogue: selection rules on synthetic records and on the installed package, names,
// articles and aliases, answer normalisation, and the seeded held-out split.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMOJI_SUBCATEGORIES,
  NEAR_DUPLICATES,
  answerNames,
  candidateRecords,
  normaliseAnswer,
  splitCatalogue,
  toEntries,
  withArticle,
  type EmojiEntry,
  type EmojiRecord,
} from '../../src/eval/emoji/catalogue.js';
import { openEmojiSource } from '../../src/eval/emoji/source.node.js';

function rec(short: string, over: Partial<EmojiRecord> = {}): EmojiRecord {
  return { name: short.toUpperCase().replace(/_/g, ' '), unified: '1F355', image: '1f355.png', short_name: short, short_names: [short], category: 'Food & Drink', subcategory: 'food-prepared', sort_order: 1, has_img_google: true, ...over };
}

test('candidate rules: single code points of the listed subcategories with a Google image, minus exclusions', () => {
  const records = [
    rec('pizza', { sort_order: 5 }),
    rec('umbrella_like', { unified: '2602-FE0F', sort_order: 4 }), // a variation selector is still one code point
    rec('black_cat', { unified: '1F408-200D-2B1B' }), // ZWJ sequence
    rec('hash', { unified: '0023-FE0F-20E3' }), // keycap
    rec('flag_fr', { unified: '1F1EB-1F1F7', subcategory: 'country-flag' }),
    rec('wave', { subcategory: 'hand-fingers-open' }),
    rec('no_google', { has_img_google: false }),
    rec('camel'), // a listed near-duplicate
    rec('feet', { short_names: ['feet', 'paw_prints'] }), // excluded through any of its short names
    rec('old', { obsoleted_by: '1F355' }),
  ];
  assert.deepEqual(
    candidateRecords(records).map((r) => r.short_name),
    ['umbrella_like', 'pizza'],
    'package order (sort_order), everything else dropped',
  );
});

test('names are lower-cased; aliases drop numbered short names and any alias another entry claims', () => {
  const entries = toEntries([
    rec('dog', { name: 'DOG FACE', short_names: ['dog'] }),
    rec('dog2', { name: 'DOG', short_names: ['dog2'] }),
    rec('pizza', { name: 'SLICE OF PIZZA', short_names: ['pizza'] }),
    rec('fried_egg', { name: 'COOKING', short_names: ['fried_egg', 'cooking'] }),
  ]);
  assert.deepEqual(
    entries.map((e) => [e.id, e.name, e.aliases]),
    [
      ['dog', 'dog face', []],
      ['dog2', 'dog', []],
      ['pizza', 'slice of pizza', ['pizza']],
      ['fried_egg', 'fried egg', ['cooking']],
    ],
  );
});

test('articles: a/an, plurals and mass nouns take none', () => {
  assert.equal(withArticle('slice of pizza'), 'a slice of pizza');
  assert.equal(withArticle('owl'), 'an owl');
  assert.equal(withArticle('unicorn face'), 'a unicorn face');
  assert.equal(withArticle('cherries'), 'cherries');
  assert.equal(withArticle('octopus'), 'an octopus');
  assert.equal(withArticle('rhinoceros'), 'a rhinoceros');
  assert.equal(withArticle('nest with eggs'), 'a nest with eggs');
  assert.equal(withArticle('bread'), 'bread');
});

test('answer normalisation: case, punctuation, answer frames and articles', () => {
  assert.equal(normaliseAnswer('It is a Slice of Pizza.'), 'slice of pizza');
  assert.equal(normaliseAnswer("It's the T-Rex!"), 't rex');
  assert.equal(normaliseAnswer('  An   owl  '), 'owl');
  const pizza: EmojiEntry = { id: 'pizza', unified: '1F355', name: 'slice of pizza', aliases: ['pizza'], category: 'Food & Drink', subcategory: 'food-prepared', image: '1f355.png' };
  assert.ok(answerNames('A slice of pizza.', pizza));
  assert.ok(answerNames('pizza', pizza), 'an alias counts');
  assert.ok(answerNames('This is a slice of pizza', pizza));
  assert.ok(!answerNames('a slice of cake', pizza));
  assert.ok(!answerNames('pizza pizza', pizza));
  assert.ok(!answerNames('', pizza));
});

test('the installed package gives 317 distinct emoji; near-duplicate targets are kept, the duplicates are not', () => {
  const src = openEmojiSource();
  const entries = toEntries(candidateRecords(src.records));
  assert.equal(entries.length, 317);
  const ids = new Set(entries.map((e) => e.id));
  for (const [dup, kept] of Object.entries(NEAR_DUPLICATES)) {
    assert.ok(!ids.has(dup), `${dup} is dropped`);
    assert.ok(ids.has(kept), `${dup}'s look-alike ${kept} is in the catalogue`);
  }
  const subs = new Set(EMOJI_SUBCATEGORIES);
  for (const e of entries) {
    assert.ok(subs.has(e.subcategory), e.id);
    assert.match(e.unified, /^[0-9A-F]{4,6}(-FE0F)?$/, e.id);
    assert.equal(e.name, e.name.toLowerCase());
  }
  const keys = entries.flatMap((e) => [e.name, ...e.aliases].map(normaliseAnswer));
  assert.equal(new Set(keys).size, keys.length, 'no name or alias is shared by two emoji');
  const pizza = entries.find((e) => e.id === 'pizza');
  assert.deepEqual([pizza?.name, pizza?.aliases], ['slice of pizza', ['pizza']]);
});

test('held-out split: round(10%), seeded, spread over subcategories, catalogue order kept', () => {
  const entries = toEntries(candidateRecords(openEmojiSource().records));
  const a = splitCatalogue(entries, 0, 0.1);
  assert.equal(a.heldout.length, 32);
  assert.equal(a.train.length + a.heldout.length, entries.length);
  assert.deepEqual(splitCatalogue(entries, 0, 0.1), a, 'same seed, same split');
  const b = splitCatalogue(entries, 1, 0.1);
  assert.notDeepEqual(b.heldout.map((e) => e.id), a.heldout.map((e) => e.id));
  const trainIds = new Set(a.train.map((e) => e.id));
  assert.ok(a.heldout.every((e) => !trainIds.has(e.id)));
  assert.ok(new Set(a.heldout.map((e) => e.subcategory)).size >= 12, 'held-out emoji come from many subcategories');
  const order = new Map(entries.map((e, i) => [e.id, i]));
  const idx = a.heldout.map((e) => order.get(e.id)!);
  assert.deepEqual(idx, [...idx].sort((x, y) => x - y));
  assert.equal(splitCatalogue(entries.slice(0, 2), 0, 0.1).heldout.length, 1, 'at least one held out');
  assert.equal(splitCatalogue(entries, 0, 0).heldout.length, 0);
  assert.throws(() => splitCatalogue(entries, 0, 1), /held-out fraction must be in \[0, 1\)/);
});
