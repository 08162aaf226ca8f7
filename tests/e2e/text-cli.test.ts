// `chameleon train tokenizer` and `chameleon tokenize` as a user runs them: train on a small corpus,
// tokenize with the result (special-looking text stays plain), and clear errors for bad input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('train tokenizer then tokenize round-trips text and keeps "<s>" typed by a user as plain text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cham-tok-'));
  try {
    writeFileSync(join(dir, 'corpus.txt'), 'the red circle is left of the blue square.\n\nwhat colour is the star? the star is yellow.\n');
    const t = run(['train', 'tokenizer', '--corpus', join(dir, 'corpus.txt'), '--vocab-size', '400', '--codebook-size', '64', '--min-frequency', '1', '--out', join(dir, 'tok')]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /64 image codes, text from id 72/);
    const r = run(['tokenize', '--model', join(dir, 'tok', 'tokenizer.json'), 'the star <s> is red', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { ids: number[]; decoded: string };
    assert.equal(j.decoded, 'the star <s> is red');
    assert.ok(!j.ids.includes(0), 'user text never becomes the BOS id');
    const bad = run(['train', 'tokenizer', '--corpus', join(dir, 'missing.txt'), '--vocab-size', '400', '--codebook-size', '64', '--out', join(dir, 'x')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /missing\.txt: no such file/);
    const none = run(['tokenize', '--model', dir, 'hi']);
    assert.equal(none.code, 2);
    assert.match(none.err, /no tokenizer\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
