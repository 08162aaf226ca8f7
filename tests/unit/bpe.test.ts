// Byte-level BPE: the trainer (determinism, tie-breaking, incremental counts vs a naive recount, min
// frequency, special tokens), the tokenizer.json it writes loading in the library with identical ids
// to our reference BPE, round trips of awkward strings, literal special-token text, and bad files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/util/errors.js';
import { BYTE_ALPHABET, BYTE_TO_CHAR, fromByteLevel, toByteLevel } from '../../src/tokenizers/text/byte-level.js';
import { preTokenize } from '../../src/tokenizers/text/pretokenize.js';
import { ReferenceBpe, applyMerges, pairKey } from '../../src/tokenizers/text/bpe.js';
import { trainBpe } from '../../src/tokenizers/text/bpe-trainer.js';
import { buildTokenizerJson, parseTokenizerJson } from '../../src/tokenizers/text/tokenizer-json.js';
import { HfTextTokenizer } from '../../src/tokenizers/text/text-tokenizer.js';
import { loadTextTokenizer } from '../../src/tokenizers/text/load.node.js';
import { combineVocabulary, trainChameleonTokenizer } from '../../src/tokenizers/chameleon-tokenizer.js';
import { Vocabulary } from '../../src/tokenizers/vocab.js';

/** Deterministic mixed corpus: English-ish words, code, digits, CJK, emoji, whitespace runs. */
function corpus(n: number, seed = 1): string[] {
  let s = seed;
  const rnd = (k: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % k;
  };
  const common = ['the', 'model', 'image', 'token', 'of', 'and', 'a', 'chameleon', 'mixed', 'modal', "it's", "we're", 'x', 'value'];
  const syl = ['ka', 'lo', 'mi', 'ren', 'tas', 'vo', 'qui', 'zel', 'an', 'dor', 'ph', 'st', 'ing', 'er', 'Ba', 'Tr'];
  const words = [...common];
  for (let i = 0; i < 400; i++) words.push(syl[rnd(16)] + syl[rnd(16)] + (rnd(2) ? syl[rnd(16)] : ''));
  const extras = ['机器学习', '東京', '😀', '👍🏽', 'café', '  ', '\t', '\n', '    ', '(', ')', '=', ';', '{', '}', ',', '.', '!'];
  const docs: string[] = [];
  for (let d = 0; d < n; d++) {
    const parts: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = rnd(10);
      if (r < 6) parts.push((i ? ' ' : '') + words[rnd(words.length)]);
      else if (r < 8) parts.push(extras[rnd(extras.length)]);
      else parts.push(' ' + String(rnd(100000)));
    }
    docs.push(parts.join(''));
  }
  return docs;
}

const SPECIALS = ['<s>', '<pad>', '</s>', '<unk>', 'IMGIMGAZ', 'IMGIMGBZ', '<eoss>', '<racm3:break>'];

const AWKWARD = [
  '',
  ' ',
  'hello world',
  '   leading and trailing   ',
  'a  b   c    d     e',
  'tabs\tand\nnewlines\r\n\n\t\t',
  '1234567890 3.14159 -42 1e-9',
  "punctuation!?.,;:'\"()[]{}<>/\\|@#$%^&*_+=~`",
  "it's we're they've I'm you'll he'd",
  'emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 heart ❤️',
  'combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353',
  'CJK 机器学习是人工智能的一个分支。東京は日本の首都です。한국어',
  'mixed العربية עברית русский Ελληνικά',
  'looks special: <s> </s> <racm3:break> <eoss> <sentinel:3> IMGIMGAZ <reserved08706>',
  '\u0000\u0001\u007f\ufeff\u200b zero width',
];

function trainSmall(vocabSize = 600, minFrequency = 2) {
  const result = trainBpe(corpus(300), { vocabSize, minFrequency, specialTokens: SPECIALS, progress: null });
  const json = buildTokenizerJson(result);
  return { result, json, tok: HfTextTokenizer.fromJson(JSON.stringify(json)) };
}

test('byte-level alphabet: 256 distinct printable characters, GPT-2 order, round trip', () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_ALPHABET[0], '!');
  assert.equal(BYTE_ALPHABET.indexOf('<'), 27); // "<" = 16384 + 27 = 16411 in the real vocabulary
  for (const s of AWKWARD) assert.equal(fromByteLevel(toByteLevel(s)), s);
});

test('pre-tokenization: sentinels, image names, whitespace runs, single digits, isolated punctuation', () => {
  assert.deepEqual(preTokenize('Hello world 123'), ['Hello', ' world', ' ', '1', '2', '3']);
  // Later splits split earlier isolated pieces again (HF Sequence semantics): a sentinel that is not an
  // added token ends up as punctuation and digits; image names (letters only) stay whole.
  assert.deepEqual(preTokenize('x<sentinel:12>IMGIMGBCZy'), ['x', '<', 'sentinel', ':', '1', '2', '>', 'IMGIMGBCZ', 'y']);
  assert.deepEqual(preTokenize('a    b\t\tc'), ['a', '    ', 'b', '\t', '\t', 'c']);
  assert.deepEqual(preTokenize("don't!"), ['don', "'", 't', '!']);
  assert.deepEqual(preTokenize(''), []);
  for (const s of AWKWARD) assert.equal(preTokenize(s).join(''), s);
});

test('applyMerges: lowest rank first, occurrences left to right', () => {
  const ranks = new Map([pairKey('a', 'a'), pairKey('aa', 'a'), pairKey('b', 'c')].map((k, i) => [k, i]));
  assert.deepEqual(applyMerges('aaa', ranks), ['aaa']);
  assert.deepEqual(applyMerges('aaaa', ranks), ['aa', 'aa']);
  assert.deepEqual(applyMerges('abc', ranks), ['a', 'bc']);
});

test('trainer: deterministic tie-breaking (highest count, then smallest pair)', () => {
  const r = trainBpe(['ab cd', 'ab cd', 'ab cd'], { vocabSize: 256 + 3, minFrequency: 1, progress: null });
  assert.deepEqual(r.merges, [
    ['a', 'b'],
    ['c', 'd'],
    ['Ġ', 'cd'],
  ]);
  assert.equal(r.tokens.length, 259);
  const again = trainBpe(['ab cd', 'ab cd', 'ab cd'], { vocabSize: 259, minFrequency: 1, progress: null });
  assert.deepEqual(again.merges, r.merges);
});

/** Naive trainer: recounts every pair of every word after each merge (the oracle for incremental counts). */
function naiveTrain(docs: string[], merges: number, minFrequency: number): [string, string][] {
  const counts = new Map<string, number>();
  for (const d of docs) for (const p of preTokenize(d)) counts.set(toByteLevel(p), (counts.get(toByteLevel(p)) ?? 0) + 1);
  let words = [...counts].map(([w, f]) => ({ syms: Array.from(w), f }));
  const out: [string, string][] = [];
  while (out.length < merges) {
    const pc = new Map<string, { a: string; b: string; n: number }>();
    for (const w of words) for (let i = 0; i + 1 < w.syms.length; i++) {
      const k = pairKey(w.syms[i], w.syms[i + 1]);
      const e = pc.get(k) ?? { a: w.syms[i], b: w.syms[i + 1], n: 0 };
      e.n += w.f;
      pc.set(k, e);
    }
    let best: { a: string; b: string; n: number } | null = null;
    for (const e of pc.values()) {
      if (!best || e.n > best.n || (e.n === best.n && (e.a < best.a || (e.a === best.a && e.b < best.b)))) best = e;
    }
    if (!best || best.n < minFrequency) break;
    out.push([best.a, best.b]);
    const { a, b } = best;
    words = words.map((w) => {
      const s: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          s.push(a + b);
          i++;
        } else s.push(w.syms[i]);
      }
      return { syms: s, f: w.f };
    });
  }
  return out;
}

test('trainer: incremental pair counts give the same merges as a full recount', () => {
  const docs = corpus(60, 7);
  const r = trainBpe(docs, { vocabSize: 256 + 150, minFrequency: 2, progress: null });
  assert.deepEqual(r.merges, naiveTrain(docs, r.merges.length, 2));
  assert.ok(r.merges.length > 100);
});

test('trainer: min frequency stops early, vocab size is hit exactly otherwise', () => {
  const few = trainBpe(['abc abc xyz'], { vocabSize: 1000, minFrequency: 2, progress: null });
  assert.ok(few.merges.every(([a, b]) => !(a + b).includes('x')), 'pairs seen once are not merged');
  assert.ok(few.tokens.length < 1000);
  const { result } = trainSmall(600);
  assert.equal(result.tokens.length, 600);
  assert.deepEqual(result.tokens.slice(0, SPECIALS.length), SPECIALS);
  assert.throws(() => trainBpe(['x'], { vocabSize: 100, progress: null }), /below/);
});

test('trained tokenizer.json: the library encodes with exactly our merges (held-out text)', () => {
  const { result, json, tok } = trainSmall(700);
  const ref = new ReferenceBpe(
    new Map(result.tokens.map((t, i) => [t, i])),
    result.merges,
    SPECIALS,
  );
  const heldOut = [...corpus(40, 99), ...AWKWARD];
  for (const text of heldOut) assert.deepEqual(tok.encode(text), ref.encode(text), JSON.stringify(text));
  // The file round-trips through our validator with the same merges.
  const parsed = parseTokenizerJson(JSON.stringify(json));
  assert.deepEqual(parsed.merges, result.merges);
  assert.equal(tok.vocabSize, 700);
});

test('round trip decode(encode(x)) == x for awkward strings', () => {
  const { tok } = trainSmall();
  for (const s of AWKWARD) {
    assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
    assert.equal(tok.decode(tok.encode(s, { parseSpecial: false })), s, JSON.stringify(s));
  }
  const ids = AWKWARD.flatMap((s) => [0, ...tok.encode(s), 6]);
  const partial = [...tok.encode('😀 ok'), ...tok.encode('東')].filter((id) => id > 8); // also broken UTF-8 runs
  for (const seq of [ids, partial, tok.encode('\ufeffBOM first')]) {
    assert.equal(tok.decode(seq), tok.decodeWithLibrary(seq));
    assert.equal(tok.decode(seq, { skipSpecial: true }), tok.decodeWithLibrary(seq, { skipSpecial: true }));
  }
  assert.equal(tok.decode(tok.encode('\ufeffBOM first')), '\ufeffBOM first');
  assert.deepEqual(tok.encode(''), []);
  assert.equal(tok.decode([]), '');
  assert.deepEqual(tok.encode('', { addBos: true }), [0]);
  assert.equal(tok.encode('hi', { addBos: true })[0], 0);
});

test('special tokens never split; literal special text matches only when parseSpecial (default)', () => {
  const { tok } = trainSmall();
  const boi = tok.tokenToId('<racm3:break>')!;
  assert.equal(boi, 7);
  assert.deepEqual(tok.encode('<racm3:break>'), [boi]);
  assert.deepEqual(tok.encode('x<s>y').slice(1, 2), [0]);
  assert.deepEqual(tok.encode('IMGIMGBZIMGIMGAZ'), [5, 4]);
  const plain = tok.encode('a <racm3:break> <s> IMGIMGAZ', { parseSpecial: false });
  for (const id of plain) assert.ok(id >= SPECIALS.length, `special id ${id} from literal text with parseSpecial false`);
  assert.deepEqual(tok.specials.get('<eoss>'), 6);
  assert.equal(tok.decode([0, ...tok.encode('hi'), 2], { skipSpecial: true }), 'hi');
  assert.equal(tok.decode([0, ...tok.encode('hi')]), '<s>hi');
});

test('bad tokenizer.json files give clear FormatErrors', () => {
  const { json } = trainSmall(300);
  const model = json.model as Record<string, unknown>;
  const bad = (patch: Record<string, unknown>, re: RegExp, top: Record<string, unknown> = {}) =>
    assert.throws(() => HfTextTokenizer.fromJson({ ...json, ...top, model: { ...model, ...patch } }), (e: unknown) => e instanceof FormatError && re.test(e.message));
  bad({ type: 'WordPiece' }, /model\.type is "WordPiece", only "BPE"/);
  bad({ type: 'Unigram' }, /model\.type is "Unigram"/);
  bad({ merges: undefined }, /model\.merges is missing/);
  bad({ merges: [['Ġ', 'zzz']] }, /not in model\.vocab/);
  bad({ merges: ['a'] }, /is not "left right"/);
  bad({ vocab: { a: -1 } }, /non-negative integer id/);
  assert.throws(() => HfTextTokenizer.fromJson('{"model": {"type": "BPE", '), (e: unknown) => e instanceof FormatError && /malformed JSON/.test(e.message));
  assert.throws(() => HfTextTokenizer.fromJson('[]'), FormatError);
  const { tok } = trainSmall(300);
  assert.throws(() => tok.decode([1e6]), /not in the vocabulary/);
});

test('loadTextTokenizer reads a file; errors name the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpe-test-'));
  try {
    const { json, tok } = trainSmall(300);
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const loaded = await loadTextTokenizer(join(dir, 'tokenizer.json'));
    assert.deepEqual(loaded.encode('the chameleon 42'), tok.encode('the chameleon 42'));
    writeFileSync(join(dir, 'bad.json'), '{');
    await assert.rejects(loadTextTokenizer(join(dir, 'bad.json')), /bad\.json: malformed JSON/);
    await assert.rejects(loadTextTokenizer(join(dir, 'missing.json')), /missing\.json: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainChameleonTokenizer: tokenizer.json ids follow the Chameleon layout and agree with the vocabulary', () => {
  const t = trainChameleonTokenizer(corpus(200), { codebookSize: 16, sentinels: 2, reserved: 3, vocabSize: 600, progress: null });
  const v = t.vocab;
  assert.equal(v.size, 600);
  assert.equal(t.text.vocabSize, 600);
  assert.equal(t.text.tokenToId('IMGIMGBFZ'), 4 + 15);
  assert.equal(t.text.tokenToId('<eoss>'), v.eoiId);
  assert.equal(v.eoiId, 20);
  assert.equal(v.boiId, 21);
  assert.equal(v.eotId, 24);
  assert.equal(v.textStart, 27);
  assert.equal(t.text.idToToken(27), '!');
  assert.deepEqual(t.imageBlock([0, 15]), [21, 4, 19, 20]);
  const ids = t.text.encode('a chameleon IMGIMGCZ<racm3:break>', { addBos: true });
  assert.equal(ids[0], v.bosId);
  assert.ok(ids.includes(6) && ids.includes(21));
  for (const id of t.text.encode('plain text 123')) assert.equal(v.kind(id), 'text');
  // A vocabulary built for another layout does not agree.
  const other = Vocabulary.create({ codebookSize: 8, textTokens: [] });
  assert.throws(() => combineVocabulary(other, t.text), /disagree/);
});
