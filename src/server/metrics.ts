// The server's counters and their Prometheus text exposition (GET /metrics): requests by route and
// status, finishes by reason, generated tokens and decode steps, a sliding-window tokens/s, a
// time-to-first-token histogram and one of the decode steps a request waited for its first token
// (continuous batching: 1 when it joins the next step), compute time by part; gauges (queue depth, running requests, active rows) are read from
// the scheduler when the text is made. Plain data, no timers; the caller passes the clock's time.

/** Upper bounds (seconds) of the time-to-first-token histogram's buckets. */
const TTFT_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Upper bounds (decode steps) of the first-token-steps histogram: 1 = it joined the next step. */
const FIRST_TOKEN_STEP_BUCKETS: readonly number[] = [1, 2, 3, 4, 8, 16, 32, 64, 128, 256];

/** A cumulative Prometheus histogram. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]) this.counts[i]++;
  }

  /** The histogram's exposition lines (without HELP/TYPE). */
  lines(name: string): string[] {
    const out = this.bounds.map((b, i) => `${name}_bucket{le="${fmt(b)}"} ${this.counts[i]}`);
    out.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${fmt(this.sum)}`, `${name}_count ${this.count}`);
    return out;
  }
}

/** Gauges the scheduler reports when /metrics is read. */
export interface SchedulerGauges {
  queueDepth: number;
  runningRequests: number;
  activeRows: number;
  /** The compute backend's memory: bytes reserved now (weights, KV caches, scratch) and its size (a high-water mark: wasm memory never shrinks). */
  backendReservedBytes?: number;
  backendMemoryBytes?: number;
  /** Input-image encoding (request handlers, outside the decode loop): milliseconds in all. */
  encodeMs?: number;
}

/** Parts of the decode loop's busy time (BatchSession's SessionTimings). */
export type BusyPart = 'prefill' | 'decode' | 'sample' | 'render';

/** Prometheus numbers: integers as such, others with up to 6 significant digits. */
function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class ServerMetrics {
  readonly ttft = new Histogram(TTFT_BUCKETS);
  /** Decode steps from admission to a request's first sampled token, that step included. */
  readonly firstTokenSteps = new Histogram(FIRST_TOKEN_STEP_BUCKETS);
  generatedTokens = 0;
  decodeSteps = 0;
  disconnects = 0;
  /** Decode-loop busy milliseconds by part, and the rows the decode steps computed. */
  readonly busyMs: Record<BusyPart, number> = { prefill: 0, decode: 0, sample: 0, render: 0 };
  decodeRows = 0;
  queueRejections = 0;
  private readonly requests = new Map<string, number>();
  private readonly finishes = new Map<string, number>();
  /** (time ms, tokens) of recent steps, oldest first. */
  private readonly window: [number, number][] = [];

  constructor(
    /** Length of the tokens/s window in milliseconds (default 10 s). */
    readonly windowMs = 10_000,
  ) {}

  /** Counts one answered request. */
  request(route: string, status: number): void {
    const k = `route="${escapeLabel(route)}",status="${status}"`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
  }

  /** Counts one finished generation request (a choice) by its stop reason. */
  finish(reason: string): void {
    this.finishes.set(reason, (this.finishes.get(reason) ?? 0) + 1);
  }

  /** Records a decode step that sampled `tokens` ids at time `now` (ms). */
  step(tokens: number, now: number): void {
    this.decodeSteps++;
    this.generatedTokens += tokens;
    this.window.push([now, tokens]);
    this.prune(now);
  }

  /** Tokens sampled in the last windowMs, divided by the window's length in seconds. */
  tokensPerSecond(now: number): number {
    this.prune(now);
    let n = 0;
    for (const [, k] of this.window) n += k;
    return n / (this.windowMs / 1000);
  }

  private prune(now: number): void {
    while (this.window.length > 0 && this.window[0][0] <= now - this.windowMs) this.window.shift();
  }

  /** The whole exposition text. */
  text(g: SchedulerGauges, now: number): string {
    const out: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter' | 'histogram', help: string, lines: string[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    };
    metric('chameleon_queue_depth', 'gauge', 'Generation requests waiting for a decode slot.', [`chameleon_queue_depth ${g.queueDepth}`]);
    metric('chameleon_running_requests', 'gauge', 'Generation requests in the running batch.', [`chameleon_running_requests ${g.runningRequests}`]);
    metric('chameleon_active_rows', 'gauge', 'Rows of the running batch (a request drawing an image with guidance owns 2-3).', [`chameleon_active_rows ${g.activeRows}`]);
    if (g.backendReservedBytes !== undefined) metric('chameleon_backend_reserved_bytes', 'gauge', 'Bytes of the compute backend memory in use (weights, KV caches, scratch).', [`chameleon_backend_reserved_bytes ${g.backendReservedBytes}`]);
    if (g.backendMemoryBytes !== undefined) metric('chameleon_backend_memory_bytes', 'gauge', 'Size of the compute backend memory (wasm memory only grows: its high-water mark).', [`chameleon_backend_memory_bytes ${g.backendMemoryBytes}`]);
    metric('chameleon_decode_steps_total', 'counter', 'Batched decode steps that sampled at least one token.', [`chameleon_decode_steps_total ${this.decodeSteps}`]);
    const busy = Object.entries(this.busyMs).map(([k, v]) => `chameleon_busy_seconds_total{part="${k}"} ${fmt(v / 1000)}`);
    if (g.encodeMs !== undefined) busy.push(`chameleon_busy_seconds_total{part="encode"} ${fmt(g.encodeMs / 1000)}`);
    metric('chameleon_busy_seconds_total', 'counter', 'Server compute time by part: prefill (joining rows), decode (batched forwards), sample (picking ids), render (images from codes), encode (input images to codes).', busy);
    metric('chameleon_decode_rows_total', 'counter', 'Rows computed by the decode steps (divided by the steps: the mean batch).', [`chameleon_decode_rows_total ${this.decodeRows}`]);
    metric('chameleon_generated_tokens_total', 'counter', 'Tokens sampled, all requests together.', [`chameleon_generated_tokens_total ${this.generatedTokens}`]);
    metric('chameleon_tokens_per_second', 'gauge', `Tokens sampled in the last ${this.windowMs / 1000} s divided by ${this.windowMs / 1000} s.`, [`chameleon_tokens_per_second ${fmt(this.tokensPerSecond(now))}`]);
    metric('chameleon_time_to_first_token_seconds', 'histogram', 'From admission to the first sampled token of a generation request.', this.ttft.lines('chameleon_time_to_first_token_seconds'));
    metric('chameleon_first_token_steps', 'histogram', 'Decode steps from admission to the first sampled token of a generation request, that step included (1: it joined the next step).', this.firstTokenSteps.lines('chameleon_first_token_steps'));
    metric('chameleon_requests_total', 'counter', 'HTTP requests answered, by route and status.', [...this.requests].map(([k, v]) => `chameleon_requests_total{${k}} ${v}`));
    metric('chameleon_generation_finished_total', 'counter', 'Generation requests finished, by reason.', [...this.finishes].map(([k, v]) => `chameleon_generation_finished_total{reason="${escapeLabel(k)}"} ${v}`));
    metric('chameleon_client_disconnects_total', 'counter', 'Requests whose client went away before the answer was complete.', [`chameleon_client_disconnects_total ${this.disconnects}`]);
    metric('chameleon_queue_rejections_total', 'counter', 'Requests refused with 429 because the queue was full.', [`chameleon_queue_rejections_total ${this.queueRejections}`]);
    return out.join('\n') + '\n';
  }
}
