// The Engine: one explicit context value holding the backend, the memory arenas, the scope stack
// and the grad mode. Everything that creates tensors takes (or reaches) an Engine; there is no
// global state. Ownership rule (docs/memory.md): a tensor lives in the arena it was allocated in;
// scratch tensors die when the scope that created them ends; persistent arenas live until dispose.

import { ChameleonError, ShapeError, fmtShape } from '../util/errors.js';
import { Arena } from './arena.js';
import type { Backend } from './backend.js';
import { DTYPES, f32ToBf16, f32ToF16, type AnyArray, type DType } from './dtype.js';
import type { Kernels } from './kernels.js';
import { Tensor, numel } from './tensor.js';

export type ArenaName = 'params' | 'grads' | 'optim' | 'state' | 'scratch';

export interface AllocOptions {
  /** Arena to allocate in (default: scratch, owned by the innermost open scope). */
  arena?: ArenaName;
  /** Zero-fill (default true). Ops pass false when their kernel overwrites every element. */
  zero?: boolean;
}

export class Engine {
  readonly k: Kernels;
  readonly arenas: { readonly [A in ArenaName]: Arena };
  private readonly scopeStack: { id: number; mark: ReturnType<Arena['mark']> }[] = [];
  private nextScopeId = 1;
  private gradEnabled_ = true;
  private disposed = false;
  /** Set when two async scopes ended out of order (their memory may have been reused). */
  private interleaved = false;

  constructor(readonly backend: Backend) {
    this.k = backend.kernels;
    this.arenas = {
      params: new Arena('params', backend),
      grads: new Arena('grads', backend),
      optim: new Arena('optim', backend),
      state: new Arena('state', backend),
      scratch: new Arena('scratch', backend, 64 << 20),
    };
  }

  /** True when ops record the autograd graph (outside noGrad). */
  get gradEnabled(): boolean {
    return this.gradEnabled_;
  }

  /** Runs fn without recording autograd nodes (inference); restores the previous mode after. */
  noGrad<T>(fn: () => T): T {
    const prev = this.gradEnabled_;
    this.gradEnabled_ = false;
    try {
      return fn();
    } finally {
      this.gradEnabled_ = prev;
    }
  }

  /**
   * Runs fn in a new scope: scratch tensors created inside die when it returns (their memory is
   * reused). Return plain values, or copy tensors out with keep() first.
   */
  scope<T>(fn: () => T): T {
    this.assertUsable();
    const entry = { id: this.nextScopeId++, mark: this.arenas.scratch.mark() };
    this.scopeStack.push(entry);
    try {
      const r = fn();
      if (r instanceof Promise) throw new ChameleonError('engine.scope(fn): fn must be synchronous; use scopeAsync');
      return r;
    } finally {
      this.scopeStack.pop();
      this.arenas.scratch.release(entry.mark);
    }
  }

  /** Async variant of scope(): the scope stays open across awaits; do not interleave two of them. */
  async scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.assertUsable();
    const entry = { id: this.nextScopeId++, mark: this.arenas.scratch.mark() };
    this.scopeStack.push(entry);
    let result: T;
    try {
      result = await fn();
    } finally {
      const top = this.scopeStack.pop();
      this.arenas.scratch.release(entry.mark);
      if (top !== entry) this.interleaved = true;
    }
    if (this.interleaved) throw new ChameleonError('engine.scopeAsync: scopes were interleaved');
    return result;
  }

  /** Id of the innermost open scope (0 outside any scope). */
  get currentScope(): number {
    return this.scopeStack.length ? this.scopeStack[this.scopeStack.length - 1].id : 0;
  }

  /** Whether a tensor's memory is still valid (its scope has not ended). */
  isLive(t: Tensor): boolean {
    if (t.scope === 0) return true;
    for (let i = this.scopeStack.length - 1; i >= 0; i--) if (this.scopeStack[i].id === t.scope) return true;
    return false;
  }

  /** Throws a clear error when `op` receives a tensor whose scope already ended or of another engine. */
  assertLive(op: string, t: Tensor): void {
    if (t.engine !== this) throw new ChameleonError(`${op}: ${t} belongs to a different engine`);
    if (!this.isLive(t)) {
      throw new ChameleonError(`${op}: ${t} was freed when its scope ended (copy it out with engine.keep before returning)`);
    }
  }

  /** A new tensor of the given shape; contents zero unless opts.zero is false. */
  empty(shape: readonly number[], dtype: DType = 'f32', opts: AllocOptions = {}): Tensor {
    this.assertUsable();
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`empty: invalid shape ${fmtShape(shape)}`);
    }
    const arenaName = opts.arena ?? 'scratch';
    const data = this.arenas[arenaName].alloc(dtype, numel(shape), opts.zero ?? true);
    const scope = arenaName === 'scratch' ? this.currentScope : 0;
    return new Tensor(this, [...shape], dtype, data, scope);
  }

  zeros(shape: readonly number[], dtype: DType = 'f32', arena?: ArenaName): Tensor {
    return this.empty(shape, dtype, { arena, zero: true });
  }

  full(shape: readonly number[], value: number, arena?: ArenaName): Tensor {
    const t = this.empty(shape, 'f32', { arena, zero: false });
    this.k.fill(t.data, value);
    return t;
  }

  /**
   * A tensor holding `values` (copied into backend memory). For bf16/f16, numbers are rounded to
   * nearest even; a Uint16Array is taken as raw bits.
   */
  tensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32', arena?: ArenaName): Tensor {
    if (values.length !== numel(shape)) {
      throw new ShapeError(`tensor: ${values.length} values do not fill shape ${fmtShape(shape)}`);
    }
    const t = this.empty(shape, dtype, { arena, zero: false });
    const d = t.data;
    if ((dtype === 'bf16' || dtype === 'f16') && !(values instanceof Uint16Array)) {
      const conv = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
      for (let i = 0; i < values.length; i++) d[i] = conv(values[i]);
    } else if (dtype === 'i32') {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!Number.isInteger(v)) throw new ShapeError(`tensor: i32 value ${v} at index ${i} is not an integer`);
        d[i] = v;
      }
    } else {
      (d as AnyArray).set(values as ArrayLike<number>);
    }
    return t;
  }

  /** i32 tensor of token ids. */
  ids(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Tensor {
    return this.tensor(values, shape, 'i32');
  }

  /** Copies a tensor into a persistent arena (default 'state') so it outlives the current scope. */
  keep(t: Tensor, arena: Exclude<ArenaName, 'scratch'> = 'state'): Tensor {
    this.assertLive('keep', t);
    const out = this.empty(t.shape, t.dtype, { arena, zero: false });
    out.data.set(t.data as Float32Array & Uint16Array & Int32Array);
    out.name = t.name;
    return out;
  }

  /** Bytes per arena (live, peak, reserved) and the backend total, for inspection and benchmarks. */
  memoryStats(): { arenas: ReturnType<Arena['stats']>[]; reservedBytes: number } {
    return {
      arenas: Object.values(this.arenas).map((a) => a.stats()),
      reservedBytes: this.backend.reservedBytes(),
    };
  }

  private assertUsable(): void {
    if (this.disposed) throw new ChameleonError('engine used after dispose()');
  }

  /** Frees all arenas (the backend itself is disposed by its owner). */
  dispose(): void {
    if (this.disposed) return;
    for (const a of Object.values(this.arenas)) a.dispose();
    this.disposed = true;
  }
}

/** Size in bytes of n elements of dtype. */
export function bytesOf(dtype: DType, n: number): number {
  return DTYPES[dtype].bytes * n;
}
