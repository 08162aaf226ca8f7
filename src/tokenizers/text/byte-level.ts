// GPT-2 byte-level alphabet: the fixed map between the 256 byte values and 256 printable unicode
// characters that byte-level BPE vocabularies are written in, plus UTF-8 <-> byte-level string helpers.
// Leaves out pre-tokenization (pretokenize.ts) and merges (bpe.ts).

/** BYTE_TO_CHAR[b] is the printable character GPT-2 uses for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out = new Array<string>(256);
  for (let i = 0; i < 256; i++) out[bs[i]] = String.fromCharCode(cs[i]);
  return out;
})();

/** Reverse of BYTE_TO_CHAR: char code → byte, -1 for characters outside the alphabet. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(512).fill(-1);
  for (let b = 0; b < 256; b++) t[BYTE_TO_CHAR[b].charCodeAt(0)] = b;
  return t;
})();

/** The 256 alphabet characters sorted by code point (the order byte-level trainers assign ids in). */
export const BYTE_ALPHABET: readonly string[] = [...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** UTF-8 bytes of `text` written in the byte-level alphabet (one char per byte). */
export function toByteLevel(text: string): string {
  const bytes = utf8Encoder.encode(text);
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** Bytes of a byte-level string; characters outside the alphabet are UTF-8 encoded as they are. */
function byteLevelToBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c < 512 ? CHAR_TO_BYTE[c] : -1;
    if (b >= 0) out.push(b);
    else for (const x of utf8Encoder.encode(s[i])) out.push(x);
  }
  return Uint8Array.from(out);
}

/** Decodes byte-level strings (concatenated) back to text; invalid UTF-8 becomes U+FFFD. */
export function fromByteLevel(s: string): string {
  return utf8Decoder.decode(byteLevelToBytes(s));
}
