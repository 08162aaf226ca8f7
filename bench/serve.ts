// `npm run bench -- serve [--json] [--model DIR] [--clients 16] [--seconds 60] [--threads N] [--kinds text,vision,draw]
// [--max-tokens 32] [--max-batch B]`: the HTTP server under load. `chameleon serve` runs as a child
// process (its RSS is the server's own). (1) One streaming client alone, the request kinds in turn
// (text chat, chat about an image, an image drawn; 2 rounds, more until S/4 s, at most 10 s): TTFT
// and tokens/s. (2) N streaming clients looping the same mix for S seconds: errors, TTFT p50/p95,
// aggregate tokens/s and its ratio to one client, RSS before (after S/10 s, at most 5 s, of the
// same load) and after, each after a forced GC. (3) Continuous batching: a text request sent while
// another is mid-image, and the decode steps from its admission to its first token.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { DEMO_MODEL_DIR } from '../src/cli/common.js';
import { hostFields, hostLine, readCpuInfo, type HostFields } from './host.js';
import { BUSY_PARTS, busySnapshot, KINDS, promSample, runRequest, type BusySnapshot, ServerProcess, streamPost, type LoadContext, type RequestKind, type RequestResult } from './serve-client.js';
import { percentile } from './stats.js';

export interface ServeArgs {
  /** Model directory (default models/demo). */
  model?: string;
  clients: number;
  seconds: number;
  threads?: number;
  /** max_tokens of the text requests. */
  maxTokens: number;
  /** The server's --max-batch (default: clients, so every client decodes in the batch). */
  maxBatch?: number;
  /** Request kinds the clients cycle through (default all three). */
  kinds: RequestKind[];
}

const FLAGS: Record<string, { key: keyof ServeArgs; int: boolean; min: number; max: number } | { key: 'model' } | { key: 'kinds' }> = {
  '--model': { key: 'model' },
  '--kinds': { key: 'kinds' },
  '--clients': { key: 'clients', int: true, min: 1, max: 256 },
  '--seconds': { key: 'seconds', int: false, min: 0.1, max: 86_400 },
  '--threads': { key: 'threads', int: true, min: 1, max: 1024 },
  '--max-tokens': { key: 'maxTokens', int: true, min: 1, max: 4096 },
  '--max-batch': { key: 'maxBatch', int: true, min: 1, max: 256 },
};

/** Parses the bench's flags (`--json` is the runner's); returns the arguments or one line saying what is wrong. */
export function parseServeArgs(argv: readonly string[]): ServeArgs | string {
  const out: ServeArgs = { clients: 16, seconds: 60, maxTokens: 32, kinds: [...KINDS] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') continue;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const spec = FLAGS[name];
    if (spec === undefined) return `unknown argument '${a}' (flags: ${Object.keys(FLAGS).join(', ')}, --json)`;
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') return `${name} needs a value`;
    if (spec.key === 'kinds') {
      const list = value.split(',').map((k) => k.trim());
      const bad = list.find((k) => !(KINDS as readonly string[]).includes(k));
      if (bad !== undefined || list.length === 0) return `--kinds must be a comma list of ${KINDS.join(', ')}, got '${value}'`;
      out.kinds = [...new Set(list)] as RequestKind[];
      continue;
    }
    if (!('int' in spec)) {
      out.model = value;
      continue;
    }
    const n = Number(value);
    if (!Number.isFinite(n) || (spec.int && !Number.isInteger(n)) || n < spec.min || n > spec.max) {
      return `${name} must be ${spec.int ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}], got '${value}'`;
    }
    (out as unknown as Record<string, number>)[spec.key] = n;
  }
  return out;
}

/** A generation phase's figures. */
interface Phase {
  results: RequestResult[];
  tokensPerSec: number;
  seconds: number;
  /** The server's busy counters at the phase's start and at the end of its window. */
  busy: [BusySnapshot, BusySnapshot];
}

/** Tokens generated so far and the busy counters, from one /metrics read. */
async function counters(s: ServerProcess): Promise<{ tokens: number; busy: BusySnapshot }> {
  const t = await s.metrics();
  return { tokens: promSample(t, 'chameleon_generated_tokens_total') ?? NaN, busy: busySnapshot(t) };
}

/**
 * One client, the kinds in turn: `cycles` rounds, more while under `minSeconds`; tokens counted by
 * the server over the phase.
 */
async function single(server: ServerProcess, ctx: LoadContext, kinds: readonly RequestKind[], cycles: number, minSeconds: number, seed: { next: number }): Promise<Phase> {
  const m0 = await counters(server);
  const t0 = performance.now();
  const results: RequestResult[] = [];
  for (let c = 0; c < cycles || performance.now() - t0 < minSeconds * 1000; c++) for (const k of kinds) results.push(await runRequest(k, ctx, seed.next++));
  const seconds = (performance.now() - t0) / 1000;
  const m1 = await counters(server);
  return { results, tokensPerSec: (m1.tokens - m0.tokens) / seconds, seconds, busy: [m0.busy, m1.busy] };
}

/**
 * `clients` clients, each looping requests (client i starts at kind i mod 3) until `seconds` have
 * passed; requests under way then finish but the tokens/s window (server counter) ends there.
 */
async function concurrent(server: ServerProcess, ctx: LoadContext, kinds: readonly RequestKind[], clients: number, seconds: number, seed: { next: number }): Promise<Phase> {
  const m0 = await counters(server);
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const results: RequestResult[] = [];
  const all = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let k = c; performance.now() < deadline; k++) results.push(await runRequest(kinds[k % kinds.length], ctx, seed.next++));
    }),
  );
  await new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())));
  const m1 = await counters(server);
  const window = (performance.now() - t0) / 1000;
  await all;
  return { results, tokensPerSec: (m1.tokens - m0.tokens) / window, seconds: window, busy: [m0.busy, m1.busy] };
}

interface Join {
  /** Decode steps from the second request's admission to its first token, that step included. */
  joinSteps: number | null;
  /** Whether the first request was inside an image when the second one's first event arrived. */
  stillDrawing: boolean;
  /** The first request's image number (from 1) and codes received then. */
  atImage: number;
  atCodes: number;
  images: number;
  error: string | null;
}

const firstTokenSteps = async (s: ServerProcess): Promise<{ sum: number; count: number }> => {
  const t = await s.metrics();
  return { sum: promSample(t, 'chameleon_first_token_steps_sum') ?? NaN, count: promSample(t, 'chameleon_first_token_steps_count') ?? NaN };
};

/**
 * Draws images (as many as fit, up to 4, with previews every code) and, once the first image has a
 * quarter of its codes, sends a short text request; its first-token steps come from the server's
 * chameleon_first_token_steps histogram (nothing else is admitted meanwhile). The drawing is
 * cancelled once the text request is done.
 */
async function joinCheck(server: ServerProcess, ctx: LoadContext, context: number): Promise<Join> {
  const prompt = 'draw a red circle above a blue square';
  const tok = (await (await fetch(`${ctx.url}/api/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt }) })).json()) as { tokens: number };
  const n = ctx.imageTokens;
  const images = Math.max(1, Math.min(4, Math.floor((context - tok.tokens - 2) / (n + 2))));
  const k = Math.max(1, Math.floor(n / 4));
  const first = { started: 0, finished: 0, codes: 0, done: false };
  const out: Join = { joinSteps: null, stillDrawing: false, atImage: 0, atCodes: 0, images, error: null };
  let second: Promise<void> | null = null;
  const stopFirst = new AbortController(); // once the second request is done, the drawing is not needed
  const launch = async (): Promise<void> => {
    const before = await firstTokenSteps(server);
    let seen = false;
    const r = await streamPost(`${ctx.url}/api/generate`, { prompt: 'hello', options: { mode: 'text', maxNewTokens: 4, seed: 7 } }, () => {
      if (seen) return;
      seen = true;
      out.stillDrawing = !first.done && first.started > first.finished;
      out.atImage = first.started;
      out.atCodes = first.codes;
    });
    if (r.status !== 200) out.error = `second request: HTTP ${r.status}`;
    const after = await firstTokenSteps(server);
    if (after.count - before.count === 1) out.joinSteps = after.sum - before.sum;
    else out.error ??= `expected one new first token between the metric reads, got ${after.count - before.count}`;
    stopFirst.abort();
  };
  const body = { prompt, options: { mode: 'image', maxImages: images, maxNewTokens: images * (n + 2), previewEvery: 1, seed: 11 } };
  const r = await streamPost(`${ctx.url}/api/generate`, body, (ev) => {
    const d = JSON.parse(ev.data) as { type?: string; tokens?: number };
    if (d.type === 'image-start') {
      first.started++;
      first.codes = 0;
    } else if (d.type === 'image-progress') first.codes = d.tokens ?? 0;
    else if (d.type === 'image') first.finished++;
    else if (d.type === 'done') first.done = true;
    if (second === null && d.type === 'image-progress' && first.codes >= k) second = launch();
  }, stopFirst.signal);
  if (r.status !== 200) out.error = `first request: HTTP ${r.status}`;
  if (second === null) out.error ??= `the first request never reached ${k} codes of an image`;
  else await second;
  return out;
}

/** A small PNG (a colour gradient) as a data URL, for the vision requests. */
async function pictureUrl(): Promise<string> {
  const w = 64;
  const px = Buffer.alloc(w * w * 3);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) px.set([x * 4, y * 4, 128], (y * w + x) * 3);
  const png = await sharp(px, { raw: { width: w, height: w, channels: 3 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** (rows per step × one client's ms per step) / the batch's ms per step. */
function decodeGain(one: Phase, many: Phase): number | null {
  const a = decodeStep(one);
  const b = decodeStep(many);
  return a.ms === null || b.ms === null || b.rows === null || b.ms === 0 ? null : (b.rows * a.ms) / b.ms;
}

const round = (x: number | null, d = 1): number | null => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

/** Decode milliseconds per step and rows per step over a phase (null without steps). */
function decodeStep(p: Phase): { ms: number | null; rows: number | null } {
  const [a, b] = p.busy;
  const steps = b.steps - a.steps;
  return steps > 0 ? { ms: ((b.seconds.decode - a.seconds.decode) * 1000) / steps, rows: (b.rows - a.rows) / steps } : { ms: null, rows: null };
}

/**
 * Where the server's one main thread spent the phase: each part's share of the wall time, the rest
 * idle (waiting for clients, HTTP and SSE work, the event loop), and the decode step's cost.
 */
function busyFields(p: Phase): Record<string, number | null> {
  const [a, b] = p.busy;
  const out: Record<string, number | null> = {};
  let used = 0;
  for (const part of BUSY_PARTS) {
    const share = (b.seconds[part] - a.seconds[part]) / p.seconds;
    used += share;
    out[`busy_${part}`] = round(share, 3);
  }
  out.busy_other = round(1 - used, 3);
  const d = decodeStep(p);
  out.decode_ms_per_step = round(d.ms, 3);
  out.rows_per_step = round(d.rows, 2);
  return out;
}

function phaseRow(p: Phase, clients: number): Record<string, unknown> {
  const ttft = p.results.map((r) => r.ttftMs).filter((x): x is number => x !== null);
  return {
    clients,
    requests: p.results.length,
    errors: p.results.filter((r) => r.error !== null).length,
    ttft_p50_ms: round(percentile(ttft, 50)),
    ttft_p95_ms: round(percentile(ttft, 95)),
    tokens_per_s: round(p.tokensPerSec, 2),
    seconds: round(p.seconds, 2),
    ...busyFields(p),
  };
}

function reportErrors(label: string, rs: RequestResult[]): void {
  const errs = [...new Set(rs.filter((r) => r.error !== null).map((r) => `${r.kind}: ${r.error}`))];
  for (const e of errs.slice(0, 3)) process.stderr.write(`serve bench: ${label}: ${e}\n`);
  if (errs.length > 3) process.stderr.write(`serve bench: ${label}: ... ${errs.length - 3} more kinds of error\n`);
}

export async function run(json: boolean, argv: readonly string[] = []): Promise<number> {
  const args = parseServeArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`serve bench: ${args}\n`);
    return 2;
  }
  const model = resolve(args.model ?? DEMO_MODEL_DIR);
  if (!existsSync(model)) {
    process.stderr.write(`serve bench: no model at ${model} (${args.model === undefined ? 'the demo model is not built yet; ' : ''}pass --model DIR, e.g. one from ./chameleon init-tiny DIR)\n`);
    return 2;
  }
  const maxBatch = args.maxBatch ?? args.clients;
  process.stderr.write(`serve bench: starting chameleon serve --model ${model} --max-batch ${maxBatch}...\n`);
  const server = await ServerProcess.start({ model, maxBatch, maxQueue: Math.max(32, args.clients), threads: args.threads });
  const rows: Record<string, unknown>[] = [];
  let host: HostFields;
  try {
    const b = server.banner;
    host = hostFields(readCpuInfo(), b.backend ?? 'wasm', b.simd ?? null);
    const info = (await (await fetch(`${server.url}/api/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x' }) })).json()) as { image_tokens: number; context: number };
    const ctx: LoadContext = { url: server.url, maxTokens: args.maxTokens, imageTokens: info.image_tokens, imageUrl: await pictureUrl() };
    const seed = { next: 1 };
    const rssStart = server.memory().rssMb;
    process.stderr.write('serve bench: warm-up (one request of each kind)...\n');
    await single(server, ctx, args.kinds, 1, 0, seed);
    process.stderr.write('serve bench: one client alone...\n');
    const one = await single(server, ctx, args.kinds, 2, Math.min(10, args.seconds / 4), seed);
    reportErrors('one client', one.results);
    const backendMb = async (): Promise<{ reserved: number | null; size: number | null }> => {
      const t = await server.metrics();
      const mb = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v / 1024 / 1024);
      return { reserved: mb(promSample(t, 'chameleon_backend_reserved_bytes')), size: mb(promSample(t, 'chameleon_backend_memory_bytes')) };
    };
    // Warm-up rounds of the same load until the backend memory in use stops growing (the decode
    // session's KV cache at its largest batch layout, kept for reuse), at most 8: RSS "before" is
    // then read at that high-water mark, so before/after compares like with like.
    const warm = Math.min(5, args.seconds / 10);
    let warmRounds = 0;
    let last: number | null = null;
    while (warmRounds < 8) {
      process.stderr.write(`serve bench: ${args.clients} clients, ${warm} s warm-up (round ${++warmRounds})...\n`);
      await concurrent(server, ctx, args.kinds, args.clients, warm, seed);
      const now = (await backendMb()).reserved;
      if (now === null || now === last) break;
      last = now;
    }
    const heapBefore = await server.settle();
    const before = server.memory().rssMb;
    const wasmBefore = await backendMb();
    process.stderr.write(`serve bench: ${args.clients} clients for ${args.seconds} s...\n`);
    const many = await concurrent(server, ctx, args.kinds, args.clients, args.seconds, seed);
    reportErrors(`${args.clients} clients`, many.results);
    const heapAfter = await server.settle();
    if (heapBefore === null || heapAfter === null) process.stderr.write('serve bench: the server did not confirm a forced GC; RSS is read without one\n');
    const mem = server.memory();
    const wasmAfter = await backendMb();
    process.stderr.write('serve bench: continuous-batching check...\n');
    const join = await joinCheck(server, ctx, info.context);
    if (join.error) process.stderr.write(`serve bench: join check: ${join.error}\n`);
    const common = { kind: 'serve', model, max_batch: maxBatch, threads: b.threads ?? null, image_tokens: info.image_tokens, max_tokens: args.maxTokens, kinds: args.kinds.join(',') };
    rows.push({ ...common, phase: 'single', ...phaseRow(one, 1), vs_single: 1, rss_before_mb: round(rssStart), rss_after_mb: null, rss_peak_mb: null });
    rows.push({
      ...common,
      phase: 'concurrent',
      ...phaseRow(many, args.clients),
      vs_single: round(many.tokensPerSec / one.tokensPerSec, 2),
      // Tokens per second of decode forward, batched vs alone: what batching gains in the step itself.
      decode_gain_x: round(decodeGain(one, many), 2),
      rss_before_mb: round(before),
      rss_after_mb: round(mem.rssMb),
      rss_peak_mb: round(mem.peakMb),
      heap_before_mb: round(heapBefore),
      heap_after_mb: round(heapAfter),
      warmup_rounds: warmRounds,
      // The compute backend's memory (wasm: weights, KV caches, scratch) and its size, a high-water mark.
      backend_reserved_before_mb: round(wasmBefore.reserved),
      backend_reserved_after_mb: round(wasmAfter.reserved),
      backend_memory_before_mb: round(wasmBefore.size),
      backend_memory_after_mb: round(wasmAfter.size),
    });
    rows.push({ ...common, phase: 'join', clients: 2, join_steps: join.joinSteps, first_still_drawing: join.stillDrawing, first_image_at_join: join.atImage, first_codes_at_join: join.atCodes, first_images: join.images, error: join.error });
  } finally {
    await server.stop();
  }
  if (json) {
    for (const r of rows) console.log(JSON.stringify({ ...r, ...host }));
    return 0;
  }
  const b = server.banner;
  console.log(hostLine(host));
  console.log(`serve: ${model} (${b.description ?? 'backend unknown'}), --max-batch ${maxBatch}, text max_tokens ${args.maxTokens}, ${rows[0].image_tokens} codes per image`);
  console.log('phase        clients  requests  errors  TTFT p50 ms  TTFT p95 ms   tokens/s  × one client  RSS before MB  RSS after MB  peak MB  V8 heap before/after MB');
  const cell = (v: unknown, w: number): string => String(v ?? '-').padStart(w);
  for (const r of rows.slice(0, 2)) {
    console.log(
      `${String(r.phase).padEnd(12)} ${cell(r.clients, 7)} ${cell(r.requests, 9)} ${cell(r.errors, 7)} ${cell(r.ttft_p50_ms, 12)} ${cell(r.ttft_p95_ms, 12)} ${cell(r.tokens_per_s, 10)} ${cell(r.phase === 'single' ? '1' : `${r.vs_single}x`, 13)} ${cell(r.rss_before_mb, 14)} ${cell(r.rss_after_mb, 13)} ${cell(r.rss_peak_mb, 8)} ${cell(r.phase === 'single' ? null : `${r.heap_before_mb ?? '-'} / ${r.heap_after_mb ?? '-'}`, 24)}`,
    );
  }
  console.log('phase        decode ms/step  rows/step  busy: prefill  decode  sample  render  encode  other (HTTP, SSE, idle)');
  for (const r of rows.slice(0, 2)) {
    const pc = (k: string): string => (r[k] === null || r[k] === undefined ? '-' : `${(Number(r[k]) * 100).toFixed(0)}%`);
    console.log(`${String(r.phase).padEnd(12)} ${cell(r.decode_ms_per_step, 14)} ${cell(r.rows_per_step, 10)} ${pc('busy_prefill').padStart(14)} ${pc('busy_decode').padStart(7)} ${pc('busy_sample').padStart(7)} ${pc('busy_render').padStart(7)} ${pc('busy_encode').padStart(7)} ${pc('busy_other').padStart(7)}`);
  }
  console.log(`decode step, batched vs alone: ${rows[1].decode_gain_x ?? '-'}x the tokens per second of decode forward (a step of ${rows[1].rows_per_step ?? "-"} rows that cost what one row costs would give ${rows[1].rows_per_step ?? "-"}x)`);
  const j = rows[2];
  const where = `image ${j.first_image_at_join} of ${j.first_images}, ${j.first_codes_at_join}/${rows[0].image_tokens} codes`;
  console.log(
    j.join_steps === null
      ? `join: not measured (${j.error})`
      : `join: a text request sent mid-image got its first token ${j.join_steps} decode step${j.join_steps === 1 ? '' : 's'} after admission, its prefill's step included (target ≤ 2); the drawing request was ${j.first_still_drawing ? `still drawing (${where})` : `not drawing any more (${where})`}`,
  );
  return 0;
}
