// `chameleon data build` as a library call: streams JSONL files line by line, checks each document,
// encodes its images with the model's VQ tokenizer (batched), lays out tokens and loss masks
// (documents.ts) and writes shards + index.json into the output directory (each file temp + rename,
// the index last, so an interrupted build leaves no index). Bad lines are skipped with a count or
// fatal; each report names file and line. Leaves out argument parsing (src/cli/data-command.ts).

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ChameleonError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import type { Engine } from '../../engine/engine.js';
import { Vocabulary } from '../../tokenizers/vocab.js';
import { combineVocabulary } from '../../tokenizers/chameleon-tokenizer.js';
import { loadTextTokenizer } from '../../tokenizers/text/load.node.js';
import { loadVqgan } from '../../tokenizers/image/load.node.js';
import { preprocessImage } from '../../tokenizers/image/preprocess.node.js';
import { tokensPerImage, vqganConfigFromHf } from '../../tokenizers/image/config.js';
import type { Vqgan } from '../../tokenizers/image/vqgan.js';
import { genVocab } from '../../generate/vocab.js';
import type { PromptParts } from '../../generate/prompt.js';
import { DOC_KINDS, DocumentError, documentImages, parseDocumentLine, tokenizeDocument, type RawDocument } from './documents.js';
import { INDEX_FILE, INDEX_FORMAT, INDEX_VERSION, ShardAccumulator, chooseValidation, crc32, tokenDtypeFor, type DatasetIndex, type ShardBytes, type ShardEntry } from './shards.js';

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
  const cfgPath = join(dir, 'config.json');
  if (!fs.existsSync(cfgPath)) throw new ChameleonError(`--model ${dir}: no config.json (expected a Chameleon model directory)`);
  let cfg: { vocabulary_map?: Record<string, number>; vocab_size?: number; vq_config?: unknown; max_position_embeddings?: number };
  try {
    cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as typeof cfg;
  } catch (e) {
    throw new ChameleonError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  if (!cfg.vocabulary_map) throw new ChameleonError(`${cfgPath}: no vocabulary_map, so text and image ids cannot be laid out`);
  const vocab = Vocabulary.fromVocabularyMap(cfg.vocabulary_map, { vocabSize: cfg.vocab_size, source: cfgPath });
  const tokPath = join(dir, 'tokenizer.json');
  if (!fs.existsSync(tokPath)) throw new ChameleonError(`--model ${dir}: no tokenizer.json (data build needs the model's text tokenizer)`);
  const text = await loadTextTokenizer(tokPath);
  combineVocabulary(vocab, text);
  const vq = fs.existsSync(join(dir, 'model.safetensors')) || fs.existsSync(join(dir, 'model.safetensors.index.json')) ? loadVqgan(engine, dir) : null;
  const imageTokens = tokensPerImage(vq ? vq.cfg : vqganConfigFromHf(cfg.vq_config ?? {}));
  const parts: PromptParts = {
    vocab: genVocab(vocab, Math.max(vocab.size, cfg.vocab_size ?? 0)),
    text: { encode: (s) => text.encode(s, { addBos: false, parseSpecial: false }), decode: (ids) => text.decode(ids) },
    imageTokens,
  };
  return { dir, vocab, parts, vq, imageTokens, context: cfg.max_position_embeddings ?? Infinity };
}

export interface BuildOptions {
  inputs: readonly string[];
  out: string;
  /** Fraction of documents held out for validation (default 0.05). */
  valFraction?: number;
  seed?: number;
  onError?: 'skip' | 'fatal';
  /** Tokens per shard (default 64 Mi). */
  shardTokens?: number;
  /** Images encoded per VQ batch (default 8). */
  imageBatch?: number;
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
  images: number;
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
  doc: RawDocument;
  kind: number;
  refs: string[];
  pixels: Float32Array[];
  where: string;
}

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

/** Tokenizes JSONL files into a dataset directory. */
export async function buildDataset(engine: Engine, tk: DataTokenizers, opts: BuildOptions): Promise<BuildResult> {
  const valFraction = opts.valFraction ?? 0.05;
  const seed = opts.seed ?? 0;
  const onError = opts.onError ?? 'skip';
  const imageBatch = opts.imageBatch ?? 8;
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
  const acc = new ShardAccumulator(dtype, opts.shardTokens ?? 64 << 20, writeShard);

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
    const t = tokenizeDocument(p.doc, tk.parts, (ref) => codes.get(ref)!);
    acc.add(t.tokens, t.mask, p.kind, imageStart, imageEnd);
    tokens += t.tokens.length;
    targetTokens += acc.docs.targets[acc.docs.count - 1];
    if (t.tokens.length - 1 > tk.context) longDocuments++;
    byKind[DOC_KINDS[p.kind]] = (byKind[DOC_KINDS[p.kind]] ?? 0) + 1;
  };
  let queue: Pending[] = [];
  let queuedImages = 0;
  const flushQueue = (): void => {
    if (queuedImages > 0) {
      const vq = tk.vq!;
      const r = vq.cfg.resolution;
      const all = new Float32Array(queuedImages * 3 * r * r);
      let at = 0;
      for (const p of queue) for (const px of p.pixels) all.set(px, (at++) * 3 * r * r);
      const codes = engine.scope(() => Int32Array.from(vq.encode(engine.tensor(all, [queuedImages, 3, r, r])).indices)); // [N·g·g]
      const per = tk.imageTokens;
      at = 0;
      for (const p of queue) {
        const m = new Map<string, Int32Array>();
        p.refs.forEach((ref) => m.set(ref, codes.slice(at * per, (at++ + 1) * per)));
        emit(p, m);
      }
      images += queuedImages;
    } else for (const p of queue) emit(p, new Map());
    queue = [];
    queuedImages = 0;
  };

  const bar = delayedProgress(inputBytes, opts.progress);
  const t0 = performance.now();
  for (const file of opts.inputs) {
    const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    let lineNo = 0;
    for await (const line of rl) {
      lineNo++;
      const where = `${file}:${lineNo}`;
      const lineBytes = Buffer.byteLength(line) + 1;
      if (line.trim() === '') {
        bar.tick(lineBytes, '');
        continue;
      }
      try {
        const doc = parseDocumentLine(line);
        if (doc.kind === 'chat' && tk.parts.vocab.eot < 0) throw new ChameleonError(`${where}: a chat document, but --model ${tk.dir} has no end-of-turn token`);
        const refs = [...new Set(documentImages(doc))];
        const pixels: Float32Array[] = [];
        if (refs.length > 0) {
          if (!tk.vq) throw new ChameleonError(`${where}: the document has images but --model ${tk.dir} has no image tokenizer (model.vqmodel.* weights)`);
          for (const ref of refs) {
            const src = imageSource(ref, file, where);
            const name = typeof src === 'string' ? ref : 'data URL image';
            try {
              pixels.push((await preprocessImage(src, tk.vq.cfg.resolution, { name })).pixels);
            } catch (e) {
              if (e instanceof ChameleonError) throw new DocumentError(`${where}: ${e.message}`);
              throw e;
            }
          }
        }
        const kind = DOC_KINDS.indexOf(doc.kind);
        if (refs.length === 0 && queue.length === 0) emit({ doc, kind, refs, pixels, where }, new Map());
        else {
          queue.push({ doc, kind, refs, pixels, where });
          queuedImages += refs.length;
          if (queuedImages >= imageBatch) flushQueue();
        }
      } catch (e) {
        if (!(e instanceof DocumentError)) throw e;
        fail(e.message.startsWith(where) ? e.message : `${where}: ${e.message}`);
      }
      bar.tick(lineBytes, `${acc.docs.count} docs ${tokens} tok`);
    }
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
