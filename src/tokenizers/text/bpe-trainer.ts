// Byte-level BPE trainer with Chameleon pre-tokenization. Words are counted once; each merge then
// updates pair counts and a pair → word index only for the words that contain the merged pair.
// Ties go to the highest count, then the lexicographically smallest (left, right) token pair.
// Leaves out the tokenizer.json layout (tokenizer-json.ts) and encoding (the library, or bpe.ts).

import { ChameleonError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import { BYTE_ALPHABET, toByteLevel } from './byte-level.js';
import { AddedTokenSplitter, preTokenize } from './pretokenize.js';

export interface BpeTrainOptions {
  /** Target total vocabulary size: special tokens + 256 byte symbols + merges + added tokens. */
  vocabSize: number;
  /** A pair must occur at least this many times to be merged (default 2). */
  minFrequency?: number;
  /** Special tokens, given ids 0..n-1 in this order; matched in text before anything else, never split. */
  specialTokens?: readonly string[];
  /** Non-special added tokens (never split either), given the last ids. */
  addedTokens?: readonly string[];
  /** Progress output: a stream, null for none, 'auto' (default) for stderr when the corpus is over 8 MB. */
  progress?: ProgressStream | null | 'auto';
}

export interface BpeTrainResult {
  /** Token strings in id order (specials, byte alphabet, merged tokens, added tokens). */
  tokens: string[];
  /** Ordered merges (rank = index). */
  merges: [string, string][];
  specialTokens: string[];
  addedTokens: string[];
  /** Pieces counted and distinct words seen, for reports. */
  stats: { pieces: number; words: number; bytes: number };
}

const SHIFT = 2 ** 21; // pair key = left * SHIFT + right; ids stay below 2^21

interface HeapEntry {
  count: number;
  a: number;
  b: number;
}

/** Max-heap on (count, then smallest left token string, then smallest right token string). */
class PairHeap {
  private readonly h: HeapEntry[] = [];
  constructor(private readonly str: string[]) {}

  get size(): number {
    return this.h.length;
  }

  private before(x: HeapEntry, y: HeapEntry): boolean {
    if (x.count !== y.count) return x.count > y.count;
    const xa = this.str[x.a];
    const ya = this.str[y.a];
    if (xa !== ya) return xa < ya;
    return this.str[x.b] < this.str[y.b];
  }

  push(e: HeapEntry): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): HeapEntry | undefined {
    const h = this.h;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l], h[m])) m = l;
        if (r < h.length && this.before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function pairsOf(syms: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < syms.length; i++) out.push(syms[i] * SHIFT + syms[i + 1]);
  return out;
}

/** Trains byte-level BPE merges on `corpus` (documents as strings). Deterministic for a given input. */
export function trainBpe(corpus: Iterable<string>, opts: BpeTrainOptions): BpeTrainResult {
  const specialTokens = [...(opts.specialTokens ?? [])];
  const addedTokens = [...(opts.addedTokens ?? [])];
  const minFrequency = Math.max(1, opts.minFrequency ?? 2);
  const dup = [...specialTokens, ...addedTokens].find((t, i, all) => all.indexOf(t) !== i);
  if (dup !== undefined) throw new ChameleonError(`trainBpe: token ${JSON.stringify(dup)} is listed twice`);
  const base = specialTokens.length + BYTE_ALPHABET.length;
  const mergeBudget = opts.vocabSize - base - addedTokens.length;
  if (!Number.isInteger(opts.vocabSize) || mergeBudget < 0) {
    throw new ChameleonError(
      `trainBpe: vocabSize ${opts.vocabSize} is below the ${base + addedTokens.length} fixed tokens (specials + 256 bytes + added)`,
    );
  }
  if (opts.vocabSize >= SHIFT) throw new ChameleonError(`trainBpe: vocabSize ${opts.vocabSize} exceeds ${SHIFT - 1}`);

  // 1. Count byte-level words (added/special tokens are cut out first and never counted).
  const docs = Array.isArray(corpus) ? (corpus as string[]) : [...corpus];
  let bytes = 0;
  for (const d of docs) bytes += d.length;
  const stream = opts.progress === undefined || opts.progress === 'auto' ? (bytes > 8e6 ? undefined : null) : opts.progress;
  const splitter = new AddedTokenSplitter([...specialTokens, ...addedTokens]);
  const wordCounts = new Map<string, number>();
  let pieces = 0;
  const countBar = stream === null ? null : new ProgressBar({ total: docs.length, label: 'bpe count', unit: 'doc', stream });
  for (const doc of docs) {
    for (const part of splitter.split(doc)) {
      if (part.added) continue;
      for (const piece of preTokenize(part.text)) {
        const w = toByteLevel(piece);
        wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
        pieces++;
      }
    }
    countBar?.tick();
  }
  countBar?.finish();

  // 2. Initial symbols: specials, then the full byte alphabet (so any text stays encodable).
  const tokens: string[] = [...specialTokens, ...BYTE_ALPHABET];
  const idOf = new Map<string, number>();
  tokens.forEach((t, i) => idOf.set(t, i));
  const words: Int32Array[] = [];
  const freq: number[] = [];
  for (const [w, c] of wordCounts) {
    const syms = Int32Array.from(Array.from(w), (ch) => idOf.get(ch)!);
    words.push(syms);
    freq.push(c);
  }

  // 3. Pair counts and the pair → words index.
  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  for (let w = 0; w < words.length; w++) {
    for (const p of pairsOf(words[w])) {
      counts.set(p, (counts.get(p) ?? 0) + freq[w]);
      let s = where.get(p);
      if (!s) where.set(p, (s = new Set()));
      s.add(w);
    }
  }
  const heap = new PairHeap(tokens);
  for (const [p, c] of counts) heap.push({ count: c, a: Math.floor(p / SHIFT), b: p % SHIFT });

  // 4. Merge loop.
  const merges: [string, string][] = [];
  const mergeBar = stream === null ? null : new ProgressBar({ total: mergeBudget, label: 'bpe merges', unit: 'merge', stream });
  let newTokens = 0;
  while (newTokens < mergeBudget) {
    const top = heap.pop();
    if (!top) break;
    const key = top.a * SHIFT + top.b;
    const current = counts.get(key) ?? 0;
    if (current !== top.count) continue; // stale entry; the live one is elsewhere in the heap
    if (current < minFrequency) break;
    const merged = tokens[top.a] + tokens[top.b];
    let c = idOf.get(merged);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(merged);
      idOf.set(merged, c);
      newTokens++;
      mergeBar?.tick();
    }
    merges.push([tokens[top.a], tokens[top.b]]);

    const delta = new Map<number, number>();
    const touched = [...(where.get(key) ?? [])];
    for (const w of touched) {
      const old = words[w];
      const next: number[] = [];
      for (let i = 0; i < old.length; i++) {
        if (i + 1 < old.length && old[i] === top.a && old[i + 1] === top.b) {
          next.push(c);
          i++;
        } else next.push(old[i]);
      }
      const nw = Int32Array.from(next);
      words[w] = nw;
      const f = freq[w];
      const oldPairs = pairsOf(old);
      const newPairs = pairsOf(nw);
      for (const p of oldPairs) delta.set(p, (delta.get(p) ?? 0) - f);
      for (const p of newPairs) delta.set(p, (delta.get(p) ?? 0) + f);
      const newSet = new Set(newPairs);
      for (const p of oldPairs) if (!newSet.has(p)) where.get(p)?.delete(w);
      for (const p of newSet) {
        let s = where.get(p);
        if (!s) where.set(p, (s = new Set()));
        s.add(w);
      }
    }
    for (const [p, d] of delta) {
      if (d === 0) continue;
      const n = (counts.get(p) ?? 0) + d;
      if (n <= 0) {
        counts.delete(p);
        where.delete(p);
      } else {
        counts.set(p, n);
        heap.push({ count: n, a: Math.floor(p / SHIFT), b: p % SHIFT });
      }
    }
    counts.delete(key);
    where.delete(key);
  }
  mergeBar?.finish(`${merges.length} merges`);

  for (const t of addedTokens) {
    if (idOf.has(t)) throw new ChameleonError(`trainBpe: added token ${JSON.stringify(t)} collides with a learned token`);
    idOf.set(t, tokens.length);
    tokens.push(t);
  }
  return { tokens, merges, specialTokens, addedTokens, stats: { pieces, words: words.length, bytes } };
}
