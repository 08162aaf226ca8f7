// The safetensors format without any I/O: the dtype table, header parsing + validation from bytes,
// header/file serialization, bf16/f16 widening and checkTensors (expected vs found tensor sets).
// Everything works on Uint8Arrays; reading files, shards and indexes lives in safetensors.node.ts.
// Leaves out: big-endian hosts for typed-array input (rejected), and any tensor math.

import { FormatError, ChameleonError, fmtShape } from '../util/errors.js';
import { type ScalarDType, bf16ToF32, f16ToF32 } from '../engine/dtype.js';

/** Every dtype string the safetensors format defines (the names are the on-disk spelling). */
export type StDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

export interface StDTypeInfo {
  /** Bytes per element. */
  readonly bytes: number;
  /** The engine dtype these bytes can be used as directly, or null when the engine has none. */
  readonly engine: ScalarDType | null;
}

export const ST_DTYPES: { readonly [K in StDType]: StDTypeInfo } = {
  BOOL: { bytes: 1, engine: null },
  U8: { bytes: 1, engine: null },
  I8: { bytes: 1, engine: null },
  F8_E5M2: { bytes: 1, engine: null },
  F8_E4M3: { bytes: 1, engine: null },
  I16: { bytes: 2, engine: null },
  U16: { bytes: 2, engine: null },
  F16: { bytes: 2, engine: 'f16' },
  BF16: { bytes: 2, engine: 'bf16' },
  I32: { bytes: 4, engine: 'i32' },
  U32: { bytes: 4, engine: null },
  F32: { bytes: 4, engine: 'f32' },
  F64: { bytes: 8, engine: null },
  I64: { bytes: 8, engine: null },
  U64: { bytes: 8, engine: null },
};

const ENGINE_TO_ST: { readonly [D in ScalarDType]: StDType } = { f32: 'F32', bf16: 'BF16', f16: 'F16', i32: 'I32' };

/** Safetensors refuses headers above 100 MB; so do we (a corrupt length must not allocate gigabytes). */
const MAX_HEADER_BYTES = 100_000_000;

export function isStDType(s: string): s is StDType {
  return Object.prototype.hasOwnProperty.call(ST_DTYPES, s);
}

/** Accepts either an engine dtype ('f32') or a safetensors name ('F32', case-insensitive). */
export function toStDType(d: string): StDType {
  if (d in ENGINE_TO_ST) return ENGINE_TO_ST[d as ScalarDType];
  const up = d.toUpperCase();
  if (isStDType(up)) return up;
  throw new ChameleonError(`unknown dtype "${d}" (expected one of f32, bf16, f16, i32 or ${Object.keys(ST_DTYPES).join(', ')})`);
}

/** The engine dtype for a tensor's stored dtype; a clear error naming tensor and dtype when there is none. */
export function engineDType(dtype: StDType, tensor: string, file: string): ScalarDType {
  const e = ST_DTYPES[dtype].engine;
  if (e === null) {
    throw new FormatError(
      `${file}: tensor "${tensor}" has dtype ${dtype}, which the engine cannot use (supported: F32, BF16, F16, I32)`,
    );
  }
  return e;
}

/** One tensor entry of a parsed header. begin/end are byte offsets relative to the data section. */
export interface StTensorInfo {
  readonly name: string;
  readonly dtype: StDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
  readonly byteLength: number;
}

export interface StHeader {
  /** Where the data section starts in the file: 8 + JSON header length. */
  readonly dataStart: number;
  /** Tensors in data order (sorted by begin offset). */
  readonly tensors: readonly StTensorInfo[];
  readonly byName: ReadonlyMap<string, StTensorInfo>;
  readonly metadata: Readonly<Record<string, string>> | null;
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Reads the little-endian u64 header length from the first 8 bytes and checks it against the file size.
 * `fileSize` is the total file size in bytes.
 */
export function readHeaderLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new FormatError(`${file}: not a safetensors file: ${fileSize} bytes, shorter than the 8-byte header length`);
  }
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new FormatError(`${file}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not safetensors)`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new FormatError(
      `${file}: header length ${len} is larger than the file allows (${fileSize} bytes total; truncated or not safetensors)`,
    );
  }
  return len;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates the JSON header (the `headerLength` bytes after the first 8).
 * `fileSize` is the total file size so offsets can be checked against the data section.
 */
export function parseHeaderJson(json: Uint8Array, fileSize: number, file: string): StHeader {
  const dataStart = 8 + json.length;
  const dataSize = fileSize - dataStart;
  if (dataSize < 0) throw new FormatError(`${file}: header length ${json.length} is larger than the file (${fileSize} bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw new FormatError(`${file}: header is not valid UTF-8`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) {
    throw new FormatError(`${file}: header must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }

  let metadata: Record<string, string> | null = null;
  const tensors: StTensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw new FormatError(`${file}: __metadata__ must be an object of string -> string`);
      metadata = {};
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') {
          throw new FormatError(`${file}: __metadata__ must map strings to strings; key "${k}" has a ${typeof v} value`);
        }
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(name, entry, dataSize, file));
  }

  // Overlap check: sort by start offset and compare each span with its predecessor.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1];
    const cur = tensors[i];
    if (cur.begin < prev.end) {
      throw new FormatError(
        `${file}: tensor "${cur.name}" (bytes ${cur.begin}..${cur.end}) overlaps tensor "${prev.name}" (bytes ${prev.begin}..${prev.end})`,
      );
    }
  }
  const byName = new Map<string, StTensorInfo>();
  for (const t of tensors) byName.set(t.name, t);
  return { dataStart, tensors, byName, metadata };
}

function parseEntry(name: string, entry: unknown, dataSize: number, file: string): StTensorInfo {
  const where = `${file}: tensor "${name}"`;
  if (!isPlainObject(entry)) throw new FormatError(`${where}: entry must be an object with dtype, shape and data_offsets`);
  for (const k of ['dtype', 'shape', 'data_offsets']) {
    if (!(k in entry)) throw new FormatError(`${where}: entry is missing "${k}"`);
  }
  const { dtype, shape, data_offsets: offs } = entry;
  if (typeof dtype !== 'string' || !isStDType(dtype)) {
    throw new FormatError(`${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(ST_DTYPES).join(', ')})`);
  }
  if (!Array.isArray(shape)) throw new FormatError(`${where}: shape must be an array of integers, got ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new FormatError(`${where}: shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`);
    }
  }
  if (!Array.isArray(offs) || offs.length !== 2) {
    throw new FormatError(`${where}: data_offsets must be [begin, end], got ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as unknown[];
  const okOffset = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!okOffset(begin) || !okOffset(end) || end < begin) {
    throw new FormatError(`${where}: invalid data_offsets ${JSON.stringify(offs)} (need integers 0 <= begin <= end)`);
  }
  const dims = shape as number[];
  const expected = numel(dims) * ST_DTYPES[dtype].bytes;
  if (!Number.isSafeInteger(expected)) throw new FormatError(`${where}: shape ${fmtShape(dims)} is too large`);
  if (end - begin !== expected) {
    throw new FormatError(
      `${where}: shape ${fmtShape(dims)} x ${dtype} (${ST_DTYPES[dtype].bytes} B) needs ${expected} bytes ` +
        `but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  if (end > dataSize) {
    throw new FormatError(
      `${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataSize} bytes; file truncated?)`,
    );
  }
  return { name, dtype, shape: dims.slice(), begin, end, byteLength: end - begin };
}

/** Parses a complete in-memory safetensors file (header only is interpreted; data stays in `bytes`). */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): StHeader {
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, file);
  return parseHeaderJson(bytes.subarray(8, 8 + n), bytes.length, file);
}

/** What the serializer needs to know about each tensor (data is written separately). */
export interface StTensorSpec {
  readonly name: string;
  readonly dtype: StDType;
  readonly shape: readonly number[];
}

/** A tensor to write: dtype as engine ('f32') or safetensors ('F32') name; data raw LE bytes or a typed array. */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: ScalarDType | StDType;
  readonly shape: readonly number[];
  readonly data: Uint8Array | ArrayBufferView;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The raw little-endian bytes of a tensor's data, validated against its dtype and shape (no copy). */
export function tensorBytes(t: TensorToWrite): Uint8Array {
  const st = toStDType(t.dtype);
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ChameleonError(`tensor "${t.name}": bad shape ${fmtShape(t.shape)}`);
  }
  const data = t.data;
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (!(data instanceof Uint8Array) && !LITTLE_ENDIAN && ST_DTYPES[st].bytes > 1) {
    throw new ChameleonError(`tensor "${t.name}": writing typed arrays on a big-endian host is not supported; pass LE bytes`);
  }
  const want = numel(t.shape) * ST_DTYPES[st].bytes;
  if (bytes.byteLength !== want) {
    throw new ChameleonError(
      `tensor "${t.name}": shape ${fmtShape(t.shape)} x ${st} needs ${want} bytes but the data has ${bytes.byteLength}`,
    );
  }
  return bytes;
}

export interface SerializedHeader {
  /** 8-byte LE length + JSON padded with spaces to a multiple of 8. Data starts right after. */
  readonly bytes: Uint8Array;
  /** [begin, end] of each tensor relative to the data start, in input order. */
  readonly offsets: readonly (readonly [number, number])[];
  readonly dataBytes: number;
}

/**
 * Builds the header for tensors laid out back to back in the given order. A metadata object without
 * "format" gets format "pt" (transformers refuses safetensors metadata that lacks it).
 */
export function serializeHeader(tensors: readonly StTensorSpec[], metadata?: Record<string, string> | null): SerializedHeader {
  // Null prototype so a tensor named "__proto__" stays an ordinary key.
  const obj = Object.create(null) as Record<string, unknown>;
  const meta = { format: 'pt', ...(metadata ?? {}) };
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new ChameleonError(`safetensors metadata must be string -> string; "${k}" is ${typeof v}`);
  }
  obj.__metadata__ = meta;
  const offsets: [number, number][] = [];
  let pos = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new ChameleonError('a tensor may not be named "__metadata__"');
    if (seen.has(t.name)) throw new ChameleonError(`duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    const size = numel(t.shape) * ST_DTYPES[t.dtype].bytes;
    offsets.push([pos, pos + size]);
    obj[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [pos, pos + size] };
    pos += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { bytes, offsets, dataBytes: pos };
}

/** Serializes a whole file into memory (tests and small files; the Node writer streams instead). */
export function serializeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string> | null): Uint8Array {
  const datas = tensors.map(tensorBytes);
  const head = serializeHeader(
    tensors.map((t) => ({ name: t.name, dtype: toStDType(t.dtype), shape: t.shape })),
    metadata,
  );
  const out = new Uint8Array(head.bytes.length + head.dataBytes);
  out.set(head.bytes, 0);
  datas.forEach((d, i) => out.set(d, head.bytes.length + head.offsets[i][0]));
  return out;
}

/** Widens raw F32/BF16/F16/F64 bytes to a new Float32Array; any other dtype is a FormatError. */
export function widenToF32(bytes: Uint8Array, dtype: StDType, tensor: string, file: string): Float32Array {
  const n = bytes.byteLength / ST_DTYPES[dtype].bytes;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    case 'BF16':
      for (let i = 0; i < n; i++) out[i] = bf16ToF32(dv.getUint16(i * 2, true));
      return out;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true));
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    default:
      throw new FormatError(`${file}: tensor "${tensor}" has dtype ${dtype}, which cannot be read as float32`);
  }
}

/** Anything with a shape per tensor name (the result of tensors(), a parsed header's byName, ...). */
export type FoundTensors = ReadonlyMap<string, { readonly shape: readonly number[] }>;

export interface TensorCheckOptions {
  /** Prefix of the error message, e.g. the checkpoint path. */
  readonly source?: string;
  /** Extra tensors that are fine to find (e.g. buffers like rope.freqs). Exact names or RegExps. */
  readonly allowUnexpected?: readonly (string | RegExp)[];
  /** Don't complain about unexpected tensors at all (loading a subset). */
  readonly ignoreUnexpected?: boolean;
}

/** The problems checkTensors would report, as lists (empty lists = all good). */
function diffTensors(
  expected: ReadonlyMap<string, readonly number[]>,
  found: FoundTensors,
  opts: TensorCheckOptions = {},
): { missing: string[]; unexpected: string[]; mismatched: string[] } {
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const [name, shape] of expected) {
    const f = found.get(name);
    if (!f) missing.push(name);
    else if (f.shape.length !== shape.length || f.shape.some((d, i) => d !== shape[i])) {
      mismatched.push(`${name}: expected ${fmtShape(shape)}, found ${fmtShape(f.shape)}`);
    }
  }
  const unexpected: string[] = [];
  if (!opts.ignoreUnexpected) {
    const allow = opts.allowUnexpected ?? [];
    for (const name of found.keys()) {
      if (expected.has(name)) continue;
      if (allow.some((a) => (typeof a === 'string' ? a === name : a.test(name)))) continue;
      unexpected.push(name);
    }
  }
  return { missing: missing.sort(), unexpected: unexpected.sort(), mismatched };
}

/**
 * Compares the tensors a model expects (name -> shape) with what a checkpoint holds. Throws one FormatError
 * listing ALL missing tensors, ALL unexpected ones and every shape mismatch (with both shapes).
 */
export function checkTensors(
  expected: ReadonlyMap<string, readonly number[]>,
  found: FoundTensors,
  opts: TensorCheckOptions = {},
): void {
  const { missing, unexpected, mismatched } = diffTensors(expected, found, opts);
  if (missing.length + unexpected.length + mismatched.length === 0) return;
  const parts: string[] = [];
  const list = (xs: string[]) => xs.map((x) => `\n  ${x}`).join('');
  if (missing.length) parts.push(`${missing.length} missing tensor(s):${list(missing)}`);
  if (unexpected.length) parts.push(`${unexpected.length} unexpected tensor(s):${list(unexpected)}`);
  if (mismatched.length) parts.push(`${mismatched.length} shape mismatch(es):${list(mismatched)}`);
  const src = opts.source ? `${opts.source}: ` : '';
  throw new FormatError(`${src}checkpoint does not match the model:\n${parts.join('\n')}`);
}
