// `chameleon serve`: the OpenAI-compatible HTTP server over one model directory (src/server/). Parses
// the flags (port, host, API key or CHAMELEON_API_KEY, batch and queue sizes, request limits),
// starts the server, prints its URL, and on SIGTERM or SIGINT shuts down gracefully: new requests
// get 503, in-flight ones finish within --grace seconds (then are cancelled), and the command exits 0.

import type { Command } from 'commander';
import { ChameleonError } from '../util/errors.js';
import { parameterCount } from '../model/config.js';
import { KV_DTYPE_CHOICES, type KvDtypeChoice } from '../model/report.js';
import { startServer } from '../server/app.js';
import { DEFAULT_LIMITS } from '../server/inputs.js';
import { loadServedModel } from '../server/model.js';
import { modelDirOrDemo, openEngine } from './common.js';
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
    .addOption(numberOption('--port <n>', 'TCP port (0: any free port)', { int: true, min: 0, max: 65535 }, 8080))
    .option('--host <addr>', 'interface to listen on (127.0.0.1: this machine only)', '127.0.0.1')
    .option('--api-key <key>', 'require Authorization: Bearer <key> (default: env CHAMELEON_API_KEY; none = no auth)')
    .addOption(numberOption('--max-batch <n>', 'requests decoded together in one step', { int: true, min: 1, max: 256 }, 8))
    .addOption(numberOption('--max-queue <n>', 'requests that may wait for a slot; more get 429 + Retry-After', { int: true, min: 0, max: 100_000 }, 32))
    .option('--allow-http-images', 'fetch http(s) image URLs in messages (default: data URLs only)')
    .addOption(numberOption('--max-body-mb <n>', 'largest request body in MiB (images travel inside it)', { min: 0.001, max: 1024 }, DEFAULT_LIMITS.bodyBytes / 1024 / 1024))
    .addOption(numberOption('--max-image-pixels <n>', 'largest input image (width × height)', { int: true, min: 1 }, DEFAULT_LIMITS.imagePixels))
    .addOption(numberOption('--max-images <n>', 'input images per request', { int: true, min: 0, max: 1000 }, DEFAULT_LIMITS.imagesPerRequest))
    .addOption(numberOption('--max-tokens <n>', 'largest max_tokens a request may ask for (the context caps it too)', { int: true, min: 1 }, DEFAULT_LIMITS.maxTokens))
    .addOption(numberOption('--max-n <n>', 'largest n (choices or images per request)', { int: true, min: 1, max: 64 }, DEFAULT_LIMITS.maxChoices))
    .addOption(numberOption('--preview-budget <x>', 'share of decode time image previews of /api/generate may take', { min: 0, max: 1 }, 0.1))
    .addOption(numberOption('--grace <s>', 'seconds in-flight requests get to finish on SIGTERM before they are cancelled', { min: 0, max: 3600 }, 10))
    .addOption(choiceOption('--kv-dtype <dtype>', 'KV cache storage; auto: bf16 when the weights are stored as bf16, else f32', KV_DTYPE_CHOICES, 'auto'));
  engineOptions(cmd).action(async (o: ServeCliOptions) => serveCommand(o));
}
