// VQGAN image tokenizer tests: parity with the Hugging Face fixtures (tests/fixtures/hf-chameleon/{mha,gqa}:
// codes, latents, per-stage statistics, near-tie margins) and with Meta's decoder (mha: codebook vectors,
// post_quant_conv, pixels, uint8), on ref and (when built) wasm; input-shape and missing-decoder errors;
// config conversion; argmin tie rule; straight-through quantizer gradients vs the written-out formula.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, backward, ops, type Backend, type Tensor } from '../../src/engine/index.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { openSafetensors } from '../../src/io/safetensors.node.js';
import { ChameleonError, FormatError, ShapeError } from '../../src/util/errors.js';
import {
  CHAMELEON_VQGAN,
  SMALL_VQGAN,
  TINY_VQGAN,
  latentGrid,
  tokensPerImage,
  vqganConfigFromHf,
  vqganConfigToHf,
} from '../../src/tokenizers/image/config.js';
import { nearestCodes, quantizeStraightThrough } from '../../src/tokenizers/image/quantizer.js';
import { Vqgan, combineSources, padCodes, toUint8HWC } from '../../src/tokenizers/image/vqgan.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..', '..', '..'); // dist/tests/unit -> repo root
const FIX = path.join(ROOT, 'tests', 'fixtures', 'hf-chameleon');

type Nested = number | Nested[];
function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}
function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...shapeOf(x[0])] : [];
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Expected {
  config_full: { vq_config: Record<string, unknown> };
  image: { pixel_values: Nested };
  vq_encode: {
    indices: number[];
    quantized: Nested;
    encoder_out: Nested;
    quant_conv_out: Nested;
    distance_margins: number[];
    intermediate_stats: Record<string, { shape: number[]; mean: number; std: number; abs_sum: number; head: number[] }>;
  };
  vq_decode?: { indices: number[]; codebook_vectors: Nested; post_quant_conv_out: Nested; pixels: Nested; uint8_hwc: Nested };
}

const expectedCache = new Map<string, Expected>();
function expected(variant: string): Expected {
  if (!expectedCache.has(variant)) {
    expectedCache.set(variant, JSON.parse(fs.readFileSync(path.join(FIX, variant, 'expected.json'), 'utf8')) as Expected);
  }
  return expectedCache.get(variant)!;
}

const TOL = 1e-4;
const report: string[] = [];

function checkTensor(name: string, t: Tensor, want: Nested, tol = TOL): number {
  assert.deepEqual([...t.shape], shapeOf(want), `${name} shape`);
  const err = maxAbs(t.toFloat32(), flat(want));
  assert.ok(err <= tol, `${name}: max abs error ${err} > ${tol}`);
  return err;
}

/** Backends to run parity on: ref always, wasm when its module has been built. */
async function backends(): Promise<{ name: string; make: () => Backend }[]> {
  const list: { name: string; make: () => Backend }[] = [{ name: 'ref', make: createRefBackend }];
  const wasmPath = path.resolve(here, '..', '..', 'src', 'engine', 'backends', 'wasm', 'backend.node.js');
  if (fs.existsSync(wasmPath)) {
    try {
      const mod = (await import(wasmPath)) as { createWasmBackend(o?: { threads?: number }): Promise<Backend> };
      const b = await mod.createWasmBackend({ threads: 2 });
      list.push({ name: 'wasm', make: () => b });
      after(() => b.dispose());
    } catch (e) {
      report.push(`wasm backend not usable here: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return list;
}

function pixelsOf(e: Engine, exp: Expected): Tensor {
  const p = exp.image.pixel_values;
  return e.tensor(flat(p), shapeOf(p)); // [1, 3, 32, 32]
}

const BACKENDS = await backends();

for (const { name: bname, make } of BACKENDS) {
  describe(`VQGAN parity on ${bname}`, () => {
    for (const variant of ['mha', 'gqa']) {
      test(`${variant}: encode matches Hugging Face (codes, latents, stage statistics, margins)`, () => {
        const exp = expected(variant);
        const e = new Engine(make());
        const cfg = vqganConfigFromHf(exp.config_full.vq_config);
        const vq = new Vqgan(e, cfg, { encoder: true, decoder: false });
        vq.load(openSafetensors(path.join(FIX, variant, 'model.safetensors')));
        const stats = new Map<string, Float32Array>();
        const r = vq.encode(pixelsOf(e, exp), { capture: (n, t) => stats.set(n, t.toFloat32()) });
        assert.deepEqual([...r.indices], exp.vq_encode.indices, 'indices');
        const errs = {
          encoder_out: checkTensor('encoder_out', r.encoderOut, exp.vq_encode.encoder_out),
          quant_conv_out: checkTensor('quant_conv_out', r.quantConvOut, exp.vq_encode.quant_conv_out),
          quantized: checkTensor('quantized', r.quantized, exp.vq_encode.quantized),
          margins: maxAbs(r.margins, exp.vq_encode.distance_margins),
        };
        assert.ok(errs.margins <= TOL, `distance margins: ${errs.margins}`);
        let statErr = 0;
        for (const [key, s] of Object.entries(exp.vq_encode.intermediate_stats)) {
          const got = stats.get(key);
          assert.ok(got, `no captured activation named ${key}`);
          assert.equal(got.length, s.shape.reduce((a, b) => a * b, 1), `${key} size`);
          let sum = 0;
          let abs = 0;
          for (const v of got) {
            sum += v;
            abs += Math.abs(v);
          }
          const mean = sum / got.length;
          let sq = 0;
          for (const v of got) sq += (v - mean) ** 2;
          const std = Math.sqrt(sq / (got.length - 1));
          const headErr = maxAbs(got.subarray(0, s.head.length), s.head);
          assert.ok(headErr <= TOL, `${key} head: ${headErr}`);
          assert.ok(Math.abs(mean - s.mean) <= TOL, `${key} mean ${mean} vs ${s.mean}`);
          const stdOk = Math.abs(std - s.std) <= TOL || Math.abs(Math.sqrt(sq / got.length) - s.std) <= TOL;
          assert.ok(stdOk, `${key} std ${std} vs ${s.std}`);
          assert.ok(Math.abs(abs - s.abs_sum) <= 1e-5 * s.abs_sum, `${key} abs_sum ${abs} vs ${s.abs_sum}`);
          statErr = Math.max(statErr, headErr);
        }
        report.push(
          `${bname} ${variant} encode: indices identical; max abs err encoder_out ${errs.encoder_out.toExponential(2)}, ` +
            `quant_conv_out ${errs.quant_conv_out.toExponential(2)}, quantized ${errs.quantized.toExponential(2)}, ` +
            `margins ${errs.margins.toExponential(2)}, stage heads ${statErr.toExponential(2)}`,
        );
        e.dispose();
      });
    }

    test('mha: decodeCodes matches Meta reference (codebook vectors, post_quant_conv, pixels, uint8)', () => {
      const exp = expected('mha');
      const dec = exp.vq_decode!;
      const e = new Engine(make());
      const cfg = vqganConfigFromHf(exp.config_full.vq_config);
      const src = combineSources(
        openSafetensors(path.join(FIX, 'mha', 'model.safetensors')),
        openSafetensors(path.join(FIX, 'mha', 'vq_decoder.safetensors')),
      );
      const vq = Vqgan.fromCheckpoint(e, cfg, src);
      assert.ok(vq.decoder && vq.encoder);
      const caps = new Map<string, Tensor>();
      const pixels = vq.decodeCodes(dec.indices, 1, { capture: (n, t) => caps.set(n, t) });
      const errs = {
        codebook_vectors: checkTensor('codebook_vectors', caps.get('codebook_vectors')!, dec.codebook_vectors),
        post_quant_conv_out: checkTensor('post_quant_conv_out', caps.get('post_quant_conv')!, dec.post_quant_conv_out),
        pixels: checkTensor('pixels', pixels, dec.pixels),
      };
      const bytes = toUint8HWC(pixels);
      const want = flat(dec.uint8_hwc);
      let diff = 0;
      for (let i = 0; i < want.length; i++) if (bytes[i] !== want[i]) diff++;
      assert.equal(diff, 0, `${diff} of ${want.length} uint8 values differ`);
      report.push(
        `${bname} mha decode: max abs err codebook_vectors ${errs.codebook_vectors.toExponential(2)}, ` +
          `post_quant_conv_out ${errs.post_quant_conv_out.toExponential(2)}, pixels ${errs.pixels.toExponential(2)}; uint8_hwc identical`,
      );
      e.dispose();
    });

    test('batch of two images: each image gets the codes it gets alone', () => {
      const exp = expected('mha');
      const e = new Engine(make());
      const vq = new Vqgan(e, TINY_VQGAN);
      vq.load(openSafetensors(path.join(FIX, 'mha', 'model.safetensors')));
      const one = flat(exp.image.pixel_values);
      const other = one.map((v) => -v);
      const r = vq.encode(e.tensor([...one, ...other], [2, 3, 32, 32]));
      const r2 = vq.encode(e.tensor(other, [1, 3, 32, 32]));
      assert.equal(r.indices.length, 32);
      assert.deepEqual([...r.indices.subarray(0, 16)], exp.vq_encode.indices);
      assert.deepEqual([...r.indices.subarray(16)], [...r2.indices]);
      e.dispose();
    });
  });
}

test('inference plan (staged, no-grad) equals the autograd path and bounds scratch memory', () => {
  const e = new Engine(createRefBackend());
  const vq = new Vqgan(e, TINY_VQGAN);
  vq.load(openSafetensors(path.join(FIX, 'mha', 'model.safetensors')));
  const x = e.tensor(flat(expected('mha').image.pixel_values), [1, 3, 32, 32]);
  const staged = e.scope(() => vq.encode(x).quantConvOut.toFloat32());
  const peak = e.memoryStats().arenas.find((a) => a.name === 'scratch')!.peakBytes;
  const graph = e.scope(() => vq.encodeLatent(x).toFloat32()); // recorded for autograd: every activation kept
  assert.equal(maxAbs(staged, graph), 0);
  // Largest activation: 32 channels × 32 × 32 floats. Two ping-pong buffers + one ResnetBlock's temporaries.
  const largest = 32 * 32 * 32 * 4;
  assert.ok(peak <= 10 * largest, `scratch peak ${peak} bytes > 10 × ${largest}`);
  e.dispose();
});

describe('VQGAN errors', () => {
  const e = new Engine(createRefBackend());
  const vq = new Vqgan(e, TINY_VQGAN);
  vq.load(openSafetensors(path.join(FIX, 'mha', 'model.safetensors')));

  test('wrong input sizes are rejected with the expected shape', () => {
    for (const shape of [[1, 3, 64, 64], [1, 3, 32, 16], [1, 1, 32, 32], [3, 32, 32]]) {
      const x = e.zeros(shape);
      assert.throws(() => vq.encode(x), (err: Error) => err instanceof ShapeError && /\[B, 3, 32, 32\]/.test(err.message) && err.message.includes(`[${shape.join(', ')}]`));
    }
    assert.throws(() => vq.encode(e.zeros([1, 3, 32, 32], 'bf16')), ShapeError);
  });

  test('decoding without decoder weights explains what is missing', () => {
    assert.throws(() => vq.decodeCodes(new Int32Array(16)), (err: Error) => err instanceof ChameleonError && /decoder weights/.test(err.message) && /Hugging Face/.test(err.message));
    const fromHf = Vqgan.fromCheckpoint(e, TINY_VQGAN, openSafetensors(path.join(FIX, 'gqa', 'model.safetensors')));
    assert.equal(fromHf.decoder, null);
    assert.throws(() => fromHf.decodeCodes(new Int32Array(16)), /no VQGAN decoder weights/);
    // Asking for a decoder and loading an encoder-only checkpoint: the loader lists the missing names.
    const withDec = new Vqgan(e, TINY_VQGAN, { decoder: true });
    assert.throws(
      () => withDec.load(openSafetensors(path.join(FIX, 'mha', 'model.safetensors'))),
      (err: Error) => err instanceof FormatError && /missing \d+: model\.vqmodel\.decoder\./.test(err.message),
    );
    assert.throws(() => withDec.decodeCodes(new Int32Array(16)), /not loaded/);
  });

  test('bad code lists are rejected', () => {
    const src = combineSources(
      openSafetensors(path.join(FIX, 'mha', 'model.safetensors')),
      openSafetensors(path.join(FIX, 'mha', 'vq_decoder.safetensors')),
    );
    const full = Vqgan.fromCheckpoint(e, TINY_VQGAN, src);
    assert.throws(() => full.decodeCodes(new Int32Array(15)), /expected 1×16 = 16 codes/);
    assert.throws(() => full.decodeCodes(new Int32Array(16).fill(64)), /outside the codebook \[0, 64\)/);
    assert.throws(() => full.decodeLatent(e.zeros([1, 8, 2, 2])), ShapeError);
    const padded = padCodes([5, 6, 7], 16);
    assert.deepEqual([...padded.subarray(0, 4)], [5, 6, 7, 5]);
    assert.equal(full.decodeCodes(padded).shape.join(), '1,3,32,32');
  });
});

describe('VQGAN config', () => {
  test('HF and taming key spellings, presets, latentGrid', () => {
    assert.deepEqual(vqganConfigFromHf(expected('mha').config_full.vq_config), { ...TINY_VQGAN, channelMultiplier: [1, 1, 1, 2], attnResolutions: [] });
    const taming = { embed_dim: 256, n_embed: 8192, z_channels: 256, ch: 128, ch_mult: [1, 1, 2, 2, 4], out_ch: 3, double_z: false, resolution: 512, in_channels: 3, num_res_blocks: 2, attn_resolutions: [], dropout: 0 };
    assert.deepEqual(vqganConfigFromHf(taming), { ...CHAMELEON_VQGAN, channelMultiplier: [1, 1, 2, 2, 4], attnResolutions: [] });
    assert.deepEqual(vqganConfigFromHf(vqganConfigToHf(SMALL_VQGAN)), { ...SMALL_VQGAN, channelMultiplier: [...SMALL_VQGAN.channelMultiplier], attnResolutions: [] });
    assert.deepEqual(vqganConfigFromHf({ attn_resolutions: null }).attnResolutions, []);
    assert.equal(latentGrid(CHAMELEON_VQGAN), 32);
    assert.equal(tokensPerImage(CHAMELEON_VQGAN), 1024);
    assert.equal(latentGrid(TINY_VQGAN), 4);
    assert.equal(latentGrid(SMALL_VQGAN), 8);
    assert.throws(() => vqganConfigFromHf({ base_channels: 48 }), /not divisible by the 32 GroupNorm groups/);
    assert.throws(() => vqganConfigFromHf({ resolution: 100 }), /resolution 100 is not divisible by the down-sampling factor 16/);
    assert.throws(() => vqganConfigFromHf({ ch_mult: 'x' }), FormatError);
    assert.throws(() => vqganConfigFromHf({ attn_type: 'linear' }), /not supported/);
  });

  test('parameter names follow the checkpoint (chameleon preset: encoder + decoder)', () => {
    const e = new Engine(createRefBackend());
    // The full-size model needs ~280 MB of zeros; the tiny preset with attention checks attn naming instead.
    const vq = new Vqgan(e, { ...TINY_VQGAN, attnResolutions: [8] }, { decoder: true });
    const names = new Set(vq.store.names());
    for (const n of ['encoder.conv_in.weight', 'encoder.down.0.block.0.norm1.weight', 'encoder.down.2.attn.0.q.weight', 'encoder.down.3.block.0.nin_shortcut.weight',
      'encoder.mid.attn_1.proj_out.bias', 'quant_conv.weight', 'quantize.embedding.weight', 'post_quant_conv.bias', 'decoder.up.3.upsample.conv.weight',
      'decoder.up.2.block.0.nin_shortcut.weight', 'decoder.up.2.attn.1.k.weight', 'decoder.norm_out.bias']) {
      assert.ok(names.has(n), n);
    }
    assert.ok(!names.has('decoder.up.0.upsample.conv.weight'));
    assert.ok(!names.has('encoder.down.3.downsample.conv.weight'));
    e.dispose();
  });
});

describe('VQ quantizer', () => {
  test('argmin picks the first of equal distances (torch.argmin)', () => {
    const e = new Engine(createRefBackend());
    const cb = e.tensor([1, 0, 0, 1, 1, 0, 0, 1], [4, 2]); // rows 0 = 2 and 1 = 3
    const z = e.tensor([1, 0, 0, 1, 0.5, 0.5], [3, 2]);
    const r = nearestCodes(z, cb);
    assert.deepEqual([...r.indices], [0, 1, 0]);
    assert.deepEqual([...r.margins], [0, 0, 0]);
    e.dispose();
  });

  test('straight-through quantizer: forward values and gradients equal the formula', () => {
    const e = new Engine(createRefBackend());
    const b = 2, d = 3, h = 2, w = 2, k = 5;
    const rnd = (n: number, s: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.8);
    const z0 = rnd(b * d * h * w, 1);
    const cb0 = rnd(k * d, 2);
    const gOut = rnd(b * d * h * w, 3);
    for (const legacy of [false, true]) {
      const z = e.tensor(z0, [b, d, h, w]).trainable();
      const cb = e.tensor(cb0, [k, d]).trainable();
      const beta = 0.25;
      const st = quantizeStraightThrough(z, cb, { beta, legacy });
      // downstream loss: Σ gOut · quantized, plus the VQ loss
      const total = ops.add(ops.sum(ops.mul(st.quantized, e.tensor(gOut, [b, d, h, w]))), st.loss);
      backward(total);
      const n = b * d * h * w;
      const [wCb, wCommit] = legacy ? [beta, 1] : [1, beta];
      const wantGz = new Float64Array(n);
      const wantGcb = new Float64Array(k * d);
      let cbl = 0;
      for (let bi = 0; bi < b; bi++) {
        for (let p = 0; p < h * w; p++) {
          const code = st.indices[bi * h * w + p];
          for (let c = 0; c < d; c++) {
            const zi = (bi * d + c) * h * w + p;
            const diff = cb0[code * d + c] - z0[zi];
            cbl += diff * diff;
            assert.ok(Math.abs(st.quantized.f32()[zi] - cb0[code * d + c]) < 1e-6, 'forward value is the codebook vector');
            wantGz[zi] = gOut[zi] + (wCommit * 2 * -diff) / n;
            wantGcb[code * d + c] += (wCb * 2 * diff) / n;
          }
        }
      }
      assert.ok(Math.abs(st.codebookLoss.item() - cbl / n) < 1e-6);
      assert.ok(Math.abs(st.commitmentLoss.item() - cbl / n) < 1e-6);
      assert.ok(maxAbs(z.grad!.f32(), wantGz) < 1e-6, `dz legacy=${legacy}`);
      assert.ok(maxAbs(cb.grad!.f32(), wantGcb) < 1e-6, `dcodebook legacy=${legacy}`);
    }
    e.dispose();
  });

  test('training path: reconstruct + backward reaches every parameter', () => {
    const e = new Engine(createRefBackend());
    const vq = new Vqgan(e, { ...TINY_VQGAN, dropout: 0.1 }, { decoder: true });
    vq.initialize(7);
    const x = e.tensor(flat(expected('mha').image.pixel_values), [1, 3, 32, 32]);
    const loss = e.scope(() => {
      const r = vq.reconstruct(x, { dropoutSeed: 3 });
      assert.deepEqual([...r.recon.shape], [1, 3, 32, 32]);
      const total = ops.add(ops.mean(ops.square(ops.sub(r.recon, x))), r.vqLoss);
      backward(total);
      return total.item();
    });
    assert.ok(Number.isFinite(loss));
    for (const p of vq.store.list()) {
      assert.ok(p.grad, `${p.name} received no gradient`);
      assert.ok(p.grad.f32().every(Number.isFinite), `${p.name} gradient not finite`);
    }
    e.dispose();
  });
});

test('parity report', () => {
  for (const line of report) console.log(`# ${line}`);
});
