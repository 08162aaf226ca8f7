// Text tokenizer benchmark: trains a Chameleon-layout BPE on a synthetic mixed corpus (prose-like
// words, code, digits, CJK, emoji, whitespace runs), then measures tokenizer.json load time, library
// encode and decode MB/s and our reference BPE's encode MB/s. `run(true)` prints one JSON object a line,
// each naming the CPU and its ISA flags (host.ts; backend 'js': no wasm kernels run here).

import { trainChameleonTokenizer } from '../src/tokenizers/chameleon-tokenizer.js';
import { HfTextTokenizer } from '../src/tokenizers/text/text-tokenizer.js';
import { ReferenceBpe } from '../src/tokenizers/text/bpe.js';
import { parseTokenizerJson } from '../src/tokenizers/text/tokenizer-json.js';
import { hostFields, hostLine, readCpuInfo } from './host.js';

function syntheticCorpus(targetBytes: number, seed: number): string[] {
  let s = seed >>> 0;
  const rnd = (k: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % k;
  };
  const syl = ['ka', 'lo', 'mi', 'ren', 'tas', 'vo', 'qui', 'zel', 'an', 'dor', 'ph', 'st', 'ing', 'er', 'the', 'tion', 'Ba', 'Tr', 'ou', 'ee'];
  const words: string[] = [];
  for (let i = 0; i < 5000; i++) words.push(Array.from({ length: 1 + rnd(4) }, () => syl[rnd(syl.length)]).join(''));
  const extras = ['机器学习是人工智能的一个分支。', '東京は日本の首都です。', '😀', '👨‍👩‍👧‍👦', 'café', '\n', '\n\n', '\t', '    ', '  ', '(x) => x + 1;', '{ "a": [1, 2] }', '.', ',', '!', '?', "'s"];
  const docs: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const parts: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = rnd(20);
      if (r < 15) parts.push(' ' + words[Math.min(rnd(words.length), rnd(words.length))]);
      else if (r < 18) parts.push(extras[rnd(extras.length)]);
      else parts.push(' ' + String(rnd(1_000_000)));
    }
    const d = parts.join('');
    docs.push(d);
    bytes += new TextEncoder().encode(d).length;
  }
  return docs;
}

function mbOf(docs: string[]): number {
  let n = 0;
  const enc = new TextEncoder();
  for (const d of docs) n += enc.encode(d).length;
  return n / 1e6;
}

export async function run(json: boolean): Promise<void> {
  const host = hostFields(readCpuInfo(), 'js');
  const emit = (obj: Record<string, unknown>, human: string): void => console.log(json ? JSON.stringify({ ...obj, ...host }) : human);
  if (!json) console.log(hostLine(host));
  const train = syntheticCorpus(1_000_000, 1);
  const test = syntheticCorpus(2_000_000, 2);
  const mb = mbOf(test);

  let t = performance.now();
  const trained = trainChameleonTokenizer(train, { codebookSize: 8192, sentinels: 512, reserved: 16384 - 8710, vocabSize: 16384 + 16000, progress: null });
  const trainMs = performance.now() - t;
  emit({ kind: 'text-train', ms: trainMs, mb: mbOf(train), merges: trained.merges, vocab: trained.vocab.size }, `text train: ${mbOf(train).toFixed(2)} MB corpus, ${trained.merges} merges in ${(trainMs / 1e3).toFixed(2)} s`);

  const jsonText = JSON.stringify(trained.json);
  t = performance.now();
  let tok = HfTextTokenizer.fromJson(jsonText);
  const loadMs = performance.now() - t;
  emit({ kind: 'text-load', ms: loadMs, jsonMB: jsonText.length / 1e6, vocab: tok.vocabSize }, `text load: ${loadMs.toFixed(1)} ms for a ${tok.vocabSize}-token tokenizer.json (${(jsonText.length / 1e6).toFixed(2)} MB)`);

  for (let rep = 0; rep < 2; rep++) {
    tok = HfTextTokenizer.fromJson(jsonText); // cold library cache each repetition
    t = performance.now();
    let tokens = 0;
    const encoded: number[][] = [];
    for (const d of test) {
      const ids = tok.encode(d);
      tokens += ids.length;
      encoded.push(ids);
    }
    const encMs = performance.now() - t;
    t = performance.now();
    for (const ids of encoded) tok.decode(ids);
    const decMs = performance.now() - t;
    if (rep === 1) {
      emit({ kind: 'text-encode', impl: '@huggingface/tokenizers', mbps: mb / (encMs / 1e3), mb, tokens, bytesPerToken: (mb * 1e6) / tokens }, `text encode (@huggingface/tokenizers): ${(mb / (encMs / 1e3)).toFixed(2)} MB/s on ${mb.toFixed(2)} MB, ${tokens} tokens (${((mb * 1e6) / tokens).toFixed(2)} B/token)`);
      emit({ kind: 'text-decode', impl: 'wrapper-bytelevel', mbps: mb / (decMs / 1e3), mb }, `text decode (our ByteLevel fast path): ${(mb / (decMs / 1e3)).toFixed(2)} MB/s`);
    }
  }

  const parsed = parseTokenizerJson(jsonText);
  const ref = new ReferenceBpe(parsed.vocab, parsed.merges, parsed.addedTokens.map((a) => a.content));
  t = performance.now();
  for (const d of test) ref.encode(d);
  const refMs = performance.now() - t;
  emit({ kind: 'text-encode', impl: 'reference', mbps: mb / (refMs / 1e3), mb }, `text encode (our reference BPE, test oracle): ${(mb / (refMs / 1e3)).toFixed(2)} MB/s`);
}

const isMain = typeof process !== 'undefined' && process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) await run(process.argv.includes('--json'));
