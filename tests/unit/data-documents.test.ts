// The JSONL document format and the token layout of documents (train/data/documents.ts): a
// hand-built chat example's tokens and loss mask (prompt turns masked, spec §5.2 end-of-turn after
// every turn, images framed as §5.1), a text document's BOS/EOS, and the line checks' messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vocabulary } from '../../src/tokenizers/vocab.js';
import { genVocab } from '../../src/generate/vocab.js';
import { chatPrompt, type PromptParts } from '../../src/generate/prompt.js';
import { parseDocumentLine, tokenizeDocument, documentImages } from '../../src/train/data/documents.js';

// ids: 0 <s>, 1 <pad>, 2 </s>, 3 <unk>, 4..7 image codes 0..3, 8 <eoss>, 9 <racm3:break>, 10 end-of-turn, 11 <image>, 12.. text
const vocab = Vocabulary.create({ codebookSize: 4, textTokens: Array.from({ length: 100 }, (_, i) => `t${i}`) });
const parts: PromptParts = {
  vocab: genVocab(vocab),
  text: { encode: (s) => [...s].map((c) => 12 + (c.charCodeAt(0) % 100)), decode: () => '' },
  imageTokens: 4,
};
const T = (c: string): number => 12 + (c.charCodeAt(0) % 100);
const codes = new Map([
  ['cat.png', [0, 1, 2, 3]],
  ['dog.png', [3, 2, 1, 0]],
]);
const lookup = (ref: string): number[] => codes.get(ref)!;

test('hand-built chat: layout of spec §5 and loss only on assistant turns (their end-of-turn included)', () => {
  const line = JSON.stringify({
    kind: 'chat',
    messages: [
      { role: 'user', content: [{ text: 'ab' }, { image: 'cat.png' }] },
      { role: 'assistant', content: [{ text: 'c' }] },
      { role: 'user', content: 'd' },
      { role: 'assistant', content: [{ image: 'dog.png' }] },
    ],
  });
  const doc = parseDocumentLine(line);
  assert.deepEqual(documentImages(doc), ['cat.png', 'dog.png']);
  const { tokens, mask } = tokenizeDocument(doc, parts, lookup);
  const expected = [0, T('a'), T('b'), 9, 4, 5, 6, 7, 8, 10, T('c'), 10, T('d'), 10, 9, 7, 6, 5, 4, 8, 10];
  const expMask = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1];
  assert.deepEqual(Array.from(tokens), expected);
  assert.deepEqual(Array.from(mask), expMask);
  // The same layout generation builds for the prompt (up to the last user turn): shared code, not a copy.
  const prompt = chatPrompt(parts, [
    { role: 'user', content: [{ type: 'text', text: 'ab' }, { type: 'image', codes: [0, 1, 2, 3] }] },
    { role: 'assistant', content: 'c' },
    { role: 'user', content: 'd' },
  ]);
  assert.deepEqual(Array.from(tokens.subarray(0, prompt.length)), prompt);
});

test('text and interleaved documents: BOS, segments, EOS; loss on everything after BOS', () => {
  const t = tokenizeDocument(parseDocumentLine('{"kind":"text","segments":[{"text":"hi"}]}'), parts, lookup);
  assert.deepEqual(Array.from(t.tokens), [0, T('h'), T('i'), 2]);
  assert.deepEqual(Array.from(t.mask), [0, 1, 1, 1]);
  const il = tokenizeDocument(parseDocumentLine('{"kind":"interleaved","segments":[{"text":"x"},{"image":"cat.png"},{"text":"y"}]}'), parts, lookup);
  assert.deepEqual(Array.from(il.tokens), [0, T('x'), 9, 4, 5, 6, 7, 8, T('y'), 2]);
  assert.deepEqual(Array.from(il.mask), [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('bad lines are refused with a reason', () => {
  const cases: [string, RegExp][] = [
    ['{"kind":"text","segments":[{"text":"a"}]', /not valid JSON/],
    ['[1,2]', /JSON object/],
    ['{"kind":"poem","segments":[{"text":"a"}]}', /"kind" must be one of text, caption, interleaved, chat/],
    ['{"kind":"text","segments":[]}', /non-empty array/],
    ['{"kind":"text","segments":[{"text":"a","image":"b.png"}]}', /exactly one key/],
    ['{"kind":"text","segments":[{"text":5}]}', /text must be a string/],
    ['{"kind":"text","segments":[{"image":"a.png"}]}', /cannot hold images/],
    ['{"kind":"caption","segments":[{"text":"only words"}]}', /at least one image and one text/],
    ['{"kind":"chat","messages":[{"role":"user","content":"hi"}]}', /at least one assistant turn/],
    ['{"kind":"chat","messages":[{"role":"system","content":"hi"}]}', /role must be "user" or "assistant"/],
    ['{"kind":"chat"}', /non-empty "messages"/],
  ];
  for (const [line, re] of cases) assert.throws(() => parseDocumentLine(line), re, line);
});
