// The serve benchmark's two ends: ServerProcess runs `chameleon serve` as a child process (so its
// RSS, read from /proc/<pid>/status, is the server's alone; a --expose-gc hook lets the bench force
// a GC before reading it, and reports the V8 heap left), and the streaming clients: one request of each kind (text chat, chat
// about an input image, an image drawn over /api/generate) timed to its first output and counted
// in tokens. The parsers (SSE, Prometheus samples, VmRSS, the server's banner) are pure.
// Leaves out: retries, auth (the child serves on 127.0.0.1 without a key), non-Linux RSS (null).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SimdVariant } from '../src/engine/backends/wasm/index.js';

/** One server-sent event: its `event:` name ('' when absent) and its `data:` lines joined by \n. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Incremental text/event-stream parser: feed() decoded text in any chunking, get whole events. */
export class SseParser {
  private buf = '';

  feed(text: string): SseEvent[] {
    this.buf += text.replace(/\r\n?/g, '\n');
    const out: SseEvent[] = [];
    for (let end = this.buf.indexOf('\n\n'); end >= 0; end = this.buf.indexOf('\n\n')) {
      const block = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 2);
      let event = '';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) out.push({ event, data: data.join('\n') });
    }
    return out;
  }
}

/** The value of an unlabelled sample `name value` in Prometheus text, or null when absent. */
export function promSample(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + ' ')) continue;
    const v = Number(line.slice(name.length + 1).trim().split(/\s+/)[0]);
    return Number.isFinite(v) ? v : null;
  }
  return null;
}

/** The value of the sample `name{label="value"}` in Prometheus text (one label), or null when absent. */
export function promLabelled(text: string, name: string, label: string, value: string): number | null {
  const head = `${name}{${label}="${value}"} `;
  for (const line of text.split('\n')) {
    if (!line.startsWith(head)) continue;
    const v = Number(line.slice(head.length).trim().split(/\s+/)[0]);
    return Number.isFinite(v) ? v : null;
  }
  return null;
}

/** The server's compute time by part (chameleon_busy_seconds_total) and its decode counters, at one moment. */
export interface BusySnapshot {
  seconds: Record<BusyPart, number>;
  steps: number;
  rows: number;
}

export const BUSY_PARTS = ['prefill', 'decode', 'sample', 'render', 'encode'] as const;
export type BusyPart = (typeof BUSY_PARTS)[number];

/** Reads a BusySnapshot from /metrics text (absent samples read 0). */
export function busySnapshot(text: string): BusySnapshot {
  const seconds = Object.fromEntries(BUSY_PARTS.map((p) => [p, promLabelled(text, 'chameleon_busy_seconds_total', 'part', p) ?? 0])) as Record<BusyPart, number>;
  return { seconds, steps: promSample(text, 'chameleon_decode_steps_total') ?? 0, rows: promSample(text, 'chameleon_decode_rows_total') ?? 0 };
}

/** A /proc/<pid>/status field in kB (VmRSS, VmHWM) as MiB, or null when absent. */
export function statusMb(status: string, field: 'VmRSS' | 'VmHWM'): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return m ? Number(m[1]) / 1024 : null;
}

/** What `chameleon serve` prints when it is up: its URL, and the backend of its startup line. */
export interface Banner {
  url?: string;
  /** The backend description in parentheses, e.g. 'wasm relaxed-simd, 2 threads'. */
  description?: string;
  backend?: 'wasm' | 'js';
  /** The wasm SIMD build (null for the js backend). */
  simd?: SimdVariant | null;
  threads?: number;
}

/** Reads one stdout line of `chameleon serve` (the model line names the backend, the next the URL). */
export function parseBanner(line: string): Banner {
  const url = /^listening on (http:\/\/\S+?) /.exec(line);
  if (url) return { url: url[1] };
  const model = /^chameleon serve: model .*\([\d.]+M parameters, (.+)\)$/.exec(line);
  if (!model) return {};
  const description = model[1];
  const threads = /(\d+) threads?$/.exec(description);
  const wasm = description.startsWith('wasm ');
  return { description, backend: wasm ? 'wasm' : 'js', simd: wasm ? (description.includes('relaxed') ? 'relaxed' : 'plain') : null, threads: threads ? Number(threads[1]) : undefined };
}

export interface ServerStart {
  model: string;
  maxBatch: number;
  maxQueue: number;
  threads?: number;
}

/** Loaded before the CLI in the child: SIGUSR2 runs two full GCs and reports the V8 heap then in use. */
const GC_HOOK = "process.on('SIGUSR2', () => { globalThis.gc(); globalThis.gc(); process.stderr.write('serve-bench: gc done ' + process.memoryUsage().heapUsed + '\\n'); });";
const GC_DONE = /^serve-bench: gc done (\d+)$/;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** `chameleon serve` as a child process on a free port. */
export class ServerProcess {
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly banner: Banner & { url: string },
    /** Resolved (and emptied) when the child reports a finished GC. */
    private readonly gcWaiters: ((heapBytes: number) => void)[],
  ) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  static async start(o: ServerStart): Promise<ServerProcess> {
    const args = ['--expose-gc', '--import', `data:text/javascript,${encodeURIComponent(GC_HOOK)}`, CLI, 'serve', '--model', o.model, '--port', '0', '--grace', '2'];
    args.push('--max-batch', String(o.maxBatch), '--max-queue', String(o.maxQueue));
    if (o.threads !== undefined) args.push('--threads', String(o.threads));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const gcWaiters: ((heapBytes: number) => void)[] = [];
    const errLines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const gc = GC_DONE.exec(line);
      if (gc) {
        for (const w of gcWaiters.splice(0)) w(Number(gc[1]));
        return;
      }
      errLines.push(line);
      process.stderr.write(`server: ${line}\n`);
    });
    const banner = await new Promise<Banner>((resolve, reject) => {
      const seen: Banner = {};
      createInterface({ input: child.stdout! }).on('line', (line) => {
        Object.assign(seen, parseBanner(line));
        if (seen.url !== undefined) resolve(seen);
      });
      child.once('exit', (code) => reject(new Error(`chameleon serve exited (${code}) before listening${errLines.length ? `: ${errLines.join(' / ')}` : ''}`)));
    });
    return new ServerProcess(child, { ...banner, url: banner.url! }, gcWaiters);
  }

  get url(): string {
    return this.banner.url;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The server's resident set and its peak so far in MiB (null where /proc is not readable). */
  memory(): { rssMb: number | null; peakMb: number | null } {
    try {
      const st = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      return { rssMb: statusMb(st, 'VmRSS'), peakMb: statusMb(st, 'VmHWM') };
    } catch {
      return { rssMb: null, peakMb: null };
    }
  }

  /**
   * Forces two full GCs in the server, then waits `settleMs` for freed pages to go back. Returns the
   * V8 heap in use after the GC in MiB, or null when the server did not confirm it within 10 s.
   */
  async settle(settleMs = 500): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<number>((r) => this.gcWaiters.push((bytes) => r(bytes / 2 ** 20)));
    this.child.kill('SIGUSR2');
    const heapMb = await Promise.race([done, new Promise<null>((r) => (timer = setTimeout(() => r(null), 10_000)))]);
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, settleMs));
    return heapMb;
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`);
    return res.text();
  }

  /** SIGTERM, then the exit (SIGKILL after 15 s). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export type RequestKind = 'text' | 'vision' | 'draw';
export const KINDS: readonly RequestKind[] = ['text', 'vision', 'draw'];

/** What every request of a run shares. */
export interface LoadContext {
  url: string;
  /** max_tokens of text answers. */
  maxTokens: number;
  /** Codes per image (from /api/tokenize). */
  imageTokens: number;
  /** A PNG data URL the vision requests ask about. */
  imageUrl: string;
}

export interface RequestResult {
  kind: RequestKind;
  /** null when it succeeded, else one line saying why not. */
  error: string | null;
  /** From sending the request to the first generated output (null when none came). */
  ttftMs: number | null;
  /** Generated tokens the server reported (usage / the done event). */
  tokens: number;
  ms: number;
}

const PROMPTS = ['a red circle on the left', 'what colour is the circle?', 'draw a yellow star please', 'describe the blue square at the top'];

/** The route and body of one request of a kind (seed picks the prompt and the sampling seed). */
export function requestBody(kind: RequestKind, ctx: LoadContext, seed: number): { path: string; body: Record<string, unknown> } {
  const text = PROMPTS[seed % PROMPTS.length];
  if (kind === 'draw') return { path: '/api/generate', body: { prompt: text, options: { mode: 'image', maxNewTokens: ctx.imageTokens + 2, previewEvery: 0, seed } } };
  const content = kind === 'text' ? text : [{ type: 'text', text: 'what is in this picture?' }, { type: 'image_url', image_url: { url: ctx.imageUrl } }];
  return {
    path: '/v1/chat/completions',
    body: { messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true }, modalities: ['text'], max_tokens: ctx.maxTokens, temperature: 1, seed },
  };
}

/**
 * POSTs JSON and calls onEvent(event, ms since the start) for each SSE event; returns the HTTP
 * status and the body of a non-stream answer. An aborted `signal` ends the stream early (no error).
 */
export async function streamPost(url: string, body: unknown, onEvent: (ev: SseEvent, ms: number) => void, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return { status: res.status, text: await res.text() };
  const parser = new SseParser();
  const dec = new TextDecoder();
  const reader = res.body!.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      for (const ev of parser.feed(dec.decode(r.value, { stream: true }))) onEvent(ev, performance.now() - t0);
    }
  } catch (e) {
    if (!signal?.aborted) throw e;
  }
  return { status: res.status, text: '' };
}

/**
 * One request of a kind, streamed. TTFT is the first chunk after the role chunk (chat) or the first
 * event (native: image-start follows the forced BOI). An HTTP error, an error message in the
 * stream, or a stream without its end ([DONE] / done) is an error.
 */
export async function runRequest(kind: RequestKind, ctx: LoadContext, seed: number): Promise<RequestResult> {
  const { path, body } = requestBody(kind, ctx, seed);
  const t0 = performance.now();
  let ttftMs: number | null = null;
  let tokens = 0;
  let ended = false;
  let error: string | null = null;
  try {
    const r = await streamPost(ctx.url + path, body, (ev, ms) => {
      if (ev.data === '[DONE]') {
        ended = true;
        return;
      }
      const d = JSON.parse(ev.data) as Record<string, unknown>;
      if (ev.event === 'error' || d.error !== undefined) {
        error ??= `stream error: ${JSON.stringify(d.error ?? d).slice(0, 200)}`;
        return;
      }
      if (path === '/api/generate') {
        ttftMs ??= ms;
        if (d.type === 'done') {
          ended = true;
          tokens = Number(d.generatedTokens);
        }
        return;
      }
      const usage = d.usage as { completion_tokens?: number } | undefined;
      if (usage?.completion_tokens !== undefined) tokens = usage.completion_tokens;
      const choice = (d.choices as { delta?: { role?: string }; finish_reason?: string | null }[] | undefined)?.[0];
      if (choice && !(choice.delta?.role !== undefined && choice.finish_reason === null)) ttftMs ??= ms;
    });
    if (r.status !== 200) error = `HTTP ${r.status}: ${r.text.slice(0, 200)}`;
    else if (!ended && error === null) error = 'the stream ended without its last message';
  } catch (e) {
    error = `request failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  return { kind, error, ttftMs, tokens, ms: performance.now() - t0 };
}
