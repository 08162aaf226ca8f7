// Error types shared by every layer: one base class so callers (CLI, server) can tell our
// clear, user-facing errors from programming bugs. No formatting or logging lives here.
/** Base class of every error chameleon-ts raises on purpose (bad input, bad shapes, bad files). */
export class ChameleonError extends Error {
    constructor(message) {
        super(message);
        this.name = new.target.name;
    }
}
/** An engine op was called with shapes, dtypes or indices it cannot accept. Thrown before any kernel runs. */
export class ShapeError extends ChameleonError {
}
/** A kernel failed while running (for example a trap inside a wasm worker). The engine stays usable. */
export class KernelError extends ChameleonError {
}
/** A file or payload is malformed, truncated or of an unsupported format. */
export class FormatError extends ChameleonError {
}
/** Formats a shape the way error messages print it: [2, 3, 4]. */
export function fmtShape(shape) {
    return `[${shape.join(', ')}]`;
}
//# sourceMappingURL=errors.js.map