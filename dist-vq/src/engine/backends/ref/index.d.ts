import type { Backend } from '../../backend.js';
import type { Kernels } from '../../kernels.js';
export { dropoutUniform } from './loss.js';
/** The reference kernel table; typed as `Kernels`, so a missing kernel is a compile error. */
export declare const refKernels: Kernels;
/** A ref backend: one thread, every kernel native, each reserve() a fresh zero-filled ArrayBuffer. */
export declare function createRefBackend(): Backend;
