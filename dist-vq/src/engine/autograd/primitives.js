// The fixed primitive set of the autograd: for every primitive, the attributes it was applied with
// and what its forward pass saved for the backward pass. Ops (engine/ops) are the only producers of
// nodes; gradient rules (grad_rules.ts) are the only consumers. Adding a primitive means adding a
// row here, which makes the rule table fail to type-check until its rule exists.
/** Records a node on `out` if grad mode is on and any input requires grad. Returns out. */
export function record(prim, inputs, out, attrs, saved) {
    if (!out.engine.gradEnabled)
        return out;
    let any = false;
    for (const t of inputs)
        if (t.requiresGrad)
            any = true;
    if (!any)
        return out;
    out.requiresGrad = true;
    out.node = { prim, inputs, attrs, saved, out };
    return out;
}
/** Whether the current op needs to save tensors for backward (so inference skips that work). */
export function willRecord(inputs) {
    if (inputs.length === 0 || !inputs[0].engine.gradEnabled)
        return false;
    for (const t of inputs)
        if (t.requiresGrad)
            return true;
    return false;
}
//# sourceMappingURL=primitives.js.map