// Joins the id space (vocab.ts) with a text tokenizer and checks that they agree on every named id;
// trains a small model's tokenizer whose tokenizer.json already has Chameleon's layout (fixed names at
// their ids, then learned BPE tokens). Leaves out the VQ image tokenizer and prompt assembly.

import { ChameleonError, FormatError } from '../util/errors.js';
import { trainBpe, type BpeTrainOptions } from './text/bpe-trainer.js';
import { HfTextTokenizer, type TextTokenizer } from './text/text-tokenizer.js';
import { buildTokenizerJson } from './text/tokenizer-json.js';
import { Vocabulary, type VocabularyLayoutOptions } from './vocab.js';

/** A text tokenizer and the id space it lives in, checked to agree. */
export interface ChameleonTokenizer {
  vocab: Vocabulary;
  text: TextTokenizer;
  /** `[boi, code + 4 …, eoi]` for a list of VQ codes in raster order. */
  imageBlock(codes: ArrayLike<number>): number[];
}

/**
 * Checks that every name in `vocab` has the same id in `text` (when `text` knows the name) and that
 * every text-tokenizer id fits in the vocabulary; throws a FormatError listing the first mismatches.
 * `requireAll` also demands that every special and image name exist in the text tokenizer.
 */
export function combineVocabulary(vocab: Vocabulary, text: TextTokenizer, opts: { requireAll?: boolean } = {}): ChameleonTokenizer {
  const problems: string[] = [];
  if (text.vocabSize > vocab.size) problems.push(`text tokenizer has ${text.vocabSize} ids but the vocabulary only ${vocab.size}`);
  for (let id = 0; id < vocab.size && problems.length < 5; id++) {
    const name = vocab.nameOf(id);
    if (name === undefined) continue;
    const tid = text.tokenToId(name);
    if (tid === undefined) {
      if (opts.requireAll && vocab.kinds[id] !== 0) problems.push(`${JSON.stringify(name)} (id ${id}) is missing from the text tokenizer`);
    } else if (tid !== id) problems.push(`${JSON.stringify(name)} is id ${id} in the vocabulary but ${tid} in the text tokenizer`);
  }
  if (problems.length > 0) throw new FormatError(`text tokenizer and vocabulary disagree: ${problems.join('; ')}`);
  return {
    vocab,
    text,
    imageBlock(codes: ArrayLike<number>): number[] {
      const out = [vocab.boiId];
      for (let i = 0; i < codes.length; i++) out.push(vocab.codeToId(codes[i]));
      out.push(vocab.eoiId);
      return out;
    },
  };
}

export interface TrainChameleonOptions extends VocabularyLayoutOptions, Omit<BpeTrainOptions, 'specialTokens' | 'addedTokens'> {}

export interface TrainedChameleonTokenizer extends ChameleonTokenizer {
  /** The HF tokenizer.json object (JSON.stringify it to save). */
  json: Record<string, unknown>;
  merges: number;
}

/**
 * Trains a byte-level BPE for a small Chameleon model: fixed names (specials, image codes, sentinels,
 * reserved) take ids 0..textStart-1 as special added tokens, learned tokens follow up to `vocabSize`.
 */
export function trainChameleonTokenizer(corpus: Iterable<string>, opts: TrainChameleonOptions): TrainedChameleonTokenizer {
  const prefix = Vocabulary.layout(opts);
  if (opts.vocabSize < prefix.length + 256) {
    throw new ChameleonError(`vocabSize ${opts.vocabSize} leaves no room: ${prefix.length} fixed ids + 256 byte tokens are needed`);
  }
  const result = trainBpe(corpus, { vocabSize: opts.vocabSize, minFrequency: opts.minFrequency, progress: opts.progress, specialTokens: prefix });
  const json = buildTokenizerJson(result);
  const vocab = Vocabulary.create({ ...opts, textTokens: result.tokens.slice(prefix.length) });
  const text = HfTextTokenizer.fromJson(json);
  return { ...combineVocabulary(vocab, text, { requireAll: true }), json, merges: result.merges.length };
}
