// Tests for src/model/convert.node.ts: builds tiny Meta-format releases (params.json, consolidated*.pth
// written by the test pickler, text_tokenizer.json, vqgan.yaml, vqgan.ckpt), converts them, and checks the
// RoPE permutation of Wq/Wk and q/k-norm γβ, every HF key and shape, config round trip, the 2- and 4-shard
// merges against the unsharded original, HF sharding with an index, and clear errors for bad inputs.

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FormatError } from '../../src/util/errors.js';
import { f32ToBf16 } from '../../src/engine/dtype.js';
import { openSafetensors, type SafetensorsArchive } from '../../src/io/safetensors.node.js';
import { parseHfConfig, toHfConfigJson } from '../../src/model/config.js';
import { convertMeta, permuteRope } from '../../src/model/convert.node.js';
import { parseYamlSubset } from '../../src/util/yaml-subset.js';
import { Call, TTensor, pickleTorch, torchSave } from '../helpers/torch-writer.js';

const DIM = 64;
const LAYERS = 2;
const HD = 16;
const VOCAB = 80;
const FFN = 192; // ffnSize(64, multiple_of 32)

interface Spec {
  heads: number;
  kvHeads: number;
  swin?: boolean;
}

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
}

function bf16(n: number): Uint16Array {
  return Uint16Array.from({ length: n }, () => f32ToBf16(rand()));
}

type Meta = Map<string, { shape: number[]; data: Uint16Array }>;

/** The unsharded Meta state dict (bf16). */
function metaWeights(s: Spec): Meta {
  const m: Meta = new Map();
  const t = (name: string, shape: number[]): void => {
    m.set(name, { shape, data: bf16(shape.reduce((a, b) => a * b, 1)) });
  };
  t('tok_embeddings.weight', [VOCAB, DIM]);
  for (let l = 0; l < LAYERS; l++) {
    const p = `layers.${l}.`;
    t(`${p}attention.wq.weight`, [s.heads * HD, DIM]);
    t(`${p}attention.wk.weight`, [s.kvHeads * HD, DIM]);
    t(`${p}attention.wv.weight`, [s.kvHeads * HD, DIM]);
    t(`${p}attention.wo.weight`, [DIM, s.heads * HD]);
    for (const q of ['q', 'k']) for (const wb of ['weight', 'bias']) t(`${p}attention.${q}_normalization.${wb}`, [HD]);
    t(`${p}feed_forward.w1.weight`, [FFN, DIM]);
    t(`${p}feed_forward.w3.weight`, [FFN, DIM]);
    t(`${p}feed_forward.w2.weight`, [DIM, FFN]);
    t(`${p}attention_norm.weight`, [DIM]);
    t(`${p}ffn_norm.weight`, [DIM]);
  }
  t('norm.weight', [DIM]);
  t('output.weight', [VOCAB, DIM]);
  return m;
}

function rowsOf(d: Uint16Array, shape: number[], from: number, to: number): Uint16Array {
  return d.slice(from * shape[1], to * shape[1]);
}

function colsOf(d: Uint16Array, shape: number[], from: number, to: number): Uint16Array {
  const out = new Uint16Array(shape[0] * (to - from));
  for (let r = 0; r < shape[0]; r++) out.set(d.subarray(r * shape[1] + from, r * shape[1] + to), r * (to - from));
  return out;
}

/** Splits the Meta state dict into n model-parallel shards per the Meta/HF rules (spec §2.1). */
function shardMeta(m: Meta, n: number, i: number, qkPerShard?: Meta[]): Record<string, TTensor> {
  const out: Record<string, TTensor> = {};
  for (const [name, { shape, data }] of m) {
    let sh: number[];
    let d: Uint16Array;
    const byRows = /wq|wk|wv|w1|w3|output/.test(name);
    const byCols = /wo|w2|tok_embeddings/.test(name);
    if (byRows) {
      const r = shape[0] / n;
      sh = [r, shape[1]];
      d = rowsOf(data, shape, i * r, (i + 1) * r);
    } else if (byCols) {
      const c = shape[1] / n;
      sh = [shape[0], c];
      d = colsOf(data, shape, i * c, (i + 1) * c);
    } else if (qkPerShard && /normalization/.test(name)) {
      sh = shape;
      d = qkPerShard[i].get(name)!.data;
    } else {
      sh = shape;
      d = data;
    }
    out[name] = new TTensor('BF16', sh, d);
  }
  out['rope.freqs'] = new TTensor('F32', [HD / 2], new Float32Array(HD / 2).fill(1));
  return out;
}

const VQ_YAML = `# taming-transformers config (tiny)
model:
  base_learning_rate: 4.5e-06
  target: taming.models.vqgan.VQModel
  params:
    embed_dim: 8
    n_embed: 64
    ddconfig:
      double_z: false
      z_channels: 4
      resolution: 32
      in_channels: 3
      out_ch: 3
      ch: 32
      ch_mult:
      - 1
      - 1
      - 1
      - 2
      num_res_blocks: 1
      attn_resolutions: []
      dropout: 0.0
    lossconfig:
      target: taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator
      params:
        disc_start: 250001   # comment
        codebook_weight: 1.0
        disc_conditional: False
`;

/** The same VQGAN weights on every call (own generator), so conversions of one release compare equal. */
function vqStateDict(): Record<string, TTensor> {
  let s = 99;
  const r = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const f = (shape: number[]): TTensor => new TTensor('F32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, r));
  return {
    'encoder.conv_in.weight': f([32, 3, 3, 3]),
    'encoder.conv_in.bias': f([32]),
    'encoder.conv_out.weight': f([4, 64, 3, 3]),
    'quant_conv.weight': f([8, 4, 1, 1]),
    'quant_conv.bias': f([8]),
    'quantize.embedding.weight': f([64, 8]),
    'post_quant_conv.weight': f([4, 8, 1, 1]),
    'post_quant_conv.bias': f([4]),
    'decoder.conv_in.weight': f([64, 4, 3, 3]),
    'decoder.conv_out.bias': f([3]),
    'loss.discriminator.main.0.weight': f([2, 3, 1, 1]),
  };
}

function tokenizerJson(): string {
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2 };
  for (let i = 3; i < VOCAB; i++) vocab[`tok${i}`] = i;
  delete vocab.tok68;
  delete vocab.tok69;
  delete vocab.tok70;
  vocab['<racm3:break>'] = 68;
  vocab['<eoss>'] = 69;
  vocab['<reserved08707>'] = 70;
  const added = ['<s>', '<pad>', '</s>', '<racm3:break>', '<eoss>', '<reserved08707>'].map((c) => ({ id: vocab[c], content: c, special: true }));
  return JSON.stringify({ version: '1.0', added_tokens: added, model: { type: 'BPE', vocab, merges: [] } }, null, 2);
}

/** Writes a complete tiny release; returns its folder. */
function writeRelease(s: Spec, m: Meta, shards: number, qkPerShard?: Meta[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chameleon-meta-'));
  const params = { model: { dim: DIM, n_layers: LAYERS, n_heads: s.heads, n_kv_heads: s.kvHeads, vocab_size: VOCAB, multiple_of: 32, norm_eps: 1e-5, rope_theta: 10000.0, qk_normalization: true, swin_norm: s.swin ?? false }, seed: 1 };
  fs.writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
  fs.writeFileSync(path.join(dir, 'consolidate_params.json'), JSON.stringify({ model_parallel_size: shards }));
  if (shards === 1) torchSave(path.join(dir, 'consolidated.pth'), shardMeta(m, 1, 0), { prefix: 'consolidated' });
  else for (let i = 0; i < shards; i++) torchSave(path.join(dir, `consolidated.0${i}.pth`), shardMeta(m, shards, i, qkPerShard), { prefix: `consolidated.0${i}` });
  fs.writeFileSync(path.join(dir, 'text_tokenizer.json'), tokenizerJson());
  fs.writeFileSync(path.join(dir, 'vqgan.yaml'), VQ_YAML);
  torchSave(path.join(dir, 'vqgan.ckpt'), { epoch: 7, global_step: 1000, state_dict: vqStateDict() });
  return dir;
}

function out(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'chameleon-hf-'));
}

function u16(st: SafetensorsArchive, name: string): Uint16Array {
  const b = st.readBytes(name);
  return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
}

/** Meta row index feeding HF row j of a head (evens then odds). */
const src = (j: number): number => (j < HD / 2 ? 2 * j : 2 * (j - HD / 2) + 1);

describe('convertMeta: unsharded (7B layout)', () => {
  const spec: Spec = { heads: 4, kvHeads: 4 };
  let meta: Meta;
  let hfDir: string;
  let st: SafetensorsArchive;
  let result: Awaited<ReturnType<typeof convertMeta>>;

  before(async () => {
    meta = metaWeights(spec);
    const dir = writeRelease(spec, meta, 1);
    hfDir = out();
    const events: number[] = [];
    result = await convertMeta(dir, hfDir, { progressStream: null, onProgress: (p) => events.push(p.done) });
    assert.ok(events.length > 0 && events[events.length - 1] > 0);
    st = openSafetensors(hfDir);
  });

  test('writes every HF key with the right shape and dtype', () => {
    const want = new Map<string, number[]>([
      ['model.embed_tokens.weight', [VOCAB, DIM]],
      ['model.norm.weight', [DIM]],
      ['lm_head.weight', [VOCAB, DIM]],
    ]);
    for (let l = 0; l < LAYERS; l++) {
      const p = `model.layers.${l}.`;
      want.set(`${p}self_attn.q_proj.weight`, [64, 64]);
      want.set(`${p}self_attn.k_proj.weight`, [64, 64]);
      want.set(`${p}self_attn.v_proj.weight`, [64, 64]);
      want.set(`${p}self_attn.o_proj.weight`, [64, 64]);
      for (const n of ['q_norm', 'k_norm']) for (const wb of ['weight', 'bias']) want.set(`${p}self_attn.${n}.${wb}`, [4, HD]);
      want.set(`${p}mlp.gate_proj.weight`, [FFN, DIM]);
      want.set(`${p}mlp.up_proj.weight`, [FFN, DIM]);
      want.set(`${p}mlp.down_proj.weight`, [DIM, FFN]);
      want.set(`${p}input_layernorm.weight`, [DIM]);
      want.set(`${p}post_attention_layernorm.weight`, [DIM]);
    }
    for (const [k, t] of Object.entries(vqStateDict())) if (/^(encoder|quant_conv|quantize|post_quant_conv)\./.test(k)) want.set(`model.vqmodel.${k}`, t.shape);
    const found = st.tensors();
    assert.deepEqual([...found.keys()].sort(), [...want.keys()].sort());
    for (const [k, shape] of want) {
      assert.deepEqual(found.get(k)!.shape, shape, k);
      assert.equal(found.get(k)!.dtype, k.includes('vqmodel') ? 'F32' : 'BF16', k);
    }
    assert.deepEqual(result.files, ['model.safetensors', 'vq_decoder.safetensors', 'config.json', 'tokenizer.json']);
    assert.ok(result.skipped.some((s) => s.endsWith('rope.freqs')));
    assert.ok(result.skipped.some((s) => s.includes('loss.discriminator')));
  });

  test('q_proj / k_proj rows are the Meta rows in evens-then-odds order per head', () => {
    for (let l = 0; l < LAYERS; l++) {
      for (const [hfName, metaName, heads] of [['q_proj', 'wq', 4], ['k_proj', 'wk', 4]] as const) {
        const hf = u16(st, `model.layers.${l}.self_attn.${hfName}.weight`);
        const m = meta.get(`layers.${l}.attention.${metaName}.weight`)!.data;
        for (let h = 0; h < heads; h++) {
          for (let j = 0; j < HD; j++) {
            const got = hf.subarray((h * HD + j) * DIM, (h * HD + j + 1) * DIM);
            const exp = m.subarray((h * HD + src(j)) * DIM, (h * HD + src(j) + 1) * DIM);
            assert.deepEqual(got, exp, `${hfName} layer ${l} head ${h} row ${j}`);
          }
        }
      }
    }
  });

  test('q_norm / k_norm rows equal the permuted Meta vector, repeated per head', () => {
    for (const [hfName, metaName] of [['q_norm.weight', 'q_normalization.weight'], ['q_norm.bias', 'q_normalization.bias'], ['k_norm.weight', 'k_normalization.weight'], ['k_norm.bias', 'k_normalization.bias']]) {
      const hf = u16(st, `model.layers.1.self_attn.${hfName}`);
      const m = meta.get(`layers.1.attention.${metaName}`)!.data;
      const perm = Uint16Array.from({ length: HD }, (_, j) => m[src(j)]);
      for (let h = 0; h < 4; h++) assert.deepEqual(hf.subarray(h * HD, (h + 1) * HD), perm, `${hfName} head ${h}`);
    }
  });

  test('renamed tensors are byte-identical', () => {
    const pairs: [string, string][] = [
      ['model.embed_tokens.weight', 'tok_embeddings.weight'],
      ['lm_head.weight', 'output.weight'],
      ['model.norm.weight', 'norm.weight'],
      ['model.layers.0.self_attn.v_proj.weight', 'layers.0.attention.wv.weight'],
      ['model.layers.0.self_attn.o_proj.weight', 'layers.0.attention.wo.weight'],
      ['model.layers.1.mlp.gate_proj.weight', 'layers.1.feed_forward.w1.weight'],
      ['model.layers.1.mlp.up_proj.weight', 'layers.1.feed_forward.w3.weight'],
      ['model.layers.1.mlp.down_proj.weight', 'layers.1.feed_forward.w2.weight'],
      ['model.layers.1.input_layernorm.weight', 'layers.1.attention_norm.weight'],
      ['model.layers.1.post_attention_layernorm.weight', 'layers.1.ffn_norm.weight'],
    ];
    for (const [hf, m] of pairs) assert.deepEqual(u16(st, hf), meta.get(m)!.data, hf);
  });

  test('VQGAN: encoder side in model.safetensors, decoder + post_quant_conv in vq_decoder.safetensors', () => {
    const dec = openSafetensors(path.join(hfDir, 'vq_decoder.safetensors'));
    assert.deepEqual([...dec.tensors().keys()].sort(), [
      'model.vqmodel.decoder.conv_in.weight', 'model.vqmodel.decoder.conv_out.bias',
      'model.vqmodel.post_quant_conv.bias', 'model.vqmodel.post_quant_conv.weight',
    ]);
    assert.deepEqual(dec.readTensorF32('model.vqmodel.post_quant_conv.bias'), st.readTensorF32('model.vqmodel.post_quant_conv.bias'));
    dec.close();
  });

  test('config.json round-trips through parseHfConfig and carries the derived values', () => {
    const json = JSON.parse(fs.readFileSync(path.join(hfDir, 'config.json'), 'utf8'));
    const c = parseHfConfig(json);
    assert.deepEqual(toHfConfigJson(c), json);
    assert.equal(c.hiddenSize, DIM);
    assert.equal(c.intermediateSize, FFN);
    assert.equal(c.numAttentionHeads, 4);
    assert.equal(c.numKeyValueHeads, 4);
    assert.equal(c.numHiddenLayers, LAYERS);
    assert.equal(c.vocabSize, VOCAB);
    assert.equal(c.rmsNormEps, 1e-5);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.maxPositionEmbeddings, 4096);
    assert.equal(c.swinNorm, false);
    assert.equal(c.torchDtype, 'bfloat16');
    assert.equal(c.bosTokenId, 0);
    assert.equal(c.padTokenId, 1);
    assert.equal(c.eosTokenId, 2);
    assert.equal(c.imageTokenId, 70);
    assert.equal(c.boiTokenId, 68);
    assert.equal(c.eoiTokenId, 69);
    assert.equal(c.vocabularyMap!['<image>'], 70);
    assert.ok(!('<reserved08707>' in c.vocabularyMap!));
    assert.deepEqual([c.vqConfig.embedDim, c.vqConfig.numEmbeddings, c.vqConfig.latentChannels, c.vqConfig.baseChannels], [8, 64, 4, 32]);
    assert.deepEqual(c.vqConfig.channelMultiplier, [1, 1, 1, 2]);
    assert.deepEqual(c.vqConfig.attnResolutions, []);
    assert.equal(c.vqConfig.numResBlocks, 1);
    assert.equal(c.modelParallelSize, 1);
  });

  test('tokenizer.json is the text tokenizer with <reserved08707> renamed <image>', () => {
    const tok = JSON.parse(fs.readFileSync(path.join(hfDir, 'tokenizer.json'), 'utf8'));
    assert.equal(tok.model.vocab['<image>'], 70);
    assert.ok(!('<reserved08707>' in tok.model.vocab));
    assert.ok(tok.added_tokens.some((t: { content: string; id: number }) => t.content === '<image>' && t.id === 70));
  });

  test('maxShardBytes splits model.safetensors into HF shards + index with the same tensors', async () => {
    const dir2 = out();
    const dir = writeRelease(spec, meta, 1);
    const r = await convertMeta(dir, dir2, { progressStream: null, maxShardBytes: 40_000 });
    assert.ok(r.files.includes('model.safetensors.index.json'));
    assert.ok(r.files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length > 2);
    assert.ok(!fs.existsSync(path.join(dir2, 'model.safetensors')));
    const sharded = openSafetensors(dir2);
    assert.deepEqual([...sharded.tensors().keys()].sort(), [...st.tensors().keys()].sort());
    for (const k of st.tensors().keys()) assert.deepEqual(sharded.readBytes(k), st.readBytes(k), k);
    sharded.close();
  });
});

describe('convertMeta: model-parallel shards (30B layout)', () => {
  test('2 shards with GQA and swin_norm merge to exactly the unsharded conversion', async () => {
    const spec: Spec = { heads: 4, kvHeads: 2, swin: true };
    const meta = metaWeights(spec);
    const one = out();
    const two = out();
    await convertMeta(writeRelease(spec, meta, 1), one, { progressStream: null });
    const r = await convertMeta(writeRelease(spec, meta, 2), two, { progressStream: null });
    assert.equal(r.inputShards, 2);
    assert.equal(r.config.swinNorm, true);
    assert.equal(r.config.numKeyValueHeads, 2);
    assert.equal(r.config.modelParallelSize, 2);
    assert.deepEqual(r.warnings.filter((w) => !w.startsWith('config:')), []);
    const a = openSafetensors(one);
    const b = openSafetensors(two);
    assert.deepEqual([...b.tensors().keys()].sort(), [...a.tensors().keys()].sort());
    for (const k of a.tensors().keys()) assert.deepEqual(b.readBytes(k), a.readBytes(k), k);
    assert.deepEqual(b.get('model.layers.0.self_attn.k_norm.weight').shape, [2, HD]);
    a.close();
    b.close();
  });

  test('4 shards: tensors equal the unsharded original; q/k norms keep one group per shard', async () => {
    const spec: Spec = { heads: 4, kvHeads: 4 };
    const meta = metaWeights(spec);
    const perShard: Meta[] = [0, 1, 2, 3].map(() => {
      const m: Meta = new Map();
      for (const [k, v] of meta) if (/normalization/.test(k)) m.set(k, { shape: v.shape, data: bf16(HD) });
      return m;
    });
    const one = out();
    const four = out();
    await convertMeta(writeRelease(spec, meta, 1), one, { progressStream: null });
    await convertMeta(writeRelease(spec, meta, 4, perShard), four, { progressStream: null });
    const a = openSafetensors(one);
    const b = openSafetensors(four);
    for (const k of a.tensors().keys()) {
      if (/_norm\.(weight|bias)$/.test(k) && k.includes('self_attn')) continue;
      assert.deepEqual(b.readBytes(k), a.readBytes(k), k);
    }
    for (let l = 0; l < LAYERS; l++) {
      for (const [hfName, metaName] of [['q_norm.weight', 'q_normalization.weight'], ['k_norm.bias', 'k_normalization.bias']]) {
        const hf = u16(b, `model.layers.${l}.self_attn.${hfName}`);
        for (let h = 0; h < 4; h++) {
          const v = perShard[h].get(`layers.${l}.attention.${metaName}`)!.data; // 4 heads / 4 shards: head h <- shard h
          assert.deepEqual(hf.subarray(h * HD, (h + 1) * HD), Uint16Array.from({ length: HD }, (_, j) => v[src(j)]), `${hfName} layer ${l} head ${h}`);
        }
      }
    }
    a.close();
    b.close();
  });
});

describe('convertMeta: bad input', () => {
  const spec: Spec = { heads: 4, kvHeads: 4 };
  const isFmt = (re: RegExp) => (e: Error) => e instanceof FormatError && re.test(e.message);

  test('missing params.json', async () => {
    const dir = writeRelease(spec, metaWeights(spec), 1);
    fs.rmSync(path.join(dir, 'params.json'));
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/no params\.json/));
  });

  test('truncated consolidated.pth', async () => {
    const dir = writeRelease(spec, metaWeights(spec), 1);
    const f = path.join(dir, 'consolidated.pth');
    const b = fs.readFileSync(f);
    fs.writeFileSync(f, b.subarray(0, b.length - 1000));
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/consolidated\.pth.*truncated/));
  });

  test('corrupt and hostile pickles inside consolidated.pth', async () => {
    const dir = writeRelease(spec, metaWeights(spec), 1);
    const f = path.join(dir, 'consolidated.pth');
    torchSave(f, shardMeta(metaWeights(spec), 1, 0), { pickle: Uint8Array.from([0x80, 2, 0x7d, 0x71, 0, 0x28, 0x58, 1]) });
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/corrupt pickle/));
    torchSave(f, {}, { pickle: pickleTorch(new Call('os', 'system', ['echo pwned'])).pkl });
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/refusing to load pickle global os\.system/));
    torchSave(f, {}, { pickle: pickleTorch({ w: new Call('builtins', 'eval', ['1+1']) }).pkl });
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/refusing to load pickle global builtins\.eval/));
  });

  test('weights that do not match params.json', async () => {
    const dir = writeRelease(spec, metaWeights(spec), 1);
    fs.writeFileSync(path.join(dir, 'params.json'), JSON.stringify({ dim: DIM, n_layers: LAYERS, n_heads: 4, n_kv_heads: 2 }));
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/does not match params\.json[\s\S]*wk\.weight: expected \[32, 64\], found \[64, 64\]/));
  });

  test('missing tokenizer files and unsupported YAML', async () => {
    const dir = writeRelease(spec, metaWeights(spec), 1);
    fs.rmSync(path.join(dir, 'vqgan.yaml'));
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/vqgan\.yaml not found/));
    fs.writeFileSync(path.join(dir, 'vqgan.yaml'), 'model: &m\n  params: *m\n');
    await assert.rejects(convertMeta(dir, out(), { progressStream: null }), isFmt(/vqgan\.yaml:1: YAML feature "&"/));
  });

  test('download-root layout: data/models/<size>/ + data/tokenizer/', async () => {
    const flat = writeRelease(spec, metaWeights(spec), 1);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'chameleon-data-'));
    fs.mkdirSync(path.join(root, 'models', '7b'), { recursive: true });
    fs.mkdirSync(path.join(root, 'tokenizer'));
    for (const f of fs.readdirSync(flat)) {
      const to = /vqgan|text_tokenizer/.test(f) ? path.join(root, 'tokenizer', f) : path.join(root, 'models', '7b', f);
      fs.copyFileSync(path.join(flat, f), to);
    }
    const r = await convertMeta(root, out(), { progressStream: null });
    assert.equal(r.config.hiddenSize, DIM);
    await assert.rejects(convertMeta(root, out(), { progressStream: null, model: '30b' }), isFmt(/no models\/30b\/params\.json/));
  });
});

describe('parseYamlSubset', () => {
  test('mappings, block and flow lists, scalars, comments', () => {
    const doc = parseYamlSubset(VQ_YAML, 'vq.yaml') as Record<string, Record<string, unknown>>;
    const p = doc.model.params as Record<string, Record<string, unknown>>;
    assert.equal(doc.model.base_learning_rate, 4.5e-6);
    assert.deepEqual(p.ddconfig.ch_mult, [1, 1, 1, 2]);
    assert.deepEqual(p.ddconfig.attn_resolutions, []);
    assert.equal(p.ddconfig.double_z, false);
    assert.equal((p.lossconfig.params as Record<string, unknown>).disc_conditional, false);
    assert.equal((p.lossconfig.params as Record<string, unknown>).disc_start, 250001);
    assert.deepEqual(parseYamlSubset('a: [1, [2, 3], {b: c}]\nd: "x # y"\ne: ~\nf:\n  - g: 1\n    h: yes\n  - 2\n'), {
      a: [1, [2, 3], { b: 'c' }], d: 'x # y', e: null, f: [{ g: 1, h: true }, 2],
    });
  });
  test('rejects what it does not model', () => {
    assert.throws(() => parseYamlSubset('a: !!python/object x'), /YAML feature "!"/);
    assert.throws(() => parseYamlSubset('a: |\n  text'), /YAML feature "\|"/);
    assert.throws(() => parseYamlSubset('a: 1\na: 2'), /duplicate key "a"/);
    assert.throws(() => parseYamlSubset('a: 1\n---\nb: 2'), /multiple documents/);
    assert.throws(() => parseYamlSubset('a:\n    b: 1\n  c: 2'), /unexpected indentation/);
    assert.throws(() => parseYamlSubset('a: [1, 2'), /unterminated flow/);
  });
  test('permuteRope on a single vector', () => {
    const v = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(permuteRope(v, 1, 8, 1), Uint8Array.from([0, 2, 4, 6, 1, 3, 5, 7]));
    assert.deepEqual(permuteRope(v, 2, 4, 1), Uint8Array.from([0, 2, 1, 3, 4, 6, 5, 7]));
  });
});
