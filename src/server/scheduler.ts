// The server's one scheduler: it owns one BatchSession and runs a single loop that steps it while
// anything runs or waits, yielding to the event loop between steps so HTTP handlers admit new
// requests there (continuous batching: a request joins and leaves the running batch between decode
// steps). submit() admits a request's choices together and returns a Ticket, the stream of their
// events; a full queue is a 429, a client's AbortSignal cancels its choices at the next step.
// Leaves out: priorities, preemption, per-client fairness (admission is FIFO).

import { ApiError } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { BatchSession, ChameleonGenerator, GenerateRequest, SessionTimings } from '../generate/generator.js';
import type { GenEvent } from '../generate/events.js';

export interface SchedulerOptions {
  /** Requests decoding at once (the session's maxRequests). */
  maxBatch: number;
  /** Requests that may wait for a slot beyond the running ones; more are refused with 429. */
  maxQueue: number;
  /** Share of busy time partial-image previews may take (BatchSession previewBudget). */
  previewBudget?: number;
  /** Awaited before every step: tests slow or gate decoding with it (default none). */
  pace?: () => Promise<void>;
  /** Milliseconds clock (default performance.now). */
  clock?: () => number;
}

/** One event of one of a ticket's choices. */
export interface ChoiceEvent {
  choice: number;
  ev: GenEvent;
}

/** Why a ticket's choices were cancelled (the generator only says 'abort'). */
export type CancelCause = 'client' | 'shutdown';

const tick = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/** The events of one submitted request (all its choices), in the order the steps made them. */
export class Ticket implements AsyncIterable<ChoiceEvent> {
  /** Set when the whole ticket was cancelled (client gone, server shutting down). */
  cause: CancelCause | null = null;
  private readonly buffer: ChoiceEvent[] = [];
  private wake: (() => void) | null = null;
  private failure: unknown = null;
  private open: number;
  private readonly controllers: AbortController[];

  constructor(
    readonly choices: number,
    readonly startedAt: number,
  ) {
    this.open = choices;
    this.controllers = Array.from({ length: choices }, () => new AbortController());
  }

  /** The signal of choice i (what its GenerateRequest carries). */
  signal(i: number): AbortSignal {
    return this.controllers[i].signal;
  }

  /** Stops one choice at the next step (a stop sequence matched); its done event still comes. */
  stopChoice(i: number): void {
    this.controllers[i].abort();
  }

  /** Stops every choice at the next step. */
  cancel(cause: CancelCause): void {
    if (this.done) return;
    this.cause ??= cause;
    for (const c of this.controllers) c.abort();
  }

  /** All choices finished (or the ticket failed). */
  get done(): boolean {
    return this.open === 0 || this.failure !== null;
  }

  push(e: ChoiceEvent): void {
    this.buffer.push(e);
    if (e.ev.type === 'done') this.open--;
    this.wake?.();
  }

  fail(err: unknown): void {
    this.failure = err ?? new Error('generation failed');
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChoiceEvent> {
    for (;;) {
      while (this.buffer.length > 0) yield this.buffer.shift()!;
      if (this.failure !== null) throw this.failure;
      if (this.open === 0) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

const zeroTimings = (): SessionTimings => ({ prefillMs: 0, decodeMs: 0, sampleMs: 0, renderMs: 0, steps: 0, rows: 0 });

export class Scheduler {
  private session: BatchSession;
  private looping = false;
  private readonly clock: () => number;
  /** Request id -> its ticket and choice, when it was admitted (clock time, decode steps done then). */
  private readonly routes = new Map<number, { ticket: Ticket; choice: number; admitted: number; admittedStep: number; first: boolean }>();
  private readonly tickets = new Set<Ticket>();
  private idleWaiters: (() => void)[] = [];
  private stepTokens = 0;
  /** The session's timings when last added to the metrics. */
  private seen: SessionTimings = zeroTimings();
  /** Moving average of a ticket's lifetime in seconds (for Retry-After). */
  private avgSeconds = 1;

  constructor(
    readonly generator: ChameleonGenerator,
    readonly opts: SchedulerOptions,
    readonly metrics: ServerMetrics,
  ) {
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new ApiError(500, `maxQueue must be a non-negative integer, got ${opts.maxQueue}`, 'server_error');
    this.clock = opts.clock ?? (() => performance.now());
    this.session = this.newSession();
  }

  private newSession(): BatchSession {
    this.seen = zeroTimings();
    return this.generator.session({
      maxRequests: this.opts.maxBatch,
      previewBudget: this.opts.previewBudget,
      clock: this.clock,
      onToken: (request) => {
        this.stepTokens++;
        const r = this.routes.get(request);
        if (r && r.first) {
          r.first = false;
          this.metrics.ttft.observe((this.clock() - r.admitted) / 1000);
          // This step is not counted yet (metrics.step runs after it): it is step decodeSteps + 1.
          this.metrics.firstTokenSteps.observe(this.metrics.decodeSteps + 1 - r.admittedStep);
        }
      },
    });
  }

  /** Requests waiting for a slot / decoding / rows of the running batch. */
  get queueDepth(): number {
    return this.session.waitingCount;
  }
  get running(): number {
    return this.session.runningCount;
  }
  get rows(): number {
    return this.session.rowCount;
  }
  /** Tickets not finished yet. */
  get inFlight(): number {
    return this.tickets.size;
  }

  /** Seconds a client should wait before retrying a refused request. */
  retryAfter(): number {
    return Math.min(60, Math.max(1, Math.ceil(this.avgSeconds)));
  }

  /**
   * Admits the choices of one request (all or none: a full queue throws a 429 ApiError, a request
   * the generator refuses throws its ChameleonError). `make(i, signal)` builds choice i's request.
   * `signal` (the client's) cancels the ticket when it aborts.
   */
  submit(choices: number, make: (i: number, signal: AbortSignal) => GenerateRequest, signal?: AbortSignal): Ticket {
    const s = this.session;
    if (s.runningCount + s.waitingCount + choices > this.opts.maxBatch + this.opts.maxQueue) {
      this.metrics.queueRejections++;
      const wait = this.retryAfter();
      throw new ApiError(429, `the server is busy (${s.runningCount} running, ${s.waitingCount} waiting; at most ${this.opts.maxBatch} + ${this.opts.maxQueue}); retry in ${wait} s`, 'rate_limit_error', null, 'queue_full', { 'retry-after': String(wait) });
    }
    const now = this.clock();
    const ticket = new Ticket(choices, now);
    const ids: number[] = [];
    try {
      for (let i = 0; i < choices; i++) {
        const id = s.admit(make(i, ticket.signal(i)));
        ids.push(id);
        this.routes.set(id, { ticket, choice: i, admitted: now, admittedStep: this.metrics.decodeSteps, first: true });
      }
    } catch (err) {
      // Choices already admitted leave at the next step; their events go nowhere.
      ticket.cancel('client');
      for (const id of ids) this.routes.delete(id);
      this.kick();
      throw err;
    }
    this.tickets.add(ticket);
    if (signal) {
      if (signal.aborted) ticket.cancel('client');
      else signal.addEventListener('abort', () => ticket.cancel('client'), { once: true });
    }
    this.kick();
    return ticket;
  }

  /** Cancels every ticket (shutdown past its grace time). */
  cancelAll(cause: CancelCause): void {
    for (const t of this.tickets) t.cancel(cause);
  }

  /** Resolves when no ticket is in flight. */
  whenIdle(): Promise<void> {
    if (this.tickets.size === 0) return Promise.resolve();
    return new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Frees the session (call after whenIdle or cancelAll + whenIdle). */
  dispose(): void {
    this.session.dispose();
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      await tick(); // requests arriving together start in the same step
      while (!this.session.idle) {
        if (this.opts.pace) await this.opts.pace();
        this.stepTokens = 0;
        let events: GenEvent[];
        try {
          events = await this.session.step();
        } catch (err) {
          this.crash(err);
          continue;
        }
        if (this.stepTokens > 0) this.metrics.step(this.stepTokens, this.clock());
        this.addTimings();
        for (const ev of events) this.route(ev);
        await tick();
      }
    } finally {
      this.looping = false;
    }
  }

  /** Adds the session's busy time since the last call to the metrics. */
  private addTimings(): void {
    const t = this.session.timings;
    const b = this.metrics.busyMs;
    b.prefill += t.prefillMs - this.seen.prefillMs;
    b.decode += t.decodeMs - this.seen.decodeMs;
    b.sample += t.sampleMs - this.seen.sampleMs;
    b.render += t.renderMs - this.seen.renderMs;
    this.metrics.decodeRows += t.rows - this.seen.rows;
    this.seen = { ...t };
  }

  private route(ev: GenEvent): void {
    const r = this.routes.get(ev.request);
    if (!r) return;
    r.ticket.push({ choice: r.choice, ev });
    if (ev.type !== 'done') return;
    this.routes.delete(ev.request);
    this.metrics.finish(ev.reason);
    if (r.ticket.done) this.close(r.ticket);
  }

  private close(t: Ticket): void {
    if (!this.tickets.delete(t)) return;
    const sec = (this.clock() - t.startedAt) / 1000;
    this.avgSeconds = 0.8 * this.avgSeconds + 0.2 * sec;
    if (this.tickets.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** A step threw (a bug or a kernel failure): every ticket fails, and a fresh session takes over. */
  private crash(err: unknown): void {
    for (const t of this.tickets) t.fail(err);
    for (const t of [...this.tickets]) this.close(t);
    this.routes.clear();
    this.session.dispose();
    this.session = this.newSession();
  }
}
