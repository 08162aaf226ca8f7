// `npm run bench -- model`: prefill and decode throughput of the Chameleon transformer on the wasm
// backend for the `small` preset (f32) and a ~1B-parameter random config (bf16 weights), with the
// decode roofline beside the measurement: bytes of weights read per token ÷ measured read bandwidth.
// Also: decode at a long context with the KV cache stored as f32 vs bf16 (small preset, alternated).
// The header and every --json row name the CPU, its ISA flags and the wasm SIMD build (host.ts).

import { Engine } from '../src/engine/engine.js';
import { createWasmBackend } from '../src/engine/backends/wasm/backend.node.js';
import type { Backend } from '../src/engine/backend.js';
import type { DType } from '../src/engine/dtype.js';
import { ChameleonModel } from '../src/model/chameleon.js';
import { KVCache, type KVDType } from '../src/model/kv-cache.js';
import { loadChameleon } from '../src/model/checkpoint.node.js';
import { presetConfig, parameterCount } from '../src/model/config.js';
import { higherBandwidth, measureReadBandwidth } from '../src/eval/roofline.js';
import { hostFields, hostLine, readCpuInfo } from './host.js';
import { median } from './stats.js';

interface Case {
  name: string;
  preset: 'small' | '1b';
  weights: DType;
  prefill: number;
  decode: number;
}

const CASES: Case[] = [
  { name: 'small (6x256) f32', preset: 'small', weights: 'f32', prefill: 256, decode: 64 },
  { name: '1B random bf16', preset: '1b', weights: 'bf16', prefill: 64, decode: 16 },
];

export async function run(json: boolean): Promise<void> {
  const backend = await createWasmBackend();
  const host = hostFields(readCpuInfo(), 'wasm', backend.simd);
  const rows: Record<string, unknown>[] = [];
  let tiny = 0;
  const kvRows: Record<string, unknown>[] = [];
  try {
    process.stderr.write('measuring read bandwidth...\n');
    // Probed again after each model: interference only lowers a probe, so the highest is the roofline.
    let bw = measureReadBandwidth(backend);
    tiny = tinyFixtureForwardMs(backend);
    process.stderr.write('long-context decode, KV cache f32 vs bf16...\n');
    kvRows.push(...longContextKv(backend));
    for (const c of CASES) {
      process.stderr.write(`building ${c.name}...\n`);
      const engine = new Engine(backend);
      try {
        const cfg = presetConfig(c.preset);
        const model = ChameleonModel.create(engine, cfg, 1, c.weights);
        const pc = parameterCount(cfg);
        const bytesPerParam = c.weights === 'f32' ? 4 : 2;
        // Weights streamed per decoded token: every matrix except the embedding table (one row gathered).
        const bytesPerToken = (pc.total - cfg.vocabSize * cfg.hiddenSize) * bytesPerParam;
        const V = cfg.vocabSize;
        const prompt = Array.from({ length: c.prefill }, (_, i) => (i * 7919) % V);
        const prefillMs: number[] = [];
        const decodeMs: number[] = [];
        const reps = c.preset === 'small' ? 5 : 2;
        for (let r = 0; r < reps; r++) {
          const cache = new KVCache(engine, cfg, 1, c.prefill + c.decode + 1);
          try {
            engine.noGrad(() => {
              let t0 = performance.now();
              engine.scope(() => model.forward({ ids: engine.ids(prompt, [1, c.prefill]), cache, lastOnly: true }).logits.size);
              prefillMs.push(performance.now() - t0);
              t0 = performance.now();
              for (let s = 0; s < c.decode; s++) engine.scope(() => model.forward({ ids: engine.ids([(s * 31) % V], [1, 1]), cache, lastOnly: true }).logits.size);
              decodeMs.push((performance.now() - t0) / c.decode);
            });
          } finally {
            cache.dispose();
          }
          process.stderr.write(`  rep ${r + 1}/${reps}\n`);
        }
        bw = higherBandwidth(bw, measureReadBandwidth(backend));
        const pre = (c.prefill / median(prefillMs)) * 1000;
        const dec = 1000 / median(decodeMs);
        rows.push({
          kind: 'model',
          config: c.name,
          params: pc.total,
          weights: c.weights,
          threads: backend.threads,
          prefillTokens: c.prefill,
          prefillTokensPerSec: Number(pre.toFixed(1)),
          decodeTokensPerSec: Number(dec.toFixed(2)),
          weightBytesPerToken: bytesPerToken,
        });
      } finally {
        engine.dispose();
      }
    }
    // One roofline for every row: the highest bandwidth probe of the run.
    const gbps = bw.gbps;
    for (const r of rows) {
      const roofline = (gbps * 1e9) / Number(r.weightBytesPerToken);
      Object.assign(r, {
        decodeRooflineTokensPerSec: Number(roofline.toFixed(2)),
        decodeOfRoofline: Number((Number(r.decodeTokensPerSec) / roofline).toFixed(3)),
        readBandwidthGBps: Number(gbps.toFixed(1)),
        readBandwidthProbe: bw.best,
      });
    }
  } finally {
    await backend.dispose();
  }
  const tinyRow = { kind: 'model-forward', config: 'hf-chameleon/mha fixture (10 tokens)', ms: Number(tiny.toFixed(3)) };
  if (json) {
    for (const r of [...rows, ...kvRows, tinyRow]) console.log(JSON.stringify({ ...r, ...host }));
    return;
  }
  console.log(hostLine(host));
  console.log(`model throughput (wasm, ${backend.description})`);
  console.log('config               params   prefill tok/s   decode tok/s   roofline tok/s   % of roofline');
  for (const r of rows) {
    console.log(
      `${String(r.config).padEnd(20)} ${(Number(r.params) / 1e6).toFixed(0).padStart(6)}M ${String(r.prefillTokensPerSec).padStart(15)} ${String(r.decodeTokensPerSec).padStart(14)} ${String(r.decodeRooflineTokensPerSec).padStart(16)} ${(Number(r.decodeOfRoofline) * 100).toFixed(0).padStart(14)}%`,
    );
  }
  console.log(`roofline = measured read bandwidth ${rows[0]?.readBandwidthGBps} GB/s (highest read probe: ${rows[0]?.readBandwidthProbe}) ÷ weight bytes per token`);
  console.log(`forward of the tiny HF fixture model (2 layers, width 64, 10 tokens): ${tinyRow.ms} ms`);
  console.log('');
  console.log(`decode after a ${KV_CONTEXT}-token prompt, small preset (f32 weights), by KV cache storage`);
  console.log('kv dtype   KV cache MB   decode tok/s');
  for (const r of kvRows) console.log(`${String(r.kvDtype).padEnd(8)} ${String(r.kvMB).padStart(13)} ${String(r.decodeTokensPerSec).padStart(14)}`);
}

const KV_CONTEXT = 960;

/**
 * Decode tok/s of the small preset after a KV_CONTEXT-token prompt with the cache stored as f32 and
 * as bf16 (at this length the cache is as large as the weights), alternated 3 times, medians.
 */
function longContextKv(backend: Backend): Record<string, unknown>[] {
  const engine = new Engine(backend);
  try {
    const cfg = presetConfig('small');
    const model = ChameleonModel.create(engine, cfg, 1, 'f32');
    const V = cfg.vocabSize;
    const prompt = Array.from({ length: KV_CONTEXT }, (_, i) => (i * 7919) % V);
    const decode = 32;
    const dtypes: KVDType[] = ['f32', 'bf16'];
    const ms: Record<string, number[]> = { f32: [], bf16: [] };
    const mb: Record<string, number> = {};
    for (let r = 0; r < 3; r++) {
      for (const dt of dtypes) {
        const cache = new KVCache(engine, cfg, 1, KV_CONTEXT + decode + 1, dt);
        try {
          mb[dt] = cache.bytes() / 2 ** 20;
          engine.noGrad(() => {
            engine.scope(() => model.forward({ ids: engine.ids(prompt, [1, KV_CONTEXT]), cache, lastOnly: true }).logits.size);
            const t0 = performance.now();
            for (let s = 0; s < decode; s++) engine.scope(() => model.forward({ ids: engine.ids([(s * 31) % V], [1, 1]), cache, lastOnly: true }).logits.size);
            ms[dt].push((performance.now() - t0) / decode);
          });
        } finally {
          cache.dispose();
        }
      }
    }
    return dtypes.map((dt) => ({ kind: 'kv-cache', config: 'small (6x256) f32', context: KV_CONTEXT, kvDtype: dt, kvMB: Number(mb[dt].toFixed(1)), decodeTokensPerSec: Number((1000 / median(ms[dt])).toFixed(1)) }));
  } finally {
    engine.dispose();
  }
}

/** Median ms of one full forward (logits for every position) of the tests' HF fixture model. */
function tinyFixtureForwardMs(backend: Backend): number {
  const engine = new Engine(backend);
  try {
    const model = loadChameleon(engine, 'tests/fixtures/hf-chameleon/mha');
    const ids = [0, 308, 75, 405, 384, 420, 271, 306, 394, 377];
    const once = (): number => {
      const t0 = performance.now();
      engine.noGrad(() => engine.scope(() => model.forward({ ids: engine.ids(ids, [1, ids.length]) }).logits.size));
      return performance.now() - t0;
    };
    for (let i = 0; i < 5; i++) once();
    return median(Array.from({ length: 21 }, once));
  } finally {
    engine.dispose();
  }
}
