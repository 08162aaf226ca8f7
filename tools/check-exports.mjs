#!/usr/bin/env node
// Dead-export check: every exported value of a module under src/ must be imported by another file
// of src/, tests/ or bench/ (uses by tests and benches count), directly or through a re-export that
// is itself used; an exported type may instead be named in its own module (it is part of that API).
// Parses with the TypeScript compiler (syntax only, no type check): about a second.
// The public entry (src/engine/index.ts) counts as a use of everything it re-exports.
// Usage: node tools/check-exports.mjs [folder ...] (default src; exit 1, one line per dead export).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Modules that are the package's public API: their exports count as used. */
const PUBLIC_ENTRIES = ['src/engine/index.ts'];

/** Folders whose modules are checked (all files are scanned for imports either way); default src/. */
const scopes = (process.argv.length > 2 ? process.argv.slice(2) : ['src']).map((d) => d.replace(/\/+$/, '') + '/');

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = ['src', 'tests', 'bench'].filter((d) => existsSync(join(root, d))).flatMap((d) => walk(join(root, d), []));
const rel = (f) => relative(root, f).split('\\').join('/');

function resolveSpec(from, spec) {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) if (existsSync(c)) return c;
  return null;
}

const isType = (node) => ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || (ts.isExportSpecifier(node) && (node.isTypeOnly || node.parent.parent.isTypeOnly));
const hasExport = (node) => (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export) !== 0;

/** Per file: declared exports (name -> local use count), re-export edges, and the imports it makes. */
const mods = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const sf = ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true);
  const m = { exports: new Map(), edges: [], starEdges: [], imports: [] };
  mods.set(f, m);
  const declare = (name, node) => m.exports.set(name, node);
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const target = resolveSpec(f, st.moduleSpecifier.text);
      const cl = st.importClause;
      if (!target || !cl) continue;
      if (cl.name) m.imports.push([target, 'default']);
      const nb = cl.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) m.imports.push([target, '*']);
      else if (nb) for (const el of nb.elements) m.imports.push([target, (el.propertyName ?? el.name).text]);
    } else if (ts.isExportDeclaration(st)) {
      const target = st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? resolveSpec(f, st.moduleSpecifier.text) : null;
      if (!st.exportClause) {
        if (target) m.starEdges.push(target); // export * from
      } else if (ts.isNamespaceExport(st.exportClause)) {
        declare(st.exportClause.name.text, st);
        if (target) m.edges.push([st.exportClause.name.text, target, '*']);
      } else {
        for (const el of st.exportClause.elements) {
          declare(el.name.text, el);
          if (target) m.edges.push([el.name.text, target, (el.propertyName ?? el.name).text]);
        }
      }
    } else if (hasExport(st)) {
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) declare(d.name.text, d);
      } else if (st.name && ts.isIdentifier(st.name)) {
        declare(st.name.text, st);
      }
    }
  }
  // Dynamic imports with a literal path use the whole module.
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      const target = resolveSpec(f, node.arguments[0].text);
      if (target) m.imports.push([target, '*']);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  m.text = text;
}

/** Names a module exports, including through `export *` (transitively). */
function exportNames(f, seen = new Set()) {
  const m = mods.get(f);
  if (!m || seen.has(f)) return new Set();
  seen.add(f);
  const names = new Set(m.exports.keys());
  for (const t of m.starEdges) for (const n of exportNames(t, seen)) if (n !== 'default') names.add(n);
  return names;
}

const used = new Set(); // "file\0name"
const queue = [];
const use = (f, name) => {
  if (!mods.has(f)) return;
  if (name === '*') {
    for (const n of exportNames(f)) use(f, n);
    return;
  }
  const key = `${f}\0${name}`;
  if (used.has(key)) return;
  used.add(key);
  queue.push([f, name]);
};
for (const [, m] of mods) for (const [t, n] of m.imports) use(t, n);
// The package's documented entry points (README "Using the engine"): everything they export is API.
for (const entry of PUBLIC_ENTRIES) use(join(root, entry), '*');
while (queue.length > 0) {
  const [f, name] = queue.pop();
  const m = mods.get(f);
  for (const [n, t, tn] of m.edges) if (n === name) use(t, tn);
  if (!m.exports.has(name)) for (const t of m.starEdges) if (exportNames(t).has(name)) use(t, name);
}

const problems = [];
for (const [f, m] of mods) {
  const r = rel(f);
  if (!r.startsWith('src/') || !scopes.some((d) => r.startsWith(d))) continue;
  for (const [name, node] of m.exports) {
    if (used.has(`${f}\0${name}`)) continue;
    const local = (m.text.match(new RegExp(`\\b${name}\\b`, 'g')) ?? []).length > 1;
    // A type named in its own module's signatures is part of that API: exporting it is right.
    if (local && isType(node)) continue;
    const line = ts.getLineAndCharacterOfPosition(node.getSourceFile(), node.getStart()).line + 1;
    problems.push(`${r}:${line}: export '${name}' is never imported${local ? ' (used only in its own file: drop `export`)' : ''}`);
  }
}
if (problems.length > 0) {
  for (const p of problems.sort()) console.error(p);
  console.error(`check-exports: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-exports: ok (${scopes.join(', ')}; ${files.length} files scanned)`);
