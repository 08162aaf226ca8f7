// Builds a complete tiny Chameleon directory for end-to-end tests: a BPE tokenizer trained on a few
// sentences with Chameleon's id layout (64 image codes), a random-weight language model over that
// vocabulary, and the fixture's VQGAN (encoder in model.safetensors, decoder in
// vq_decoder.safetensors, 32×32 images → 4×4 codes). Saved exactly as `chameleon` commands read it.

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import type { DType } from '../../src/engine/dtype.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { parseHfConfig, presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { saveChameleon } from '../../src/model/checkpoint.node.js';
import { openSafetensors } from '../../src/io/safetensors.node.js';
import { trainChameleonTokenizer } from '../../src/tokenizers/chameleon-tokenizer.js';

const FIX = 'tests/fixtures/hf-chameleon/mha';
const CORPUS = [
  'a red circle on the left',
  'a blue square at the top',
  'the green triangle is small',
  'draw a yellow star please',
  'what colour is the circle?',
  'hello world, this is chameleon-ts',
];

/** `matrices`: storage of the language model's weight matrices as saved (bf16: a bf16 checkpoint). */
export function makeTinyBundle(dir: string, seed = 1, matrices: DType = 'f32'): ChameleonConfig {
  const tok = trainChameleonTokenizer(CORPUS, { codebookSize: 64, vocabSize: 64 + 4 + 2 + 2 + 256 + 40, minFrequency: 1, progress: null });
  const fixtureCfg = parseHfConfig(JSON.parse(readFileSync(join(FIX, 'config.json'), 'utf8')));
  const cfg = {
    ...presetConfig('tiny'),
    vocabSize: tok.vocab.size,
    vocabularyMap: tok.vocab.toVocabularyMap(),
    vqConfig: fixtureCfg.vqConfig,
    imageTokenId: null,
    boiTokenId: null,
    eoiTokenId: null,
    warnings: [],
  } as ChameleonConfig;
  const e = new Engine(createRefBackend());
  try {
    const model = ChameleonModel.create(e, cfg, seed, matrices);
    const src = openSafetensors(FIX);
    const extra = [...src.tensors().values()]
      .filter((t) => t.name.startsWith('model.vqmodel.'))
      .map((t) => ({ name: t.name, dtype: 'f32' as const, shape: [...t.shape], data: src.readBytes(t.name) }));
    src.close();
    saveChameleon(model, dir, { extraTensors: extra });
    copyFileSync(join(FIX, 'vq_decoder.safetensors'), join(dir, 'vq_decoder.safetensors'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok.json));
  } finally {
    e.dispose();
  }
  return cfg;
}
