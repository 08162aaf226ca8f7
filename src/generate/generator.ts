// The generation entry point: several requests decode together in one forward per step over a shared
// KV cache whose rows are right-aligned (left padding + per-row positions). A request owns one row in
// text state and 1-3 rows while it draws an image with classifier-free guidance (full prompt,
// image-only prompt, unconditional). stream() runs a fixed set of requests to the end; session()
// gives the step-wise BatchSession (batch-session.ts) that admits requests between steps, as a
// server's continuous batching needs. Tokenizers are injected (TextCodec, ImageRenderer): ids only.

import type { GenEvent } from './events.js';
import { BatchSession, type GenerateRequest, type GeneratorParts, type SessionOptions } from './batch-session.js';

export { BatchSession } from './batch-session.js';
export type { GenerateRequest, GeneratorParts, SessionOptions, SessionTimings } from './batch-session.js';

export class ChameleonGenerator {
  /** Optional hook called after every sampled token (benchmarks time steps with it). */
  onToken?: (request: number, id: number) => void;

  constructor(readonly parts: GeneratorParts) {}

  /**
   * A step-wise batch: admit() requests at any time, step() until idle, dispose() at the end. Its
   * sessions call this generator's onToken unless the options name their own.
   */
  session(opts: SessionOptions = {}): BatchSession {
    return new BatchSession(this.parts, { onToken: (r, id) => this.onToken?.(r, id), ...opts });
  }

  /**
   * Streams events for one or more requests decoded together (request i is `requests[i]`); an
   * AbortSignal stops a request at any token. Every request is validated before anything runs.
   * `opts` are the session's (e.g. previewBudget 0 for a consumer that shows no previews).
   */
  async *stream(requests: readonly GenerateRequest[], opts: Omit<SessionOptions, 'maxRequests'> = {}): AsyncGenerator<GenEvent> {
    if (requests.length === 0) return;
    const session = this.session({ ...opts, maxRequests: requests.length });
    try {
      for (const r of requests) session.admit(r);
      while (!session.idle) {
        for (const ev of await session.step()) yield ev;
        if (!session.idle) await new Promise<void>((r) => setTimeout(r, 0));
      }
    } finally {
      session.dispose();
    }
  }
}
