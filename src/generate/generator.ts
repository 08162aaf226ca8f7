// The generation loop: several requests decode together in one forward per step over a shared KV
// cache whose rows are right-aligned (left padding + per-row positions). A request owns one row in
// text state and 1-3 rows while it draws an image with classifier-free guidance (full prompt,
// image-only prompt, unconditional); rows are added and dropped by re-laying out the cache, so the
// prompt is never recomputed. Emits typed events as an async iterator; an AbortSignal stops a request
// at any token. Tokenizers are injected (TextCodec, ImageRenderer): this file knows only ids.

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

type RowRole = 'main' | 'imageOnly' | 'uncond' | 'negative';
interface Row {
  req: number;
  role: RowRole;
}

interface ReqState {
  req: GenerateRequest;
  seq: number[];
  machine: ModalityMachine;
  rng: Rng;
  pending: number;
  textIds: number[];
  textEmitted: string;
  codes: number[];
  done: boolean;
  generated: number;
  decodeMs: number;
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
}

export class ChameleonGenerator {
  /** Optional hook called after every sampled token (benchmarks time steps with it). */
  onToken?: (request: number, id: number) => void;

  /** The image ids as one range [lo, hi) when they are contiguous (as in Chameleon's vocabulary). */
  private readonly imageRange: readonly [number, number] | null;

  constructor(readonly parts: GeneratorParts) {
    const ids = parts.vocab.imageIds;
    this.imageRange = ids.length > 0 && ids.every((id, i) => id === ids[0] + i) ? [ids[0], ids[0] + ids.length] : null;
  }

  /** Streams events for one or more requests decoded together. */
  async *stream(requests: readonly GenerateRequest[]): AsyncGenerator<GenEvent> {
    const { model, vocab } = this.parts;
    const e = model.engine;
    const ctx = model.config.maxPositionEmbeddings;
    if (requests.length === 0) return;
    const states: ReqState[] = requests.map((r, i) => this.initState(r, i, ctx));
    const P = Math.max(...states.map((s) => s.seq.length));
    const steps = Math.max(...states.map((s) => s.machine.cfg.maxLength - s.seq.length));
    const smax = P + steps + 1;
    let rows: Row[] = states.map((_, i) => ({ req: i, role: 'main' as const }));
    let keyStart: Int32Array = Int32Array.from(states.map((s) => P - s.seq.length));
    let cache = new KVCache(e, model.config, rows.length, smax, this.parts.kvDtype);
    try {
      // Prefill every prompt but its last token; the step loop feeds the last one.
      const t0 = performance.now();
      if (P > 1) {
        e.scope(() =>
          e.noGrad(() => {
            const ids = states.flatMap((s, i) => [...new Array<number>(keyStart[i]).fill(vocab.pad), ...s.seq.slice(0, -1)]); // [B, P-1]
            model.forward({ ids: e.ids(ids, [states.length, P - 1]), cache, keyStart, lastOnly: true });
          }),
        );
      }
      const prefillMs = performance.now() - t0;
      states.forEach((s) => (s.pending = s.seq[s.seq.length - 1]));
      for (const s of states) for (const ev of this.checkStart(s)) yield ev;

      while (states.some((s) => !s.done)) {
        // One forward over every row: each row is fed its request's pending token.
        const stepStart = performance.now();
        const feed = rows.map((r) => states[r.req].pending);
        const V = model.config.vocabSize;
        // While every row draws an image only image ids can follow, so the LM head computes just
        // those logits and the rest read -Infinity (what the modality mask would make of them).
        const range = this.imageRange && rows.every((r) => states[r.req].machine.state === 'image') ? this.imageRange : undefined;
        const logits = e.scope(() =>
          e.noGrad(() => {
            const out = model.forward({ ids: e.ids(feed, [rows.length, 1]), cache, keyStart, lastOnly: true, logitRange: range }).logits.f32(); // [rows, V or hi - lo]
            if (!range) return Float32Array.from(out);
            const w = range[1] - range[0];
            const full = new Float32Array(rows.length * V).fill(-Infinity); // [rows, V]
            for (let r = 0; r < rows.length; r++) full.set(out.subarray(r * w, (r + 1) * w), r * V + range[0]);
            return full;
          }),
        );
        const stepMs = performance.now() - stepStart;
        const rowOf = (req: number, role: RowRole): Float32Array | null => {
          const i = rows.findIndex((r) => r.req === req && r.role === role);
          return i < 0 ? null : logits.subarray(i * V, (i + 1) * V);
        };
        const events: GenEvent[] = [];
        let relayout = false;
        for (let i = 0; i < states.length; i++) {
          const s = states[i];
          if (s.done) continue;
          s.decodeMs += stepMs;
          if (s.req.signal?.aborted) {
            s.machine.finish('abort');
            events.push(this.doneEvent(i, s, 'abort', prefillMs));
            s.done = true;
            relayout = true;
            continue;
          }
          const wasImage = s.machine.state === 'image';
          const tok = this.choose(s, i, rowOf);
          s.seq.push(tok);
          s.pending = tok;
          s.generated++;
          this.onToken?.(i, tok);
          for (const step of s.machine.advance(tok)) {
            switch (step.kind) {
              case 'text': {
                s.textIds.push(step.token);
                const delta = this.textDelta(s);
                if (delta) events.push({ type: 'text', request: i, delta });
                break;
              }
              case 'image-start':
                s.textIds = [];
                s.textEmitted = '';
                s.codes = [];
                events.push({ type: 'image-start', request: i, index: step.index, tokens: this.parts.imageTokens });
                relayout = true;
                break;
              case 'image-token': {
                s.codes.push(step.code);
                const every = s.req.options.previewEvery;
                if (every > 0 && s.codes.length % every === 0 && s.codes.length < this.parts.imageTokens) {
                  const preview = this.parts.image ? await this.parts.image.render(previewCodes(s.codes, this.parts.imageTokens)) : undefined;
                  events.push({ type: 'image-progress', request: i, index: step.index, tokens: s.codes.length, total: this.parts.imageTokens, preview });
                }
                break;
              }
              case 'image-end': {
                const codes = Int32Array.from(s.codes);
                const img = this.parts.image ? await this.parts.image.render(codes) : undefined;
                events.push({ type: 'image', request: i, index: step.index, codes, png: img?.png, width: img?.width, height: img?.height });
                relayout = true;
                break;
              }
              case 'stop':
                s.done = true;
                relayout = true;
                events.push(this.doneEvent(i, s, step.reason, prefillMs));
                break;
            }
          }
          if (wasImage !== (s.machine.state === 'image')) relayout = true;
        }
        for (const ev of events) yield ev;
        if (states.every((s) => s.done)) break;
        if (relayout) {
          const next = this.layout(states);
          const moved = this.relayout(cache, rows, keyStart, next, states);
          cache = moved.cache;
          rows = next;
          keyStart = moved.keyStart;
        }
        await new Promise<void>((r) => setTimeout(r, 0));
      }
    } finally {
      cache.dispose();
    }
  }

  private initState(r: GenerateRequest, i: number, ctx: number): ReqState {
    const { vocab } = this.parts;
    const o = r.options;
    if (r.prompt.length === 0 || r.prompt[0] !== vocab.bos) throw new ChameleonError(`request ${i}: the prompt must start with BOS (${vocab.bos})`);
    const bad = r.prompt.find((id) => !Number.isInteger(id) || id < 0 || id >= vocab.size);
    if (bad !== undefined) throw new ChameleonError(`request ${i}: prompt id ${bad} is outside the vocabulary (size ${vocab.size})`);
    const maxLength = Math.min(ctx, r.prompt.length + o.maxNewTokens);
    if (r.prompt.length >= ctx) throw new ChameleonError(`request ${i}: prompt of ${r.prompt.length} tokens leaves no room in the ${ctx}-token context`);
    if (o.mode === 'image' && r.prompt.length + this.parts.imageTokens + 2 > maxLength) {
      throw new ChameleonError(`request ${i}: an image needs ${this.parts.imageTokens + 2} tokens but only ${maxLength - r.prompt.length} remain (context ${ctx}, maxNewTokens ${o.maxNewTokens})`);
    }
    if (o.mode !== 'text' && !this.parts.vocab.imageIds.length) throw new ChameleonError(`request ${i}: this vocabulary has no image tokens`);
    const machine = new ModalityMachine(vocab, { mode: o.mode, imageTokens: this.parts.imageTokens, maxImages: o.maxImages, maxLength, stopOnEndOfTurn: o.stopOnEndOfTurn }, r.prompt.length);
    return { req: r, seq: [...r.prompt], machine, rng: new Rng(o.seed), pending: -1, textIds: [], textEmitted: '', codes: [], done: false, generated: 0, decodeMs: 0 };
  }

  /** A request that cannot generate anything (e.g. maxImages 0 in image mode) finishes at once. */
  private *checkStart(s: ReqState): Generator<GenEvent> {
    if (s.machine.state === 'done') {
      s.done = true;
      yield this.doneEvent(0, s, s.machine.stopReason ?? 'length', 0);
    }
  }

  /** Picks the next id of request i from its rows' logits (forced ids consume no randomness). */
  private choose(s: ReqState, i: number, rowOf: (req: number, role: RowRole) => Float32Array | null): number {
    const forced = s.machine.forced();
    if (forced >= 0) return forced;
    const o = s.req.options;
    const main = rowOf(i, 'main')!;
    const l = Float32Array.from(main);
    if (s.machine.state === 'image') {
      const io = rowOf(i, 'imageOnly');
      const un = rowOf(i, 'uncond');
      const neg = rowOf(i, 'negative');
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

  private doneEvent(i: number, s: ReqState, reason: StopReason, prefillMs: number): GenEvent {
    return {
      type: 'done',
      request: i,
      reason,
      promptTokens: s.req.prompt.length,
      generatedTokens: s.generated,
      images: s.machine.images,
      prefillMs,
      decodeTokensPerSec: s.decodeMs > 0 ? (s.generated / s.decodeMs) * 1000 : 0,
      ids: [...s.seq],
    };
  }

  /** Rows wanted now: one per live request, plus its guidance rows while it draws an image. */
  private layout(states: ReqState[]): Row[] {
    const rows: Row[] = [];
    states.forEach((s, i) => {
      if (s.done) return;
      rows.push({ req: i, role: 'main' });
      if (s.machine.state !== 'image') return;
      const c = s.req.options.image.cfg;
      if (c === '3way') rows.push({ req: i, role: 'imageOnly' }, { req: i, role: 'uncond' });
      else if (c === '2way') rows.push({ req: i, role: 'negative' });
    });
    return rows;
  }

  /** Content of a new guidance row up to (not including) the pending BOI, which the step feeds. */
  private guidanceContent(s: ReqState, role: RowRole): number[] {
    const v = this.parts.vocab;
    const before = s.seq.slice(0, -1); // without the trailing BOI
    if (role === 'uncond') return [v.bos];
    if (role === 'negative') return [v.bos, ...(s.req.negativePrompt ?? [])];
    return before.filter((id) => id === v.bos || id === v.boi || id === v.eoi || v.codeOf(id) >= 0);
  }

  /** Builds a cache for the new row set: surviving rows are copied, new rows are prefilled. */
  private relayout(old: KVCache, oldRows: Row[], oldStart: Int32Array, next: Row[], states: ReqState[]): { cache: KVCache; keyStart: Int32Array } {
    const { model, vocab } = this.parts;
    const e = model.engine;
    const L = old.length;
    const cache = new KVCache(e, model.config, Math.max(1, next.length), old.maxLen, old.dtype);
    cache.length = L;
    const keyStart = new Int32Array(Math.max(1, next.length));
    const fresh: { dst: number; content: number[] }[] = [];
    next.forEach((r, d) => {
      const src = oldRows.findIndex((o) => o.req === r.req && o.role === r.role);
      if (src >= 0) {
        keyStart[d] = oldStart[src];
        cache.copyRange(old, src, oldStart[src], d, oldStart[src], L - oldStart[src]);
      } else {
        const content = this.guidanceContent(states[r.req], r.role);
        keyStart[d] = L - content.length;
        fresh.push({ dst: d, content });
      }
    });
    if (fresh.length) {
      const M = Math.max(...fresh.map((f) => f.content.length));
      const tmp = new KVCache(e, model.config, fresh.length, M, old.dtype);
      try {
        const starts = Int32Array.from(fresh.map((f) => M - f.content.length));
        const ids = fresh.flatMap((f, j) => [...new Array<number>(starts[j]).fill(vocab.pad), ...f.content]);
        e.scope(() => e.noGrad(() => model.forward({ ids: e.ids(ids, [fresh.length, M]), cache: tmp, keyStart: starts, lastOnly: true })));
        fresh.forEach((f, j) => cache.copyRange(tmp, j, starts[j], f.dst, keyStart[f.dst], f.content.length));
      } finally {
        tmp.dispose();
      }
    }
    old.dispose();
    return { cache, keyStart };
  }
}

/** Meta's partial-image rule: pad the codes so far with copies of the first code. */
export function previewCodes(codes: readonly number[], total: number): Int32Array {
  const out = new Int32Array(total);
  for (let i = 0; i < total; i++) out[i] = i < codes.length ? codes[i] : codes[0];
  return out;
}
