// The on-disk layout of a tokenized dataset (docs/data-format.md): shards of little-endian token ids
// (uint16 when the vocabulary fits, else uint32) with a parallel uint8 loss mask, and index.json
// (per-shard byte lengths and CRC-32s, per-document shard/offset/length/kind/split). Here: the index
// types, CRC-32, the index checks, and the in-memory shard accumulator. File I/O is in *.node.ts.

import { FormatError } from '../../util/errors.js';
import { DOC_KINDS, type DocKind } from './documents.js';

export const INDEX_FILE = 'index.json';
export const INDEX_FORMAT = 'chameleon-ts/token-shards';
export const INDEX_VERSION = 1;

export type TokenDtype = 'uint16' | 'uint32';

export interface ShardEntry {
  /** File names, relative to the dataset directory. */
  tokens: string;
  mask: string;
  /** Tokens in the shard (tokensBytes / bytes per token = maskBytes). */
  numTokens: number;
  tokensBytes: number;
  maskBytes: number;
  /** CRC-32 (IEEE, as zlib.crc32) of each file's bytes. */
  tokensCrc32: number;
  maskCrc32: number;
}

/** Per-document columns (all the same length = count). */
export interface DocumentColumns {
  count: number;
  shard: number[];
  /** Offset of the first token inside its shard, in tokens. */
  offset: number[];
  length: number[];
  /** Index into DatasetIndex.kinds. */
  kind: number[];
  /** 0 train, 1 validation. */
  split: number[];
  /** Loss-taking tokens, and how many of them are image ids. */
  targets: number[];
  imageTargets: number[];
}

export interface IndexVocab {
  size: number;
  bos: number;
  eos: number;
  pad: number;
  eot: number;
  boi: number;
  eoi: number;
  /** Image ids are [imageStart, imageStart + codebookSize). */
  imageStart: number;
  codebookSize: number;
  imageTokens: number;
}

export interface DatasetIndex {
  format: typeof INDEX_FORMAT;
  version: number;
  tokenDtype: TokenDtype;
  vocab: IndexVocab;
  kinds: DocKind[];
  seed: number;
  valFraction: number;
  /** The model directory whose tokenizers made the tokens (informative). */
  model: string;
  shards: ShardEntry[];
  documents: DocumentColumns;
}

export function bytesPerToken(d: TokenDtype): number {
  return d === 'uint16' ? 2 : 4;
}

export function tokenDtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

let CRC_TABLE: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, reflected, as zlib.crc32) of bytes, continuing from `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks the structure of a parsed index.json; `name` goes in every message. */
export function checkIndex(j: unknown, name: string): DatasetIndex {
  const bad = (what: string): never => {
    throw new FormatError(`${name}: ${what} (not a chameleon-ts dataset index, or a damaged one; rebuild it with \`chameleon data build\`)`);
  };
  if (typeof j !== 'object' || j === null) return bad('not a JSON object');
  const x = j as Partial<DatasetIndex>;
  if (x.format !== INDEX_FORMAT) bad(`"format" is ${JSON.stringify(x.format)}, expected "${INDEX_FORMAT}"`);
  if (x.version !== INDEX_VERSION) bad(`version ${JSON.stringify(x.version)} is not supported (expected ${INDEX_VERSION})`);
  if (x.tokenDtype !== 'uint16' && x.tokenDtype !== 'uint32') bad(`"tokenDtype" must be uint16 or uint32`);
  const v = x.vocab as unknown as Record<string, unknown> | undefined;
  for (const k of ['size', 'bos', 'eos', 'pad', 'boi', 'eoi', 'imageStart', 'codebookSize', 'imageTokens']) {
    if (!v || !isCount(v[k])) bad(`vocab.${k} is missing or not a count`);
  }
  if (!Array.isArray(x.kinds) || x.kinds.some((k) => !(DOC_KINDS as readonly string[]).includes(k))) bad('"kinds" must list document kinds');
  if (!Array.isArray(x.shards)) bad('"shards" is not an array');
  const bpt = bytesPerToken(x.tokenDtype!);
  x.shards!.forEach((s, i) => {
    const e = s as unknown as Record<string, unknown>;
    if (typeof e.tokens !== 'string' || typeof e.mask !== 'string') bad(`shards[${i}] has no file names`);
    for (const k of ['numTokens', 'tokensBytes', 'maskBytes', 'tokensCrc32', 'maskCrc32']) if (!isCount(e[k])) bad(`shards[${i}].${k} is not a count`);
    if (s.tokensBytes !== s.numTokens * bpt || s.maskBytes !== s.numTokens) bad(`shards[${i}] byte lengths do not match its ${s.numTokens} tokens`);
  });
  const d = x.documents as DocumentColumns | undefined;
  if (!d || !isCount(d.count)) return bad('"documents.count" is missing');
  for (const k of ['shard', 'offset', 'length', 'kind', 'split', 'targets', 'imageTargets'] as const) {
    const col = d[k];
    if (!Array.isArray(col) || col.length !== d.count) bad(`documents.${k} must have ${d.count} entries`);
  }
  for (let i = 0; i < d.count; i++) {
    const sh = x.shards![d.shard[i]];
    if (!sh || !isCount(d.offset[i]) || !isCount(d.length[i]) || d.offset[i] + d.length[i] > sh.numTokens) bad(`document ${i} lies outside its shard`);
    if (!isCount(d.kind[i]) || d.kind[i] >= x.kinds!.length) bad(`document ${i} has an unknown kind`);
    if (d.split[i] !== 0 && d.split[i] !== 1) bad(`document ${i} has split ${d.split[i]} (0 train, 1 val)`);
  }
  return x as DatasetIndex;
}

/** One finished shard's bytes, ready to be written. */
export interface ShardBytes {
  index: number;
  tokens: Uint8Array;
  mask: Uint8Array;
  numTokens: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Collects documents into shards of about `shardTokens` tokens (a document never spans two shards). */
export class ShardAccumulator {
  private tokens: Uint16Array | Uint32Array;
  private mask: Uint8Array;
  private used = 0;
  private shardNo = 0;
  readonly docs: DocumentColumns = { count: 0, shard: [], offset: [], length: [], kind: [], split: [], targets: [], imageTargets: [] };

  constructor(
    private readonly dtype: TokenDtype,
    private readonly shardTokens: number,
    private readonly onShard: (s: ShardBytes) => void,
  ) {
    this.tokens = this.alloc(Math.min(shardTokens, 1 << 16));
    this.mask = new Uint8Array(this.tokens.length);
  }

  private alloc(n: number): Uint16Array | Uint32Array {
    return this.dtype === 'uint16' ? new Uint16Array(n) : new Uint32Array(n);
  }

  /** Appends a document (kind as an index into DOC_KINDS, image ids [imageStart, imageEnd)). */
  add(tokens: Int32Array, mask: Uint8Array, kind: number, imageStart: number, imageEnd: number): void {
    if (this.used > 0 && this.used + tokens.length > this.shardTokens) this.flush();
    const need = this.used + tokens.length;
    if (need > this.tokens.length) {
      const cap = Math.max(need, Math.min(this.tokens.length * 2, Math.max(this.shardTokens, need)));
      const t = this.alloc(cap);
      t.set(this.tokens.subarray(0, this.used));
      const m = new Uint8Array(cap);
      m.set(this.mask.subarray(0, this.used));
      this.tokens = t;
      this.mask = m;
    }
    this.tokens.set(tokens, this.used);
    this.mask.set(mask, this.used);
    let targets = 0;
    let img = 0;
    for (let i = 0; i < tokens.length; i++) {
      if (!mask[i]) continue;
      targets++;
      if (tokens[i] >= imageStart && tokens[i] < imageEnd) img++;
    }
    const d = this.docs;
    d.shard.push(this.shardNo);
    d.offset.push(this.used);
    d.length.push(tokens.length);
    d.kind.push(kind);
    d.split.push(0);
    d.targets.push(targets);
    d.imageTargets.push(img);
    d.count++;
    this.used = need;
  }

  /** Emits the current shard (if it holds anything). */
  flush(): void {
    if (this.used === 0) return;
    const n = this.used;
    const bpt = bytesPerToken(this.dtype);
    let bytes: Uint8Array;
    if (LITTLE_ENDIAN) bytes = new Uint8Array(this.tokens.buffer, 0, n * bpt).slice();
    else {
      bytes = new Uint8Array(n * bpt);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) {
        if (bpt === 2) view.setUint16(2 * i, this.tokens[i], true);
        else view.setUint32(4 * i, this.tokens[i], true);
      }
    }
    this.onShard({ index: this.shardNo, tokens: bytes, mask: this.mask.slice(0, n), numTokens: n });
    this.shardNo++;
    this.used = 0;
  }
}

/** Decodes little-endian token bytes into ids. */
export function decodeTokens(bytes: Uint8Array, dtype: TokenDtype): Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / bytesPerToken(dtype);
  const out = new Int32Array(n);
  if (dtype === 'uint16') for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
  else for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

/**
 * Picks exactly round(n · fraction) validation documents (at least one when fraction > 0 and n ≥ 2,
 * never all of them) by a seeded hash of the document number: deterministic and order-independent.
 */
export function chooseValidation(n: number, fraction: number, seed: number): Uint8Array {
  const split = new Uint8Array(n);
  if (fraction <= 0 || n < 2) return split;
  const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const keys = Array.from({ length: n }, (_, i) => [hash32(i, seed), i] as const);
  keys.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let j = 0; j < k; j++) split[keys[j][1]] = 1;
  return split;
}

/** A 32-bit mix of (a, b) (murmur3 finalizer). */
export function hash32(a: number, b: number): number {
  let h = (Math.imul(a >>> 0, 0x9e3779b1) ^ Math.imul((b >>> 0) + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
