// The demo model's recipe (`npm run train:demo`): sizes of the two worlds (shapes + emoji), the BPE,
// the VQ image tokenizer, the transformer, pre-training and SFT, as one typed object with two presets:
// `demo` (the shipped model, ≤ 90 minutes on 2 cores) and `smoke` (the same pipeline in about a
// minute, for tests). Every stage reads its part; the pipeline (pipeline.node.ts) runs them.

import { ChameleonError } from '../../util/errors.js';

export interface DemoRecipe {
  name: string;
  seed: number;
  world: {
    /** Shapes world: scenes, documents per scene, picture stories. */
    shapesScenes: number;
    shapesDocsPerScene: number;
    shapesStories: number;
    /** Emoji world: how many catalogue emoji (0 = all) and augmented copies per emoji. */
    emojiCount: number;
    emojiVariants: number;
  };
  tokenizer: { vocabSize: number; minFrequency: number };
  /**
   * The image tokenizer's training: preset, steps, batch, lr, losses; besides the worlds' training
   * images it sees `denseScenes` extra shapes pictures with 5-9 objects (every cell of the grid busy),
   * so each picture teaches more shape pixels than a sparse 1-3 object scene on white.
   */
  vq: { preset: string; steps: number; batch: number; lr: number; reconLoss: 'l1' | 'l2' | 'l1+l2'; codebookUpdate: 'gradient' | 'ema'; denseScenes: number };
  model: { hiddenSize: number; numHiddenLayers: number; numAttentionHeads: number; intermediateSize: number; maxPositionEmbeddings: number };
  pretrain: { steps: number; batch: number; seqLen: number; lr: number; warmupSteps: number; dropout: number; evalEvery: number; checkpointEvery: number };
  sft: { steps: number; batch: number; lr: number; dropout: number; checkpointEvery: number };
  /** Storage of the shipped weights (norms stay f32). */
  exportDtype: 'bf16' | 'f16' | 'f32';
  /** Test prompts per evaluator (0 = all). */
  evalLimit: number;
}

export const DEMO_RECIPES: Readonly<Record<string, DemoRecipe>> = {
  demo: {
    name: 'demo',
    seed: 0,
    world: { shapesScenes: 2500, shapesDocsPerScene: 8, shapesStories: 500, emojiCount: 0, emojiVariants: 1 },
    tokenizer: { vocabSize: 2048, minFrequency: 2 },
    vq: { preset: 'demo16', steps: 3000, batch: 4, lr: 2e-3, reconLoss: 'l1+l2', codebookUpdate: 'ema', denseScenes: 3000 },
    model: { hiddenSize: 256, numHiddenLayers: 6, numAttentionHeads: 8, intermediateSize: 704, maxPositionEmbeddings: 1280 },
    pretrain: { steps: 1800, batch: 2, seqLen: 1152, lr: 1.5e-3, warmupSteps: 100, dropout: 0.0, evalEvery: 200, checkpointEvery: 100 },
    sft: { steps: 250, batch: 2, lr: 5e-4, dropout: 0.0, checkpointEvery: 100 },
    exportDtype: 'bf16',
    evalLimit: 0,
  },
  smoke: {
    name: 'smoke',
    seed: 0,
    world: { shapesScenes: 60, shapesDocsPerScene: 4, shapesStories: 8, emojiCount: 24, emojiVariants: 1 },
    tokenizer: { vocabSize: 1400, minFrequency: 2 },
    vq: { preset: 'demo16', steps: 3, batch: 4, lr: 2e-3, reconLoss: 'l1+l2', codebookUpdate: 'ema', denseScenes: 16 },
    model: { hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 128, maxPositionEmbeddings: 512 },
    pretrain: { steps: 4, batch: 2, seqLen: 256, lr: 2e-3, warmupSteps: 1, dropout: 0.0, evalEvery: 2, checkpointEvery: 2 },
    sft: { steps: 2, batch: 2, lr: 5e-4, dropout: 0.0, checkpointEvery: 2 },
    exportDtype: 'bf16',
    evalLimit: 6,
  },
};

/** A copy of the named recipe, or a ChameleonError listing the known names. */
export function demoRecipe(name: string): DemoRecipe {
  const r = DEMO_RECIPES[name];
  if (!r) throw new ChameleonError(`--recipe: unknown recipe '${name}' (known: ${Object.keys(DEMO_RECIPES).join(', ')})`);
  return structuredClone(r);
}
