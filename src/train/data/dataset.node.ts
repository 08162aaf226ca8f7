// Opens a tokenized dataset directory for training (openDataset): reads and checks index.json,
// refuses shards whose size or CRC-32 differ from the index (by file name), then streams documents
// from the shards with positioned reads (no shard is loaded whole) into the sampler and packer.
// Long documents are split into row-sized pieces or dropped, by option, with counts in `info`.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { ChameleonError, FormatError } from '../../util/errors.js';
import { openForRead, readFully } from '../../io/file-range.node.js';
import type { BatchSource } from './batch.js';
import { DocSampler, type SamplerDoc } from './sampler.js';
import { PackedBatchSource, piecesOf, type DocReader, type Packing } from './packer.js';
import { INDEX_FILE, bytesPerToken, checkIndex, crc32, decodeTokens, type DatasetIndex } from './shards.js';

export interface OpenDatasetOptions {
  split: 'train' | 'val';
  seqLen: number;
  batch: number;
  seed: number;
  /** Default 'segments'. */
  packing?: Packing;
  /** Token-share weight per kind (train split only; validation keeps the dataset's own mix). */
  mix?: Record<string, number>;
  /** Per-batch modality balancing of documents with image targets (SFT). Default false. */
  balance?: boolean;
  /** Documents with more targets than seqLen: 'split' (default) into pieces, or 'drop'. */
  longDocs?: 'split' | 'drop';
  /** 'full' (default) checks every shard's CRC-32 on open; 'size' only its length. */
  verify?: 'full' | 'size';
}

export interface DatasetInfo {
  dir: string;
  split: 'train' | 'val';
  documents: number;
  /** Loss-taking tokens of the documents used (one epoch). */
  targetTokens: number;
  imageTargetTokens: number;
  /** Documents longer than a row, and how many of them were dropped. */
  longDocuments: number;
  droppedDocuments: number;
  index: DatasetIndex;
}

export interface Dataset extends BatchSource {
  info: DatasetInfo;
  /** Closes the shard files. */
  close(): void;
}

/** Reads and checks `dir/index.json`. */
function readIndex(dir: string): DatasetIndex {
  const file = join(dir, INDEX_FILE);
  if (!fs.existsSync(file)) throw new ChameleonError(`${dir}: no ${INDEX_FILE} (not a dataset directory; build one with \`chameleon data build\`)`);
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FormatError(`${file}: not valid JSON (${(e as Error).message}); the index is damaged, rebuild the dataset`);
  }
  return checkIndex(j, file);
}

const VERIFY_CHUNK = 1 << 22;

/** Checks that a shard file has the length (and, with `full`, the CRC-32) the index records. */
function verifyFile(path: string, bytes: number, crc: number, full: boolean): void {
  // openForRead closes the descriptor when the check throws; on success it is closed here.
  const fd = openForRead(path, (f, size) => {
    if (size !== bytes) throw new FormatError(`${path}: shard is ${size} bytes but the index says ${bytes} (truncated or replaced); refusing to read it`);
    if (full) {
      const buf = new Uint8Array(Math.min(VERIFY_CHUNK, Math.max(bytes, 1)));
      let c = 0;
      for (let at = 0; at < bytes; at += buf.length) {
        const part = buf.subarray(0, Math.min(buf.length, bytes - at));
        readFully(f, part, at, path, 'shard');
        c = crc32(part, c);
      }
      if (c !== crc) throw new FormatError(`${path}: shard checksum ${c.toString(16)} differs from the index's ${crc.toString(16)} (corrupt); refusing to read it`);
    }
    return f;
  });
  fs.closeSync(fd);
}

/** Positioned reads of documents from the shard files. */
class ShardReader implements DocReader {
  private readonly fds = new Map<string, number>();
  constructor(
    private readonly dir: string,
    private readonly index: DatasetIndex,
  ) {}

  private fd(name: string): number {
    let fd = this.fds.get(name);
    if (fd === undefined) {
      fd = openForRead(join(this.dir, name), (f) => f);
      this.fds.set(name, fd);
    }
    return fd;
  }

  read(doc: number): { tokens: Int32Array; mask: Uint8Array } {
    const d = this.index.documents;
    const sh = this.index.shards[d.shard[doc]];
    const bpt = bytesPerToken(this.index.tokenDtype);
    const n = d.length[doc];
    const tb = new Uint8Array(n * bpt);
    readFully(this.fd(sh.tokens), tb, d.offset[doc] * bpt, join(this.dir, sh.tokens), `document ${doc}`);
    const mask = new Uint8Array(n);
    readFully(this.fd(sh.mask), mask, d.offset[doc], join(this.dir, sh.mask), `document ${doc}`);
    return { tokens: decodeTokens(tb, this.index.tokenDtype), mask };
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}

export interface DocumentStore extends DocReader {
  index: DatasetIndex;
  close(): void;
}

/** The documents of a dataset directory, after the index and shard checks (random access by number). */
export function openDocuments(dir: string, opts: { verify?: 'full' | 'size' } = {}): DocumentStore {
  const index = readIndex(dir);
  for (const s of index.shards) {
    verifyFile(join(dir, s.tokens), s.tokensBytes, s.tokensCrc32, opts.verify !== 'size');
    verifyFile(join(dir, s.mask), s.maskBytes, s.maskCrc32, opts.verify !== 'size');
  }
  const reader = new ShardReader(dir, index);
  return { index, read: (i) => reader.read(i), close: () => reader.close() };
}

/** A BatchSource over one split of a dataset directory. */
export function openDataset(dir: string, opts: OpenDatasetOptions): Dataset {
  if (opts.split !== 'train' && opts.split !== 'val') throw new ChameleonError(`split must be train or val, got ${JSON.stringify(opts.split)}`);
  const reader = openDocuments(dir, { verify: opts.verify });
  const index = reader.index;
  const d = index.documents;
  const want = opts.split === 'train' ? 0 : 1;
  const docs: SamplerDoc[] = [];
  let longDocuments = 0;
  let droppedDocuments = 0;
  let targetTokens = 0;
  let imageTargetTokens = 0;
  for (let i = 0; i < d.count; i++) {
    if (d.split[i] !== want || d.length[i] < 2 || d.targets[i] === 0) continue;
    if (piecesOf(d.length[i], opts.seqLen) > 1) {
      longDocuments++;
      if (opts.longDocs === 'drop') {
        droppedDocuments++;
        continue;
      }
    }
    targetTokens += d.targets[i];
    imageTargetTokens += d.imageTargets[i];
    docs.push({ id: i, tokens: d.length[i], kind: index.kinds[d.kind[i]], imageTargets: d.imageTargets[i] > 0 });
  }
  if (docs.length === 0) {
    reader.close();
    const why = droppedDocuments > 0 ? ` (all ${droppedDocuments} were longer than seqLen ${opts.seqLen} and dropped)` : '';
    throw new ChameleonError(`${dir}: the ${opts.split} split has no documents with targets${why}`);
  }
  const sampler = new DocSampler(docs, {
    seed: opts.seed,
    mix: opts.split === 'train' ? opts.mix : undefined,
    balance: opts.balance,
    shuffle: opts.split === 'train',
  });
  const v = index.vocab;
  const source = new PackedBatchSource(sampler, reader, {
    seqLen: opts.seqLen,
    batch: opts.batch,
    packing: opts.packing ?? 'segments',
    padId: v.pad,
    imageStart: v.imageStart,
    imageEnd: v.imageStart + v.codebookSize,
  });
  const info: DatasetInfo = { dir, split: opts.split, documents: docs.length, targetTokens, imageTargetTokens, longDocuments, droppedDocuments, index };
  return {
    info,
    next: () => source.next(),
    state: () => source.state(),
    restore: (s) => source.restore(s),
    close: () => reader.close(),
  };
}
