// Reverse-mode differentiation: topologically orders the nodes reachable from a scalar (or seeded)
// output, then applies each primitive's rule from the gradient table in reverse, in no-grad mode.
// Leaf gradients accumulate into `leaf.grad` in the grads arena (so several backward calls add up;
// rules may add into it directly, see LeafGrad); intermediate gradients are scratch tensors of the
// current scope.

import { ChameleonError, ShapeError, fmtShape } from '../../util/errors.js';
import { add } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { sameShape } from '../tensor.js';
import { GRAD_RULES, accumulateInto, type GradRule } from './grad_rules.js';
import type { Node, Prim } from './primitives.js';

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node ? t.node.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c.requiresGrad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order; // inputs before outputs
}

/**
 * Backpropagates from `out` (a scalar unless `seed` gives its gradient) into every leaf that
 * requires grad. Returns the leaves that received gradients.
 */
export function backward(out: Tensor, seed?: Tensor): Tensor[] {
  const e = out.engine;
  e.assertLive('backward', out);
  if (!out.requiresGrad) throw new ChameleonError(`backward: ${out} does not depend on any trainable tensor`);
  if (!seed && out.size !== 1) throw new ShapeError(`backward: output ${fmtShape(out.shape)} is not a scalar; pass its gradient`);
  if (seed && !sameShape(seed.shape, out.shape)) throw new ShapeError(`backward: seed ${fmtShape(seed.shape)} does not match output ${fmtShape(out.shape)}`);
  const order = topoOrder(out);
  const grads = new Map<Tensor, Tensor>();
  const leaves: Tensor[] = [];
  const received = new Set<Tensor>();
  const leafGrad = (t: Tensor): Tensor | null => {
    if (t.node || !t.requiresGrad) return null;
    if (!t.grad) {
      t.grad = e.zeros(t.shape, 'f32', 'grads');
      t.grad.name = t.name ? `${t.name}.grad` : '';
    }
    if (!received.has(t)) {
      received.add(t);
      leaves.push(t);
    }
    return t.grad;
  };
  e.noGrad(() => {
    grads.set(out, seed ?? e.full(out.shape, 1));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        accumulateInto(leafGrad(t) as Tensor, g);
        continue;
      }
      const node: Node = t.node;
      const rule = GRAD_RULES[node.prim] as GradRule<Prim>;
      const gs = rule(node as never, g, leafGrad);
      node.inputs.forEach((inp, j) => {
        const gi = gs[j];
        if (!inp.requiresGrad || !gi) return;
        if (!sameShape(gi.shape, inp.shape)) {
          throw new ChameleonError(`autograd: rule for ${node.prim} returned gradient ${fmtShape(gi.shape)} for input ${fmtShape(inp.shape)}`);
        }
        // Gradients may alias each other (pass-through rules return g or a view of it), so sums
        // are formed out of place; only leaf .grad buffers, which we own, are updated in place.
        const prev = grads.get(inp);
        grads.set(inp, prev ? add(prev, gi) : gi);
      });
    }
  });
  return leaves;
}

/** Zeroes the gradients of the given leaves (before the next accumulation). */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) if (p.grad) p.engine.k.fill(p.grad.data, 0);
}
