// The fine-tuning modes as a user runs them (`chameleon train sft --mode lora|image-head`, then
// `chameleon export`): LoRA checkpoints hold only PEFT-named adapters, resume bit-identically, and
// export merges W + alpha/rank·B·A (checked against a hand computation over the files); image-head
// training changes only the image rows + EOI of lm_head (every other tensor bit-identical to the base)
// and ignores text targets; refusals are one line with exit code 2.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors } from '../../src/io/safetensors.node.js';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'finetune-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function losses(runDir: string): number[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { loss?: number; lossText?: number | null })
    .filter((r) => r.loss !== undefined)
    .map((r) => r.loss!);
}

function tensors(path: string): Map<string, Float32Array> {
  const a = openSafetensors(path);
  try {
    return new Map([...a.tensors()].map(([n]) => [n, a.readTensorF32(n)]));
  } finally {
    a.close();
  }
}

const base = join(dir, 'base');
const setup = run(['init-tiny', base]);
const common = ['--init', base, '--synthetic-data', '5', '--threads', '2', '--no-mfu', '--no-progress'];
const loraCfg = join(dir, 'lora.json');
writeFileSync(
  loraCfg,
  JSON.stringify({ preset: 'tiny', train: { lr: 1e-2, steps: 6, batch: 4, seqLen: 64 }, run: { checkpointEvery: 3, evalEvery: 3 }, finetune: { mode: 'lora', lora: { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'], dropout: 0.1 } } }),
);

test('lora: adapters-only checkpoints (PEFT names), bit-identical resume, export merges W + alpha/rank·B·A', () => {
  assert.equal(setup.code, 0, setup.err);
  const full = join(dir, 'lora-full');
  const r = run(['train', 'sft', '--config', loraCfg, ...common, '--out', full]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /finetune lora: \d+ trainable parameters/);
  const want = losses(full);
  assert.equal(want.length, 6);
  assert.ok(want[5] < want[0], `loss falls: ${want.join(', ')}`);

  const ck = join(full, 'checkpoints', 'step-00000006');
  const files = readdirSync(ck).sort();
  assert.deepEqual(files, ['adapter_config.json', 'adapter_model.safetensors', 'config.json', 'trainer-state.safetensors']);
  const pc = JSON.parse(readFileSync(join(ck, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(pc.peft_type, 'LORA');
  assert.equal(pc.r, 4);
  assert.equal(pc.lora_alpha, 8);
  assert.deepEqual(pc.target_modules, ['q_proj', 'v_proj', 'down_proj']);
  const ad = tensors(join(ck, 'adapter_model.safetensors'));
  const layers = (JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;
  assert.equal(ad.size, layers * 3 * 2);
  const aKey = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
  const bKey = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
  assert.ok(ad.has(aKey) && ad.has(bKey), [...ad.keys()].slice(0, 4).join(', '));
  assert.ok(ad.get(bKey)!.some((x) => x !== 0), 'B moved off its zero init');

  // As if killed after the step-3 checkpoint: the run dir without its later checkpoint, resumed.
  const split = join(dir, 'lora-split');
  cpSync(full, split, { recursive: true });
  rmSync(join(split, 'checkpoints', 'step-00000006'), { recursive: true });
  const resumed = run(['train', 'sft', '--config', loraCfg, ...common, '--out', split, '--resume']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /resumed from checkpoints\/step-00000003 \(step 3\)/);
  const got = losses(split);
  assert.equal(got.length, 6);
  for (let i = 0; i < 6; i++) assert.ok(Object.is(got[i], want[i]), `step ${i + 1}: ${got[i]} vs ${want[i]}`);

  // Export: every adapted weight is W + (alpha/rank)·B·A; everything else is the base's, bit for bit.
  const exp = join(dir, 'lora-export');
  const e = run(['export', full, exp, '--threads', '2', '--json']);
  assert.equal(e.code, 0, e.err);
  const merged = tensors(exp);
  const orig = tensors(base);
  const name = 'model.layers.0.self_attn.q_proj.weight';
  const W = orig.get(name)!;
  const A = ad.get(aKey)!; // [4, in]
  const B = ad.get(bKey)!; // [out, 4]
  const inF = A.length / 4;
  const outF = B.length / 4;
  const M = merged.get(name)!;
  let maxErr = 0;
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) {
      let d = 0;
      for (let k = 0; k < 4; k++) d += B[o * 4 + k] * A[k * inF + i];
      maxErr = Math.max(maxErr, Math.abs(W[o * inF + i] + 2 * d - M[o * inF + i]));
    }
  }
  assert.ok(maxErr < 1e-6, `merged q_proj: max error ${maxErr}`);
  assert.ok(M.some((x, i) => x !== W[i]), 'the merge changed q_proj');
  for (const [n, t] of orig) {
    if (n.startsWith('model.vqmodel.') || /\.(q_proj|v_proj|down_proj)\.weight$/.test(n)) continue;
    assert.deepEqual(merged.get(n), t, `${n} is the base's`);
  }
  assert.ok(![...merged.keys()].some((n) => n.includes('lora_')), 'no adapter tensors in the export');
  const g = run(['generate', 'a red', '--model', exp, '--max-new-tokens', '4', '--seed', '1', '--threads', '2']);
  assert.equal(g.code, 0, g.err);
});

test('image-head: only the image rows + EOI of lm_head change; the export holds the base elsewhere', () => {
  assert.equal(setup.code, 0, setup.err);
  const cfg = join(dir, 'head.json');
  writeFileSync(cfg, JSON.stringify({ preset: 'tiny', train: { lr: 1e-2, steps: 4, batch: 4, seqLen: 64 }, run: { checkpointEvery: 4, evalEvery: 2 }, finetune: { mode: 'image-head' } }));
  const out = join(dir, 'head');
  const r = run(['train', 'sft', '--config', cfg, ...common, '--out', out]);
  assert.equal(r.code, 0, r.err);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const steps = lines.filter((l) => 'loss' in l);
  assert.equal(steps.length, 4);
  // Text targets are ignored: what the text column still counts is BOI/EOI (allowed, not image codes).
  for (const s of steps) assert.equal(typeof s.lossImage, 'number');
  assert.ok(lines.some((l) => 'valLoss' in l));

  const exp = join(dir, 'head-export');
  assert.equal(run(['export', out, exp, '--threads', '2']).code, 0);
  const after_ = tensors(exp);
  const before = tensors(base);
  const cfgJson = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')) as { hidden_size: number; vocab_size: number; vocabulary_map: Record<string, number> };
  const C = cfgJson.hidden_size;
  const image = new Set(Object.entries(cfgJson.vocabulary_map).filter(([k]) => k.startsWith('IMGIMG')).map(([, v]) => v));
  const eoi = cfgJson.vocabulary_map['<eoss>'];
  assert.equal(typeof eoi, 'number');
  const trainable = new Set([...image, eoi]);
  for (const [n, t] of before) {
    if (n.startsWith('model.vqmodel.') || n === 'lm_head.weight') continue;
    assert.deepEqual(after_.get(n), t, `${n} frozen`);
  }
  const w0 = before.get('lm_head.weight')!;
  const w1 = after_.get('lm_head.weight')!;
  let changedImage = 0;
  for (let r = 0; r < cfgJson.vocab_size; r++) {
    const same = w0.subarray(r * C, (r + 1) * C).every((x, i) => x === w1[r * C + i]);
    if (trainable.has(r)) changedImage += same ? 0 : 1;
    else assert.ok(same, `lm_head row ${r} (not an image id or EOI) is unchanged`);
  }
  assert.ok(changedImage > image.size / 2, `${changedImage} of ${image.size} image rows trained`);
});

test('fine-tuning refusals: one line, exit code 2', () => {
  assert.equal(setup.code, 0, setup.err);
  const badTargets = join(dir, 'bad-targets.json');
  writeFileSync(badTargets, JSON.stringify({ preset: 'tiny', finetune: { mode: 'lora', lora: { targets: ['qkv_proj'] } } }));
  const reinit = join(dir, 'reinit.json');
  writeFileSync(reinit, JSON.stringify({ preset: 'tiny', finetune: { reinitImageRows: true } }));
  const fullRun = join(dir, 'full-run');
  assert.equal(run(['train', 'sft', '--config', 'tiny', ...common, '--steps', '2', '--out', fullRun]).code, 0);
  const noQk = join(dir, 'no-qk.json');
  writeFileSync(noQk, JSON.stringify({ preset: 'tiny', model: { qkNorm: false }, train: { steps: 2, warmupSteps: 1 } }));
  const noQkRun = join(dir, 'no-qk');
  assert.equal(run(['train', 'lm', '--config', noQk, '--synthetic-data', '1', '--threads', '2', '--no-mfu', '--no-progress', '--out', noQkRun]).code, 0);
  const cases: [string[], RegExp][] = [
    [['export', noQkRun, join(dir, 'x5')], /trained without QK-norm \(model\.qkNorm false, a stability-lab arm\); Hugging Face Chameleon always applies QK LayerNorm/],
    [['train', 'lm', '--config', 'tiny', '--mode', 'lora', '--synthetic-data', '1', '--out', join(dir, 'x1')], /finetune\.mode lora fine-tunes a trained model: set model\.from \(or pass --init <model-dir>\)/],
    [['train', 'sft', '--config', badTargets, ...common, '--out', join(dir, 'x2')], /bad-targets\.json: finetune\.lora\.targets\.0: /],
    [['train', 'sft', '--config', reinit, ...common, '--out', join(dir, 'x3')], /finetune\.reinitImageRows applies to finetune\.mode 'image-head' only/],
    [['train', 'sft', '--config', 'tiny', ...common, '--steps', '3', '--mode', 'lora', '--out', fullRun, '--resume'], /--resume: checkpoints\/step-00000002 was trained with another config \(finetune\.mode: checkpoint "full", config "lora"\)/],
    [['train', 'sft', '--config', 'tiny', ...common, '--mode', 'fancy', '--out', join(dir, 'x4')], /--mode/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  assert.ok(!existsSync(join(dir, 'x1', 'checkpoints')), 'nothing trained before the refusal');
});
