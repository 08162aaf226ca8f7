// `chameleon generate`: builds the prompt (text with optional images: `<image>` markers in the text
// place them, otherwise they come first), streams text to the terminal, shows a progress bar while
// an image is drawn, and writes every image plus an index.html of the whole exchange to --out.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ChameleonError } from '../util/errors.js';
import { ProgressBar } from '../util/progress.js';
import { loadBundle, encodeImage, imageRenderer, textCodec } from '../generate/bundle.node.js';
import { ChameleonGenerator } from '../generate/generator.js';
import { resolveOptions, type GenerateOptionsInput } from '../generate/options.js';
import { chatPrompt, completionPrompt, type Segment } from '../generate/prompt.js';
import { probeImageHead } from '../model/image-head.js';
import { openEngine, type EngineOptions } from './common.js';

export interface GenerateCliOptions extends EngineOptions {
  model: string;
  image?: string[];
  mode?: string;
  chat?: boolean;
  maxNewTokens?: number;
  maxImages?: number;
  seed?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  greedy?: boolean;
  imageTemperature?: number;
  cfg?: string;
  guidanceText?: number;
  guidanceImage?: number;
  negative?: string;
  out?: string;
  json?: boolean;
  kvDtype?: string;
}

interface AnswerPart {
  kind: 'text' | 'image';
  text?: string;
  file?: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function pageHtml(prompt: string, inputs: string[], answer: AnswerPart[], meta: Record<string, unknown>): string {
  const body = answer.map((p) => (p.kind === 'text' ? `<p>${escapeHtml(p.text ?? '').replace(/\n/g, '<br>')}</p>` : `<img src="${escapeHtml(p.file!)}" alt="generated image">`)).join('\n');
  const ins = inputs.map((f) => `<img class="in" src="${escapeHtml(f)}" alt="input image">`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chameleon-ts answer</title>
<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;line-height:1.5}
.prompt{background:#f3f3f3;padding:.8em 1em;border-radius:8px}img{image-rendering:pixelated;width:256px;height:256px;border-radius:6px;margin:.3em}
img.in{width:128px;height:128px}pre{color:#666;font-size:.8em;white-space:pre-wrap}</style></head>
<body><h1>chameleon-ts</h1>
<div class="prompt"><b>Prompt</b><p>${escapeHtml(prompt)}</p>${ins}</div>
<h2>Answer</h2>
${body}
<pre>${escapeHtml(JSON.stringify(meta, null, 2))}</pre>
</body></html>
`;
}

/** Splits the prompt text at `<image>` markers and interleaves the image segments. */
function promptSegments(text: string, images: Int32Array[]): Segment[] {
  const parts = text.split('<image>');
  if (parts.length === 1) return [...images.map((codes) => ({ type: 'image' as const, codes })), ...(text ? [{ type: 'text' as const, text }] : [])];
  if (parts.length - 1 !== images.length) throw new ChameleonError(`the prompt has ${parts.length - 1} <image> markers but ${images.length} --image files were given`);
  const segs: Segment[] = [];
  parts.forEach((p, i) => {
    if (p) segs.push({ type: 'text', text: p });
    if (i < images.length) segs.push({ type: 'image', codes: images[i] });
  });
  return segs;
}

export async function generateCommand(promptText: string, o: GenerateCliOptions): Promise<void> {
  const mode = o.mode ?? 'text';
  const kvChoice = o.kvDtype ?? 'auto';
  if (kvChoice !== 'auto' && kvChoice !== 'f32' && kvChoice !== 'bf16') throw new ChameleonError(`--kv-dtype must be auto, f32 or bf16, got '${kvChoice}'`);
  if (mode !== 'text' && mode !== 'image' && mode !== 'interleaved') throw new ChameleonError(`--mode must be text, image or interleaved, got '${mode}'`);
  const options = resolveOptions({
    mode,
    maxNewTokens: o.maxNewTokens,
    maxImages: o.maxImages,
    seed: o.seed,
    text: { temperature: o.temperature, topP: o.topP, topK: o.topK, repetitionPenalty: o.repetitionPenalty, greedy: o.greedy },
    image: { temperature: o.imageTemperature, topP: o.topP, topK: o.topK, greedy: o.greedy, cfg: o.cfg as 'off' | '3way' | '2way' | undefined, guidanceText: o.guidanceText, guidanceImage: o.guidanceImage },
  } as GenerateOptionsInput);
  const { engine, close } = await openEngine(o);
  try {
    const b = await loadBundle(engine, o.model);
    const codec = textCodec(b);
    if (mode !== 'text') {
      const probe = probeImageHead(b.model);
      if (probe.disabled) {
        process.stderr.write(
          `warning: these weights look like they were released without image generation (${probe.reason}); ` +
            `original Chameleon-7B/30B weights cannot draw images. Use Anole-7b-style weights for image output.\n`,
        );
      }
    }
    const inputCodes: Int32Array[] = [];
    for (const f of o.image ?? []) inputCodes.push(await encodeImage(b, f));
    const parts = { vocab: b.gen, text: codec, imageTokens: b.imageTokens };
    const segments = promptSegments(promptText, inputCodes);
    const prompt = o.chat ? chatPrompt(parts, [{ role: 'user', content: segments }]) : completionPrompt(parts, segments);
    const negativePrompt = o.negative !== undefined ? codec.encode(o.negative) : undefined;
    const renderer = imageRenderer(b);
    if (mode !== 'text' && !renderer) process.stderr.write('note: no VQGAN decoder in this directory; image codes are written as JSON, not PNG\n');
    const outDir = resolve(o.out ?? join('outputs', new Date().toISOString().replace(/[:.]/g, '-')));
    mkdirSync(outDir, { recursive: true });
    const inputs = (o.image ?? []).map((f, i) => {
      const name = `input-${i + 1}-${basename(f)}`;
      copyFileSync(f, join(outDir, name));
      return name;
    });
    // auto: keep the KV cache in the precision of the weights (bf16 checkpoints get a bf16 cache, as in HF).
    const kvDtype = kvChoice === 'auto' ? (b.model.params.get('lm_head.weight').dtype === 'bf16' ? 'bf16' : 'f32') : kvChoice;
    const gen = new ChameleonGenerator({ model: b.model, vocab: b.gen, text: codec, image: renderer ?? undefined, imageTokens: b.imageTokens, kvDtype });
    const ac = new AbortController();
    const onSigint = (): void => ac.abort();
    process.once('SIGINT', onSigint);
    const answer: AnswerPart[] = [];
    let bar: ProgressBar | null = null;
    let done: Record<string, unknown> = {};
    try {
      for await (const ev of gen.stream([{ prompt, options, negativePrompt, signal: ac.signal }])) {
        switch (ev.type) {
          case 'text':
            if (!o.json) process.stdout.write(ev.delta);
            if (answer.length && answer[answer.length - 1].kind === 'text') answer[answer.length - 1].text += ev.delta;
            else answer.push({ kind: 'text', text: ev.delta });
            break;
          case 'image-start':
            if (!o.json) process.stdout.write('\n');
            bar = new ProgressBar({ total: ev.tokens, label: `image ${ev.index + 1}`, unit: 'tok' });
            bar.tick(0);
            break;
          case 'image-progress':
            bar?.tick(ev.tokens - bar.completed);
            break;
          case 'image': {
            bar?.tick(b.imageTokens - bar.completed);
            bar?.finish();
            bar = null;
            const stem = `image-${ev.index + 1}`;
            writeFileSync(join(outDir, `${stem}.json`), JSON.stringify({ codes: [...ev.codes] }) + '\n');
            let file = `${stem}.json`;
            if (ev.png) {
              file = `${stem}.png`;
              writeFileSync(join(outDir, file), ev.png);
            }
            answer.push({ kind: 'image', file });
            if (!o.json) process.stdout.write(`[image ${ev.index + 1}: ${join(outDir, file)}]\n`);
            break;
          }
          case 'done':
            done = { reason: ev.reason, promptTokens: ev.promptTokens, generatedTokens: ev.generatedTokens, images: ev.images, prefillMs: Math.round(ev.prefillMs), decodeTokensPerSec: Number(ev.decodeTokensPerSec.toFixed(2)) };
            break;
        }
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    const meta = { model: o.model, mode, seed: options.seed, kvDtype, ...done };
    writeFileSync(join(outDir, 'index.html'), pageHtml(promptText, inputs, answer, meta));
    writeFileSync(join(outDir, 'answer.json'), JSON.stringify({ prompt: promptText, answer, ...meta }, null, 2) + '\n');
    if (o.json) console.log(JSON.stringify({ out: outDir, answer, ...meta }));
    else process.stderr.write(`\n${done.reason} after ${done.generatedTokens} tokens (${done.decodeTokensPerSec} tok/s); wrote ${join(outDir, 'index.html')}\n`);
  } finally {
    await close();
  }
}
