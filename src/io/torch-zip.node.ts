// Node adapter for PyTorch zip checkpoints (torch.save since 1.6: <prefix>/data.pkl + <prefix>/data/<key>):
// parses the zip central directory (zip64 included) with positioned reads, unpickles data.pkl with the safe
// unpickler, and reads tensor bytes on demand (strided views gathered, stored or deflated entries).
// Exposes the state dict as tensor descriptors with readInto/readBytes/readF32. Leaves out: the legacy
// (pre-1.6) tar/pickle format, big-endian checkpoints, encrypted or multi-disk zips, mmap.

import * as fs from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { ChameleonError, FormatError, fmtShape } from '../util/errors.js';
import { type StDType, ST_DTYPES, widenToF32 } from './safetensors.js';
import { openForRead, readFully } from './file-range.node.js';
import {
  type PyValue,
  type TensorRef,
  PyDict,
  checkTensorExtent,
  describe,
  isContiguous,
  tensorsOf,
  unpickle,
} from './pickle.js';

/** Deflated entries are inflated in memory; refuse silly sizes. */
const MAX_INFLATE = 1 << 30;
/** data.pkl larger than this is not a state dict we understand. */
const MAX_PICKLE = 512 << 20;

/** One zip member. `dataOffset` is resolved from the local header on first use. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

/** A tensor of the checkpoint's state dict. */
export interface TorchTensorInfo {
  readonly name: string;
  readonly dtype: StDType;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly storageKey: string;
  /** In elements. */
  readonly storageOffset: number;
  readonly contiguous: boolean;
  /** Bytes of the tensor once made contiguous (numel x element size). */
  readonly byteLength: number;
}

export interface TorchOpenOptions {
  /**
   * Which entry of the unpickled root dict holds the tensors (e.g. "state_dict" for Lightning checkpoints).
   * Default: the root itself when it holds tensors, else root["state_dict"] when present.
   */
  readonly stateDictKey?: string;
}

function u64(dv: DataView, off: number, file: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`${file}: zip64 field ${v} is too large`);
  return Number(v);
}

/** Parses the central directory of an open zip file (positioned reads only). */
function readZipDirectory(fd: number, size: number, file: string): Map<string, ZipEntry> {
  if (size < 22) throw new FormatError(`${file}: not a zip file (${size} bytes, shorter than an end-of-central-directory record)`);
  const head = new Uint8Array(4);
  readFully(fd, head, 0, file, 'signature');
  const isPk = head[0] === 0x50 && head[1] === 0x4b;
  const tailLen = Math.min(size, 22 + 0xffff + 20);
  const tail = new Uint8Array(tailLen);
  readFully(fd, tail, size - tailLen, file, 'end of central directory');
  const tdv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tdv.getUint32(i, true) === 0x06054b50 && i + 22 + tdv.getUint16(i + 20, true) <= tailLen) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    if (isPk) throw new FormatError(`${file}: zip file without an end-of-central-directory record (truncated file?)`);
    if (head[0] === 0x80 && head[1] <= 5) {
      throw new FormatError(`${file}: legacy (pre-zip) torch.save format is not supported; re-save it with a current PyTorch`);
    }
    throw new FormatError(`${file}: not a zip file (no end-of-central-directory record; is this a PyTorch checkpoint?)`);
  }
  let count = tdv.getUint16(eocd + 10, true);
  let cdSize = tdv.getUint32(eocd + 12, true);
  let cdOffset = tdv.getUint32(eocd + 16, true);
  const eocdAbs = size - tailLen + eocd;
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocd >= 20 && tdv.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64Off = u64(tdv, eocd - 20 + 8, file);
    if (z64Off + 56 > eocdAbs) throw new FormatError(`${file}: zip64 end-of-central-directory offset ${z64Off} is out of range`);
    const rec = new Uint8Array(56);
    readFully(fd, rec, z64Off, file, 'zip64 end of central directory');
    const rdv = new DataView(rec.buffer);
    if (rdv.getUint32(0, true) !== 0x06064b50) throw new FormatError(`${file}: bad zip64 end-of-central-directory signature`);
    count = u64(rdv, 32, file);
    cdSize = u64(rdv, 40, file);
    cdOffset = u64(rdv, 48, file);
  }
  if (cdOffset + cdSize > eocdAbs || cdSize > MAX_PICKLE) {
    throw new FormatError(`${file}: central directory (offset ${cdOffset}, ${cdSize} bytes) lies outside the file (truncated or corrupt zip)`);
  }
  const cd = new Uint8Array(cdSize);
  readFully(fd, cd, cdOffset, file, 'central directory');
  const dv = new DataView(cd.buffer);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  const dec = new TextDecoder('utf-8');
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || dv.getUint32(p, true) !== 0x02014b50) throw new FormatError(`${file}: corrupt central directory at entry ${i}`);
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw new FormatError(`${file}: corrupt central directory at entry ${i}`);
    const name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: only the fields whose 32-bit value is saturated, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw new FormatError(`${file}: entry "${name}": short zip64 extra field`);
          const v = u64(dv, q, file);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (local === 0xffffffff) local = take();
      }
      e += 4 + len;
    }
    if (flags & 1) throw new FormatError(`${file}: entry "${name}" is encrypted`);
    entries.set(name, { name, method, compressedSize: csize, size: usize, localHeaderOffset: local });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** An opened PyTorch zip checkpoint: the unpickled object plus on-demand tensor reads. */
export class TorchCheckpoint {
  /** The whole unpickled object (dict of tensors, or e.g. a Lightning checkpoint dict). */
  readonly root: PyValue;
  /** State-dict entries that are not tensors (name and what they are). */
  readonly skipped: readonly string[];
  /** The zip's top-level folder ("archive", "consolidated", ...). */
  readonly prefix: string;
  private readonly entries: Map<string, ZipEntry>;
  private readonly refs: Map<string, TensorRef>;
  private readonly dataOffsets = new Map<string, number>();
  private readonly inflated = new Map<string, Uint8Array>();
  private fd: number;

  private constructor(readonly path: string, fd: number, size: number, opts: TorchOpenOptions) {
    this.fd = fd;
    this.entries = readZipDirectory(fd, size, path);
    const pkls = [...this.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
    if (pkls.length === 0) {
      const names = [...this.entries.keys()].slice(0, 8).join(', ');
      throw new FormatError(`${path}: zip archive has no <prefix>/data.pkl (not a torch.save checkpoint; entries: ${names || 'none'})`);
    }
    if (pkls.length > 1) throw new FormatError(`${path}: zip archive has several data.pkl records (${pkls.join(', ')})`);
    const pklName = pkls[0];
    this.prefix = pklName.includes('/') ? pklName.slice(0, pklName.indexOf('/')) : '';
    const bo = this.entries.get(this.rec('byteorder'));
    if (bo) {
      const order = new TextDecoder().decode(this.entryBytes(bo)).trim();
      if (order !== 'little') throw new FormatError(`${path}: checkpoint byte order is "${order}"; only little-endian is supported`);
    }
    const pkl = this.entries.get(pklName)!;
    if (pkl.size > MAX_PICKLE) throw new FormatError(`${path}: ${pklName} is ${pkl.size} bytes, too large for a state dict`);
    this.root = unpickle(this.entryBytes(pkl), { source: `${path}:${pklName}` });

    const dict = this.pickStateDict(opts.stateDictKey);
    const { tensors, skipped } = tensorsOf(dict);
    this.refs = tensors;
    this.skipped = skipped;
    for (const [name, t] of tensors) {
      const rec = this.entries.get(this.rec(`data/${t.storage.key}`));
      if (!rec) throw new FormatError(`${path}: storage "${t.storage.key}" of tensor "${name}" is missing from the archive (${this.rec(`data/${t.storage.key}`)})`);
      const need = t.storage.numel * ST_DTYPES[t.dtype].bytes;
      if (rec.size < need) {
        throw new FormatError(`${path}: storage "${t.storage.key}" of tensor "${name}" holds ${rec.size} bytes but declares ${t.storage.numel} x ${t.dtype} = ${need}`);
      }
      checkTensorExtent(t, `${path}: tensor "${name}"`);
    }
  }

  /** Opens a checkpoint: reads the central directory and data.pkl only. */
  static open(file: string, opts: TorchOpenOptions = {}): TorchCheckpoint {
    return openForRead(file, (fd, size) => new TorchCheckpoint(file, fd, size, opts));
  }

  private rec(rel: string): string {
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  private pickStateDict(key: string | undefined): PyDict {
    const root = this.root;
    if (!(root instanceof PyDict)) throw new FormatError(`${this.path}: checkpoint holds ${describe(root)}, not a dict of tensors`);
    if (key !== undefined) {
      const v = root.get(key);
      if (!(v instanceof PyDict)) {
        const keys = [...root.keys()].map((k) => describe(k)).join(', ');
        throw new FormatError(`${this.path}: checkpoint has no dict under "${key}" (top-level keys: ${keys})`);
      }
      return v;
    }
    for (const v of root.values()) if (typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'tensor') return root;
    const sd = root.get('state_dict');
    if (sd instanceof PyDict) return sd;
    return root;
  }

  /** Byte offset of an entry's data, from its local header (checked against the file size). */
  private dataOffset(e: ZipEntry): number {
    const cached = this.dataOffsets.get(e.name);
    if (cached !== undefined) return cached;
    const lh = new Uint8Array(30);
    readFully(this.fdOrThrow(), lh, e.localHeaderOffset, this.path, `local header of "${e.name}"`);
    const dv = new DataView(lh.buffer);
    if (dv.getUint32(0, true) !== 0x04034b50) throw new FormatError(`${this.path}: bad local header for "${e.name}" (corrupt zip)`);
    const off = e.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    const size = fs.fstatSync(this.fdOrThrow()).size;
    if (off + e.compressedSize > size) {
      throw new FormatError(`${this.path}: entry "${e.name}" runs past the end of the file (${off + e.compressedSize} > ${size}; truncated?)`);
    }
    this.dataOffsets.set(e.name, off);
    return off;
  }

  /** Whole (decompressed) content of a small entry. */
  private entryBytes(e: ZipEntry): Uint8Array {
    if (e.method === 0) {
      const out = new Uint8Array(e.size);
      readFully(this.fdOrThrow(), out, this.dataOffset(e), this.path, `entry "${e.name}"`);
      return out;
    }
    if (e.method !== 8) throw new FormatError(`${this.path}: entry "${e.name}" uses compression method ${e.method} (only stored and deflate are supported)`);
    const hit = this.inflated.get(e.name);
    if (hit) return hit;
    if (e.size > MAX_INFLATE) throw new FormatError(`${this.path}: deflated entry "${e.name}" is too large (${e.size} bytes)`);
    const comp = new Uint8Array(e.compressedSize);
    readFully(this.fdOrThrow(), comp, this.dataOffset(e), this.path, `entry "${e.name}"`);
    let out: Uint8Array;
    try {
      out = new Uint8Array(inflateRawSync(comp));
    } catch (err) {
      throw new FormatError(`${this.path}: entry "${e.name}" does not inflate (${(err as Error).message})`);
    }
    if (out.length !== e.size) throw new FormatError(`${this.path}: entry "${e.name}" inflates to ${out.length} bytes, expected ${e.size}`);
    this.inflated.set(e.name, out);
    return out;
  }

  /** Every zip entry name. */
  get entryNames(): string[] {
    return [...this.entries.keys()];
  }

  /** name -> descriptor of every tensor of the state dict, in pickle order. */
  tensors(): Map<string, TorchTensorInfo> {
    const out = new Map<string, TorchTensorInfo>();
    for (const name of this.refs.keys()) out.set(name, this.get(name));
    return out;
  }

  has(name: string): boolean {
    return this.refs.has(name);
  }

  get(name: string): TorchTensorInfo {
    const t = this.ref(name);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    return {
      name,
      dtype: t.dtype,
      shape: t.shape,
      stride: t.stride,
      storageKey: t.storage.key,
      storageOffset: t.storageOffset,
      contiguous: isContiguous(t.shape, t.stride),
      byteLength: numel * ST_DTYPES[t.dtype].bytes,
    };
  }

  private ref(name: string): TensorRef {
    const t = this.refs.get(name);
    if (!t) throw new FormatError(`${this.path}: no tensor named "${name}"`);
    return t;
  }

  /**
   * Reads the tensor's little-endian bytes, contiguous row-major, into `dest` (exactly byteLength bytes).
   * Contiguous tensors of stored entries are one positioned read; strided views read their storage span
   * and gather.
   */
  readInto(name: string, dest: Uint8Array): void {
    const t = this.ref(name);
    const info = this.get(name);
    if (dest.byteLength !== info.byteLength) {
      throw new ChameleonError(`${this.path}: tensor "${name}" (${t.dtype} ${fmtShape(t.shape)}) is ${info.byteLength} bytes but the destination holds ${dest.byteLength}`);
    }
    if (info.byteLength === 0) return;
    const el = ST_DTYPES[t.dtype].bytes;
    const rec = this.entries.get(this.rec(`data/${t.storage.key}`))!;
    let last = 0;
    for (let i = 0; i < t.shape.length; i++) last += (t.shape[i] - 1) * t.stride[i];
    const spanBytes = (last + 1) * el;
    const startByte = t.storageOffset * el;
    if (info.contiguous) {
      this.readRange(rec, startByte, dest, name);
      return;
    }
    const span = new Uint8Array(spanBytes);
    this.readRange(rec, startByte, span, name);
    gather(span, dest, t.shape, t.stride, el);
  }

  private readRange(rec: ZipEntry, start: number, dest: Uint8Array, name: string): void {
    if (start + dest.byteLength > rec.size) {
      throw new FormatError(`${this.path}: tensor "${name}" needs bytes ${start}..${start + dest.byteLength} of a ${rec.size}-byte storage`);
    }
    if (rec.method === 0) readFully(this.fdOrThrow(), dest, this.dataOffset(rec) + start, this.path, `tensor "${name}"`);
    else dest.set(this.entryBytes(rec).subarray(start, start + dest.byteLength));
  }

  /** A fresh contiguous copy of the tensor's bytes. */
  readBytes(name: string): Uint8Array {
    const out = new Uint8Array(this.get(name).byteLength);
    this.readInto(name, out);
    return out;
  }

  /** The tensor as f32 (BF16/F16/F64 widened exactly); integer dtypes are a FormatError. */
  readF32(name: string): Float32Array {
    const t = this.get(name);
    return widenToF32(this.readBytes(name), t.dtype, name, this.path);
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } finally {
      this.fd = -1;
      this.inflated.clear();
    }
  }

  private fdOrThrow(): number {
    if (this.fd < 0) throw new ChameleonError(`${this.path}: checkpoint is closed`);
    return this.fd;
  }
}

/** Copies a strided view (relative to the start of `span`) into contiguous row-major `dest`. */
function gather(span: Uint8Array, dest: Uint8Array, shape: readonly number[], stride: readonly number[], el: number): void {
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  const n = dest.byteLength / el;
  let srcEl = 0;
  for (let i = 0; i < n; i++) {
    const s = srcEl * el;
    for (let b = 0; b < el; b++) dest[i * el + b] = span[s + b];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      srcEl += stride[d];
      if (idx[d] < shape[d]) break;
      srcEl -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
}
