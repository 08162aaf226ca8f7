// Rewrites a model directory with its weight matrices in a half dtype (bf16 or f16: round to nearest
// even from the f32 values) for shipping: every tensor of rank ≥ 2 in model.safetensors and
// vq_decoder.safetensors is converted, 1-D tensors (norm weights, biases) stay f32, the other files
// are copied and config.json's torch_dtype says the new storage. Leaves out: quantized formats.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TYPE_TRAITS } from '../../engine/dtype.js';
import { openSafetensors, writeSafetensors } from '../../io/safetensors.node.js';
import type { TensorToWrite } from '../../io/safetensors.js';
import { ChameleonError } from '../../util/errors.js';

export interface DtypeConversion {
  dtype: 'bf16' | 'f16' | 'f32';
  /** Bytes per file written. */
  files: Record<string, number>;
  totalBytes: number;
  converted: number;
  keptF32: number;
}

const TORCH_DTYPE = { bf16: 'bfloat16', f16: 'float16', f32: 'float32' } as const;

function convertFile(src: string, dst: string, dtype: DtypeConversion['dtype'], counts: { converted: number; keptF32: number }): void {
  const a = openSafetensors(src);
  const tensors: TensorToWrite[] = [];
  try {
    for (const [name, e] of a.tensors()) {
      const values = a.readTensorF32(name);
      const n = values.length;
      if (dtype === 'f32' || e.shape.length < 2) {
        tensors.push({ name, dtype: 'f32', shape: e.shape, data: values });
        counts.keptF32++;
        continue;
      }
      const half = new Uint16Array(n);
      TYPE_TRAITS[dtype].fromF32(values, half, n);
      tensors.push({ name, dtype, shape: e.shape, data: half });
      counts.converted++;
    }
  } finally {
    a.close();
  }
  writeSafetensors(dst, tensors, { format: 'pt' });
}

/** Writes `src` (a model directory, one model.safetensors) to `out` with half-precision matrices. */
export function convertModelDtype(src: string, out: string, dtype: DtypeConversion['dtype']): DtypeConversion {
  if (!existsSync(join(src, 'config.json'))) throw new ChameleonError(`${src}: not a model directory (no config.json)`);
  if (existsSync(join(src, 'model.safetensors.index.json'))) throw new ChameleonError(`${src}: sharded checkpoints are not converted here (one model.safetensors expected)`);
  mkdirSync(out, { recursive: true });
  const counts = { converted: 0, keptF32: 0 };
  for (const f of readdirSync(src)) {
    const from = join(src, f);
    if (!statSync(from).isFile()) continue;
    if (f.endsWith('.safetensors')) convertFile(from, join(out, f), dtype, counts);
    else if (f === 'config.json') {
      const cfg = JSON.parse(readFileSync(from, 'utf8')) as Record<string, unknown>;
      cfg.torch_dtype = TORCH_DTYPE[dtype];
      writeFileSync(join(out, f), JSON.stringify(cfg, null, 2) + '\n');
    } else copyFileSync(from, join(out, f));
  }
  const files: Record<string, number> = {};
  for (const f of readdirSync(out)) files[f] = statSync(join(out, f)).size;
  return { dtype, files, totalBytes: Object.values(files).reduce((a, b) => a + b, 0), ...counts };
}
