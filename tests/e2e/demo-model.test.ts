// The shipped demo model (models/demo) as a user meets it after `npm install`: a complete bf16
// Hugging Face Chameleon directory under the 20 MB limit with greedy generation defaults and a
// model card; `chameleon generate` without --model answers a question about a rendered picture and
// draws a whole 64×64 picture; `chameleon eval shapes` without --model scores it, and the
// first test pictures survive the VQ round trip exactly; `eval emoji` draws whole 256-code pictures;
// `chameleon chat` (its default budget) answers a drawing request with a picture; the card quotes
// the figures it was judged by.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openSafetensors } from '../../src/io/safetensors.node.js';
import { renderScene } from '../../src/eval/shapes/render.js';
import { CANVAS, sortScene } from '../../src/eval/shapes/world.js';
import { pngFromPixels } from '../../src/tokenizers/image/preprocess.node.js';

const CLI = 'dist/src/cli/main.js';
const MODEL = 'models/demo';

function run(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, input });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('models/demo: a complete bf16 HF directory under 20 MB, greedy generation defaults, a card', () => {
  const files = readdirSync(MODEL).sort();
  for (const f of ['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'vq_decoder.safetensors']) assert.ok(files.includes(f), f);
  let total = 0;
  for (const f of files) {
    const size = statSync(join(MODEL, f)).size;
    assert.ok(size < 20e6, `${f}: ${size} bytes`);
    total += size;
  }
  assert.ok(total < 20e6, `the directory holds ${total} bytes`);
  const cfg = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as { torch_dtype: string; vq_config: { resolution: number; num_embeddings: number } };
  assert.equal(cfg.torch_dtype, 'bfloat16');
  assert.equal(cfg.vq_config.resolution, 64);
  assert.deepEqual(JSON.parse(readFileSync(join(MODEL, 'generation_config.json'), 'utf8')), { do_sample: false, repetition_penalty: 1, chameleon: { image: { do_sample: false, cfg: 'off' } } });
  const a = openSafetensors(MODEL);
  try {
    assert.equal(a.get('lm_head.weight').dtype, 'BF16');
    assert.equal(a.get('model.norm.weight').dtype, 'F32');
  } finally {
    a.close();
  }
  const card = readFileSync(join(MODEL, 'README.md'), 'utf8');
  for (const k of ['t2i_attribute_accuracy', 'caption_attribute_accuracy', 'vqa_accuracy', 'interleaved_consistency', 'heldout_accuracy', 'vq_parser_agreement', 'emoji_name_accuracy', 'emoji_nn_accuracy', 'refusal_accuracy']) {
    assert.match(card, new RegExp(`\\| \`${k}\` \\| \\d+\\.\\d %`), k);
  }
  assert.match(card, /Apache License 2\.0/, 'the emoji artwork licence');
});

test('generate without --model: the demo model answers a question about a picture, and draws a 64×64 one', async () => {
  const out = mkdtempSync(join(tmpdir(), 'demo-gen-'));
  try {
    const scene = sortScene([{ shape: 'circle', colour: 'red', size: 'large', cell: 4 }]);
    writeFileSync(join(out, 'red-circle.png'), await pngFromPixels(renderScene(scene), CANVAS, CANVAS));
    const q = run(['generate', '<image>What colour is the circle?', '--image', join(out, 'red-circle.png'), '--chat', '--mode', 'text', '--out', join(out, 'q'), '--json', '--threads', '2']);
    assert.equal(q.code, 0, q.err);
    const answer = (JSON.parse(q.out) as { answer: { kind: string; text?: string }[] }).answer.map((p) => p.text ?? '').join('');
    assert.match(answer, /\bred\b/i, answer);
    const r = run(['generate', 'Draw a large red circle in the center.', '--chat', '--mode', 'image', '--out', join(out, 'd'), '--json', '--threads', '2']);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { images: number; generatedTokens: number; answer: { kind: string; file?: string }[] };
    assert.equal(s.images, 1);
    assert.ok(s.generatedTokens >= 256, 'a whole 16×16-code picture (the default budget fits it)');
    const file = s.answer.find((p) => p.kind === 'image')?.file;
    assert.ok(file);
    const meta = await sharp(join(out, 'd', file)).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 64]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('eval shapes without --model scores the demo model; the first test pictures survive the VQ round trip', () => {
  const r = run(['eval', 'shapes', '--limit', '3', '--json', '--threads', '2']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  assert.match(String(j.model), /models[/\\]demo$/);
  assert.equal(j.vq_parser_agreement, 1);
  for (const k of ['caption_attribute_accuracy', 'vqa_accuracy', 'refusal_accuracy']) {
    const v = j[k];
    assert.ok(v === null || (typeof v === 'number' && v >= 0 && v <= 1), `${k} = ${String(v)}`);
  }
});

test('eval emoji without --model draws whole pictures (the budget fits 16×16 codes)', () => {
  const r = run(['eval', 'emoji', '--limit', '2', '--json', '--threads', '2']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  for (const k of ['emoji_name_accuracy', 'emoji_nn_accuracy']) {
    const v = j[k];
    assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${k} = ${String(v)}`);
  }
});

test('chat with the demo model answers a drawing request with a picture in its default budget', () => {
  const out = mkdtempSync(join(tmpdir(), 'demo-chat-'));
  try {
    const r = run(['chat', '--out', out, '--threads', '2'], 'Draw a large red circle in the center.\n');
    assert.equal(r.code, 0, r.err);
    const t = JSON.parse(readFileSync(join(out, 'transcript.json'), 'utf8')) as { turns: { role: string; parts: { kind: string }[] }[] };
    const reply = t.turns.find((x) => x.role === 'assistant');
    assert.ok(reply?.parts.some((p) => p.kind === 'image'), JSON.stringify(reply));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
