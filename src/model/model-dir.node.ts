// Writes complete Chameleon model directories from parts: a transformer config (a preset), a
// tokenizer.json with its vocabulary map, and a VQGAN's `model.vqmodel.*` tensors (encoder side in
// model.safetensors beside the language model, decoder in vq_decoder.safetensors, as loadVqgan reads
// them). `assembleModelDir` takes the outputs of `chameleon train tokenizer` and `chameleon train vq`
// (random language-model weights: `chameleon data build` and `train lm` need the tokenizers); the tiny
// model of `init-tiny` is written the same way. Leaves out: training any of the parts.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import { readJsonFile } from '../io/json-file.node.js';
import { readTensors, writeSafetensors } from '../io/safetensors.node.js';
import type { TensorToWrite } from '../io/safetensors.js';
import { vqganConfigFromHf, type VqganConfig } from '../tokenizers/image/config.js';
import { VQ_DECODER_FILE } from '../tokenizers/image/load.node.js';
import { VQ_CHECKPOINT_PREFIX } from '../tokenizers/image/vqgan.js';
import { Vocabulary } from '../tokenizers/vocab.js';
import { ChameleonModel } from './chameleon.js';
import { saveChameleon } from './checkpoint.node.js';
import { DEFAULT_VQ, presetConfig, type ChameleonConfig } from './config.js';

export interface ModelDirParts {
  /** Transformer config; vocabSize, vocabularyMap and vqConfig are set from the parts. */
  config: ChameleonConfig;
  tokenizerJson: unknown;
  vocabularyMap: Record<string, number>;
  vq: VqganConfig;
  /** `model.vqmodel.*` tensors, full names (any order; split into encoder and decoder side here). */
  vqTensors: TensorToWrite[];
  /** Seed of the random language-model weights. */
  seed: number;
}

export interface ModelDirResult {
  dir: string;
  files: string[];
  config: ChameleonConfig;
}

function refuseNonEmpty(dir: string, force: boolean): void {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !force) throw new ChameleonError(`${dir} already exists and is not empty (pass --force to overwrite)`);
}

/** Writes config.json, model.safetensors (LM + VQ encoder side), vq_decoder.safetensors and tokenizer.json. */
export function writeModelDirectory(engine: Engine, dir: string, parts: ModelDirParts, opts: { force?: boolean } = {}): ModelDirResult {
  refuseNonEmpty(dir, opts.force ?? false);
  const vocabSize = Math.max(...Object.values(parts.vocabularyMap)) + 1;
  const vq = parts.vq;
  const config = {
    ...parts.config,
    vocabSize,
    vocabularyMap: parts.vocabularyMap,
    vqConfig: { ...DEFAULT_VQ, ...vq, channelMultiplier: [...vq.channelMultiplier], attnResolutions: [...vq.attnResolutions], extra: {} },
    imageTokenId: null,
    boiTokenId: null,
    eoiTokenId: null,
    warnings: [],
  } as ChameleonConfig;
  const decoder = `${VQ_CHECKPOINT_PREFIX}decoder.`;
  const encoderSide = parts.vqTensors.filter((t) => !t.name.startsWith(decoder));
  const decoderSide = parts.vqTensors.filter((t) => t.name.startsWith(decoder));
  mkdirSync(dir, { recursive: true });
  const model = ChameleonModel.create(engine, config, parts.seed);
  saveChameleon(model, dir, { extraTensors: encoderSide });
  writeSafetensors(join(dir, VQ_DECODER_FILE), decoderSide);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(parts.tokenizerJson));
  return { dir, files: ['config.json', 'model.safetensors', VQ_DECODER_FILE, 'tokenizer.json'], config };
}

export interface AssembleOptions {
  /** `chameleon train tokenizer --out` directory: tokenizer.json + vocabulary_map.json. */
  tokenizer: string;
  /** `chameleon train vq --out` directory: config.json (vq_config) + model.safetensors (model.vqmodel.*). */
  vq: string;
  /** Transformer preset (src/model/config.ts) for the (random) language model; default small. */
  preset?: string;
  seed?: number;
  force?: boolean;
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new ChameleonError(`${path}: missing (${what})`);
  return readJsonFile(path);
}

/**
 * A complete model directory from a trained tokenizer and a trained VQGAN, with random transformer
 * weights of `preset`: what `chameleon data build --model` and `train lm --data` need. Refuses a
 * tokenizer whose image-code count is not the VQGAN's codebook size.
 */
export function assembleModelDir(engine: Engine, out: string, opts: AssembleOptions): ModelDirResult {
  const tokenizerJson = readJson(join(opts.tokenizer, 'tokenizer.json'), 'a `chameleon train tokenizer` output directory has tokenizer.json');
  const map = readJson(join(opts.tokenizer, 'vocabulary_map.json'), 'a `chameleon train tokenizer` output directory has vocabulary_map.json') as Record<string, number>;
  const vocab = Vocabulary.fromVocabularyMap(map, { source: join(opts.tokenizer, 'vocabulary_map.json') });
  const vqJson = readJson(join(opts.vq, 'config.json'), 'a `chameleon train vq` output directory has config.json') as { vq_config?: unknown };
  if (!vqJson.vq_config) throw new ChameleonError(`${join(opts.vq, 'config.json')}: no vq_config (not a VQGAN training output)`);
  const vq = vqganConfigFromHf(vqJson.vq_config);
  if (vq.numEmbeddings !== vocab.codebookSize) {
    throw new ChameleonError(`--vq ${opts.vq} has ${vq.numEmbeddings} codes but the tokenizer reserves ${vocab.codebookSize} image ids; train the tokenizer with --codebook-size ${vq.numEmbeddings}`);
  }
  const file = join(opts.vq, 'model.safetensors');
  if (!existsSync(file)) throw new ChameleonError(`${file}: missing (the VQGAN's weights)`);
  const vqTensors = readTensors(file, (name) => name.startsWith(VQ_CHECKPOINT_PREFIX));
  if (vqTensors.length === 0) throw new ChameleonError(`${file}: no ${VQ_CHECKPOINT_PREFIX}* tensors`);
  const config = presetConfig(opts.preset ?? 'small');
  return writeModelDirectory(engine, out, { config, tokenizerJson, vocabularyMap: map, vq, vqTensors, seed: opts.seed ?? 0 }, { force: opts.force });
}
