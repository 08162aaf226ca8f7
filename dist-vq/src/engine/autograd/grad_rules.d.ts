import { type Tensor } from '../tensor.js';
import type { NodeOf, Prim } from './primitives.js';
export type GradRule<P extends Prim> = (node: NodeOf<P>, g: Tensor) => (Tensor | null)[];
export declare const GRAD_RULES: {
    readonly [P in Prim]: GradRule<P>;
};
/** Adds g into acc in place (same shapes). */
export declare function accumulateInto(acc: Tensor, g: Tensor): void;
