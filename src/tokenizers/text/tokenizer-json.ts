// HF `tokenizer.json` for byte-level BPE: validation of a loaded file (clear FormatErrors for a
// non-BPE model, malformed JSON, missing or dangling merges) and writing one from a training result
// with Chameleon's pre-tokenizer, ByteLevel decoder and special added tokens. Leaves out encoding.

import { FormatError } from '../../util/errors.js';
import type { BpeTrainResult } from './bpe-trainer.js';
import { chameleonPreTokenizerJson } from './pretokenize.js';

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The parts of a BPE tokenizer.json we rely on, validated. `raw` is the whole object for the library. */
export interface BpeTokenizerJson {
  raw: Record<string, unknown>;
  vocab: Map<string, number>;
  merges: [string, string][];
  addedTokens: AddedTokenJson[];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Parses and checks a byte-level BPE tokenizer.json (text or already-parsed object). */
export function parseTokenizerJson(input: string | unknown, source = 'tokenizer.json'): BpeTokenizerJson {
  let obj: unknown = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw new FormatError(`${source}: malformed JSON (${(e as Error).message})`);
    }
  }
  if (!isObject(obj)) throw new FormatError(`${source}: expected a JSON object at the top level`);
  const model = obj.model;
  if (!isObject(model)) throw new FormatError(`${source}: missing "model" object`);
  const type = model.type ?? (model.merges !== undefined ? 'BPE' : undefined);
  if (type !== 'BPE') {
    throw new FormatError(`${source}: model.type is ${JSON.stringify(type ?? null)}, only "BPE" (byte-level BPE) is supported`);
  }
  if (!isObject(model.vocab)) throw new FormatError(`${source}: model.vocab is missing or not an object`);
  const vocab = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [tok, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new FormatError(`${source}: model.vocab[${JSON.stringify(tok)}] = ${JSON.stringify(id)} is not a non-negative integer id`);
    }
    const other = seen.get(id);
    if (other !== undefined) throw new FormatError(`${source}: id ${id} is used by both ${JSON.stringify(other)} and ${JSON.stringify(tok)}`);
    seen.set(id, tok);
    vocab.set(tok, id);
  }
  if (model.merges === undefined) throw new FormatError(`${source}: model.merges is missing (a BPE model needs its merge list)`);
  if (!Array.isArray(model.merges)) throw new FormatError(`${source}: model.merges is not an array`);
  const merges: [string, string][] = [];
  model.merges.forEach((m: unknown, i: number) => {
    let pair: [string, string] | null = null;
    if (typeof m === 'string') {
      const sp = m.indexOf(' ');
      if (sp > 0 && sp < m.length - 1 && m.indexOf(' ', sp + 1) < 0) pair = [m.slice(0, sp), m.slice(sp + 1)];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      pair = [m[0], m[1]];
    }
    if (!pair) throw new FormatError(`${source}: model.merges[${i}] = ${JSON.stringify(m)} is not "left right" or [left, right]`);
    for (const t of [pair[0], pair[1], pair[0] + pair[1]]) {
      if (!vocab.has(t)) throw new FormatError(`${source}: model.merges[${i}] uses ${JSON.stringify(t)}, which is not in model.vocab`);
    }
    merges.push(pair);
  });
  const addedRaw = obj.added_tokens ?? [];
  if (!Array.isArray(addedRaw)) throw new FormatError(`${source}: added_tokens is not an array`);
  const addedTokens = addedRaw.map((a: unknown, i: number): AddedTokenJson => {
    if (!isObject(a) || typeof a.content !== 'string' || typeof a.id !== 'number' || !Number.isInteger(a.id)) {
      throw new FormatError(`${source}: added_tokens[${i}] needs an integer "id" and a string "content"`);
    }
    return {
      id: a.id,
      content: a.content,
      single_word: a.single_word === true,
      lstrip: a.lstrip === true,
      rstrip: a.rstrip === true,
      normalized: a.normalized === true,
      special: a.special === true,
    };
  });
  if (model.byte_fallback === true) throw new FormatError(`${source}: byte_fallback BPE (sentencepiece style) is not supported; expected byte-level BPE`);
  return { raw: obj, vocab, merges, addedTokens };
}

export interface BuildTokenizerJsonOptions {
  /** Token the post-processor prepends for HF users (default "<s>" when it is a special token; null for none). */
  bosToken?: string | null;
}

/** Writes the HF tokenizer.json object for a training result (pass to JSON.stringify). */
export function buildTokenizerJson(result: BpeTrainResult, opts: BuildTokenizerJsonOptions = {}): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  result.tokens.forEach((t, i) => (vocab[t] = i));
  const special = new Set(result.specialTokens);
  const added: AddedTokenJson[] = [...result.specialTokens, ...result.addedTokens].map((t) => ({
    id: vocab[t],
    content: t,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: special.has(t),
  }));
  added.sort((a, b) => a.id - b.id);
  const bos = opts.bosToken === undefined ? (special.has('<s>') ? '<s>' : null) : opts.bosToken;
  const postProcessor =
    bos === null
      ? null
      : {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: bos, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [bos]: { id: bos, ids: [vocab[bos]], tokens: [bos] } },
        };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: chameleonPreTokenizerJson(),
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: result.merges.map(([a, b]) => [a, b]),
    },
  };
}
