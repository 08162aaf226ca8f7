// `npm run bench -- tokenizers [--json]`: image tokenizer encode/decode time for the real 512×512
// Chameleon VQGAN config and the small demo config (random weights, one image, wasm backend), then
// the text tokenizer's encode MB/s (bench/tokenizers-text.ts). Set CHAMELEON_BENCH_SKIP_512=1 to skip 512².
// The header and every --json row name the CPU, its ISA flags and the backend (host.ts).

import { availableParallelism } from 'node:os';
import { Engine } from '../src/engine/index.js';
import { createWasmBackend } from '../src/engine/backends/wasm/backend.node.js';
import { CHAMELEON_VQGAN, SMALL_VQGAN, type VqganConfig } from '../src/tokenizers/image/config.js';
import { Vqgan, toUint8HWC } from '../src/tokenizers/image/vqgan.js';
import { median } from './stats.js';
import { hostFields, hostLine, readCpuInfo, type HostFields } from './host.js';

interface Row extends HostFields {
  kind: 'image-encode' | 'image-decode';
  config: string;
  resolution: number;
  ms: number;
  runs: number;
  peakScratchMiB: number;
  conv: string;
}

async function benchConfig(name: string, cfg: VqganConfig, runs: number): Promise<Row[]> {
  const backend = await createWasmBackend({ threads: availableParallelism() });
  const engine = new Engine(backend);
  const conv = backend.native.has('conv2d') ? 'native' : 'ref';
  const host = hostFields(readCpuInfo(), 'wasm', backend.simd);
  try {
    const vq = new Vqgan(engine, cfg, { encoder: true, decoder: true });
    vq.initialize(1);
    const r = cfg.resolution;
    const pixels = new Float32Array(3 * r * r);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.001);
    const scratch = (): number => (engine.memoryStats().arenas.find((a) => a.name === 'scratch')?.peakBytes ?? 0) / 2 ** 20;
    let codes: Int32Array<ArrayBufferLike> = new Int32Array(0);
    const enc: number[] = [];
    const dec: number[] = [];
    for (let i = 0; i < runs + (runs > 1 ? 1 : 0); i++) {
      const t0 = performance.now();
      codes = engine.scope(() => vq.encode(engine.tensor(pixels, [1, 3, r, r])).indices);
      const t1 = performance.now();
      engine.scope(() => toUint8HWC(vq.decodeCodes(codes, 1)));
      const t2 = performance.now();
      if (runs > 1 && i === 0) continue; // warm-up
      enc.push(t1 - t0);
      dec.push(t2 - t1);
    }
    const peak = scratch();
    return [
      { kind: 'image-encode', config: name, resolution: r, ms: median(enc), runs: enc.length, peakScratchMiB: peak, conv, ...host },
      { kind: 'image-decode', config: name, resolution: r, ms: median(dec), runs: dec.length, peakScratchMiB: peak, conv, ...host },
    ];
  } finally {
    engine.dispose();
    await backend.dispose();
  }
}

export async function run(json: boolean): Promise<void> {
  const rows: Row[] = [];
  const emit = (r: Row): void => {
    rows.push(r);
    if (json) console.log(JSON.stringify(r));
  };
  for (const r of await benchConfig('small', SMALL_VQGAN, 5)) emit(r);
  if (process.env.CHAMELEON_BENCH_SKIP_512 !== '1') {
    process.stderr.write('tokenizers: chameleon 512×512 encode + decode, one run each (takes minutes on a few cores)...\n');
    for (const r of await benchConfig('chameleon', CHAMELEON_VQGAN, 1)) emit(r);
  }
  if (!json && rows.length > 0) {
    console.log(hostLine(rows[0]));
    console.log('kind           config      res    ms/image   runs  peak scratch  conv');
    for (const r of rows) {
      console.log(`${r.kind.padEnd(14)} ${r.config.padEnd(10)} ${String(r.resolution).padStart(4)} ${r.ms.toFixed(1).padStart(11)} ${String(r.runs).padStart(6)} ${r.peakScratchMiB.toFixed(0).padStart(9)} MiB  ${r.conv}`);
    }
  }
  // Text tokenizer encode MB/s (written by the text-tokenizer engineer).
  const text = (await import('./tokenizers-text.js')) as { run(json: boolean): Promise<void> };
  await text.run(json);
}
