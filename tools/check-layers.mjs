#!/usr/bin/env node
// Import-boundary check: each src/ layer imports only from layers before it, and browser-safe
// layers import no Node built-ins except in platform adapter files named *.node.ts.
// Layers: util → engine → io → nn → tokenizers → model → generate/train → eval → server → cli.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ORDER = ['util', 'engine', 'io', 'nn', 'tokenizers', 'model', 'generate', 'train', 'eval', 'server', 'cli'];
const RANK = { util: 0, engine: 1, io: 2, nn: 3, tokenizers: 4, model: 5, generate: 6, train: 6, eval: 7, server: 8, cli: 9 };
const BROWSER_SAFE = new Set(['util', 'engine', 'io', 'nn', 'tokenizers', 'model', 'generate']);
const NODE_BUILTINS = new Set(['fs', 'path', 'os', 'worker_threads', 'child_process', 'v8', 'url', 'crypto', 'http', 'https', 'net', 'stream', 'zlib', 'util', 'events', 'buffer', 'process', 'readline']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const root = resolve('src');
const problems = [];
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
for (const file of walk(root, [])) {
  const rel = relative(root, file);
  const layer = rel.split(/[\\/]/)[0];
  if (!(layer in RANK)) {
    if (rel.includes('/') ) problems.push(`${rel}: folder '${layer}' is not a known layer (${ORDER.join(', ')})`);
    continue;
  }
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith('.')) {
      const target = relative(root, resolve(dirname(file), spec));
      const tl = target.split(/[\\/]/)[0];
      if (tl in RANK && RANK[tl] > RANK[layer]) problems.push(`${rel}: layer '${layer}' imports '${spec}' from later layer '${tl}'`);
    } else {
      const bare = spec.replace(/^node:/, '').split('/')[0];
      const isNode = spec.startsWith('node:') || NODE_BUILTINS.has(bare);
      if (isNode && BROWSER_SAFE.has(layer) && !file.endsWith('.node.ts')) {
        problems.push(`${rel}: browser-safe layer '${layer}' imports Node built-in '${spec}' (move it to a *.node.ts adapter)`);
      }
    }
  }
}
if (problems.length) {
  console.error(`check-layers: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('check-layers: ok');
