// Tests for src/io/safetensors.ts and safetensors.node.ts: round trips (single file, HF-sharded with
// index), positioned reads into offset views, bf16/f16 widening, every malformed-header case, truncated
// files, data and headers ending exactly at the file end vs one byte past, index/shard disagreement,
// atomic writes, and the real HF fixture's tensor list.
// Leaves out: real multi-GiB reads (a sparse file covers positions past 4 GiB; chunking uses tiny chunks).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../../src/util/errors.js';
import { f32ToBf16, f32ToF16 } from '../../src/engine/dtype.js';
import {
  checkTensors,
  parseSafetensors,
  serializeHeader,
  serializeSafetensors,
  type TensorToWrite,
} from '../../src/io/safetensors.js';
import { openSafetensors, saveSharded, writeSafetensors, planShards } from '../../src/io/safetensors.node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/tests/unit -> repo root
const ROOT = path.resolve(here, '..', '..', '..');
const FIXTURE_DIR = path.join(ROOT, 'tests', 'fixtures', 'hf-chameleon');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'chameleon-st-'));
}

function sampleTensors(): TensorToWrite[] {
  const f32 = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
  const bf = Uint16Array.from([1, -2.5, 3.140625, 65280], f32ToBf16);
  const h = Uint16Array.from([0.5, -0.25, 1000, 6.103515625e-5], f32ToF16);
  const i32 = Int32Array.from([7, -8, 2147483647]);
  const i64 = new Uint8Array(16).fill(1);
  const boolData = Uint8Array.from([1, 0, 1]);
  return [
    { name: 'a.f32', dtype: 'f32', shape: [2, 3], data: f32 },
    { name: 'b.bf16', dtype: 'bf16', shape: [4], data: bf },
    { name: 'c.f16', dtype: 'F16', shape: [2, 2], data: h },
    { name: 'd.i32', dtype: 'i32', shape: [3], data: i32 },
    { name: 'e.i64', dtype: 'I64', shape: [2], data: i64 },
    { name: 'f.bool', dtype: 'BOOL', shape: [3], data: boolData },
    { name: 'g.scalar', dtype: 'f32', shape: [], data: Float32Array.of(42) },
  ];
}

/** Builds a raw safetensors buffer from an arbitrary header object and data length. */
function rawFile(header: unknown, dataBytes: number, jsonText?: string): Uint8Array {
  const json = new TextEncoder().encode(jsonText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function throwsFormat(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe('safetensors single file', () => {
  test('round trip with every dtype, header layout and metadata', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'x.safetensors');
    const ts = sampleTensors();
    writeSafetensors(file, ts, { note: 'hi' });
    assert.deepEqual(fs.readdirSync(dir), ['x.safetensors'], 'no temp file left behind');

    const bytes = new Uint8Array(fs.readFileSync(file));
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.equal(n % 8, 0, 'header padded to a multiple of 8');
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.match(text, / *$/);
    const hdr = JSON.parse(text);
    assert.deepEqual(hdr.__metadata__, { format: 'pt', note: 'hi' });
    assert.deepEqual(Object.keys(hdr).filter((k) => k !== '__metadata__'), ts.map((t) => t.name), 'header order = input order');
    assert.deepEqual(hdr['a.f32'], { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    assert.deepEqual(hdr['b.bf16'].data_offsets, [24, 32]);
    assert.deepEqual(bytes.subarray(8 + n), serializeSafetensors(ts, { note: 'hi' }).subarray(8 + n));

    const st = openSafetensors(file);
    try {
      const m = st.tensors();
      assert.deepEqual([...m.keys()].sort(), ts.map((t) => t.name).sort());
      assert.equal(m.get('a.f32')!.dtype, 'F32');
      assert.deepEqual(m.get('a.f32')!.shape, [2, 3]);
      assert.equal(m.get('a.f32')!.byteLength, 24);
      assert.equal(m.get('a.f32')!.file, file);
      assert.deepEqual(st.metadata, { format: 'pt', note: 'hi' });
      assert.deepEqual(st.readTensorF32('a.f32'), ts[0].data);
      assert.deepEqual([...st.readTensorF32('b.bf16')], [1, -2.5, 3.140625, 65280]);
      assert.deepEqual([...st.readTensorF32('c.f16')], [0.5, -0.25, 1000, 6.103515625e-5]);
      assert.deepEqual([...st.readTensorF32('g.scalar')], [42]);
      const t = st.readTensor('d.i32');
      assert.equal(t.dtype, 'i32');
      assert.deepEqual([...t.data], [7, -8, 2147483647]);
      const bt = st.readTensor('b.bf16');
      assert.equal(bt.dtype, 'bf16');
      assert.deepEqual([...bt.data], [...(ts[1].data as Uint16Array)]);
      assert.deepEqual(st.readBytes('f.bool'), Uint8Array.from([1, 0, 1]));
      assert.deepEqual(st.readBytes('e.i64'), new Uint8Array(16).fill(1));
      throwsFormat(() => st.readTensor('e.i64'), /e\.i64/, /I64/);
      throwsFormat(() => st.readTensorF32('f.bool'), /f\.bool/, /BOOL/);
      throwsFormat(() => st.readBytes('nope'), /"nope"/);
    } finally {
      st.close();
    }
  });

  test('readInto writes exactly into an offset view of a larger buffer (chunked reads)', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'y.safetensors');
    const data = Float32Array.from({ length: 37 }, (_, i) => i * 1.25);
    writeSafetensors(file, [
      { name: 'pad', dtype: 'f32', shape: [3], data: new Float32Array(3) },
      { name: 'w', dtype: 'f32', shape: [37], data },
    ]);
    for (const chunkBytes of [undefined, 7, 1]) {
      const st = openSafetensors(file, { chunkBytes });
      const big = new Uint8Array(1000).fill(0xab);
      const view = new Uint8Array(big.buffer, 100, 37 * 4);
      st.readInto('w', view);
      assert.deepEqual(new Float32Array(big.buffer.slice(100, 100 + 148)), data);
      assert.ok(big.subarray(0, 100).every((b) => b === 0xab));
      assert.ok(big.subarray(248).every((b) => b === 0xab));
      assert.throws(() => st.readInto('w', new Uint8Array(10)), /148 bytes/);
      st.close();
      assert.throws(() => st.readInto('w', view), /closed/);
    }
  });

  test('reads at positions past 4 GiB (sparse file)', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'big.safetensors');
    const gap = 4.5 * 2 ** 30;
    const tail = Float32Array.of(1.5, -2, 3, 4.25);
    const head = serializeHeader([
      { name: 'gap', dtype: 'U8', shape: [gap] },
      { name: 'tail', dtype: 'F32', shape: [4] },
    ]);
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, head.bytes, 0, head.bytes.length, 0);
      fs.writeSync(fd, new Uint8Array(tail.buffer), 0, 16, head.bytes.length + gap);
    } finally {
      fs.closeSync(fd);
    }
    const st = openSafetensors(file);
    assert.equal(st.tensors().get('gap')!.byteLength, gap);
    assert.deepEqual(st.readTensorF32('tail'), tail);
    st.close();
    fs.rmSync(file);
  });

  test('failed writes leave the existing file untouched and no temp files', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'z.safetensors');
    writeSafetensors(file, [{ name: 'a', dtype: 'f32', shape: [2], data: Float32Array.of(1, 2) }]);
    const before = fs.readFileSync(file);
    assert.throws(() => writeSafetensors(file, [{ name: 'a', dtype: 'f32', shape: [3], data: Float32Array.of(1, 2) }]), /needs 12 bytes/);
    assert.throws(() => writeSafetensors(file, [
      { name: 'a', dtype: 'f32', shape: [1], data: Float32Array.of(1) },
      { name: 'a', dtype: 'f32', shape: [1], data: Float32Array.of(1) },
    ]), /duplicate/);
    assert.throws(() => writeSafetensors(file, [{ name: 'a', dtype: 'q4' as 'f32', shape: [1], data: Float32Array.of(1) }]), /unknown dtype/);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(fs.readdirSync(dir), ['z.safetensors']);
  });
});

describe('safetensors sharded checkpoints', () => {
  const mk = (name: string, n: number, v: number): TensorToWrite => ({ name, dtype: 'f32', shape: [n], data: new Float32Array(n).fill(v) });

  test('HF-style shards + index round trip, then a single-file save removes the stale shards', () => {
    const dir = tmpDir();
    // 40 + 40 + 100 (> limit: own shard) + 20 + 60 bytes with a 96-byte limit
    const ts = [mk('w.a', 10, 1), mk('w.b', 10, 2), mk('w.big', 25, 3), mk('w.c', 5, 4), mk('w.d', 15, 5)];
    const res = saveSharded(dir, ts, { maxShardBytes: 96 });
    assert.equal(res.totalSize, 260);
    // huggingface_hub order: the oversize tensor's shard is emitted when it is met, before the open one
    assert.deepEqual(res.files, [
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
    const indexText = fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8');
    const index = JSON.parse(indexText);
    assert.deepEqual(index, {
      metadata: { total_size: 260 },
      weight_map: {
        'w.a': 'model-00002-of-00003.safetensors',
        'w.b': 'model-00002-of-00003.safetensors',
        'w.big': 'model-00001-of-00003.safetensors',
        'w.c': 'model-00003-of-00003.safetensors',
        'w.d': 'model-00003-of-00003.safetensors',
      },
    });
    assert.equal(indexText, JSON.stringify(index, null, 2) + '\n');
    assert.deepEqual(Object.keys(index.weight_map), [...Object.keys(index.weight_map)].sort());
    assert.ok(!fs.readdirSync(dir).some((f) => f.includes('.tmp-')));

    for (const target of [dir, path.join(dir, 'model.safetensors.index.json')]) {
      const st = openSafetensors(target);
      assert.equal(st.tensors().size, 5);
      assert.deepEqual(st.warnings, []);
      for (const t of ts) assert.deepEqual(st.readTensorF32(t.name), t.data);
      assert.equal(st.tensors().get('w.c')!.file, path.join(dir, 'model-00003-of-00003.safetensors'));
      st.close();
    }

    const res2 = saveSharded(dir, ts, { maxShardBytes: 1e9 });
    assert.deepEqual(res2.files, ['model.safetensors']);
    assert.equal(res2.index, null);
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
    const st = openSafetensors(dir);
    assert.deepEqual(st.readTensorF32('w.d'), ts[4].data);
    st.close();
  });

  test('planShards follows huggingface_hub (order kept, oversize tensors alone)', () => {
    const t = (n: number) => ({ bytes: new Uint8Array(n) });
    const sizes = planShards([t(3), t(3), t(10), t(4), t(1)], 6).map((s) => s.map((x) => x.bytes.length));
    assert.deepEqual(sizes, [[10], [3, 3], [4, 1]]);
  });

  test('index problems: missing shard file, shard lacking assigned tensors, paths outside, stray tensors', () => {
    const dir = tmpDir();
    saveSharded(dir, [mk('a', 4, 1), mk('b', 4, 2), mk('c', 4, 3)], { maxShardBytes: 40 });
    const indexPath = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
    const write = (o: unknown) => fs.writeFileSync(indexPath, JSON.stringify(o));

    write({ ...index, weight_map: { ...index.weight_map, zz: 'model-00009-of-00009.safetensors' } });
    throwsFormat(() => openSafetensors(dir), /do not exist/, /model-00009-of-00009/, /"zz"/);

    write({ ...index, weight_map: { ...index.weight_map, a: 'model-00002-of-00002.safetensors', q: 'model-00001-of-00002.safetensors' } });
    throwsFormat(() => openSafetensors(dir), /model-00002-of-00002\.safetensors lacks 1 tensor/, /"a"/, /model-00001-of-00002\.safetensors lacks 1 tensor/, /"q"/);

    write({ ...index, weight_map: { ...index.weight_map, a: '../evil.safetensors' } });
    throwsFormat(() => openSafetensors(dir), /outside/);

    write({ metadata: {} });
    throwsFormat(() => openSafetensors(dir), /weight_map/);

    const { b: _b, ...rest } = index.weight_map;
    write({ metadata: index.metadata, weight_map: rest });
    const st = openSafetensors(dir);
    assert.equal(st.has('b'), false);
    assert.deepEqual(st.readTensorF32('c'), new Float32Array(4).fill(3));
    assert.match(st.warnings.join('\n'), /does not assign/);
    assert.match(st.warnings.join('\n'), /total_size/);
    st.close();

    const empty = tmpDir();
    throwsFormat(() => openSafetensors(empty), /no model\.safetensors or model\.safetensors\.index\.json/);
    throwsFormat(() => openSafetensors(path.join(empty, 'missing.safetensors')), /no such file/);
  });
});

describe('safetensors header validation', () => {
  const good = { __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const withW = (w: unknown) => rawFile({ w }, 8);

  test('a valid buffer parses', () => {
    const h = parseSafetensors(rawFile(good, 8), 'mem');
    assert.deepEqual(h.metadata, { format: 'pt' });
    assert.equal(h.tensors[0].name, 'w');
    assert.equal(h.byName.get('w')!.byteLength, 8);
  });

  const cases: [string, Uint8Array, RegExp[]][] = [
    ['shorter than 8 bytes', new Uint8Array(5), [/5 bytes/, /shorter than/]],
    ['header length larger than the file', (() => {
      const b = rawFile(good, 8);
      new DataView(b.buffer).setBigUint64(0, 10_000n, true);
      return b;
    })(), [/header length 10000/, /larger than/]],
    ['absurd header length', (() => {
      const b = rawFile(good, 8);
      new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true);
      return b;
    })(), [/exceeds/]],
    ['not JSON', rawFile(null, 0, '{"w": {'), [/not valid JSON/]],
    ['JSON array', rawFile(null, 0, '[1,2]'), [/must be a JSON object/, /array/]],
    ['JSON string', rawFile(null, 0, '"hi"'), [/must be a JSON object/]],
    ['__metadata__ not an object', rawFile({ __metadata__: 3 }, 0), [/__metadata__/]],
    ['__metadata__ with a non-string value', rawFile({ __metadata__: { n: 1 } }, 0), [/__metadata__/, /"n"/, /number/]],
    ['entry not an object', withW(5), [/"w"/, /object/]],
    ['missing dtype', withW({ shape: [2], data_offsets: [0, 8] }), [/"w"/, /missing "dtype"/]],
    ['missing shape', withW({ dtype: 'F32', data_offsets: [0, 8] }), [/"w"/, /missing "shape"/]],
    ['missing data_offsets', withW({ dtype: 'F32', shape: [2] }), [/"w"/, /missing "data_offsets"/]],
    ['unknown dtype', withW({ dtype: 'F128', shape: [2], data_offsets: [0, 8] }), [/"w"/, /unknown dtype "F128"/]],
    ['shape not an array', withW({ dtype: 'F32', shape: 2, data_offsets: [0, 8] }), [/"w"/, /shape/]],
    ['non-integer dim', withW({ dtype: 'F32', shape: [1.5], data_offsets: [0, 8] }), [/"w"/, /non-negative integer/]],
    ['negative dim', withW({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] }), [/"w"/, /non-negative integer/]],
    ['string dim', withW({ dtype: 'F32', shape: ['2'], data_offsets: [0, 8] }), [/"w"/, /non-negative integer/]],
    ['bad offsets', withW({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }), [/"w"/, /data_offsets/]],
    ['size mismatch', withW({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }), [/"w"/, /\[3\]/, /needs 12 bytes/, /span 8/]],
    ['offsets past the data', rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 8), [/"w"/, /past the end/]],
    ['overlapping tensors', rawFile({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, 12), [/"b"/, /overlaps/, /"a"/]],
  ];
  for (const [what, bytes, patterns] of cases) {
    test(`rejects: ${what}`, () => throwsFormat(() => parseSafetensors(bytes, 'mem.safetensors'), /mem\.safetensors/, ...patterns));
  }

  test('the same checks apply to files on disk, naming the file', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(file, withW({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }));
    throwsFormat(() => openSafetensors(file), /bad\.safetensors/, /"w"/);
    fs.writeFileSync(file, new Uint8Array(3));
    throwsFormat(() => openSafetensors(file), /bad\.safetensors/, /shorter than/);
  });

  test('a truncated copy of the fixture fails at open, naming a tensor', () => {
    const src = fs.readFileSync(path.join(FIXTURE_DIR, 'mha', 'model.safetensors'));
    const dir = tmpDir();
    const file = path.join(dir, 'trunc.safetensors');
    fs.writeFileSync(file, src.subarray(0, src.length - 1000));
    throwsFormat(() => openSafetensors(file), /trunc\.safetensors/, /tensor "/, /past the end/);
    fs.writeFileSync(file, src.subarray(0, 100));
    throwsFormat(() => openSafetensors(file), /header length/, /larger than/);
  });
});

describe('checkTensors and the HF fixture', () => {
  function expectedFixtureTensors(layers: number, d: number, heads: number, kvHeads: number, ffn: number, vocab: number): Map<string, number[]> {
    const hd = d / heads;
    const m = new Map<string, number[]>();
    m.set('model.embed_tokens.weight', [vocab, d]);
    for (let i = 0; i < layers; i++) {
      const p = `model.layers.${i}.`;
      m.set(`${p}self_attn.q_proj.weight`, [heads * hd, d]);
      m.set(`${p}self_attn.k_proj.weight`, [kvHeads * hd, d]);
      m.set(`${p}self_attn.v_proj.weight`, [kvHeads * hd, d]);
      m.set(`${p}self_attn.o_proj.weight`, [d, heads * hd]);
      m.set(`${p}self_attn.q_norm.weight`, [heads, hd]);
      m.set(`${p}self_attn.q_norm.bias`, [heads, hd]);
      m.set(`${p}self_attn.k_norm.weight`, [kvHeads, hd]);
      m.set(`${p}self_attn.k_norm.bias`, [kvHeads, hd]);
      m.set(`${p}mlp.gate_proj.weight`, [ffn, d]);
      m.set(`${p}mlp.up_proj.weight`, [ffn, d]);
      m.set(`${p}mlp.down_proj.weight`, [d, ffn]);
      m.set(`${p}input_layernorm.weight`, [d]);
      m.set(`${p}post_attention_layernorm.weight`, [d]);
    }
    m.set('model.norm.weight', [d]);
    m.set('lm_head.weight', [vocab, d]);
    return m;
  }

  for (const [variant, kv] of [['mha', 4], ['gqa', 2]] as const) {
    test(`fixture ${variant}: every LM tensor present with the right shape, plus the VQ encoder`, () => {
      const st = openSafetensors(path.join(FIXTURE_DIR, variant, 'model.safetensors'));
      try {
        const found = st.tensors();
        checkTensors(expectedFixtureTensors(2, 64, 4, kv, 128, 512), found, { allowUnexpected: [/^model\.vqmodel\./] });
        for (const n of ['model.vqmodel.quantize.embedding.weight', 'model.vqmodel.encoder.conv_in.weight', 'model.vqmodel.quant_conv.weight', 'model.vqmodel.post_quant_conv.weight']) {
          assert.ok(found.has(n), n);
        }
        assert.deepEqual(found.get('model.vqmodel.quantize.embedding.weight')!.shape, [64, 8]);
        assert.ok([...found.values()].every((e) => e.dtype === 'F32'));
        assert.deepEqual(st.metadata, { format: 'pt' });
        const w = st.readTensorF32('model.norm.weight');
        assert.equal(w.length, 64);
        assert.ok(w.every(Number.isFinite));
      } finally {
        st.close();
      }
      // directory open finds model.safetensors
      const st2 = openSafetensors(path.join(FIXTURE_DIR, variant));
      assert.equal(st2.tensors().size, 106);
      st2.close();
    });
  }

  test('checkTensors reports all missing, all unexpected and every mismatch in one error', () => {
    const expected = new Map<string, number[]>([['a', [2, 3]], ['b', [4]], ['c', [1]], ['d', [5]], ['e', [2, 2]]]);
    const found = new Map<string, { shape: number[] }>([['a', { shape: [3, 2] }], ['b', { shape: [4] }], ['e', { shape: [2, 2, 1] }], ['x', { shape: [1] }], ['y', { shape: [1] }]]);
    throwsFormat(
      () => checkTensors(expected, found, { source: 'ckpt' }),
      /^ckpt: /,
      /2 missing tensor\(s\):\n {2}c\n {2}d/,
      /2 unexpected tensor\(s\):\n {2}x\n {2}y/,
      /a: expected \[2, 3\], found \[3, 2\]/,
      /e: expected \[2, 2\], found \[2, 2, 1\]/,
    );
    assert.throws(() => checkTensors(expected, found, { ignoreUnexpected: true }), (e: Error) => !/unexpected/.test(e.message));
    checkTensors(new Map([['b', [4]]]), found, { allowUnexpected: ['a', 'e', /^[xy]$/] });
  });
});

describe('safetensors boundaries: data ending exactly at the file end', () => {
  // 8 data bytes: a tensor may end at byte 8 of the data section, never at byte 9.
  const u8At = (begin: number, end: number) => ({ t: { dtype: 'U8', shape: [end - begin], data_offsets: [begin, end] } });
  const f32At = (begin: number) => ({ w: { dtype: 'F32', shape: [2], data_offsets: [begin, begin + 8] } });

  test('in memory: an offset ending exactly at the end parses, one byte past is refused', () => {
    assert.equal(parseSafetensors(rawFile(u8At(5, 8), 8), 'mem').byName.get('t')!.end, 8);
    assert.equal(parseSafetensors(rawFile(f32At(0), 8), 'mem').byName.get('w')!.byteLength, 8);
    assert.equal(parseSafetensors(rawFile(u8At(8, 8), 8), 'mem').byName.get('t')!.byteLength, 0);
    throwsFormat(() => parseSafetensors(rawFile(u8At(6, 9), 8), 'mem.safetensors'), /mem\.safetensors/, /"t"/, /\[6, 9\]/, /past the end/, /8 bytes/);
    throwsFormat(() => parseSafetensors(rawFile(f32At(1), 8), 'mem.safetensors'), /"w"/, /\[1, 9\]/, /past the end/);
    throwsFormat(() => parseSafetensors(rawFile(u8At(9, 9), 8), 'mem.safetensors'), /"t"/, /past the end/);
  });

  test('in memory: a header ending exactly at the file end parses, one byte longer is refused', () => {
    const exact = rawFile({ __metadata__: { a: 'b' } }, 0);
    assert.deepEqual(parseSafetensors(exact, 'mem').metadata, { a: 'b' });
    const long = exact.slice();
    new DataView(long.buffer).setBigUint64(0, BigInt(exact.length - 8 + 1), true);
    throwsFormat(() => parseSafetensors(long, 'mem.safetensors'), /header length \d+ is larger than the file allows/);
  });

  test('on disk: the last tensor ending at the last byte loads; the file one byte shorter is refused at open', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'edge.safetensors');
    const tail = Float32Array.of(1.5, -2.25);
    writeSafetensors(file, [
      { name: 'a', dtype: 'f32', shape: [3], data: Float32Array.of(7, 8, 9) },
      { name: 'tail', dtype: 'f32', shape: [2], data: tail },
    ]);
    const bytes = fs.readFileSync(file);
    const st = openSafetensors(file);
    const e = st.get('tail');
    assert.equal(e.offset + e.byteLength, bytes.length, 'the tensor ends exactly at the file end');
    assert.deepEqual(st.readTensorF32('tail'), tail);
    st.close();
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1));
    throwsFormat(() => openSafetensors(file), /edge\.safetensors/, /tensor "tail"/, /\[12, 20\]/, /past the end of the data section \(19 bytes/);
  });
});
