// Library logic that used to live in the CLI: the KV-dtype policy (from the loaded matrices' dtype),
// the inspect report's memory accounting (a bf16 checkpoint gets a bf16 cache), `<image>` prompt
// placement, the context budget and option errors that carry their path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { presetConfig } from '../../src/model/config.js';
import { inspectReport, kvCacheBytesPerToken, kvDtypeFor, kvDtypeForModel, weightStorageDtype, type TensorInfo } from '../../src/model/report.js';
import { imagePromptSegments } from '../../src/generate/prompt.js';
import { GenerateOptionError, resolveOptions, tokenBudget, type GenerateOptionsInput } from '../../src/generate/options.js';

test('kvDtypeFor: explicit choices win; auto follows bf16 matrices and keeps f32 otherwise', () => {
  assert.equal(kvDtypeFor('auto', 'bf16'), 'bf16');
  assert.equal(kvDtypeFor('auto', 'f32'), 'f32');
  assert.equal(kvDtypeFor('auto', 'f16'), 'f32');
  assert.equal(kvDtypeFor('f32', 'bf16'), 'f32');
  assert.equal(kvDtypeFor('bf16', 'f32'), 'bf16');
  assert.throws(() => kvDtypeFor('int4' as 'auto', 'f32'), /KV dtype must be auto, f32, bf16/);
});

test('the policy reads the storage dtype of the loaded matrices', () => {
  const cfg = presetConfig('tiny');
  const e = new Engine(createRefBackend());
  try {
    const f32 = ChameleonModel.create(e, cfg, 1);
    const bf16 = ChameleonModel.create(e, cfg, 1, 'bf16');
    assert.equal(weightStorageDtype(f32), 'f32');
    assert.equal(weightStorageDtype(bf16), 'bf16');
    assert.equal(kvDtypeForModel('auto', f32), 'f32');
    assert.equal(kvDtypeForModel('auto', bf16), 'bf16');
  } finally {
    e.dispose();
  }
});

function listing(matrix: string): TensorInfo[] {
  const b = matrix === 'BF16' ? 2 : 4;
  return [
    { name: 'model.embed_tokens.weight', dtype: matrix, byteLength: 512 * 64 * b },
    { name: 'lm_head.weight', dtype: matrix, byteLength: 512 * 64 * b },
    { name: 'model.norm.weight', dtype: 'F32', byteLength: 64 * 4 },
    { name: 'model.vqmodel.quantize.embedding.weight', dtype: 'F32', byteLength: 64 * 8 * 4 },
  ];
}

test('inspectReport: a bf16 checkpoint is accounted with a bf16 KV cache, an f32 one with f32', () => {
  const cfg = presetConfig('tiny'); // 2 layers, 4 KV heads of 16
  const f32Bytes = 2 * 2 * 4 * 16 * 4;
  assert.equal(kvCacheBytesPerToken(cfg, 'f32'), f32Bytes);
  assert.equal(kvCacheBytesPerToken(cfg, 'bf16'), f32Bytes / 2);
  const half = inspectReport('d', cfg, listing('BF16'));
  assert.equal(half.memory.matrixDtype, 'bf16');
  assert.equal(half.memory.kvCacheDtype, 'bf16');
  assert.equal(half.memory.kvCacheBytesPerToken, f32Bytes / 2);
  assert.equal(half.memory.kvCacheBytesFullContext, (f32Bytes / 2) * cfg.maxPositionEmbeddings);
  assert.deepEqual(half.memory.kvCacheBytesPerTokenByDtype, { f32: f32Bytes, bf16: f32Bytes / 2 });
  assert.equal(half.memory.vqBytesAsStored, 64 * 8 * 4);
  assert.equal(half.memory.languageModelBytesAsStored, 2 * 512 * 64 * 2 + 64 * 4);
  assert.deepEqual(half.dtypes.BF16, { count: 2, bytes: 2 * 512 * 64 * 2 });
  const full = inspectReport('d', cfg, listing('F32'));
  assert.equal(full.memory.kvCacheDtype, 'f32');
  assert.equal(full.memory.kvCacheBytesPerToken, f32Bytes);
});

test('imagePromptSegments: markers place images in order, none puts them first, a count mismatch is refused', () => {
  const a = [1, 2];
  const b = [3, 4];
  assert.deepEqual(imagePromptSegments('look <image> and <image>!', [a, b]), [
    { type: 'text', text: 'look ' },
    { type: 'image', codes: a },
    { type: 'text', text: ' and ' },
    { type: 'image', codes: b },
    { type: 'text', text: '!' },
  ]);
  assert.deepEqual(imagePromptSegments('what is this?', [a]), [{ type: 'image', codes: a }, { type: 'text', text: 'what is this?' }]);
  assert.deepEqual(imagePromptSegments('<image>', [a]), [{ type: 'image', codes: a }]);
  assert.deepEqual(imagePromptSegments('', []), []);
  assert.throws(() => imagePromptSegments('<image> and <image>', [a]), /2 <image> markers but 1 image was given/);
  assert.throws(() => imagePromptSegments('<image>', []), /1 <image> marker but 0 images were given/);
});

test('tokenBudget caps at the room the context leaves and says so', () => {
  assert.deepEqual(tokenBudget(10, 100, 256), { maxNewTokens: 100, capped: false, room: 246 });
  assert.deepEqual(tokenBudget(10, 5000, 256), { maxNewTokens: 246, capped: true, room: 246 });
  assert.deepEqual(tokenBudget(300, 10, 256), { maxNewTokens: 0, capped: true, room: 0 });
});

test('resolveOptions errors carry the option path, a reason and the value', () => {
  const err = (input: GenerateOptionsInput): GenerateOptionError => {
    try {
      resolveOptions(input);
    } catch (e) {
      if (e instanceof GenerateOptionError) return e;
      throw e;
    }
    assert.fail('expected a GenerateOptionError');
  };
  const t = err({ text: { temperature: -1 } });
  assert.deepEqual([t.path, t.reason, t.value], ['text.temperature', 'must be > 0', -1]);
  const p = err({ image: { topP: 2 } });
  assert.deepEqual([p.path, p.reason], ['image.topP', 'must be <= 1']);
  const m = err({ maxNewTokens: 1.5 });
  assert.deepEqual([m.path, m.reason], ['maxNewTokens', 'must be an integer']);
  const k = err({ bogus: 1 } as unknown as GenerateOptionsInput);
  assert.equal(k.path, 'bogus');
});
