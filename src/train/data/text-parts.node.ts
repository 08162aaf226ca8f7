// What tokenizing documents needs from a model directory without the language model: config.json's
// vocabulary and tokenizer.json as PromptParts (the layout code of generate/prompt.ts), loaded by the
// build and by its worker threads alike; and the message types between them. Leaves out the VQ
// image tokenizer (build.node.ts loads it on the main thread).

import * as fs from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../../util/errors.js';
import { Vocabulary } from '../../tokenizers/vocab.js';
import { combineVocabulary } from '../../tokenizers/chameleon-tokenizer.js';
import { loadTextTokenizer } from '../../tokenizers/text/load.node.js';
import { genVocab } from '../../generate/vocab.js';
import type { PromptParts } from '../../generate/prompt.js';

export interface ModelConfigJson {
  vocabulary_map?: Record<string, number>;
  vocab_size?: number;
  vq_config?: unknown;
  max_position_embeddings?: number;
}

export interface TextParts {
  vocab: Vocabulary;
  /** imageTokens comes from vq_config (the VQ encoder itself is not loaded here). */
  parts: PromptParts;
  cfg: ModelConfigJson;
}

/** Reads config.json (vocabulary_map) and tokenizer.json of a model directory. */
export async function loadTextParts(dir: string, imageTokens = 0): Promise<TextParts> {
  const cfgPath = join(dir, 'config.json');
  if (!fs.existsSync(cfgPath)) throw new ChameleonError(`--model ${dir}: no config.json (expected a Chameleon model directory)`);
  let cfg: ModelConfigJson;
  try {
    cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as ModelConfigJson;
  } catch (e) {
    throw new ChameleonError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  if (!cfg.vocabulary_map) throw new ChameleonError(`${cfgPath}: no vocabulary_map, so text and image ids cannot be laid out`);
  const vocab = Vocabulary.fromVocabularyMap(cfg.vocabulary_map, { vocabSize: cfg.vocab_size, source: cfgPath });
  const tokPath = join(dir, 'tokenizer.json');
  if (!fs.existsSync(tokPath)) throw new ChameleonError(`--model ${dir}: no tokenizer.json (data build needs the model's text tokenizer)`);
  const text = await loadTextTokenizer(tokPath);
  combineVocabulary(vocab, text);
  const parts: PromptParts = {
    vocab: genVocab(vocab, Math.max(vocab.size, cfg.vocab_size ?? 0)),
    text: { encode: (s) => text.encode(s, { addBos: false, parseSpecial: false }), decode: (ids) => text.decode(ids) },
    imageTokens,
  };
  return { vocab, parts, cfg };
}

/** Per-line outcome codes of a worker chunk (0: a blank line). */
export const LINE_DOC = 1;
/** A bad line (skip or fatal by --on-error); messages[i] says why. */
export const LINE_ERROR = 2;
/** The document has images: the main thread tokenizes it. */
export const LINE_IMAGES = 3;
/** A problem with the model, not the line: always fatal. */
export const LINE_FATAL = 4;

export interface ChunkRequest {
  id: number;
  lines: string[];
}

export interface ChunkResult {
  id: number;
  kinds: Uint8Array;
  /** Index into DOC_KINDS of each LINE_DOC line. */
  docKinds: Uint8Array;
  /** Token count of each LINE_DOC line (their tokens and masks are concatenated in line order). */
  lengths: Int32Array;
  messages: (string | null)[];
  tokens: Int32Array;
  mask: Uint8Array;
}
