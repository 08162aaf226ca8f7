// Tests for src/model/config.ts: the HF fixture configs parse and re-serialize to HF's full config,
// HF v4.44 defaults are filled, taming aliases, unknown keys as warnings, every validation error,
// the round trip parse(toHf(c)) == c, presets and their parameter counts, ffnSize.
// Leaves out: the real 7B/30B config.json files (not in the repo; presets mirror the spec instead).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../../src/util/errors.js';
import {
  type ChameleonConfig,
  PRESETS,
  ffnSize,
  parameterCount,
  parseHfConfig,
  presetConfig,
  toHfConfigJson,
} from '../../src/model/config.js';
import { openSafetensors } from '../../src/io/safetensors.node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = path.resolve(here, '..', '..', '..', 'tests', 'fixtures', 'hf-chameleon');

function readJson(p: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(p, 'utf8')) as Record<string, unknown>;
}

function fixture(variant: string): { config: Record<string, unknown>; full: Record<string, unknown> } {
  const dir = path.join(FIXTURE_DIR, variant);
  return { config: readJson(path.join(dir, 'config.json')), full: readJson(path.join(dir, 'expected.json')).config_full as Record<string, unknown> };
}

function rejects(json: unknown, ...patterns: RegExp[]): void {
  assert.throws(() => parseHfConfig(json), (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** Keys of config_full we model (top level); generic PretrainedConfig keys are carried, not modeled. */
const MODELED = [
  'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
  'hidden_act', 'max_position_embeddings', 'initializer_range', 'rms_norm_eps', 'use_cache', 'pad_token_id',
  'bos_token_id', 'eos_token_id', 'tie_word_embeddings', 'rope_theta', 'rope_scaling', 'attention_bias',
  'attention_dropout', 'model_parallel_size', 'swin_norm', 'mlp_bias', 'model_type', 'vocabulary_map', 'vq_config',
];
const MODELED_VQ = [
  'embed_dim', 'num_embeddings', 'double_latent', 'latent_channels', 'resolution', 'in_channels', 'out_channels',
  'base_channels', 'channel_multiplier', 'num_res_blocks', 'attn_resolutions', 'dropout', 'attn_type', 'initializer_range', 'model_type',
];

describe('HF fixture configs', () => {
  for (const [variant, kv] of [['mha', 4], ['gqa', 2]] as const) {
    test(`${variant}: parses, fills defaults, and toHfConfigJson matches config_full`, () => {
      const { config, full } = fixture(variant);
      const c = parseHfConfig(config);
      assert.deepEqual(c.warnings, []);
      assert.equal(c.hiddenSize, 64);
      assert.equal(c.numAttentionHeads, 4);
      assert.equal(c.numKeyValueHeads, kv);
      assert.equal(c.headDim, 16);
      assert.equal(c.intermediateSize, 128);
      assert.equal(c.vocabSize, 512);
      assert.equal(c.bosTokenId, 0);
      assert.equal(c.padTokenId, 1);
      assert.equal(c.swinNorm, false);
      assert.equal(c.torchDtype, 'float32');
      assert.equal(c.imageTokenId, 70);
      assert.equal(c.boiTokenId, 68);
      assert.equal(c.eoiTokenId, 69);
      // vq defaults HF filled (absent from config.json)
      assert.equal(c.vqConfig.inChannels, 3);
      assert.equal(c.vqConfig.doubleLatent, false);
      assert.equal(c.vqConfig.attnType, 'vanilla');
      assert.equal(c.vqConfig.dropout, 0);
      assert.deepEqual(c.vqConfig.channelMultiplier, [1, 1, 1, 2]);

      const out = toHfConfigJson(c);
      for (const k of MODELED) {
        assert.ok(k in full, `config_full has ${k}`);
        if (k === 'vq_config') continue;
        assert.deepEqual(out[k], full[k], `key ${k}`);
      }
      const vqOut = out.vq_config as Record<string, unknown>;
      const vqFull = full.vq_config as Record<string, unknown>;
      for (const k of MODELED_VQ) assert.deepEqual(vqOut[k], vqFull[k], `vq_config.${k}`);
      // keys we write but config_full differs on, by design: architectures (HF's in-memory config has None)
      // and torch_dtype (set on the model, not on the config object HF dumped).
      assert.deepEqual(out.architectures, ['ChameleonForConditionalGeneration']);
      assert.equal(out.model_type, 'chameleon');

      // The full config parses too (generic PretrainedConfig keys are carried without warnings) and
      // re-serializes to itself except for architectures.
      const cf = parseHfConfig(full);
      assert.deepEqual(cf.warnings, []);
      const outFull = toHfConfigJson(cf);
      for (const k of Object.keys(full)) {
        if (k === 'architectures' || k === 'vq_config') continue;
        assert.deepEqual(outFull[k], full[k], `full key ${k}`);
      }
      for (const k of Object.keys(vqFull)) assert.deepEqual((outFull.vq_config as Record<string, unknown>)[k], vqFull[k], `full vq key ${k}`);
    });

    test(`${variant}: round trip parse(toHfConfigJson(c)) deep-equals c`, () => {
      const c = parseHfConfig(fixture(variant).config);
      assert.deepStrictEqual(parseHfConfig(toHfConfigJson(c)), c);
      assert.deepStrictEqual(parseHfConfig(JSON.parse(JSON.stringify(toHfConfigJson(c)))), c);
    });
  }

  test('parameterCount(tiny) equals the fixture LM tensor sizes', () => {
    const st = openSafetensors(path.join(FIXTURE_DIR, 'mha', 'model.safetensors'));
    let lm = 0;
    for (const [name, e] of st.tensors()) if (!name.startsWith('model.vqmodel.')) lm += e.byteLength / 4;
    st.close();
    assert.equal(parameterCount(presetConfig('tiny')).total, lm);
    assert.equal(parameterCount(parseHfConfig(fixture('mha').config)).total, lm);
  });
});

describe('defaults, aliases, unknown keys', () => {
  test('empty chameleon config gets the HF v4.44 defaults (7B shape)', () => {
    const c = parseHfConfig({ model_type: 'chameleon' });
    assert.equal(c.vocabSize, 65536);
    assert.equal(c.hiddenSize, 4096);
    assert.equal(c.intermediateSize, 11008);
    assert.equal(c.numHiddenLayers, 32);
    assert.equal(c.numAttentionHeads, 32);
    assert.equal(c.numKeyValueHeads, 32);
    assert.equal(c.headDim, 128);
    assert.equal(c.maxPositionEmbeddings, 4096);
    assert.equal(c.rmsNormEps, 1e-5);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.ropeScaling, null);
    assert.equal(c.bosTokenId, 1);
    assert.equal(c.eosTokenId, 2);
    assert.equal(c.padTokenId, null);
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.attentionBias, false);
    assert.equal(c.mlpBias, false);
    assert.equal(c.attentionDropout, 0);
    assert.equal(c.modelParallelSize, 1);
    assert.equal(c.swinNorm, false);
    assert.equal(c.initializerRange, 0.02);
    assert.equal(c.torchDtype, null);
    assert.equal(c.vocabularyMap, null);
    assert.equal(c.imageTokenId, null);
    assert.deepEqual(c.vqConfig, {
      embedDim: 256, numEmbeddings: 8192, doubleLatent: false, latentChannels: 256, resolution: 512, inChannels: 3,
      outChannels: 3, baseChannels: 128, channelMultiplier: [1, 1, 2, 2, 4], numResBlocks: 2, attnResolutions: [],
      dropout: 0, attnType: 'vanilla', initializerRange: 0.02, extra: {},
    });
    assert.match(c.warnings.join('\n'), /bos_token_id absent/);
    assert.deepStrictEqual(parseHfConfig(toHfConfigJson(c)), c);
  });

  test('taming VQ names are accepted; conflicting duplicates are an error', () => {
    const c = parseHfConfig({
      model_type: 'chameleon',
      vq_config: { n_embed: 16, z_channels: 8, ch: 64, ch_mult: [1, 2], out_ch: 3, double_z: false, embed_dim: 8, resamp_with_conv: true },
    });
    assert.equal(c.vqConfig.numEmbeddings, 16);
    assert.equal(c.vqConfig.latentChannels, 8);
    assert.equal(c.vqConfig.baseChannels, 64);
    assert.deepEqual(c.vqConfig.channelMultiplier, [1, 2]);
    rejects({ model_type: 'chameleon', vq_config: { n_embed: 16, num_embeddings: 32 } }, /num_embeddings/, /n_embed/, /disagree/);
  });

  test('newer rope_parameters / dtype / image ids are understood', () => {
    const c = parseHfConfig({
      model_type: 'chameleon', rope_parameters: { rope_theta: 500000, rope_type: 'default' }, dtype: 'bfloat16',
      image_token_id: 8711, boi_token_id: 8197, eoi_token_id: 8196,
    });
    assert.equal(c.ropeTheta, 500000);
    assert.equal(c.ropeScaling, null);
    assert.equal(c.torchDtype, 'bfloat16');
    assert.deepEqual([c.imageTokenId, c.boiTokenId, c.eoiTokenId], [8711, 8197, 8196]);
    assert.deepEqual(c.warnings.filter((w) => !/bos_token_id/.test(w)), []);
  });

  test('unknown keys are warnings, kept and written back', () => {
    const c = parseHfConfig({ model_type: 'chameleon', bos_token_id: 0, future_knob: 3, vq_config: { shiny: true } });
    assert.deepEqual(c.warnings, ['unknown key future_knob (kept, not used)', 'unknown key vq_config.shiny (kept, not used)']);
    const out = toHfConfigJson(c);
    assert.equal(out.future_knob, 3);
    assert.equal((out.vq_config as Record<string, unknown>).shiny, true);
    const again = parseHfConfig(out);
    assert.deepStrictEqual(again, c);
    assert.deepEqual(again.warnings, c.warnings);
    // warnings describe the parse, not the model: not enumerable
    assert.equal(Object.keys(c).includes('warnings'), false);
  });

  test('num_key_value_heads: null means no GQA', () => {
    assert.equal(parseHfConfig({ model_type: 'chameleon', num_attention_heads: 16, num_key_value_heads: null }).numKeyValueHeads, 16);
  });
});

describe('validation errors', () => {
  const base = { model_type: 'chameleon', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 4, vocab_size: 512 };
  test('not an object', () => {
    rejects(null, /JSON object/, /null/);
    rejects([1], /JSON object/, /array/);
    rejects('x', /JSON object/);
  });
  test('model_type must be chameleon', () => rejects({ ...base, model_type: 'llama' }, /model_type/, /"llama"/));
  test('wrong types name the key', () => {
    rejects({ ...base, hidden_size: '64' }, /hidden_size/, /expected number/);
    rejects({ ...base, hidden_size: 64.5 }, /hidden_size/, /int/);
    rejects({ ...base, swin_norm: 'yes' }, /swin_norm/, /boolean/);
    rejects({ ...base, vocabulary_map: { '<s>': 'zero' } }, /vocabulary_map\.<s>/);
    rejects({ ...base, vq_config: { channel_multiplier: 'big' } }, /vq_config\.channel_multiplier/);
    rejects({ ...base, rope_theta: null }, /rope_theta/);
  });
  test('heads must divide hidden size', () => rejects({ ...base, num_attention_heads: 5, num_key_value_heads: 5 }, /num_attention_heads \(5\) must divide hidden_size \(64\)/));
  test('kv heads must divide heads', () => rejects({ ...base, num_key_value_heads: 3 }, /num_key_value_heads \(3\) must divide num_attention_heads \(4\)/));
  test('non-positive sizes', () => {
    rejects({ ...base, hidden_size: 0 }, /hidden_size must be positive, got 0/);
    rejects({ ...base, num_hidden_layers: -1 }, /num_hidden_layers must be positive/);
    rejects({ ...base, intermediate_size: 0 }, /intermediate_size/);
    rejects({ ...base, vocab_size: 0 }, /vocab_size/);
    rejects({ ...base, num_key_value_heads: 0 }, /num_key_value_heads/);
    rejects({ ...base, vq_config: { embed_dim: 0 } }, /vq_config\.embed_dim must be positive/);
  });
  test('odd head dim', () => rejects({ ...base, hidden_size: 12, num_attention_heads: 4, num_key_value_heads: 4 }, /head dim .* = 3 must be even/));
  test('vocab smaller than the vocabulary map', () =>
    rejects({ ...base, vocab_size: 100, vocabulary_map: { '<s>': 0, big: 100 } }, /vocab_size 100 is smaller than the largest vocabulary_map id \+ 1 \(101, "big"\)/));
  test('special ids outside the vocabulary', () => rejects({ ...base, eos_token_id: 512 }, /eos_token_id 512 is outside/));
  test('unsupported activation', () => rejects({ ...base, hidden_act: 'gelu' }, /hidden_act "gelu"/));
});

describe('presets and sizes', () => {
  test('ffnSize follows the LLaMA formula', () => {
    assert.equal(ffnSize(4096), 11008);
    assert.equal(ffnSize(8192), 22016);
    assert.equal(ffnSize(2048), 5632);
    assert.equal(ffnSize(256, 16), 688);
    assert.equal(ffnSize(4096, 256, 1.3), 14336);
  });

  test('chameleon-7b matches the spec and counts ~7.0B', () => {
    const c = presetConfig('chameleon-7b');
    assert.deepEqual(
      [c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.numKeyValueHeads, c.headDim, c.intermediateSize, c.vocabSize, c.maxPositionEmbeddings, c.swinNorm],
      [4096, 32, 32, 32, 128, 11008, 65536, 4096, false],
    );
    const p = parameterCount(c);
    assert.equal(p.embeddings, 65536 * 4096);
    assert.equal(p.lmHead, 65536 * 4096);
    assert.equal(p.attention, 32 * 4 * 4096 * 4096);
    assert.equal(p.mlp, 32 * 3 * 4096 * 11008);
    assert.equal(p.total, p.embeddings + p.attention + p.mlp + p.norms + p.lmHead);
    assert.ok(p.total > 6.95e9 && p.total < 7.1e9, `7b total ${p.total}`);
  });

  test('chameleon-30b is the inferred 34B shape (~34.3B)', () => {
    const c = presetConfig('chameleon-30b');
    assert.deepEqual(
      [c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.numKeyValueHeads, c.headDim, c.intermediateSize, c.swinNorm],
      [8192, 48, 64, 8, 128, 22016, true],
    );
    const p = parameterCount(c);
    assert.ok(p.total > 34.0e9 && p.total < 34.6e9, `30b total ${p.total}`);
    assert.equal(p.attention, 48 * (2 * 8192 * 8192 + 2 * 8192 * 1024));
  });

  test('small presets: tiny = fixture shape, small, 1b ~ 1B', () => {
    const tiny = presetConfig('tiny');
    const fx = parseHfConfig(fixture('mha').config);
    for (const k of ['hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'vocabSize', 'maxPositionEmbeddings', 'bosTokenId', 'eosTokenId', 'padTokenId', 'imageTokenId', 'boiTokenId', 'eoiTokenId'] as const) {
      assert.equal(tiny[k], fx[k], k);
    }
    const { extra: _a, ...tinyVq } = tiny.vqConfig;
    const { extra: _b, ...fxVq } = fx.vqConfig;
    assert.deepEqual(tinyVq, fxVq);
    const small = presetConfig('small');
    assert.deepEqual([small.numHiddenLayers, small.hiddenSize, small.numAttentionHeads, small.intermediateSize, small.vocabSize], [6, 256, 8, 688, 4096]);
    const b1 = parameterCount(presetConfig('1b')).total;
    assert.ok(b1 > 0.9e9 && b1 < 1.2e9, `1b total ${b1}`);
  });

  test('every preset round-trips through toHfConfigJson and presetConfig returns fresh copies', () => {
    for (const name of Object.keys(PRESETS)) {
      const c: ChameleonConfig = presetConfig(name);
      assert.deepStrictEqual(c, PRESETS[name as keyof typeof PRESETS]);
      assert.deepStrictEqual(parseHfConfig(toHfConfigJson(c)), c, name);
      c.vqConfig.channelMultiplier.push(99);
      assert.notDeepEqual(presetConfig(name).vqConfig.channelMultiplier, c.vqConfig.channelMultiplier);
    }
    assert.throws(() => presetConfig('huge'), /unknown preset "huge".*chameleon-7b/);
  });
});
