// Node file reading for text tokenizers: loads an HF tokenizer.json (or Meta text_tokenizer.json)
// from disk and writes a trained one. Browser code passes the file's text to HfTextTokenizer.fromJson.

import { readFile, writeFile } from 'node:fs/promises';
import { FormatError } from '../../util/errors.js';
import { HfTextTokenizer } from './text-tokenizer.js';

/** Reads and loads a byte-level BPE tokenizer.json. */
export async function loadTextTokenizer(path: string): Promise<HfTextTokenizer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new FormatError(`${path}: cannot read tokenizer file (${(e as Error).message})`);
  }
  return HfTextTokenizer.fromJson(text, path);
}

/** Writes a tokenizer.json object (from buildTokenizerJson) to disk. */
export async function saveTokenizerJson(path: string, json: Record<string, unknown>): Promise<void> {
  await writeFile(path, JSON.stringify(json), 'utf8');
}
