// A bf16 checkpoint through the CLI: `generate --kv-dtype auto` loads its matrices as bf16 and so
// picks a bf16 KV cache; `logits` runs on the bf16 weights and agrees with the f32-widened model
// (same weights, different summation order in the bf16 kernel, so close rather than bit-equal).

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { loadChameleon } from '../../src/model/checkpoint.node.js';
import { makeTinyBundle } from '../helpers/tiny-bundle.js';

let root = '';
let model = '';

before(() => {
  root = mkdtempSync(join(tmpdir(), 'cham-bf16-'));
  model = join(root, 'model');
  makeTinyBundle(model, 2, 'bf16');
});

after(() => rmSync(root, { recursive: true, force: true }));

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('generate --kv-dtype auto picks a bf16 KV cache for a bf16 checkpoint', () => {
  const r = cli(['generate', '--model', model, 'hello', '--mode', 'text', '--max-new-tokens', '6', '--json', '--out', join(root, 'g')]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { kvDtype: string };
  assert.equal(j.kvDtype, 'bf16');
});

test('logits on bf16 weights match the f32-widened model closely', () => {
  const ids = [1, 7, 30, 2, 99];
  const r = cli(['logits', '--model', model, '--ids', ids.join(','), '--json']);
  assert.equal(r.code, 0, r.err);
  const got = (JSON.parse(r.out) as { logits: number[][] }).logits;
  const e = new Engine(createRefBackend());
  try {
    const m = loadChameleon(e, model, { weights: 'f32' });
    const want = e.noGrad(() => m.forward({ ids: e.ids(ids, [1, ids.length]) }).logits.toArray());
    let maxErr = 0;
    got.flat().forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - want[i]))));
    assert.equal(got.flat().length, want.length);
    assert.ok(maxErr < 1e-4, `max abs err ${maxErr}`);
  } finally {
    e.dispose();
  }
});
