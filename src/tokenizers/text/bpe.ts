// Reference byte-level BPE: applies an ordered merge list to pre-tokenized words, exactly as HF
// `tokenizers` does (lowest-rank pair first, occurrences left to right). Used as the oracle that the
// library encodes with our trained merges, and by the trainer's tests. Leaves out training and loading.

import { ChameleonError } from '../../util/errors.js';
import { toByteLevel } from './byte-level.js';
import { AddedTokenSplitter, preTokenize } from './pretokenize.js';

/** Key of a merge pair in rank maps (byte-level symbols never contain a space). */
export function pairKey(a: string, b: string): string {
  return `${a} ${b}`;
}

/** Splits a byte-level word into symbols by applying merges in rank order. */
export function applyMerges(word: string, ranks: ReadonlyMap<string, number>): string[] {
  let syms = Array.from(word);
  while (syms.length > 1) {
    let best = Infinity;
    let bestA = '';
    let bestB = '';
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = ranks.get(pairKey(syms[i], syms[i + 1]));
      if (r !== undefined && r < best) {
        best = r;
        bestA = syms[i];
        bestB = syms[i + 1];
      }
    }
    if (best === Infinity) break;
    const next: string[] = [];
    for (let i = 0; i < syms.length; i++) {
      if (i + 1 < syms.length && syms[i] === bestA && syms[i + 1] === bestB) {
        next.push(bestA + bestB);
        i++;
      } else next.push(syms[i]);
    }
    syms = next;
  }
  return syms;
}

/** A BPE model in plain maps: token → id and merge → rank. */
export class ReferenceBpe {
  readonly ranks: Map<string, number>;
  private readonly splitter: AddedTokenSplitter;
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    merges: readonly (readonly [string, string])[],
    addedTokens: readonly string[] = [],
  ) {
    this.ranks = new Map(merges.map(([a, b], i) => [pairKey(a, b), i]));
    this.splitter = new AddedTokenSplitter(addedTokens);
  }

  private idOf(tok: string): number {
    const id = this.vocab.get(tok);
    if (id === undefined) throw new ChameleonError(`reference BPE: symbol ${JSON.stringify(tok)} is not in the vocabulary`);
    return id;
  }

  /** Ids of one pre-tokenized piece (plain text, not yet byte-mapped). */
  encodeWord(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    const ids = applyMerges(toByteLevel(piece), this.ranks).map((s) => this.idOf(s));
    if (this.cache.size < 100_000) this.cache.set(piece, ids);
    return ids;
  }

  /** Full encode: added tokens matched first, the rest pre-tokenized and merged. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const part of this.splitter.split(text)) {
      if (part.added) out.push(this.idOf(part.text));
      else for (const piece of preTokenize(part.text)) for (const id of this.encodeWord(piece)) out.push(id);
    }
    return out;
  }
}
