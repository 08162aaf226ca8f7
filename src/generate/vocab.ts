// What generation needs to know about the id space: special ids, the image ids (index = code), and
// which ids the text state may emit (Meta's rule: every id except image ids and names starting with
// "<", the single character "<" excepted). Built from a Hugging Face vocabulary_map.

import { ChameleonError } from '../util/errors.js';

export interface GenVocab {
  readonly size: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly boi: number;
  readonly eoi: number;
  /** End of turn (Meta `<reserved08706>`), or -1 if the vocabulary has none. */
  readonly eot: number;
  /** Vocabulary id of image code c is imageIds[c]. */
  readonly imageIds: Int32Array;
  /** 1 where the text state may emit the id (text tokens; EOS/EOT/BOI are handled separately). */
  readonly textMask: Uint8Array;
  /** Code of an image id, or -1. */
  codeOf(id: number): number;
}

/** Builds the generation vocabulary from an HF `vocabulary_map` (name → id). */
export function vocabFromMap(map: Record<string, number>, size: number): GenVocab {
  const need = (name: string): number => {
    const id = map[name];
    if (id === undefined) throw new ChameleonError(`vocabulary has no ${name} token`);
    return id;
  };
  const imgs: [number, number][] = [];
  for (const [name, id] of Object.entries(map)) {
    const m = /^IMGIMG([A-J]+)Z$/.exec(name);
    if (m) imgs.push([parseInt([...m[1]].map((ch) => ch.charCodeAt(0) - 65).join(''), 10), id]);
  }
  imgs.sort((a, b) => a[0] - b[0]);
  imgs.forEach(([code], i) => {
    if (code !== i) throw new ChameleonError(`vocabulary image codes are not contiguous: expected code ${i}, found ${code}`);
  });
  const imageIds = Int32Array.from(imgs.map(([, id]) => id));
  const codeTable = new Int32Array(size).fill(-1);
  imageIds.forEach((id, c) => (codeTable[id] = c));
  const textMask = new Uint8Array(size);
  for (const [name, id] of Object.entries(map)) {
    if (id >= size) continue;
    if (codeTable[id] >= 0) continue;
    if (name.startsWith('<') && name !== '<') continue;
    textMask[id] = 1;
  }
  const eot = map['<reserved08706>'] ?? -1;
  return {
    size,
    bos: need('<s>'),
    eos: need('</s>'),
    pad: need('<pad>'),
    boi: need('<racm3:break>'),
    eoi: need('<eoss>'),
    eot,
    imageIds,
    textMask,
    codeOf: (id: number) => (id >= 0 && id < size ? codeTable[id] : -1),
  };
}
