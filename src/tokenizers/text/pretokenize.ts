// Chameleon pre-tokenization (spec §3.1): split on added/special tokens, then a sequence of isolating
// regex splits (sentinels, image names, tab/newline and 4/2-space runs, single digits, punctuation),
// then the GPT-2 pattern. Also the HF `tokenizer.json` serialisation of that pre-tokenizer, so the
// trainer and the loaded library agree. Leaves out byte mapping (byte-level.ts) and merges (bpe.ts).

/** The isolating Split patterns of Chameleon's tokenizer.json, in order (Oniguruma source text). */
const CHAMELEON_SPLIT_PATTERNS: readonly string[] = [
  '<sentinel:[0-9]+>',
  '(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z',
  '([\\t\\n]|    |  )',
  '\\p{N}',
  '[\\p{P}!-/:-@\\[-`{-~]',
];

/**
 * The GPT-2 pattern as HF ByteLevel(use_regex=true) applies it (the trailing `|\s+` keeps trailing
 * whitespace). Written as the pure-JS library compiles it (JS `\s`, which also counts U+FEFF).
 */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const SPLIT_REGEXES = CHAMELEON_SPLIT_PATTERNS.map((p) => new RegExp(p, 'gu'));
const GPT2_REGEX = new RegExp(GPT2_PATTERN, 'gu');

/** HF `tokenizers` JSON of the Chameleon pre-tokenizer (Split × 5, Isolated, then ByteLevel). */
export function chameleonPreTokenizerJson(): Record<string, unknown> {
  return {
    type: 'Sequence',
    pretokenizers: [
      ...CHAMELEON_SPLIT_PATTERNS.map((p) => ({ type: 'Split', pattern: { Regex: p }, behavior: 'Isolated', invert: false })),
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    ],
  };
}

/** Splits `text` so that every match of `re` is its own piece (HF Split behavior "Isolated"). */
function isolate(text: string, re: RegExp, out: string[]): void {
  let prev = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index;
    if (at > prev) out.push(text.slice(prev, at));
    if (m[0].length > 0) out.push(m[0]);
    prev = at + m[0].length;
  }
  if (prev < text.length) out.push(text.slice(prev));
}

/** Pre-tokenizes text that contains no added tokens: the pieces BPE is applied to (not byte-mapped). */
export function preTokenize(text: string): string[] {
  let pieces = text.length > 0 ? [text] : [];
  for (const re of SPLIT_REGEXES) {
    const next: string[] = [];
    for (const p of pieces) isolate(p, re, next);
    pieces = next;
  }
  const out: string[] = [];
  for (const p of pieces) for (const m of p.matchAll(GPT2_REGEX)) if (m[0].length > 0) out.push(m[0]);
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Leftmost-longest splitter on a fixed set of strings (added tokens), like HF's added-token pass. */
export class AddedTokenSplitter {
  private readonly re: RegExp | null;
  private readonly set: ReadonlySet<string>;

  constructor(tokens: Iterable<string>) {
    const list = [...new Set(tokens)].filter((t) => t.length > 0).sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.set = new Set(list);
    this.re = list.length > 0 ? new RegExp(list.map(escapeRegExp).join('|'), 'gu') : null;
  }

  /** Pieces of `text` in order; `added` tells whether the piece is one of the tokens. */
  split(text: string): { text: string; added: boolean }[] {
    const out: { text: string; added: boolean }[] = [];
    if (!this.re) {
      if (text.length > 0) out.push({ text, added: false });
      return out;
    }
    let prev = 0;
    for (const m of text.matchAll(this.re)) {
      if (m.index > prev) out.push({ text: text.slice(prev, m.index), added: false });
      out.push({ text: m[0], added: true });
      prev = m.index + m[0].length;
    }
    if (prev < text.length) out.push({ text: text.slice(prev), added: false });
    return out;
  }

  has(token: string): boolean {
    return this.set.has(token);
  }
}
