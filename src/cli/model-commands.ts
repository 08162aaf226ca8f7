// CLI commands over a Hugging Face Chameleon directory: `parity` (compare with reference fixtures),
// `inspect` (config, parameters by group, dtypes, memory) and `logits` (raw logits of an id list).
// Output is a human table, or JSON with --json.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../util/errors.js';
import { runParity, summaryLine, type ParityCheck } from '../eval/parity.js';
import { loadChameleon, readConfig } from '../model/checkpoint.node.js';
import { parameterCount } from '../model/config.js';
import { openSafetensors } from '../io/safetensors.node.js';
import { fmtBytes, fmtCount, openEngine, parseIds, type EngineOptions } from './common.js';
import { vqParityHooks } from './vq-hooks.js';

export async function parityCommand(dir: string, opts: EngineOptions & { json?: boolean }): Promise<void> {
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

export function inspectCommand(dir: string, opts: { json?: boolean }): void {
  const cfg = readConfig(dir);
  const archive = openSafetensors(dir);
  try {
    const dtypes = new Map<string, { count: number; bytes: number }>();
    let vqBytes = 0;
    let lmBytes = 0;
    for (const [name, t] of archive.tensors()) {
      const d = dtypes.get(t.dtype) ?? { count: 0, bytes: 0 };
      d.count++;
      d.bytes += t.byteLength;
      dtypes.set(t.dtype, d);
      if (name.startsWith('model.vqmodel.')) vqBytes += t.byteLength;
      else lmBytes += t.byteLength;
    }
    const pc = parameterCount(cfg);
    const kvPerToken = 2 * cfg.numHiddenLayers * cfg.numKeyValueHeads * cfg.headDim * 4;
    const f32Weights = pc.total * 4;
    const report = {
      dir,
      config: {
        layers: cfg.numHiddenLayers,
        hidden: cfg.hiddenSize,
        ffn: cfg.intermediateSize,
        heads: cfg.numAttentionHeads,
        kvHeads: cfg.numKeyValueHeads,
        headDim: cfg.headDim,
        vocab: cfg.vocabSize,
        maxPositions: cfg.maxPositionEmbeddings,
        swinNorm: cfg.swinNorm,
        ropeTheta: cfg.ropeTheta,
        imageCodes: Object.keys(cfg.vocabularyMap ?? {}).filter((n) => n.startsWith('IMGIMG')).length,
      },
      parameters: pc,
      dtypes: Object.fromEntries(dtypes),
      memory: {
        languageModelBytesAsStored: lmBytes,
        vqBytesAsStored: vqBytes,
        languageModelBytesF32: f32Weights,
        kvCacheBytesPerToken: kvPerToken,
        kvCacheBytesFullContext: kvPerToken * cfg.maxPositionEmbeddings,
      },
      warnings: [...cfg.warnings, ...archive.warnings],
    };
    if (opts.json) {
      console.log(JSON.stringify(report));
      return;
    }
    const c = report.config;
    console.log(`model       ${dir}`);
    console.log(`shape       ${c.layers} layers, hidden ${c.hidden}, FFN ${c.ffn}, ${c.heads} heads (${c.kvHeads} KV, dim ${c.headDim}), vocab ${c.vocab} (${c.imageCodes} image codes), context ${c.maxPositions}, ${c.swinNorm ? 'swin norm' : 'pre-norm'}`);
    console.log(`parameters  ${fmtCount(pc.total)} total`);
    for (const [k, v] of Object.entries(pc)) if (k !== 'total') console.log(`            ${k.padEnd(11)} ${fmtCount(v as number)}`);
    console.log('dtypes      ' + [...dtypes].map(([d, v]) => `${d}: ${v.count} tensors, ${fmtBytes(v.bytes)}`).join('; '));
    console.log(`memory      weights as stored ${fmtBytes(lmBytes)} (+ VQ ${fmtBytes(vqBytes)}); as f32 ${fmtBytes(f32Weights)}`);
    console.log(`            KV cache ${fmtBytes(kvPerToken)}/token, ${fmtBytes(kvPerToken * cfg.maxPositionEmbeddings)} for the full ${cfg.maxPositionEmbeddings}-token context`);
    for (const w of report.warnings) console.log(`warning     ${w}`);
  } finally {
    archive.close();
  }
}

export async function logitsCommand(opts: EngineOptions & { model: string; ids: string; json?: boolean }): Promise<void> {
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
