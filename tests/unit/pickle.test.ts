// Tests for src/io/pickle.ts and src/io/torch-zip.node.ts: plain-data round trips through the test pickler,
// protocol 2 and 4 opcodes, tensor descriptors (strided views, shared storages, offsets), refusal of every
// non-allow-listed global (os.system, builtins.eval, INST) with nothing executed, corrupt pickles, and the
// zip side: stored/deflated/zip64 archives, other prefixes, truncated files, missing data.pkl or storages.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FormatError } from '../../src/util/errors.js';
import { PyDict, PyTuple, type TensorRef, isContiguous, unpickle } from '../../src/io/pickle.js';
import { TorchCheckpoint } from '../../src/io/torch-zip.node.js';
import { Call, Raw, TStorage, TTensor, Tup, pickleTorch, torchSave, torchSaveBytes, zipBytes } from '../helpers/torch-writer.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'chameleon-pickle-'));
}

const enc = (s: string): number[] => [...new TextEncoder().encode(s)];

function f32(values: number[]): Float32Array {
  return Float32Array.from(values);
}

describe('unpickle: plain data', () => {
  test('round-trips nested containers and scalars', () => {
    const { pkl } = pickleTorch({
      ints: [0, 1, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 40)],
      big: 2n ** 70n,
      neg: -(2n ** 70n),
      floats: [0.5, -1e-5, 2.5e-300],
      flags: new Tup([true, false, null]),
      text: 'héllo ✓',
      bytes: Uint8Array.from([0, 200, 255]),
      nested: new Map<string | number, unknown>([[3, 'three'], ['list', []]]) as never,
      long: new Tup([1, 2, 3, 4, 5]),
    });
    const v = unpickle(pkl) as PyDict;
    assert.ok(v instanceof PyDict);
    assert.deepEqual(v.get('ints'), [0, 1, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 40)]);
    assert.equal(v.get('big'), 2n ** 70n);
    assert.equal(v.get('neg'), -(2n ** 70n));
    assert.deepEqual(v.get('floats'), [0.5, -1e-5, 2.5e-300]);
    assert.deepEqual((v.get('flags') as PyTuple).items, [true, false, null]);
    assert.equal(v.get('text'), 'héllo ✓');
    assert.deepEqual(v.get('bytes'), Uint8Array.from([0, 200, 255]));
    const nested = v.get('nested') as PyDict;
    assert.equal(nested.get(3), 'three');
    assert.deepEqual(nested.get('list'), []);
    assert.deepEqual((v.get('long') as PyTuple).items, [1, 2, 3, 4, 5]);
  });

  test('protocol 4 opcodes: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, EMPTY_SET/ADDITEMS, BINGET', () => {
    const s = (x: string): number[] => [0x8c, enc(x).length, ...enc(x), 0x94];
    const body = [
      ...s('collections'), ...s('OrderedDict'), 0x93, 0x94, 0x29, 0x52, 0x94, // OrderedDict() -> memo 3
      0x28, ...s('a'), 0x8f, 0x94, 0x28, 0x4b, 1, 0x4b, 2, 0x90, // 'a': {1, 2}
      ...s('b'), 0x68, 2, // 'b': BINGET 2 ('OrderedDict' string... memo 2 is the global)
      0x75, 0x2e,
    ];
    const frame = [0x95, ...new Array(8).fill(0)];
    new DataView(Uint8Array.from(frame).buffer).setBigUint64(1, BigInt(body.length), true);
    const v = unpickle(Uint8Array.from([0x80, 4, ...frame, ...body])) as PyDict;
    assert.deepEqual((v.get('a') as { items: unknown[] }).items, [1, 2]);
    assert.deepEqual(v.get('b'), { kind: 'global', module: 'collections', name: 'OrderedDict' });
  });

  test('BUILD on an OrderedDict keeps the state as attrs (state_dict._metadata)', () => {
    const { pkl } = pickleTorch({ w: 1 });
    // splice "{'_metadata': {}} BUILD" before STOP
    const extra = [0x7d, 0x8c, 9, ...enc('_metadata'), 0x7d, 0x73, 0x62];
    const v = unpickle(Uint8Array.from([...pkl.subarray(0, pkl.length - 1), ...extra, 0x2e])) as PyDict;
    assert.equal(v.get('w'), 1);
    assert.ok(v.attrs instanceof PyDict);
  });
});

describe('unpickle: tensors', () => {
  test('rebuilds _rebuild_tensor_v2 descriptors (shape, stride, offset, storage)', () => {
    const st = new TStorage('F32', new Uint8Array(f32([0, 1, 2, 3, 4, 5, 6, 7]).buffer));
    const { pkl, storages } = pickleTorch({
      a: new TTensor('F32', [2, 3], st),
      t: new TTensor('F32', [3, 2], st, { stride: [1, 3] }),
      tail: new TTensor('F32', [2], st, { storageOffset: 6 }),
    });
    assert.equal(storages.length, 1);
    const d = unpickle(pkl) as PyDict;
    const a = d.get('a') as TensorRef;
    assert.equal(a.kind, 'tensor');
    assert.equal(a.dtype, 'F32');
    assert.deepEqual(a.shape, [2, 3]);
    assert.deepEqual(a.stride, [3, 1]);
    assert.equal(a.storage.key, '0');
    assert.equal(a.storage.numel, 8);
    assert.equal((d.get('tail') as TensorRef).storageOffset, 6);
    assert.ok(isContiguous(a.shape, a.stride));
    const t = d.get('t') as TensorRef;
    assert.ok(!isContiguous(t.shape, t.stride));
  });

  test('a view reaching beyond its storage is a FormatError', () => {
    const st = new TStorage('F32', new Uint8Array(16));
    const { pkl } = pickleTorch({ x: new TTensor('F32', [5], st) });
    assert.throws(() => unpickle(pkl), (e: Error) => e instanceof FormatError && /beyond storage "0" of 4 elements/.test(e.message));
    const { pkl: p2 } = pickleTorch({ x: new TTensor('F32', [2], st, { storageOffset: 3 }) });
    assert.throws(() => unpickle(p2), /beyond storage/);
  });
});

describe('unpickle: refuses code', () => {
  const marker = path.join(os.tmpdir(), `chameleon-pwned-${process.pid}`);
  const hostile: [string, Uint8Array][] = [
    ['os.system via GLOBAL+REDUCE', pickleTorch(new Call('os', 'system', [`touch ${marker}`])).pkl],
    ['posix.system', pickleTorch(new Call('posix', 'system', [`touch ${marker}`])).pkl],
    ['builtins.eval', pickleTorch(new Call('builtins', 'eval', ['__import__("os").system("true")'])).pkl],
    ['builtins.getattr inside a state dict', pickleTorch({ w: new Call('builtins', 'getattr', [1, 'real']) }).pkl],
    ['torch.load (a torch global that is not a tensor rebuilder)', pickleTorch(new Call('torch', 'load', ['x'])).pkl],
  ];
  for (const [what, pkl] of hostile) {
    test(what, () => {
      assert.throws(
        () => unpickle(pkl),
        (e: Error) => e instanceof FormatError && /refusing to load pickle global \S+: only tensor-rebuilding globals are allowed/.test(e.message),
      );
      assert.ok(!fs.existsSync(marker));
    });
  }

  test('the error names the global', () => {
    assert.throws(() => unpickle(pickleTorch(new Call('os', 'system', ['x'])).pkl), /refusing to load pickle global os\.system:/);
    assert.throws(() => unpickle(pickleTorch(new Call('builtins', 'eval', ['x'])).pkl), /refusing to load pickle global builtins\.eval:/);
  });

  test('STACK_GLOBAL and INST are checked too', () => {
    const sg = Uint8Array.from([0x80, 4, 0x8c, 8, ...enc('builtins'), 0x8c, 4, ...enc('exec'), 0x93, 0x2e]);
    assert.throws(() => unpickle(sg), /refusing to load pickle global builtins\.exec/);
    const inst = Uint8Array.from([0x80, 2, 0x28, 0x69, ...enc('os\nsystem\n'), 0x2e]);
    assert.throws(() => unpickle(inst), /refusing to load pickle global os\.system/);
  });

  test('allowed classes cannot be called with odd arguments', () => {
    const pkl = pickleTorch(new Call('_codecs', 'encode', ['x', 'rot13'])).pkl;
    assert.throws(() => unpickle(pkl), /_codecs\.encode is only allowed/);
    const storageCall = pickleTorch(new Call('torch', 'FloatStorage', [])).pkl;
    assert.throws(() => unpickle(storageCall), /not callable here/);
  });
});

describe('unpickle: corrupt input', () => {
  const good = pickleTorch({ a: [1, 2, 3], b: 'x' }).pkl;
  test('truncated', () => {
    for (const cut of [1, 5, good.length - 1]) {
      assert.throws(() => unpickle(good.subarray(0, cut)), (e: Error) => e instanceof FormatError && /corrupt pickle/.test(e.message));
    }
  });
  test('unknown opcode, bad memo, stack underflow, junk after STOP-less end', () => {
    assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0xff, 0x2e])), /unknown opcode/);
    assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x68, 7, 0x2e])), /memo key 7 was never stored/);
    assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x85, 0x2e])), /stack underflow/);
    assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x4b, 1, 0x4b, 2, 0x2e])), /STOP with 2 item/);
    assert.throws(() => unpickle(Uint8Array.from([0x80, 9, 0x2e])), /unsupported pickle protocol 9/);
    assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x2e])), /truncated/);
  });
  test('bad persistent ids', () => {
    const pid = Uint8Array.from([0x80, 2, 0x28, 0x58, 3, 0, 0, 0, ...enc('foo'), 0x74, 0x51, 0x2e]);
    assert.throws(() => unpickle(pid), /unsupported persistent id/);
  });
});

describe('torch zip checkpoints', () => {
  const vals = f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const sd = (): Record<string, TTensor | number | string> => {
    const st = new TStorage('F32', new Uint8Array(vals.buffer.slice(0)));
    return {
      m: new TTensor('F32', [3, 4], st),
      mt: new TTensor('F32', [4, 3], st, { stride: [1, 4] }),
      row2: new TTensor('F32', [4], st, { storageOffset: 8 }),
      h: new TTensor('BF16', [2], Uint16Array.from([0x3f80, 0xc000])),
      i: new TTensor('I64', [2], BigInt64Array.from([5n, -6n])),
      epoch: 3,
      note: 'x',
    };
  };

  const variants: [string, Parameters<typeof torchSaveBytes>[1]][] = [
    ['stored, prefix archive', {}],
    ['stored, prefix consolidated, plain dict', { prefix: 'consolidated', plainDict: true }],
    ['deflated storages', { deflate: true }],
    ['zip64 central directory', { zip64: true }],
  ];
  for (const [what, opts] of variants) {
    test(`reads tensors: ${what}`, () => {
      const dir = tmpDir();
      const file = path.join(dir, 'x.pth');
      torchSave(file, sd(), opts);
      const ck = TorchCheckpoint.open(file);
      try {
        assert.deepEqual([...ck.tensors().keys()], ['m', 'mt', 'row2', 'h', 'i']);
        assert.deepEqual(ck.skipped, ['epoch (3)', 'note ("x")']);
        assert.deepEqual(ck.readF32('m'), vals);
        const mt = ck.get('mt');
        assert.equal(mt.contiguous, false);
        assert.deepEqual(ck.readF32('mt'), f32([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]));
        assert.deepEqual(ck.readF32('row2'), f32([8, 9, 10, 11]));
        assert.deepEqual(ck.readF32('h'), f32([1, -2]));
        assert.deepEqual(new BigInt64Array(ck.readBytes('i').buffer), BigInt64Array.from([5n, -6n]));
        assert.throws(() => ck.readF32('i'), /cannot be read as float32/);
        assert.throws(() => ck.readInto('m', new Uint8Array(3)), /destination holds 3/);
      } finally {
        ck.close();
      }
    });
  }

  test('a Lightning-style checkpoint exposes root["state_dict"]', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'vq.ckpt');
    torchSave(file, { epoch: 1, state_dict: { 'a.weight': new TTensor('F32', [2], f32([1, 2])) }, 'pytorch-lightning_version': '1.9' });
    const ck = TorchCheckpoint.open(file);
    assert.deepEqual([...ck.tensors().keys()], ['a.weight']);
    ck.close();
    assert.throws(() => TorchCheckpoint.open(file, { stateDictKey: 'model' }), /no dict under "model"/);
  });

  test('errors: not a zip, legacy format, truncated, missing data.pkl, missing storage, short storage', () => {
    const dir = tmpDir();
    const w = (name: string, bytes: Uint8Array): string => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, bytes);
      return p;
    };
    const isFmt = (re: RegExp) => (e: Error) => e instanceof FormatError && re.test(e.message);
    assert.throws(() => TorchCheckpoint.open(w('rand.pth', new Uint8Array(1000).fill(7))), isFmt(/not a zip file/));
    assert.throws(() => TorchCheckpoint.open(w('tiny.pth', new Uint8Array(5))), isFmt(/not a zip file/));
    assert.throws(() => TorchCheckpoint.open(w('legacy.pth', pickleTorch({ a: 1 }).pkl)), isFmt(/legacy \(pre-zip\) torch\.save format/));
    const full = torchSaveBytes(sd());
    assert.throws(() => TorchCheckpoint.open(w('cut.pth', full.subarray(0, full.length - 30))), isFmt(/truncated/));
    assert.throws(() => TorchCheckpoint.open(w('cut2.pth', full.subarray(0, 200))), isFmt(/truncated/));
    assert.throws(() => TorchCheckpoint.open(path.join(dir, 'nope.pth')), isFmt(/cannot open/));
    const noPkl = zipBytes([{ name: 'archive/version', data: Uint8Array.from([51]) }]);
    assert.throws(() => TorchCheckpoint.open(w('nopkl.pth', noPkl)), isFmt(/no <prefix>\/data\.pkl/));
    assert.throws(() => TorchCheckpoint.open(w('nost.pth', torchSaveBytes(sd(), { dropStorages: ['1'] }))), isFmt(/storage "1" of tensor "h" is missing from the archive/));
    const corrupt = torchSaveBytes(sd(), { pickle: Uint8Array.from([0x80, 2, 0x7d, 0x28, 0x58]) });
    assert.throws(() => TorchCheckpoint.open(w('badpkl.pth', corrupt)), isFmt(/corrupt pickle/));
    const evil = torchSaveBytes(sd(), { pickle: pickleTorch(new Call('os', 'system', ['true'])).pkl });
    assert.throws(() => TorchCheckpoint.open(w('evil.pth', evil)), isFmt(/refusing to load pickle global os\.system/));
    // the pickle declares 4 elements but the storage record holds 2
    const st = new TStorage('F32', new Uint8Array(8));
    Object.defineProperty(st, 'numel', { get: () => 4 });
    assert.throws(() => TorchCheckpoint.open(w('short.pth', torchSaveBytes({ x: new TTensor('F32', [4], st) }))), isFmt(/holds 8 bytes but declares 4 x F32/));
  });

  test('a raw opcode splice is how hostile bytes get in; the reader never imports anything', () => {
    const reduce = new Raw(Uint8Array.from([0x63, ...enc('subprocess\nPopen\n'), 0x29, 0x52]));
    assert.throws(() => unpickle(pickleTorch({ a: reduce as never }).pkl), /refusing to load pickle global subprocess\.Popen/);
  });
});

