// `chameleon world shapes` and `chameleon eval shapes` as a user runs them (child processes on the
// compiled CLI): a small world (files, 64×64 PNGs, byte-identical for the same seed, refused over an
// existing one), `data build` taking its JSONL, and the evaluator on a random-weight model whose VQ is
// 64×64 (SMALL_VQGAN): every JSON key present and in range; directories without the tokenizers it
// needs are refused by name (one line, exit code 2).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { saveChameleon } from '../../src/model/checkpoint.node.js';
import { DEFAULT_VQ, presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { writeSafetensors } from '../../src/io/safetensors.node.js';
import type { TensorToWrite } from '../../src/io/safetensors.js';
import { trainChameleonTokenizer } from '../../src/tokenizers/chameleon-tokenizer.js';
import { SMALL_VQGAN } from '../../src/tokenizers/image/config.js';
import { VQ_DECODER_FILE } from '../../src/tokenizers/image/load.node.js';
import { Vqgan, VQ_CHECKPOINT_PREFIX } from '../../src/tokenizers/image/vqgan.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { REPORT_KEYS } from '../../src/eval/shapes/evaluate.node.js';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'shapes-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function oneLineError(r: { code: number; err: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.err);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0], /^chameleon: /);
  assert.match(lines[0], re);
}

/** A random-weight model directory with a 64×64 VQ (SMALL_VQGAN: 8×8 = 64 codes) and a 1024-token context. */
function writeSmallVqModel(out: string): void {
  const e = new Engine(createRefBackend());
  try {
    const codebook = SMALL_VQGAN.numEmbeddings;
    const tok = trainChameleonTokenizer(['a small red star at the top left', 'draw a large blue circle in the center', 'how many shapes are there?'], {
      codebookSize: codebook,
      vocabSize: codebook + 4 + 2 + 2 + 256 + 32,
      minFrequency: 1,
      progress: null,
    });
    const config = {
      ...presetConfig('tiny'),
      maxPositionEmbeddings: 1024,
      vocabSize: tok.vocab.size,
      vocabularyMap: tok.vocab.toVocabularyMap(),
      vqConfig: { ...DEFAULT_VQ, ...SMALL_VQGAN, channelMultiplier: [...SMALL_VQGAN.channelMultiplier], attnResolutions: [], extra: {} },
      imageTokenId: null,
      boiTokenId: null,
      eoiTokenId: null,
      warnings: [],
    } as ChameleonConfig;
    const vq = new Vqgan(e, SMALL_VQGAN, { encoder: true, decoder: true });
    vq.initialize(3);
    const enc: TensorToWrite[] = [];
    const dec: TensorToWrite[] = [];
    for (const n of vq.store.names()) {
      const t = vq.store.get(n);
      (n.startsWith('decoder.') ? dec : enc).push({ name: VQ_CHECKPOINT_PREFIX + n, dtype: 'f32', shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) });
    }
    mkdirSync(out, { recursive: true });
    saveChameleon(ChameleonModel.create(e, config, 2), out, { extraTensors: enc });
    writeSafetensors(join(out, VQ_DECODER_FILE), dec);
    writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(tok.json));
  } finally {
    e.dispose();
  }
}

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const world = join(dir, 'world');

test('world shapes: files, 64×64 PNGs, counts, byte-identical for the same seed, refusals', async () => {
  const r = run(['world', 'shapes', '--out', world, '--scenes', '80', '--docs-per-scene', '4', '--seed', '7', '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as { documents: number; images: number; items: number; files: string[]; heldOut: { colour: string; shape: string }[] };
  assert.deepEqual(s.files, ['train.jsonl', 'train-sft.jsonl', 'val.jsonl', 'val-sft.jsonl', 'test.jsonl', 'manifest.json']);
  assert.equal(readdirSync(join(world, 'img')).length, s.images);
  assert.ok(s.images < s.documents && s.items > 0);
  assert.equal(s.heldOut.length, 4);
  const lines = ['train', 'val', 'test'].flatMap((sp) => readFileSync(join(world, `${sp}.jsonl`), 'utf8').trim().split('\n'));
  assert.equal(lines.length, s.documents);
  const png = join(world, 'img', readdirSync(join(world, 'img'))[0]);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 64, 64, 3]);
  const again = join(dir, 'world-again');
  assert.equal(run(['world', 'shapes', '--out', again, '--scenes', '80', '--docs-per-scene', '4', '--seed', '7']).code, 0);
  for (const f of [...s.files, join('img', readdirSync(join(world, 'img')).at(-1)!)]) assert.equal(sha(join(again, f)), sha(join(world, f)), f);
  oneLineError(run(['world', 'shapes', '--out', world]), /already holds a shapes world \(manifest\.json\); pass --overwrite/);
  oneLineError(run(['world', 'shapes', '--out', join(dir, 'w0'), '--scenes', '0']), /--scenes must be an integer >= 1/);
  const human = run(['world', 'shapes', '--out', world, '--scenes', '30', '--overwrite']);
  assert.equal(human.code, 0, human.err);
  assert.match(human.out, /^wrote .*: \d+ documents \(\d+ train, \d+ val, \d+ test\), \d+ images, \d+ test items/);
  assert.match(human.out, /held out of train and val: red star, orange circle, green triangle, blue square/);
});

test('data build takes the world’s JSONL', () => {
  const tiny = join(dir, 'tiny');
  const e = new Engine(createRefBackend());
  writeTinyModel(e, tiny);
  e.dispose();
  const r = run(['data', 'build', join(world, 'val.jsonl'), join(world, 'test.jsonl'), '--model', tiny, '--out', join(dir, 'data'), '--on-error', 'fatal', '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as { documents: number; skipped: number; images: number };
  assert.equal(s.skipped, 0);
  assert.ok(s.documents > 0 && s.images > 0);
});

test('eval shapes on a random-weight 64×64 model: every key, in range; --world reads the manifest', () => {
  const model = join(dir, 'small-vq');
  writeSmallVqModel(model);
  const r = run(['eval', 'shapes', '--model', model, '--limit', '2', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, unknown> & { counts: Record<string, number> };
  for (const k of REPORT_KEYS) {
    const v = j[k];
    assert.equal(typeof v, 'number', `${k}: ${String(v)}`);
    assert.ok(j.counts[k] > 0, `${k} count`);
    if (k.endsWith('perplexity')) assert.ok((v as number) >= 1, `${k} ${v}`);
    else if (k === 'vq_psnr') assert.ok((v as number) > 0 && (v as number) <= 100);
    else assert.ok((v as number) >= 0 && (v as number) <= 1, `${k} ${v}`);
  }
  // limit 2 per group: 2 t2i, 2 held-out t2i, 2 captions, 2 vqa, 2 story steps, 2 refusals.
  assert.equal(j.counts.false_refusal_rate, 10);
  assert.equal(j.counts.refusal_accuracy, 2);
  const w = run(['eval', 'shapes', '--model', model, '--world', world, '--limit', '1']);
  assert.equal(w.code, 0, w.err);
  assert.match(w.out, /^eval shapes: .* on the shapes-world\/1 test split \(.*world\)/);
  assert.match(w.out, /t2i_attribute_accuracy +\S+ +\d+/);
});

test('eval shapes refuses directories without the tokenizers it needs, by name', () => {
  const model = join(dir, 'small-vq');
  const noTok = join(dir, 'no-tok');
  cpSync(model, noTok, { recursive: true });
  rmSync(join(noTok, 'tokenizer.json'));
  oneLineError(run(['eval', 'shapes', '--model', noTok, '--limit', '1']), /no tokenizer\.json \(eval shapes needs the text tokenizer\)/);
  const noDec = join(dir, 'no-dec');
  cpSync(model, noDec, { recursive: true });
  rmSync(join(noDec, VQ_DECODER_FILE));
  oneLineError(run(['eval', 'shapes', '--model', noDec, '--limit', '1']), /no vq_decoder\.safetensors/);
  const noVq = join(dir, 'no-vq');
  cpSync(model, noVq, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(noVq, 'config.json'), 'utf8')) as Record<string, unknown>;
  delete cfg.vq_config;
  writeFileSync(join(noVq, 'config.json'), JSON.stringify(cfg));
  oneLineError(run(['eval', 'shapes', '--model', noVq, '--limit', '1']), /config\.json has no vq_config/);
  oneLineError(run(['eval', 'shapes', '--model', join(dir, 'nowhere')]), /no config\.json/);
  oneLineError(run(['eval', 'shapes', '--model', model, '--world', join(dir, 'nowhere')]), /--world .*: no manifest\.json/);
  assert.equal(existsSync(join(dir, 'nowhere')), false);
});
