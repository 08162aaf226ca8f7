// Node (fs) adapter for safetensors checkpoints: opens one file or a Hugging Face directory (single file
// or index + shards), reads only headers up front and tensor bytes on demand with positioned reads
// straight into the caller's buffer (chunks <= 1 GiB, so files over 2 GiB work); writes single and
// HF-sharded checkpoints atomically (temp file + rename). Leaves out: mmap, async I/O, remote files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChameleonError, FormatError, fmtShape } from '../util/errors.js';
import { DTYPES, type ScalarDType, type AnyArray } from '../engine/dtype.js';
import {
  type StDType,
  type StHeader,
  type TensorToWrite,
  engineDType,
  parseHeaderJson,
  readHeaderLength,
  serializeHeader,
  tensorBytes,
  toStDType,
  widenToF32,
} from './safetensors.js';
import { IO_CHUNK_BYTES, openForRead, readFully } from './file-range.node.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** One tensor of an opened checkpoint. `offset` is the absolute byte position in `file`. */
export interface StEntry {
  readonly name: string;
  readonly dtype: StDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  readonly file: string;
  readonly offset: number;
}

export interface OpenOptions {
  /** Bytes per readSync call (default 1 GiB; tests use small values to exercise the loop). */
  readonly chunkBytes?: number;
}

interface OpenFile {
  readonly path: string;
  fd: number;
  readonly header: StHeader;
}

function openFile(file: string): OpenFile {
  return openForRead(file, (fd, size) => {
    const first8 = new Uint8Array(8);
    if (size >= 8) readFully(fd, first8, 0, file, 'header length', 8);
    const len = readHeaderLength(first8, size, file);
    const json = new Uint8Array(len);
    readFully(fd, json, 8, file, 'header', IO_CHUNK_BYTES);
    return { path: file, fd, header: parseHeaderJson(json, size, file) };
  });
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FormatError(`${file}: cannot read JSON (${(e as Error).message})`);
  }
}

/** An opened checkpoint (one file, or all shards of an index). Only headers are in memory. */
export class SafetensorsArchive {
  private readonly entries = new Map<string, StEntry>();
  private readonly fds = new Map<string, OpenFile>();
  private closed = false;

  private constructor(
    /** What was opened (file, index file or directory). */
    readonly path: string,
    files: OpenFile[],
    /** __metadata__ of a single file, or the index's "metadata" (stringified values) for sharded ones. */
    readonly metadata: Readonly<Record<string, string>> | null,
    /** Non-fatal findings (e.g. tensors in a shard that the index does not list). */
    readonly warnings: readonly string[],
    private readonly chunkBytes: number,
    assign?: ReadonlyMap<string, string>,
  ) {
    for (const f of files) {
      this.fds.set(f.path, f);
      for (const t of f.header.tensors) {
        if (assign && assign.get(t.name) !== f.path) continue;
        this.entries.set(t.name, {
          name: t.name,
          dtype: t.dtype,
          shape: t.shape,
          byteLength: t.byteLength,
          file: f.path,
          offset: f.header.dataStart + t.begin,
        });
      }
    }
  }

  /** @internal */
  static create(
    p: string,
    files: OpenFile[],
    metadata: Record<string, string> | null,
    warnings: string[],
    chunk: number,
    assign?: Map<string, string>,
  ): SafetensorsArchive {
    return new SafetensorsArchive(p, files, metadata, warnings, chunk, assign);
  }

  /** The files backing this archive, in index order. */
  get files(): string[] {
    return [...this.fds.keys()];
  }

  /** name -> {dtype, shape, byteLength, file, offset}; a fresh Map the caller may keep. */
  tensors(): Map<string, StEntry> {
    return new Map(this.entries);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry for a tensor; FormatError naming the tensor and the archive when absent. */
  get(name: string): StEntry {
    const e = this.entries.get(name);
    if (!e) throw new FormatError(`${this.path}: no tensor named "${name}"`);
    return e;
  }

  /**
   * Reads the tensor's raw little-endian bytes straight into `dest` (exactly byteLength bytes; may be a view
   * into WebAssembly memory). Positioned reads of at most 1 GiB each; a short read is a truncated-file error.
   */
  readInto(name: string, dest: Uint8Array): void {
    const e = this.get(name);
    if (dest.byteLength !== e.byteLength) {
      throw new ChameleonError(
        `${e.file}: tensor "${name}" (${e.dtype} ${fmtShape(e.shape)}) is ${e.byteLength} bytes but the destination holds ${dest.byteLength}`,
      );
    }
    readFully(this.fdOf(e), dest, e.offset, e.file, `tensor "${name}"`, this.chunkBytes);
  }

  /** A fresh copy of the tensor's raw bytes. */
  readBytes(name: string): Uint8Array {
    const out = new Uint8Array(this.get(name).byteLength);
    this.readInto(name, out);
    return out;
  }

  /** The tensor as f32 (BF16/F16/F64 widened exactly, F32 as is); other dtypes are a FormatError. */
  readTensorF32(name: string): Float32Array {
    const e = this.get(name);
    if (e.dtype === 'F32') {
      const out = new Float32Array(e.byteLength / 4);
      this.readInto(name, new Uint8Array(out.buffer));
      return out;
    }
    return widenToF32(this.readBytes(name), e.dtype, name, e.file);
  }

  /** The tensor in its own engine dtype (F32/BF16/F16/I32); other dtypes are a FormatError naming it. */
  readTensor(name: string): { dtype: ScalarDType; shape: number[]; data: AnyArray } {
    const e = this.get(name);
    const dtype = engineDType(e.dtype, name, e.file);
    const buf = new ArrayBuffer(e.byteLength);
    this.readInto(name, new Uint8Array(buf));
    return { dtype, shape: [...e.shape], data: DTYPES[dtype].make(buf, 0, e.byteLength / DTYPES[dtype].bytes) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.fds.values()) {
      try {
        fs.closeSync(f.fd);
      } catch {
        // already closed
      }
    }
  }

  private fdOf(e: StEntry): number {
    if (this.closed) throw new ChameleonError(`${this.path}: archive is closed`);
    return this.fds.get(e.file)!.fd;
  }
}

/**
 * Opens a `.safetensors` file, a `model.safetensors.index.json`, or a Hugging Face model directory
 * (model.safetensors preferred, else the index + shards). Reads headers only.
 */
export function openSafetensors(pathOrDir: string, opts: OpenOptions = {}): SafetensorsArchive {
  const chunk = opts.chunkBytes ?? IO_CHUNK_BYTES;
  if (!(chunk >= 1 && chunk <= IO_CHUNK_BYTES)) throw new ChameleonError(`chunkBytes must be in 1..${IO_CHUNK_BYTES}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(pathOrDir);
  } catch {
    throw new FormatError(`${pathOrDir}: no such file or directory`);
  }
  if (st.isDirectory()) {
    const single = path.join(pathOrDir, SINGLE_FILE);
    const index = path.join(pathOrDir, INDEX_FILE);
    if (fs.existsSync(single)) return openSingle(single, chunk);
    if (fs.existsSync(index)) return openIndex(index, chunk);
    throw new FormatError(`${pathOrDir}: no ${SINGLE_FILE} or ${INDEX_FILE} in this directory`);
  }
  if (pathOrDir.endsWith('.json')) return openIndex(pathOrDir, chunk);
  return openSingle(pathOrDir, chunk);
}

function openSingle(file: string, chunk: number): SafetensorsArchive {
  const f = openFile(file);
  return SafetensorsArchive.create(file, [f], f.header.metadata ? { ...f.header.metadata } : null, [], chunk);
}

function openIndex(indexPath: string, chunk: number): SafetensorsArchive {
  const dir = path.dirname(indexPath);
  const idx = readJson(indexPath);
  if (typeof idx !== 'object' || idx === null || Array.isArray(idx)) throw new FormatError(`${indexPath}: index must be a JSON object`);
  const wm = (idx as Record<string, unknown>).weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
    throw new FormatError(`${indexPath}: index has no "weight_map" object`);
  }
  const assign = new Map<string, string>();
  const byFile = new Map<string, string[]>();
  const root = path.resolve(dir);
  for (const [name, rel] of Object.entries(wm)) {
    if (typeof rel !== 'string' || rel === '') throw new FormatError(`${indexPath}: weight_map["${name}"] must be a file name`);
    const abs = path.resolve(root, rel);
    if (!abs.startsWith(root + path.sep)) {
      throw new FormatError(`${indexPath}: weight_map["${name}"] = "${rel}" points outside the checkpoint directory`);
    }
    const file = path.join(dir, path.relative(root, abs));
    assign.set(name, file);
    const list = byFile.get(file) ?? [];
    list.push(name);
    byFile.set(file, list);
  }
  if (assign.size === 0) throw new FormatError(`${indexPath}: weight_map is empty`);
  const missingFiles = [...byFile.keys()].filter((f) => !fs.existsSync(f));
  if (missingFiles.length) {
    throw new FormatError(
      `${indexPath}: ${missingFiles.length} shard file(s) named in weight_map do not exist:` +
        missingFiles.map((f) => `\n  ${path.basename(f)} (e.g. for "${byFile.get(f)![0]}")`).join(''),
    );
  }

  const opened: OpenFile[] = [];
  try {
    const problems: string[] = [];
    const warnings: string[] = [];
    for (const [file, names] of byFile) {
      const f = openFile(file);
      opened.push(f);
      const absent = names.filter((n) => !f.header.byName.has(n));
      if (absent.length) {
        const shown = absent.slice(0, 20).map((n) => `"${n}"`).join(', ') + (absent.length > 20 ? ', ...' : '');
        problems.push(`${path.basename(file)} lacks ${absent.length} tensor(s) the index assigns to it: ${shown}`);
      }
      const extra = f.header.tensors.filter((t) => assign.get(t.name) !== file).map((t) => t.name);
      if (extra.length) {
        const shown = extra.slice(0, 10).join(', ') + (extra.length > 10 ? ', ...' : '');
        warnings.push(`${path.basename(file)} holds ${extra.length} tensor(s) the index does not assign to it (ignored): ${shown}`);
      }
    }
    if (problems.length) throw new FormatError(`${indexPath}: index and shards disagree:\n  ${problems.join('\n  ')}`);

    let metadata: Record<string, string> | null = null;
    const m = (idx as Record<string, unknown>).metadata;
    if (typeof m === 'object' && m !== null && !Array.isArray(m)) {
      metadata = {};
      for (const [k, v] of Object.entries(m)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
      const total = (m as Record<string, unknown>).total_size;
      if (typeof total === 'number') {
        let sum = 0;
        for (const [name, file] of assign) sum += opened.find((o) => o.path === file)!.header.byName.get(name)!.byteLength;
        if (sum !== total) warnings.push(`metadata.total_size is ${total} but the indexed tensors hold ${sum} bytes`);
      }
    }
    return SafetensorsArchive.create(indexPath, opened, metadata, warnings, chunk, assign);
  } catch (e) {
    for (const f of opened) fs.closeSync(f.fd);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing

function writeFully(fd: number, bytes: Uint8Array, file: string): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = fs.writeSync(fd, bytes, done, Math.min(IO_CHUNK_BYTES, bytes.byteLength - done));
    if (n <= 0) throw new ChameleonError(`${file}: write failed after ${done} bytes`);
    done += n;
  }
}

function tempNameFor(final: string): string {
  return path.join(path.dirname(final), `.${path.basename(final)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

interface Prepared {
  readonly name: string;
  readonly dtype: StDType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

function prepare(tensors: readonly TensorToWrite[]): Prepared[] {
  const seen = new Set<string>();
  return tensors.map((t) => {
    if (seen.has(t.name)) throw new ChameleonError(`duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    return { name: t.name, dtype: toStDType(t.dtype), shape: [...t.shape], bytes: tensorBytes(t) };
  });
}

/** Writes one file to a temp name in the target's directory; returns the temp path (caller renames). */
function writeTemp(final: string, tensors: readonly Prepared[], metadata?: Record<string, string> | null): string {
  const head = serializeHeader(tensors, metadata);
  const tmp = tempNameFor(final);
  const fd = fs.openSync(tmp, 'wx');
  try {
    writeFully(fd, head.bytes, tmp);
    for (const t of tensors) writeFully(fd, t.bytes, tmp);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return tmp;
}

/**
 * Writes a single safetensors file atomically: header (8-byte LE length + space-padded JSON), then the
 * tensors back to back in the given order. Metadata gets format "pt" unless it sets one.
 */
/** Every tensor of a file or model directory whose name passes `keep`, as stored, ready to write again. */
export function readTensors(pathOrDir: string, keep: (name: string) => boolean = () => true): TensorToWrite[] {
  const a = openSafetensors(pathOrDir);
  try {
    return [...a.tensors().keys()].filter(keep).map((name) => ({ name, ...a.readTensor(name) }));
  } finally {
    a.close();
  }
}

export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string> | null): void {
  const prepared = prepare(tensors);
  const tmp = writeTemp(file, prepared, metadata);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export interface SaveShardedOptions {
  /** Largest shard in bytes of tensor data (HF default "5GB" = 5e9). */
  readonly maxShardBytes?: number;
  /** Extra __metadata__ for every shard. */
  readonly metadata?: Record<string, string> | null;
}

export interface SaveShardedResult {
  /** Files written, relative to dir (model.safetensors, or the shards). */
  readonly files: string[];
  /** The index path, or null when everything fit in model.safetensors. */
  readonly index: string | null;
  readonly totalSize: number;
}

/**
 * Splits tensors the way huggingface_hub's split_state_dict_into_shards does (in order; start a new shard
 * when the next tensor would overflow it; a tensor larger than the limit gets a shard of its own).
 */
export function planShards<T extends { readonly bytes: Uint8Array }>(tensors: readonly T[], maxShardBytes: number): T[][] {
  const shards: T[][] = [];
  let cur: T[] = [];
  let curSize = 0;
  for (const t of tensors) {
    const size = t.bytes.byteLength;
    if (size > maxShardBytes) {
      shards.push([t]);
      continue;
    }
    if (curSize + size > maxShardBytes && cur.length) {
      shards.push(cur);
      cur = [];
      curSize = 0;
    }
    cur.push(t);
    curSize += size;
  }
  if (cur.length) shards.push(cur);
  return shards;
}

function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/**
 * Saves a checkpoint directory like transformers' save_pretrained: `model.safetensors` when it fits in one
 * shard, else `model-0000i-of-0000N.safetensors` + `model.safetensors.index.json` ({metadata: {total_size},
 * weight_map}, keys sorted, indent 2). Every file goes through temp + rename; the index is renamed last.
 * Stale model files from an earlier save in the same directory are removed afterwards.
 */
export function saveSharded(dir: string, tensors: readonly TensorToWrite[], opts: SaveShardedOptions = {}): SaveShardedResult {
  const max = opts.maxShardBytes ?? 5e9;
  if (!(max > 0)) throw new ChameleonError(`maxShardBytes must be positive, got ${max}`);
  const prepared = prepare(tensors);
  fs.mkdirSync(dir, { recursive: true });
  const shards = planShards(prepared, max);
  const totalSize = prepared.reduce((s, t) => s + t.bytes.byteLength, 0);
  const names =
    shards.length <= 1
      ? [SINGLE_FILE]
      : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);

  const temps: string[] = [];
  try {
    if (shards.length === 0) temps.push(writeTemp(path.join(dir, SINGLE_FILE), [], opts.metadata));
    shards.forEach((s, i) => temps.push(writeTemp(path.join(dir, names[i]), s, opts.metadata)));
    let indexTmp: string | null = null;
    if (names.length > 1) {
      const weightMap: Record<string, string> = {};
      shards.forEach((s, i) => s.forEach((t) => (weightMap[t.name] = names[i])));
      const index = { metadata: { total_size: totalSize }, weight_map: sortedKeys(weightMap) };
      indexTmp = tempNameFor(path.join(dir, INDEX_FILE));
      fs.writeFileSync(indexTmp, JSON.stringify(index, null, 2) + '\n', { flag: 'wx' });
      temps.push(indexTmp);
    }
    names.forEach((n, i) => fs.renameSync(temps[i], path.join(dir, n)));
    if (indexTmp) fs.renameSync(indexTmp, path.join(dir, INDEX_FILE));
  } catch (e) {
    for (const t of temps) fs.rmSync(t, { force: true });
    throw e;
  }

  // Remove leftovers of an earlier save that would make the directory ambiguous.
  const keep = new Set(names);
  if (names.length > 1) keep.add(INDEX_FILE);
  for (const f of fs.readdirSync(dir)) {
    if (keep.has(f)) continue;
    if (f === SINGLE_FILE || f === INDEX_FILE || SHARD_RE.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  return { files: names, index: names.length > 1 ? path.join(dir, INDEX_FILE) : null, totalSize };
}
