// Node file reading for text tokenizers: loads an HF tokenizer.json (or Meta text_tokenizer.json)
// from disk. Browser code passes the file's text to HfTextTokenizer.fromJson.

import { readFile } from 'node:fs/promises';
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

