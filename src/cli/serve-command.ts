// `chameleon serve`: the OpenAI-compatible HTTP server and the web app over one model directory
// (src/server/). Parses the flags (port, host, API key or CHAMELEON_API_KEY, batch and queue sizes,
// request limits), starts the server, prints its URL, and on SIGTERM or SIGINT shuts down gracefully:
// new requests get 503, in-flight ones finish within --grace seconds (then are cancelled), exit 0.
// Also `chameleon start` (npm start): serve the shipped demo model, or without it run doctor and say how to get one.

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ChameleonError } from '../util/errors.js';
import { parameterCount } from '../model/config.js';
import { KV_DTYPE_CHOICES, type KvDtypeChoice } from '../model/report.js';
import { startServer } from '../server/app.js';
import { DEFAULT_LIMITS } from '../server/inputs.js';
import { loadServedModel } from '../server/model.js';
import { DEMO_MODEL_DIR, modelDirOrDemo, openEngine } from './common.js';
import { runDoctor } from './doctor.js';
import { choiceOption, engineOptions, numberOption, type EngineFlags } from './options.js';

export interface ServeCliOptions extends EngineFlags {
  model?: string;
  name?: string;
  port: number;
  host: string;
  apiKey?: string;
  maxBatch: number;
  maxQueue: number;
  allowHttpImages?: boolean;
  maxBodyMb: number;
  maxImagePixels: number;
  maxImages: number;
  maxTokens: number;
  maxN: number;
  previewBudget: number;
  grace: number;
  kvDtype: KvDtypeChoice;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The defaults of every flag of `serve` that has one (also what `start` serves with). */
const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  maxBatch: 8,
  maxQueue: 32,
  maxBodyMb: DEFAULT_LIMITS.bodyBytes / 1024 / 1024,
  maxImagePixels: DEFAULT_LIMITS.imagePixels,
  maxImages: DEFAULT_LIMITS.imagesPerRequest,
  maxTokens: DEFAULT_LIMITS.maxTokens,
  maxN: DEFAULT_LIMITS.maxChoices,
  previewBudget: 0.1,
  grace: 10,
  kvDtype: 'auto',
} satisfies Partial<ServeCliOptions>;

const portOption = () => numberOption('--port <n>', 'TCP port (0: any free port)', { int: true, min: 0, max: 65535 }, DEFAULTS.port);

async function serveCommand(o: ServeCliOptions): Promise<void> {
  const apiKey = o.apiKey ?? (process.env.CHAMELEON_API_KEY || undefined);
  if (apiKey !== undefined && apiKey.trim() === '') throw new ChameleonError('--api-key must not be empty');
  const modelDir = modelDirOrDemo(o.model);
  const { engine, backend, close } = await openEngine(o);
  let server;
  try {
    const model = await loadServedModel(engine, modelDir, { id: o.name, kvDtype: o.kvDtype });
    server = await startServer({
      model,
      host: o.host,
      port: o.port,
      apiKey,
      maxBatch: o.maxBatch,
      maxQueue: o.maxQueue,
      allowHttpImages: o.allowHttpImages ?? false,
      previewBudget: o.previewBudget,
      limits: { bodyBytes: Math.round(o.maxBodyMb * 1024 * 1024), imagePixels: o.maxImagePixels, imagesPerRequest: o.maxImages, maxTokens: o.maxTokens, maxChoices: o.maxN },
    }).catch((err: unknown) => {
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE') throw new ChameleonError(`port ${o.port} on ${o.host} is already in use (choose another with --port)`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ChameleonError(`cannot listen on --host ${o.host} (${code})`);
      throw err;
    });
    const n = parameterCount(model.bundle.model.config).total;
    console.log(`chameleon serve: model '${model.id}' from ${modelDir} (${(n / 1e6).toFixed(1)}M parameters, ${backend.description})`);
    console.log(`listening on ${server.url} (OpenAI base URL ${server.url}/v1)${apiKey ? '; bearer-token auth on' : ''}`);
    console.log(server.webApp ? `web app: open ${server.url}/ in a browser` : 'web app: not built (npm run build:web builds it); the API works without it');
    if (!LOOPBACK.has(o.host) && !apiKey) process.stderr.write(`warning: --host ${o.host} accepts connections from other machines and no --api-key is set\n`);
  } catch (err) {
    await close();
    throw err;
  }
  const s = server;
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      console.log(`${sig}: shutting down (${s.scheduler.inFlight} request${s.scheduler.inFlight === 1 ? '' : 's'} in flight, up to ${o.grace} s to finish)`);
      void s.shutdown(o.grace * 1000).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await close();
  console.log('stopped');
}

/** Adds `serve` to the program. */
export function registerServeCommand(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve a model over an OpenAI-compatible HTTP API (chat completions with images, image generation, a native event stream, metrics)')
    .option('--model <dir>', 'Hugging Face Chameleon directory (default: the shipped demo model, models/demo)')
    .option('--name <id>', 'the model name clients pass as `model` (default: the directory name)')
    .addOption(portOption())
    .option('--host <addr>', 'interface to listen on (127.0.0.1: this machine only)', DEFAULTS.host)
    .option('--api-key <key>', 'require Authorization: Bearer <key> (default: env CHAMELEON_API_KEY; none = no auth)')
    .addOption(numberOption('--max-batch <n>', 'requests decoded together in one step', { int: true, min: 1, max: 256 }, DEFAULTS.maxBatch))
    .addOption(numberOption('--max-queue <n>', 'requests that may wait for a slot; more get 429 + Retry-After', { int: true, min: 0, max: 100_000 }, DEFAULTS.maxQueue))
    .option('--allow-http-images', 'fetch http(s) image URLs in messages (default: data URLs only)')
    .addOption(numberOption('--max-body-mb <n>', 'largest request body in MiB (images travel inside it)', { min: 0.001, max: 1024 }, DEFAULTS.maxBodyMb))
    .addOption(numberOption('--max-image-pixels <n>', 'largest input image (width × height)', { int: true, min: 1 }, DEFAULTS.maxImagePixels))
    .addOption(numberOption('--max-images <n>', 'input images per request', { int: true, min: 0, max: 1000 }, DEFAULTS.maxImages))
    .addOption(numberOption('--max-tokens <n>', 'largest max_tokens a request may ask for (the context caps it too)', { int: true, min: 1 }, DEFAULTS.maxTokens))
    .addOption(numberOption('--max-n <n>', 'largest n (choices or images per request)', { int: true, min: 1, max: 64 }, DEFAULTS.maxN))
    .addOption(numberOption('--preview-budget <x>', 'share of decode time image previews of /api/generate may take', { min: 0, max: 1 }, DEFAULTS.previewBudget))
    .addOption(numberOption('--grace <s>', 'seconds in-flight requests get to finish on SIGTERM before they are cancelled', { min: 0, max: 3600 }, DEFAULTS.grace))
    .addOption(choiceOption('--kv-dtype <dtype>', 'KV cache storage; auto: bf16 when the weights are stored as bf16, else f32', KV_DTYPE_CHOICES, DEFAULTS.kvDtype));
  engineOptions(cmd).action(async (o: ServeCliOptions) => serveCommand(o));
}


/** What to do without the demo model (printed by `start` after the engine check). */
function howToGetAModel(): string {
  const ways: [string, string][] = [
    ['npm run train:demo', 'builds it here; then `npm start` serves it with the web app'],
    ['./chameleon init-tiny tiny && npm start -- --model tiny', 'a random-weight model: the web app runs on it, its answers are noise'],
    ['npm start -- --model <dir>', 'any Hugging Face Chameleon directory'],
  ];
  const w = Math.max(...ways.map(([c]) => c.length)) + 3;
  return ['', `The demo model is not at ${DEMO_MODEL_DIR}, so there is nothing to serve yet. To get a model:`, ...ways.map(([c, d]) => `  ${c.padEnd(w)}${d}`)].join('\n');
}

export interface StartCliOptions extends EngineFlags {
  model?: string;
  port: number;
  host: string;
}

/** Adds `start` (npm start) to the program. */
export function registerStartCommand(program: Command): void {
  const cmd = program
    .command('start')
    .description(`the main job: serve the shipped demo model (models/demo) with the web app at http://${DEFAULTS.host}:${DEFAULTS.port}/; without it, the engine self-check (doctor) and how to get a model`)
    .option('--model <dir>', 'serve this model directory instead of the demo model')
    .addOption(portOption())
    .option('--host <addr>', 'interface to listen on (127.0.0.1: this machine only)', DEFAULTS.host);
  engineOptions(cmd).action(async (o: StartCliOptions) => {
    if (o.model === undefined && !existsSync(DEMO_MODEL_DIR)) {
      await runDoctor({ json: false, threads: o.threads });
      console.log(howToGetAModel());
      return;
    }
    await serveCommand({ ...DEFAULTS, ...o });
  });
}
