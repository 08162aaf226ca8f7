// `npm run bench -- serve` on a random-weight tiny model: the child server answers each request
// kind (text chat, chat about an image, an image drawn) with tokens and no error, confirms a forced
// GC, reports its RSS; a short whole run prints its three JSON rows with no errors and a
// mid-image join within 2 decode steps; bad flags and a missing model are one line and exit 2.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { KINDS, runRequest, ServerProcess } from '../../bench/serve-client.js';

const BENCH = 'dist/bench/main.js';
const dir = mkdtempSync(join(tmpdir(), 'bench-serve-'));
const engine = new Engine(createRefBackend());
const model = join(dir, 'model');
writeTinyModel(engine, model);
engine.dispose();
after(() => rmSync(dir, { recursive: true, force: true }));
const linux = process.platform === 'linux';

test('the child server answers every request kind, confirms a forced GC and reports its RSS', async () => {
  const server = await ServerProcess.start({ model, maxBatch: 4, maxQueue: 4, threads: 1 });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.banner.backend, 'wasm');
    assert.equal(server.banner.threads, 1);
    const ctx = { url: server.url, maxTokens: 6, imageTokens: 16, imageUrl: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==' };
    for (const [i, kind] of KINDS.entries()) {
      const r = await runRequest(kind, ctx, i + 1);
      assert.equal(r.error, null, `${kind}: ${r.error}`);
      assert.ok(r.tokens >= 1 && (kind !== 'draw' || r.tokens === 18), `${kind}: ${r.tokens} tokens (an image is BOI + 16 codes + EOI)`);
      assert.ok(r.ttftMs !== null && r.ttftMs <= r.ms);
    }
    const bad = await runRequest('text', { ...ctx, maxTokens: 1_000_000 }, 1);
    assert.match(bad.error ?? '', /^HTTP 400: /, 'an HTTP error is the request\'s error');
    const heap = await server.settle(0);
    assert.ok(heap !== null && heap > 1 && heap < 1024, `the GC hook answered with the V8 heap in use (${heap} MiB)`);
    const mem = server.memory();
    if (linux) assert.ok(mem.rssMb! > 10 && mem.peakMb! >= mem.rssMb!, JSON.stringify(mem));
    else assert.deepEqual(mem, { rssMb: null, peakMb: null });
  } finally {
    await server.stop();
  }
});

test('a short run prints its three rows: no errors, a mid-image request joins within 2 steps', () => {
  const r = spawnSync(process.execPath, [BENCH, 'serve', '--json', '--model', model, '--seconds', '0.3', '--clients', '3', '--threads', '1', '--max-tokens', '6'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(rows.map((x) => [x.kind, x.phase, x.clients]), [['serve', 'single', 1], ['serve', 'concurrent', 3], ['serve', 'join', 2]]);
  const [one, many, join] = rows;
  for (const x of [one, many]) {
    assert.equal(x.errors, 0);
    assert.ok(Number(x.tokens_per_s) > 0 && Number(x.ttft_p95_ms) >= Number(x.ttft_p50_ms));
    assert.equal(x.backend, 'wasm');
    assert.equal(typeof x.cpu, 'string');
  }
  assert.ok(Number(one.requests) >= 6, 'two rounds of the three kinds');
  assert.ok(Number(many.requests) >= 3, 'every client ran a request');
  assert.equal(many.max_batch, 3);
  assert.equal(many.vs_single, Number((Number(many.tokens_per_s) / Number(one.tokens_per_s)).toFixed(2)));
  assert.ok(Number(many.heap_before_mb) > 0 && Number(many.heap_after_mb) > 0, 'both forced GCs were confirmed');
  if (linux) assert.ok(Number(many.rss_before_mb) > 0 && Number(many.rss_after_mb) > 0 && Number(many.rss_peak_mb) >= Number(many.rss_after_mb));
  assert.equal(join.error, null);
  assert.ok(join.join_steps === 1 || join.join_steps === 2, `join_steps ${join.join_steps}`);
  assert.equal(typeof join.first_still_drawing, 'boolean');
});

test('bad flags and a missing model are one line and exit 2', () => {
  for (const [args, msg] of [
    [['--clients', '0'], /^serve bench: --clients must be an integer in \[1, 256\], got '0'\n$/],
    [['--model', join(dir, 'nope')], /^serve bench: no model at .*nope \(pass --model DIR, e\.g\. one from \.\/chameleon init-tiny DIR\)\n$/],
    [['--bogus'], /^serve bench: unknown argument '--bogus'/],
  ] as const) {
    const r = spawnSync(process.execPath, [BENCH, 'serve', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, String(args));
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(r.stdout, '');
  }
});
