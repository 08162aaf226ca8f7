// `chameleon data build` as a library call: streams JSONL files line by line, text tokenized on worker
// threads (tokenize-worker.node.ts), images decoded a few lines ahead and VQ-encoded in batches here;
// lays out tokens and loss masks (documents.ts) in input order and writes shards + index.json (each
// file temp + rename, the index last, so an interrupted build leaves no index). Bad lines are skipped
// with a count or fatal, each report naming file and line. Argument parsing is in src/cli/data-command.ts.

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ChameleonError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import type { Engine } from '../../engine/engine.js';
import type { Vocabulary } from '../../tokenizers/vocab.js';
import { loadVqgan } from '../../tokenizers/image/load.node.js';
import { preprocessImage } from '../../tokenizers/image/preprocess.node.js';
import { tokensPerImage, vqganConfigFromHf } from '../../tokenizers/image/config.js';
import type { Vqgan } from '../../tokenizers/image/vqgan.js';
import type { PromptParts } from '../../generate/prompt.js';
import { DOC_KINDS, DocumentError, documentImages, parseDocumentLine, tokenizeDocument, type RawDocument, type TokenizedDocument } from './documents.js';
import { INDEX_FILE, INDEX_FORMAT, INDEX_VERSION, ShardAccumulator, chooseValidation, crc32, tokenDtypeFor, type DatasetIndex, type ShardBytes, type ShardEntry } from './shards.js';
import { LINE_DOC, LINE_ERROR, LINE_FATAL, LINE_IMAGES, loadTextParts, type ChunkRequest, type ChunkResult } from './text-parts.node.js';

/** What data build needs from a model directory: the id space, the text tokenizer and the VQ encoder. */
export interface DataTokenizers {
  dir: string;
  vocab: Vocabulary;
  parts: PromptParts;
  vq: Vqgan | null;
  imageTokens: number;
  /** config.json max_position_embeddings (the model's context). */
  context: number;
}

/** Loads config.json's vocabulary, tokenizer.json and the VQGAN (when present), not the language model. */
export async function loadDataTokenizers(engine: Engine, dir: string): Promise<DataTokenizers> {
  const { vocab, parts, cfg } = await loadTextParts(dir);
  const vq = fs.existsSync(join(dir, 'model.safetensors')) || fs.existsSync(join(dir, 'model.safetensors.index.json')) ? loadVqgan(engine, dir) : null;
  const imageTokens = tokensPerImage(vq ? vq.cfg : vqganConfigFromHf(cfg.vq_config ?? {}));
  return { dir, vocab, parts: { ...parts, imageTokens }, vq, imageTokens, context: cfg.max_position_embeddings ?? Infinity };
}

export interface BuildOptions {
  inputs: readonly string[];
  out: string;
  /** Fraction of documents held out for validation (default 0.05). */
  valFraction?: number;
  seed?: number;
  onError?: 'skip' | 'fatal';
  /** Tokens per shard (default DEFAULT_SHARD_TOKENS). */
  shardTokens?: number;
  /** Images encoded per VQ batch (default defaultImageBatch(resolution)). */
  imageBatch?: number;
  /** Worker threads for text tokenization (default: the cores, at most 4; 0 tokenizes on this thread). */
  workers?: number;
  /** Replace a dataset already in `out`. */
  overwrite?: boolean;
  /** Progress bar stream (default stderr; null for none). */
  progress?: ProgressStream | null;
}

export interface BuildResult {
  out: string;
  documents: number;
  trainDocuments: number;
  valDocuments: number;
  byKind: Record<string, number>;
  tokens: number;
  targetTokens: number;
  /** Images encoded, and image references served from codes of a file encoded earlier in the build. */
  images: number;
  imagesReused: number;
  shards: number;
  /** Lines skipped, and the first few reports (file:line: reason). */
  skipped: number;
  skippedReports: string[];
  /** Documents longer than the model's context (the loader splits or drops them). */
  longDocuments: number;
  inputBytes: number;
  seconds: number;
  /** Input bytes per second, and tokens per second. */
  bytesPerSec: number;
  tokensPerSec: number;
}

interface Pending {
  /** A parsed document with images still to encode, or one a worker already tokenized. */
  doc: RawDocument | null;
  tokenized?: TokenizedDocument;
  kind: number;
  refs: string[];
  /** Pixels per ref to encode, or null when the image's codes are cached (same file seen before). */
  pixels: (Float32Array | null)[];
  /** Cache key per ref: the absolute file path ('' for data URLs, never cached). */
  keys: string[];
  where: string;
}

/** Image codes kept for reuse across documents, in int32 values (64 MiB): a file referenced by many documents is decoded and encoded once. */
const CODE_CACHE_VALUES = 1 << 24;

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;

/** Bytes (data: URL) or an absolute path for an image reference of a JSONL file. */
function imageSource(ref: string, jsonl: string, where: string): string | Uint8Array {
  const m = DATA_URL.exec(ref);
  if (m) {
    if (!m[2].split(';').includes('base64')) throw new DocumentError(`${where}: image data URL must be base64-encoded`);
    return new Uint8Array(Buffer.from(m[3], 'base64'));
  }
  const path = isAbsolute(ref) ? ref : resolve(dirname(jsonl), ref);
  if (!fs.existsSync(path)) throw new DocumentError(`${where}: image ${JSON.stringify(ref)} not found (looked at ${path})`);
  return path;
}

function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function prepareOut(out: string, overwrite: boolean): void {
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new ChameleonError(`--out ${out}: exists and is not a directory`);
  if (fs.existsSync(join(out, INDEX_FILE))) {
    if (!overwrite) throw new ChameleonError(`--out ${out}: already holds a dataset (${INDEX_FILE}); pass --overwrite to replace it`);
    fs.rmSync(join(out, INDEX_FILE)); // first, so a crash below never leaves an index over mixed shards
  }
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(out)) if (/^shard-\d+\.(tok|mask)(\.tmp-\d+)?$/.test(f)) fs.rmSync(join(out, f));
}

/**
 * A progress bar that appears once the work has run for `delayMs` (short builds, and errors in the
 * first lines, print nothing but their result); its rate and ETA count from the real start.
 */
function delayedProgress(total: number, stream: ProgressStream | null | undefined, delayMs = 1000): { tick(n: number, info: string): void; finish(info: string): void } {
  const t0 = performance.now();
  let bar: ProgressBar | null = null;
  let done = 0;
  return {
    tick(n, info) {
      done += n;
      if (bar) bar.tick(n, info);
      else if (performance.now() - t0 >= delayMs) {
        let calls = 0;
        const now = (): number => (calls++ === 0 ? t0 : performance.now()); // the bar's first reading (its start) is t0
        bar = new ProgressBar({ total, label: 'data build', unit: 'B', stream, now });
        bar.tick(done, info);
      }
    },
    finish(info) {
      bar?.finish(info);
    },
  };
}

/**
 * Images per VQ encoder batch unless told: 8 small ones, down to 1 at 256×256 and above (one
 * 512×512 image already takes about 1 GiB of activations in the wasm backend's 4 GiB).
 */
export function defaultImageBatch(resolution: number): number {
  return Math.max(1, Math.min(8, Math.floor(32768 / Math.max(1, resolution * resolution))));
}

/** A line made ready: a document, a bad line's report, or nothing (blank). */
type Prepared = { pending: Pending } | { error: string } | null;

/** Lines that may be decoding their images while earlier ones are taken. */
const LOOKAHEAD = 16;

interface Chunk {
  file: string;
  firstLine: number;
  lines: string[];
  bytes: number;
}

/** Tokens per shard file unless told (32 MiB of uint16 ids). */
export const DEFAULT_SHARD_TOKENS = 1 << 24;

/** Lines per worker message: about this many characters. */
const CHUNK_BYTES = 1 << 19;

/** Worker threads that tokenize chunks of lines (tokenize-worker.node.ts); answers come back per chunk. */
class TokenizerPool {
  private next = 0;
  private id = 0;
  private failure: Error | null = null;
  private readonly waiting: Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>[];

  private constructor(private readonly workers: Worker[]) {
    this.waiting = workers.map(() => new Map());
    workers.forEach((w, i) => {
      w.on('message', (r: ChunkResult) => {
        const p = this.waiting[i].get(r.id);
        this.waiting[i].delete(r.id);
        p?.resolve(r);
      });
      w.on('error', (e) => this.fail(e));
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const m of this.waiting) {
      for (const p of m.values()) p.reject(this.failure);
      m.clear();
    }
  }

  static async start(dir: string, n: number): Promise<TokenizerPool> {
    const workers = Array.from({ length: n }, () => new Worker(new URL('./tokenize-worker.node.js', import.meta.url), { workerData: { dir } }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((res, rej) => {
              w.once('message', () => res());
              w.once('error', rej);
            }),
        ),
      );
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new TokenizerPool(workers);
  }

  run(lines: string[]): Promise<ChunkResult> {
    if (this.failure) return Promise.reject(this.failure);
    const w = this.next;
    this.next = (this.next + 1) % this.workers.length;
    const id = this.id++;
    const answer = new Promise<ChunkResult>((resolve, reject) => {
      this.waiting[w].set(id, { resolve, reject });
      const req: ChunkRequest = { id, lines };
      this.workers[w].postMessage(req);
    });
    answer.catch(() => {}); // a failure is seen when the chunk is awaited, in order; never as an unhandled rejection
    return answer;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Tokenizes JSONL files into a dataset directory. */
export async function buildDataset(engine: Engine, tk: DataTokenizers, opts: BuildOptions): Promise<BuildResult> {
  const valFraction = opts.valFraction ?? 0.05;
  const seed = opts.seed ?? 0;
  const onError = opts.onError ?? 'skip';
  const imageBatch = opts.imageBatch ?? defaultImageBatch(tk.vq?.cfg.resolution ?? 0);
  if (!(valFraction >= 0 && valFraction < 1)) throw new ChameleonError(`--val-fraction must be in [0, 1), got ${valFraction}`);
  if (opts.inputs.length === 0) throw new ChameleonError('data build needs at least one JSONL file');
  let inputBytes = 0;
  for (const f of opts.inputs) {
    if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw new ChameleonError(`${f}: no such file`);
    inputBytes += fs.statSync(f).size;
  }
  prepareOut(opts.out, opts.overwrite ?? false);

  const v = tk.vocab;
  const imageStart = v.imageStart;
  const imageEnd = v.imageStart + v.codebookSize;
  const dtype = tokenDtypeFor(tk.parts.vocab.size);
  const shards: ShardEntry[] = [];
  const writeShard = (s: ShardBytes): void => {
    const base = `shard-${String(s.index).padStart(5, '0')}`;
    writeAtomic(join(opts.out, `${base}.tok`), s.tokens);
    writeAtomic(join(opts.out, `${base}.mask`), s.mask);
    shards.push({ tokens: `${base}.tok`, mask: `${base}.mask`, numTokens: s.numTokens, tokensBytes: s.tokens.byteLength, maskBytes: s.mask.byteLength, tokensCrc32: crc32(s.tokens), maskCrc32: crc32(s.mask) });
  };
  const acc = new ShardAccumulator(dtype, opts.shardTokens ?? DEFAULT_SHARD_TOKENS, writeShard);

  let skipped = 0;
  const skippedReports: string[] = [];
  let tokens = 0;
  let targetTokens = 0;
  let images = 0;
  let longDocuments = 0;
  const byKind: Record<string, number> = {};
  const fail = (msg: string): void => {
    if (onError === 'fatal') throw new ChameleonError(`${msg} (--on-error fatal)`);
    skipped++;
    if (skippedReports.length < 5) skippedReports.push(msg);
  };
  const emit = (p: Pending, codes: Map<string, Int32Array>): void => {
    const t = p.tokenized ?? tokenizeDocument(p.doc!, tk.parts, (ref) => codes.get(ref)!);
    acc.add(t.tokens, t.mask, p.kind, imageStart, imageEnd);
    tokens += t.tokens.length;
    targetTokens += acc.docs.targets[acc.docs.count - 1];
    if (t.tokens.length - 1 > tk.context) longDocuments++;
    byKind[DOC_KINDS[p.kind]] = (byKind[DOC_KINDS[p.kind]] ?? 0) + 1;
  };
  let queue: Pending[] = [];
  let queuedImages = 0;
  const codeCache = new Map<string, Int32Array>();
  let cachedValues = 0;
  let cacheHits = 0;
  const flushQueue = (): void => {
    const per = tk.imageTokens;
    let codes = new Int32Array(0);
    if (queuedImages > 0) {
      const vq = tk.vq!;
      const r = vq.cfg.resolution;
      const all = new Float32Array(queuedImages * 3 * r * r);
      let at = 0;
      for (const p of queue) for (const px of p.pixels) if (px) all.set(px, (at++) * 3 * r * r);
      codes = engine.scope(() => Int32Array.from(vq.encode(engine.tensor(all, [queuedImages, 3, r, r])).indices)); // [N·g·g]
    }
    let at = 0;
    for (const p of queue) {
      const m = new Map<string, Int32Array>();
      p.refs.forEach((ref, i) => {
        const key = p.keys[i];
        let c: Int32Array;
        if (p.pixels[i]) {
          c = codes.slice(at * per, (at++ + 1) * per);
          if (key && !codeCache.has(key) && cachedValues + per <= CODE_CACHE_VALUES) {
            codeCache.set(key, c);
            cachedValues += per;
          }
        } else {
          c = codeCache.get(key)!;
          cacheHits++;
        }
        m.set(ref, c);
      });
      emit(p, m);
    }
    images += queuedImages;
    queue = [];
    queuedImages = 0;
  };

  /** A document in input order: straight to the shards unless image documents wait before it. */
  const push = (p: Pending): void => {
    if (p.refs.length === 0 && queue.length === 0) emit(p, new Map());
    else {
      queue.push(p);
      queuedImages += p.pixels.filter((px) => px !== null).length;
      if (queuedImages >= imageBatch) flushQueue();
    }
  };
  /**
   * The whole path for one line on this thread (documents with images always come here): parse,
   * check, decode its images (concurrently). Bad lines become { error }; model problems reject.
   */
  const prepareLine = async (line: string, file: string, where: string): Promise<Prepared> => {
    if (line.trim() === '') return null;
    try {
      const doc = parseDocumentLine(line);
      if (doc.kind === 'chat' && tk.parts.vocab.eot < 0) throw new ChameleonError(`${where}: a chat document, but --model ${tk.dir} has no end-of-turn token`);
      const refs = [...new Set(documentImages(doc))];
      let pixels: (Float32Array | null)[] = [];
      let keys: string[] = [];
      if (refs.length > 0) {
        const vq = tk.vq;
        if (!vq) throw new ChameleonError(`${where}: the document has images but --model ${tk.dir} has no image tokenizer (model.vqmodel.* weights)`);
        const srcs = refs.map((ref) => imageSource(ref, file, where));
        keys = srcs.map((src) => (typeof src === 'string' ? src : ''));
        const decoded = await Promise.allSettled(
          srcs.map(async (src, i) => {
            if (typeof src === 'string' && codeCache.has(src)) return null;
            return (await preprocessImage(src, vq.cfg.resolution, { name: typeof src === 'string' ? refs[i] : 'data URL image' })).pixels;
          }),
        );
        const bad = decoded.find((d) => d.status === 'rejected');
        if (bad) {
          const e = bad.reason as unknown;
          if (e instanceof DocumentError) throw e;
          if (e instanceof ChameleonError) throw new DocumentError(`${where}: ${e.message}`);
          throw e;
        }
        pixels = decoded.map((d) => (d as PromiseFulfilledResult<Float32Array | null>).value);
      }
      return { pending: { doc, kind: DOC_KINDS.indexOf(doc.kind), refs, pixels, keys, where } };
    } catch (e) {
      if (!(e instanceof DocumentError)) throw e;
      return { error: e.message.startsWith(where) ? e.message : `${where}: ${e.message}` };
    }
  };
  // Lines are taken strictly in input order; up to LOOKAHEAD of them may be decoding images meanwhile.
  const ahead: Promise<Prepared>[] = [];
  const take = (p: Prepared): void => {
    if (!p) return;
    if ('error' in p) fail(p.error);
    else push(p.pending);
  };
  const enqueue = async (p: Prepared | Promise<Prepared>): Promise<void> => {
    if (ahead.length === 0 && !(p instanceof Promise)) return take(p);
    const pr = Promise.resolve(p);
    pr.catch(() => {}); // seen when taken, in order
    ahead.push(pr);
    while (ahead.length > LOOKAHEAD) take(await ahead.shift()!);
  };
  const drain = async (): Promise<void> => {
    while (ahead.length > 0) take(await ahead.shift()!);
  };
  /** A worker's answer for a chunk of lines. */
  const handleChunk = async (c: Chunk, r: ChunkResult): Promise<void> => {
    let at = 0;
    for (let i = 0; i < c.lines.length; i++) {
      const where = `${c.file}:${c.firstLine + i}`;
      switch (r.kinds[i]) {
        case LINE_DOC: {
          const n = r.lengths[i];
          const tokenized = { tokens: r.tokens.subarray(at, at + n), mask: r.mask.subarray(at, at + n) };
          at += n;
          await enqueue({ pending: { doc: null, tokenized, kind: r.docKinds[i], refs: [], pixels: [], keys: [], where } });
          break;
        }
        case LINE_ERROR:
          await enqueue({ error: `${where}: ${r.messages[i]}` });
          break;
        case LINE_FATAL:
          await enqueue(Promise.reject(new ChameleonError(`${where}: ${r.messages[i]} (--model ${tk.dir})`)));
          break;
        case LINE_IMAGES:
          await enqueue(prepareLine(c.lines[i], c.file, where));
          break;
      }
    }
  };

  const workers = opts.workers ?? Math.min(4, availableParallelism());
  const pool = workers > 0 ? await TokenizerPool.start(tk.dir, workers) : null;
  const bar = delayedProgress(inputBytes, opts.progress);
  const info = (): string => `${acc.docs.count} docs ${tokens} tok`;
  const t0 = performance.now();
  try {
    const inflight: { chunk: Chunk; result: Promise<ChunkResult> }[] = [];
    const settle = async (): Promise<void> => {
      const { chunk, result } = inflight.shift()!;
      await handleChunk(chunk, await result);
      bar.tick(chunk.bytes, info());
    };
    for (const file of opts.inputs) {
      const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
      let chunk: Chunk = { file, firstLine: 1, lines: [], bytes: 0 };
      const submit = async (): Promise<void> => {
        if (chunk.lines.length === 0) return;
        const c = chunk;
        chunk = { file, firstLine: c.firstLine + c.lines.length, lines: [], bytes: 0 };
        inflight.push({ chunk: c, result: pool!.run(c.lines) });
        while (inflight.length > 2 * workers) await settle();
      };
      let lineNo = 0;
      for await (const line of rl) {
        lineNo++;
        const bytes = line.length + 1; // progress only: UTF-16 units, about bytes for mostly-ASCII text
        if (!pool) {
          await enqueue(prepareLine(line, file, `${file}:${lineNo}`));
          bar.tick(bytes, info());
          continue;
        }
        chunk.lines.push(line);
        chunk.bytes += bytes;
        if (chunk.bytes >= CHUNK_BYTES) await submit();
      }
      if (pool) await submit();
    }
    while (inflight.length > 0) await settle();
    await drain();
  } finally {
    await pool?.close();
  }
  flushQueue();
  acc.flush();
  const seconds = (performance.now() - t0) / 1000;
  bar.finish(`${acc.docs.count} docs ${tokens} tok`);
  const docs = acc.docs;
  if (docs.count === 0) {
    const why = skipped > 0 ? `; all ${skipped} non-empty lines were skipped (first: ${skippedReports[0]})` : '';
    throw new ChameleonError(`${opts.inputs.join(', ')}: no documents${why}; the dataset would be empty`);
  }
  const split = chooseValidation(docs.count, valFraction, seed);
  docs.split = Array.from(split);
  const g = tk.parts.vocab;
  const index: DatasetIndex = {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    tokenDtype: dtype,
    vocab: { size: g.size, bos: g.bos, eos: g.eos, pad: g.pad, eot: g.eot, boi: g.boi, eoi: g.eoi, imageStart, codebookSize: v.codebookSize, imageTokens: tk.imageTokens },
    kinds: [...DOC_KINDS],
    seed,
    valFraction,
    model: tk.dir,
    shards,
    documents: docs,
  };
  writeAtomic(join(opts.out, INDEX_FILE), JSON.stringify(index));
  const valDocuments = docs.split.reduce((a, b) => a + b, 0);
  return {
    out: opts.out,
    documents: docs.count,
    trainDocuments: docs.count - valDocuments,
    valDocuments,
    byKind,
    tokens,
    targetTokens,
    images,
    imagesReused: cacheHits,
    shards: shards.length,
    skipped,
    skippedReports,
    longDocuments,
    inputBytes,
    seconds,
    bytesPerSec: inputBytes / Math.max(seconds, 1e-9),
    tokensPerSec: tokens / Math.max(seconds, 1e-9),
  };
}
