// Test helper: writes PyTorch checkpoints the way torch.save does, without Python: a small pickler that
// emits the same protocol-2 opcodes (OrderedDict via GLOBAL+REDUCE, _rebuild_tensor_v2 with BINPERSID
// storage ids, memoized globals) and a zip writer laying out <prefix>/data.pkl, data/<key>, version,
// byteorder as stored entries with 64-byte aligned data (optionally deflated entries or a zip64 directory).

import * as fs from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import type { StDType } from '../../src/io/safetensors.js';

const STORAGE_NAME: Record<string, string> = {
  F32: 'FloatStorage', F64: 'DoubleStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', I64: 'LongStorage',
  I32: 'IntStorage', I16: 'ShortStorage', I8: 'CharStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
};
const EL: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A storage; tensors may share one (views). */
export class TStorage {
  key = '';
  constructor(readonly dtype: StDType, readonly bytes: Uint8Array) {}
  get numel(): number {
    return this.bytes.byteLength / EL[this.dtype];
  }
}

/** A tensor to pickle: a strided view into a storage (contiguous by default). */
export class TTensor {
  readonly storage: TStorage;
  readonly stride: number[];
  readonly storageOffset: number;
  constructor(
    readonly dtype: StDType,
    readonly shape: number[],
    data: Uint8Array | ArrayBufferView | TStorage,
    opts: { stride?: number[]; storageOffset?: number } = {},
  ) {
    this.storage = data instanceof TStorage ? data : new TStorage(dtype, new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    this.stride = opts.stride ?? contiguousStride(shape);
    this.storageOffset = opts.storageOffset ?? 0;
  }
}

export function contiguousStride(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** A Python tuple. */
export class Tup {
  constructor(readonly items: PyIn[]) {}
}

/** module.name(*args) as GLOBAL + args + REDUCE (used to craft hostile pickles). */
export class Call {
  constructor(readonly module: string, readonly name: string, readonly args: PyIn[]) {}
}

/** Raw opcode bytes spliced in as is. */
export class Raw {
  constructor(readonly bytes: Uint8Array) {}
}

export type PyIn =
  | null | boolean | number | bigint | string | Uint8Array | PyIn[] | Tup | Call | Raw | TTensor
  | Map<PyIn, PyIn> | { [k: string]: PyIn };

/** Pickles like torch.save (protocol 2): returns data.pkl bytes and the storages it references (keyed). */
export function pickleTorch(obj: PyIn, opts: { plainDict?: boolean } = {}): { pkl: Uint8Array; storages: TStorage[] } {
  const out: number[] = [0x80, 2];
  const storages: TStorage[] = [];
  const globals = new Map<string, number>();
  let memo = 0;
  const bytes = (b: ArrayLike<number>): void => {
    for (let i = 0; i < b.length; i++) out.push(b[i]);
  };
  const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
  const put = (): void => {
    if (memo < 256) bytes([0x71, memo]);
    else bytes([0x72, ...u32(memo)]);
    memo++;
  };
  const str = (s: string): void => {
    const b = new TextEncoder().encode(s);
    bytes([0x58, ...u32(b.length)]);
    bytes(b);
    put();
  };
  const glob = (module: string, name: string): void => {
    const k = `${module}\n${name}\n`;
    const m = globals.get(k);
    if (m !== undefined) {
      if (m < 256) bytes([0x68, m]);
      else bytes([0x6a, ...u32(m)]);
      return;
    }
    bytes([0x63]);
    bytes(new TextEncoder().encode(k));
    globals.set(k, memo);
    put();
  };
  const int = (n: number | bigint): void => {
    if (typeof n === 'number' && n >= 0 && n < 256) bytes([0x4b, n]);
    else if (typeof n === 'number' && n >= 0 && n < 65536) bytes([0x4d, n & 255, n >> 8]);
    else if (typeof n === 'number' && n >= -(2 ** 31) && n < 2 ** 31) bytes([0x4a, ...u32(n)]);
    else {
      let v = BigInt(n);
      const b: number[] = [];
      for (;;) {
        b.push(Number(v & 255n));
        v >>= 8n;
        if ((v === 0n && !(b[b.length - 1] & 0x80)) || (v === -1n && b[b.length - 1] & 0x80)) break;
      }
      bytes([0x8a, b.length, ...b]);
    }
  };
  const tuple = (items: PyIn[]): void => {
    if (items.length === 0) return bytes([0x29]);
    if (items.length <= 3) {
      items.forEach(save);
      bytes([0x84 + items.length]);
    } else {
      bytes([0x28]);
      items.forEach(save);
      bytes([0x74]);
    }
    put();
  };
  const dictItems = (entries: [PyIn, PyIn][]): void => {
    for (let i = 0; i < entries.length; i += 1000) {
      const batch = entries.slice(i, i + 1000);
      if (batch.length === 1) {
        save(batch[0][0]);
        save(batch[0][1]);
        bytes([0x73]);
      } else {
        bytes([0x28]);
        for (const [k, v] of batch) {
          save(k);
          save(v);
        }
        bytes([0x75]);
      }
    }
  };
  function save(v: PyIn): void {
    if (v === null) bytes([0x4e]);
    else if (v === true) bytes([0x88]);
    else if (v === false) bytes([0x89]);
    else if (typeof v === 'bigint') int(v);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && !Object.is(v, -0)) int(v);
      else {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v, false);
        bytes([0x47, ...b]);
      }
    } else if (typeof v === 'string') str(v);
    else if (v instanceof Raw) bytes(v.bytes);
    else if (v instanceof Uint8Array) {
      glob('_codecs', 'encode');
      save(new Tup([String.fromCharCode(...v), 'latin1']));
      bytes([0x52]);
      put();
    } else if (Array.isArray(v)) {
      bytes([0x5d]);
      put();
      if (v.length) {
        bytes([0x28]);
        v.forEach(save);
        bytes([0x65]);
      }
    } else if (v instanceof Tup) tuple(v.items);
    else if (v instanceof Call) {
      glob(v.module, v.name);
      tuple(v.args);
      bytes([0x52]);
      put();
    } else if (v instanceof TTensor) {
      glob('torch._utils', '_rebuild_tensor_v2');
      bytes([0x28]);
      const s = v.storage;
      if (!storages.includes(s)) {
        s.key = String(storages.length);
        storages.push(s);
      }
      bytes([0x28]);
      str('storage');
      glob('torch', STORAGE_NAME[s.dtype]);
      str(s.key);
      str('cpu');
      int(s.numel);
      bytes([0x74]);
      put();
      bytes([0x51]);
      int(v.storageOffset);
      tuple(v.shape);
      tuple(v.stride);
      bytes([0x89]);
      glob('collections', 'OrderedDict');
      bytes([0x29, 0x52]);
      put();
      bytes([0x74]);
      put();
      bytes([0x52]);
      put();
    } else {
      const entries: [PyIn, PyIn][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
      if (opts.plainDict) bytes([0x7d]);
      else {
        glob('collections', 'OrderedDict');
        bytes([0x29, 0x52]);
      }
      put();
      dictItems(entries);
    }
  }
  save(obj);
  out.push(0x2e);
  return { pkl: Uint8Array.from(out), storages };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipMember {
  readonly name: string;
  readonly data: Uint8Array;
  readonly deflate?: boolean;
}

/** A zip archive (stored entries, data aligned to 64 bytes like torch's writer; zip64 directory on request). */
export function zipBytes(members: readonly ZipMember[], opts: { zip64?: boolean } = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  let pos = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    pos += b.length;
  };
  const central: Uint8Array[] = [];
  for (const m of members) {
    const name = new TextEncoder().encode(m.name);
    const body = m.deflate ? new Uint8Array(deflateRawSync(m.data)) : m.data;
    const crc = crc32(m.data);
    const offset = pos;
    const base = offset + 30 + name.length + 4;
    const pad = (64 - (base % 64)) % 64;
    const lh = new DataView(new ArrayBuffer(30));
    lh.setUint32(0, 0x04034b50, true);
    lh.setUint16(4, 20, true);
    lh.setUint16(8, m.deflate ? 8 : 0, true);
    lh.setUint32(14, crc, true);
    lh.setUint32(18, body.length, true);
    lh.setUint32(22, m.data.length, true);
    lh.setUint16(26, name.length, true);
    lh.setUint16(28, 4 + pad, true);
    push(new Uint8Array(lh.buffer));
    push(name);
    const extra = new Uint8Array(4 + pad);
    new DataView(extra.buffer).setUint16(0, 0x4246, true); // "FB" padding record, as torch writes
    new DataView(extra.buffer).setUint16(2, pad, true);
    push(extra);
    push(body);
    const z64 = opts.zip64 ? 28 : 0;
    const cd = new DataView(new ArrayBuffer(46 + name.length + z64));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 45, true);
    cd.setUint16(6, opts.zip64 ? 45 : 20, true);
    cd.setUint16(10, m.deflate ? 8 : 0, true);
    cd.setUint32(16, crc, true);
    cd.setUint32(20, opts.zip64 ? 0xffffffff : body.length, true);
    cd.setUint32(24, opts.zip64 ? 0xffffffff : m.data.length, true);
    cd.setUint16(28, name.length, true);
    cd.setUint16(30, z64, true);
    cd.setUint32(42, opts.zip64 ? 0xffffffff : offset, true);
    new Uint8Array(cd.buffer).set(name, 46);
    if (opts.zip64) {
      const e = 46 + name.length;
      cd.setUint16(e, 1, true);
      cd.setUint16(e + 2, 24, true);
      cd.setBigUint64(e + 4, BigInt(m.data.length), true);
      cd.setBigUint64(e + 12, BigInt(body.length), true);
      cd.setBigUint64(e + 20, BigInt(offset), true);
    }
    central.push(new Uint8Array(cd.buffer));
  }
  const cdStart = pos;
  for (const c of central) push(c);
  const cdSize = pos - cdStart;
  if (opts.zip64) {
    const z = new DataView(new ArrayBuffer(56));
    const zStart = pos;
    z.setUint32(0, 0x06064b50, true);
    z.setBigUint64(4, 44n, true);
    z.setUint16(12, 45, true);
    z.setUint16(14, 45, true);
    z.setBigUint64(24, BigInt(members.length), true);
    z.setBigUint64(32, BigInt(members.length), true);
    z.setBigUint64(40, BigInt(cdSize), true);
    z.setBigUint64(48, BigInt(cdStart), true);
    push(new Uint8Array(z.buffer));
    const loc = new DataView(new ArrayBuffer(20));
    loc.setUint32(0, 0x07064b50, true);
    loc.setBigUint64(8, BigInt(zStart), true);
    loc.setUint32(16, 1, true);
    push(new Uint8Array(loc.buffer));
  }
  const eocd = new DataView(new ArrayBuffer(22));
  eocd.setUint32(0, 0x06054b50, true);
  eocd.setUint16(8, opts.zip64 ? 0xffff : members.length, true);
  eocd.setUint16(10, opts.zip64 ? 0xffff : members.length, true);
  eocd.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  eocd.setUint32(16, opts.zip64 ? 0xffffffff : cdStart, true);
  push(new Uint8Array(eocd.buffer));
  const all = new Uint8Array(pos);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return all;
}

export interface TorchSaveOptions {
  /** Top-level folder in the zip (torch uses the file's stem, or "archive"). */
  readonly prefix?: string;
  readonly zip64?: boolean;
  /** Deflate the storages (torch never does; other zip tools may). */
  readonly deflate?: boolean;
  readonly plainDict?: boolean;
  /** Replace data.pkl with these bytes (corrupt/hostile pickles). */
  readonly pickle?: Uint8Array;
  /** Leave these storage keys out of the archive. */
  readonly dropStorages?: readonly string[];
}

/** torch.save(obj) as bytes. */
export function torchSaveBytes(obj: PyIn, opts: TorchSaveOptions = {}): Uint8Array {
  const prefix = opts.prefix ?? 'archive';
  const { pkl, storages } = pickleTorch(obj, { plainDict: opts.plainDict });
  const members: ZipMember[] = [{ name: `${prefix}/data.pkl`, data: opts.pickle ?? pkl }];
  members.push({ name: `${prefix}/byteorder`, data: new TextEncoder().encode('little') });
  for (const s of storages) {
    if (opts.dropStorages?.includes(s.key)) continue;
    members.push({ name: `${prefix}/data/${s.key}`, data: s.bytes, deflate: opts.deflate });
  }
  members.push({ name: `${prefix}/version`, data: new TextEncoder().encode('3\n') });
  return zipBytes(members, { zip64: opts.zip64 });
}

export function torchSave(file: string, obj: PyIn, opts: TorchSaveOptions = {}): void {
  fs.writeFileSync(file, torchSaveBytes(obj, opts));
}
