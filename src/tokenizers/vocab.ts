// Chameleon's single id space (spec §3.2-3.3): <s> <pad> </s> <unk>, image codes at code + 4 named
// IMGIMG…Z, <eoss> (end of image), <racm3:break> (begin of image), sentinels, reserved ids (the first is
// the end-of-turn token, the second HF's <image>), then byte-level BPE text tokens. Built from an HF
// `vocabulary_map` or created for a small model; O(1) id classification. Leaves out encoding text.

import { ChameleonError, FormatError } from '../util/errors.js';

export type TokenKind = 'text' | 'image' | 'special';
const KIND_TEXT = 0;
const KIND_IMAGE = 1;
const KIND_SPECIAL = 2;
const KIND_NAMES: readonly TokenKind[] = ['text', 'image', 'special'];

/** Offset of image code 0 in the id space (vocab id = code + 4). */
const IMAGE_ID_OFFSET = 4;
const DIGIT_LETTERS = 'ABCDEFGHIJ';

/** Vocabulary name of image code `code`: IMGIMG + decimal digits as letters A=0…J=9 + Z. */
export function imageTokenName(code: number): string {
  if (!Number.isInteger(code) || code < 0) throw new ChameleonError(`image code ${code} is not a non-negative integer`);
  let s = '';
  for (const d of String(code)) s += DIGIT_LETTERS[d.charCodeAt(0) - 48];
  return `IMGIMG${s}Z`;
}

/** Image code of a canonical image token name, or null when `name` is not one. */
export function parseImageTokenName(name: string): number | null {
  const m = /^IMGIMG([A-J]+)Z$/.exec(name);
  if (!m) return null;
  let code = 0;
  for (const ch of m[1]) code = code * 10 + (ch.charCodeAt(0) - 65);
  return imageTokenName(code) === name ? code : null;
}

/** Names Chameleon treats as control tokens when they appear in a vocabulary_map. */
const SPECIAL_NAME_RE = /^<(?:s|\/s|pad|unk|eoss|racm3:break|image|sentinel:\d+|reserved\d+)>$/;

export interface VocabularyCreateOptions {
  /** Number of VQ codes (8192 for the real model). */
  codebookSize: number;
  /** Text tokens in id order (from our BPE trainer: byte alphabet then merged tokens). */
  textTokens: readonly string[];
  /** Number of `<sentinel:N>` tokens (512 in the real model; default 0). */
  sentinels?: number;
  /** Reserved ids after the sentinels, at least 2: end-of-turn and `<image>` (7674 in the real model; default 2). */
  reserved?: number;
}

export interface VocabularyLayoutOptions {
  codebookSize: number;
  sentinels?: number;
  reserved?: number;
}

/** Reserved token name by the Meta rule `<reservedNNNNN>` ↔ id NNNNN + 4. */
function reservedName(id: number): string {
  return `<reserved${String(id - 4).padStart(5, '0')}>`;
}

export class Vocabulary {
  readonly size: number;
  readonly bosId: number;
  readonly padId: number;
  readonly eosId: number;
  readonly unkId: number;
  /** Begin-of-image `<racm3:break>`. */
  readonly boiId: number;
  /** End-of-image `<eoss>`. */
  readonly eoiId: number;
  /** End-of-turn (`<reserved08706>` in the real model); null when the vocabulary has none. */
  readonly eotId: number | null;
  /** HF's `<image>` placeholder; null when absent. */
  readonly imagePlaceholderId: number | null;
  /** Image ids are [imageStart, imageStart + codebookSize). */
  readonly imageStart = IMAGE_ID_OFFSET;
  readonly codebookSize: number;
  /** Per id: KIND_TEXT, KIND_IMAGE or KIND_SPECIAL. */
  readonly kinds: Uint8Array;
  private readonly names: (string | undefined)[];
  private readonly ids: Map<string, number>;
  private metaText: Int32Array | null = null;

  private constructor(names: (string | undefined)[], kinds: Uint8Array, codebookSize: number, source: string) {
    this.names = names;
    this.kinds = kinds;
    this.size = names.length;
    this.codebookSize = codebookSize;
    this.ids = new Map();
    names.forEach((n, i) => {
      if (n !== undefined) this.ids.set(n, i);
    });
    const need = (name: string, role: string): number => {
      const id = this.ids.get(name);
      if (id === undefined) throw new FormatError(`${source}: no ${role} token ${JSON.stringify(name)}`);
      return id;
    };
    this.bosId = need('<s>', 'BOS');
    this.padId = need('<pad>', 'padding');
    this.eosId = need('</s>', 'EOS');
    this.unkId = need('<unk>', 'unknown');
    this.boiId = need('<racm3:break>', 'begin-of-image');
    this.eoiId = need('<eoss>', 'end-of-image');
    this.eotId = this.ids.get('<reserved08706>') ?? null;
    this.imagePlaceholderId = this.ids.get('<image>') ?? null;
  }

  /** Names of the fixed ids before the text tokens, in id order (what the BPE trainer reserves). */
  static layout(opts: VocabularyLayoutOptions): string[] {
    const { codebookSize } = opts;
    const sentinels = opts.sentinels ?? 0;
    const reserved = opts.reserved ?? 2;
    if (!Number.isInteger(codebookSize) || codebookSize < 1) throw new ChameleonError(`codebookSize ${codebookSize} must be a positive integer`);
    if (!Number.isInteger(sentinels) || sentinels < 0) throw new ChameleonError(`sentinels ${sentinels} must be a non-negative integer`);
    if (!Number.isInteger(reserved) || reserved < 2) throw new ChameleonError(`reserved ${reserved} must be an integer >= 2 (end-of-turn and <image>)`);
    const names = ['<s>', '<pad>', '</s>', '<unk>'];
    for (let c = 0; c < codebookSize; c++) names.push(imageTokenName(c));
    names.push('<eoss>', '<racm3:break>');
    for (let i = 0; i < sentinels; i++) names.push(`<sentinel:${i}>`);
    const eot = names.length;
    for (let i = 0; i < reserved; i++) {
      const id = names.length;
      // The real model's rule is <reservedNNNNN> = id - 4 (eot = <reserved08706> at 8710); a small
      // vocabulary keeps the real end-of-turn name so code that looks it up by name still works.
      if (i === 0) names.push('<reserved08706>');
      else if (i === 1) names.push('<image>');
      else names.push(eot === 8710 ? reservedName(id) : `<reserved${String(8706 + i).padStart(5, '0')}>`);
    }
    return names;
  }

  /** Creates the id space of a model with `codebookSize` codes and the given text tokens. */
  static create(opts: VocabularyCreateOptions): Vocabulary {
    const prefix = Vocabulary.layout(opts);
    const names: (string | undefined)[] = [...prefix, ...opts.textTokens];
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n!)) throw new ChameleonError(`Vocabulary.create: token ${JSON.stringify(n)} appears twice`);
      seen.add(n!);
    }
    const kinds = new Uint8Array(names.length).fill(KIND_TEXT);
    kinds.fill(KIND_SPECIAL, 0, prefix.length);
    kinds.fill(KIND_IMAGE, IMAGE_ID_OFFSET, IMAGE_ID_OFFSET + opts.codebookSize);
    return new Vocabulary(names, kinds, opts.codebookSize, 'Vocabulary.create');
  }

  /**
   * Builds the id space from an HF config.json `vocabulary_map` (name → id). Image names must map to
   * code + 4 for codes 0..N-1 with no gaps; `vocabSize` (config.vocab_size) may exceed the map.
   */
  static fromVocabularyMap(map: Record<string, number>, opts: { vocabSize?: number; source?: string } = {}): Vocabulary {
    const source = opts.source ?? 'vocabulary_map';
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FormatError(`${source}: expected an object of name → id`);
    let maxId = -1;
    const entries = Object.entries(map);
    for (const [name, id] of entries) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new FormatError(`${source}: ${JSON.stringify(name)} → ${JSON.stringify(id)} is not a non-negative integer id`);
      }
      maxId = Math.max(maxId, id);
    }
    const size = Math.max(maxId + 1, opts.vocabSize ?? 0);
    const names: (string | undefined)[] = new Array(size);
    const kinds = new Uint8Array(size).fill(KIND_SPECIAL); // ids without a name are never text
    const codes: [number, number][] = [];
    for (const [name, id] of entries) {
      if (names[id] !== undefined) throw new FormatError(`${source}: id ${id} is used by both ${JSON.stringify(names[id])} and ${JSON.stringify(name)}`);
      names[id] = name;
      const code = parseImageTokenName(name);
      if (code !== null) {
        codes.push([code, id]);
        kinds[id] = KIND_IMAGE;
      } else kinds[id] = SPECIAL_NAME_RE.test(name) ? KIND_SPECIAL : KIND_TEXT;
    }
    if (codes.length === 0) throw new FormatError(`${source}: no image tokens (IMGIMG…Z) found`);
    codes.sort((a, b) => a[0] - b[0]);
    codes.forEach(([code, id], i) => {
      if (code !== i) throw new FormatError(`${source}: image codes are not 0..${codes.length - 1} without gaps (code ${i} is missing)`);
      if (id !== code + IMAGE_ID_OFFSET) {
        throw new FormatError(
          `${source}: image token ${imageTokenName(code)} has id ${id}, expected ${code + IMAGE_ID_OFFSET} ` +
            `(Chameleon requires the monotone mapping id = code + ${IMAGE_ID_OFFSET})`,
        );
      }
    });
    return new Vocabulary(names, kinds, codes.length, source);
  }

  /** Id of a token name, or undefined. */
  idOf(name: string): number | undefined {
    return this.ids.get(name);
  }

  /** Name of an id, or undefined for an unnamed or out-of-range id. */
  nameOf(id: number): string | undefined {
    return this.names[id];
  }

  /** 'text' | 'image' | 'special' in O(1). Out-of-range ids are an error. */
  kind(id: number): TokenKind {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new ChameleonError(`id ${id} is outside the vocabulary (size ${this.size})`);
    return KIND_NAMES[this.kinds[id]];
  }

  isImage(id: number): boolean {
    return id >= IMAGE_ID_OFFSET && id < IMAGE_ID_OFFSET + this.codebookSize;
  }

  /** Vocabulary id of image code `code`. */
  codeToId(code: number): number {
    if (!Number.isInteger(code) || code < 0 || code >= this.codebookSize) throw new ChameleonError(`image code ${code} is outside 0..${this.codebookSize - 1}`);
    return code + IMAGE_ID_OFFSET;
  }

  /** Image code of vocabulary id `id`. */
  idToCode(id: number): number {
    if (!this.isImage(id)) throw new ChameleonError(`id ${id} is not an image token (image ids are ${IMAGE_ID_OFFSET}..${IMAGE_ID_OFFSET + this.codebookSize - 1})`);
    return id - IMAGE_ID_OFFSET;
  }

  /** First id after which every named id is text (16384 in the real model). */
  get textStart(): number {
    let i = this.size;
    while (i > 0 && this.kinds[i - 1] === KIND_TEXT) i--;
    return i;
  }

  /**
   * Meta's sampling "text token" set (VocabInfo): every named id minus image ids minus every name that
   * starts with "<" (except the single character "<"), sorted.
   */
  metaTextTokenIds(): Int32Array {
    if (!this.metaText) {
      const out: number[] = [];
      for (let id = 0; id < this.size; id++) {
        const n = this.names[id];
        if (n === undefined || this.isImage(id)) continue;
        if (n.startsWith('<') && n !== '<') continue;
        out.push(id);
      }
      this.metaText = Int32Array.from(out);
    }
    return this.metaText;
  }

  /** The HF config.json `vocabulary_map` (name → id) of this id space. */
  toVocabularyMap(): Record<string, number> {
    const out: Record<string, number> = {};
    this.names.forEach((n, i) => {
      if (n !== undefined) out[n] = i;
    });
    return out;
  }
}
