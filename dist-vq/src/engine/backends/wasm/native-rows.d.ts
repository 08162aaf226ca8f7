import type { KernelName, Kernels } from '../../kernels.js';
import { type NativeContext } from './native-math.js';
/** The kernel table: native where implemented, the ref kernel (over views of wasm memory) elsewhere. */
export declare function buildKernels(ctx: NativeContext): {
    kernels: Kernels;
    native: ReadonlySet<KernelName>;
};
