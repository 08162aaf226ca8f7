// The main-thread side of the thread pool. A kernel call is synchronous: the main thread writes a job
// (export index, up to 24 numeric args, item count, split alignment) into the control block, bumps
// the sequence number and wakes the workers, runs participant 0's share itself, then waits until
// every worker has counted itself done. Small jobs run on the main thread only. A trap anywhere is
// rethrown as KernelError after all participants finish, leaving pool and memory usable.

import { KernelError } from '../../../util/errors.js';
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
  EXPORTS,
  EXPORT_INDEX,
  FN_EXIT,
  MAX_ARGS,
  CTL_CHUNKS,
  CTL_NEXT,
  runShare,
  type ExportName,
} from './abi.js';
import { recordError } from './worker-loop.js';

type KernelFn = (...args: number[]) => void;

/** A started worker thread, as the platform adapter reports it. */
export interface WorkerHandle {
  terminate(): Promise<void>;
}

export class ThreadPool {
  readonly threads: number;
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly fns: KernelFn[];
  private readonly call: number[] = [];
  private disposed = false;

  constructor(
    private readonly memory: WebAssembly.Memory,
    exports: Record<string, KernelFn>,
    private readonly workers: WorkerHandle[],
    private readonly scratchBase: number,
    private readonly scratchStride: number,
  ) {
    this.threads = workers.length + 1;
    this.ctl = new Int32Array(memory.buffer, CTL_OFFSET, 16);
    this.args = new Float64Array(memory.buffer, CTL_OFFSET + CTL_ARGS_BYTE, MAX_ARGS);
    this.fns = EXPORTS.map((n) => {
      const f = exports[n];
      if (typeof f !== 'function') throw new Error(`wasm kernel module lacks export '${n}'`);
      return f;
    });
  }

  /** Bytes of scratch each participant owns. */
  get scratchBytes(): number {
    return this.scratchStride;
  }

  /** Scratch address of participant p (per-participant pack buffers, partial results). */
  scratch(p: number): number {
    return this.scratchBase + p * this.scratchStride;
  }

  /**
   * Runs export `name` over `total` items split into ranges aligned to `align`; `parallel` false
   * (or one thread) runs it all on the main thread. `label` names the kernel in errors.
   * `chunksPerThread` > 0 schedules dynamically (threads × chunksPerThread ranges taken from a shared
   * counter), which keeps both cores busy when one runs slower; 0 gives each participant one fixed
   * range (required by kernels that leave per-participant partial results in scratch).
   * Returns how many participants ran (1: the main thread alone; else all threads, participant p
   * with scratch(p)), so callers can combine per-participant partials; 0 when there was no work.
   */
  run(label: string, name: ExportName, args: readonly number[], total: number, align: number, parallel: boolean, chunksPerThread = 0): number {
    if (this.disposed) throw new KernelError(`${label}: the wasm backend was disposed`);
    if (total <= 0) return 0;
    const fn = this.fns[EXPORT_INDEX[name]];
    if (!parallel || this.threads === 1 || total <= align) {
      const call = this.call;
      call.length = 0;
      for (let i = 0; i < args.length; i++) call.push(args[i]);
      call.push(0, total, this.scratch(0));
      try {
        fn(...call);
      } catch (err) {
        throw new KernelError(`wasm kernel ${label} failed on the main thread: ${describe(err)}`);
      }
      return 1;
    }
    const ctl = this.ctl;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    ctl[CTL_NARGS] = args.length;
    ctl[CTL_FN] = EXPORT_INDEX[name];
    ctl[CTL_NPARTS] = this.threads;
    ctl[CTL_TOTAL] = total;
    ctl[CTL_ALIGN] = align;
    ctl[CTL_ERR] = 0;
    ctl[CTL_ERRLEN] = 0;
    const chunks = chunksPerThread > 0 ? Math.min(this.threads * chunksPerThread, Math.ceil(total / align)) : 0;
    ctl[CTL_CHUNKS] = chunks;
    ctl[CTL_NEXT] = 0;
    Atomics.store(ctl, CTL_DONE, 0);
    Atomics.add(ctl, CTL_SEQ, 1);
    Atomics.notify(ctl, CTL_SEQ);
    const call = this.call;
    try {
      runShare(ctl, 0, this.threads, total, align, chunks, (start, end) => {
        call.length = 0;
        for (let i = 0; i < args.length; i++) call.push(args[i]);
        call.push(start, end, this.scratch(0));
        fn(...call);
      });
    } catch (err) {
      recordError(this.memory, 0, err);
    }
    this.waitDone();
    const failed = Atomics.load(ctl, CTL_ERR);
    if (failed !== 0) {
      const len = Atomics.load(ctl, CTL_ERRLEN);
      const chars = new Uint16Array(this.memory.buffer, CTL_OFFSET + CTL_ERRMSG_BYTE, len);
      const msg = String.fromCharCode(...chars);
      const who = failed === 1 ? 'the main thread' : `worker ${failed - 1}`;
      throw new KernelError(`wasm kernel ${label} failed in ${who}: ${msg}`);
    }
    return this.threads;
  }

  private waitDone(): void {
    const ctl = this.ctl;
    const want = this.threads - 1;
    let spins = 0;
    for (;;) {
      const d = Atomics.load(ctl, CTL_DONE);
      if (d >= want) return;
      // Spin first (the workers finish about when we do), then sleep in short waits.
      if (++spins < 20000) continue;
      Atomics.wait(ctl, CTL_DONE, d, 1);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, CTL_FN, FN_EXIT);
    Atomics.add(this.ctl, CTL_SEQ, 1);
    Atomics.notify(this.ctl, CTL_SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
