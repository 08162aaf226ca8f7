// Numerical parity against Hugging Face reference fixtures (expected.json, see
// tests/fixtures/hf-chameleon/README.md): text logits, hidden states and per-layer intermediates,
// greedy decoding with and without the KV cache, the left-padded batch, the multimodal prompt, and
// (given an image tokenizer) vq_encode / vq_decode. Pure: the caller reads files and prints.

import type { Tensor } from '../engine/tensor.js';
import { ops } from '../engine/index.js';
import type { ChameleonModel } from '../model/chameleon.js';
import { KVCache } from '../model/kv-cache.js';

export interface ParityCheck {
  section: string;
  name: string;
  /** Max absolute error for numeric checks; null for exact (token) checks. */
  maxAbsErr: number | null;
  tol: number;
  pass: boolean;
  detail?: string;
}

/** Image-tokenizer hooks for the vq_* and multimodal sections (provided once the VQGAN is loaded). */
export interface VqParityHooks {
  /** pixels [1, 3, H, W] in [-1, 1] → codes and named intermediates to compare. */
  encode(pixels: Tensor): { indices: Int32Array; tensors: Record<string, Tensor> };
  /** codes → named intermediates (codebook_vectors, post_quant_conv_out, pixels) and uint8 HWC. */
  decode?(indices: Int32Array): { tensors: Record<string, Tensor>; uint8: Uint8Array };
}

// Tolerances per quantity: the worst max |err| measured over both fixtures (mha, gqa) on ref and
// wasm (relaxed and plain SIMD, 1 and 2 threads; results do not depend on the thread count) × ~4,
// so that a real deviation fails: QK-norm eps 1e-6 instead of 1e-5 gives 1.3e-5..4.9e-5 on these
// quantities. Measured with `node dist/src/cli/main.js parity <fixture> [--backend ref] --json`.
/** Logits (text, multimodal, greedy step logits, batch last logits): measured worst 2.27e-6. */
const LOGIT_TOL = 1e-5;
/** Hidden states, final norm and the prompt KV cache: measured worst 1.59e-6 (multimodal). */
const HIDDEN_TOL = 8e-6;
/** Per-layer intermediates (input norm, q/k norm, attention, MLP, layer output): measured worst 2.03e-6 (layer_out). */
const LAYER_TOL = 8e-6;
/** RoPE cos/sin tables (float64 here vs the fixture's float32): measured worst 1.09e-7. */
const ROPE_TOL = 5e-7;
/** VQGAN encode/decode intermediates and pixels: measured worst 4.71e-6 (decoded pixels, plain SIMD). */
const VQ_TOL = 2e-5;

type Json = Record<string, unknown>;
type Nested = number | Nested[];

/** Flattens a nested JSON array; numbers are rounded to float32 (the fixtures print f32 values with 9 digits). */
function flat(x: unknown): number[] {
  const out: number[] = [];
  const walk = (v: Nested): void => {
    if (Array.isArray(v)) for (const e of v) walk(e);
    else out.push(Math.fround(v));
  };
  walk(x as Nested);
  return out;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Infinity;
    if (d > m) m = d;
  }
  return m;
}

function numeric(section: string, name: string, got: ArrayLike<number>, want: unknown, tol: number): ParityCheck {
  const w = flat(want);
  const err = maxAbs(got, w);
  const detail = got.length !== w.length ? `length ${got.length} vs expected ${w.length}` : undefined;
  return { section, name, maxAbsErr: err, tol, pass: err <= tol, detail };
}

function exact(section: string, name: string, got: readonly number[], want: unknown): ParityCheck {
  const w = flat(want);
  const pass = got.length === w.length && got.every((v, i) => v === w[i]);
  return { section, name, maxAbsErr: null, tol: 0, pass, detail: pass ? undefined : `got [${got.join(', ')}], expected [${w.join(', ')}]` };
}

function argmaxRows(logits: Tensor): number[] {
  const v = logits.shape[logits.rank - 1];
  const d = logits.f32();
  const out: number[] = [];
  for (let r = 0; r < d.length; r += v) {
    let best = 0;
    for (let j = 1; j < v; j++) if (d[r + j] > d[r + best]) best = j;
    out.push(best);
  }
  return out;
}

/** Greedy decoding as HF generate does it (image ids masked), with or without a KV cache. */
function greedy(model: ChameleonModel, prompt: number[][], steps: number, useCache: boolean, keyStart?: Int32Array): { tokens: number[][]; stepLogits: Float32Array[] } {
  const e = model.engine;
  const B = prompt.length;
  const seqs = prompt.map((p) => p.slice());
  const stepLogits: Float32Array[] = [];
  const cache = useCache ? new KVCache(e, model.config, B, prompt[0].length + steps) : null;
  try {
    for (let s = 0; s < steps; s++) {
      e.scope(() =>
        e.noGrad(() => {
          const feed = cache && s > 0 ? seqs.map((q) => [q[q.length - 1]]) : seqs;
          const ids = e.ids(feed.flat(), [B, feed[0].length]);
          const { logits } = model.forward({ ids, cache: cache ?? undefined, keyStart: keyStart ?? null, maskImageTokens: true, lastOnly: true });
          stepLogits.push(Float32Array.from(logits.f32()));
          argmaxRows(logits).forEach((t, r) => seqs[r].push(t));
        }),
      );
    }
  } finally {
    cache?.dispose();
  }
  return { tokens: seqs.map((q, r) => q.slice(prompt[r].length)), stepLogits };
}

function textSection(model: ChameleonModel, text: Json, section: string, ids2d: number[][]): ParityCheck[] {
  const e = model.engine;
  const checks: ParityCheck[] = [];
  e.scope(() =>
    e.noGrad(() => {
      const ids = e.ids(ids2d.flat(), [ids2d.length, ids2d[0].length]);
      const r = model.forward({ ids, maskImageTokens: true, trace: true });
      checks.push(numeric(section, 'logits', r.logits.f32(), text.logits, LOGIT_TOL));
      checks.push(numeric(section, 'last_hidden_state', r.lastHidden.f32(), text.last_hidden_state, HIDDEN_TOL));
      const hs = text.hidden_states as unknown[];
      if (hs) {
        let worst = 0;
        hs.forEach((h, i) => (worst = Math.max(worst, maxAbs(r.hiddenStates![i].f32(), flat(h)))));
        checks.push({ section, name: `hidden_states (${hs.length})`, maxAbsErr: worst, tol: HIDDEN_TOL, pass: hs.length === r.hiddenStates!.length && worst <= HIDDEN_TOL });
      }
      const inter = text.intermediates as Json | undefined;
      if (inter) {
        checks.push(numeric(section, 'embeddings', r.hiddenStates![0].f32(), inter.embeddings, HIDDEN_TOL));
        const per = inter.per_layer as Json[];
        const keys = ['input_layernorm', 'q_norm', 'k_norm', 'attn_out', 'post_attention_layernorm', 'mlp_out', 'layer_out'] as const;
        for (const key of keys) {
          let worst = 0;
          per.forEach((layer, l) => (worst = Math.max(worst, maxAbs(r.layers![l][key].f32(), flat(layer[key])))));
          checks.push({ section, name: `per-layer ${key}`, maxAbsErr: worst, tol: LAYER_TOL, pass: worst <= LAYER_TOL });
        }
        if (per[0]?.rope_cos) {
          const T = ids2d[0].length;
          const D = model.config.headDim;
          const cos: number[] = [];
          const sin: number[] = [];
          for (let t = 0; t < T; t++) {
            for (let i = 0; i < D; i++) {
              const f = t * Math.pow(model.config.ropeTheta, (-2 * (i % (D / 2))) / D);
              cos.push(Math.cos(f));
              sin.push(Math.sin(f));
            }
          }
          checks.push(numeric(section, 'rope cos/sin tables', [...cos, ...sin], [flat(per[0].rope_cos), flat(per[0].rope_sin)], ROPE_TOL));
        }
        checks.push(numeric(section, 'final_norm', r.lastHidden.f32(), inter.final_norm, HIDDEN_TOL));
      }
    }),
  );
  return checks;
}

function greedySection(model: ChameleonModel, g: Json): ParityCheck[] {
  const prompt = g.prompt_ids as number[][];
  const want = g.new_tokens as number[];
  const steps = want.length;
  const nc = greedy(model, prompt, steps, false);
  const wc = greedy(model, prompt, steps, true);
  const stepsWant = g.step_logits as number[][];
  const errOf = (ls: Float32Array[]): number => Math.max(...ls.map((l, i) => maxAbs(l, flat(stepsWant[i]))));
  const checks: ParityCheck[] = [
    exact('greedy', 'tokens without cache', nc.tokens[0], want),
    exact('greedy', 'tokens with KV cache', wc.tokens[0], want),
    { section: 'greedy', name: 'step logits without cache', maxAbsErr: errOf(nc.stepLogits), tol: LOGIT_TOL, pass: errOf(nc.stepLogits) <= LOGIT_TOL },
    { section: 'greedy', name: 'step logits with KV cache', maxAbsErr: errOf(wc.stepLogits), tol: LOGIT_TOL, pass: errOf(wc.stepLogits) <= LOGIT_TOL },
  ];
  const kv = g.prompt_kv_cache as { key: unknown; value: unknown }[] | undefined;
  if (kv) checks.push(kvCheck(model, prompt, kv));
  return checks;
}

/** Prefills the prompt through a cache and compares keys/values (HF layout [B, Hk, T, D]). */
function kvCheck(model: ChameleonModel, prompt: number[][], kv: { key: unknown; value: unknown }[]): ParityCheck {
  const e = model.engine;
  const T = prompt[0].length;
  const cache = new KVCache(e, model.config, 1, T);
  try {
    let worst = 0;
    e.scope(() =>
      e.noGrad(() => {
        model.forward({ ids: e.ids(prompt.flat(), [1, T]), cache, lastOnly: true });
        kv.forEach((layer, l) => {
          for (const [mine, theirs] of [[cache.k[l], layer.key], [cache.v[l], layer.value]] as const) {
            const hf = ops.permute(mine, [0, 2, 1, 3]); // [B, Hk, T, D]
            worst = Math.max(worst, maxAbs(hf.f32(), flat(theirs)));
          }
        });
      }),
    );
    return { section: 'greedy', name: 'prompt KV cache', maxAbsErr: worst, tol: HIDDEN_TOL, pass: worst <= HIDDEN_TOL };
  } finally {
    cache.dispose();
  }
}

function batchSection(model: ChameleonModel, b: Json): ParityCheck[] {
  const e = model.engine;
  const ids = b.input_ids as number[][];
  const mask = b.attention_mask as number[][];
  const keyStart = Int32Array.from(mask.map((row) => row.findIndex((m) => m === 1)));
  const checks: ParityCheck[] = [];
  const expectedPos = flat(b.position_ids);
  const T = ids[0].length;
  const pos: number[] = [];
  ids.forEach((_, r) => {
    for (let t = 0; t < T; t++) pos.push(t - keyStart[r] < 0 ? 1 : t - keyStart[r]);
  });
  checks.push(exact('batch_left_padded', 'position ids', pos, expectedPos));
  e.scope(() =>
    e.noGrad(() => {
      const r = model.forward({ ids: e.ids(ids.flat(), [ids.length, T]), keyStart, maskImageTokens: true, lastOnly: true });
      checks.push(numeric('batch_left_padded', 'last logits', r.logits.f32(), b.last_logits, LOGIT_TOL));
    }),
  );
  const want = b.hf_generate_tokens as number[][];
  const g = greedy(model, ids, want[0].length, true, keyStart);
  ids.forEach((_, r) => checks.push(exact('batch_left_padded', `greedy tokens row ${r}`, g.tokens[r], want[r])));
  return checks;
}

/** Runs every section of expected.json that the given components can produce. */
export function runParity(model: ChameleonModel, expected: Json, vq?: VqParityHooks): ParityCheck[] {
  const checks: ParityCheck[] = [];
  const text = expected.text as Json;
  checks.push(...textSection(model, text, 'text', text.input_ids as number[][]));
  checks.push(...greedySection(model, expected.greedy as Json));
  checks.push(...batchSection(model, expected.batch_left_padded as Json));
  const mm = expected.multimodal as Json | undefined;
  if (vq && expected.vq_encode && expected.image) checks.push(...vqEncodeSection(model, expected, vq));
  if (vq?.decode && expected.vq_decode) checks.push(...vqDecodeSection(model, expected.vq_decode as Json, vq));
  if (mm && vq) checks.push(...multimodalSection(model, mm, expected, vq));
  return checks;
}

function vqEncodeSection(model: ChameleonModel, expected: Json, vq: VqParityHooks): ParityCheck[] {
  const e = model.engine;
  const enc = expected.vq_encode as Json;
  const px = flat((expected.image as Json).pixel_values);
  const side = Math.round(Math.sqrt(px.length / 3));
  return e.scope(() =>
    e.noGrad(() => {
      const r = vq.encode(e.tensor(px, [1, 3, side, side]));
      const checks = [exact('vq_encode', 'indices', [...r.indices], enc.indices)];
      const bpe = [...r.indices].map((c) => model.imageIds[c]);
      checks.push(exact('vq_encode', 'bpe_tokens', bpe, enc.bpe_tokens));
      for (const [name, t] of Object.entries(r.tensors)) {
        if (enc[name] !== undefined) checks.push(numeric('vq_encode', name, t.f32(), enc[name], VQ_TOL));
      }
      return checks;
    }),
  );
}

function vqDecodeSection(model: ChameleonModel, dec: Json, vq: VqParityHooks): ParityCheck[] {
  const e = model.engine;
  return e.scope(() =>
    e.noGrad(() => {
      const r = vq.decode!(Int32Array.from(flat(dec.indices)));
      const checks: ParityCheck[] = [];
      for (const [name, t] of Object.entries(r.tensors)) {
        if (dec[name] !== undefined) checks.push(numeric('vq_decode', name, t.f32(), dec[name], VQ_TOL));
      }
      checks.push(exact('vq_decode', 'uint8_hwc', [...r.uint8], dec.uint8_hwc));
      return checks;
    }),
  );
}

function multimodalSection(model: ChameleonModel, mm: Json, expected: Json, vq: VqParityHooks): ParityCheck[] {
  const e = model.engine;
  const placeholder = (expected.vocabulary as Json).image_placeholder as number;
  const px = flat((expected.image as Json).pixel_values);
  const side = Math.round(Math.sqrt(px.length / 3));
  const codes = e.scope(() => e.noGrad(() => [...vq.encode(e.tensor(px, [1, 3, side, side])).indices]));
  const ids = (mm.input_ids as number[][])[0];
  let k = 0;
  const scattered = ids.map((id) => (id === placeholder ? model.imageIds[codes[k++]] : id));
  const checks: ParityCheck[] = [exact('multimodal', 'ids after image scatter', scattered, mm.input_ids_after_image_scatter)];
  checks.push(...textSection(model, mm, 'multimodal', [scattered]));
  const g = greedy(model, [scattered], (mm.greedy_new_tokens as number[]).length, true);
  checks.push(exact('multimodal', 'greedy tokens', g.tokens[0], mm.greedy_new_tokens));
  return checks;
}

/** The closing line the issue asks for: "N passed, N failed". */
export function summaryLine(checks: readonly ParityCheck[]): string {
  const passed = checks.filter((c) => c.pass).length;
  return `${passed} passed, ${checks.length - passed} failed`;
}
