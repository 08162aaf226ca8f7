// `chameleon world emoji` and `chameleon eval emoji` as a user runs them: the world directory and
// its JSON summary, the evaluator on a random-weight model with a 64×64 VQ (SMALL_VQGAN) that reads
// the world's manifest, its JSON keys and ranges, and one clear line with exit code 2 for bad input
// (bad counts, a non-empty output, model directories without the tokenizers it needs).

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

let root = '';
let model = '';
let world = '';
let config: ChameleonConfig;

/** A random-weight Chameleon directory whose image tokenizer is SMALL_VQGAN (64×64 -> 8×8 codes of 1024). */
function writeSmallVqModel(dir: string): ChameleonConfig {
  const codebook = SMALL_VQGAN.numEmbeddings;
  const tok = trainChameleonTokenizer(['draw a slice of pizza', 'what is this? it is an owl.'], { codebookSize: codebook, vocabSize: codebook + 4 + 2 + 2 + 256 + 24, minFrequency: 1, progress: null });
  const config = {
    ...presetConfig('tiny'),
    vocabSize: tok.vocab.size,
    vocabularyMap: tok.vocab.toVocabularyMap(),
    vqConfig: { ...DEFAULT_VQ, ...SMALL_VQGAN, channelMultiplier: [...SMALL_VQGAN.channelMultiplier], attnResolutions: [...SMALL_VQGAN.attnResolutions], extra: {} },
    imageTokenId: null,
    boiTokenId: null,
    eoiTokenId: null,
    warnings: [],
  } as ChameleonConfig;
  const engine = new Engine(createRefBackend());
  try {
    const vq = new Vqgan(engine, SMALL_VQGAN, { encoder: true, decoder: true });
    vq.initialize(2);
    const enc: TensorToWrite[] = [];
    const dec: TensorToWrite[] = [];
    for (const n of vq.store.names()) {
      const t = vq.store.get(n);
      const entry = { name: VQ_CHECKPOINT_PREFIX + n, dtype: 'f32' as const, shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) };
      (n.startsWith('decoder.') ? dec : enc).push(entry);
    }
    mkdirSync(dir, { recursive: true });
    saveChameleon(ChameleonModel.create(engine, config, 1), dir, { extraTensors: enc });
    writeSafetensors(join(dir, VQ_DECODER_FILE), dec);
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok.json));
  } finally {
    engine.dispose();
  }
  return config;
}

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A copy of the model directory without one file. */
function modelWithout(file: string): string {
  const dir = join(root, `no-${file}`);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(model)) if (f !== file) copyFileSync(join(model, f), join(dir, f));
  return dir;
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'cham-emoji-cli-'));
  model = join(root, 'model');
  world = join(root, 'world');
  config = writeSmallVqModel(model);
});

after(() => rmSync(root, { recursive: true, force: true }));

test('world emoji writes images, three JSONL files and the manifest; --json summary', () => {
  const r = cli(['world', 'emoji', '--out', world, '--count', '24', '--seed', '2', '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as { emoji: number; train: number; heldout: number; images: number; documents: { train: number; val: number; test: number } };
  assert.deepEqual([s.emoji, s.train, s.heldout], [24, 22, 2]);
  assert.deepEqual(s.documents, { train: 8 * 22, val: 2 * 22, test: 8 * 2 });
  for (const f of ['train.jsonl', 'val.jsonl', 'test.jsonl', 'manifest.json']) assert.ok(existsSync(join(world, f)), f);
  assert.equal(readdirSync(join(world, 'img')).length, s.images);
  assert.equal(readFileSync(join(world, 'train.jsonl'), 'utf8').trim().split('\n').length, s.documents.train);
  // chameleon data build takes the documents as they are: none skipped, one image per image reference.
  const built = cli(['data', 'build', join(world, 'train.jsonl'), '--model', model, '--out', join(root, 'data'), '--val-fraction', '0', '--json', '--workers', '0']);
  assert.equal(built.code, 0, built.err);
  const d = JSON.parse(built.out) as { documents: number; skipped: number; images: number; imagesReused: number; byKind: Record<string, number> };
  // Each document has one image; a file referenced again is served from the code cache.
  assert.deepEqual([d.documents, d.skipped, d.images + d.imagesReused], [s.documents.train, 0, s.documents.train]);
  assert.ok(d.imagesReused > 0 && d.images <= s.images, `${d.images} encoded, ${d.imagesReused} reused, ${s.images} image files`);
  assert.deepEqual(d.byKind, { caption: 4 * 22, chat: 4 * 22 });
});

test('eval emoji on a random 64×64-VQ model: JSON keys and ranges, drawings written', () => {
  const out = join(root, 'eval-out');
  const r = cli(['eval', 'emoji', '--model', model, '--world', world, '--limit', '1', '--seed', '3', '--json', '--out', out]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, unknown> & { counts: Record<string, number>; items: { kind: string; got: string }[]; world: { count: number } };
  for (const k of ['emoji_name_accuracy', 'emoji_name_heldout_accuracy', 'emoji_nn_accuracy', 'emoji_nn_heldout_accuracy']) {
    const v = j[k] as number;
    assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${k} = ${String(v)}`);
  }
  assert.deepEqual(j.counts, { name: 1, name_heldout: 1, draw: 1, draw_heldout: 1 });
  assert.equal(j.world.count, 24, 'the world came from the manifest');
  const drawn = j.items.filter((i) => i.kind === 'draw');
  assert.ok(drawn.every((i) => i.got !== ''), 'every draw prompt produced an image that was matched');
  assert.equal(readdirSync(out).filter((f) => f.endsWith('.png')).length, 2);
  const png = readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.png'))!));
  assert.equal(png.readUInt32BE(16), 64, 'the drawing is 64 pixels wide (the VQ resolution)');
});

test('eval emoji refuses a model directory without tokenizer.json, the VQ decoder or the VQ encoder, by name', () => {
  const noTok = cli(['eval', 'emoji', '--model', modelWithout('tokenizer.json'), '--limit', '1']);
  assert.equal(noTok.code, 2);
  assert.match(noTok.err, /^chameleon: .*no tokenizer\.json \(the text tokenizer\)/);
  assert.equal(noTok.err.trim().split('\n').length, 1);
  const noDec = cli(['eval', 'emoji', '--model', modelWithout(VQ_DECODER_FILE), '--limit', '1']);
  assert.equal(noDec.code, 2);
  assert.match(noDec.err, /no vq_decoder\.safetensors \(the VQ decoder\)/);
  // The same language model saved without its model.vqmodel.* tensors: no image encoder.
  const noEnc = join(root, 'no-encoder');
  const engine = new Engine(createRefBackend());
  try {
    saveChameleon(ChameleonModel.create(engine, config, 1), noEnc);
  } finally {
    engine.dispose();
  }
  copyFileSync(join(model, 'tokenizer.json'), join(noEnc, 'tokenizer.json'));
  copyFileSync(join(model, VQ_DECODER_FILE), join(noEnc, VQ_DECODER_FILE));
  const bad = cli(['eval', 'emoji', '--model', noEnc, '--limit', '1']);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /^chameleon: .*no VQ encoder weights \(model\.vqmodel\.\* in model\.safetensors\)/);
  assert.equal(cli(['eval', 'emoji', '--model', join(root, 'nowhere')]).code, 2);
});

test('bad input: counts out of range, a non-empty --out, a bad --limit, a world dir without manifest', () => {
  const small = cli(['world', 'emoji', '--out', join(root, 'w1'), '--count', '1']);
  assert.equal(small.code, 2);
  assert.match(small.err, /^chameleon: --count must be an integer >= 2, got '1'\n$/);
  const big = cli(['world', 'emoji', '--out', join(root, 'w2'), '--count', '5000']);
  assert.equal(big.code, 2);
  assert.match(big.err, /^chameleon: the emoji count must be an integer in \[2, 317\] \(the catalogue's size\), got 5000\n$/);
  const again = cli(['world', 'emoji', '--out', world, '--count', '24']);
  assert.equal(again.code, 2);
  assert.match(again.err, /already exists and is not empty \(pass --overwrite to replace it\)/);
  const limit = cli(['eval', 'emoji', '--model', model, '--limit', '0']);
  assert.equal(limit.code, 2);
  assert.match(limit.err, /^chameleon: --limit must be an integer >= 1, got '0'\n$/);
  const noManifest = cli(['eval', 'emoji', '--model', model, '--world', root]);
  assert.equal(noManifest.code, 2);
  assert.match(noManifest.err, /no manifest\.json \(is this a directory written by chameleon world emoji\?\)/);
});
