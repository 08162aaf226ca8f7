// `chameleon chat`: an interactive terminal session (the web app of `npm start` is the other way in) over
// generate/chat-session.ts. Each line is a user turn (`/image <file>` attaches an image to the next
// one); the reply streams to the terminal, its images are written as PNGs, and index.html +
// transcript.json of the whole conversation are rewritten after every turn. Reads piped stdin too
// (one turn per line). Bad input inside the session is one `chameleon:` line and the session goes on.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as readline from 'node:readline';
import type { Command } from 'commander';
import { ChameleonError } from '../util/errors.js';
import { ProgressBar } from '../util/progress.js';
import { terminalSafe } from '../util/terminal.js';
import { encodeImage, imageRenderer, loadBundle, textCodec } from '../generate/bundle.node.js';
import { ChatSession } from '../generate/chat-session.js';
import { ChameleonGenerator } from '../generate/generator.js';
import { defaultMaxNewTokens, GenerateOptionError, resolveOptions, type GenerateOptions } from '../generate/options.js';
import type { Segment } from '../generate/prompt.js';
import { parameterCount } from '../model/config.js';
import { kvDtypeForModel } from '../model/report.js';
import { conversationHtml, type PagePart, type PageTurn } from './answer-page.js';
import { modelDirOrDemo, openEngine } from './common.js';
import { engineOptions, numberOption, type EngineFlags } from './options.js';

export interface ChatCliOptions extends EngineFlags {
  model?: string;
  out?: string;
  seed?: number;
  maxNewTokens?: number;
  temperature?: number;
  greedy?: boolean;
}

const HELP = 'type a request and press enter; /image <file> attaches an image to your next message; /reset forgets the conversation; /quit (or Ctrl-D) ends';

function chatOptions(o: ChatCliOptions): GenerateOptions {
  try {
    return resolveOptions({
      mode: 'interleaved',
      maxNewTokens: o.maxNewTokens ?? 200,
      maxImages: 2,
      seed: o.seed ?? 0,
      // The evaluators' settings for pictures (greedy codes, no guidance: the demo model was not
      // trained with dropped conditions); text samples mildly, without a repetition penalty (a
      // caption repeats colour words on purpose). --temperature samples images too.
      text: { temperature: o.temperature ?? 0.7, greedy: o.greedy, repetitionPenalty: 1 },
      image: { temperature: o.temperature, greedy: o.greedy ?? o.temperature === undefined, cfg: 'off' },
    });
  } catch (e) {
    if (e instanceof GenerateOptionError) throw new ChameleonError(`--${e.path.replace(/^(text|image)\./, '').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} ${e.reason}, got ${String(e.value)}`);
    throw e;
  }
}

/** Runs the session until /quit or the end of stdin. */
async function runChat(o: ChatCliOptions): Promise<void> {
  const flags = chatOptions(o);
  const modelDir = modelDirOrDemo(o.model);
  const { engine, backend, close } = await openEngine(o);
  try {
    const b = await loadBundle(engine, modelDir);
    // A reply may hold its images and some text: 200 tokens would never fit a 16×16-code picture.
    const base = { ...flags, maxNewTokens: o.maxNewTokens ?? defaultMaxNewTokens('interleaved', flags.maxImages, b.imageTokens) };
    const codec = textCodec(b);
    const renderer = imageRenderer(b);
    const parts = { vocab: b.gen, text: codec, imageTokens: b.imageTokens };
    const gen = new ChameleonGenerator({ model: b.model, vocab: b.gen, text: codec, image: renderer ?? undefined, imageTokens: b.imageTokens, kvDtype: kvDtypeForModel('auto', b.model) });
    const session = new ChatSession(gen, parts, { context: b.model.config.maxPositionEmbeddings });
    const outDir = resolve(o.out ?? join('outputs', `chat-${new Date().toISOString().replace(/[:.]/g, '-')}`));
    mkdirSync(outDir, { recursive: true });
    const tty = Boolean(process.stdin.isTTY);
    const n = parameterCount(b.model.config).total;
    console.log(`chameleon-ts chat: ${modelDir} (${(n / 1e6).toFixed(1)}M parameters, ${backend.description}); pages and images go to ${outDir}`);
    console.log(HELP);

    const turns: PageTurn[] = [];
    let pending: { segments: Segment[]; files: string[] } = { segments: [], files: [] };
    let turnNo = 0;
    const save = (): void => {
      writeFileSync(join(outDir, 'index.html'), conversationHtml(`chameleon-ts chat`, turns, { model: modelDir, seed: base.seed }));
      writeFileSync(join(outDir, 'transcript.json'), JSON.stringify({ model: modelDir, turns }, null, 2) + '\n');
    };
    const rl = readline.createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
    let current: AbortController | null = null;
    rl.on('SIGINT', () => {
      if (current) current.abort();
      else rl.close();
    });
    if (tty) rl.setPrompt('> ');
    if (tty) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      try {
        if (line === '') continue;
        if (line === '/quit' || line === '/exit') break;
        if (line === '/help') {
          console.log(HELP);
          continue;
        }
        if (line === '/reset') {
          session.reset();
          pending = { segments: [], files: [] };
          console.log('(conversation cleared)');
          continue;
        }
        if (line.startsWith('/image')) {
          const file = line.slice('/image'.length).trim();
          if (!file) throw new ChameleonError('/image needs a file: /image path/to/picture.png');
          const codes = await encodeImage(b, file);
          const name = `input-${turnNo + 1}-${pending.files.length + 1}-${basename(file)}`;
          copyFileSync(file, join(outDir, name));
          pending.segments.push({ type: 'image', codes });
          pending.files.push(name);
          console.log(`(attached ${file}; it goes with your next message)`);
          continue;
        }
        if (line.startsWith('/')) throw new ChameleonError(`unknown command ${line.split(/\s/)[0]} (${HELP})`);
        turnNo++;
        const user: Segment[] = [...pending.segments, { type: 'text', text: line }];
        const userParts: PagePart[] = [...pending.files.map((file): PagePart => ({ kind: 'image', file })), { kind: 'text', text: line }];
        pending = { segments: [], files: [] };
        const reply: PagePart[] = [];
        current = new AbortController();
        let bar: ProgressBar | null = null;
        let open = false;
        const stream = session.send(user, { ...base, seed: (base.seed + turnNo - 1) >>> 0 }, current.signal);
        for (;;) {
          const r = await stream.next();
          if (r.done) {
            if (open) process.stdout.write('\n');
            if (r.value.droppedTurns > 0) console.log(`(the ${r.value.droppedTurns} oldest exchange${r.value.droppedTurns === 1 ? '' : 's'} no longer fit the context and were dropped)`);
            if (r.value.reason === 'abort') console.log('(stopped)');
            break;
          }
          const ev = r.value;
          if (ev.type === 'text') {
            process.stdout.write(terminalSafe(ev.delta));
            open = !ev.delta.endsWith('\n');
            const last = reply[reply.length - 1];
            if (last?.kind === 'text') last.text += ev.delta;
            else reply.push({ kind: 'text', text: ev.delta });
          } else if (ev.type === 'image-start') {
            if (open) process.stdout.write('\n');
            open = false;
            bar = new ProgressBar({ total: ev.tokens, label: `image ${ev.index + 1}`, unit: 'tok' });
            bar.tick(0);
          } else if (ev.type === 'image-progress') {
            bar?.tick(ev.tokens - bar.completed);
          } else if (ev.type === 'image') {
            bar?.tick(b.imageTokens - bar.completed);
            bar?.finish();
            bar = null;
            const stem = `turn-${turnNo}-image-${ev.index + 1}`;
            let file = `${stem}.json`;
            if (ev.png) {
              file = `${stem}.png`;
              writeFileSync(join(outDir, file), ev.png);
            } else writeFileSync(join(outDir, file), JSON.stringify({ codes: [...ev.codes] }) + '\n');
            reply.push({ kind: 'image', file });
            console.log(`[image: ${join(outDir, file)}]`);
          }
        }
        current = null;
        turns.push({ role: 'user', parts: userParts }, { role: 'assistant', parts: reply });
        save();
      } catch (e) {
        current = null;
        if (!(e instanceof ChameleonError)) throw e;
        process.stderr.write(`chameleon: ${e.message}\n`);
      } finally {
        if (tty) rl.prompt();
      }
    }
    rl.close();
    if (turns.length) console.log(`conversation saved: ${join(outDir, 'index.html')}`);
  } finally {
    await close();
  }
}

/** Adds `chat` to the program. */
export function registerChatCommand(program: Command): void {
  const cmd = program
    .command('chat')
    .description('talk to a model: type requests, get streamed text and images (PNG) plus an index.html of the conversation')
    .option('--model <dir>', 'Hugging Face Chameleon directory (default: the shipped demo model, models/demo)')
    .option('--out <dir>', 'where images, index.html and transcript.json go (default: a new folder under ./outputs)')
    .addOption(numberOption('--seed <n>', 'random seed of the first reply (each later reply adds 1)', { int: true, min: 0, max: 2 ** 32 - 1 }))
    .addOption(numberOption('--max-new-tokens <n>', 'tokens per reply (default: 256 of text plus room for 2 pictures; capped by the context)', { int: true, min: 1 }))
    .addOption(numberOption('--temperature <t>', 'sampling temperature for text and images', {}))
    .option('--greedy', 'argmax decoding');
  engineOptions(cmd).action(async (o: ChatCliOptions) => runChat(o));
}
