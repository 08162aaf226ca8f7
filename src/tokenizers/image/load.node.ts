// Loads the VQGAN image tokenizer of a Hugging Face Chameleon directory: vq_config from config.json,
// encoder + quantizer from the model safetensors (`model.vqmodel.*`), and the decoder from
// `vq_decoder.safetensors` when present (HF checkpoints ship no decoder). Node adapter (fs).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../util/errors.js';
import type { Engine } from '../../engine/engine.js';
import { openSafetensors, type SafetensorsArchive } from '../../io/safetensors.node.js';
import { vqganConfigFromHf } from './config.js';
import { Vqgan, VQ_CHECKPOINT_PREFIX, combineSources } from './vqgan.js';

export const VQ_DECODER_FILE = 'vq_decoder.safetensors';

/** The directory's VQGAN, or null when its checkpoint holds no `model.vqmodel.*` tensors. */
export function loadVqgan(engine: Engine, dir: string): Vqgan | null {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new FormatError(`${dir}: no config.json`);
  const json = JSON.parse(readFileSync(cfgPath, 'utf8')) as { vq_config?: unknown };
  const archives: SafetensorsArchive[] = [];
  try {
    const main = openSafetensors(dir);
    archives.push(main);
    if (![...main.tensors().keys()].some((n) => n.startsWith(VQ_CHECKPOINT_PREFIX))) return null;
    if (existsSync(join(dir, VQ_DECODER_FILE))) archives.push(openSafetensors(join(dir, VQ_DECODER_FILE)));
    const cfg = vqganConfigFromHf(json.vq_config ?? {});
    const src = combineSources(...archives);
    const prefix = `${VQ_CHECKPOINT_PREFIX}`;
    return Vqgan.fromCheckpoint(engine, cfg, {
      tensors: () => new Map([...src.tensors()].filter(([n]) => n.startsWith(prefix))),
      readInto: (n, d) => src.readInto(n, d),
    });
  } finally {
    for (const a of archives) a.close();
  }
}
