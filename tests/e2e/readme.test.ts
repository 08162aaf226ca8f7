// The README's example commands, run as written: every `./chameleon …` span in the "What you can do"
// table, top to bottom, in a scratch directory that sees the checkout's tests/ and README.md (so the
// README and the CLI cannot drift apart), plus the ./chameleon shim itself.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve('.');
const CLI = join(REPO, 'dist/src/cli/main.js');
let cwd = '';

/** Splits a command line into words, honouring "double" and 'single' quotes (no other shell syntax). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** The `./chameleon …` code spans of the README's command table, in order. */
function readmeCommands(): string[] {
  const md = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = md.slice(md.indexOf('## What you can do'), md.indexOf('## Benchmarks'));
  const rows = section.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('|---'));
  return rows.flatMap((r) => [...r.matchAll(/`(\.\/chameleon [^`]+)`/g)].map((m) => m[1]));
}

before(() => {
  cwd = mkdtempSync(join(tmpdir(), 'cham-readme-'));
  symlinkSync(join(REPO, 'tests'), join(cwd, 'tests'));
  symlinkSync(join(REPO, 'README.md'), join(cwd, 'README.md'));
});

after(() => rmSync(cwd, { recursive: true, force: true }));

test('every runnable README example command exits 0 with no stack trace; only convert needs outside files', () => {
  const cmds = readmeCommands();
  assert.ok(cmds.length >= 10, `found ${cmds.length} commands in the README table`);
  assert.ok(cmds[0].startsWith('./chameleon init-tiny'), 'the table starts by making the tiny model');
  const placeholders = cmds.filter((c) => /<[a-z-]+-dir>/.test(c));
  assert.deepEqual(placeholders.map((c) => words(c)[1]), ['convert'], 'only convert needs a download');
  for (const c of cmds.filter((x) => !placeholders.includes(x))) {
    const args = words(c).slice(1);
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${c}\n${r.stderr}`);
    assert.ok(!/\n\s+at /.test(r.stderr), `${c}: stack trace on stderr`);
    assert.ok(r.stdout.length > 0, `${c}: printed nothing`);
  }
  // What the examples promised to leave behind.
  for (const f of ['tiny/tokenizer.json', 'tiny/vq_decoder.safetensors', 'outputs/drawn/image-1.png', 'outputs/chat/index.html', 'decoded.png', 'my-tokenizer/tokenizer.json', 'vq-run/model.safetensors', 'data/index.json', 'train-run/plots.html', 'trained/tokenizer.json', 'lab/report.md', 'lora-run/checkpoints/step-00000004/adapter_model.safetensors', 'assembled/config.json', 'world-shapes/manifest.json', 'world-emoji/manifest.json', 'demo-model/README.md']) {
    assert.ok(existsSync(join(cwd, f)), `${f} exists`);
  }
});

test('the ./chameleon shim runs the built CLI', () => {
  const r = spawnSync(join(REPO, 'chameleon'), ['--version'], { cwd, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
});
