// `npm run bench -- generate`: decode tokens/s of the generator, the cost of classifier-free
// guidance (time per image token with 3-way CFG ÷ without; its three rows share one batched
// forward), and time per image, for the `small` preset (f32, 8×8-code images) and a ~1B random
// config (bf16, Chameleon's 32×32-code images; per-token times over a prefix, extrapolated).
// The header and every --json row name the CPU, its ISA flags and the wasm SIMD build (host.ts).

import { Engine } from '../src/engine/engine.js';
import { createWasmBackend } from '../src/engine/backends/wasm/backend.node.js';
import type { DType } from '../src/engine/dtype.js';
import { ChameleonModel } from '../src/model/chameleon.js';
import { KVCache } from '../src/model/kv-cache.js';
import { presetConfig, type ChameleonConfig } from '../src/model/config.js';
import { ChameleonGenerator } from '../src/generate/generator.js';
import { resolveOptions } from '../src/generate/options.js';
import type { GenVocab } from '../src/generate/vocab.js';
import { median } from './stats.js';
import { hostFields, hostLine, readCpuInfo } from './host.js';

/** A synthetic id layout with the spec's specials and `codes` image ids at code + 4. */
function benchVocab(size: number, codes: number): GenVocab {
  const imageIds = Int32Array.from({ length: codes }, (_, c) => c + 4);
  const textMask = new Uint8Array(size);
  for (let i = codes + 4 + 8; i < size; i++) textMask[i] = 1;
  return { size, bos: 0, pad: 1, eos: 2, eoi: codes + 4, boi: codes + 5, eot: codes + 6, imageIds, textMask, codeOf: (id) => (id >= 4 && id < codes + 4 ? id - 4 : -1) };
}

interface Case {
  name: string;
  preset: 'small' | '1b';
  weights: DType;
  imageTokens: number;
  codebook: number;
  /** Image tokens actually decoded per measurement (the rest is extrapolated). */
  measureTokens: number;
  textTokens: number;
}

const CASES: Case[] = [
  { name: 'small (6x256) f32', preset: 'small', weights: 'f32', imageTokens: 64, codebook: 1024, measureTokens: 64, textTokens: 64 },
  { name: '1B random bf16', preset: '1b', weights: 'bf16', imageTokens: 1024, codebook: 8192, measureTokens: 24, textTokens: 16 },
];

/** Alternated plain/guided measurements per config; this host's speed drifts by up to 1.5x between minutes. */
const ROUNDS = 5;

async function timeImage(g: ChameleonGenerator, vocab: GenVocab, cfgMode: 'off' | '3way', c: Case): Promise<number> {
  const prompt = [vocab.bos, ...Array.from({ length: 12 }, (_, i) => vocab.size - 1 - i)];
  const ac = new AbortController();
  let n = 0;
  let t0 = 0;
  let t1 = 0;
  const options = resolveOptions({ mode: 'image', maxNewTokens: c.imageTokens + 2, seed: 1, previewEvery: 0, image: { cfg: cfgMode, temperature: 1 } });
  // Time from the first image token to the measureTokens-th (excludes prefill and guidance-row setup).
  const stream = g.stream([{ prompt, options, signal: ac.signal }]);
  const it = stream[Symbol.asyncIterator]();
  g.onToken = () => {
    n++;
    if (n === 2) t0 = performance.now();
    if (n === c.measureTokens + 1) {
      t1 = performance.now();
      ac.abort();
    }
  };
  while (!(await it.next()).done);
  g.onToken = undefined;
  return (t1 - t0) / (c.measureTokens - 1);
}

/**
 * Model forward of one decode step with 3 rows (the CFG rows) ÷ with 1 row, alternated 8 times in
 * one process (median each): the cost of guidance in the model alone, without the generator.
 */
function forwardRatio(engine: Engine, model: ChameleonModel, cfg: ChameleonConfig): number {
  const caches = [new KVCache(engine, cfg, 1, 64), new KVCache(engine, cfg, 3, 64)];
  try {
    const starts = [null, Int32Array.from([0, 8, 14])];
    const step = (i: number, t: number): number => {
      const b = i === 0 ? 1 : 3;
      const t0 = performance.now();
      engine.noGrad(() => engine.scope(() => model.forward({ ids: engine.ids(new Array(b * t).fill(7), [b, t]), cache: caches[i], keyStart: starts[i], lastOnly: true }).logits.size));
      return performance.now() - t0;
    };
    step(0, 16);
    step(1, 16);
    const one: number[] = [];
    const three: number[] = [];
    for (let r = 0; r < 8; r++) {
      one.push(step(0, 1));
      three.push(step(1, 1));
    }
    return median(three) / median(one);
  } finally {
    for (const c of caches) c.dispose();
  }
}

export async function run(json: boolean): Promise<void> {
  const backend = await createWasmBackend();
  const host = hostFields(readCpuInfo(), 'wasm', backend.simd);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const c of CASES) {
      process.stderr.write(`building ${c.name}...\n`);
      const engine = new Engine(backend);
      try {
        const cfg: ChameleonConfig = { ...presetConfig(c.preset) };
        const model = ChameleonModel.create(engine, cfg, 1, c.weights);
        const vocab = benchVocab(cfg.vocabSize, c.codebook);
        const g = new ChameleonGenerator({ model, vocab, imageTokens: c.imageTokens });
        // Text decode throughput.
        const prompt = [vocab.bos, ...Array.from({ length: 16 }, (_, i) => vocab.size - 1 - i)];
        let textTps = 0;
        for await (const ev of g.stream([{ prompt, options: resolveOptions({ mode: 'text', maxNewTokens: c.textTokens, seed: 1 }) }])) {
          if (ev.type === 'done') textTps = ev.decodeTokensPerSec;
        }
        // Alternate the two measurements (median of ROUNDS each) so the machine's speed drift hits both alike.
        const plainRuns: number[] = [];
        const guidedRuns: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          process.stderr.write(`  image tokens without / with 3-way CFG, round ${r + 1}/${ROUNDS}...\n`);
          plainRuns.push(await timeImage(g, vocab, 'off', c));
          guidedRuns.push(await timeImage(g, vocab, '3way', c));
        }
        const plain = median(plainRuns);
        const guided = median(guidedRuns);
        process.stderr.write('  model forward, 3 rows vs 1...\n');
        const fwd = forwardRatio(engine, model, cfg);
        rows.push({
          kind: 'generate',
          config: c.name,
          threads: backend.threads,
          textDecodeTokensPerSec: Number(textTps.toFixed(2)),
          msPerImageTokenNoCfg: Number(plain.toFixed(2)),
          msPerImageTokenCfg3: Number(guided.toFixed(2)),
          cfgOverhead: Number((guided / plain).toFixed(3)),
          forward3v1: Number(fwd.toFixed(3)),
          imageTokens: c.imageTokens,
          secondsPerImageNoCfg: Number(((plain * c.imageTokens) / 1000).toFixed(2)),
          secondsPerImageCfg3: Number(((guided * c.imageTokens) / 1000).toFixed(2)),
          extrapolatedFromTokens: c.measureTokens,
        });
      } finally {
        engine.dispose();
      }
    }
  } finally {
    await backend.dispose();
  }
  if (json) {
    for (const r of rows) console.log(JSON.stringify({ ...r, ...host }));
    return;
  }
  console.log(hostLine(host));
  console.log(`generation (wasm, ${backend.description})`);
  console.log('config               text tok/s   ms/img-tok   ms/img-tok CFG   CFG overhead   forward 3 rows/1   s/image   s/image CFG   (image tokens)');
  for (const r of rows) {
    console.log(
      `${String(r.config).padEnd(20)} ${String(r.textDecodeTokensPerSec).padStart(10)} ${String(r.msPerImageTokenNoCfg).padStart(12)} ${String(r.msPerImageTokenCfg3).padStart(16)} ${(String(r.cfgOverhead) + 'x').padStart(14)} ${(String(r.forward3v1) + 'x').padStart(18)} ${String(r.secondsPerImageNoCfg).padStart(9)} ${String(r.secondsPerImageCfg3).padStart(13)}   (${r.imageTokens}${Number(r.extrapolatedFromTokens) < Number(r.imageTokens) ? `, timed over ${r.extrapolatedFromTokens}` : ''})`,
    );
  }
}
