// A minimal, SAFE unpickler for PyTorch checkpoints (torch.save's data.pkl): protocols 0-5 data opcodes,
// an explicit allow-list of globals (OrderedDict, the tensor-rebuild functions, storage classes, dtypes),
// and tensors rebuilt as descriptors {dtype, shape, stride, storage, storageOffset}. No Python code ever
// runs: any other global is refused when the GLOBAL opcode names it. Leaves out: the zip container and
// storage bytes (torch-zip.node.ts), sparse/quantized/nested tensors, out-of-band buffers, extensions.

import { FormatError, fmtShape } from '../util/errors.js';
import type { StDType } from './safetensors.js';

/** A persistent storage reference: ('storage', StorageClass, key, location, numel) as torch writes it. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly key: string;
  readonly dtype: StDType;
  readonly location: string;
  /** Elements of `dtype` in the storage. */
  readonly numel: number;
}

/** A tensor as rebuilt by torch._utils._rebuild_tensor_v2: a strided view into a storage. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly dtype: StDType;
  readonly shape: readonly number[];
  /** Strides in elements. */
  readonly stride: readonly number[];
  readonly storage: StorageRef;
  /** Offset into the storage, in elements. */
  readonly storageOffset: number;
  readonly requiresGrad: boolean;
}

/** An allow-listed global (class, function or dtype object) as it sits on the stack before a REDUCE. */
export interface PyGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

export interface PyDType {
  readonly kind: 'dtype';
  readonly dtype: StDType;
}

/** Python tuple (kept apart from lists so shapes, pids and keys can be told apart). */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** Python set / frozenset (pure data, protocol 4 opcodes). */
class PySet {
  constructor(readonly items: PyValue[], readonly frozen: boolean) {}
}

/** Python dict or OrderedDict; `attrs` holds instance state set by BUILD (e.g. state_dict._metadata). */
export class PyDict extends Map<PyValue, PyValue> {
  attrs: PyValue | null = null;
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PySet
  | PyDict
  | TensorRef
  | StorageRef
  | PyGlobal
  | PyDType;

/** Legacy typed storage classes -> element dtype. */
const STORAGE_CLASSES: Readonly<Record<string, StDType>> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** torch dtype objects (torch.float32, ...) that may appear as plain values. */
const DTYPE_OBJECTS: Readonly<Record<string, StDType>> = {
  float32: 'F32', float: 'F32', float64: 'F64', double: 'F64', float16: 'F16', half: 'F16', bfloat16: 'BF16',
  int64: 'I64', long: 'I64', int32: 'I32', int: 'I32', int16: 'I16', short: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

/** Callables a REDUCE/NEWOBJ may apply (module.name). Anything else is refused at GLOBAL time. */
const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch.Size',
  // protocol 2 pickles Python `bytes` as _codecs.encode(str, 'latin1'): pure data, allowed for that use only
  '_codecs.encode',
]);

/** The allow-listed globals in words, for error messages. */
const ALLOWED_GLOBALS =
  'collections.OrderedDict, torch._utils._rebuild_tensor[_v2], torch._utils._rebuild_parameter[_with_state], ' +
  'torch.Size, torch.<Type>Storage, torch.<dtype>, _codecs.encode';

function resolveGlobal(module: string, name: string): PyValue {
  const full = `${module}.${name}`;
  if (CALLABLES.has(full)) return { kind: 'global', module, name };
  if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_CLASSES, name)) return { kind: 'global', module, name };
  if (module === 'torch' && Object.prototype.hasOwnProperty.call(DTYPE_OBJECTS, name)) return { kind: 'dtype', dtype: DTYPE_OBJECTS[name] };
  throw new FormatError(`refusing to load pickle global ${full}: only tensor-rebuilding globals are allowed (${ALLOWED_GLOBALS})`);
}

export interface UnpickleOptions {
  /** Resolves a persistent id (BINPERSID/PERSID). Default: torch's ('storage', ...) tuples -> StorageRef. */
  readonly persistentLoad?: (pid: PyValue) => PyValue;
  /** Name used in error messages (e.g. "consolidated.pth:archive/data.pkl"). */
  readonly source?: string;
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** Default persistent loader for torch.save: ('storage', torch.XStorage, key, location, numel). */
function torchPersistentLoad(pid: PyValue): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : null;
  if (!items || items.length < 5 || items[0] !== 'storage') {
    throw new FormatError(`unsupported persistent id ${describe(pid)} (expected ('storage', StorageType, key, location, numel))`);
  }
  const [, type, key, location, numel] = items;
  if (!isGlobal(type) || type.module !== 'torch' || !(type.name in STORAGE_CLASSES)) {
    throw new FormatError(`persistent id names storage type ${describe(type)}, not a torch.<Type>Storage class`);
  }
  if (typeof key !== 'string' || typeof location !== 'string') throw new FormatError(`persistent id ${describe(pid)}: key and location must be strings`);
  const n = toSafeInt(numel, 'storage numel');
  if (n < 0) throw new FormatError(`storage ${key}: negative numel ${n}`);
  return { kind: 'storage', key, dtype: STORAGE_CLASSES[type.name], location, numel: n };
}

function isGlobal(v: unknown): v is PyGlobal {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'global';
}

function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && !(v instanceof Map) && (v as { kind?: unknown }).kind === 'tensor';
}

function isStorageRef(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && !(v instanceof Map) && (v as { kind?: unknown }).kind === 'storage';
}

function toSafeInt(v: PyValue | undefined, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new FormatError(`${what} must be an integer, got ${describe(v)}`);
}

function intList(v: PyValue | undefined, what: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
  if (!items) throw new FormatError(`${what} must be a tuple of integers, got ${describe(v)}`);
  return items.map((x) => toSafeInt(x, what));
}

/** Short human description of a value for error messages. */
export function describe(v: PyValue | undefined | typeof MARK): string {
  if (v === undefined) return 'nothing';
  if (v === MARK) return 'a MARK';
  if (v === null) return 'None';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v !== 'object') return String(v);
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (Array.isArray(v)) return `list(${v.length})`;
  if (v instanceof PyTuple) return `tuple(${v.items.map((x) => describe(x)).join(', ')})`;
  if (v instanceof PySet) return `set(${v.items.length})`;
  if (v instanceof PyDict) return `dict(${v.size})`;
  if (v.kind === 'global') return `${v.module}.${v.name}`;
  if (v.kind === 'dtype') return `torch dtype ${v.dtype}`;
  if (v.kind === 'tensor') return `tensor ${v.dtype} ${fmtShape(v.shape)}`;
  return `storage ${v.key}`;
}

/** Validates a strided view against its storage; returns the number of storage elements it spans. */
export function checkTensorExtent(t: TensorRef, what: string): void {
  if (t.storageOffset < 0) throw new FormatError(`${what}: negative storage offset ${t.storageOffset}`);
  if (t.shape.some((d) => d === 0)) return;
  let last = t.storageOffset;
  for (let i = 0; i < t.shape.length; i++) {
    if (t.stride[i] < 0) throw new FormatError(`${what}: negative stride ${fmtShape(t.stride)}`);
    last += (t.shape[i] - 1) * t.stride[i];
  }
  if (last >= t.storage.numel) {
    throw new FormatError(
      `${what}: ${t.dtype} ${fmtShape(t.shape)} with stride ${fmtShape(t.stride)} at storage offset ${t.storageOffset} ` +
        `reaches element ${last}, beyond storage "${t.storage.key}" of ${t.storage.numel} elements`,
    );
  }
}

/** True when the strides are the row-major contiguous ones (size-1 dims may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

function rebuildTensor(args: readonly PyValue[], fn: string): TensorRef {
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!isStorageRef(storage)) throw new FormatError(`${fn}: first argument must be a storage, got ${describe(storage)}`);
  const shape = intList(size, `${fn} size`);
  const strides = intList(stride, `${fn} stride`);
  if (shape.length !== strides.length) throw new FormatError(`${fn}: size ${fmtShape(shape)} and stride ${fmtShape(strides)} differ in rank`);
  if (shape.some((d) => d < 0)) throw new FormatError(`${fn}: negative size ${fmtShape(shape)}`);
  const t: TensorRef = {
    kind: 'tensor',
    dtype: storage.dtype,
    shape,
    stride: strides,
    storage,
    storageOffset: toSafeInt(offset, `${fn} storage_offset`),
    requiresGrad: requiresGrad === true,
  };
  checkTensorExtent(t, `tensor on storage "${storage.key}"`);
  return t;
}

function callGlobal(fn: PyValue, argv: PyValue, where: string): PyValue {
  if (!isGlobal(fn)) throw new FormatError(`${where}: REDUCE/NEWOBJ on ${describe(fn)}, which is not an allowed callable`);
  const args = argv instanceof PyTuple ? argv.items : null;
  if (!args) throw new FormatError(`${where}: arguments of ${fn.module}.${fn.name} must be a tuple, got ${describe(argv)}`);
  const full = `${fn.module}.${fn.name}`;
  switch (full) {
    case 'collections.OrderedDict': {
      const d = new PyDict();
      if (args.length === 0) return d;
      const src = args[0];
      const pairs = Array.isArray(src) ? src : src instanceof PyTuple ? src.items : null;
      if (src instanceof PyDict) for (const [k, v] of src) d.set(k, v);
      else if (pairs) {
        for (const p of pairs) {
          if (!(p instanceof PyTuple) || p.items.length !== 2) throw new FormatError(`${where}: OrderedDict item ${describe(p)} is not a pair`);
          d.set(p.items[0], p.items[1]);
        }
      } else throw new FormatError(`${where}: OrderedDict(${describe(src)}) is not supported`);
      return d;
    }
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor':
      return rebuildTensor(args, fn.name);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state': {
      const t = args[0];
      if (!isTensorRef(t)) throw new FormatError(`${where}: ${fn.name} of ${describe(t)}, expected a tensor`);
      return { ...t, requiresGrad: args[1] === true };
    }
    case 'torch.Size':
      return new PyTuple(intList(args[0] ?? new PyTuple([]), 'torch.Size'));
    case '_codecs.encode': {
      const [s, enc] = args;
      if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1' && enc !== 'utf-8' && enc !== 'utf8')) {
        throw new FormatError(`${where}: _codecs.encode is only allowed as encode(str, 'latin1'), got (${args.map((a) => describe(a)).join(', ')})`);
      }
      if (enc.startsWith('utf')) return new TextEncoder().encode(s);
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) throw new FormatError(`${where}: _codecs.encode latin1 of a non-latin1 string`);
        out[i] = c;
      }
      return out;
    }
    default:
      throw new FormatError(`${where}: ${full} is not callable here (storage classes and dtypes are not constructed)`);
  }
}

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Unpickles `data` (a complete pickle, e.g. data.pkl of a torch zip checkpoint). Every opcode torch.save and
 * Python's pickler emit for plain data is supported; a global outside the allow-list is a FormatError naming
 * it ("refusing to load pickle global os.system: ..."), raised before anything is constructed.
 */
export function unpickle(data: Uint8Array, opts: UnpickleOptions = {}): PyValue {
  const src = opts.source ?? 'pickle';
  const persistentLoad = opts.persistentLoad ?? torchPersistentLoad;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: StackItem[] = [];
  const metastack: StackItem[][] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let op = 0;
  let opPos = 0;

  const fail = (msg: string): never => {
    throw new FormatError(`${src}: corrupt pickle at byte ${opPos} (opcode 0x${op.toString(16).padStart(2, '0')}): ${msg}`);
  };
  const need = (n: number): number => {
    if (!(n >= 0) || pos + n > data.length) fail(`needs ${n} more byte(s) but only ${data.length - pos} remain (truncated?)`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = (): number => data[need(1)];
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8), true);
    if (v > BigInt(data.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    const p = need(n);
    return data.subarray(p, p + n);
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const s = LATIN1.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const utf8 = (b: Uint8Array): string => {
    try {
      return UTF8.decode(b);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack.pop()!;
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (stack.length === 0 || v === MARK) fail('stack underflow');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    if (metastack.length === 0) fail('no MARK to pop to');
    const items = stack.splice(0) as PyValue[];
    for (const v of metastack.pop()!) stack.push(v);
    return items;
  };
  const put = (idx: number): void => {
    memo.set(idx, top());
  };
  const get = (idx: number): void => {
    if (!memo.has(idx)) fail(`memo key ${idx} was never stored`);
    stack.push(memo.get(idx)!);
  };
  const setItems = (d: PyValue, items: PyValue[]): void => {
    if (!(d instanceof PyDict)) fail(`SETITEM(S) on ${describe(d)}, not a dict`);
    if (items.length % 2) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) (d as PyDict).set(items[i], items[i + 1]);
  };
  const textInt = (s: string): PyValue => {
    const t = s.trim().replace(/L$/, '');
    if (t === '00') return false;
    if (t === '01') return true;
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal ${JSON.stringify(s)}`);
    const b = BigInt(t);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  };
  const leInt = (b: Uint8Array): PyValue => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opPos = pos;
    if (pos >= data.length) {
      op = 0;
      fail('ran off the end without a STOP opcode (truncated?)');
    }
    op = data[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p > 5) fail(`unsupported pickle protocol ${p}`);
        break;
      }
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || metastack.length) fail(`STOP with ${stack.length} item(s) on the stack (expected 1)`);
        return pop();
      case 0x28: // MARK
        metastack.push(stack.splice(0));
        break;
      case 0x30: // POP
        if (stack.length === 0 && metastack.length) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x49: stack.push(textInt(line())); break; // INT
      case 0x4c: stack.push(textInt(line())); break; // LONG
      case 0x4a: stack.push(dv.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(leInt(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = dv.getInt32(need(4), true);
        if (n < 0) fail('negative LONG4 length');
        stack.push(leInt(bytes(n)));
        break;
      }
      case 0x46: { // FLOAT
        const v = Number(line());
        if (Number.isNaN(v)) fail('bad float literal');
        stack.push(v);
        break;
      }
      case 0x47: stack.push(dv.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(utf8(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(bytes(u64()))); break; // BINUNICODE8
      case 0x54: { // BINSTRING (py2 str)
        const n = dv.getInt32(need(4), true);
        stack.push(LATIN1.decode(bytes(n)));
        break;
      }
      case 0x55: stack.push(LATIN1.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail(`APPEND to ${describe(l)}, not a list`);
        (l as PyValue[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail(`APPENDS to ${describe(l)}, not a list`);
        for (const v of items) (l as PyValue[]).push(v);
        break;
      }
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: stack.push(new PySet([], false)); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) fail(`ADDITEMS to ${describe(s)}, not a set`);
        (s as PySet).items.push(...items);
        break;
      }
      case 0x91: stack.push(new PySet(popMark(), true)); break; // FROZENSET
      case 0x70: put(Number(textInt(line()))); break; // PUT
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x67: get(Number(textInt(line()))); break; // GET
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x69: { // INST: names a class inline; same allow-list, but building instances is never allowed
        const module = line();
        const name = line();
        resolveGlobal(module, name);
        fail(`INST ${module}.${name} is not supported`);
        break;
      }
      case 0x6f: fail('OBJ is not supported'); break; // OBJ
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(callGlobal(fn, args, `${src}: byte ${opPos}`));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(callGlobal(cls, args, `${src}: byte ${opPos}`));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.size) fail('NEWOBJ_EX with keyword arguments is not supported');
        stack.push(callGlobal(cls, args, `${src}: byte ${opPos}`));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.attrs = state;
        else if (!isTensorRef(obj)) fail(`BUILD on ${describe(obj)} is not supported`);
        break;
      }
      case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
      case 0x50: stack.push(persistentLoad(line())); break; // PERSID
      case 0x82: case 0x83: case 0x84: fail('extension-registry opcodes (EXT1/2/4) are not supported'); break;
      case 0x97: case 0x98: fail('out-of-band buffers (protocol 5) are not supported'); break;
      case 0x53: case 0x56: case 0x5a:
        fail('protocol-0 string opcodes are not supported');
        break;
      default:
        fail('unknown opcode');
    }
  }
}

/** Returns the dict's str->tensor entries (a state dict); other entries go to `skipped` with a reason. */
export function tensorsOf(d: PyDict, prefix = ''): { tensors: Map<string, TensorRef>; skipped: string[] } {
  const tensors = new Map<string, TensorRef>();
  const skipped: string[] = [];
  for (const [k, v] of d) {
    const name = typeof k === 'string' ? prefix + k : prefix + describe(k);
    if (isTensorRef(v) && typeof k === 'string') tensors.set(name, v);
    else skipped.push(`${name} (${describe(v)})`);
  }
  return { tensors, skipped };
}
