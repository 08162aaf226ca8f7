// The `chameleon` command as a user runs it (a child process on the compiled CLI): parity on both
// fixtures and both backends, inspect, logits, and the clear one-line errors for bad input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const CLI = 'dist/src/cli/main.js';

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

for (const variant of ['mha', 'gqa']) {
  for (const backend of ['wasm', 'ref']) {
    test(`chameleon parity ${variant} --backend ${backend}`, () => {
      const r = run(['parity', `tests/fixtures/hf-chameleon/${variant}`, '--backend', backend]);
      assert.equal(r.code, 0, r.out + r.err);
      const lines = r.out.trim().split('\n');
      const last = lines[lines.length - 1];
      const m = /^(\d+) passed, (\d+) failed$/.exec(last);
      assert.ok(m, `last line must be "N passed, N failed": ${last}`);
      assert.equal(m[2], '0');
      assert.ok(Number(m[1]) >= 20);
      assert.ok(lines.some((l) => l.includes('text/logits') && l.includes('max abs err')), 'one line per section with its max abs error');
    });
  }
}

test('chameleon parity --json prints one object per check', () => {
  const r = run(['parity', 'tests/fixtures/hf-chameleon/gqa', '--json']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  const objs = lines.slice(0, -1).map((l) => JSON.parse(l) as { section: string; pass: boolean });
  assert.ok(objs.every((o) => o.pass && typeof o.section === 'string'));
});

test('chameleon inspect prints config, parameter groups, dtypes and memory', () => {
  const r = run(['inspect', 'tests/fixtures/hf-chameleon/mha', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { config: { layers: number; heads: number }; parameters: { total: number }; dtypes: Record<string, unknown>; memory: { kvCacheBytesPerToken: number } };
  assert.equal(j.config.layers, 2);
  assert.equal(j.config.heads, 4);
  assert.ok(j.parameters.total > 0);
  assert.ok('F32' in j.dtypes);
  assert.equal(j.memory.kvCacheBytesPerToken, 2 * 2 * 4 * 16 * 4);
  const human = run(['inspect', 'tests/fixtures/hf-chameleon/mha']);
  assert.match(human.out, /parameters\s+\S+ total/);
});

test('chameleon logits --json gives one row of vocab logits per position', () => {
  const r = run(['logits', '--model', 'tests/fixtures/hf-chameleon/mha', '--ids', '0,5,9', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { logits: number[][] };
  assert.equal(j.logits.length, 3);
  assert.equal(j.logits[0].length, 512);
});

test('bad input gets one clear line and exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['logits', '--model', 'tests/fixtures/hf-chameleon/mha', '--ids', '0,5,9999'], /9999 is outside the vocabulary/],
    [['logits', '--model', 'tests/fixtures/hf-chameleon/mha', '--ids', '0,x'], /--ids must be comma-separated/],
    [['parity', 'tests/fixtures'], /no expected\.json/],
    [['inspect', 'tests'], /no config\.json/],
    [['parity', 'tests/fixtures/hf-chameleon/mha', '--backend', 'gpu'], /--backend must be wasm or ref, got 'gpu'/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.ok(!/\n\s+at /.test(r.err), 'no stack trace for user errors');
  }
});
