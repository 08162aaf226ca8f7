// `npm run bench -- train [--json] [--profile] [--case=NAME] [--engine=DIST] [--rounds=N]`: tokens/s
// of one training step (forward + backward + clip + AdamW) of a Chameleon decoder on the wasm backend
// with 2 threads, beside PyTorch's (../shared/bench/torch_anchor.py train, same config, run in this
// invocation when /usr/bin/python3 has torch) and the ratio; MFU against the measured SIMD128 FMA
// peak; peak RSS of each case, measured in its own child process (so one case's memory does not
// hide another's). --profile adds a per-kernel time table of the step (a timing wrapper around the
// backend's kernel table; mean per step and each kernel's least time in any one step, the figure
// that other processes on a shared machine disturb least). --engine=DIST runs our step from another build (e.g. /work/main/dist) so
// old and new builds can be alternated in one sitting. Leaves out: data loading, checkpointing.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import type { Backend } from '../src/engine/backend.js';
import type { Kernels } from '../src/engine/kernels.js';
import type { ChameleonConfig } from '../src/model/config.js';
import { hostFields, hostLine, readCpuInfo } from './host.js';
import { median } from './stats.js';

type EngineMod = typeof import('../src/engine/index.js');
type WasmMod = typeof import('../src/engine/backends/wasm/backend.node.js');
type ModelMod = typeof import('../src/model/chameleon.js');
type ConfigMod = typeof import('../src/model/config.js');
type RooflineMod = typeof import('../src/eval/roofline.js');

/** One training configuration (the torch anchor's options, and the FFN size both sides use). */
interface TrainCase {
  name: string;
  d: number;
  layers: number;
  heads: number;
  vocab: number;
  seq: number;
  batch: number;
  /** Steps timed (after two warm-up steps). */
  steps: number;
  /** Whether torch_anchor.py runs this case too (the ratio). */
  torch: boolean;
}

const CASES: TrainCase[] = [
  { name: 'd256x6', d: 256, layers: 6, heads: 8, vocab: 2048, seq: 256, batch: 8, steps: 7, torch: true },
  // ~25M parameters: peak RSS with AdamW (target < 2 GiB).
  { name: '25m', d: 512, layers: 6, heads: 8, vocab: 4608, seq: 256, batch: 8, steps: 3, torch: false },
];

const THREADS = 2;
const ANCHOR = fileURLToPath(new URL('../../../shared/bench/torch_anchor.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const HERE_DIST = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** What differs between our step and the anchor's (printed with the ratio). */
const DIFFERENCES = [
  'both: pre-norm RMSNorm, QK LayerNorm, rotate-half RoPE, SwiGLU (ffn 256·ceil(⌊8d/3⌋/256)), untied head, CE + z-loss 1e-5, clip 1.0, AdamW(0.9, 0.95, eps 1e-5, wd 0.1), f32',
  'ours: separate q/k/v and gate/up projections (torch fuses qkv and gate_up: same FLOPs, fewer GEMM calls)',
  'ours: QK LayerNorm affine per head [H, D] (HF Chameleon); torch: one [D] LayerNorm shared by heads',
  'ours: fused attention kernel; torch: QKᵀ, masked_fill, softmax, PV materialised',
  'ours: no weight decay on rank-1 tensors (norm weights); torch decays every parameter',
];

/** FFN size as torch_anchor.py computes it. */
function ffnOf(d: number): number {
  return 256 * Math.ceil(Math.floor((8 * d) / 3) / 256);
}

/**
 * Model FLOPs of one step: 6 · (matmul parameters: every weight matrix but the embedding table) per
 * token, plus attention scores and weighted sums over each layer's causal triangle (2 GEMM-like
 * products of 2·D FLOPs per visible (query, key) pair forward, twice that backward).
 */
function stepFlops(c: TrainCase): number {
  const f = ffnOf(c.d);
  const matmulParams = c.layers * (4 * c.d * c.d + 3 * c.d * f) + c.vocab * c.d;
  const tokens = c.batch * c.seq;
  const pairs = (c.layers * c.batch * c.heads * c.seq * (c.seq + 1)) / 2; // every layer's causal triangle
  const headDim = c.d / c.heads;
  return 6 * matmulParams * tokens + 3 * 2 * 2 * headDim * pairs;
}

interface KernelTime {
  calls: number;
  ms: number;
}

/** Where timedBackend records: the current step's table (the caller swaps in a new one per step). */
interface TimingSink {
  table: Map<string, KernelTime>;
}

/** A backend whose kernel table times every call, by kernel name (GEMMs by shape). */
function timedBackend(inner: Backend, sink: TimingSink): Backend {
  const kernels = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(inner.kernels) as [string, (...a: unknown[]) => unknown][]) {
    kernels[name] = (...args: unknown[]): unknown => {
      let key = name;
      if (name === 'gemm') {
        const p = args[3] as { batch: number; m: number; n: number; k: number; transA: boolean; transB: boolean };
        key = `gemm ${p.batch > 1 ? `${p.batch}×` : ''}${p.m}×${p.n}×${p.k}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}`;
      } else if (name === 'binary' || name === 'unary' || name === 'unaryBackward') {
        key = `${name} ${String(args[0])}`;
      }
      const t0 = performance.now();
      const r = fn(...args);
      const e = sink.table.get(key) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += performance.now() - t0;
      sink.table.set(key, e);
      return r;
    };
  }
  return Object.create(inner, { kernels: { value: kernels as unknown as Kernels } }) as Backend;
}

/** One kernel's profile: calls and mean ms per step, and its least ms in any one step (other processes only add). */
interface KernelProfile {
  kernel: string;
  calls: number;
  msPerStep: number;
  msMin: number;
}

interface ChildResult {
  rows: Record<string, unknown>[];
  profile: KernelProfile[] | null;
}

/** Per-kernel mean and minimum over the steps' tables. */
function summarise(steps: Map<string, KernelTime>[]): KernelProfile[] {
  const all = new Map<string, KernelProfile>();
  for (const t of steps) {
    for (const [kernel, k] of t) {
      const p = all.get(kernel) ?? { kernel, calls: 0, msPerStep: 0, msMin: Infinity };
      p.calls += k.calls / steps.length;
      p.msPerStep += k.ms / steps.length;
      p.msMin = Math.min(p.msMin, k.ms);
      all.set(kernel, p);
    }
  }
  return [...all.values()].sort((a, b) => b.msPerStep - a.msPerStep);
}

/** Runs one case in this process (from the build at distRoot): its row, and the kernel profile if asked. */
async function runCase(c: TrainCase, distRoot: string, profile: boolean): Promise<ChildResult> {
  const at = (p: string): string => join(distRoot, p);
  const eng = (await import(at('src/engine/index.js'))) as EngineMod;
  const wasm = (await import(at('src/engine/backends/wasm/backend.node.js'))) as WasmMod;
  const { ChameleonModel } = (await import(at('src/model/chameleon.js'))) as ModelMod;
  const { presetConfig } = (await import(at('src/model/config.js'))) as ConfigMod;
  const { measureFmaPeak } = (await import(join(HERE_DIST, 'src/eval/roofline.js'))) as RooflineMod;
  const backend = await wasm.createWasmBackend({ threads: THREADS });
  const host = hostFields(readCpuInfo(), 'wasm', backend.simd);
  const sink: TimingSink = { table: new Map() };
  const stepTables: Map<string, KernelTime>[] = [];
  const engine = new eng.Engine(profile ? timedBackend(backend, sink) : backend);
  try {
    const cfg: ChameleonConfig = {
      ...presetConfig('small'),
      hiddenSize: c.d,
      numHiddenLayers: c.layers,
      numAttentionHeads: c.heads,
      numKeyValueHeads: c.heads,
      headDim: c.d / c.heads,
      intermediateSize: ffnOf(c.d),
      vocabSize: c.vocab,
      maxPositionEmbeddings: Math.max(1024, c.seq),
      warnings: [],
    };
    const model = ChameleonModel.create(engine, cfg, 1);
    const params = model.params.trainable();
    const nParams = params.reduce((s, p) => s + p.size, 0);
    const opt = new eng.AdamW(params, { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-5, weightDecay: 0.1 });
    // Random tokens, fixed seed (an LCG): inputs and next-token targets.
    const ids = new Int32Array(c.batch * (c.seq + 1));
    let s = 12345;
    for (let i = 0; i < ids.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      ids[i] = (s >>> 8) % c.vocab;
    }
    const inputs = new Int32Array(c.batch * c.seq);
    const targets = new Int32Array(c.batch * c.seq);
    for (let b = 0; b < c.batch; b++) {
      inputs.set(ids.subarray(b * (c.seq + 1), b * (c.seq + 1) + c.seq), b * c.seq);
      targets.set(ids.subarray(b * (c.seq + 1) + 1, (b + 1) * (c.seq + 1)), b * c.seq);
    }
    let loss = 0;
    const step = (): void => {
      engine.scope(() => {
        const x = engine.tensor(inputs, [c.batch, c.seq], 'i32');
        const y = engine.tensor(targets, [c.batch, c.seq], 'i32');
        const { logits } = model.forward({ ids: x }); // [B, T, V]
        const l = eng.ops.crossEntropy(logits, y, { zLoss: 1e-5 });
        eng.zeroGrad(params);
        eng.backward(l);
        eng.clipGradNorm(params, 1.0);
        opt.update();
        loss = l.item();
      });
    };
    const peakBefore = measureFmaPeak(backend);
    for (let i = 0; i < 2; i++) step();
    const times: number[] = [];
    for (let i = 0; i < c.steps; i++) {
      sink.table = new Map();
      const t0 = performance.now();
      step();
      times.push(performance.now() - t0);
      stepTables.push(sink.table);
    }
    const stepMs = median(times);
    // Measured before and after the steps; the higher (other processes only lower a probe).
    const fmaPeak = Math.max(peakBefore, measureFmaPeak(backend));
    const flops = stepFlops(c);
    const tokensPerS = (c.batch * c.seq) / (stepMs / 1000);
    const mem = engine.memoryStats();
    const row: Record<string, unknown> = {
      kind: 'train', impl: 'chameleon-ts', case: c.name, engine: distRoot === HERE_DIST ? 'this build' : distRoot,
      threads: THREADS, params: nParams, d: c.d, layers: c.layers, heads: c.heads, vocab: c.vocab, seq: c.seq, batch: c.batch,
      tokens_per_s: round1(tokensPerS), step_ms: round2(stepMs), step_ms_all: times.map(round2), loss: round2(loss),
      gflops: round1(flops / (stepMs * 1e6)), fma_peak_gflops: round1(fmaPeak), mfu: round3(flops / (stepMs * 1e6) / fmaPeak),
      peak_rss_mib: round1(process.resourceUsage().maxRSS / 1024), engine_reserved_mib: round1(mem.reservedBytes / 2 ** 20),
      profiled: profile, ...host,
    };
    const prof = profile ? summarise(stepTables) : null;
    return { rows: [row], profile: prof };
  } finally {
    engine.dispose();
    await backend.dispose();
  }
}

/** The anchor's row for a case, or a reason it did not run. */
function torchRow(c: TrainCase): Record<string, unknown> | string {
  if (!existsSync(PYTHON)) return `torch not available (${PYTHON} missing)`;
  if (!existsSync(ANCHOR)) return `torch not available (${ANCHOR} missing)`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `torch not available (${PYTHON} cannot import torch)`;
  const args = [ANCHOR, 'train', '--threads', String(THREADS), '--d', String(c.d), '--layers', String(c.layers), '--heads', String(c.heads), '--vocab', String(c.vocab), '--seq', String(c.seq), '--batch', String(c.batch), '--steps', String(c.steps)];
  // OpenBLAS misdetects this VM's masked CPUID as Prescott (generic SSE kernels) unless told.
  const env = { ...process.env, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? 'SkylakeX', OMP_NUM_THREADS: String(THREADS) };
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', env });
  if (r.status !== 0) return `torch anchor failed: ${(r.stderr || '').trim().split('\n').pop() ?? ''}`;
  const line = r.stdout.trim().split('\n').find((l) => l.includes('"train"'));
  if (!line) return 'torch anchor printed no train row';
  return { ...(JSON.parse(line) as Record<string, unknown>), case: c.name, openblas_coretype: env.OPENBLAS_CORETYPE };
}

/** Runs a case in a child process (fresh memory: its own peak RSS) and returns what it printed. */
function childCase(c: TrainCase, distRoot: string, profile: boolean): ChildResult {
  const main = join(HERE_DIST, 'bench/main.js');
  const args = [main, 'train', `--child=${c.name}`, `--engine=${distRoot}`, ...(profile ? ['--profile'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`train bench child (${c.name}, ${distRoot}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ChildResult;
}

function flag(name: string): string | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
}

export async function run(json: boolean): Promise<void> {
  const profile = process.argv.includes('--profile');
  const engineDir = resolve(flag('engine') ?? HERE_DIST);
  const child = flag('child');
  if (child !== undefined) {
    const c = CASES.find((x) => x.name === child);
    if (!c) throw new Error(`unknown train case '${child}'`);
    process.stdout.write(`${JSON.stringify(await runCase(c, engineDir, profile))}\n`);
    return;
  }
  const only = flag('case');
  const cases = only === undefined ? CASES : CASES.filter((x) => x.name === only);
  if (cases.length === 0) {
    process.stderr.write(`unknown train case '${only}'; available: ${CASES.map((x) => x.name).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const rounds = Math.max(1, Number(flag('rounds') ?? 3));
  const host = hostFields(readCpuInfo(), 'wasm', null);
  const lines: string[] = [];
  const emit = (row: Record<string, unknown>): void => {
    if (json) process.stdout.write(`${JSON.stringify(row)}\n`);
  };
  for (const c of cases) {
    const ours: Record<string, unknown>[] = [];
    const torch: Record<string, unknown>[] = [];
    let torchMissing: string | null = null;
    let prof: ChildResult['profile'] = null;
    // Ours and torch alternate, so drift of this VM's speed hits both alike.
    for (let r = 0; r < rounds; r++) {
      process.stderr.write(`${c.name}: round ${r + 1}/${rounds}, chameleon-ts...\n`);
      for (const row of childCase(c, engineDir, false).rows) ours.push({ ...row, round: r + 1 });
      if (c.torch && torchMissing === null) {
        process.stderr.write(`${c.name}: round ${r + 1}/${rounds}, torch...\n`);
        const t = torchRow(c);
        if (typeof t === 'string') torchMissing = t;
        else torch.push({ ...t, round: r + 1, ...host, backend: 'torch', wasmSimd: null });
      }
    }
    if (profile) {
      process.stderr.write(`${c.name}: profiled run (per-kernel timing)...\n`);
      prof = childCase(c, engineDir, true).profile;
    }
    const ourTps = median(ours.map((x) => x.tokens_per_s as number));
    const summary: Record<string, unknown> = { kind: 'train-summary', case: c.name, tokens_per_s: ourTps, peak_rss_mib: Math.max(...ours.map((x) => x.peak_rss_mib as number)), mfu: median(ours.map((x) => x.mfu as number)), params: ours[0]?.params };
    if (c.torch) {
      if (torchMissing !== null) summary.torch = torchMissing;
      else {
        const tt = median(torch.map((x) => x.tokens_per_s as number));
        // Best of rounds too: other processes on this VM only ever slow a round down.
        const ourBest = Math.max(...ours.map((x) => x.tokens_per_s as number));
        const torchBest = Math.max(...torch.map((x) => x.tokens_per_s as number));
        Object.assign(summary, { torch_tokens_per_s: tt, ratio: round2(ourTps / tt), best_tokens_per_s: ourBest, torch_best_tokens_per_s: torchBest, ratio_best: round2(ourBest / torchBest) });
      }
    }
    for (const row of [...ours, ...torch]) emit(row);
    if (prof) for (const p of prof) emit({ kind: 'train-profile', case: c.name, ...p, msPerStep: round2(p.msPerStep), msMin: round2(p.msMin) });
    emit({ ...summary, ...host });
    const o = ours[0];
    lines.push(`\n${c.name}: d=${c.d} ${c.layers} layers ${c.heads} heads vocab ${c.vocab} seq ${c.seq} batch ${c.batch}, ${o?.params as number} params, f32, ${THREADS} threads`);
    for (const x of ours) lines.push(`  chameleon-ts round ${x.round as number}: ${x.tokens_per_s as number} tok/s (step ${x.step_ms as number} ms, steps ${(x.step_ms_all as number[]).join(' ')}), ${x.gflops as number} GFLOP/s, MFU ${x.mfu as number} of FMA peak ${x.fma_peak_gflops as number} GFLOP/s, peak RSS ${x.peak_rss_mib as number} MiB`);
    for (const x of torch) lines.push(`  torch        round ${x.round as number}: ${x.tokens_per_s as number} tok/s (step ${x.step_ms as number} ms), OPENBLAS_CORETYPE=${x.openblas_coretype as string}`);
    if (c.torch) {
      lines.push(torchMissing !== null ? `  ${torchMissing}: ratio skipped` : `  ratio: ${summary.ratio as number}× torch (medians of rounds), ${summary.ratio_best as number}× (best round each: ${summary.best_tokens_per_s as number} vs ${summary.torch_best_tokens_per_s as number} tok/s)`);
    }
    if (prof) {
      const total = prof.reduce((s, p) => s + p.msPerStep, 0);
      const totalMin = prof.reduce((s, p) => s + p.msMin, 0);
      lines.push(`  kernels per step (profiled run, timing wrapper; ${round1(total)} ms in kernels, mean of steps; each kernel's least in any step: ${round1(totalMin)} ms):`);
      for (const p of prof.slice(0, 30)) lines.push(`    ${p.kernel.padEnd(34)} ${String(round1(p.calls)).padStart(6)} calls ${p.msPerStep.toFixed(2).padStart(9)} ms ${((100 * p.msPerStep) / total).toFixed(1).padStart(5)}%  min ${p.msMin.toFixed(2).padStart(8)} ms`);
    }
  }
  if (!json) {
    process.stdout.write(`${hostLine(host)}\nengine: ${engineDir}\n`);
    process.stdout.write(`${DIFFERENCES.map((d) => `  ${d}`).join('\n')}\n`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
