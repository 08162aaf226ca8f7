// Parity of the Chameleon language model with Hugging Face transformers on the reference fixtures
// (tests/fixtures/hf-chameleon/{mha,gqa}): every text, greedy, KV-cache and left-padded-batch check
// of expected.json, on the ref and wasm backends. The image sections are in vqgan/parity tests.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { loadChameleon } from '../../src/model/checkpoint.node.js';
import { runParity, summaryLine } from '../../src/eval/parity.js';
import { backendsUnderTest, type NamedBackend } from '../helpers/backends.js';

const FIXTURES = ['mha', 'gqa'].map((v) => `tests/fixtures/hf-chameleon/${v}`);
let backends: NamedBackend[] = [];

before(async () => {
  backends = await backendsUnderTest();
});
after(async () => {
  for (const b of backends) await b.backend.dispose();
});

describe('HF parity of the language model', () => {
  for (const dir of FIXTURES) {
    test(dir, () => {
      const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8'));
      for (const b of backends) {
        const e = new Engine(b.backend);
        try {
          const model = loadChameleon(e, dir);
          const checks = runParity(model, expected);
          const failed = checks.filter((c) => !c.pass);
          assert.ok(checks.length >= 20, `only ${checks.length} checks ran`);
          assert.deepEqual(
            failed.map((c) => `${c.section}/${c.name}: ${c.maxAbsErr ?? ''} ${c.detail ?? ''}`),
            [],
            `${b.name}: ${summaryLine(checks)}`,
          );
        } finally {
          e.dispose();
        }
      }
    });
  }
});
