/** Base class of every error chameleon-ts raises on purpose (bad input, bad shapes, bad files). */
export declare class ChameleonError extends Error {
    constructor(message: string);
}
/** An engine op was called with shapes, dtypes or indices it cannot accept. Thrown before any kernel runs. */
export declare class ShapeError extends ChameleonError {
}
/** A kernel failed while running (for example a trap inside a wasm worker). The engine stays usable. */
export declare class KernelError extends ChameleonError {
}
/** A file or payload is malformed, truncated or of an unsupported format. */
export declare class FormatError extends ChameleonError {
}
/** Formats a shape the way error messages print it: [2, 3, 4]. */
export declare function fmtShape(shape: readonly number[]): string;
