// CLI commands over a Hugging Face Chameleon directory: `parity` (compare with reference fixtures),
// `inspect` (the library's report: config, parameters by group, dtypes, memory), `logits` (raw
// logits of an id list), `convert` (Meta's release -> HF) and `init-tiny` (a random-weight complete
// directory to try everything on). Output is a human table, or JSON with --json.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../util/errors.js';
import { runParity, summaryLine, type ParityCheck } from '../eval/parity.js';
import type { Command } from 'commander';
import { loadChameleon, readConfig } from '../model/checkpoint.node.js';
import { convertMeta } from '../model/convert.node.js';
import type { KVDType } from '../model/kv-cache.js';
import { inspectReport, type InspectReport } from '../model/report.js';
import { writeTinyModel } from '../model/tiny-model.node.js';
import { assembleModelDir } from '../model/model-dir.node.js';
import { openSafetensors } from '../io/safetensors.node.js';
import { fmtBytes, fmtCount, openEngine, parseIds } from './common.js';
import { engineOptions, numberOption, type EngineFlags } from './options.js';
import { vqParityHooks } from './vq-hooks.js';

async function parityCommand(dir: string, opts: EngineFlags & { json?: boolean }): Promise<void> {
  const expPath = join(dir, 'expected.json');
  if (!existsSync(expPath)) throw new ChameleonError(`${dir}: no expected.json (a parity fixture directory has config.json, model.safetensors and expected.json)`);
  const expected = JSON.parse(readFileSync(expPath, 'utf8')) as Record<string, unknown>;
  const { engine, close } = await openEngine(opts);
  try {
    // f32 weights: the reference logits were computed with widened weights, and the bf16 kernels sum in another order.
    const model = loadChameleon(engine, dir, { weights: 'f32' });
    const hooks = await vqParityHooks(engine, dir);
    const checks = runParity(model, expected, hooks ?? undefined);
    if (opts.json) {
      for (const c of checks) console.log(JSON.stringify(c));
    } else {
      for (const c of checks) console.log(formatCheck(c));
    }
    console.log(summaryLine(checks));
    if (checks.some((c) => !c.pass)) process.exitCode = 1;
  } finally {
    await close();
  }
}

function formatCheck(c: ParityCheck): string {
  const status = c.pass ? 'ok  ' : 'FAIL';
  const err = c.maxAbsErr === null ? 'exact' : `max abs err ${c.maxAbsErr.toExponential(2)} (tol ${c.tol})`;
  return `${status} ${`${c.section}/${c.name}`.padEnd(48)} ${err}${c.detail ? `  ${c.detail}` : ''}`;
}

function inspectCommand(dir: string, opts: { json?: boolean }): void {
  const cfg = readConfig(dir);
  const archive = openSafetensors(dir);
  let report: InspectReport;
  try {
    report = inspectReport(dir, cfg, archive.tensors().values(), archive.warnings);
  } finally {
    archive.close();
  }
  if (opts.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const c = report.config;
  const m = report.memory;
  const pc = report.parameters;
  console.log(`model       ${dir}`);
  console.log(`shape       ${c.layers} layers, hidden ${c.hidden}, FFN ${c.ffn}, ${c.heads} heads (${c.kvHeads} KV, dim ${c.headDim}), vocab ${c.vocab} (${c.imageCodes} image codes), context ${c.maxPositions}, ${c.swinNorm ? 'swin norm' : 'pre-norm'}`);
  console.log(`parameters  ${fmtCount(pc.total)} total`);
  for (const [k, v] of Object.entries(pc)) if (k !== 'total') console.log(`            ${k.padEnd(11)} ${fmtCount(v as number)}`);
  console.log('dtypes      ' + Object.entries(report.dtypes).map(([d, v]) => `${d}: ${v.count} tensors, ${fmtBytes(v.bytes)}`).join('; '));
  console.log(`memory      weights as stored ${fmtBytes(m.languageModelBytesAsStored)} (+ VQ ${fmtBytes(m.vqBytesAsStored)}); as f32 ${fmtBytes(m.languageModelBytesF32)}`);
  const other: KVDType = m.kvCacheDtype === 'bf16' ? 'f32' : 'bf16';
  console.log(
    `            KV cache (${m.kvCacheDtype}, what --kv-dtype auto picks for ${m.matrixDtype ?? 'unknown'} matrices) ${fmtBytes(m.kvCacheBytesPerToken)}/token, ` +
      `${fmtBytes(m.kvCacheBytesFullContext)} for the full ${c.maxPositions}-token context; as ${other} ${fmtBytes(m.kvCacheBytesPerTokenByDtype[other])}/token`,
  );
  for (const w of report.warnings) console.log(`warning     ${w}`);
}

async function logitsCommand(opts: EngineFlags & { model: string; ids: string; json?: boolean }): Promise<void> {
  const ids = parseIds(opts.ids);
  const { engine, close } = await openEngine(opts);
  try {
    const model = loadChameleon(engine, opts.model);
    const bad = ids.find((i) => i >= model.config.vocabSize);
    if (bad !== undefined) throw new ChameleonError(`--ids: ${bad} is outside the vocabulary (size ${model.config.vocabSize})`);
    const rows = engine.noGrad(() => {
      const { logits } = model.forward({ ids: engine.ids(ids, [1, ids.length]) });
      const v = model.config.vocabSize;
      const d = logits.f32();
      return ids.map((_, t) => Array.from(d.subarray(t * v, (t + 1) * v)));
    });
    if (opts.json) {
      console.log(JSON.stringify({ logits: rows }));
      return;
    }
    rows.forEach((row, t) => {
      const top = row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
      console.log(`pos ${t} id ${ids[t]}: top ${top.map(([v, i]) => `${i}=${v.toFixed(4)}`).join(' ')}`);
    });
  } finally {
    await close();
  }
}

async function initTinyCommand(out: string, opts: EngineFlags & { seed: number; force?: boolean }): Promise<void> {
  const t0 = performance.now();
  const { engine, close } = await openEngine({ ...opts, backend: 'ref' });
  try {
    const r = writeTinyModel(engine, out, { seed: opts.seed, force: opts.force });
    const secs = (performance.now() - t0) / 1000;
    console.log(`wrote a random-weight tiny model to ${out} in ${secs.toFixed(1)} s: ${r.files.join(', ')} (vocab ${r.config.vocabSize}, ${r.config.numHiddenLayers} layers, 32×32 images as 4×4 codes)`);
  } finally {
    await close();
  }
}

async function assembleCommand(out: string, opts: { tokenizer: string; vq: string; preset: string; seed: number; force?: boolean }): Promise<void> {
  const { engine, close } = await openEngine({ backend: 'ref' });
  try {
    const r = assembleModelDir(engine, out, { tokenizer: opts.tokenizer, vq: opts.vq, preset: opts.preset, seed: opts.seed, force: opts.force });
    const vq = r.config.vqConfig!;
    const grid = vq.resolution / 2 ** (vq.channelMultiplier.length - 1);
    console.log(`wrote ${out}: ${r.files.join(', ')} (vocab ${r.config.vocabSize}, ${vq.resolution}×${vq.resolution} images as ${grid}×${grid} codes, random ${opts.preset} transformer: train it with \`chameleon train lm\`)`);
  } finally {
    await close();
  }
}

/** Adds `parity`, `inspect`, `logits`, `convert`, `init-tiny` and `assemble` to the program. */
export function registerModelCommands(program: Command): void {
  engineOptions(
    program
      .command('parity <fixture-dir>')
      .description('compare the model (and image tokenizer) with Hugging Face reference outputs in <fixture-dir>/expected.json')
      .option('--json', 'one JSON object per check'),
  ).action(async (dir: string, opts: EngineFlags & { json?: boolean }) => parityCommand(dir, opts));

  program
    .command('inspect <model-dir>')
    .description('config summary, parameter count by group, dtypes and the memory the model needs')
    .option('--json', 'print one JSON object')
    .action((dir: string, opts: { json?: boolean }) => inspectCommand(dir, opts));

  engineOptions(
    program
      .command('logits')
      .description('logits of every position for a list of token ids (debugging, cross-implementation checks)')
      .requiredOption('--model <dir>', 'Hugging Face Chameleon directory')
      .requiredOption('--ids <list>', 'comma-separated token ids, e.g. 0,5,9')
      .option('--json', 'print {"logits": number[][]}'),
  ).action(async (opts: EngineFlags & { model: string; ids: string; json?: boolean }) => logitsCommand(opts));

  program
    .command('convert <meta-dir> <out-dir>')
    .description("convert Meta's Chameleon release (consolidated*.pth, params.json, tokenizer, vqgan) to a Hugging Face directory")
    .option('--model <name>', 'model folder inside a data/models tree, e.g. 7b or 30b')
    .addOption(numberOption('--max-shard-bytes <n>', 'shard model.safetensors above this size', { int: true, min: 1 }))
    .action(async (metaDir: string, outDir: string, opts: { model?: string; maxShardBytes?: number }) => {
      const r = await convertMeta(metaDir, outDir, { model: opts.model, maxShardBytes: opts.maxShardBytes });
      console.log(`converted ${r.tensors} tensors from ${r.inputShards} shard(s) into ${outDir}: ${r.files.join(', ')}`);
      for (const w of r.warnings) console.log(`warning: ${w}`);
    });

  program
    .command('init-tiny <out-dir>')
    .description('write a complete random-weight tiny model directory (tokenizer, transformer, VQGAN) to try every command on')
    .addOption(numberOption('--seed <n>', 'seed of the random weights', { int: true, min: 0, max: 2 ** 32 - 1 }, 0))
    .option('--force', 'overwrite a directory that is not empty')
    .action(async (out: string, opts: { seed: number; force?: boolean }) => initTinyCommand(out, opts));

  program
    .command('assemble <out-dir>')
    .description('a complete model directory from a trained tokenizer and VQGAN (random transformer weights): what data build and train lm need')
    .requiredOption('--tokenizer <dir>', '`chameleon train tokenizer --out` directory (tokenizer.json, vocabulary_map.json)')
    .requiredOption('--vq <dir>', '`chameleon train vq --out` directory (config.json, model.safetensors)')
    .option('--preset <name>', 'transformer preset of the random language model (tiny | small | ...)', 'small')
    .addOption(numberOption('--seed <n>', 'seed of the random weights', { int: true, min: 0, max: 2 ** 32 - 1 }, 0))
    .option('--force', 'overwrite a directory that is not empty')
    .action(async (out: string, opts: { tokenizer: string; vq: string; preset: string; seed: number; force?: boolean }) => assembleCommand(out, opts));
}
