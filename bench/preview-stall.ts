// `npm run bench -- preview-stall`: how much partial-image previews slow the other rows of a batch.
// Two requests decode together on the `small` preset (f32, random weights): one draws a 64-code image
// with a preview due every 4 codes (VQ decode of SMALL_VQGAN, random weights, + PNG), the other writes
// text. Reported: the text row's ms per step (median and max pooled over rounds; mean, and mean ÷ the no-preview mean of the same round, as medians over rounds) while the image is drawn, at preview budget 1 (every due
// preview rendered inline, the old behaviour), the default 0.1, and 0 (no previews).

import { Engine } from '../src/engine/engine.js';
import { createWasmBackend } from '../src/engine/backends/wasm/backend.node.js';
import { ChameleonModel } from '../src/model/chameleon.js';
import { presetConfig } from '../src/model/config.js';
import { ChameleonGenerator } from '../src/generate/generator.js';
import { resolveOptions } from '../src/generate/options.js';
import type { GenVocab } from '../src/generate/vocab.js';
import type { ImageRenderer } from '../src/generate/events.js';
import { SMALL_VQGAN, tokensPerImage } from '../src/tokenizers/image/config.js';
import { Vqgan } from '../src/tokenizers/image/vqgan.js';
import { imageToPng } from '../src/tokenizers/image/preprocess.node.js';
import { median } from './stats.js';

const BUDGETS = [1, 0.1, 0];
const ROUNDS = 7;

function benchVocab(size: number, codes: number): GenVocab {
  const imageIds = Int32Array.from({ length: codes }, (_, c) => c + 4);
  const textMask = new Uint8Array(size);
  for (let i = codes + 4 + 8; i < size; i++) textMask[i] = 1;
  return { size, bos: 0, pad: 1, eos: 2, eoi: codes + 4, boi: codes + 5, eot: codes + 6, imageIds, textMask, codeOf: (id) => (id >= 4 && id < codes + 4 ? id - 4 : -1) };
}

interface Sample {
  stepMs: number[];
  previews: number;
  renderMs: number[];
}

async function once(g: ChameleonGenerator, vocab: GenVocab, n: number, timed: { ms: number[] }): Promise<Sample> {
  const prompt = [vocab.bos, ...Array.from({ length: 12 }, (_, i) => vocab.size - 1 - i)];
  const image = { prompt, options: resolveOptions({ mode: 'image', maxNewTokens: n + 2, seed: 1, previewEvery: 4, image: { cfg: 'off', temperature: 1 } }) };
  const text = { prompt: prompt.slice(0, 6), options: resolveOptions({ mode: 'text', maxNewTokens: n + 40, seed: 2, text: { temperature: 1 } }) };
  let codes = -1; // image tokens of request 0 so far (-1 before BOI)
  let last = 0;
  const stepMs: number[] = [];
  g.onToken = (r, id) => {
    const t = performance.now();
    if (r === 0 && id === vocab.boi) codes = 0;
    else if (r === 0 && codes >= 0 && vocab.codeOf(id) >= 0) codes++;
    // Text-row intervals from the 2nd image token to the last one (each spans one step of both rows).
    if (r === 1 && codes >= 2 && codes < n) stepMs.push(t - last);
    if (r === 1) last = t;
  };
  timed.ms.length = 0;
  let previews = 0;
  for await (const ev of g.stream([image, text])) if (ev.type === 'image-progress' && ev.preview) previews++;
  g.onToken = undefined;
  return { stepMs, previews, renderMs: timed.ms.slice(0, -1) }; // the last render is the final image
}

export async function run(json: boolean): Promise<void> {
  const backend = await createWasmBackend();
  const engine = new Engine(backend);
  try {
    const cfg = presetConfig('small');
    const n = tokensPerImage(SMALL_VQGAN);
    const model = ChameleonModel.create(engine, cfg, 1);
    const vocab = benchVocab(cfg.vocabSize, SMALL_VQGAN.numEmbeddings);
    const vq = new Vqgan(engine, SMALL_VQGAN, { encoder: false, decoder: true });
    vq.initialize(3);
    const timed = { ms: [] as number[] };
    const renderer: ImageRenderer = {
      render: async (c) => {
        const t0 = performance.now();
        const png = await engine.scopeAsync(async () => (await imageToPng(vq.decodeCodes(c, 1)))[0]);
        timed.ms.push(performance.now() - t0);
        return { png: new Uint8Array(png), width: SMALL_VQGAN.resolution, height: SMALL_VQGAN.resolution };
      },
    };
    await renderer.render(new Int32Array(n)); // warm-up
    const runs = new Map<number, Sample[]>(BUDGETS.map((b) => [b, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const b of BUDGETS) {
        process.stderr.write(`preview-stall: budget ${b}, round ${r + 1}/${ROUNDS}...\n`);
        const g = new ChameleonGenerator({ model, vocab, imageTokens: n, image: renderer, previewBudget: b });
        runs.get(b)!.push(await once(g, vocab, n, timed));
      }
    }
    if (!json) console.log('budget  previews  render ms  text row ms/step: median   mean    max  ÷ none   (while the other row draws; mean, ÷ none: median of 7 rounds)');
    for (const b of BUDGETS) {
      const s = runs.get(b)!;
      const steps = s.flatMap((x) => x.stepMs);
      const renders = s.flatMap((x) => x.renderMs);
      const mean = (xs: number[]): number => xs.reduce((a, c) => a + c, 0) / xs.length;
      const row = {
        kind: 'preview-stall',
        budget: b,
        previewsPerImage: median(s.map((x) => x.previews)),
        renderMs: renders.length ? Number(median(renders).toFixed(1)) : 0,
        stepMsMedian: Number(median(steps).toFixed(2)),
        stepMsMean: Number(median(s.map((x) => mean(x.stepMs))).toFixed(2)),
        stepMsMax: Number(Math.max(...steps).toFixed(1)),
        // Paired within each round (the machine's speed drifts between rounds): mean ÷ no-preview mean.
        vsNoPreviews: Number(median(s.map((x, r) => mean(x.stepMs) / mean(runs.get(0)![r].stepMs))).toFixed(2)),
      };
      if (json) console.log(JSON.stringify(row));
      else console.log(`${String(b).padStart(6)} ${String(row.previewsPerImage).padStart(9)} ${String(row.renderMs).padStart(10)} ${String(row.stepMsMedian).padStart(26)} ${String(row.stepMsMean).padStart(6)} ${String(row.stepMsMax).padStart(6)} ${row.vsNoPreviews.toFixed(2).padStart(7)}`);
    }
  } finally {
    engine.dispose();
    await backend.dispose();
  }
}
