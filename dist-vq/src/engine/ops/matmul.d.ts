import type { Tensor } from '../tensor.js';
export interface MatmulOptions {
    transA?: boolean;
    transB?: boolean;
}
/** op(a) · op(b) over the last two axes; op transposes when the flag is set. */
export declare function matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor;
/** x [..., in] · Wᵀ with W [out, in] (Hugging Face nn.Linear layout) -> [..., out]. */
export declare function linear(x: Tensor, w: Tensor): Tensor;
