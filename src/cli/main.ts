#!/usr/bin/env node
// The `chameleon` command line. Each subcommand is a thin adapter over the library: it parses
// arguments (commander), runs the work with progress on stderr, and prints results (human text, or
// JSON with --json). Errors the user can fix are printed as one clear line with exit code 2.

import { Command } from 'commander';
import { ChameleonError } from '../util/errors.js';
import { runDoctor } from './doctor.js';
import { parseIntOption } from './common.js';
import { inspectCommand, logitsCommand, parityCommand } from './model-commands.js';
import { convertMeta } from '../model/convert.node.js';
import { generateCommand, type GenerateCliOptions } from './generate-command.js';
import { registerImageCommands } from './image-commands.js';
import { registerTextCommands } from './text-commands.js';

const program = new Command();
program.name('chameleon').description('Chameleon mixed-modal models in TypeScript: engine, model, tokenizers, generation').version('0.1.0');

program
  .command('doctor')
  .description('check the compute engine on this machine: wasm SIMD variant, threads, a GEMM and a gradient check')
  .option('--json', 'print one JSON object')
  .option('--threads <n>', 'worker threads (default: all cores)', parseIntOption)
  .action(async (opts: { json?: boolean; threads?: number }) => {
    await runDoctor({ json: Boolean(opts.json), threads: opts.threads });
  });

program
  .command('parity <fixture-dir>')
  .description('compare the model (and image tokenizer) with Hugging Face reference outputs in <fixture-dir>/expected.json')
  .option('--json', 'one JSON object per check')
  .option('--backend <name>', 'wasm (default) or ref')
  .option('--threads <n>', 'worker threads', parseIntOption)
  .action(async (dir: string, opts: { json?: boolean; backend?: string; threads?: number }) => {
    await parityCommand(dir, opts);
  });

program
  .command('inspect <model-dir>')
  .description('config summary, parameter count by group, dtypes and the memory the model needs')
  .option('--json', 'print one JSON object')
  .action((dir: string, opts: { json?: boolean }) => inspectCommand(dir, opts));

program
  .command('logits')
  .description('logits of every position for a list of token ids (debugging, cross-implementation checks)')
  .requiredOption('--model <dir>', 'Hugging Face Chameleon directory')
  .requiredOption('--ids <list>', 'comma-separated token ids, e.g. 0,5,9')
  .option('--json', 'print {"logits": number[][]}')
  .option('--backend <name>', 'wasm (default) or ref')
  .option('--threads <n>', 'worker threads', parseIntOption)
  .action(async (opts: { model: string; ids: string; json?: boolean; backend?: string; threads?: number }) => {
    await logitsCommand(opts);
  });

program
  .command('convert <meta-dir> <out-dir>')
  .description("convert Meta's Chameleon release (consolidated*.pth, params.json, tokenizer, vqgan) to a Hugging Face directory")
  .option('--model <name>', 'model folder inside a data/models tree, e.g. 7b or 30b')
  .option('--max-shard-bytes <n>', 'shard model.safetensors above this size', parseIntOption)
  .action(async (metaDir: string, outDir: string, opts: { model?: string; maxShardBytes?: number }) => {
    const r = await convertMeta(metaDir, outDir, { model: opts.model, maxShardBytes: opts.maxShardBytes });
    console.log(`converted ${r.tensors} tensors from ${r.inputShards} shard(s) into ${outDir}: ${r.files.join(', ')}`);
    for (const w of r.warnings) console.log(`warning: ${w}`);
  });

const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`expected a number, got '${v}'`);
  return n;
};

program
  .command('generate <prompt>')
  .description('generate text, images or both from a prompt (and optional images), streaming to the terminal')
  .requiredOption('--model <dir>', 'Hugging Face Chameleon directory (config.json, model.safetensors, tokenizer.json)')
  .option('--image <file...>', 'input image(s); place them with <image> in the prompt, else they come first')
  .option('--mode <mode>', 'text | image | interleaved', 'text')
  .option('--chat', 'treat the prompt as a user turn (ends it with end-of-turn)')
  .option('--max-new-tokens <n>', 'generation budget', parseIntOption)
  .option('--max-images <n>', 'images allowed (interleaved) or drawn (image mode)', parseIntOption)
  .option('--seed <n>', 'random seed (same seed, same output)', (v) => parseInt(v, 10))
  .option('--temperature <t>', 'text temperature', num)
  .option('--top-p <p>', 'nucleus sampling for text and images', num)
  .option('--top-k <k>', 'top-k for text and images', parseIntOption)
  .option('--repetition-penalty <r>', 'text repetition penalty (HF semantics)', num)
  .option('--greedy', 'argmax decoding')
  .option('--image-temperature <t>', 'image temperature', num)
  .option('--cfg <kind>', 'classifier-free guidance for images: 3way | 2way | off')
  .option('--guidance-text <s>', 'text guidance scale', num)
  .option('--guidance-image <s>', 'image guidance scale (3-way)', num)
  .option('--negative <text>', 'negative prompt for 2-way guidance')
  .option('--out <dir>', 'where images and index.html go (default: a new folder under ./outputs)')
  .option('--json', 'print one JSON summary instead of streaming text')
  .option('--kv-dtype <dtype>', 'KV cache storage: auto (bf16 for bf16 weights, else f32) | f32 | bf16', 'auto')
  .option('--backend <name>', 'wasm (default) or ref')
  .option('--threads <n>', 'worker threads', parseIntOption)
  .action(async (prompt: string, opts: GenerateCliOptions) => {
    await generateCommand(prompt, opts);
  });

program
  .command('start')
  .description('the main job: until the demo model ships, the engine self-check (doctor)')
  .action(async () => {
    await runDoctor({ json: false });
    console.log('\nNext: `npm run bench -- kernels` measures GEMM/matvec throughput against this machine\'s memory bandwidth.');
  });

registerImageCommands(program);
registerTextCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ChameleonError) {
    console.error(`chameleon: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
