// `npm run train:demo` end to end with the `smoke` recipe (every stage, tiny budgets): the model
// directory it writes is a complete bf16 Hugging Face Chameleon directory with a model card whose
// figures are the evaluators'; a rerun skips every finished stage; `--from export` redoes only the
// last stages; the result chats (`chameleon chat --model`); bad flags are one line, exit code 2.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors } from '../../src/io/safetensors.node.js';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'demo-pipeline-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const work = join(dir, 'work');
const out = join(dir, 'model');

function run(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 600_000, input });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface Summary {
  stages: Record<string, number>;
  eval: Record<string, unknown>;
}

test('smoke recipe: every stage, a complete bf16 model directory, a card with the evaluator figures; reruns continue', () => {
  const r = run(['demo', 'train', '--recipe', 'smoke', '--work', work, '--out', out, '--threads', '2', '--no-progress', '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as Summary;
  assert.deepEqual(Object.keys(s.stages), ['worlds', 'tokenizer', 'vq', 'tokenizers', 'data', 'pretrain', 'sft', 'export', 'eval', 'card']);
  for (const k of ['t2i_attribute_accuracy', 'caption_attribute_accuracy', 'vqa_accuracy', 'vq_parser_agreement', 'emoji_name_accuracy', 'emoji_nn_accuracy', 'refusal_accuracy', 'false_refusal_rate']) {
    const v = s.eval[k];
    assert.ok(v === null || (typeof v === 'number' && v >= 0 && v <= 1), `${k} = ${String(v)}`);
  }
  for (const f of ['config.json', 'model.safetensors', 'vq_decoder.safetensors', 'tokenizer.json', 'README.md', 'pretrain-loss.svg', 'sft-loss.svg']) assert.ok(existsSync(join(out, f)), f);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { torch_dtype: string; vocabulary_map: Record<string, number>; vq_config: { resolution: number } };
  assert.equal(cfg.torch_dtype, 'bfloat16');
  assert.equal(cfg.vq_config.resolution, 64);
  const a = openSafetensors(out);
  try {
    assert.equal(a.get('lm_head.weight').dtype, 'BF16');
    assert.equal(a.get('model.norm.weight').dtype, 'F32', 'norm weights stay f32');
    assert.ok([...a.tensors()].some(([n]) => n.startsWith('model.vqmodel.encoder.')), 'the VQ encoder ships in model.safetensors');
  } finally {
    a.close();
  }
  const card = readFileSync(join(out, 'README.md'), 'utf8');
  const t2i = s.eval.t2i_attribute_accuracy as number;
  assert.ok(card.includes(`| \`t2i_attribute_accuracy\` | ${(100 * t2i).toFixed(1)} % |`), 'the card quotes the evaluator');
  assert.match(card, /Apache License 2\.0/);

  // A rerun finds every stage done.
  const again = run(['demo', 'train', '--recipe', 'smoke', '--work', work, '--out', out, '--threads', '2', '--no-progress']);
  assert.equal(again.code, 0, again.err);
  assert.equal((again.out.match(/: done \(\d+ s\), skipped/g) ?? []).length, 10, again.out);
  // --from export redoes export, eval and card only.
  const redo = run(['demo', 'train', '--recipe', 'smoke', '--work', work, '--out', out, '--threads', '2', '--no-progress', '--from', 'export']);
  assert.equal(redo.code, 0, redo.err);
  assert.equal((redo.out.match(/skipped/g) ?? []).length, 7, redo.out);
  assert.match(redo.out, /\[8\/10\] export\n/);

  const c = run(['chat', '--model', out, '--threads', '2', '--max-new-tokens', '8', '--out', join(dir, 'chat')], 'draw a red circle\n');
  assert.equal(c.code, 0, c.err);
  assert.ok(existsSync(join(dir, 'chat', 'transcript.json')));
});

test('demo train refusals: one line, exit code 2', () => {
  for (const [args, re] of [
    [['demo', 'train', '--recipe', 'huge'], /--recipe/],
    [['demo', 'train', '--recipe', 'smoke', '--from', 'nowhere'], /--from/],
    [['demo', 'train', '--recipe', 'demo', '--work', work, '--out', join(dir, 'o2')], /holds a run of recipe 'smoke', not 'demo'/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});
