// Hugging Face checkpoint directories for Chameleon: load (config.json + safetensors, single or
// sharded; bf16/f16 matrices kept as stored for inference, or widened to f32) and save (config.json + model.safetensors, sharded
// above a size) in the layout transformers' ChameleonForConditionalGeneration.from_pretrained reads.
// Node adapter: all file access of the model layer lives here.

import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError, FormatError } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import { isScalarDType, type DType, type ScalarDType } from '../engine/dtype.js';
import { openSafetensors, saveSharded, type SafetensorsArchive } from '../io/safetensors.node.js';
import { readJsonFile } from '../io/json-file.node.js';
import type { TensorToWrite } from '../io/safetensors.js';
import { ParamStore, storedMatrices } from '../nn/params.js';
import { ChameleonModel } from './chameleon.js';
import { parseHfConfig, toHfConfigJson, type ChameleonConfig } from './config.js';

export interface LoadModelOptions {
  /**
   * 'keep' (default): weight matrices stay in the checkpoint's dtype, so a bf16 checkpoint occupies
   * its bf16 size and is never widened (inference: generate, logits; bf16 matrices are not trainable,
   * which suits a LoRA over a frozen base). Norms are f32 either way. 'f32': every tensor is widened
   * (full training, and parity against references that computed with f32 weights: the bf16 matvec
   * sums in another order than the f32 one, so half-precision weights are close but not bit-equal).
   */
  weights?: 'f32' | 'keep';
  onTensor?: (name: string, bytes: number) => void;
}

/** Reads and validates `<dir>/config.json`. */
export function readConfig(dir: string): ChameleonConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new FormatError(`${dir}: no config.json (is this a Hugging Face Chameleon directory?)`);
  return parseHfConfig(readJsonFile(path));
}

/** Loads a Chameleon language model from a Hugging Face directory (the VQ model is ignored here). */
export function loadChameleon(engine: Engine, dir: string, opts: LoadModelOptions = {}): ChameleonModel {
  const config = readConfig(dir);
  let archive: SafetensorsArchive | null = null;
  try {
    archive = openSafetensors(dir);
    // The storage dtype of every matrix is decided from the archive's header before anything is
    // allocated, so a kept bf16 matrix is allocated once, at bf16 size, and read in place.
    const matrices = (opts.weights ?? 'keep') === 'keep' ? storedMatrices(archive) : 'f32';
    const store = new ParamStore(engine, { matrices });
    const model = new ChameleonModel(engine, config, store);
    store.load(archive, { ignore: (n) => n.startsWith('model.vqmodel.'), onTensor: opts.onTensor });
    return model;
  } finally {
    archive?.close();
  }
}

export interface SaveModelOptions {
  /** Shard above this many bytes (HF default 5 GB). */
  maxShardBytes?: number;
  /** Extra tensors to write alongside (e.g. `model.vqmodel.*` of the image tokenizer). */
  extraTensors?: TensorToWrite[];
}

/** Safetensors holds scalar types only: a blocked (quantized) parameter is refused by name. */
function scalarOrRefuse(name: string, dtype: DType): ScalarDType {
  if (!isScalarDType(dtype)) throw new ChameleonError(`saveChameleon: ${name} is stored as ${dtype}, which a Hugging Face safetensors file cannot hold; dequantize it first`);
  return dtype;
}

/** The model's parameters as safetensors entries, in their storage dtype (copied bytes). */
export function parameterTensors(model: ChameleonModel): TensorToWrite[] {
  return model.params.list().map((t) => ({
    name: t.name,
    dtype: scalarOrRefuse(t.name, t.dtype),
    shape: [...t.shape],
    data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice(),
  }));
}

/** Writes config.json and the weights (f32 as stored, or the stored half dtype) into dir. */
export function saveChameleon(model: ChameleonModel, dir: string, opts: SaveModelOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const tensors = parameterTensors(model);
  for (const t of opts.extraTensors ?? []) {
    if (tensors.some((x) => x.name === t.name)) throw new ChameleonError(`saveChameleon: tensor ${t.name} given twice`);
    tensors.push(t);
  }
  saveSharded(dir, tensors, { maxShardBytes: opts.maxShardBytes });
  const cfgJson = toHfConfigJson({ ...model.config, torchDtype: model.params.list()[0]?.dtype === 'bf16' ? 'bfloat16' : 'float32' } as ChameleonConfig);
  const tmp = join(dir, `.config.json.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(cfgJson, null, 2) + '\n');
  renameSync(tmp, join(dir, 'config.json'));
}
