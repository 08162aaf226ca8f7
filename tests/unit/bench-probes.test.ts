// The read-bandwidth probe kernels behind the benchmarks' roofline (kernels/probes.ts): for every
// stream count, bandwidth_streams (and the older bandwidth_sum) must read each line of its range
// exactly once, equal parts and leftover lines alike, so the GB/s they report are bytes really read.
// Lines carry distinct small integers, so the f32 sums are exact.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmBackend, type WasmBackend } from '../../src/engine/backends/wasm/backend.node.js';

let be: WasmBackend;
before(async () => {
  be = await createWasmBackend({ threads: 2 });
});
after(async () => {
  await be.dispose();
});

/** Lines (16 f32 each) valued line % 7 + 1, plus 4 guard lines valued 1000 after them. */
function lineRegion(lines: number): { p: number; sumAt: (participant: number) => number; expect: (from: number, to: number) => number } {
  const r = be.reserve((lines + 4) * 64);
  const f = new Float32Array(r.buffer, r.byteOffset, (lines + 4) * 16);
  for (let i = 0; i < lines + 4; i++) f.fill(i < lines ? (i % 7) + 1 : 1000, i * 16, i * 16 + 16);
  const expect = (from: number, to: number): number => {
    let s = 0;
    for (let i = from; i < to; i++) s += 16 * ((i % 7) + 1);
    return s;
  };
  // Each participant stores its range's sum at its scratch (below the heap, so inside r.buffer).
  const sumAt = (participant: number): number => new Float32Array(r.buffer, be.scratchAddress(participant), 1)[0];
  return { p: r.byteOffset, sumAt, expect };
}

test('bandwidth_streams reads every line of its range once for 1, 2, 4 and 8 streams (odd sizes, tails)', () => {
  for (const lines of [1, 3, 17, 1000, 1027, 4099]) {
    const { p, sumAt, expect } = lineRegion(lines);
    for (const s of [1, 2, 4, 8]) {
      be.runExport('bandwidth_streams', [p, s], lines, 1, false);
      assert.equal(sumAt(0), expect(0, lines), `${lines} lines, ${s} streams, one range`);
      // Two static ranges: the second starts mid-region (start > 0), each participant stores its sum.
      be.runExport('bandwidth_streams', [p, s], lines, 1, true);
      if (lines > 1) assert.equal(sumAt(0) + sumAt(1), expect(0, lines), `${lines} lines, ${s} streams, two ranges`);
    }
  }
});

test('bandwidth_sum reads every line of its range once', () => {
  for (const lines of [5, 1000, 4099]) {
    const { p, sumAt, expect } = lineRegion(lines);
    be.runExport('bandwidth_sum', [p], lines, 1, false);
    assert.equal(sumAt(0), expect(0, lines), `${lines} lines`);
  }
});
