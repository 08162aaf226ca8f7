// Reads a JSON file for the loaders of every layer (model directories, configs, tokenizers): one
// FormatError line naming the file when it cannot be read or is not JSON. Leaves out schema checks
// (each caller validates its own shape) and writing (writeAtomic in train/lm/checkpoint.node.ts).

import { readFileSync } from 'node:fs';
import { FormatError } from '../util/errors.js';

/** The parsed content of `file`, or a FormatError: "<file>: cannot read (…)" / "<file>: not valid JSON (…)". */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FormatError(`${file}: cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}
