// Wires the image tokenizer into `chameleon parity`: loads the fixture directory's VQGAN (encoder
// from the model file, decoder from vq_decoder.safetensors when present) and returns parity hooks,
// or null when the directory has no VQ weights.

import type { Engine } from '../engine/engine.js';
import type { VqParityHooks } from '../eval/parity.js';
import { vqHooks } from '../eval/parity-vq.js';
import { loadVqgan } from '../tokenizers/image/load.node.js';

export async function vqParityHooks(engine: Engine, dir: string): Promise<VqParityHooks | null> {
  const vq = loadVqgan(engine, dir);
  return vq ? vqHooks(vq) : null;
}
