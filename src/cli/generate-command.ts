// `chameleon generate`: parses the flags, builds the prompt through the library (`<image>` markers
// place input images), streams text to the terminal (control characters escaped, a closing newline),
// shows a progress bar while an image is drawn, and writes every image, answer.json and an
// index.html of the whole exchange to --out. Policy (KV dtype, option ranges) lives in the library.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ChameleonError } from '../util/errors.js';
import { ProgressBar } from '../util/progress.js';
import { terminalSafe } from '../util/terminal.js';
import { loadBundle, encodeImage, imageRenderer, textCodec } from '../generate/bundle.node.js';
import { ChameleonGenerator } from '../generate/generator.js';
import { DEFAULT_OPTIONS, defaultMaxNewTokens, GenerateOptionError, resolveOptions, tokenBudget, type GenerateOptions, type GenerateOptionsInput, type Mode } from '../generate/options.js';
import { overlayOptions } from '../generate/generation-config.js';
import { IMAGE_MARKER, chatPrompt, completionPrompt, imagePromptSegments } from '../generate/prompt.js';
import { probeImageHead } from '../model/image-head.js';
import { KV_DTYPE_CHOICES, kvDtypeForModel, type KvDtypeChoice } from '../model/report.js';
import { modelDirOrDemo, openEngine } from './common.js';
import { conversationHtml, type PagePart } from './answer-page.js';
import { choiceOption, engineOptions, numberOption, type EngineFlags } from './options.js';

export interface GenerateCliOptions extends EngineFlags {
  model?: string;
  image?: string[];
  mode: Mode;
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
  cfg?: 'off' | '3way' | '2way';
  guidanceText?: number;
  guidanceImage?: number;
  negative?: string;
  out?: string;
  json?: boolean;
  kvDtype: KvDtypeChoice;
}

/** The flag of each generation option (its GenerateOptionsInput path), for error messages. */
const FLAG_OF: Record<string, string> = {
  mode: '--mode',
  maxNewTokens: '--max-new-tokens',
  maxImages: '--max-images',
  seed: '--seed',
  'text.temperature': '--temperature',
  'text.topP': '--top-p',
  'text.topK': '--top-k',
  'text.repetitionPenalty': '--repetition-penalty',
  'text.greedy': '--greedy',
  'image.temperature': '--image-temperature',
  'image.topP': '--top-p',
  'image.topK': '--top-k',
  'image.greedy': '--greedy',
  'image.cfg': '--cfg',
  'image.guidanceText': '--guidance-text',
  'image.guidanceImage': '--guidance-image',
};

type AnswerPart = PagePart;

function pageHtml(prompt: string, inputs: string[], answer: AnswerPart[], meta: Record<string, unknown>): string {
  const user: PagePart[] = [{ kind: 'text', text: prompt }, ...inputs.map((file): PagePart => ({ kind: 'image', file }))];
  return conversationHtml('chameleon-ts answer', [{ role: 'user', parts: user }, { role: 'assistant', parts: answer }], meta);
}

/** The flags as option input over the model's own defaults (generation_config.json), resolved. */
function resolveCliOptions(o: GenerateCliOptions, modelDefaults: GenerateOptionsInput = {}): GenerateOptions {
  try {
    const flags: GenerateOptionsInput = {
      mode: o.mode,
      maxNewTokens: o.maxNewTokens,
      maxImages: o.maxImages,
      seed: o.seed,
      text: { temperature: o.temperature, topP: o.topP, topK: o.topK, repetitionPenalty: o.repetitionPenalty, greedy: o.greedy },
      image: { temperature: o.imageTemperature, topP: o.topP, topK: o.topK, greedy: o.greedy, cfg: o.cfg, guidanceText: o.guidanceText, guidanceImage: o.guidanceImage },
    };
    return resolveOptions(overlayOptions(modelDefaults, flags));
  } catch (e) {
    if (e instanceof GenerateOptionError) throw new ChameleonError(`${FLAG_OF[e.path] ?? e.path} ${e.reason}, got ${String(e.value)}`);
    throw e;
  }
}

/** Writes streamed model text to stdout, control characters escaped; remembers whether a line is open. */
class TextSink {
  private open = false;
  write(s: string): void {
    if (!s) return;
    process.stdout.write(terminalSafe(s));
    this.open = !s.endsWith('\n');
  }
  /** Ends the current line if text left it open. */
  endLine(): void {
    if (this.open) process.stdout.write('\n');
    this.open = false;
  }
}

async function generateCommand(promptText: string, o: GenerateCliOptions): Promise<void> {
  const mode = o.mode;
  resolveCliOptions(o); // bad flags fail before the model loads
  const { engine, close } = await openEngine(o);
  try {
    const modelDir = modelDirOrDemo(o.model);
    const b = await loadBundle(engine, modelDir);
    const flagged = resolveCliOptions(o, b.defaults);
    const options = o.maxNewTokens !== undefined || b.defaults?.maxNewTokens !== undefined ? flagged : { ...flagged, maxNewTokens: defaultMaxNewTokens(flagged.mode, flagged.maxImages, b.imageTokens) };
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
    const segments = imagePromptSegments(promptText, inputCodes);
    const prompt = o.chat ? chatPrompt(parts, [{ role: 'user', content: segments }]) : completionPrompt(parts, segments);
    const ctx = b.model.config.maxPositionEmbeddings;
    const budget = tokenBudget(prompt.length, options.maxNewTokens, ctx);
    if (budget.capped && o.maxNewTokens !== undefined && budget.room > 0) {
      process.stderr.write(`warning: --max-new-tokens ${o.maxNewTokens} is more than the ${budget.room} tokens the ${ctx}-token context leaves after the ${prompt.length}-token prompt; generating at most ${budget.room}\n`);
    }
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
    const kvDtype = kvDtypeForModel(o.kvDtype, b.model);
    const gen = new ChameleonGenerator({ model: b.model, vocab: b.gen, text: codec, image: renderer ?? undefined, imageTokens: b.imageTokens, kvDtype });
    const ac = new AbortController();
    const onSigint = (): void => ac.abort();
    process.once('SIGINT', onSigint);
    const answer: AnswerPart[] = [];
    const sink = new TextSink();
    // One clock for the image bar's rate and the summary's: wall time, rendering included.
    const now = (): number => performance.now();
    const t0 = now();
    let bar: ProgressBar | null = null;
    let done: Record<string, unknown> = {};
    let tokPerSec = 0;
    try {
      // The terminal shows no partial images, so no preview is rendered (progress events still come).
      for await (const ev of gen.stream([{ prompt, options, negativePrompt, signal: ac.signal }], { previewBudget: 0 })) {
        switch (ev.type) {
          case 'text':
            if (!o.json) sink.write(ev.delta);
            if (answer.length && answer[answer.length - 1].kind === 'text') answer[answer.length - 1].text += ev.delta;
            else answer.push({ kind: 'text', text: ev.delta });
            break;
          case 'image-start':
            if (!o.json) sink.endLine();
            bar = new ProgressBar({ total: ev.tokens, label: `image ${ev.index + 1}`, unit: 'tok', now });
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
          case 'done': {
            const decodeSec = Math.max(now() - t0 - ev.prefillMs, 1e-6) / 1000;
            tokPerSec = ev.generatedTokens / decodeSec;
            done = {
              reason: ev.reason,
              promptTokens: ev.promptTokens,
              generatedTokens: ev.generatedTokens,
              images: ev.images,
              prefillMs: Math.round(ev.prefillMs),
              decodeTokensPerSec: Number(tokPerSec.toFixed(2)),
              forwardTokensPerSec: Number(ev.decodeTokensPerSec.toFixed(2)),
            };
            break;
          }
        }
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    if (!o.json) sink.endLine();
    const meta = { model: modelDir, mode, seed: options.seed, kvDtype, ...done };
    writeFileSync(join(outDir, 'index.html'), pageHtml(promptText, inputs, answer, meta));
    writeFileSync(join(outDir, 'answer.json'), JSON.stringify({ prompt: promptText, answer, ...meta }, null, 2) + '\n');
    if (o.json) console.log(JSON.stringify({ out: outDir, answer, ...meta }));
    else process.stderr.write(`${String(done.reason)} after ${String(done.generatedTokens)} tokens (${tokPerSec.toFixed(2)} tok/s); wrote ${join(outDir, 'index.html')}\n`);
  } finally {
    await close();
  }
}

/** Adds `generate` to the program. */
export function registerGenerateCommand(program: Command): void {
  const cmd = program
    .command('generate <prompt>')
    .description('generate text, images or both from a prompt (and optional images), streaming to the terminal')
    .option('--model <dir>', 'Hugging Face Chameleon directory (config.json, model.safetensors, tokenizer.json); default: the shipped demo model (models/demo)')
    .option('--image <file...>', `input image(s); place them with ${IMAGE_MARKER} in the prompt, else they come first`)
    .addOption(choiceOption('--mode <mode>', 'what to generate', ['text', 'image', 'interleaved'] as const, 'text'))
    .option('--chat', 'treat the prompt as a user turn (ends it with end-of-turn)')
    .addOption(numberOption('--max-new-tokens <n>', `generation budget (default: ${DEFAULT_OPTIONS.maxNewTokens} text tokens, plus room for --max-images pictures in image and interleaved modes; capped, with a warning, by the context)`, { int: true }))
    .addOption(numberOption('--max-images <n>', `images allowed (interleaved) or drawn (image mode) (default ${DEFAULT_OPTIONS.maxImages})`, { int: true }))
    .addOption(numberOption('--seed <n>', 'random seed (same seed, same output)', { int: true, min: 0, max: 2 ** 32 - 1 }))
    .addOption(numberOption('--temperature <t>', `text temperature; setting it samples even where the model's generation_config.json asks for greedy (default: that file's, else ${DEFAULT_OPTIONS.text.temperature})`, {}))
    .addOption(numberOption('--top-p <p>', 'nucleus sampling for text and images', {}))
    .addOption(numberOption('--top-k <k>', 'top-k for text and images (0: off)', { int: true }))
    .addOption(numberOption('--repetition-penalty <r>', 'text repetition penalty (HF semantics)', {}))
    .option('--greedy', 'argmax decoding')
    .addOption(numberOption('--image-temperature <t>', `image temperature (default: generation_config.json's, else ${DEFAULT_OPTIONS.image.temperature})`, {}))
    .addOption(choiceOption('--cfg <kind>', 'classifier-free guidance for images', ['3way', '2way', 'off'] as const))
    .addOption(numberOption('--guidance-text <s>', 'text guidance scale', {}))
    .addOption(numberOption('--guidance-image <s>', 'image guidance scale (3-way)', {}))
    .option('--negative <text>', 'negative prompt for 2-way guidance')
    .option('--out <dir>', 'where images and index.html go (default: a new folder under ./outputs)')
    .option('--json', 'print one JSON summary instead of streaming text (streamed text shows control characters escaped; answer.json keeps them)')
    .addOption(choiceOption('--kv-dtype <dtype>', 'KV cache storage; auto: bf16 when the weights are stored as bf16, else f32', KV_DTYPE_CHOICES, 'auto'));
  engineOptions(cmd).action(async (prompt: string, opts: GenerateCliOptions) => generateCommand(prompt, opts));
}
