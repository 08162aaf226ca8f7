// Runs the op harness: every case's gradients against float64 central finite differences, and
// every case's values and gradients on each backend (ref, wasm) against the float64 oracle.
// Finishes with a summary test that prints the counted exclusions and which kernels are native.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { backendsUnderTest, createRef64Backend, type NamedBackend } from '../helpers/backends.js';
import { CASES } from './cases.js';
import { finiteDiff, makeValues, relErr, runCase } from './harness.js';

const FD_RTOL = 1e-5;
const VALUE_TOL = 2e-5;

let oracle: Engine;
let backends: { name: string; engine: Engine; nb: NamedBackend }[] = [];

before(async () => {
  oracle = new Engine(createRef64Backend());
  backends = (await backendsUnderTest()).map((nb) => ({ name: nb.name, engine: new Engine(nb.backend), nb }));
});

after(async () => {
  for (const b of backends) {
    b.engine.dispose();
    await b.nb.backend.dispose();
  }
});

describe('gradients vs float64 central finite differences (oracle backend)', () => {
  for (const c of CASES) {
    if (c.noGradCheck) continue;
    const differentiable = c.inputs.some((s) => s.kind === 'f32' && s.grad !== false && (s.dtype ?? 'f32') === 'f32');
    if (!differentiable) continue;
    test(c.name, () => {
      const values = makeValues(c);
      const { grads } = runCase(oracle, c, values);
      const fd = finiteDiff(oracle, c, values);
      assert.ok(fd.length > 0, 'no finite-difference samples');
      for (const { input, index, numeric } of fd) {
        const g = grads[input];
        assert.ok(g, `input ${input} received no gradient`);
        const analytic = g[index];
        const err = Math.abs(analytic - numeric);
        assert.ok(err <= 1e-6 + FD_RTOL * Math.abs(numeric), `input ${input}[${index}]: analytic ${analytic} vs numeric ${numeric} (err ${err})`);
      }
    });
  }
});

describe('every op on every backend vs the float64 oracle (values and gradients)', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const values = makeValues(c);
      const want = runCase(oracle, c, values);
      const tol = c.tol ?? VALUE_TOL;
      for (const b of backends) {
        const got = runCase(b.engine, c, values);
        const ve = relErr(got.out, want.out);
        assert.ok(ve <= tol, `${b.name}: forward error ${ve.toExponential(2)} > ${tol}`);
        want.grads.forEach((wg, i) => {
          const gg = got.grads[i];
          assert.equal(gg === null, wg === null, `${b.name}: gradient presence differs for input ${i}`);
          if (wg && gg) {
            const ge = relErr(gg, wg);
            assert.ok(ge <= tol * 5, `${b.name}: gradient error ${ge.toExponential(2)} for input ${i}`);
          }
        });
      }
    });
  }
});

test('summary: counted exclusions and native kernels', () => {
  const excluded = CASES.filter((c) => c.noGradCheck);
  console.log(`op harness: ${CASES.length} cases; ${excluded.length} excluded from the finite-difference check:`);
  for (const c of excluded) console.log(`  - ${c.name}: ${c.noGradCheck}`);
  for (const b of backends) {
    const native = [...b.nb.backend.native].sort();
    console.log(`  ${b.name}: ${native.length} native kernels: ${native.join(', ')}`);
  }
  assert.equal(excluded.length, 1, 'the exclusion list changed: update this count deliberately');
});
