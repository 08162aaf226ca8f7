// The TextTokenizer interface the rest of chameleon-ts uses, and its implementation over the pure-JS
// `@huggingface/tokenizers` library loading an HF byte-level BPE tokenizer.json unchanged (the real
// Chameleon file or one our trainer wrote). Leaves out file reading (load.node.ts) and training.

import { Tokenizer } from '@huggingface/tokenizers';
import { FormatError } from '../../util/errors.js';
import { fromByteLevel } from './byte-level.js';
import { parseTokenizerJson, type BpeTokenizerJson } from './tokenizer-json.js';

export interface EncodeOptions {
  /** Prepend the BOS token (`<s>`) once. Default false. */
  addBos?: boolean;
  /**
   * Match special added tokens typed literally in the text (`<racm3:break>` → its id), as HF does by
   * default. Default true. With false, special tokens in the text are encoded as plain text
   * (`<s>` → `<`, `s`, `>`), which is what untrusted user text wants. Non-special added tokens always match.
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, image codes, sentinels, ...) from the output. Default false. */
  skipSpecial?: boolean;
}

/** A text tokenizer in Chameleon's single id space. Swappable: nothing outside this folder sees the library. */
export interface TextTokenizer {
  /** Number of ids (highest id + 1), added tokens included. */
  readonly vocabSize: number;
  /** Special added tokens: content → id (`<s>`, `</s>`, image names, `<racm3:break>`, ...). */
  readonly specials: ReadonlyMap<string, number>;
  /** Id of `<s>` when the vocabulary has it. */
  readonly bosId: number | undefined;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

interface LibEncoding {
  ids: number[];
}
interface LibTokenizer {
  encode(text: string, opts: { add_special_tokens: boolean }): LibEncoding;
  decode(ids: number[], opts: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
}

/** TextTokenizer over `@huggingface/tokenizers` (pure JS; runs in Node and browsers). */
export class HfTextTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly specials: ReadonlyMap<string, number>;
  readonly bosId: number | undefined;
  private readonly idToTok: string[];
  private readonly tokToId: Map<string, number>;
  private readonly lib: LibTokenizer;
  private libPlain: LibTokenizer | null = null;
  /** Per id: 0 ordinary token, 1 non-special added token, 2 special added token. */
  private readonly addedKind: Uint8Array;
  /** True when the decoder is plain ByteLevel, so decode() can skip the library (see decodeByteLevel). */
  private readonly byteLevelDecoder: boolean;

  private constructor(readonly json: BpeTokenizerJson) {
    this.tokToId = new Map(json.vocab);
    for (const a of json.addedTokens) this.tokToId.set(a.content, a.id);
    this.idToTok = [];
    for (const [t, id] of this.tokToId) this.idToTok[id] = t;
    this.vocabSize = this.idToTok.length;
    this.specials = new Map(json.addedTokens.filter((a) => a.special).map((a) => [a.content, a.id]));
    this.bosId = this.specials.get('<s>') ?? this.tokToId.get('<s>');
    this.addedKind = new Uint8Array(this.vocabSize);
    for (const a of json.addedTokens) this.addedKind[a.id] = a.special ? 2 : 1;
    const dec = json.raw.decoder as { type?: unknown } | null | undefined;
    this.byteLevelDecoder = dec?.type === 'ByteLevel';
    this.lib = HfTextTokenizer.makeLib(json.raw);
  }

  private static makeLib(raw: Record<string, unknown>): LibTokenizer {
    try {
      return new Tokenizer(raw, { clean_up_tokenization_spaces: false }) as unknown as LibTokenizer;
    } catch (e) {
      throw new FormatError(`tokenizer.json: the tokenizer library rejected it (${(e as Error).message})`);
    }
  }

  /** Loads a tokenizer.json given as text or as a parsed object. Throws FormatError on a bad file. */
  static fromJson(input: string | unknown, source = 'tokenizer.json'): HfTextTokenizer {
    return new HfTextTokenizer(parseTokenizerJson(input, source));
  }

  /** A second library instance in which special added tokens are not matched in text. */
  private plain(): LibTokenizer {
    if (!this.libPlain) {
      const raw = { ...this.json.raw, added_tokens: this.json.addedTokens.filter((a) => !a.special) };
      this.libPlain = HfTextTokenizer.makeLib(raw);
    }
    return this.libPlain;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const lib = opts.parseSpecial === false ? this.plain() : this.lib;
    const ids = text.length > 0 ? lib.encode(text, { add_special_tokens: false }).ids : [];
    if (opts.addBos) {
      if (this.bosId === undefined) throw new FormatError('tokenizer.json has no <s> token, so addBos cannot be honoured');
      ids.unshift(this.bosId);
    }
    return ids;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.idToTok[id] === undefined) {
        throw new FormatError(`decode: id ${id} is not in the vocabulary (size ${this.vocabSize})`);
      }
    }
    if (ids.length === 0) return '';
    if (this.byteLevelDecoder) return this.decodeByteLevel(ids, opts.skipSpecial === true);
    return this.lib.decode([...ids], { skip_special_tokens: opts.skipSpecial === true, clean_up_tokenization_spaces: false });
  }

  /**
   * The library's ByteLevel decoder, without its linear scan of all added tokens per token (which
   * makes decoding with Chameleon's ~16k added tokens 10-100x slower): runs of ordinary tokens are
   * byte-decoded together (lossy UTF-8, BOM kept), added tokens are copied verbatim.
   */
  private decodeByteLevel(ids: readonly number[], skipSpecial: boolean): string {
    let out = '';
    let run = '';
    for (const id of ids) {
      const k = this.addedKind[id];
      if (k === 0) {
        run += this.idToTok[id];
        continue;
      }
      if (run) {
        out += fromByteLevel(run);
        run = '';
      }
      if (!(k === 2 && skipSpecial)) out += this.idToTok[id];
    }
    if (run) out += fromByteLevel(run);
    return out;
  }

  /** Decodes with the library itself (reference for tests of the fast path). */
  decodeWithLibrary(ids: readonly number[], opts: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    return this.lib.decode([...ids], { skip_special_tokens: opts.skipSpecial === true, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.tokToId.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.idToTok[id];
  }
}
