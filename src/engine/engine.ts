// The Engine: one explicit context value holding the backend, the memories and their arenas, the
// scope stack and the grad mode. Everything that creates tensors takes (or reaches) an Engine; there
// is no global state. Ownership rule (docs/memory.md): a tensor lives in the arena it was allocated
// in; scratch tensors die when the scope that created them ends; persistent arenas live until
// dispose. Tensors live in the backend's memory unless placed in a second one (docs/storage.md).

import { ChameleonError, ShapeError, fmtShape } from '../util/errors.js';
import { Arena, type ArenaMark } from './arena.js';
import type { Backend } from './backend.js';
import { TYPE_TRAITS, bytesFor, checkBlockShape, type DType } from './dtype.js';
import type { Kernels } from './kernels.js';
import type { Memory } from './memory.js';
import { Tensor, numel } from './tensor.js';

export type ArenaName = 'params' | 'grads' | 'optim' | 'state' | 'scratch';

type Arenas = { readonly [A in ArenaName]: Arena };

export interface AllocOptions {
  /** Arena to allocate in (default: scratch, owned by the innermost open scope). */
  arena?: ArenaName;
  /** Zero-fill (default true). Ops pass false when their kernel overwrites every element. */
  zero?: boolean;
  /** Name of the memory to allocate in (default: the backend's; others are added with addMemory). */
  memory?: string;
}

function makeArenas(memory: Memory, storage: Backend['storage']): Arenas {
  return {
    params: new Arena('params', memory, storage),
    grads: new Arena('grads', memory, storage),
    optim: new Arena('optim', memory, storage),
    state: new Arena('state', memory, storage),
    scratch: new Arena('scratch', memory, storage, 64 << 20),
  };
}

export class Engine {
  readonly k: Kernels;
  /** The arenas of the backend's memory. */
  readonly arenas: Arenas;
  /** Every memory tensors can live in, by name: the backend's first, then those added. */
  private readonly memories = new Map<string, { memory: Memory; arenas: Arenas }>();
  private readonly scopeStack: { id: number; marks: ArenaMark[] }[] = [];
  private nextScopeId = 1;
  private gradEnabled_ = true;
  private disposed = false;
  /** Set when two async scopes ended out of order (their memory may have been reused). */
  private interleaved = false;

  constructor(readonly backend: Backend) {
    this.k = backend.kernels;
    this.arenas = makeArenas(backend.memory, backend.storage);
    this.memories.set(backend.memory.name, { memory: backend.memory, arenas: this.arenas });
  }

  /** The backend's memory (where tensors live by default). */
  get memory(): Memory {
    return this.backend.memory;
  }

  /**
   * Adds a second memory tensors can be allocated in ({ memory: name }). Kernels that cannot
   * address it refuse its tensors by name (KernelMemoryError); copy them over with toMemory.
   */
  addMemory(memory: Memory): void {
    this.assertUsable();
    if (this.memories.has(memory.name)) throw new ChameleonError(`engine: a memory named '${memory.name}' is already added`);
    if (this.scopeStack.length) throw new ChameleonError('engine.addMemory: add memories outside any scope');
    this.memories.set(memory.name, { memory, arenas: makeArenas(memory, undefined) });
  }

  /** Names of the memories tensors can live in (the backend's first). */
  memoryNames(): string[] {
    return [...this.memories.keys()];
  }

  private arenasOf(name: string | undefined): Arenas {
    if (name === undefined) return this.arenas;
    const m = this.memories.get(name);
    if (!m) throw new ChameleonError(`engine: no memory named '${name}' (have ${this.memoryNames().join(', ')})`);
    return m.arenas;
  }

  private scratchArenas(): Arena[] {
    return [...this.memories.values()].map((m) => m.arenas.scratch);
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
    const entry = this.openScope();
    try {
      const r = fn();
      if (r instanceof Promise) throw new ChameleonError('engine.scope(fn): fn must be synchronous; use scopeAsync');
      return r;
    } finally {
      this.scopeStack.pop();
      this.releaseScope(entry);
    }
  }

  private openScope(): { id: number; marks: ArenaMark[] } {
    const entry = { id: this.nextScopeId++, marks: this.scratchArenas().map((a) => a.mark()) };
    this.scopeStack.push(entry);
    return entry;
  }

  private releaseScope(entry: { marks: ArenaMark[] }): void {
    const scratch = this.scratchArenas();
    for (let i = 0; i < entry.marks.length; i++) scratch[i].release(entry.marks[i]);
  }

  /** Async variant of scope(): the scope stays open across awaits; do not interleave two of them. */
  async scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.assertUsable();
    const entry = this.openScope();
    let result: T;
    try {
      result = await fn();
    } finally {
      const top = this.scopeStack.pop();
      this.releaseScope(entry);
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
    checkBlockShape('empty', dtype, shape);
    const arenaName = opts.arena ?? 'scratch';
    const arena = this.arenasOf(opts.memory)[arenaName];
    const data = arena.alloc(dtype, numel(shape), opts.zero ?? true);
    const scope = arenaName === 'scratch' ? this.currentScope : 0;
    return new Tensor(this, [...shape], dtype, data, scope, arena.memory);
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
   * A tensor holding `values` (copied into backend memory, or `memory`). For bf16/f16, numbers are
   * rounded to nearest even and a Uint16Array is taken as raw bits; blocked types are quantized
   * (a Uint8Array of exactly the block bytes is taken as raw blocks).
   */
  tensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32', arena?: ArenaName, memory?: string): Tensor {
    const traits = TYPE_TRAITS[dtype];
    const rawBlocks = traits.kind === 'quant' && values instanceof Uint8Array;
    const expect = rawBlocks ? bytesFor(dtype, numel(shape)) : numel(shape);
    if (values.length !== expect) {
      throw new ShapeError(`tensor: ${values.length} ${rawBlocks ? 'bytes' : 'values'} do not fill ${dtype} shape ${fmtShape(shape)}`);
    }
    const t = this.empty(shape, dtype, { arena, zero: false, memory });
    const d = t.data;
    if (rawBlocks) {
      d.set(values);
    } else if (traits.kind === 'quant' || ((dtype === 'bf16' || dtype === 'f16') && !(values instanceof Uint16Array))) {
      traits.fromF32(values, d, values.length);
    } else if (dtype === 'i32') {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!Number.isInteger(v)) throw new ShapeError(`tensor: i32 value ${v} at index ${i} is not an integer`);
        d[i] = v;
      }
    } else {
      d.set(values);
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
    const out = this.empty(t.shape, t.dtype, { arena, zero: false, memory: t.memory.name });
    out.data.set(t.data);
    out.name = t.name;
    return out;
  }

  /**
   * A copy of a tensor in another memory (a plain byte copy; not differentiable), in that memory's
   * `arena` (default scratch, owned by the innermost scope). Returns t itself if it is already there.
   */
  toMemory(t: Tensor, memory: string, arena: ArenaName = 'scratch'): Tensor {
    this.assertLive('toMemory', t);
    if (t.memory.name === memory) return t;
    const out = this.empty(t.shape, t.dtype, { arena, zero: false, memory });
    out.data.set(t.data);
    out.name = t.name;
    return out;
  }

  /** Bytes per arena (live, peak, reserved) and the memory totals, for inspection and benchmarks. */
  memoryStats(): { arenas: ReturnType<Arena['stats']>[]; reservedBytes: number; memories: { name: string; reservedBytes: number; liveBytes: number }[] } {
    const all = [...this.memories.values()];
    return {
      arenas: Object.values(this.arenas).map((a) => a.stats()),
      reservedBytes: this.backend.reservedBytes(),
      memories: all.map((m) => ({
        name: m.memory.name,
        reservedBytes: m.memory.reservedBytes(),
        liveBytes: Object.values(m.arenas).reduce((s, a) => s + a.stats().liveBytes, 0),
      })),
    };
  }

  private assertUsable(): void {
    if (this.disposed) throw new ChameleonError('engine used after dispose()');
  }

  /** Frees all arenas (the backend itself is disposed by its owner). */
  dispose(): void {
    if (this.disposed) return;
    for (const m of this.memories.values()) for (const a of Object.values(m.arenas)) a.dispose();
    this.disposed = true;
  }
}
