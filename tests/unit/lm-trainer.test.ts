// The LM trainer (src/train/lm): schedule values at hand-computed steps, the AdamW no-decay set,
// gradient accumulation (2 × B/2 equals 1 × B), the per-modality loss split on a hand-built batch, the
// divergence guard on an injected NaN (stop and rollback), checkpoint atomicity, keep-last-K + best,
// and the refusals (resume with another config, a config too big for memory, bad config keys).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, ops } from '../../src/engine/index.js';
import { createWasmBackend } from '../../src/engine/backends/wasm/backend.node.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { modelConfigFor, parseLmConfig, type LmRunConfig } from '../../src/train/lm/config.js';
import { checkpointPath, listCheckpoints, loadCheckpoint, pruneCheckpoints, removeStaleTemps, saveCheckpoint } from '../../src/train/lm/checkpoint.node.js';
import { runLmTraining } from '../../src/train/lm/run.node.js';
import { lmNoDecay, lrAt } from '../../src/train/lm/schedule.js';
import { IGNORE_INDEX, type BatchSource, type TokenBatch } from '../../src/train/lm/source.js';
import { LmTrainer, modalityGroups } from '../../src/train/lm/trainer.js';

const backend = await createWasmBackend({ threads: 2 });
const engine = new Engine(backend);
const dir = mkdtempSync(join(tmpdir(), 'lm-trainer-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  engine.dispose();
  await backend.dispose();
});

/** An in-memory BatchSource: seeded random tokens, some targets ignored; the cursor is the state. */
class RandomSource implements BatchSource {
  cursor = 0;
  constructor(
    readonly batch: number,
    readonly seqLen: number,
    readonly vocab: number,
    readonly seed: number,
  ) {}
  make(k: number): TokenBatch {
    const n = this.batch * this.seqLen;
    let s = (this.seed * 2654435761 + k * 40503 + 1) >>> 0;
    const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
    const inputs = Int32Array.from({ length: n }, () => Math.floor(rnd() * this.vocab));
    const targets = Int32Array.from({ length: n }, (_, i) => (i % 7 === 6 ? IGNORE_INDEX : inputs[(i + 1) % n] ^ 1));
    const positions = Int32Array.from({ length: n }, (_, i) => i % this.seqLen);
    return { inputs, targets, segIds: null, positions, batch: this.batch, seqLen: this.seqLen, textTargets: 0, imageTargets: 0 };
  }
  next(): TokenBatch {
    return this.make(this.cursor++);
  }
  state(): Record<string, unknown> {
    return { cursor: this.cursor };
  }
  restore(s: Record<string, unknown>): void {
    this.cursor = s.cursor as number;
  }
}

function tinyRun(over: Record<string, unknown> = {}): LmRunConfig {
  return parseLmConfig({ preset: 'tiny', train: { batch: 2, seqLen: 16, steps: 6, warmupSteps: 2, dropout: 0, ...((over.train as object) ?? {}) }, run: { evalEvery: 2, checkpointEvery: 2, keepLast: 2, ...((over.run as object) ?? {}) } });
}

function newTrainer(cfg: LmRunConfig, seed = 3, imageIds = new Int32Array(0)): { model: ChameleonModel; trainer: LmTrainer } {
  const mc = modelConfigFor(cfg);
  const model = ChameleonModel.create(engine, mc, seed);
  const trainer = new LmTrainer(engine, model, { ...cfg.train, spikeFactor: cfg.run.spikeFactor, spikeWindow: cfg.run.spikeWindow }, modalityGroups(mc.vocabSize, imageIds));
  return { model, trainer };
}

test('lrAt: warmup, cosine, exponential and constant at hand-computed steps', () => {
  const base = { lr: 1, warmupSteps: 10, steps: 111, minLrFraction: 0.1 };
  const cos = { ...base, decay: 'cosine' as const };
  assert.equal(lrAt(cos, 0), 0.1); // 1 · 1/10
  assert.equal(lrAt(cos, 4), 0.5);
  assert.equal(lrAt(cos, 9), 1);
  assert.equal(lrAt(cos, 10), 1); // t = 0
  assert.ok(Math.abs(lrAt(cos, 60) - 0.55) < 1e-12); // t = 1/2: 0.1 + 0.9 · 0.5
  assert.ok(Math.abs(lrAt(cos, 110) - 0.1) < 1e-12); // last step: the floor
  assert.ok(Math.abs(lrAt(cos, 35) - (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)))) < 1e-12);
  const exp = { ...base, minLrFraction: 0.01, decay: 'exponential' as const };
  assert.ok(Math.abs(lrAt(exp, 60) - 0.1) < 1e-12); // 0.01^(1/2)
  assert.ok(Math.abs(lrAt(exp, 110) - 0.01) < 1e-12);
  assert.equal(lrAt({ ...base, decay: 'constant' }, 100), 1);
});

test('AdamW decays the projections and LM head only: not norms, QK-norm weight/bias or the embedding', () => {
  const { model, trainer } = newTrainer(tinyRun());
  const names = model.params.list().map((p) => p.name);
  const noDecay = model.params.list().filter(lmNoDecay).map((p) => p.name);
  const expectNo = names.filter((n) => /norm|layernorm/.test(n) || n === 'model.embed_tokens.weight');
  assert.deepEqual(noDecay.sort(), expectNo.sort());
  assert.ok(noDecay.includes('model.layers.0.self_attn.q_norm.weight') && noDecay.includes('model.layers.1.self_attn.k_norm.bias'));
  // With zero gradients one AdamW step is pure weight decay: p ← p·(1 − lr·wd) where decayed.
  const before = new Map(model.params.list().map((p) => [p.name, Float32Array.from(p.data as Float32Array)]));
  for (const p of trainer.params) p.grad = engine.zeros(p.shape, 'f32', 'grads');
  trainer.optimizer.update(0.5);
  for (const p of model.params.list()) {
    const b = before.get(p.name)!;
    const a = p.data as Float32Array;
    const k = b.findIndex((x) => Math.abs(x) > 1e-3);
    if (k < 0) continue;
    if (noDecay.includes(p.name)) assert.equal(a[k], b[k], `${p.name} must not decay`);
    else assert.ok(Math.abs(a[k] - b[k] * (1 - 0.5 * 0.1)) < 1e-6 * Math.abs(b[k]) + 1e-9, `${p.name} decays by lr·wd`);
  }
});

test('gradient accumulation: 2 micro-batches of B/2 give the gradients and loss of one batch of B', () => {
  const cfg = tinyRun({ train: { batch: 4 } });
  const src = new RandomSource(4, 16, 512, 5);
  const full = src.make(0);
  // Unequal counted targets in the two halves, so a mean of per-half means would differ.
  for (let i = 0; i < 16; i++) if (i % 2) full.targets[i] = IGNORE_INDEX;
  const half = (h: number): TokenBatch => {
    const n = 2 * 16;
    return { ...full, batch: 2, inputs: full.inputs.slice(h * n, (h + 1) * n), targets: full.targets.slice(h * n, (h + 1) * n), positions: full.positions.slice(h * n, (h + 1) * n) };
  };
  const a = newTrainer(cfg);
  const b = newTrainer({ ...cfg, train: { ...cfg.train, batch: 2, gradAccum: 2 } });
  const ra = a.trainer.trainStep([full]);
  const gA = a.trainer.params.map((p) => Float32Array.from(p.grad!.data as Float32Array));
  const rb = b.trainer.trainStep([half(0), half(1)]);
  assert.ok(ra.ok && rb.ok);
  assert.ok(Math.abs(ra.metrics.loss - rb.metrics.loss) < 1e-6, `loss ${ra.metrics.loss} vs ${rb.metrics.loss}`);
  assert.ok(Math.abs(ra.metrics.gradNorm - rb.metrics.gradNorm) < 1e-5 * ra.metrics.gradNorm);
  b.trainer.params.forEach((p, i) => {
    const g = p.grad!.data as Float32Array;
    let err = 0;
    let mag = 0;
    for (let j = 0; j < g.length; j++) {
      err = Math.max(err, Math.abs(g[j] - gA[i][j]));
      mag = Math.max(mag, Math.abs(gA[i][j]));
    }
    assert.ok(err <= 1e-5 * mag + 1e-8, `${p.name}: max grad difference ${err} (max ${mag})`);
  });
});

test('per-modality losses: text and image targets of a hand-built batch, ignored positions excluded', () => {
  const cfg = tinyRun();
  const imageIds = Int32Array.from({ length: 16 }, (_, i) => 100 + i);
  const { model, trainer } = newTrainer(cfg, 4, imageIds);
  const T = 16;
  const inputs = Int32Array.from({ length: 2 * T }, (_, i) => (i * 37) % 512);
  // row 0: text targets, a few ignored; row 1: image targets (ids 100..115) then text.
  const targets = Int32Array.from({ length: 2 * T }, (_, i) => (i < T ? (i % 5 === 4 ? IGNORE_INDEX : 300 + i) : i < T + 10 ? 100 + (i % 16) : 200 + i));
  const positions = Int32Array.from({ length: 2 * T }, (_, i) => i % T);
  const batch: TokenBatch = { inputs, targets, segIds: null, positions, batch: 2, seqLen: T, textTargets: 0, imageTargets: 0 };
  // Expected: per-row CE from the logits of the same (pre-update) parameters, by hand.
  const logits = engine.noGrad(() => engine.scope(() => model.forward({ ids: engine.tensor(inputs, [2, T], 'i32'), positions }).logits.toFloat32()));
  const V = 512;
  const sums = [0, 0];
  const counts = [0, 0];
  for (let r = 0; r < 2 * T; r++) {
    const t = targets[r];
    if (t === IGNORE_INDEX) continue;
    const row = logits.subarray(r * V, (r + 1) * V);
    const mx = Math.max(...row);
    let se = 0;
    for (const x of row) se += Math.exp(x - mx);
    const g = t >= 100 && t < 116 ? 1 : 0;
    sums[g] += mx + Math.log(se) - row[t];
    counts[g]++;
  }
  assert.deepEqual(counts, [19, 10]);
  const res = trainer.trainStep([batch]);
  assert.ok(res.ok);
  assert.ok(Math.abs(res.metrics.lossText! - sums[0] / counts[0]) < 1e-4, `text ${res.metrics.lossText} vs ${sums[0] / counts[0]}`);
  assert.ok(Math.abs(res.metrics.lossImage! - sums[1] / counts[1]) < 1e-4, `image ${res.metrics.lossImage} vs ${sums[1] / counts[1]}`);
  const overall = (sums[0] + sums[1]) / (counts[0] + counts[1]);
  assert.ok(Math.abs(res.metrics.loss - res.metrics.zLoss - overall) < 1e-4);
  assert.ok(res.metrics.zLoss > 0 && res.metrics.outputNorm > 0);
  // The split also holds for the op itself (same pass as the loss).
  const parts = engine.noGrad(() =>
    engine.scope(() => ops.crossEntropyParts(engine.tensor(logits, [2 * T, V]), engine.tensor(targets, [2 * T], 'i32'), { targetGroups: modalityGroups(V, imageIds), groupCount: 2 })),
  );
  assert.deepEqual([...parts.groupCounts!], counts);
});

test('divergence guard: an injected NaN stops the run (event line, stderr line, parameters untouched)', async () => {
  const out = join(dir, 'nan-stop');
  const warned: string[] = [];
  let poisoned: Float32Array | null = null;
  const res = await runLmTraining(engine, {
    config: tinyRun(),
    out,
    source: new RandomSource(2, 16, 512, 1),
    progress: null,
    warn: (l) => warned.push(l),
    afterStep: (t, m) => {
      if (t.step === 3) {
        (m.lm_head.weight.data as Float32Array).fill(NaN, 0, 64);
        poisoned = Float32Array.from(m.embed_tokens.weight.data as Float32Array);
      }
    },
  });
  assert.equal(res.status, 'diverged');
  assert.equal(res.step, 3);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const ev = lines.find((l) => l.event === 'divergence');
  assert.ok(ev && ev.step === 4 && String(ev.detail).includes('NaN'), JSON.stringify(ev));
  assert.equal(warned.length, 1);
  assert.match(warned[0], /divergence at step 4: loss is NaN; stopped \(run\.onDivergence is stop\)/);
  assert.ok(!lines.some((l) => l.step === 4 && 'loss' in l), 'no step line for the rejected step');
  assert.ok(poisoned !== null);
});

test('divergence guard: rollback reloads the last checkpoint, lowers the LR and finishes', async () => {
  const out = join(dir, 'nan-rollback');
  const warned: string[] = [];
  let injected = false;
  const res = await runLmTraining(engine, {
    config: tinyRun({ run: { onDivergence: 'rollback' } }),
    out,
    source: new RandomSource(2, 16, 512, 2),
    progress: null,
    warn: (l) => warned.push(l),
    afterStep: (t, m) => {
      if (t.step === 3 && !injected) {
        injected = true;
        (m.lm_head.weight.data as Float32Array).fill(NaN, 0, 64);
      }
    },
  });
  assert.equal(res.status, 'done');
  assert.equal(res.step, 6);
  assert.equal(res.rollbacks, 1);
  assert.ok(Number.isFinite(res.last!.loss));
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const rb = lines.find((l) => l.event === 'rollback');
  assert.ok(rb && rb.step === 2, JSON.stringify(rb));
  assert.match(warned[0], /rolled back to checkpoints\/step-00000002 \(step 2\) and lowered the learning rate to 0\.5 × schedule/);
  // Steps after the rollback run at half the scheduled LR.
  const after3 = lines.filter((l) => l.step === 3 && 'lr' in l);
  assert.equal(after3.length, 2);
  assert.equal(after3[1].lr, (after3[0].lr as number) * 0.5);
});

test('checkpoints: a write killed midway leaves the previous checkpoint complete and the latest', async () => {
  const out = join(dir, 'atomic');
  const cfg = tinyRun();
  const src = new RandomSource(2, 16, 512, 3);
  await runLmTraining(engine, { config: { ...cfg, train: { ...cfg.train, steps: 2 } }, out, source: src, progress: null });
  assert.deepEqual(listCheckpoints(out), [2]);
  const { model, trainer } = newTrainer(cfg);
  trainer.trainStep([src.next()]);
  trainer.step = 3;
  assert.throws(
    () =>
      saveCheckpoint(out, model, trainer, { source: src.state(), config: cfg, best: null, rollbacks: 0, modelDir: null }, {
        afterFile: (f) => {
          if (f === 'model.safetensors') throw new Error('killed');
        },
      }),
    /killed/,
  );
  assert.deepEqual(listCheckpoints(out), [2], 'the half-written step 3 is not a checkpoint');
  assert.ok(readdirSync(join(out, 'checkpoints')).some((n) => n.startsWith('.tmp-')));
  const fresh = newTrainer(cfg, 9);
  const info = loadCheckpoint(checkpointPath(out, 2), fresh.model, fresh.trainer);
  assert.equal(info.step, 2);
  assert.equal(fresh.trainer.step, 2);
  assert.equal(removeStaleTemps(out).length, 1);
  // Resume continues from step 2.
  const res = await runLmTraining(engine, { config: { ...cfg, train: { ...cfg.train, steps: 4 } }, out, resume: true, source: new RandomSource(2, 16, 512, 3), progress: null });
  assert.equal(res.startStep, 2);
  assert.equal(res.step, 4);
});

test('checkpoints: keep the last K plus the best by validation loss', async () => {
  const root = join(dir, 'prune');
  for (const s of [1, 2, 3, 4, 5, 6]) mkdirSync(checkpointPath(root, s), { recursive: true });
  assert.deepEqual(pruneCheckpoints(root, 2, 3), [1, 2, 4]);
  assert.deepEqual(listCheckpoints(root), [3, 5, 6]);
  // In a run: keepLast 2, evaluation every 2 steps; the best checkpoint survives pruning.
  const out = join(dir, 'keep');
  const cfg = tinyRun({ train: { steps: 10 } });
  const res = await runLmTraining(engine, { config: cfg, out, source: new RandomSource(2, 16, 512, 4), valSource: () => new RandomSource(2, 16, 512, 99), progress: null });
  assert.ok(res.best);
  const kept = listCheckpoints(out);
  assert.deepEqual(kept.slice(-2), [8, 10]);
  assert.ok(kept.includes(res.best.step));
  assert.ok(kept.length <= 3);
  const evals = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { valLoss?: number; step: number }).filter((l) => l.valLoss !== undefined);
  assert.equal(evals.length, 5);
  assert.equal(Math.min(...evals.map((e) => e.valLoss!)), res.best.valLoss);
});

test('resume refuses a checkpoint from another config, naming the key', async () => {
  const out = join(dir, 'refuse');
  const cfg = tinyRun({ train: { steps: 2 } });
  await runLmTraining(engine, { config: cfg, out, source: new RandomSource(2, 16, 512, 5), progress: null });
  const other = { ...cfg, train: { ...cfg.train, lr: 0.5 } };
  await assert.rejects(runLmTraining(engine, { config: other, out, resume: true, source: new RandomSource(2, 16, 512, 5), progress: null }), /another config \(train\.lr: checkpoint 0\.001, config 0\.5\)/);
  const bigger = { ...cfg, model: { ...cfg.model, hiddenSize: 128 } };
  await assert.rejects(runLmTraining(engine, { config: bigger, out, resume: true, source: new RandomSource(2, 16, 512, 5), progress: null }), /model\.hiddenSize: checkpoint absent, config 128/);
  await assert.rejects(runLmTraining(engine, { config: cfg, out, source: new RandomSource(2, 16, 512, 5), progress: null }), /already holds checkpoints; pass --resume/);
  await assert.rejects(runLmTraining(engine, { config: cfg, out: join(dir, 'nothing'), resume: true, source: new RandomSource(2, 16, 512, 5), progress: null }), /has no checkpoint/);
});

test('a config that does not fit in memory is refused before training, with the estimate', async () => {
  const cfg = parseLmConfig({ model: { preset: 'small', hiddenSize: 2048, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 5632 }, train: { batch: 8, seqLen: 1024 } });
  const out = join(dir, 'too-big');
  await assert.rejects(
    runLmTraining(engine, { config: cfg, out, source: new RandomSource(8, 1024, 4096, 0), progress: null }),
    /does not fit in memory: estimated [\d.]+ GiB \(parameters [\d.]+ GiB \+ gradients [\d.]+ GiB \+ AdamW m\/v [\d.]+ GiB \+ activations [\d.]+ GiB for batch 8 × seq 1024\) > limit 4\.00 GiB/,
  );
  assert.ok(!existsSync(out), 'nothing written');
});

test('config validation names the key; presets and SFT defaults fill the rest', () => {
  assert.throws(() => parseLmConfig({ train: { lrr: 1 } }, { source: 'a.json' }), /a\.json: unknown key 'train\.lrr'/);
  assert.throws(() => parseLmConfig({ train: { batch: 'x' } }, { source: 'a.json' }), /a\.json: train\.batch: /);
  assert.throws(() => parseLmConfig({ train: { decay: 'linear' } }), /train\.decay: /);
  assert.throws(() => parseLmConfig({ train: { decay: 'exponential', minLrFraction: 0 } }), /train\.minLrFraction must be > 0/);
  assert.throws(() => parseLmConfig({ preset: 'huge' }), /preset: unknown preset 'huge' \(known: tiny, small, d256-l6\)/);
  assert.throws(() => modelConfigFor(parseLmConfig({ model: { hiddenSize: 100 } })), /model\.hiddenSize 100 is not divisible by model\.numAttentionHeads 8/);
  const d = parseLmConfig({});
  assert.deepEqual([d.train.beta1, d.train.beta2, d.train.eps, d.train.weightDecay, d.train.clipNorm, d.train.zLoss], [0.9, 0.95, 1e-5, 0.1, 1, 1e-5]);
  const bench = modelConfigFor(parseLmConfig({ preset: 'd256-l6' }));
  assert.deepEqual([bench.hiddenSize, bench.numHiddenLayers, bench.numAttentionHeads, bench.vocabSize], [256, 6, 8, 2048]);
  const sft = parseLmConfig({ train: { steps: 10 } }, { task: 'sft' });
  assert.deepEqual([sft.train.lr, sft.train.decay, sft.train.dropout], [1e-5, 'cosine', 0.05]);
});

test('data section: SFT balances modalities per batch by default, pre-training does not; bad values name the key', () => {
  assert.equal(parseLmConfig({ preset: 'tiny' }, { task: 'lm' }).data.balance, false);
  assert.equal(parseLmConfig({ preset: 'tiny' }, { task: 'sft' }).data.balance, true);
  assert.equal(parseLmConfig({ preset: 'tiny', data: { balance: false } }, { task: 'sft' }).data.balance, false);
  assert.equal(parseLmConfig({ preset: 'tiny' }).data.longDocs, 'split');
  assert.throws(() => parseLmConfig({ data: { longDocs: 'truncate' } }, { source: 'c.json' }), /c\.json: data\.longDocs/);
});
