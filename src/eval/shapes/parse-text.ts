// Reads shapes-world text back into attributes: every shape mentioned in a caption (with the colour
// and size words before it and the position words after it), a single answer's colour, shape, size,
// count, position or yes/no, and whether a reply is a refusal. Word-based and tolerant of the
// phrasings of phrases.ts (and of plurals, "centre", "big"/"little", digits); no grammar beyond that.

import { COLOURS, SHAPES, type Colour, type Shape, type Size } from './world.js';
import { NUMBER_WORDS, type Answer } from './phrases.js';

/** Lower-case words (letters, digits, apostrophes). */
export function words(text: string): string[] {
  return text.toLowerCase().replace(/’/g, "'").match(/[a-z0-9']+/g) ?? [];
}

function shapeWord(w: string): Shape | null {
  const base = w.endsWith('s') && (SHAPES as readonly string[]).includes(w.slice(0, -1)) ? w.slice(0, -1) : w;
  return (SHAPES as readonly string[]).includes(base) ? (base as Shape) : null;
}

function colourWord(w: string): Colour | null {
  if (w === 'violet') return 'purple';
  return (COLOURS as readonly string[]).includes(w) ? (w as Colour) : null;
}

function sizeWord(w: string): Size | null {
  if (w === 'small' || w === 'little' || w === 'smaller') return 'small';
  if (w === 'large' || w === 'big' || w === 'bigger' || w === 'larger') return 'large';
  return null;
}

/** The cell named by position words (top/bottom, left/right, middle/center), or null if none. */
export function cellOfWords(ws: readonly string[]): number | null {
  let row: number | null = null;
  let col: number | null = null;
  let centre = false;
  for (const w of ws) {
    if (w === 'top' || w === 'upper') row ??= 0;
    else if (w === 'bottom' || w === 'lower') row ??= 2;
    else if (w === 'left') col ??= 0;
    else if (w === 'right') col ??= 2;
    else if (w === 'middle' || w === 'center' || w === 'centre' || w === 'central') centre = true;
  }
  if (row === null && col === null && !centre) return null;
  return (row ?? 1) * 3 + (col ?? 1);
}

export interface Mention {
  shape: Shape;
  colour: Colour | null;
  size: Size | null;
  cell: number | null;
}

/**
 * Every shape word of a text with the attributes around it, in order ("a small red star at the top
 * left, ..."); colour, size and position words count only within the shape's own sentence.
 */
export function parseMentions(text: string): Mention[] {
  return text.split(/[.!?\n]+/).flatMap(sentenceMentions);
}

function sentenceMentions(sentence: string): Mention[] {
  const ws = words(sentence);
  const at: number[] = [];
  ws.forEach((w, i) => {
    if (shapeWord(w)) at.push(i);
  });
  return at.map((i, k) => {
    const from = k === 0 ? 0 : at[k - 1] + 1;
    const to = k + 1 < at.length ? at[k + 1] : ws.length;
    let colour: Colour | null = null;
    let size: Size | null = null;
    for (let j = i - 1; j >= from; j--) {
      colour ??= colourWord(ws[j]);
      size ??= sizeWord(ws[j]);
    }
    // Position words after the shape, up to the next mention's own colour/size words.
    let end = to;
    if (k + 1 < at.length) while (end - 1 > i && (colourWord(ws[end - 1]) || sizeWord(ws[end - 1]) || ws[end - 1] === 'a' || ws[end - 1] === 'an')) end--;
    return { shape: shapeWord(ws[i])!, colour, size, cell: cellOfWords(ws.slice(i + 1, end)) };
  });
}

function numberOf(w: string): number | null {
  if (/^\d+$/.test(w)) return Number(w);
  const i = (NUMBER_WORDS as readonly string[]).indexOf(w);
  if (i >= 0) return i;
  return w === 'no' || w === 'none' ? 0 : null;
}

/** The first value of the answer's kind found in a reply, or null (the reply does not answer). */
export function parseAnswer(kind: Answer['kind'], text: string): Answer['value'] | null {
  const ws = words(text);
  for (const w of ws) {
    switch (kind) {
      case 'colour': {
        const c = colourWord(w);
        if (c) return c;
        break;
      }
      case 'shape': {
        const s = shapeWord(w);
        if (s) return s;
        break;
      }
      case 'size': {
        const s = sizeWord(w);
        if (s) return s;
        break;
      }
      case 'count': {
        const n = numberOf(w);
        if (n !== null) return n;
        break;
      }
      case 'yesno':
        if (w === 'yes') return true;
        if (w === 'no') return false;
        break;
      case 'position':
        return cellOfWords(ws);
    }
  }
  return null;
}

const REFUSAL = /\b(i'm sorry|i am sorry|sorry|i can't|i cannot|i can not|i won't|i will not|not allowed|i refuse)\b/;

/** Whether a reply declines the request (the refusal phrasings, and common variants). */
export function isRefusal(text: string): boolean {
  return REFUSAL.test(text.toLowerCase().replace(/’/g, "'"));
}
