// Chameleon id space: image-name codec, the HF fixture's vocabulary_map, the real model's layout
// rebuilt with Vocabulary.create, O(1) kinds, Meta's sampling text set, round trips through
// toVocabularyMap, and clear errors for non-monotone or incomplete image mappings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FormatError } from '../../src/util/errors.js';
import { Vocabulary, imageTokenName, parseImageTokenName } from '../../src/tokenizers/vocab.js';

const fixture = JSON.parse(readFileSync('tests/fixtures/hf-chameleon/mha/config.json', 'utf8')) as {
  vocabulary_map: Record<string, number>;
  vocab_size: number;
};

test('image token names: A=0 … J=9 digits between IMGIMG and Z', () => {
  assert.equal(imageTokenName(0), 'IMGIMGAZ');
  assert.equal(imageTokenName(7), 'IMGIMGHZ');
  assert.equal(imageTokenName(9), 'IMGIMGJZ');
  assert.equal(imageTokenName(53), 'IMGIMGFDZ');
  assert.equal(imageTokenName(8191), 'IMGIMGIBJBZ');
  for (const c of [0, 1, 10, 99, 100, 4096, 8191]) assert.equal(parseImageTokenName(imageTokenName(c)), c);
  assert.equal(parseImageTokenName('IMGIMGABZ'), null, 'leading zero digit is not canonical');
  assert.equal(parseImageTokenName('IMGIMGZ'), null);
  assert.equal(parseImageTokenName('IMGIMGKZ'), null);
  assert.equal(parseImageTokenName('hello'), null);
});

test('fixture vocabulary_map: 64 codes at code + 4, BOI/EOI/<image>, kinds, text set', () => {
  const v = Vocabulary.fromVocabularyMap(fixture.vocabulary_map, { vocabSize: fixture.vocab_size });
  assert.equal(v.size, 512);
  assert.equal(v.codebookSize, 64);
  assert.deepEqual([v.bosId, v.padId, v.eosId, v.unkId], [0, 1, 2, 3]);
  assert.equal(v.boiId, 68);
  assert.equal(v.eoiId, 69);
  assert.equal(v.imagePlaceholderId, 70);
  assert.equal(v.eotId, null);
  assert.equal(v.codeToId(0), 4);
  assert.equal(v.codeToId(63), 67);
  assert.equal(v.idToCode(57), 53);
  assert.equal(v.nameOf(57), 'IMGIMGFDZ');
  assert.equal(v.kind(0), 'special');
  assert.equal(v.kind(4), 'image');
  assert.equal(v.kind(67), 'image');
  assert.equal(v.kind(68), 'special');
  assert.equal(v.kind(71), 'text');
  assert.equal(v.kind(511), 'text');
  assert.equal(v.textStart, 71);
  assert.ok(v.isImage(4) && v.isImage(67) && !v.isImage(3) && !v.isImage(68));
  assert.throws(() => v.idToCode(68), /not an image token/);
  assert.throws(() => v.codeToId(64), /outside 0\.\.63/);
  assert.throws(() => v.kind(512), /outside the vocabulary/);
  const text = v.metaTextTokenIds();
  assert.equal(text.length, 512 - 71);
  assert.equal(text[0], 71);
  assert.deepEqual(v.toVocabularyMap(), fixture.vocabulary_map);
});

test('Vocabulary.create reproduces the real model layout (8192 codes, 512 sentinels, text from 16384)', () => {
  const textTokens = ['!', '"', '<', '</', '<<', 'Ġthe', 'IMGIMG'];
  const v = Vocabulary.create({ codebookSize: 8192, sentinels: 512, reserved: 16384 - 8710, textTokens });
  assert.equal(v.eoiId, 8196);
  assert.equal(v.boiId, 8197);
  assert.equal(v.idOf('<sentinel:0>'), 8198);
  assert.equal(v.idOf('<sentinel:511>'), 8709);
  assert.equal(v.eotId, 8710);
  assert.equal(v.nameOf(8710), '<reserved08706>');
  assert.equal(v.imagePlaceholderId, 8711);
  assert.equal(v.nameOf(8712), '<reserved08708>');
  assert.equal(v.nameOf(8804), '<reserved08800>');
  assert.equal(v.nameOf(16383), '<reserved16379>');
  assert.equal(v.idOf('!'), 16384);
  assert.equal(v.idOf('<'), 16386);
  assert.equal(v.textStart, 16384);
  assert.equal(v.size, 16384 + textTokens.length);
  assert.equal(v.nameOf(8195), 'IMGIMGIBJBZ');
  assert.equal(v.kind(8195), 'image');
  assert.equal(v.kind(8196), 'special');
  assert.equal(v.kind(12000), 'special');
  assert.equal(v.kind(16387), 'text', 'a BPE piece starting with "<" is still text for decoding');
  // Meta's sampling set drops every "<…>" name except "<" itself.
  const meta = Array.from(v.metaTextTokenIds());
  assert.deepEqual(meta, [16384, 16385, 16386, 16389, 16390]);
  // Round trip through an HF vocabulary_map.
  const back = Vocabulary.fromVocabularyMap(v.toVocabularyMap());
  assert.equal(back.size, v.size);
  assert.equal(back.eotId, 8710);
  assert.equal(back.codebookSize, 8192);
  assert.deepEqual(Array.from(back.kinds), Array.from(v.kinds));
});

test('Vocabulary.create compacts a small model', () => {
  const v = Vocabulary.create({ codebookSize: 64, textTokens: ['a', 'b'] });
  assert.equal(v.eoiId, 68);
  assert.equal(v.boiId, 69);
  assert.equal(v.eotId, 70);
  assert.equal(v.imagePlaceholderId, 71);
  assert.equal(v.textStart, 72);
  assert.equal(v.size, 74);
  assert.deepEqual(Array.from(v.metaTextTokenIds()), [72, 73]);
  assert.throws(() => Vocabulary.create({ codebookSize: 4, textTokens: ['a', 'a'] }), /appears twice/);
  assert.throws(() => Vocabulary.create({ codebookSize: 4, textTokens: [], reserved: 1 }), /reserved/);
  assert.throws(() => Vocabulary.create({ codebookSize: 0, textTokens: [] }), /codebookSize/);
});

test('bad vocabulary maps give clear errors', () => {
  const swapped = { ...fixture.vocabulary_map, IMGIMGAZ: 5, IMGIMGBZ: 4 };
  assert.throws(
    () => Vocabulary.fromVocabularyMap(swapped),
    (e: unknown) => e instanceof FormatError && /IMGIMGAZ has id 5, expected 4/.test(e.message) && /id = code \+ 4/.test(e.message),
  );
  const shifted = { ...fixture.vocabulary_map };
  delete shifted.IMGIMGGDZ;
  shifted.IMGIMGGDZ = 500;
  delete shifted.tok500;
  assert.throws(() => Vocabulary.fromVocabularyMap(shifted), /IMGIMGGDZ has id 500, expected 67/);
  const gap = { ...fixture.vocabulary_map };
  delete gap.IMGIMGCAZ;
  assert.throws(() => Vocabulary.fromVocabularyMap(gap), /code 20 is missing/);
  const dup = { ...fixture.vocabulary_map, extra: 5 };
  assert.throws(() => Vocabulary.fromVocabularyMap(dup), /id 5 is used by both/);
  const noBoi = { ...fixture.vocabulary_map };
  delete noBoi['<racm3:break>'];
  assert.throws(() => Vocabulary.fromVocabularyMap(noBoi), /begin-of-image/);
  assert.throws(() => Vocabulary.fromVocabularyMap({ '<s>': 0 }), /no image tokens/);
  assert.throws(() => Vocabulary.fromVocabularyMap({ a: 1.5 }), /non-negative integer/);
});
