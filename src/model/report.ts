// What a Chameleon checkpoint holds and what running it costs: the KV-cache dtype policy ('auto'
// keeps the cache in the precision the weight matrices are stored in), KV bytes per token for a
// dtype, and the `inspect` report (config summary, parameters by group, dtypes, memory) built from a
// config and a tensor listing. Pure: reading the directory is the caller's (see checkpoint.node.ts).

import { ChameleonError } from '../util/errors.js';
import { DTYPES, type DType } from '../engine/dtype.js';
import { ST_DTYPES, isStDType } from '../io/safetensors.js';
import type { ChameleonModel } from './chameleon.js';
import { parameterCount, type ChameleonConfig, type ParameterCount } from './config.js';
import type { KVDType } from './kv-cache.js';

/** What a request asks for: a storage dtype, or 'auto' (follow the weights). */
export type KvDtypeChoice = 'auto' | KVDType;
export const KV_DTYPE_CHOICES: readonly KvDtypeChoice[] = ['auto', 'f32', 'bf16'];

/** The matrix that decides the policy: lm_head (or the embeddings it is tied to). */
const POLICY_MATRICES = ['lm_head.weight', 'model.embed_tokens.weight'] as const;

function isKvDtypeChoice(s: string): s is KvDtypeChoice {
  return (KV_DTYPE_CHOICES as readonly string[]).includes(s);
}

/**
 * The KV-cache storage for a request: f32/bf16 as asked; 'auto' gives bf16 when the weight matrices
 * are stored as bf16 (what HF does for a bf16 model), f32 otherwise (f32 and f16 weights).
 */
export function kvDtypeFor(choice: KvDtypeChoice, weightDtype: DType): KVDType {
  if (!isKvDtypeChoice(choice)) throw new ChameleonError(`KV dtype must be ${KV_DTYPE_CHOICES.join(', ')}, got '${String(choice)}'`);
  if (choice !== 'auto') return choice;
  return weightDtype === 'bf16' ? 'bf16' : 'f32';
}

/** Storage dtype of a loaded model's weight matrices (as loaded, not as the file had them). */
export function weightStorageDtype(model: ChameleonModel): DType {
  for (const name of POLICY_MATRICES) if (model.params.has(name)) return model.params.get(name).dtype;
  throw new ChameleonError('model has neither lm_head.weight nor model.embed_tokens.weight');
}

/** The KV dtype a loaded model gets for a request. */
export function kvDtypeForModel(choice: KvDtypeChoice, model: ChameleonModel): KVDType {
  return kvDtypeFor(choice, weightStorageDtype(model));
}

/** Bytes of keys + values one token takes in every layer. */
export function kvCacheBytesPerToken(cfg: ChameleonConfig, dtype: KVDType): number {
  return 2 * cfg.numHiddenLayers * cfg.numKeyValueHeads * cfg.headDim * DTYPES[dtype].bytes;
}

/** One tensor of a checkpoint listing (safetensors dtype spelling, e.g. 'BF16'). */
export interface TensorInfo {
  name: string;
  dtype: string;
  byteLength: number;
}

export interface InspectReport {
  dir: string;
  config: {
    layers: number;
    hidden: number;
    ffn: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    vocab: number;
    maxPositions: number;
    swinNorm: boolean;
    ropeTheta: number;
    imageCodes: number;
  };
  parameters: ParameterCount;
  dtypes: Record<string, { count: number; bytes: number }>;
  memory: {
    /** Stored dtype of lm_head (the matrices' precision), in engine spelling. */
    matrixDtype: DType | null;
    languageModelBytesAsStored: number;
    vqBytesAsStored: number;
    languageModelBytesF32: number;
    /** The cache `--kv-dtype auto` gives once the matrices are loaded in their stored precision. */
    kvCacheDtype: KVDType;
    kvCacheBytesPerToken: number;
    kvCacheBytesFullContext: number;
    kvCacheBytesPerTokenByDtype: Record<KVDType, number>;
  };
  warnings: string[];
}

function engineDtypeOf(stDtype: string): DType | null {
  return isStDType(stDtype) ? ST_DTYPES[stDtype].engine : null;
}

/** Builds the inspect report of a checkpoint from its config and tensor listing. */
export function inspectReport(dir: string, cfg: ChameleonConfig, tensors: Iterable<TensorInfo>, warnings: readonly string[] = []): InspectReport {
  const dtypes: Record<string, { count: number; bytes: number }> = {};
  let vqBytes = 0;
  let lmBytes = 0;
  const byName = new Map<string, string>();
  for (const t of tensors) {
    const d = (dtypes[t.dtype] ??= { count: 0, bytes: 0 });
    d.count++;
    d.bytes += t.byteLength;
    byName.set(t.name, t.dtype);
    if (t.name.startsWith('model.vqmodel.')) vqBytes += t.byteLength;
    else lmBytes += t.byteLength;
  }
  const policyName = POLICY_MATRICES.find((n) => byName.has(n));
  const matrixDtype = policyName ? engineDtypeOf(byName.get(policyName)!) : null;
  const kvCacheDtype = kvDtypeFor('auto', matrixDtype ?? 'f32');
  const pc = parameterCount(cfg);
  const perToken = kvCacheBytesPerToken(cfg, kvCacheDtype);
  return {
    dir,
    config: {
      layers: cfg.numHiddenLayers,
      hidden: cfg.hiddenSize,
      ffn: cfg.intermediateSize,
      heads: cfg.numAttentionHeads,
      kvHeads: cfg.numKeyValueHeads,
      headDim: cfg.headDim,
      vocab: cfg.vocabSize,
      maxPositions: cfg.maxPositionEmbeddings,
      swinNorm: cfg.swinNorm,
      ropeTheta: cfg.ropeTheta,
      imageCodes: Object.keys(cfg.vocabularyMap ?? {}).filter((n) => n.startsWith('IMGIMG')).length,
    },
    parameters: pc,
    dtypes,
    memory: {
      matrixDtype,
      languageModelBytesAsStored: lmBytes,
      vqBytesAsStored: vqBytes,
      languageModelBytesF32: pc.total * 4,
      kvCacheDtype,
      kvCacheBytesPerToken: perToken,
      kvCacheBytesFullContext: perToken * cfg.maxPositionEmbeddings,
      kvCacheBytesPerTokenByDtype: { f32: kvCacheBytesPerToken(cfg, 'f32'), bf16: kvCacheBytesPerToken(cfg, 'bf16') },
    },
    warnings: [...cfg.warnings, ...warnings],
  };
}
