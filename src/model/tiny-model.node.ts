// Writes a complete, random-weight Chameleon directory in a second or two, for trying every command on
// a fresh clone: a byte-level BPE trained on a built-in corpus (Chameleon's id layout, 64 image
// codes), the `tiny` transformer over that vocabulary, and a random `tiny` VQGAN (encoder in
// model.safetensors, decoder in vq_decoder.safetensors; 32×32 images -> 4×4 codes). It generates
// noise, not sense: the point is the layout, exactly as the commands read a real checkpoint.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import { writeSafetensors } from '../io/safetensors.node.js';
import type { TensorToWrite } from '../io/safetensors.js';
import { trainChameleonTokenizer } from '../tokenizers/chameleon-tokenizer.js';
import { TINY_VQGAN } from '../tokenizers/image/config.js';
import { VQ_DECODER_FILE } from '../tokenizers/image/load.node.js';
import { Vqgan, VQ_CHECKPOINT_PREFIX } from '../tokenizers/image/vqgan.js';
import { ChameleonModel } from './chameleon.js';
import { saveChameleon } from './checkpoint.node.js';
import { DEFAULT_VQ, presetConfig, type ChameleonConfig } from './config.js';

/** The sentences the tiny tokenizer is trained on (its merges; any text still encodes byte by byte). */
const TINY_CORPUS: readonly string[] = [
  'a red circle on the left',
  'a blue square at the top',
  'the green triangle is small',
  'draw a yellow star please',
  'what colour is the circle?',
  'describe this image in one sentence.',
  'hello world, this is chameleon-ts',
  'a photo of a cat sitting on a mat',
];

export interface TinyModelOptions {
  /** Seed of the transformer and VQGAN weights (default 0). */
  seed?: number;
  /** Overwrite a directory that already has files (default: refuse). */
  force?: boolean;
}

export interface TinyModelResult {
  dir: string;
  files: string[];
  config: ChameleonConfig;
}

/** Builds the tiny model and writes config.json, model.safetensors, vq_decoder.safetensors and tokenizer.json into dir. */
export function writeTinyModel(engine: Engine, dir: string, opts: TinyModelOptions = {}): TinyModelResult {
  const seed = opts.seed ?? 0;
  if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.force) throw new ChameleonError(`${dir} already exists and is not empty (pass --force to overwrite)`);
  const codebook = TINY_VQGAN.numEmbeddings;
  // specials + 64 image codes + sentinels/reserved + 256 bytes + a few merges
  const tok = trainChameleonTokenizer(TINY_CORPUS, { codebookSize: codebook, vocabSize: codebook + 4 + 2 + 2 + 256 + 48, minFrequency: 1, progress: null });
  const base = presetConfig('tiny');
  const config = {
    ...base,
    vocabSize: tok.vocab.size,
    vocabularyMap: tok.vocab.toVocabularyMap(),
    vqConfig: { ...DEFAULT_VQ, ...TINY_VQGAN, channelMultiplier: [...TINY_VQGAN.channelMultiplier], attnResolutions: [...TINY_VQGAN.attnResolutions], extra: {} },
    imageTokenId: null,
    boiTokenId: null,
    eoiTokenId: null,
    warnings: [],
  } as ChameleonConfig;
  const vq = new Vqgan(engine, TINY_VQGAN, { encoder: true, decoder: true });
  vq.initialize(seed + 1);
  const encoderSide: TensorToWrite[] = [];
  const decoderSide: TensorToWrite[] = [];
  for (const n of vq.store.names()) {
    const t = vq.store.get(n);
    const entry = { name: VQ_CHECKPOINT_PREFIX + n, dtype: 'f32' as const, shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) };
    (n.startsWith('decoder.') ? decoderSide : encoderSide).push(entry);
  }
  mkdirSync(dir, { recursive: true });
  const model = ChameleonModel.create(engine, config, seed);
  saveChameleon(model, dir, { extraTensors: encoderSide });
  writeSafetensors(join(dir, VQ_DECODER_FILE), decoderSide);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok.json));
  return { dir, files: ['config.json', 'model.safetensors', VQ_DECODER_FILE, 'tokenizer.json'], config };
}
