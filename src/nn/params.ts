// Named parameters: a ParamStore allocates tensors in the engine's params arena under their
// checkpoint keys (so loading is a walk over names, not a mapping table), in the storage dtype its
// policy picks (weight matrices may stay bf16/f16 as stored), initialises them from a seeded RNG,
// loads them from any TensorSource (a safetensors archive) with one complete error for
// missing/unexpected/mis-shaped tensors, and lists them for saving. ParamPath is the candle-style
// prefix view modules declare through (`store.pp('model.layers.0')`). File access is the caller's.

import { FormatError, fmtShape } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { numel, sameShape } from '../engine/tensor.js';
import { f32ToBf16, f32ToF16, type DType } from '../engine/dtype.js';
import { Rng } from '../util/rng.js';

/** What a checkpoint reader offers (SafetensorsArchive implements it). dtype: safetensors name, e.g. "BF16". */
export interface TensorSource {
  tensors(): ReadonlyMap<string, { readonly dtype: string; readonly shape: readonly number[]; readonly byteLength: number }>;
  /** Copies the tensor's raw little-endian bytes into dest (dest.byteLength === byteLength). */
  readInto(name: string, dest: Uint8Array): void;
}

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; bound: number };

const ST_TO_DTYPE: Record<string, DType | undefined> = { F32: 'f32', BF16: 'bf16', F16: 'f16', I32: 'i32' };

export interface LoadOptions {
  /** Only names starting with this prefix are considered in the source (and it is stripped). */
  prefix?: string;
  /** Source tensors that may be present without a parameter (e.g. "model.vqmodel."). */
  ignore?: (name: string) => boolean;
  /** Called after each tensor (for progress bars). */
  onTensor?: (name: string, bytes: number) => void;
}

/**
 * Storage dtype of the weight matrices (Linear and Embedding weights) by full parameter name.
 * Everything else (norms, biases, conv kernels) is always f32. This is the one place a storage type
 * is chosen: f32/bf16/f16 today; a blocked quantized type of the engine's type-traits table (q8_0,
 * q4_0) would be returned here too, allocated at its traits' byte size, read raw from a source that
 * stores it, and handed by Linear to ops.linear, which dispatches on the weight dtype.
 */
export type MatrixStorage = DType | ((name: string) => DType);

export interface ParamStoreOptions {
  /** Default 'f32' (trainable). Half-precision or quantized matrices are for inference only. */
  matrices?: MatrixStorage;
}

/**
 * A MatrixStorage that keeps every matrix in the dtype `src` stores it in (F32, BF16 or F16), so a
 * bf16 checkpoint is allocated once at bf16 size: no f32 copy is made first. `prefix` is prepended
 * to parameter names to find their source tensors.
 */
export function storedMatrices(src: TensorSource, prefix = ''): (name: string) => DType {
  const infos = src.tensors();
  return (name) => {
    const d = ST_TO_DTYPE[infos.get(prefix + name)?.dtype ?? 'F32'];
    return d === 'bf16' || d === 'f16' ? d : 'f32';
  };
}

/** Declares parameters under a name prefix (candle's VarBuilder `pp`): `p.pp('mlp').pp('up_proj')`. */
export class ParamPath {
  constructor(
    readonly store: ParamStore,
    readonly prefix: string,
  ) {}

  /** The path one level down (`model` -> `model.layers` -> `model.layers.0`). */
  pp(name: string | number): ParamPath {
    return new ParamPath(this.store, this.key(String(name)));
  }

  /** Full parameter name of `name` under this path. */
  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** Declares an f32 parameter (norm weights, biases, conv kernels). */
  f32(name: string, shape: readonly number[], init: Init): Tensor {
    return this.store.declare(this.key(name), shape, init, 'f32');
  }

  /** Declares a weight matrix, stored in the dtype the store's MatrixStorage picks for it. */
  matrix(name: string, shape: readonly number[], init: Init): Tensor {
    const key = this.key(name);
    return this.store.declare(key, shape, init, this.store.matrixDType(key));
  }
}

export class ParamStore {
  private readonly map = new Map<string, Tensor>();
  private readonly specs = new Map<string, { shape: number[]; init: Init }>();
  private readonly matrices: MatrixStorage;

  constructor(
    readonly engine: Engine,
    opts: ParamStoreOptions = {},
  ) {
    this.matrices = opts.matrices ?? 'f32';
  }

  /** Root (or `prefix`) path for declaring parameters through modules. */
  pp(prefix = ''): ParamPath {
    return new ParamPath(this, prefix);
  }

  /** The storage dtype a weight matrix named `name` gets (see MatrixStorage). */
  matrixDType(name: string): DType {
    return typeof this.matrices === 'function' ? this.matrices(name) : this.matrices;
  }

  /**
   * Declares a parameter (allocated now, zero) with its init rule; returns the tensor. Half-precision
   * storage (bf16/f16) is for inference only: such parameters are not trainable.
   */
  declare(name: string, shape: readonly number[], init: Init = { kind: 'zeros' }, dtype: DType = 'f32'): Tensor {
    if (this.map.has(name)) throw new FormatError(`parameter ${name} declared twice`);
    const t = this.engine.zeros(shape, dtype, 'params');
    t.name = name;
    t.requiresGrad = dtype === 'f32';
    this.map.set(name, t);
    this.specs.set(name, { shape: [...shape], init });
    return t;
  }

  get(name: string): Tensor {
    const t = this.map.get(name);
    if (!t) throw new FormatError(`no parameter named ${name}`);
    return t;
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  names(): string[] {
    return [...this.map.keys()];
  }

  /** Parameters in declaration order. */
  list(): Tensor[] {
    return [...this.map.values()];
  }

  /** Parameters that are trained (f32 and marked requiresGrad). */
  trainable(): Tensor[] {
    return this.list().filter((t) => t.requiresGrad && t.dtype === 'f32');
  }

  /** Expected shapes by name (for checking a checkpoint before reading it). */
  shapes(): Map<string, number[]> {
    return new Map([...this.specs].map(([n, s]) => [n, s.shape]));
  }

  numel(): number {
    let n = 0;
    for (const t of this.map.values()) n += t.size;
    return n;
  }

  /** Fills every parameter from its init rule with a seeded RNG (same seed -> same weights). */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    for (const [name, t] of this.map) {
      const init = this.specs.get(name)!.init;
      if (t.dtype !== 'f32') {
        this.initializeHalf(t, init, rng);
        continue;
      }
      const d = t.data;
      switch (init.kind) {
        case 'zeros':
          d.fill(0);
          break;
        case 'ones':
          d.fill(1);
          break;
        case 'normal':
          for (let i = 0; i < d.length; i++) d[i] = rng.normal() * init.std;
          break;
        case 'uniform':
          for (let i = 0; i < d.length; i++) d[i] = (rng.uniform() * 2 - 1) * init.bound;
          break;
      }
    }
  }

  /** Half-precision init: random values are drawn for one 64K block and tiled (fast for benchmarks). */
  private initializeHalf(t: Tensor, init: Init, rng: Rng): void {
    const conv = t.dtype === 'bf16' ? f32ToBf16 : f32ToF16;
    const block = new Uint16Array(Math.min(t.size, 1 << 16));
    for (let i = 0; i < block.length; i++) {
      const v = init.kind === 'zeros' ? 0 : init.kind === 'ones' ? 1 : init.kind === 'normal' ? rng.normal() * init.std : (rng.uniform() * 2 - 1) * init.bound;
      block[i] = conv(v);
    }
    const d = t.data as Uint16Array;
    for (let off = 0; off < d.length; off += block.length) d.set(block.subarray(0, Math.min(block.length, d.length - off)), off);
  }

  /**
   * Loads every parameter from `src`. Throws one FormatError listing all missing tensors, all
   * unexpected ones and every shape mismatch (naming tensor and both shapes) before reading anything.
   */
  load(src: TensorSource, opts: LoadOptions = {}): void {
    const prefix = opts.prefix ?? '';
    const found = new Map<string, { dtype: string; shape: readonly number[]; byteLength: number; srcName: string }>();
    for (const [n, info] of src.tensors()) {
      if (opts.ignore?.(n)) continue;
      if (!n.startsWith(prefix)) continue;
      found.set(n.slice(prefix.length), { ...info, srcName: n });
    }
    const missing: string[] = [];
    const mismatched: string[] = [];
    const badType: string[] = [];
    for (const [name, spec] of this.specs) {
      const f = found.get(name);
      if (!f) missing.push(prefix + name);
      else if (!sameShape(f.shape, spec.shape)) mismatched.push(`${prefix + name}: checkpoint ${fmtShape(f.shape)}, model ${fmtShape(spec.shape)}`);
      else if (!ST_TO_DTYPE[f.dtype] || ST_TO_DTYPE[f.dtype] === 'i32') badType.push(`${prefix + name}: dtype ${f.dtype}`);
    }
    const unexpected = [...found.keys()].filter((n) => !this.specs.has(n)).map((n) => prefix + n);
    if (missing.length || unexpected.length || mismatched.length || badType.length) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.length}: ${unexpected.join(', ')}`);
      if (mismatched.length) parts.push(`shape mismatch: ${mismatched.join('; ')}`);
      if (badType.length) parts.push(`unsupported dtype: ${badType.join('; ')}`);
      throw new FormatError(`checkpoint does not match the model: ${parts.join(' | ')}`);
    }
    // Every parameter is read into the storage it was declared with (the MatrixStorage policy chose
    // it before anything was allocated), so nothing is allocated twice in the bump-allocated arena.
    for (const [name, t] of this.map) {
      const f = found.get(name)!;
      const srcType = ST_TO_DTYPE[f.dtype]!;
      if (srcType === t.dtype) {
        src.readInto(f.srcName, new Uint8Array(t.data.buffer, t.data.byteOffset, f.byteLength));
      } else {
        // Convert on load (e.g. widen bf16 to an f32 parameter): raw bits into scratch, cast into the parameter.
        this.engine.scope(() => {
          const raw = this.engine.empty(t.shape, srcType, { zero: false });
          src.readInto(f.srcName, new Uint8Array(raw.data.buffer, raw.data.byteOffset, f.byteLength));
          this.engine.k.cast(raw.data, srcType, t.data, t.dtype);
        });
      }
      opts.onTensor?.(prefix + name, f.byteLength);
    }
  }

  /** Bytes of all parameters as stored. */
  bytes(): number {
    let b = 0;
    for (const t of this.map.values()) b += t.data.byteLength;
    return b;
  }

  /** Number of elements expected for a name (for tests and inspection). */
  sizeOf(name: string): number {
    const s = this.specs.get(name);
    if (!s) throw new FormatError(`no parameter named ${name}`);
    return numel(s.shape);
  }
}
