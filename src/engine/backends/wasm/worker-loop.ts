// The worker side of the thread pool, platform-neutral (no Node imports): instantiate the kernel
// module on the shared memory, then loop forever: spin briefly on the job sequence number, sleep in
// Atomics.wait when idle, run this participant's share of each job, record any trap, count done.
// Spawning the thread and posting "ready" is the platform adapter's job (worker.node.ts).

import {
  CTL_ALIGN,
  CTL_ARGS_BYTE,
  CTL_DONE,
  CTL_ERR,
  CTL_ERRLEN,
  CTL_ERRMSG_BYTE,
  CTL_FN,
  CTL_NARGS,
  CTL_NPARTS,
  CTL_OFFSET,
  CTL_SEQ,
  CTL_TOTAL,
  ERRMSG_MAX,
  EXPORTS,
  FN_EXIT,
  MAX_ARGS,
  CTL_CHUNKS,
  runShare,
} from './abi.js';

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Participant index (1..threads-1; the main thread is 0). */
  index: number;
  scratchBase: number;
  scratchStride: number;
  /** How long an idle worker spins before it sleeps in Atomics.wait, in microseconds. */
  spinUs: number;
}

type KernelFn = (...args: number[]) => void;

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Record<string, KernelFn> {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as Record<string, KernelFn>;
}

/** Records the first failure of a job (participant p) into the control block. */
export function recordError(memory: WebAssembly.Memory, p: number, err: unknown): void {
  const ctl = new Int32Array(memory.buffer, CTL_OFFSET, 16);
  if (Atomics.compareExchange(ctl, CTL_ERR, 0, p + 1) !== 0) return;
  const msg = String(err instanceof Error ? `${err.name}: ${err.message}` : err).slice(0, ERRMSG_MAX);
  const chars = new Uint16Array(memory.buffer, CTL_OFFSET + CTL_ERRMSG_BYTE, ERRMSG_MAX);
  for (let i = 0; i < msg.length; i++) chars[i] = msg.charCodeAt(i);
  Atomics.store(ctl, CTL_ERRLEN, msg.length);
}

/**
 * Runs jobs until the main thread posts FN_EXIT; blocks the calling thread. `onReady` is called once
 * the loop has read the current job number, so no job posted after it can be missed.
 */
export function runWorkerLoop(init: WorkerInit, exports: Record<string, KernelFn>, onReady: () => void): void {
  const { memory, index, spinUs } = init;
  const ctl = new Int32Array(memory.buffer, CTL_OFFSET, 16);
  const args = new Float64Array(memory.buffer, CTL_OFFSET + CTL_ARGS_BYTE, MAX_ARGS);
  const fns = EXPORTS.map((n) => exports[n]);
  const scratch = init.scratchBase + index * init.scratchStride;
  const spinMs = spinUs / 1000;
  const call: number[] = [];
  let seen = Atomics.load(ctl, CTL_SEQ);
  onReady();
  for (;;) {
    let spins = 0;
    let t0 = -1;
    while (Atomics.load(ctl, CTL_SEQ) === seen) {
      if ((++spins & 127) !== 0) continue;
      const now = performance.now();
      if (t0 < 0) t0 = now;
      else if (now - t0 > spinMs) {
        Atomics.wait(ctl, CTL_SEQ, seen);
        t0 = -1;
      }
    }
    seen = Atomics.load(ctl, CTL_SEQ);
    const fn = Atomics.load(ctl, CTL_FN);
    if (fn === FN_EXIT) return;
    const parts = ctl[CTL_NPARTS];
    if (index >= parts) continue;
    try {
      const n = ctl[CTL_NARGS];
      runShare(ctl, index, parts, ctl[CTL_TOTAL], ctl[CTL_ALIGN], ctl[CTL_CHUNKS], (start, end) => {
        call.length = 0;
        for (let i = 0; i < n; i++) call.push(args[i]);
        call.push(start, end, scratch);
        fns[fn](...call);
      });
    } catch (err) {
      recordError(memory, index, err);
    }
    Atomics.add(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  }
}
