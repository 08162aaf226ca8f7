// The order in which documents are visited: deterministic shuffling by seed, epoch by epoch;
// mixing ratios per kind (a kind's share of tokens follows its weight, each kind cycling through its
// own epochs); and per-batch modality balancing (documents with image targets, e.g. SFT
// image-answer pairs, interleaved with the rest at the dataset's proportion). Exact state for resume.
// Leaves out reading tokens and packing them into rows (packer.ts).

import { ChameleonError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { hash32 } from './shards.js';

export interface SamplerDoc {
  /** Document number in the dataset. */
  id: number;
  /** Tokens it contributes (for mixing by token share). */
  tokens: number;
  kind: string;
  /** Some of its loss-taking tokens are image ids. */
  imageTargets: boolean;
}

export interface SamplerOptions {
  seed: number;
  /** Weight per kind (token share); kinds not named are left out. Without it: every document, once per epoch. */
  mix?: Record<string, number>;
  /** Keep the share of documents with image targets near the dataset's in every stretch of the stream. */
  balance?: boolean;
  /** Shuffle each epoch (default true; false keeps dataset order, e.g. for validation). */
  shuffle?: boolean;
}

export interface SamplerState {
  /** Per group (kind under mix, else one group): epoch and tokens emitted so far. */
  epochs: number[];
  tokens: number[];
  /** Per stratum: documents taken in its group's current epoch. */
  cursors: number[];
}

interface Stratum {
  group: number;
  docs: SamplerDoc[];
  order: Int32Array | null;
  orderEpoch: number;
}

export class DocSampler {
  private readonly groups: { weight: number; strata: number[] }[] = [];
  private readonly strata: Stratum[] = [];
  private st: SamplerState;

  constructor(
    docs: readonly SamplerDoc[],
    private readonly opts: SamplerOptions,
  ) {
    if (docs.length === 0) throw new ChameleonError('the dataset split has no documents to sample');
    const byGroup = new Map<string, SamplerDoc[]>();
    if (opts.mix) {
      const entries = Object.entries(opts.mix);
      for (const [kind, w] of entries) {
        if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw new ChameleonError(`mix.${kind} must be a finite number >= 0, got ${JSON.stringify(w)}`);
        if (w === 0) continue;
        const of = docs.filter((d) => d.kind === kind);
        if (of.length === 0) throw new ChameleonError(`mix.${kind} is ${w} but the split has no "${kind}" documents`);
        byGroup.set(kind, of);
        this.groups.push({ weight: w, strata: [] });
      }
      if (this.groups.length === 0) throw new ChameleonError('mix gives every kind weight 0');
    } else {
      byGroup.set('*', [...docs]);
      this.groups.push({ weight: 1, strata: [] });
    }
    [...byGroup.values()].forEach((list, g) => {
      const parts = opts.balance ? [list.filter((d) => d.imageTargets), list.filter((d) => !d.imageTargets)] : [list];
      for (const p of parts) {
        if (p.length === 0) continue;
        this.groups[g].strata.push(this.strata.length);
        this.strata.push({ group: g, docs: p, order: null, orderEpoch: -1 });
      }
    });
    this.st = { epochs: this.groups.map(() => 0), tokens: this.groups.map(() => 0), cursors: this.strata.map(() => 0) };
  }

  /** Epoch of the first group (the epoch, without mix). */
  get epoch(): number {
    return this.st.epochs[0];
  }

  private orderOf(s: number): Int32Array {
    const st = this.strata[s];
    const epoch = this.st.epochs[st.group];
    if (st.order && st.orderEpoch === epoch) return st.order;
    const n = st.docs.length;
    const order = Int32Array.from({ length: n }, (_, i) => i);
    if (this.opts.shuffle !== false) {
      const rng = new Rng(hash32(hash32(this.opts.seed, s), epoch));
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    st.order = order;
    st.orderEpoch = epoch;
    return order;
  }

  /** The next document's number. */
  next(): number {
    const { epochs, tokens, cursors } = this.st;
    let g = 0;
    for (let i = 1; i < this.groups.length; i++) {
      if (tokens[i] / this.groups[i].weight < tokens[g] / this.groups[g].weight) g = i;
    }
    const group = this.groups[g];
    let live = group.strata.filter((s) => cursors[s] < this.strata[s].docs.length);
    if (live.length === 0) {
      epochs[g]++;
      for (const s of group.strata) cursors[s] = 0;
      live = group.strata;
    }
    // The stratum whose next document is due earliest (cursor + ½ over its size): each stratum's
    // share of any stretch of the stream stays within one document of its share of the dataset.
    let s = live[0];
    for (const c of live) if ((cursors[c] + 0.5) / this.strata[c].docs.length < (cursors[s] + 0.5) / this.strata[s].docs.length) s = c;
    const doc = this.strata[s].docs[this.orderOf(s)[cursors[s]++]];
    tokens[g] += doc.tokens;
    return doc.id;
  }

  state(): SamplerState {
    return { epochs: [...this.st.epochs], tokens: [...this.st.tokens], cursors: [...this.st.cursors] };
  }

  restore(s: SamplerState): void {
    const ok = (a: unknown, n: number): a is number[] => Array.isArray(a) && a.length === n && a.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
    if (!s || !ok(s.epochs, this.groups.length) || !ok(s.tokens, this.groups.length) || !ok(s.cursors, this.strata.length)) {
      throw new ChameleonError('data-loader state does not match this dataset and configuration (other mix, balance or data?)');
    }
    s.cursors.forEach((c, i) => {
      if (c > this.strata[i].docs.length) throw new ChameleonError('data-loader state does not match this dataset (a cursor is past its documents)');
    });
    this.st = { epochs: [...s.epochs], tokens: [...s.tokens], cursors: [...s.cursors] };
  }
}
