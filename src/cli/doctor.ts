// `chameleon doctor`: a quick, honest self-check of the compute engine on this machine. It creates
// the wasm backend (reporting the SIMD variant and threads), checks a GEMM and a softmax against the
// ref backend, differentiates a small expression, and times a 512³ GEMM. Takes about a second.
// `chameleon start` (serve-command.ts) runs it when the demo model is absent.

import { Engine } from '../engine/engine.js';
import { createRefBackend } from '../engine/backends/ref/index.js';
import { createWasmBackend } from '../engine/backends/wasm/backend.node.js';
import { backward, ops } from '../engine/index.js';
import type { Tensor } from '../engine/tensor.js';
import type { Command } from 'commander';
import { threadsOption } from './options.js';

export interface DoctorOptions {
  json: boolean;
  threads?: number;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs the check and prints its report (exit code 1 when a kernel disagrees with the reference). */
export async function runDoctor(opts: DoctorOptions): Promise<void> {
  const wasm = await createWasmBackend({ threads: opts.threads });
  const ref = createRefBackend();
  const ew = new Engine(wasm);
  const er = new Engine(ref);
  try {
    const n = 96;
    const vals = Array.from({ length: n * n }, (_, i) => Math.sin(i * 0.37));
    const run = (e: Engine): { mm: number[]; sm: number[]; grad: number[] } =>
      e.scope(() => {
        const a = e.tensor(vals, [n, n]);
        const x = e.tensor(vals.slice(0, 3 * n), [3, n]).trainable();
        const mm = ops.matmul(a, a, { transB: true }).toArray();
        const sm = ops.softmax(a).toArray();
        const y: Tensor = ops.sum(ops.square(ops.softmax(x)));
        backward(y);
        const grad = x.grad!.toArray();
        x.grad = null;
        return { mm, sm, grad };
      });
    const w = run(ew);
    const r = run(er);
    const checks = {
      gemm: maxDiff(w.mm, r.mm),
      softmax: maxDiff(w.sm, r.sm),
      gradient: maxDiff(w.grad, r.grad),
    };
    const size = 512;
    const gflops = ew.scope(() => {
      const a = ew.full([size, size], 0.5);
      const b = ew.full([size, size], 0.25);
      ops.matmul(a, b);
      const reps = 10;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) ew.scope(() => ops.matmul(a, b).size);
      const dt = (performance.now() - t0) / 1000 / reps;
      return (2 * size ** 3) / dt / 1e9;
    });
    const ok = Object.values(checks).every((v) => v < 1e-4);
    const report = { backend: wasm.description, threads: wasm.threads, nativeKernels: wasm.native.size, checks, gemm512Gflops: Number(gflops.toFixed(1)), ok };
    if (opts.json) {
      console.log(JSON.stringify(report));
    } else {
      console.log(`engine      wasm backend: ${wasm.description}`);
      console.log(`kernels     ${wasm.native.size} native wasm kernels, the rest from the ref backend`);
      for (const [k, v] of Object.entries(checks)) console.log(`check       ${k.padEnd(9)} max |wasm - ref| = ${v.toExponential(2)} ${v < 1e-4 ? 'ok' : 'MISMATCH'}`);
      console.log(`speed       f32 GEMM 512³: ${gflops.toFixed(1)} GFLOP/s on ${wasm.threads} thread(s)`);
      console.log(ok ? 'doctor: ok' : 'doctor: PROBLEMS FOUND');
    }
    if (!ok) process.exitCode = 1;
  } finally {
    ew.dispose();
    er.dispose();
    await wasm.dispose();
    await ref.dispose();
  }
}

/** Adds `doctor` to the program. */
export function registerDoctorCommands(program: Command): void {
  program
    .command('doctor')
    .description('check the compute engine on this machine: wasm SIMD variant, threads, a GEMM and a gradient check')
    .option('--json', 'print one JSON object')
    .addOption(threadsOption())
    .action(async (opts: { json?: boolean; threads?: number }) => runDoctor({ json: Boolean(opts.json), threads: opts.threads }));
}
