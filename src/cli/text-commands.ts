// CLI over the text tokenizer: `chameleon tokenize --model <dir> "text"` (ids, pieces and their
// kind in the model's id space) and `chameleon train tokenizer` (our BPE trainer writing a
// tokenizer.json with Chameleon's id layout). Thin adapters over src/tokenizers.

import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ChameleonError } from '../util/errors.js';
import { loadTextTokenizer } from '../tokenizers/text/load.node.js';
import { trainChameleonTokenizer } from '../tokenizers/chameleon-tokenizer.js';
import { Vocabulary } from '../tokenizers/vocab.js';
import { readConfig } from '../model/checkpoint.node.js';
import { numberOption } from './options.js';

const KIND_NAMES = ['text', 'image', 'special'];

async function tokenizeCommand(text: string, opts: { model: string; json?: boolean; special?: boolean }): Promise<void> {
  const tokPath = existsSync(join(opts.model, 'tokenizer.json')) ? join(opts.model, 'tokenizer.json') : opts.model;
  if (!existsSync(tokPath) || statSync(tokPath).isDirectory()) throw new ChameleonError(`${opts.model}: no tokenizer.json`);
  const tok = await loadTextTokenizer(tokPath);
  let vocab: Vocabulary | null = null;
  if (existsSync(join(opts.model, 'config.json'))) {
    const cfg = readConfig(opts.model);
    if (cfg.vocabularyMap) vocab = Vocabulary.fromVocabularyMap(cfg.vocabularyMap, { vocabSize: cfg.vocabSize });
  }
  const ids = tok.encode(text, { addBos: false, parseSpecial: Boolean(opts.special) });
  const pieces = ids.map((id) => ({ id, token: tok.idToToken(id) ?? '', kind: vocab ? KIND_NAMES[vocab.kinds[id]] : undefined }));
  if (opts.json) {
    console.log(JSON.stringify({ ids, tokens: pieces.map((p) => p.token), decoded: tok.decode(ids) }));
    return;
  }
  console.log(`${ids.length} tokens: ${ids.join(' ')}`);
  for (const p of pieces) console.log(`${String(p.id).padStart(6)}  ${JSON.stringify(p.token)}${p.kind ? `  (${p.kind})` : ''}`);
}

function readCorpus(path: string): string[] {
  if (!existsSync(path)) throw new ChameleonError(`--corpus ${path}: no such file or directory`);
  const files = statSync(path).isDirectory()
    ? readdirSync(path, { recursive: true })
        .map((f) => join(path, String(f)))
        .filter((f) => statSync(f).isFile() && /\.(txt|md|jsonl)$/i.test(f))
    : [path];
  if (files.length === 0) throw new ChameleonError(`--corpus ${path}: no .txt, .md or .jsonl files`);
  const docs: string[] = [];
  for (const f of files) {
    const raw = readFileSync(f, 'utf8');
    if (f.endsWith('.jsonl')) {
      raw.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          throw new ChameleonError(`${f}:${i + 1}: not valid JSON`);
        }
        const t = (obj as { text?: unknown }).text;
        if (typeof t !== 'string') throw new ChameleonError(`${f}:${i + 1}: expected {"text": "..."}`);
        docs.push(t);
      });
    } else docs.push(...raw.split(/\n{2,}/));
  }
  return docs;
}

function trainTokenizerCommand(opts: { corpus: string; vocabSize: number; codebookSize: number; minFrequency?: number; out: string }): void {
  const docs = readCorpus(opts.corpus);
  const t0 = performance.now();
  const tok = trainChameleonTokenizer(docs, { vocabSize: opts.vocabSize, codebookSize: opts.codebookSize, minFrequency: opts.minFrequency });
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'tokenizer.json'), JSON.stringify(tok.json));
  writeFileSync(join(opts.out, 'vocabulary_map.json'), JSON.stringify(tok.vocab.toVocabularyMap()));
  const secs = (performance.now() - t0) / 1000;
  console.log(`trained ${tok.merges} merges on ${docs.length} documents in ${secs.toFixed(1)} s: ${tok.vocab.size} ids (${opts.codebookSize} image codes, text from id ${tok.vocab.textStart}); wrote ${join(opts.out, 'tokenizer.json')}`);
}

export function registerTextCommands(program: Command): void {
  program
    .command('tokenize <text>')
    .description('text -> token ids with the model directory\'s tokenizer.json (and each id\'s kind)')
    .requiredOption('--model <dir>', 'model directory (or a tokenizer.json path)')
    .option('--special', 'match special-token text such as <s> (default: treat it as plain text)')
    .option('--json', 'print {"ids", "tokens", "decoded"}')
    .action(async (text: string, opts: { model: string; json?: boolean; special?: boolean }) => tokenizeCommand(text, opts));
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('training');
  train
    .command('tokenizer')
    .description('train a byte-level BPE with Chameleon\'s id layout (specials, image codes, then text)')
    .requiredOption('--corpus <path>', 'a .txt/.md/.jsonl file ({"text": ...} lines) or a folder of them')
    .addOption(numberOption('--vocab-size <n>', 'total ids including specials and image codes', { int: true, min: 1 }).makeOptionMandatory())
    .addOption(numberOption('--codebook-size <n>', 'image codes of the VQGAN this vocabulary will hold', { int: true, min: 1 }).makeOptionMandatory())
    .addOption(numberOption('--min-frequency <n>', 'minimum pair count to merge (default 2)', { int: true, min: 1 }))
    .requiredOption('--out <dir>', 'where tokenizer.json and vocabulary_map.json go')
    .action((opts: { corpus: string; vocabSize: number; codebookSize: number; minFrequency?: number; out: string }) => trainTokenizerCommand(opts));
}
