// Writes a complete, random-weight Chameleon directory in a second or two, for trying every command on
// a fresh clone: a byte-level BPE trained on a built-in corpus (Chameleon's id layout, 64 image
// codes), the `tiny` transformer over that vocabulary, and a random `tiny` VQGAN (encoder in
// model.safetensors, decoder in vq_decoder.safetensors; 32×32 images -> 4×4 codes). It generates
// noise, not sense: the point is the layout, exactly as the commands read a real checkpoint.

import type { Engine } from '../engine/engine.js';
import type { TensorToWrite } from '../io/safetensors.js';
import { trainChameleonTokenizer } from '../tokenizers/chameleon-tokenizer.js';
import { TINY_VQGAN } from '../tokenizers/image/config.js';
import { Vqgan, VQ_CHECKPOINT_PREFIX } from '../tokenizers/image/vqgan.js';
import { presetConfig } from './config.js';
import { writeModelDirectory, type ModelDirResult } from './model-dir.node.js';

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

/** Builds the tiny model and writes config.json, model.safetensors, vq_decoder.safetensors and tokenizer.json into dir. */
export function writeTinyModel(engine: Engine, dir: string, opts: TinyModelOptions = {}): ModelDirResult {
  const seed = opts.seed ?? 0;
  const codebook = TINY_VQGAN.numEmbeddings;
  // specials + 64 image codes + sentinels/reserved + 256 bytes + a few merges
  const tok = trainChameleonTokenizer(TINY_CORPUS, { codebookSize: codebook, vocabSize: codebook + 4 + 2 + 2 + 256 + 48, minFrequency: 1, progress: null });
  const vq = new Vqgan(engine, TINY_VQGAN, { encoder: true, decoder: true });
  vq.initialize(seed + 1);
  const vqTensors: TensorToWrite[] = vq.store.names().map((n) => {
    const t = vq.store.get(n);
    return { name: VQ_CHECKPOINT_PREFIX + n, dtype: 'f32' as const, shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) };
  });
  return writeModelDirectory(engine, dir, { config: presetConfig('tiny'), tokenizerJson: tok.json, vocabularyMap: tok.vocab.toVocabularyMap(), vq: TINY_VQGAN, vqTensors, seed }, { force: opts.force });
}
