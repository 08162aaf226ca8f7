// Meta Chameleon release -> Hugging Face directory: reads params.json (+consolidate_params.json), the
// consolidated*.pth model-parallel shards (merged per spec §2.3), text_tokenizer.json, vqgan.yaml and
// vqgan.ckpt; applies the RoPE row permutation to Wq/Wk and the q/k LayerNorm γβ; writes config.json,
// model.safetensors (HF-sharded above maxShardBytes, one shard in memory at a time), vq_decoder.safetensors
// and tokenizer.json; includes the tiny YAML-subset reader for vqgan.yaml. Leaves out: generation/processor
// configs and dtype conversion (bf16 stays bf16).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChameleonError, FormatError, fmtShape } from '../util/errors.js';
import { ProgressBar, type ProgressStream } from '../util/progress.js';
import { parseYamlSubset } from '../util/yaml-subset.js';
import { f32ToBf16, f32ToF16 } from '../engine/dtype.js';
import { type StDType, type TensorToWrite, ST_DTYPES, widenToF32 } from '../io/safetensors.js';
import { writeSafetensors, SINGLE_FILE, INDEX_FILE } from '../io/safetensors.node.js';
import { TorchCheckpoint } from '../io/torch-zip.node.js';
import { readJsonFile } from '../io/json-file.node.js';
import { type ChameleonConfig, ffnSize, parseHfConfig, toHfConfigJson } from './config.js';

export interface ConvertProgress {
  /** Bytes of output tensors written so far / in all. */
  readonly done: number;
  readonly total: number;
  /** The HF tensor just finished. */
  readonly tensor: string;
}

export interface ConvertOptions {
  readonly onProgress?: (p: ConvertProgress) => void;
  /** Where the progress bar draws (default: stderr for outputs of 256 MiB or more; null = never). */
  readonly progressStream?: ProgressStream | null;
  /** Largest model-*.safetensors shard in bytes (default 5e9, like save_pretrained). */
  readonly maxShardBytes?: number;
  /** With a download root (data/ holding models/<name>/), which model to convert ("7b", "30b"). */
  readonly model?: string;
}

export interface ConvertResult {
  readonly outDir: string;
  readonly config: ChameleonConfig;
  /** Files written into outDir. */
  readonly files: string[];
  /** Model-parallel shards merged (1 for 7B, 4 for 30B). */
  readonly inputShards: number;
  readonly tensors: number;
  /** Input entries that were not converted (rope.freqs, loss/discriminator weights, ...). */
  readonly skipped: string[];
  readonly warnings: string[];
}

interface OutTensor {
  readonly name: string;
  readonly dtype: StDType;
  readonly shape: number[];
  readonly make: () => Uint8Array;
}

type Json = Record<string, unknown>;

const VQ_DECODER_FILE = 'vq_decoder.safetensors';
const TORCH_DTYPE_NAMES: Partial<Record<StDType, string>> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' };
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Finds the model folder (with params.json) and the folder of the tokenizer files. */
function locate(metaDir: string, model: string | undefined): { modelDir: string; find: (f: string) => string } {
  if (!fs.existsSync(metaDir) || !fs.statSync(metaDir).isDirectory()) throw new FormatError(`${metaDir}: no such directory`);
  let modelDir = metaDir;
  if (!fs.existsSync(path.join(metaDir, 'params.json'))) {
    const models = path.join(metaDir, 'models');
    const names = fs.existsSync(models)
      ? fs.readdirSync(models).filter((n) => fs.existsSync(path.join(models, n, 'params.json'))).sort()
      : [];
    if (model !== undefined) {
      if (!names.includes(model)) throw new FormatError(`${metaDir}: no models/${model}/params.json (found: ${names.join(', ') || 'none'})`);
      modelDir = path.join(models, model);
    } else if (names.length === 1) modelDir = path.join(models, names[0]);
    else if (names.length > 1) throw new FormatError(`${metaDir}: several models (${names.join(', ')}); say which one to convert`);
    else {
      throw new FormatError(
        `${metaDir}: no params.json (expected a Meta Chameleon model folder with params.json and consolidated*.pth, ` +
          `or the download's data/ folder with models/<size>/params.json and tokenizer/)`,
      );
    }
  }
  const dirs = [modelDir, path.join(modelDir, 'tokenizer'), path.join(metaDir, 'tokenizer'), path.join(modelDir, '..', '..', 'tokenizer')];
  const find = (f: string): string => {
    for (const d of dirs) if (fs.existsSync(path.join(d, f))) return path.join(d, f);
    throw new FormatError(`${metaDir}: ${f} not found (looked in ${[...new Set(dirs.map((d) => path.normalize(d)))].join(', ')})`);
  };
  return { modelDir, find };
}

function shardFiles(modelDir: string): string[] {
  const names = fs.readdirSync(modelDir);
  const numbered = names.filter((n) => /^consolidated\.\d{2}\.pth$/.test(n)).sort();
  const single = names.includes('consolidated.pth');
  if (single && numbered.length) throw new FormatError(`${modelDir}: both consolidated.pth and consolidated.NN.pth files; keep one layout`);
  if (single) return [path.join(modelDir, 'consolidated.pth')];
  if (!numbered.length) throw new FormatError(`${modelDir}: no consolidated.pth or consolidated.00.pth`);
  numbered.forEach((n, i) => {
    if (n !== `consolidated.${String(i).padStart(2, '0')}.pth`) {
      throw new FormatError(`${modelDir}: model-parallel shards must be consolidated.00.pth .. consolidated.${String(numbered.length - 1).padStart(2, '0')}.pth; found ${numbered.join(', ')}`);
    }
  });
  return numbered.map((n) => path.join(modelDir, n));
}

/** The merged params: {...params, ...params.model, ...consolidate_params} (Meta loader order). */
function readParams(modelDir: string): Json {
  const p = readJsonFile(path.join(modelDir, 'params.json'));
  if (!isRecord(p)) throw new FormatError(`${modelDir}/params.json: must be a JSON object`);
  const cpath = path.join(modelDir, 'consolidate_params.json');
  const c = fs.existsSync(cpath) ? readJsonFile(cpath) : {};
  if (!isRecord(c)) throw new FormatError(`${cpath}: must be a JSON object`);
  return { ...p, ...(isRecord(p.model) ? p.model : {}), ...c };
}

function intParam(p: Json, key: string, dflt?: number): number {
  const v = p[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new FormatError(`params.json: "${key}" must be a positive integer, got ${JSON.stringify(p[key])}`);
  }
  return v;
}

function numParam(p: Json, key: string, dflt: number): number {
  const v = p[key] ?? dflt;
  if (typeof v !== 'number' || !(v > 0)) throw new FormatError(`params.json: "${key}" must be a positive number, got ${JSON.stringify(p[key])}`);
  return v;
}

// ---------------------------------------------------------------------------------------------------
// Byte-level tensor surgery (whole rows move, so any dtype works without widening)

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Concatenates [rows, c_i] matrices along columns. */
function concatCols(parts: readonly Uint8Array[], rows: number): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  const widths = parts.map((p) => p.byteLength / rows);
  const total = widths.reduce((a, b) => a + b, 0);
  for (let r = 0; r < rows; r++) {
    let o = r * total;
    parts.forEach((p, i) => {
      out.set(p.subarray(r * widths[i], (r + 1) * widths[i]), o);
      o += widths[i];
    });
  }
  return out;
}

/**
 * Meta interleaved-RoPE order -> HF rotate-half order, per head: within each group of `headDim` rows of
 * `rowBytes` bytes, new row t*headDim/2 + i = old row 2i + t (evens, then odds).
 */
export function permuteRope(src: Uint8Array, heads: number, headDim: number, rowBytes: number): Uint8Array {
  if (src.byteLength !== heads * headDim * rowBytes) throw new ChameleonError(`permuteRope: ${src.byteLength} bytes is not ${heads} x ${headDim} rows of ${rowBytes} bytes`);
  const out = new Uint8Array(src.byteLength);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < headDim; j++) {
      const old = j < half ? 2 * j : 2 * (j - half) + 1;
      const s = (h * headDim + old) * rowBytes;
      out.set(src.subarray(s, s + rowBytes), (h * headDim + j) * rowBytes);
    }
  }
  return out;
}

/** Replicated tensors (RMSNorm γ) of several shards: identical bytes -> as is, else the mean (as HF does). */
function mergeReplicated(parts: readonly Uint8Array[], dtype: StDType, name: string, warnings: string[]): Uint8Array {
  if (parts.every((p) => p.length === parts[0].length && p.every((b, i) => b === parts[0][i]))) return parts[0];
  warnings.push(`${name}: model-parallel shards hold different values; using their mean (as the HF converter does)`);
  const vals = parts.map((p) => widenToF32(p, dtype, name, 'shard'));
  const n = vals[0].length;
  const mean = new Float32Array(n);
  for (let i = 0; i < n; i++) mean[i] = vals.reduce((s, v) => s + v[i], 0) / vals.length;
  if (dtype === 'F32') return new Uint8Array(mean.buffer);
  if (dtype === 'BF16') return new Uint8Array(Uint16Array.from(mean, f32ToBf16).buffer);
  if (dtype === 'F16') return new Uint8Array(Uint16Array.from(mean, f32ToF16).buffer);
  throw new FormatError(`${name}: cannot average shards of dtype ${dtype}`);
}

// ---------------------------------------------------------------------------------------------------

/** Converts a Meta Chameleon release folder into a Hugging Face model folder. */
export async function convertMeta(metaDir: string, outDir: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  const { modelDir, find } = locate(metaDir, opts.model);
  const params = readParams(modelDir);
  const tokenizerPath = find('text_tokenizer.json');
  const vqYamlPath = find('vqgan.yaml');
  const vqCkptPath = find('vqgan.ckpt');
  const files = shardFiles(modelDir);
  const warnings: string[] = [];
  const skipped: string[] = [];

  const dim = intParam(params, 'dim');
  const nLayers = intParam(params, 'n_layers');
  const H = intParam(params, 'n_heads');
  const K = params.n_kv_heads == null ? H : intParam(params, 'n_kv_heads');
  const N = files.length;
  const hd = dim / H;
  if (!Number.isInteger(hd) || hd % 2) throw new FormatError(`params.json: dim ${dim} / n_heads ${H} must be an even integer head size`);
  if (H % K) throw new FormatError(`params.json: n_kv_heads ${K} must divide n_heads ${H}`);
  if (H % N || K % N) throw new FormatError(`${N} model-parallel shards cannot split ${H} heads / ${K} KV heads evenly`);
  if (params.qk_normalization === false) throw new FormatError('params.json: qk_normalization is false; Chameleon (HF) models always have q/k LayerNorms');
  const ropeTheta = numParam(params, 'rope_theta', 10000);
  const normEps = numParam(params, 'norm_eps', 1e-5);
  if (params.swin_norm !== undefined && typeof params.swin_norm !== 'boolean') throw new FormatError('params.json: "swin_norm" must be true or false');

  const shards: TorchCheckpoint[] = [];
  let vq: TorchCheckpoint | null = null;
  try {
    for (const f of files) shards.push(TorchCheckpoint.open(f));
    vq = TorchCheckpoint.open(vqCkptPath);

    // Shape checks per shard, with the expected shapes of one shard.
    const emb0 = shards[0].get('tok_embeddings.weight');
    const vocab = emb0.shape[0];
    const dtype = emb0.dtype;
    const w10 = shards[0].get('layers.0.feed_forward.w1.weight');
    const ffn = w10.shape[0] * N;
    const formula = ffnSize(dim, intParam(params, 'multiple_of', 256), typeof params.ffn_dim_multiplier === 'number' ? params.ffn_dim_multiplier : undefined);
    if (ffn !== formula) warnings.push(`feed-forward width from the weights (${ffn}) differs from the params.json formula (${formula}); using ${ffn}`);
    if (typeof params.vocab_size === 'number' && params.vocab_size > 0 && params.vocab_size !== vocab) {
      throw new FormatError(`params.json: vocab_size ${params.vocab_size} but tok_embeddings.weight has ${vocab} rows`);
    }
    const expect = new Map<string, number[]>([
      ['tok_embeddings.weight', [vocab, dim / N]],
      ['norm.weight', [dim]],
      ['output.weight', [vocab / N, dim]],
    ]);
    for (let l = 0; l < nLayers; l++) {
      const p = `layers.${l}.`;
      expect.set(`${p}attention.wq.weight`, [(H / N) * hd, dim]);
      expect.set(`${p}attention.wk.weight`, [(K / N) * hd, dim]);
      expect.set(`${p}attention.wv.weight`, [(K / N) * hd, dim]);
      expect.set(`${p}attention.wo.weight`, [dim, dim / N]);
      for (const q of ['q', 'k']) for (const wb of ['weight', 'bias']) expect.set(`${p}attention.${q}_normalization.${wb}`, [hd]);
      expect.set(`${p}feed_forward.w1.weight`, [ffn / N, dim]);
      expect.set(`${p}feed_forward.w3.weight`, [ffn / N, dim]);
      expect.set(`${p}feed_forward.w2.weight`, [dim, ffn / N]);
      expect.set(`${p}attention_norm.weight`, [dim]);
      expect.set(`${p}ffn_norm.weight`, [dim]);
    }
    shards.forEach((s, i) => {
      const problems: string[] = [];
      for (const [name, shape] of expect) {
        if (!s.has(name)) problems.push(`missing ${name}`);
        else {
          const t = s.get(name);
          if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) problems.push(`${name}: expected ${fmtShape(shape)}, found ${fmtShape(t.shape)}`);
          if (t.dtype !== dtype) problems.push(`${name}: dtype ${t.dtype}, the others are ${dtype}`);
        }
      }
      if (problems.length) {
        const shown = problems.slice(0, 12).join('\n  ') + (problems.length > 12 ? `\n  ... (${problems.length - 12} more)` : '');
        throw new FormatError(`${files[i]}: does not match params.json (dim ${dim}, ${nLayers} layers, ${H} heads, ${K} KV heads, ${N} shard(s)):\n  ${shown}`);
      }
      for (const name of s.tensors().keys()) if (!expect.has(name)) skipped.push(`${path.basename(files[i])}:${name}`);
      for (const k of s.skipped) skipped.push(`${path.basename(files[i])}:${k}`);
    });

    const el = ST_DTYPES[dtype].bytes;
    const read = (name: string): Uint8Array[] => shards.map((s) => s.readBytes(name));
    const out: OutTensor[] = [];
    const add = (name: string, shape: number[], make: () => Uint8Array, dt: StDType = dtype): void => {
      out.push({ name, dtype: dt, shape, make });
    };
    /** q/k LayerNorm γ or β: each shard's vector permuted, then repeated for that shard's heads. */
    const qkNorm = (name: string, heads: number): Uint8Array => {
      const per = heads / N;
      return concat(read(name).flatMap((v) => new Array<Uint8Array>(per).fill(permuteRope(v, 1, hd, el))));
    };

    add('model.embed_tokens.weight', [vocab, dim], () => concatCols(read('tok_embeddings.weight'), vocab));
    for (let l = 0; l < nLayers; l++) {
      const m = `layers.${l}.`;
      const o = `model.layers.${l}.`;
      add(`${o}self_attn.q_proj.weight`, [H * hd, dim], () => permuteRope(concat(read(`${m}attention.wq.weight`)), H, hd, dim * el));
      add(`${o}self_attn.k_proj.weight`, [K * hd, dim], () => permuteRope(concat(read(`${m}attention.wk.weight`)), K, hd, dim * el));
      add(`${o}self_attn.v_proj.weight`, [K * hd, dim], () => concat(read(`${m}attention.wv.weight`)));
      add(`${o}self_attn.o_proj.weight`, [dim, dim], () => concatCols(read(`${m}attention.wo.weight`), dim));
      add(`${o}self_attn.q_norm.weight`, [H, hd], () => qkNorm(`${m}attention.q_normalization.weight`, H));
      add(`${o}self_attn.q_norm.bias`, [H, hd], () => qkNorm(`${m}attention.q_normalization.bias`, H));
      add(`${o}self_attn.k_norm.weight`, [K, hd], () => qkNorm(`${m}attention.k_normalization.weight`, K));
      add(`${o}self_attn.k_norm.bias`, [K, hd], () => qkNorm(`${m}attention.k_normalization.bias`, K));
      add(`${o}mlp.gate_proj.weight`, [ffn, dim], () => concat(read(`${m}feed_forward.w1.weight`)));
      add(`${o}mlp.up_proj.weight`, [ffn, dim], () => concat(read(`${m}feed_forward.w3.weight`)));
      add(`${o}mlp.down_proj.weight`, [dim, ffn], () => concatCols(read(`${m}feed_forward.w2.weight`), dim));
      add(`${o}input_layernorm.weight`, [dim], () => mergeReplicated(read(`${m}attention_norm.weight`), dtype, `${m}attention_norm.weight`, warnings));
      add(`${o}post_attention_layernorm.weight`, [dim], () => mergeReplicated(read(`${m}ffn_norm.weight`), dtype, `${m}ffn_norm.weight`, warnings));
    }
    add('model.norm.weight', [dim], () => mergeReplicated(read('norm.weight'), dtype, 'norm.weight', warnings));
    add('lm_head.weight', [vocab, dim], () => concat(read('output.weight')));

    // VQGAN: encoder side into model.safetensors (as HF), decoder + post_quant_conv into vq_decoder.safetensors.
    const vqCk = vq;
    const decoder: OutTensor[] = [];
    const ENCODER_SIDE = /^(encoder|quant_conv|quantize|post_quant_conv)\./;
    for (const [k, t] of vqCk.tensors()) {
      const make = (): Uint8Array => vqCk.readBytes(k);
      const shape = [...t.shape];
      if (ENCODER_SIDE.test(k)) out.push({ name: `model.vqmodel.${k}`, dtype: t.dtype, shape, make });
      if (/^(decoder|post_quant_conv)\./.test(k)) decoder.push({ name: `model.vqmodel.${k}`, dtype: t.dtype, shape, make });
      if (!ENCODER_SIDE.test(k) && !k.startsWith('decoder.')) skipped.push(`vqgan.ckpt:${k}`);
    }
    for (const k of vqCk.skipped) skipped.push(`vqgan.ckpt:${k}`);
    for (const need of ['quantize.embedding.weight', 'encoder.conv_in.weight', 'quant_conv.weight', 'post_quant_conv.weight']) {
      if (!vqCk.has(need)) throw new FormatError(`${vqCkptPath}: no "${need}" in its state_dict (not a Chameleon VQGAN checkpoint?)`);
    }
    if (!decoder.some((t) => t.name.includes('.decoder.'))) warnings.push(`${vqCkptPath}: no decoder weights; ${VQ_DECODER_FILE} holds post_quant_conv only`);

    // Tokenizer and config.
    const tok = readTokenizer(tokenizerPath, warnings);
    const vqCfg = readVqYaml(vqYamlPath);
    const hf: Json = {
      model_type: 'chameleon',
      architectures: ['ChameleonForConditionalGeneration'],
      hidden_size: dim,
      intermediate_size: ffn,
      num_attention_heads: H,
      num_hidden_layers: nLayers,
      num_key_value_heads: K,
      rms_norm_eps: normEps,
      rope_theta: ropeTheta,
      max_position_embeddings: ropeTheta > 10000 ? 16384 : 4096,
      model_parallel_size: typeof params.model_parallel_size === 'number' ? params.model_parallel_size : N,
      swin_norm: params.swin_norm === true,
      vocab_size: vocab,
      attention_bias: false,
      mlp_bias: false,
      tie_word_embeddings: false,
      hidden_act: 'silu',
      torch_dtype: TORCH_DTYPE_NAMES[dtype] ?? null,
      bos_token_id: tok.vocab['<s>'] ?? 0,
      pad_token_id: tok.vocab['<pad>'] ?? 1,
      eos_token_id: tok.vocab['</s>'] ?? 2,
      vq_config: vqCfg,
      vocabulary_map: tok.vocab,
    };
    const config = parseHfConfig(hf);
    for (const w of config.warnings) warnings.push(`config: ${w}`);

    // Write.
    fs.mkdirSync(outDir, { recursive: true });
    const total = [...out, ...decoder].reduce((s, t) => s + bytesOf(t), 0);
    const MiB = 1 << 20;
    const stream = opts.progressStream !== undefined ? opts.progressStream : total >= 256 * MiB ? process.stderr : null;
    const bar = new ProgressBar({ total: Math.ceil(total / MiB), label: 'convert', unit: 'MiB', stream });
    let done = 0;
    const materialize = (t: OutTensor): TensorToWrite => {
      const data = t.make();
      if (data.byteLength !== bytesOf(t)) throw new ChameleonError(`internal: ${t.name} made ${data.byteLength} bytes, expected ${bytesOf(t)}`);
      return { name: t.name, dtype: t.dtype, shape: t.shape, data };
    };
    const tick = (name: string, bytes: number): void => {
      done += bytes;
      bar.tick(Math.floor(done / MiB) - bar.completed);
      opts.onProgress?.({ done, total, tensor: name });
    };
    const written = writeModel(outDir, out, opts.maxShardBytes ?? 5e9, materialize, tick);
    writeSafetensors(path.join(outDir, VQ_DECODER_FILE), decoder.map((t) => {
      const w = materialize(t);
      tick(t.name, bytesOf(t));
      return w;
    }));
    bar.finish();
    fs.writeFileSync(path.join(outDir, 'config.json'), JSON.stringify(toHfConfigJson(config), null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, 'tokenizer.json'), tok.text);
    return {
      outDir,
      config,
      files: [...written, VQ_DECODER_FILE, 'config.json', 'tokenizer.json'],
      inputShards: N,
      tensors: out.length,
      skipped,
      warnings,
    };
  } finally {
    for (const s of shards) s.close();
    vq?.close();
  }
}

function bytesOf(t: OutTensor): number {
  return t.shape.reduce((a, b) => a * b, 1) * ST_DTYPES[t.dtype].bytes;
}

/**
 * Writes model.safetensors or HF shards + index, planning shards like save_pretrained (in order; a new shard
 * when the next tensor would overflow) and materializing one shard's tensors at a time.
 */
function writeModel(
  dir: string,
  tensors: readonly OutTensor[],
  maxShard: number,
  materialize: (t: OutTensor) => TensorToWrite,
  tick: (name: string, bytes: number) => void,
): string[] {
  const plan: OutTensor[][] = [];
  let cur: OutTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    const b = bytesOf(t);
    if (size + b > maxShard && cur.length) {
      plan.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += b;
  }
  if (cur.length) plan.push(cur);
  const n = plan.length;
  const names = n <= 1 ? [SINGLE_FILE] : plan.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`);
  const weightMap: Record<string, string> = {};
  plan.forEach((shard, i) => {
    writeSafetensors(path.join(dir, names[i]), shard.map((t) => {
      const w = materialize(t);
      tick(t.name, bytesOf(t));
      return w;
    }));
    for (const t of shard) weightMap[t.name] = names[i];
  });
  if (n > 1) {
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(weightMap).sort()) sorted[k] = weightMap[k];
    const totalSize = tensors.reduce((s, t) => s + bytesOf(t), 0);
    fs.writeFileSync(path.join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sorted }, null, 2) + '\n');
  }
  // Leftovers of an earlier conversion into the same folder would make it ambiguous.
  const keep = new Set(n > 1 ? [...names, INDEX_FILE] : names);
  for (const f of fs.readdirSync(dir)) {
    if (!keep.has(f) && (f === SINGLE_FILE || f === INDEX_FILE || SHARD_RE.test(f))) fs.rmSync(path.join(dir, f), { force: true });
  }
  return n > 1 ? [...names, INDEX_FILE] : names;
}

/** text_tokenizer.json -> its vocabulary (with <reserved08707> renamed <image>, as HF does) and the file to write. */
function readTokenizer(file: string, warnings: string[]): { vocab: Record<string, number>; text: string } {
  const raw = fs.readFileSync(file, 'utf8');
  const json = readJsonFile(file);
  const model = isRecord(json) ? json.model : undefined;
  const vocabIn = isRecord(model) ? model.vocab : undefined;
  if (!isRecord(vocabIn)) throw new FormatError(`${file}: no model.vocab object (not a Hugging Face tokenizers JSON file)`);
  const vocab: Record<string, number> = {};
  for (const [k, v] of Object.entries(vocabIn)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new FormatError(`${file}: model.vocab["${k}"] is not a token id`);
    vocab[k === '<reserved08707>' ? '<image>' : k] = v;
  }
  if (!('<reserved08707>' in vocabIn)) {
    warnings.push(`${file}: no <reserved08707> token to rename to <image>`);
    return { vocab, text: raw };
  }
  // Rename in the text so the rest of the file stays byte-identical; fall back to re-serializing.
  const text = raw.split('"<reserved08707>"').join('"<image>"');
  try {
    const check = JSON.parse(text) as { model: { vocab: Record<string, number> } };
    if (check.model.vocab['<image>'] === vocabIn['<reserved08707>'] && !('<reserved08707>' in check.model.vocab)) return { vocab, text };
  } catch {
    // fall through
  }
  const obj = json as Json & { model: Json; added_tokens?: unknown };
  obj.model.vocab = vocab;
  if (Array.isArray(obj.added_tokens)) {
    for (const t of obj.added_tokens) if (isRecord(t) && t.content === '<reserved08707>') t.content = '<image>';
  }
  return { vocab, text: JSON.stringify(obj) };
}

/** vqgan.yaml (taming-transformers) -> HF vq_config: model.params with ddconfig flattened, loss config dropped. */
function readVqYaml(file: string): Json {
  const doc = parseYamlSubset(fs.readFileSync(file, 'utf8'), file);
  const model = isRecord(doc) ? doc.model : undefined;
  const params = isRecord(model) ? model.params : undefined;
  if (!isRecord(params)) throw new FormatError(`${file}: no model.params mapping (not a taming-transformers VQGAN config)`);
  const dd = params.ddconfig;
  if (!isRecord(dd)) throw new FormatError(`${file}: model.params has no ddconfig mapping`);
  const out: Json = { ...params, ...dd };
  for (const k of ['ddconfig', 'lossconfig', 'ckpt_path', 'ignore_keys', 'image_key', 'monitor', 'colorize_nlabels', 'remap', 'sane_index_shape']) delete out[k];
  if (out.attn_resolutions === null) out.attn_resolutions = [];
  return out;
}
