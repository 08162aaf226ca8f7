// Named parameters: a ParamStore allocates tensors in the engine's params arena under their
// checkpoint keys (so loading is a walk over names, not a mapping table), initialises them from a
// seeded RNG, loads them from any TensorSource (a safetensors archive) with one complete error for
// missing/unexpected/mis-shaped tensors, and lists them for saving. File access is the caller's.
import { FormatError, fmtShape } from '../util/errors.js';
import { numel, sameShape } from '../engine/tensor.js';
import { Rng } from '../util/rng.js';
const ST_TO_DTYPE = { F32: 'f32', BF16: 'bf16', F16: 'f16', I32: 'i32' };
export class ParamStore {
    engine;
    map = new Map();
    specs = new Map();
    constructor(engine) {
        this.engine = engine;
    }
    /** Declares a parameter (allocated now, f32, zero) with its init rule; returns the tensor. */
    declare(name, shape, init = { kind: 'zeros' }) {
        if (this.map.has(name))
            throw new FormatError(`parameter ${name} declared twice`);
        const t = this.engine.zeros(shape, 'f32', 'params');
        t.name = name;
        t.requiresGrad = true;
        this.map.set(name, t);
        this.specs.set(name, { shape: [...shape], init });
        return t;
    }
    get(name) {
        const t = this.map.get(name);
        if (!t)
            throw new FormatError(`no parameter named ${name}`);
        return t;
    }
    has(name) {
        return this.map.has(name);
    }
    names() {
        return [...this.map.keys()];
    }
    /** Parameters in declaration order. */
    list() {
        return [...this.map.values()];
    }
    /** Parameters that are trained (f32 and marked requiresGrad). */
    trainable() {
        return this.list().filter((t) => t.requiresGrad && t.dtype === 'f32');
    }
    /** Expected shapes by name (for checking a checkpoint before reading it). */
    shapes() {
        return new Map([...this.specs].map(([n, s]) => [n, s.shape]));
    }
    numel() {
        let n = 0;
        for (const t of this.map.values())
            n += t.size;
        return n;
    }
    /** Fills every parameter from its init rule with a seeded RNG (same seed -> same weights). */
    initialize(seed) {
        const rng = new Rng(seed);
        for (const [name, t] of this.map) {
            const init = this.specs.get(name).init;
            const d = t.data;
            switch (init.kind) {
                case 'zeros':
                    d.fill(0);
                    break;
                case 'ones':
                    d.fill(1);
                    break;
                case 'normal':
                    for (let i = 0; i < d.length; i++)
                        d[i] = rng.normal() * init.std;
                    break;
                case 'uniform':
                    for (let i = 0; i < d.length; i++)
                        d[i] = (rng.uniform() * 2 - 1) * init.bound;
                    break;
            }
        }
    }
    /**
     * Loads every parameter from `src`. Throws one FormatError listing all missing tensors, all
     * unexpected ones and every shape mismatch (naming tensor and both shapes) before reading anything.
     */
    load(src, opts = {}) {
        const prefix = opts.prefix ?? '';
        const found = new Map();
        for (const [n, info] of src.tensors()) {
            if (opts.ignore?.(n))
                continue;
            if (!n.startsWith(prefix))
                continue;
            found.set(n.slice(prefix.length), { ...info, srcName: n });
        }
        const missing = [];
        const mismatched = [];
        const badType = [];
        for (const [name, spec] of this.specs) {
            const f = found.get(name);
            if (!f)
                missing.push(prefix + name);
            else if (!sameShape(f.shape, spec.shape))
                mismatched.push(`${prefix + name}: checkpoint ${fmtShape(f.shape)}, model ${fmtShape(spec.shape)}`);
            else if (!ST_TO_DTYPE[f.dtype] || ST_TO_DTYPE[f.dtype] === 'i32')
                badType.push(`${prefix + name}: dtype ${f.dtype}`);
        }
        const unexpected = [...found.keys()].filter((n) => !this.specs.has(n)).map((n) => prefix + n);
        if (missing.length || unexpected.length || mismatched.length || badType.length) {
            const parts = [];
            if (missing.length)
                parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
            if (unexpected.length)
                parts.push(`unexpected ${unexpected.length}: ${unexpected.join(', ')}`);
            if (mismatched.length)
                parts.push(`shape mismatch: ${mismatched.join('; ')}`);
            if (badType.length)
                parts.push(`unsupported dtype: ${badType.join('; ')}`);
            throw new FormatError(`checkpoint does not match the model: ${parts.join(' | ')}`);
        }
        for (const [name, t0] of this.map) {
            const f = found.get(name);
            const srcType = ST_TO_DTYPE[f.dtype];
            const keep = opts.weights === 'keep' && t0.rank >= 2 && srcType !== 'f32';
            let t = t0;
            if (keep && t.dtype !== srcType)
                t = this.replace(name, srcType);
            else if (!keep && t.dtype !== 'f32')
                t = this.replace(name, 'f32');
            if (srcType === t.dtype) {
                src.readInto(f.srcName, new Uint8Array(t.data.buffer, t.data.byteOffset, f.byteLength));
            }
            else {
                // Widen on load: read the raw half-precision bits into scratch, cast into the parameter.
                this.engine.scope(() => {
                    const raw = this.engine.empty(t.shape, srcType, { zero: false });
                    src.readInto(f.srcName, new Uint8Array(raw.data.buffer, raw.data.byteOffset, f.byteLength));
                    this.engine.k.cast(raw.data, srcType, t.data, t.dtype);
                });
            }
            opts.onTensor?.(prefix + name, f.byteLength);
        }
    }
    /** Re-allocates a parameter with another storage dtype (half-precision weights are not trained). */
    replace(name, dtype) {
        const old = this.map.get(name);
        const t = this.engine.empty(old.shape, dtype, { arena: 'params' });
        t.name = name;
        t.requiresGrad = dtype === 'f32';
        this.map.set(name, t);
        return t;
    }
    /** Bytes of all parameters as stored. */
    bytes() {
        let b = 0;
        for (const t of this.map.values())
            b += t.data.byteLength;
        return b;
    }
    /** Number of elements expected for a name (for tests and inspection). */
    sizeOf(name) {
        const s = this.specs.get(name);
        if (!s)
            throw new FormatError(`no parameter named ${name}`);
        return numel(s.shape);
    }
}
//# sourceMappingURL=params.js.map