// A step-wise decoding batch for continuous batching (the shape of vLLM's scheduler): admit() puts a
// request in a FIFO waiting queue; step() first moves waiting requests into free slots (at most
// maxRequests run at once) and prefills them into rows of their own, then decodes one token for every
// running request in one forward over a shared, right-aligned KV cache. Finished requests leave and
// free their slot. Rows join and leave by re-laying out the cache (rows copied, never recomputed), and
// each request samples with its own RNG, so its ids never depend on what else runs. Partial-image
// previews share a time budget. Leaves out: chunked prefill, preemption, paged KV.

import { ChameleonError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { ChameleonModel } from '../model/chameleon.js';
import { KVCache, type KVDType } from '../model/kv-cache.js';
import { ModalityMachine, type StopReason } from './modality.js';
import type { GenerateOptions } from './options.js';
import { applyRepetitionPenalty, cfg2, cfg3, sample } from './sampling.js';
import type { GenVocab } from './vocab.js';
import type { GenEvent, ImageRenderer, TextCodec } from './events.js';

export interface GenerateRequest {
  /** Prompt ids, starting with BOS. */
  prompt: readonly number[];
  options: GenerateOptions;
  /** For 2-way CFG: the negative prompt's ids (without BOS); empty = unconditional. */
  negativePrompt?: readonly number[];
  signal?: AbortSignal;
}

export interface GeneratorParts {
  model: ChameleonModel;
  vocab: GenVocab;
  text?: TextCodec;
  image?: ImageRenderer;
  /** Tokens per image for this model's image tokenizer (grid side²). */
  imageTokens: number;
  /** Storage of the KV cache (default f32); bf16 halves its memory, as a bf16 model's cache is kept. */
  kvDtype?: KVDType;
  /** Default previewBudget of the generator's sessions (see SessionOptions). */
  previewBudget?: number;
}

export interface SessionOptions {
  /** Requests decoding at once (vLLM's max_num_seqs); later ones wait in admission order. Default 8. */
  maxRequests?: number;
  /**
   * Largest share of the session's busy time that partial-image previews may take, in [0, 1]
   * (default 0.1; 1 renders every due preview, 0 none). A due preview over the budget goes out as an
   * image-progress event without a PNG. Final images are always rendered.
   */
  previewBudget?: number;
  /** Milliseconds clock for timings and the preview budget (default performance.now). */
  clock?: () => number;
  /** Called after every sampled token (benchmarks time steps with it). */
  onToken?: (request: number, id: number) => void;
}

type RowRole = 'main' | 'imageOnly' | 'uncond' | 'negative';
interface Row {
  st: ReqState;
  role: RowRole;
}

interface ReqState {
  id: number;
  req: GenerateRequest;
  seq: number[];
  machine: ModalityMachine;
  rng: Rng;
  textIds: number[];
  textEmitted: string;
  codes: number[];
  done: boolean;
  generated: number;
  prefillMs: number;
  decodeMs: number;
  /** Clock time of this request's last rendered preview (fair share of the preview budget). */
  lastPreview: number;
}

type ProgressEvent = Extract<GenEvent, { type: 'image-progress' }>;

/** Where a session's busy time went, in milliseconds since it was created (all requests together). */
export interface SessionTimings {
  /** Joining rows: their prefill, and the cache re-layouts. */
  prefillMs: number;
  /** The batched decode forwards. */
  decodeMs: number;
  /** Picking ids from the logits (guidance, masks, penalties, sampling) and text decoding. */
  sampleMs: number;
  /** Drawing images from codes: final images and partial previews. */
  renderMs: number;
  /** Decode steps and the rows they computed (rows / steps is the mean batch). */
  steps: number;
  rows: number;
}

export class BatchSession {
  readonly maxRequests: number;
  readonly previewBudget: number;
  private readonly clock: () => number;
  private readonly waiting: ReqState[] = [];
  private running: ReqState[] = [];
  private rows: Row[] = [];
  private keyStart = new Int32Array(0);
  private cache: KVCache | null = null;
  /** Events of requests that finished without running (nothing to generate, aborted while waiting). */
  private readonly early: GenEvent[] = [];
  private nextId = 0;
  private busyMs = 0;
  /** Cumulative busy time by part (see SessionTimings). */
  readonly timings: SessionTimings = { prefillMs: 0, decodeMs: 0, sampleMs: 0, renderMs: 0, steps: 0, rows: 0 };
  /** Caches built for the batch so far (joins and leaves reuse the cache; see relayout). */
  private cacheBuilds = 0;
  private previewMs = 0;
  private closed = false;
  /** The image ids as one range [lo, hi) when they are contiguous (as in Chameleon's vocabulary). */
  private readonly imageRange: readonly [number, number] | null;

  constructor(
    readonly parts: GeneratorParts,
    private readonly opts: SessionOptions = {},
  ) {
    const max = opts.maxRequests ?? 8;
    if (!Number.isInteger(max) || max < 1) throw new ChameleonError(`BatchSession: maxRequests must be a positive integer, got ${max}`);
    const budget = opts.previewBudget ?? parts.previewBudget ?? 0.1;
    if (!(budget >= 0 && budget <= 1)) throw new ChameleonError(`BatchSession: previewBudget must be in [0, 1], got ${budget}`);
    this.maxRequests = max;
    this.previewBudget = budget;
    this.clock = opts.clock ?? (() => performance.now());
    const ids = parts.vocab.imageIds;
    this.imageRange = ids.length > 0 && ids.every((id, i) => id === ids[0] + i) ? [ids[0], ids[0] + ids.length] : null;
  }

  /** Requests decoding now / waiting for a slot. */
  get runningCount(): number {
    return this.running.length;
  }
  get waitingCount(): number {
    return this.waiting.length;
  }
  /** Rows of the current batch (a request drawing an image with CFG owns 2-3). */
  get rowCount(): number {
    return this.rows.length;
  }
  /** The batch cache now: rows in use, rows and positions it holds, and how many were built. */
  get cacheInfo(): { rows: number; capacity: number; positions: number; builds: number } {
    const c = this.cache;
    return { rows: this.rows.length, capacity: c?.capacity ?? 0, positions: c?.maxLen ?? 0, builds: this.cacheBuilds };
  }

  /** Nothing running, waiting or left to report. */
  get idle(): boolean {
    return this.running.length === 0 && this.waiting.length === 0 && this.early.length === 0;
  }

  /**
   * Validates a request and queues it; returns its id (the `request` of its events: ids count admit()
   * calls from 0, failed ones included). It starts at the next step() that finds a free slot.
   */
  admit(r: GenerateRequest): number {
    if (this.closed) throw new ChameleonError('BatchSession used after dispose()');
    const id = this.nextId++;
    const s = this.initState(r, id);
    if (s.machine.state === 'done') {
      // A request that cannot generate anything (e.g. maxImages 0 in image mode) finishes at once.
      s.done = true;
      this.early.push(this.doneEvent(s, s.machine.stopReason ?? 'length'));
    } else {
      this.waiting.push(s);
    }
    return id;
  }

  /**
   * Admits waiting requests into free slots (their prefill runs now: the running rows wait for it),
   * then decodes one token for every running request. Returns this step's events.
   */
  async step(): Promise<GenEvent[]> {
    if (this.closed) throw new ChameleonError('BatchSession used after dispose()');
    const t0 = this.clock();
    const events = this.early.splice(0);
    for (const s of this.waiting.filter((w) => w.req.signal?.aborted)) {
      this.waiting.splice(this.waiting.indexOf(s), 1);
      s.machine.finish('abort');
      s.done = true;
      events.push(this.doneEvent(s, 'abort'));
    }
    const joining: ReqState[] = [];
    while (this.waiting.length > 0 && this.running.length + joining.length < this.maxRequests) joining.push(this.waiting.shift()!);
    this.running.push(...joining);
    const next = this.layout();
    if (joining.length > 0 || !sameRows(next, this.rows)) {
      const tp = this.clock();
      this.relayout(next);
      const dt = this.clock() - tp;
      this.timings.prefillMs += dt;
      for (const s of joining) s.prefillMs = dt;
    }
    if (this.rows.length === 0) {
      this.busyMs += this.clock() - t0;
      return events;
    }
    // Decode time is the forward alone (re-layouts and prefill count as prefillMs), as before sessions.
    const tf = this.clock();
    const logits = this.forwardStep();
    const stepMs = this.clock() - tf;
    this.timings.decodeMs += stepMs;
    this.timings.steps++;
    this.timings.rows += this.rows.length;
    let renderMs = 0;
    const V = this.parts.model.config.vocabSize;
    const rowOf = (st: ReqState, role: RowRole): Float32Array | null => {
      const i = this.rows.findIndex((r) => r.st === st && r.role === role);
      return i < 0 ? null : logits.subarray(i * V, (i + 1) * V);
    };
    const due: { s: ReqState; ev: ProgressEvent; codes: Int32Array }[] = [];
    for (const s of this.running) {
      s.decodeMs += stepMs;
      if (s.req.signal?.aborted) {
        s.machine.finish('abort');
        s.done = true;
        events.push(this.doneEvent(s, 'abort'));
        continue;
      }
      const tok = this.choose(s, rowOf);
      s.seq.push(tok);
      s.generated++;
      this.opts.onToken?.(s.id, tok);
      for (const st of s.machine.advance(tok)) {
        switch (st.kind) {
          case 'text': {
            s.textIds.push(st.token);
            const delta = this.textDelta(s);
            if (delta) events.push({ type: 'text', request: s.id, delta });
            break;
          }
          case 'image-start':
            s.textIds = [];
            s.textEmitted = '';
            s.codes = [];
            events.push({ type: 'image-start', request: s.id, index: st.index, tokens: this.parts.imageTokens });
            break;
          case 'image-token': {
            s.codes.push(st.code);
            const every = s.req.options.previewEvery;
            const total = this.parts.imageTokens;
            if (every > 0 && s.codes.length % every === 0 && s.codes.length < total) {
              const ev: ProgressEvent = { type: 'image-progress', request: s.id, index: st.index, tokens: s.codes.length, total };
              events.push(ev);
              if (this.parts.image) due.push({ s, ev, codes: previewCodes(s.codes, total) });
            }
            break;
          }
          case 'image-end': {
            const codes = Int32Array.from(s.codes);
            const tr = this.clock();
            const img = this.parts.image ? await this.parts.image.render(codes) : undefined;
            renderMs += this.clock() - tr;
            events.push({ type: 'image', request: s.id, index: st.index, codes, png: img?.png, width: img?.width, height: img?.height });
            break;
          }
          case 'stop':
            s.done = true;
            events.push(this.doneEvent(s, st.reason));
            break;
        }
      }
    }
    const tr = this.clock();
    this.timings.sampleMs += tr - tf - stepMs - renderMs;
    this.timings.renderMs += renderMs;
    await this.renderPreviews(due, t0);
    this.timings.renderMs += this.clock() - tr;
    this.running = this.running.filter((s) => !s.done);
    if (this.running.length === 0 && this.waiting.length === 0) this.relayout([]);
    this.busyMs += this.clock() - t0;
    return events;
  }

  /** Frees the KV cache; queued requests are dropped. */
  dispose(): void {
    this.closed = true;
    this.cache?.dispose();
    this.cache = null;
    this.rows = [];
    this.waiting.length = 0;
    this.running = [];
  }

  /** One forward over every row, each fed its request's pending (last) id; logits [rows, V]. */
  private forwardStep(): Float32Array {
    const { model } = this.parts;
    const e = model.engine;
    const rows = this.rows;
    const feed = rows.map((r) => r.st.seq[r.st.seq.length - 1]);
    const V = model.config.vocabSize;
    // While every row draws an image only image ids can follow, so the LM head computes just those
    // logits and the rest read -Infinity (what the modality mask would make of them).
    const range = this.imageRange && rows.every((r) => r.st.machine.state === 'image') ? this.imageRange : undefined;
    const cache = this.cache!;
    const keyStart = this.keyStart;
    return e.scope(() =>
      e.noGrad(() => {
        const out = model.forward({ ids: e.ids(feed, [rows.length, 1]), cache, keyStart, lastOnly: true, logitRange: range }).logits.f32(); // [rows, V or hi - lo]
        if (!range) return Float32Array.from(out);
        const w = range[1] - range[0];
        const full = new Float32Array(rows.length * V).fill(-Infinity); // [rows, V]
        for (let r = 0; r < rows.length; r++) full.set(out.subarray(r * w, (r + 1) * w), r * V + range[0]);
        return full;
      }),
    );
  }

  /**
   * Renders due previews while the session's preview time stays within previewBudget of its busy
   * time, least recently previewed request first; the others keep their event without a PNG.
   */
  private async renderPreviews(due: { s: ReqState; ev: ProgressEvent; codes: Int32Array }[], t0: number): Promise<void> {
    const image = this.parts.image;
    if (!image || this.previewBudget === 0) return;
    due.sort((a, b) => a.s.lastPreview - b.s.lastPreview);
    for (const d of due) {
      const start = this.clock();
      if (this.previewMs > this.previewBudget * (this.busyMs + (start - t0))) continue;
      d.ev.preview = await image.render(d.codes);
      const end = this.clock();
      this.previewMs += end - start;
      d.s.lastPreview = end;
    }
  }

  private initState(r: GenerateRequest, id: number): ReqState {
    const { vocab, imageTokens } = this.parts;
    const ctx = this.parts.model.config.maxPositionEmbeddings;
    const o = r.options;
    if (r.prompt.length === 0 || r.prompt[0] !== vocab.bos) throw new ChameleonError(`request ${id}: the prompt must start with BOS (${vocab.bos})`);
    const bad = r.prompt.find((x) => !Number.isInteger(x) || x < 0 || x >= vocab.size);
    if (bad !== undefined) throw new ChameleonError(`request ${id}: prompt id ${bad} is outside the vocabulary (size ${vocab.size})`);
    const maxLength = Math.min(ctx, r.prompt.length + o.maxNewTokens);
    if (r.prompt.length >= ctx) throw new ChameleonError(`request ${id}: prompt of ${r.prompt.length} tokens leaves no room in the ${ctx}-token context`);
    if (o.mode === 'image' && r.prompt.length + imageTokens + 2 > maxLength) {
      throw new ChameleonError(`request ${id}: an image needs ${imageTokens + 2} tokens but only ${maxLength - r.prompt.length} remain (context ${ctx}, maxNewTokens ${o.maxNewTokens})`);
    }
    if (o.mode !== 'text' && !vocab.imageIds.length) throw new ChameleonError(`request ${id}: this vocabulary has no image tokens`);
    const machine = new ModalityMachine(vocab, { mode: o.mode, imageTokens, maxImages: o.maxImages, maxLength, stopOnEndOfTurn: o.stopOnEndOfTurn }, r.prompt.length);
    return { id, req: r, seq: [...r.prompt], machine, rng: new Rng(o.seed), textIds: [], textEmitted: '', codes: [], done: false, generated: 0, prefillMs: 0, decodeMs: 0, lastPreview: -Infinity };
  }

  /** Picks the next id of a request from its rows' logits (forced ids consume no randomness). */
  private choose(s: ReqState, rowOf: (st: ReqState, role: RowRole) => Float32Array | null): number {
    const forced = s.machine.forced();
    if (forced >= 0) return forced;
    const o = s.req.options;
    const main = rowOf(s, 'main')!;
    const l = Float32Array.from(main);
    if (s.machine.state === 'image') {
      const io = rowOf(s, 'imageOnly');
      const un = rowOf(s, 'uncond');
      const neg = rowOf(s, 'negative');
      if (o.image.cfg === '3way' && io && un) cfg3(l, main, io, un, o.image.guidanceText, o.image.guidanceImage);
      else if (o.image.cfg === '2way' && neg) cfg2(l, main, neg, o.image.guidanceText);
      s.machine.apply(l);
      return sample(l, o.image, s.rng);
    }
    s.machine.apply(l);
    applyRepetitionPenalty(l, new Set(s.seq), o.text.repetitionPenalty);
    return sample(l, o.text, s.rng);
  }

  /** New complete characters of the current text span (holds back a partial UTF-8 sequence). */
  private textDelta(s: ReqState): string {
    if (!this.parts.text) return '';
    const full = this.parts.text.decode(s.textIds);
    const stable = full.endsWith('\uFFFD') ? full.slice(0, -1) : full;
    if (!stable.startsWith(s.textEmitted)) {
      s.textEmitted = stable;
      return '';
    }
    const delta = stable.slice(s.textEmitted.length);
    s.textEmitted = stable;
    return delta;
  }

  private doneEvent(s: ReqState, reason: StopReason): GenEvent {
    return {
      type: 'done',
      request: s.id,
      reason,
      promptTokens: s.req.prompt.length,
      generatedTokens: s.generated,
      images: s.machine.images,
      prefillMs: s.prefillMs,
      decodeTokensPerSec: s.decodeMs > 0 ? (s.generated / s.decodeMs) * 1000 : 0,
      ids: [...s.seq],
    };
  }

  /** Rows wanted now: one per running request, plus its guidance rows while it draws an image. */
  private layout(): Row[] {
    const rows: Row[] = [];
    for (const st of this.running) {
      rows.push({ st, role: 'main' });
      if (st.machine.state !== 'image') continue;
      const c = st.req.options.image.cfg;
      if (c === '3way') rows.push({ st, role: 'imageOnly' }, { st, role: 'uncond' });
      else if (c === '2way') rows.push({ st, role: 'negative' });
    }
    return rows;
  }

  /**
   * What a new row holds before its pending id (which the step feeds): a joining request's prompt
   * but its last id; for a guidance row, its view of the sequence up to the pending BOI.
   */
  private content(st: ReqState, role: RowRole): number[] {
    const v = this.parts.vocab;
    const before = st.seq.slice(0, -1);
    if (role === 'main') return before;
    if (role === 'uncond') return [v.bos];
    if (role === 'negative') return [v.bos, ...(st.req.negativePrompt ?? [])];
    return before.filter((id) => id === v.bos || id === v.boi || id === v.eoi || v.codeOf(id) >= 0);
  }

  /**
   * Brings the cache to a new row set in place: rows that left are replaced by the last rows (one
   * row's live range moves), new rows are prefilled together in a cache of their own and copied into
   * free rows, right-aligned at the shared length L. The cache is rebuilt only when the rows or the
   * positions the running requests may still need do not fit; then, and when a new row is longer
   * than L, every row is re-aligned at the longest row's content (the cache compacts as long rows
   * leave). Keys keep the rotation of their own positions, so rows may move.
   */
  private relayout(next: Row[]): void {
    const { model, vocab } = this.parts;
    const e = model.engine;
    if (next.length === 0) {
      this.cache?.dispose();
      this.cache = null;
      this.rows = [];
      this.keyStart = new Int32Array(0);
      return;
    }
    const has = (set: Row[], r: Row): boolean => set.some((o) => o.st === r.st && o.role === r.role);
    let cache = this.cache;
    const L0 = cache ? cache.length : 0;
    // Rows that stay, in their cache rows: a row that left takes the last row's place.
    const rows = [...this.rows];
    const ks = Array.from(this.keyStart);
    for (let i = 0; i < rows.length; ) {
      if (has(next, rows[i])) {
        i++;
        continue;
      }
      const last = rows.length - 1;
      if (i !== last) {
        cache!.moveRange(last, ks[last], i, ks[last], L0 - ks[last]);
        rows[i] = rows[last];
        ks[i] = ks[last];
      }
      rows.pop();
      ks.pop();
    }
    const fresh = next.filter((r) => !has(rows, r)).map((r) => ({ r, c: this.content(r.st, r.role) }));
    const lens = [...ks.map((k) => L0 - k), ...fresh.map((f) => f.c.length)];
    const count = lens.length;
    const longest = Math.max(...lens);
    const steps = Math.max(...this.running.map((s) => s.machine.cfg.maxLength - s.seq.length)) + 2;
    let L = Math.max(L0, longest);
    if (!cache || count > cache.capacity || L + steps > cache.maxLen || L > L0) {
      // Re-align every row at the longest one; in this cache when that fits, else in a larger one.
      L = longest;
      const fits = cache !== null && count <= cache.capacity && L + steps <= cache.maxLen;
      const dst = fits ? cache! : this.newCache(count, L + steps, cache);
      const shift = (i: number): void => {
        const n = L0 - ks[i];
        if (n > 0 && (dst !== cache || ks[i] !== L - n)) dst.copyRange(cache!, i, ks[i], i, L - n, n);
        ks[i] = L - n;
      };
      for (let i = 0; i < rows.length; i++) shift(i);
      if (dst !== cache) cache?.dispose();
      cache = dst;
    }
    cache.length = L;
    cache.setBatch(count);
    const base = rows.length;
    for (const f of fresh) {
      rows.push(f.r);
      ks.push(L - f.c.length);
    }
    const todo = fresh.map((f, j) => ({ d: base + j, c: f.c })).filter((f) => f.c.length > 0);
    if (todo.length > 0) {
      const M = Math.max(...todo.map((f) => f.c.length));
      const tmp = new KVCache(e, model.config, todo.length, M, cache.dtype);
      try {
        const starts = Int32Array.from(todo, (f) => M - f.c.length);
        const ids = todo.flatMap((f, j) => [...new Array<number>(starts[j]).fill(vocab.pad), ...f.c]); // [n, M]
        e.scope(() => e.noGrad(() => model.forward({ ids: e.ids(ids, [todo.length, M]), cache: tmp, keyStart: starts, lastOnly: true })));
        todo.forEach((f, j) => cache!.copyRange(tmp, j, starts[j], f.d, ks[f.d], f.c.length));
      } finally {
        tmp.dispose();
      }
    }
    this.cache = cache;
    this.rows = rows;
    this.keyStart = Int32Array.from(ks);
  }

  /**
   * A cache for at least `rows` rows of `len` positions, with headroom so that rows joining and
   * the shared length growing seldom need another (rows double, positions get a quarter more).
   */
  private newCache(rows: number, len: number, old: KVCache | null): KVCache {
    const { model } = this.parts;
    const maxRows = this.maxRequests * 3; // a request drawing with 3-way CFG owns 3 rows
    const capRows = Math.max(rows, Math.min(maxRows, Math.max(2 * rows, old?.capacity ?? 0)));
    const capLen = Math.max(len, Math.ceil(len * 1.25), old?.maxLen ?? 0);
    this.cacheBuilds++;
    return new KVCache(model.engine, model.config, capRows, capLen, this.parts.kvDtype ?? 'f32');
  }
}

/** The same rows, in any order (the cache keeps rows where they are). */
function sameRows(a: Row[], b: Row[]): boolean {
  return a.length === b.length && a.every((r) => b.some((o) => o.st === r.st && o.role === r.role));
}

/** Meta's partial-image rule: pad the codes so far with copies of the first code. */
function previewCodes(codes: readonly number[], total: number): Int32Array {
  const out = new Int32Array(total);
  for (let i = 0; i < total; i++) out[i] = i < codes.length ? codes[i] : codes[0];
  return out;
}
