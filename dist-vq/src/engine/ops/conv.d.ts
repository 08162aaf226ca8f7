import { type ConvGeometry } from '../autograd/primitives.js';
import type { Conv2dParams } from '../kernels.js';
import type { Tensor } from '../tensor.js';
export interface Conv2dOptions {
    stride?: number;
    /** Symmetric padding, or [top, left, bottom, right]. */
    padding?: number | [number, number, number, number];
}
/** Full kernel parameters from tensor shapes and geometry. */
export declare function convParams(x: readonly number[], w: readonly number[], g: ConvGeometry): Conv2dParams;
/** x [N, Cin, H, W] * w [Cout, Cin, kh, kw] (+ b [Cout]) -> [N, Cout, outH, outW]. */
export declare function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor;
/** Nearest-neighbour upsampling of x [N, C, H, W] by an integer factor. */
export declare function upsampleNearest(x: Tensor, factor?: number): Tensor;
