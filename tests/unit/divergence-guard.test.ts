// The LM trainer's divergence guard: non-finite values trip at once; a loss above factor × the
// running median trips only after `patience` spiking steps in a row (one hard batch is reported as
// a spike and applied), a normal step between spikes resets the count, and restore() resets it too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DivergenceGuard } from '../../src/train/lm/schedule.js';

/** check then push, as the trainer does for an applied step; returns the verdict's reason or 'spike' / 'ok'. */
function step(g: DivergenceGuard, loss: number): string {
  const v = g.check(loss, 1);
  if (v) return v.reason;
  const r = g.spike ? 'spike' : 'ok';
  g.push(loss);
  return r;
}

test('a lone spike is reported and applied; three in a row trip; an ordinary step resets the streak', () => {
  const g = new DivergenceGuard(2, 8, 3);
  for (let i = 0; i < 8; i++) assert.equal(step(g, 1 + (i % 2) * 0.1), 'ok'); // median 1.05
  assert.equal(g.median(), 1.05);
  assert.equal(step(g, 2.2), 'spike', '2.2 > 2 × 1.05');
  assert.match(g.spike ?? '', /1 of 3 in a row/);
  assert.equal(step(g, 1.0), 'ok');
  assert.equal(g.spike, null);
  assert.equal(step(g, 2.5), 'spike');
  assert.equal(step(g, 2.5), 'spike');
  const third = step(g, 2.5);
  assert.match(third, /^loss spike: 2\.5000 > 2 × running median .* 3 steps in a row$/);
  // The tripping step was not pushed: a restore (rollback) starts a new streak.
  g.restore([1, 1, 1, 1, 1, 1, 1, 1]);
  assert.equal(step(g, 2.5), 'spike');
  assert.equal(step(g, 2.5), 'spike');
});

test('patience 1 trips on the first spike; NaN and Inf trip at once whatever the patience', () => {
  const one = new DivergenceGuard(2, 8);
  for (let i = 0; i < 8; i++) step(one, 1);
  assert.match(step(one, 2.01), /^loss spike: 2\.0100 > 2 × running median 1\.0000 of the last 8 steps$/);
  const g = new DivergenceGuard(2, 8, 5);
  assert.equal(g.check(Number.NaN, 1)?.reason, 'loss is NaN');
  assert.equal(g.check(1, Number.POSITIVE_INFINITY)?.reason, 'gradient norm is Infinity (loss 1)');
  // Fewer than 8 losses: no median yet, so no spike.
  assert.equal(step(g, 1), 'ok');
  assert.equal(step(g, 100), 'ok');
});
