// Logits processors and the sampler, applied to one row of logits at a time: repetition penalty
// (HF semantics), temperature, top-k, top-p (HF semantics: keep the smallest set with cumulative
// probability ≥ p, always the top id), greedy argmax and seeded multinomial sampling, plus the
// classifier-free-guidance combinations of spec §6. Masks are applied by the modality machine.

import type { Rng } from '../util/rng.js';

/** HF repetition penalty over every id present in `seen`: divide positive logits, multiply negative. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of seen) {
    const v = logits[id];
    logits[id] = v > 0 ? v / penalty : v * penalty;
  }
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export interface SampleSettings {
  temperature: number;
  topK: number;
  topP: number;
  greedy: boolean;
}

/**
 * Draws one id from logits (already masked with -Infinity where disallowed). Deterministic given
 * the Rng state: exactly one uniform is consumed per call unless greedy.
 */
export function sample(logits: Float32Array, s: SampleSettings, rng: Rng): number {
  if (s.greedy) return argmax(logits);
  if (s.topK <= 0 && s.topP < 1 && logits.length <= ID_BITS) return sampleTopP(logits, s.temperature, s.topP, rng);
  const cand = sortedCandidates(logits);
  if (cand.length === 0) return argmax(logits);
  const n = s.topK > 0 ? Math.min(s.topK, cand.length) : cand.length;
  const t = s.temperature;
  const m = logits[cand[0]] / t;
  const probs = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    probs[i] = Math.exp(logits[cand[i]] / t - m);
    z += probs[i];
  }
  let keep = n;
  if (s.topP < 1) {
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += probs[i] / z;
      if (cum >= s.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  return draw(cand, probs, keep, rng);
}

/** Draws among the first `keep` candidates in their order, weights `probs` (one uniform). */
function draw(cand: Int32Array, probs: Float64Array, keep: number, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < keep; i++) total += probs[i];
  const u = rng.uniform() * total;
  let acc = 0;
  for (let i = 0; i < keep; i++) {
    acc += probs[i];
    if (u < acc) return cand[i];
  }
  return cand[keep - 1];
}

/** Weight buckets of sampleTopP: quarter octaves of e^(ℓ/T − m) ∈ (0, 1], the last one open-ended. */
const BUCKETS = 256;

/**
 * Top-p without top-k, as sample() draws it but without sorting the whole vocabulary: the weights
 * e^(ℓ/T − m) of every candidate give z (summed in id order) and a histogram of their sums by
 * quarter octave; only the candidates down to the bucket where the histogram reaches p are sorted
 * (all of them if rounding leaves the sorted sum short). The kept set, its order and the draw are
 * those of the full sort (z's summation order differs, which moves the cut only for a cumulative
 * sum within ~1e-13 of p).
 */
function sampleTopP(logits: Float32Array, t: number, topP: number, rng: Rng): number {
  const n = logits.length;
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > mx) mx = logits[i];
  if (!(mx > -Infinity)) return argmax(logits);
  const m = mx / t;
  const w = new Float64Array(n);
  const bucket = new Uint8Array(n);
  const sums = new Float64Array(BUCKETS);
  let z = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (!(v > -Infinity)) continue;
    const x = Math.exp(v / t - m);
    w[i] = x;
    z += x;
    const k = x > 0 ? Math.min(BUCKETS - 1, Math.floor(-4 * Math.log2(x))) : BUCKETS - 1;
    bucket[i] = k;
    sums[k] += x;
  }
  let last = 0;
  for (let cum = sums[0]; last < BUCKETS - 1 && cum < topP * z * (1 + 1e-9); ) cum += sums[++last];
  for (let pass = 0; pass < 2; pass++) {
    const cut = pass === 0 ? last : BUCKETS - 1;
    const cand = sortedCandidates(logits, (i) => bucket[i] <= cut);
    const probs = Float64Array.from(cand, (id) => w[id]);
    let cum = 0;
    for (let i = 0; i < cand.length; i++) {
      cum += probs[i] / z;
      if (cum >= topP) return draw(cand, probs, i + 1, rng);
    }
    if (cut === BUCKETS - 1) return draw(cand, probs, cand.length, rng);
  }
  throw new Error('unreachable');
}

const ID_BITS = 2 ** 17;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Ids with finite logits (and `take`, when given), sorted by logit descending, ties by id ascending. For vocabularies up to
 * 2^17 ids each candidate becomes one exact float64 key (order-preserving bits of the f32 logit
 * · 2^17 + reversed id) and a native typed-array sort replaces a comparator sort (~8x faster for
 * Chameleon's 8192 image candidates).
 */
function sortedCandidates(logits: Float32Array, take?: (id: number) => boolean): Int32Array {
  const n = logits.length;
  const ok = (i: number): boolean => logits[i] > -Infinity && (take === undefined || take(i));
  let count = 0;
  for (let i = 0; i < n; i++) if (ok(i)) count++;
  const out = new Int32Array(count);
  if (n > ID_BITS) {
    let c = 0;
    for (let i = 0; i < n; i++) if (ok(i)) out[c++] = i;
    return out.sort((a, b) => logits[b] - logits[a] || a - b);
  }
  const keys = new Float64Array(count);
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (!ok(i)) continue;
    f32[0] = v + 0; // -0 and +0 tie, as in a comparator sort
    const bits = u32[0];
    const ord = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0; // monotonic in v
    keys[c++] = ord * ID_BITS + (ID_BITS - 1 - i);
  }
  keys.sort(); // ascending: the best candidate is last
  for (let j = 0; j < count; j++) out[j] = ID_BITS - 1 - (keys[count - 1 - j] % ID_BITS);
  return out;
}

/** 3-way CFG (InstructPix2Pix form): ℓ = ℓu + s_img·(ℓic − ℓu) + s_txt·(ℓfc − ℓic), written into `out`. */
export function cfg3(out: Float32Array, full: Float32Array, imageOnly: Float32Array, uncond: Float32Array, sText: number, sImage: number): void {
  for (let i = 0; i < out.length; i++) {
    out[i] = uncond[i] + sImage * (imageOnly[i] - uncond[i]) + sText * (full[i] - imageOnly[i]);
  }
}

/** 2-way CFG with a negative (or empty) prompt: ℓ = ℓn + s·(ℓc − ℓn). */
export function cfg2(out: Float32Array, cond: Float32Array, neg: Float32Array, s: number): void {
  for (let i = 0; i < out.length; i++) out[i] = neg[i] + s * (cond[i] - neg[i]);
}
