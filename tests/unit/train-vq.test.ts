// VQGAN training (train/vq.ts, vq-run.node.ts) on the tiny preset with images generated in the test:
// steps lower the loss, dead codes are restarted from encoder outputs and then used, a run resumed
// from its checkpoint takes the identical next step, the output files exist with the expected sizes;
// plus the im2col + gemm convolution against the backend's own.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Engine, ops } from '../../src/engine/index.js';
import { nearestCodes } from '../../src/tokenizers/image/quantizer.js';
import { createWasmBackend } from '../../src/engine/backends/wasm/backend.node.js';
import { openSafetensors } from '../../src/io/safetensors.node.js';
import { TINY_VQGAN } from '../../src/tokenizers/image/config.js';
import { loadVqgan } from '../../src/tokenizers/image/load.node.js';
import { Vqgan } from '../../src/tokenizers/image/vqgan.js';
import { CodeUsage, VqTrainer, lrAt } from '../../src/train/vq.js';
import { runVqTraining } from '../../src/train/vq-run.node.js';
import { sheetSize } from '../../src/train/vq-report.js';

const backend = await createWasmBackend({ threads: 2 });
const dir = mkdtempSync(join(tmpdir(), 'train-vq-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await backend.dispose();
});

/** Deterministic pictures: a two-colour gradient with a disc. */
function picture(seed: number, w: number, h: number): Buffer {
  let s = seed * 7919 + 1;
  const r = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const c1 = [r() * 255, r() * 255, r() * 255];
  const c2 = [r() * 255, r() * 255, r() * 255];
  const [x0, y0, rad] = [r() * w, r() * h, 4 + r() * 8];
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - x0) ** 2 + (y - y0) ** 2 < rad * rad;
      for (let c = 0; c < 3; c++) b[(y * w + x) * 3 + c] = disc ? c2[c] : c1[c] * (1 - x / w) + c2[c] * (x / w) * 0.5;
    }
  }
  return b;
}

const dataDir = join(dir, 'data');
const imgDir = join(dataDir, 'nested');
mkdirSync(imgDir, { recursive: true });
for (let i = 0; i < 10; i++) {
  const w = 32 + (i % 3) * 8;
  await sharp(picture(i, w, 32), { raw: { width: w, height: 32, channels: 3 } })
    .toFormat(i % 2 ? 'png' : 'webp', { lossless: true })
    .toFile(join(dataDir, `img${i}.${i % 2 ? 'png' : 'webp'}`));
}
// Nested folder (recursive listing); files without an image extension are ignored.
writeFileSync(join(imgDir, 'notes.txt'), 'not an image');
for (const f of ['img0.webp', 'img1.png']) writeFileSync(join(imgDir, f), readFileSync(join(dataDir, f)));

function batchOf(n: number, r: number): Float32Array {
  const x = new Float32Array(n * 3 * r * r);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.013 + Math.floor(i / (3 * r * r))) * 0.8;
  return x;
}

test('a few steps on one batch lower the loss', () => {
  const e = new Engine(backend);
  const vq = new Vqgan(e, TINY_VQGAN, { encoder: true, decoder: true });
  vq.initialize(3);
  const tr = new VqTrainer(e, vq, { lr: 2e-3, warmupSteps: 1, seed: 3 });
  const x = batchOf(2, 32);
  const losses = Array.from({ length: 8 }, () => tr.trainStep(x, 2).loss);
  assert.ok(losses[7] < losses[0] * 0.93, `loss ${losses.map((l) => l.toFixed(4)).join(' ')}`);
  e.dispose();
});

test('dead codes are restarted to recent encoder outputs and then chosen again', () => {
  const e = new Engine(backend);
  const vq = new Vqgan(e, TINY_VQGAN, { encoder: true, decoder: true });
  vq.initialize(5);
  const tr = new VqTrainer(e, vq, { lr: 1e-3, warmupSteps: 1, deadAfter: 2, usageWindow: 4, seed: 5 });
  const x = batchOf(2, 32);
  const s1 = tr.trainStep(x, 2);
  assert.equal(s1.restarted, 0);
  const usedBefore = tr.usage.stats().used;
  const s2 = tr.trainStep(x, 2); // step 2: codes unused since step 0 are dead
  assert.ok(s2.restarted > 0 && s2.restarted <= 64 - usedBefore + 64, `restarted ${s2.restarted}`);
  const revived = [...Array(64).keys()].filter((k) => tr.usage.lastUsed[k] === 2);
  tr.trainStep(x, 2);
  const st = tr.usage.stats();
  assert.ok(st.used > usedBefore, `codes used: ${usedBefore} before the restart, ${st.used} after`);
  assert.ok(revived.some((k) => tr.usage.lastUsed[k] === 3), 'some restarted code was chosen in the next step');
  assert.ok(st.perplexity > 1 && st.usedFraction > 0 && st.usedFraction <= 1);
  e.dispose();
});

test('EMA codebook: after one step each code is (γ·m + (1−γ)·Σz) / (γ·n + (1−γ)·count), by hand; unassigned codes keep their vector', () => {
  const e = new Engine(backend);
  const vq = new Vqgan(e, TINY_VQGAN, { encoder: true, decoder: true });
  vq.initialize(7);
  const g = 0.5;
  const tr = new VqTrainer(e, vq, { lr: 1e-3, warmupSteps: 1, deadAfter: 0, seed: 7, codebookUpdate: 'ema', emaDecay: g, reconLoss: 'l1+l2' });
  assert.ok(!tr.params.includes(vq.codebook), 'the codebook is not an AdamW parameter in EMA mode');
  const x = batchOf(2, 32);
  const before = Float32Array.from(vq.codebook.f32()); // [K, D]
  const { K, D } = { K: TINY_VQGAN.numEmbeddings, D: TINY_VQGAN.embedDim };
  // The step's own latents and assignments, computed with the same (pre-update) weights.
  const { z, idx } = e.scope(() => {
    const zt = vq.encodeLatent(e.tensor(x, [2, 3, 32, 32])); // [2, D, 4, 4]
    const flat = ops.reshape(ops.permute(zt, [0, 2, 3, 1]), [2 * 16, D]); // [32, D]
    return { z: Float32Array.from(flat.f32()), idx: Int32Array.from(nearestCodes(flat, vq.codebook).indices) };
  });
  tr.trainStep(x, 2);
  const after = vq.codebook.f32();
  const count = new Float64Array(K);
  const sum = new Float64Array(K * D);
  idx.forEach((k, r) => {
    count[k]++;
    for (let c = 0; c < D; c++) sum[k * D + c] += z[r * D + c];
  });
  let maxErr = 0;
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < D; c++) {
      const want = (g * before[k * D + c] + (1 - g) * sum[k * D + c]) / (g + (1 - g) * count[k]);
      if (count[k] === 0) assert.equal(after[k * D + c], before[k * D + c], `code ${k} was not assigned and keeps its vector`);
      maxErr = Math.max(maxErr, Math.abs(after[k * D + c] - want));
    }
  }
  assert.ok(maxErr < 1e-5, `max error ${maxErr}`);
  assert.ok(count.some((n) => n > 0) && after.some((v, i) => v !== before[i]), 'assigned codes moved');
  e.dispose();
});

test('CodeUsage window, perplexity and lrAt schedule', () => {
  const u = new CodeUsage(4, 2);
  u.record(1, Int32Array.from([0, 1]));
  u.record(2, Int32Array.from([2, 3]));
  assert.equal(u.stats().perplexity.toFixed(6), (4).toFixed(6));
  u.record(3, Int32Array.from([0, 0]));
  assert.deepEqual(Array.from(u.counts), [2, 0, 1, 1]);
  assert.deepEqual(u.dead(9, 8), [1]);
  assert.deepEqual(u.dead(10, 8), [1, 2, 3]);
  const o = { lr: 1, warmupSteps: 2, totalSteps: 12, minLrFraction: 0.1 };
  assert.deepEqual([lrAt(o, 0), lrAt(o, 1), lrAt(o, 2)], [0.5, 1, 1]);
  assert.ok(Math.abs(lrAt(o, 12) - 0.1) < 1e-12);
});

test('train run: files, resume from the checkpoint gives the identical next step', async () => {
  const common = { images: dataDir, config: 'tiny', batch: 2, evalEvery: 2, evalImages: 2, seed: 7, lr: 1e-3, deadAfter: 2, progress: null };
  const e1 = new Engine(backend);
  const straight = await runVqTraining(e1, { ...common, steps: 4, out: join(dir, 'a') });
  e1.dispose();
  assert.equal(straight.trainImages, 10); // 12 files (2 duplicates in images/) minus 2 held out
  assert.ok(straight.finalEval.heldOut && Number.isFinite(straight.finalEval.psnr) && straight.finalEval.psnr > 0);
  for (const f of Object.values(straight.files)) assert.ok(existsSync(f), f);
  const meta = await sharp(straight.files.sheet).metadata();
  assert.deepEqual([meta.width, meta.height], [sheetSize(2, 32).width, sheetSize(2, 32).height]);
  assert.ok(readFileSync(straight.files.curve, 'utf8').startsWith('<svg'));
  const lines = readFileSync(straight.files.metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number });
  assert.deepEqual(lines.filter((l) => l.type === 'step').map((l) => l.step), [1, 2, 3, 4]);
  assert.deepEqual(lines.filter((l) => l.type === 'eval').map((l) => l.step), [2, 4]);

  const e2 = new Engine(backend);
  await runVqTraining(e2, { ...common, steps: 3, totalSteps: 4, out: join(dir, 'b') });
  e2.dispose();
  const e3 = new Engine(backend);
  const resumed = await runVqTraining(e3, { ...common, steps: 4, out: join(dir, 'b'), resume: true });
  e3.dispose();
  assert.equal(resumed.startStep, 3);
  assert.equal(resumed.lastStep!.loss, straight.lastStep!.loss);
  assert.equal(resumed.lastStep!.restarted, straight.lastStep!.restarted);
  const a = openSafetensors(join(dir, 'a', 'model.safetensors'));
  const b = openSafetensors(join(dir, 'b', 'model.safetensors'));
  for (const name of a.tensors().keys()) assert.deepEqual(b.readTensor(name).data, a.readTensor(name).data, name);
  assert.ok([...a.tensors().keys()].some((n) => n.startsWith('model.vqmodel.decoder.')));
  a.close();
  b.close();
  // The checkpoint folder is a loadable tokenizer (encoder + decoder).
  const e4 = new Engine(backend);
  const vq = loadVqgan(e4, join(dir, 'a'))!;
  assert.ok(vq.decoder && vq.encoder);
  e4.dispose();
});
