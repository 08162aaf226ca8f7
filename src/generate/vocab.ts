// What generation needs to know about the id space, derived from the tokenizer layer's Vocabulary:
// special ids, the image ids (index = code), and which ids the text state may emit (Meta's rule:
// every id except image ids and names starting with "<", the single character "<" excepted).

import { Vocabulary } from '../tokenizers/vocab.js';

export interface GenVocab {
  readonly size: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly boi: number;
  readonly eoi: number;
  /** End of turn (Meta `<reserved08706>`), or -1 if the vocabulary has none. */
  readonly eot: number;
  /** Vocabulary id of image code c is imageIds[c]. */
  readonly imageIds: Int32Array;
  /** 1 where the text state may emit the id (text tokens; EOS/EOT/BOI are handled separately). */
  readonly textMask: Uint8Array;
  /** Code of an image id, or -1. */
  codeOf(id: number): number;
}

/** The generation view of a Vocabulary. `size` is the model's vocab size (≥ the named ids). */
export function genVocab(v: Vocabulary, size = v.size): GenVocab {
  const textMask = new Uint8Array(size);
  for (const id of v.metaTextTokenIds()) if (id < size) textMask[id] = 1;
  const imageIds = Int32Array.from({ length: v.codebookSize }, (_, c) => v.codeToId(c));
  return {
    size,
    bos: v.bosId,
    eos: v.eosId,
    pad: v.padId,
    boi: v.boiId,
    eoi: v.eoiId,
    eot: v.eotId ?? -1,
    imageIds,
    textMask,
    codeOf: (id: number) => (v.isImage(id) ? id - v.imageStart : -1),
  };
}

/** Shortcut for a Hugging Face `vocabulary_map` (name → id). */
export function vocabFromMap(map: Record<string, number>, size: number): GenVocab {
  return genVocab(Vocabulary.fromVocabularyMap(map, { vocabSize: size }), size);
}
