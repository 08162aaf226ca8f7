// The token batches the language-model trainer consumes (the data -> trainer contract): inputs,
// next-token targets with IGNORE_INDEX where no loss is taken, packed-document segment ids and
// positions, and per-modality target counts. A BatchSource yields them deterministically and can
// save and restore its position exactly. Leaves out where the tokens come from (see packer.ts).

/** Target value of positions that take no loss (padding, masked prompt tokens, document starts). */
export const IGNORE_INDEX = -100;

export interface TokenBatch {
  /** [B, T] token ids. */
  inputs: Int32Array;
  /** [B, T] next-token targets; IGNORE_INDEX (-100) where no loss is taken (padding, masked prompt). */
  targets: Int32Array;
  /** [B, T] document id per position (packed documents attend only within their document), or null. */
  segIds: Int32Array | null;
  /** [B, T] position ids (restart at 0 at each document start when segIds is used). */
  positions: Int32Array;
  batch: number;
  seqLen: number;
  /** Counts of target tokens taking loss, by modality (image ids vs the rest). */
  textTargets: number;
  imageTargets: number;
}

export interface BatchSource {
  /** The next batch; deterministic given the seed and the state. */
  next(): TokenBatch;
  /** JSON-serialisable position (epochs, cursors, the pending document piece). */
  state(): Record<string, unknown>;
  /** Continues exactly where state() was taken. */
  restore(state: Record<string, unknown>): void;
}
