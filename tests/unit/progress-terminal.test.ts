// The progress bar's output with and without a TTY (never the same line twice in a log, rate from
// the given clock) and terminalSafe (control characters become visible escapes, text stays).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar } from '../../src/util/progress.js';
import { hasUnsafeControls, terminalSafe } from '../../src/util/terminal.js';

function sink(isTTY: boolean): { writes: string[]; stream: { isTTY: boolean; write: (s: string) => boolean } } {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) > 0 } };
}

test('without a TTY: a start line, the final line once, nothing repeated', () => {
  let t = 0;
  const { writes, stream } = sink(false);
  const bar = new ProgressBar({ total: 16, label: 'image 1', unit: 'tok', stream, now: () => t });
  bar.tick(0);
  t = 100;
  bar.tick(8); // within the 5 s interval: not logged
  t = 200;
  bar.tick(8); // done: logged
  bar.finish(); // same state: not logged again
  assert.equal(writes.length, 2, writes.join(''));
  assert.equal(new Set(writes).size, writes.length);
  assert.match(writes[1], /^image 1 █+ 100% 16\/16 80\.0 tok\/s/);
  assert.ok(writes.every((w) => w.endsWith('\n')));
});

test('on a TTY: redraws in place and ends with one newline', () => {
  let t = 0;
  const { writes, stream } = sink(true);
  const bar = new ProgressBar({ total: 4, stream, now: () => t });
  for (let i = 0; i < 4; i++) {
    t += 1000;
    bar.tick();
  }
  bar.finish();
  assert.ok(writes.slice(0, -1).every((w) => w.startsWith('\r\x1b[2K')));
  assert.equal(writes[writes.length - 1], '\n');
  assert.equal(bar.rate(), 1, 'rate from the injected clock: 4 units in 4 s');
});

test('terminalSafe escapes C0/C1 controls, DEL and bidi overrides, keeps newlines, tabs and text', () => {
  assert.equal(terminalSafe('a\x1b[31mred\x00\x07'), 'a\\x1b[31mred\\x00\\x07');
  assert.equal(terminalSafe('line\r\nnext\ttab'), 'line\\r\nnext\ttab');
  assert.equal(terminalSafe('x\x7fy\x9bz'), 'x\\x7fy\\x9bz');
  assert.equal(terminalSafe('abc\u202eevil'), 'abc\\u202eevil');
  assert.equal(terminalSafe('héllo wörld ✓ 你好'), 'héllo wörld ✓ 你好');
  assert.ok(hasUnsafeControls('\x1b'));
  assert.ok(!hasUnsafeControls('plain\n'));
});
