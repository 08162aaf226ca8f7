// Shared CLI plumbing: creating the engine for a --backend/--threads choice, parsing id lists,
// formatting sizes, and where the shipped demo model lives. Option declaration and error reporting are in options.ts.

import { ChameleonError } from '../util/errors.js';
import { Engine } from '../engine/engine.js';
import type { Backend } from '../engine/backend.js';
import { createRefBackend } from '../engine/backends/ref/index.js';
import { createWasmBackend } from '../engine/backends/wasm/backend.node.js';
import type { EngineFlags } from './options.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The demo model shipped in the repository (models/demo), found from this file (dist/src/cli/). */
export const DEMO_MODEL_DIR = fileURLToPath(new URL('../../../models/demo', import.meta.url));

/** `--model` if given, else the shipped demo model; refuses, by path, a demo model that is absent. */
export function modelDirOrDemo(model: string | undefined): string {
  if (model !== undefined) return model;
  if (!existsSync(DEMO_MODEL_DIR)) throw new ChameleonError(`no --model given and the demo model is not at ${DEMO_MODEL_DIR} (npm run train:demo builds it)`);
  return DEMO_MODEL_DIR;
}

/** Creates the requested backend (default wasm) and an Engine on it; call close() when done. */
export async function openEngine(opts: EngineFlags): Promise<{ engine: Engine; backend: Backend; close: () => Promise<void> }> {
  const name = opts.backend ?? 'wasm';
  let backend: Backend;
  if (name === 'ref') backend = createRefBackend();
  else if (name === 'wasm') backend = await createWasmBackend({ threads: opts.threads });
  else throw new ChameleonError(`unknown backend '${name}' (choose wasm or ref)`);
  const engine = new Engine(backend);
  return {
    engine,
    backend,
    close: async () => {
      engine.dispose();
      await backend.dispose();
    },
  };
}

/** Parses "0,5,9" into ids, with a clear error for anything else. */
export function parseIds(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim());
  const ids = parts.map(Number);
  const bad = parts.find((p, i) => p === '' || !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad !== undefined || parts.length === 0) throw new ChameleonError(`--ids must be comma-separated non-negative integers, got '${s}'`);
  return ids;
}

/** Formats bytes as "1.23 GiB". */
export function fmtBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b.toFixed(i === 0 ? 0 : 2)} ${units[i]}`;
}

/** Formats a count as "7.01B" / "1.3M". */
export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}
