// Parses the YAML subset that taming-transformers configs (vqgan.yaml) use: block mappings and
// sequences, flow [..]/{..} of scalars, plain/quoted scalars with YAML 1.1 booleans and nulls,
// comments. Anchors, aliases, tags, block scalars, multi-line flow collections and multiple
// documents are rejected with the line number (a dependency-free reader for one file type).

import { FormatError } from './errors.js';

type Json = Record<string, unknown>;

interface YLine {
  readonly indent: number;
  readonly text: string;
  readonly no: number;
}

function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) return s.slice(0, i);
  }
  return s;
}

function resolvePlain(s: string): unknown {
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(s)) return true;
  if (/^(false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(s)) return false;
  if (/^[-+]?(0|[1-9][0-9_]*)$/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

/** Parses the YAML subset described above; FormatError with `file:line` for anything outside it. */
export function parseYamlSubset(src: string, file = 'yaml'): unknown {
  const fail = (no: number, msg: string): never => {
    throw new FormatError(`${file}:${no}: ${msg} (only a YAML subset is supported: nested mappings, lists, scalars)`);
  };
  const lines: YLine[] = [];
  src.split(/\r?\n/).forEach((raw, idx) => {
    const body = stripComment(raw).trimEnd();
    if (body.trim() === '') return;
    const indent = /^ */.exec(body)![0].length;
    if (body[indent] === '\t') fail(idx + 1, 'tab in indentation');
    const text = body.slice(indent);
    if (text === '---' && lines.length === 0) return;
    if (text === '---' || text === '...') fail(idx + 1, 'multiple documents');
    if (text.startsWith('%')) fail(idx + 1, 'directives');
    lines.push({ indent, text, no: idx + 1 });
  });

  const quoted = (s: string, p: number, no: number): [string, number] => {
    const q = s[p];
    let out = '';
    for (let i = p + 1; i < s.length; i++) {
      const c = s[i];
      if (q === "'" && c === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return [out, i + 1];
      }
      if (q === '"' && c === '"') return [out, i + 1];
      if (q === '"' && c === '\\') {
        const e = s[++i];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', '0': '\0' };
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) {
          out += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16));
          i += 4;
        } else if (e in map) out += map[e];
        else fail(no, `unsupported escape \\${e}`);
        continue;
      }
      out += c;
    }
    return fail(no, 'unterminated quoted string');
  };

  // Flow collections and scalars inside one line.
  const flow = (s: string, p: number, no: number, inFlow: boolean): [unknown, number] => {
    while (s[p] === ' ') p++;
    const c = s[p];
    if (c === '[' || c === '{') {
      const close = c === '[' ? ']' : '}';
      const arr: unknown[] = [];
      const obj: Json = {};
      p++;
      for (;;) {
        while (s[p] === ' ') p++;
        if (s[p] === close) return [c === '[' ? arr : obj, p + 1];
        if (p >= s.length) fail(no, `unterminated flow collection (multi-line ${c}...${close} is not supported)`);
        if (c === '[') {
          const [v, q] = flow(s, p, no, true);
          arr.push(v);
          p = q;
        } else {
          const [k, q] = flow(s, p, no, true);
          p = q;
          while (s[p] === ' ') p++;
          if (s[p] !== ':') fail(no, 'expected ":" in a flow mapping');
          const [v, r] = flow(s, p + 1, no, true);
          if (typeof k !== 'string' || k === '__proto__') fail(no, 'flow mapping keys must be plain strings');
          obj[k as string] = v;
          p = r;
        }
        while (s[p] === ' ') p++;
        if (p >= s.length) fail(no, `unterminated flow collection (multi-line ${c}...${close} is not supported)`);
        if (s[p] === ',') p++;
        else if (s[p] !== close) fail(no, `expected "," or "${close}"`);
      }
    }
    if (c === '"' || c === "'") return quoted(s, p, no);
    if (c !== undefined && '&*!|>@`?'.includes(c)) fail(no, `YAML feature "${c}" (anchors, aliases, tags, block scalars, complex keys)`);
    let e = p;
    while (e < s.length && !(inFlow && /[,\]}]/.test(s[e])) && !(inFlow && s[e] === ':' && (s[e + 1] === ' ' || s[e + 1] === undefined))) e++;
    return [resolvePlain(s.slice(p, e).trim()), e];
  };
  const value = (s: string, no: number): unknown => {
    const [v, p] = flow(s, 0, no, false);
    if (s.slice(p).trim() !== '') fail(no, `unexpected text after a value: ${JSON.stringify(s.slice(p))}`);
    return v;
  };
  const isItem = (t: string): boolean => t === '-' || t.startsWith('- ');
  const splitKey = (t: string, no: number): [string, string] => {
    if (t[0] === '"' || t[0] === "'") {
      const [k, p] = quoted(t, 0, no);
      if (t[p] !== ':' || (t[p + 1] !== undefined && t[p + 1] !== ' ')) fail(no, 'expected ":" after a quoted key');
      return [k, t.slice(p + 1).trim()];
    }
    const m = /^([^\s#&*!|>'"?{[\]},%@`][^#]*?):(?:\s+(.*))?$/.exec(t);
    if (!m) return fail(no, `expected "key: value", got ${JSON.stringify(t)}`);
    return [m[1].trim(), (m[2] ?? '').trim()];
  };

  let i = 0;
  const block = (indent: number): unknown => (isItem(lines[i].text) ? seq(indent) : mapping(indent));
  const seq = (indent: number): unknown[] => {
    const out: unknown[] = [];
    while (i < lines.length && lines[i].indent === indent && isItem(lines[i].text)) {
      const l = lines[i];
      const rest = l.text.slice(1);
      const body = rest.trimStart();
      const off = indent + 1 + rest.length - body.length;
      if (body === '') {
        i++;
        out.push(i < lines.length && lines[i].indent > indent ? block(lines[i].indent) : null);
      } else if (isItem(body) || /^[^\s"'[{][^#]*?:(\s|$)/.test(body)) {
        lines[i] = { indent: off, text: body, no: l.no };
        out.push(block(off));
      } else {
        i++;
        out.push(value(body, l.no));
      }
    }
    if (i < lines.length && lines[i].indent > indent) fail(lines[i].no, 'unexpected indentation');
    return out;
  };
  const mapping = (indent: number): Json => {
    const out: Json = {};
    while (i < lines.length && lines[i].indent === indent) {
      const l = lines[i];
      if (isItem(l.text)) fail(l.no, 'a list item where a mapping key was expected');
      const [key, rest] = splitKey(l.text, l.no);
      if (key === '__proto__') fail(l.no, 'key "__proto__" is not allowed');
      if (Object.prototype.hasOwnProperty.call(out, key)) fail(l.no, `duplicate key "${key}"`);
      i++;
      if (rest !== '') out[key] = value(rest, l.no);
      else if (i < lines.length && lines[i].indent > indent) out[key] = block(lines[i].indent);
      else if (i < lines.length && lines[i].indent === indent && isItem(lines[i].text)) out[key] = seq(indent);
      else out[key] = null;
    }
    if (i < lines.length && lines[i].indent > indent) fail(lines[i].no, 'unexpected indentation');
    return out;
  };

  if (lines.length === 0) return null;
  if (lines.length === 1 && !isItem(lines[0].text) && !/^[^\s"'[{][^#]*?:(\s|$)/.test(lines[0].text)) return value(lines[0].text, lines[0].no);
  const doc = block(lines[0].indent);
  if (i < lines.length) fail(lines[i].no, 'unexpected indentation');
  return doc;
}
