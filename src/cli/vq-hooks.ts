// Wires the image tokenizer into `chameleon parity` once it exists: returns hooks that encode the
// fixture image and decode codes with the VQGAN loaded from the fixture directory, or null when the
// directory has no VQ weights. (Filled in when the VQGAN lands.)

import type { Engine } from '../engine/engine.js';
import type { VqParityHooks } from '../eval/parity.js';

export async function vqParityHooks(_engine: Engine, _dir: string): Promise<VqParityHooks | null> {
  return null;
}
