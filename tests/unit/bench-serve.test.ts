// The serve benchmark's pure parts: percentiles (hand-computed, numpy's linear rule), the SSE parser
// over arbitrary chunking, Prometheus samples, /proc status memory fields, the server's startup
// banner, the bench's flags (one line for each bad one), and the request bodies of each kind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile } from '../../bench/stats.js';
import { busySnapshot, parseBanner, promLabelled, promSample, requestBody, SseParser, statusMb, type LoadContext } from '../../bench/serve-client.js';
import { parseServeArgs } from '../../bench/serve.js';

test('percentile interpolates linearly between the closest ranks', () => {
  const xs = [40, 10, 30, 20]; // sorted 10 20 30 40: rank p/100 * 3
  assert.equal(percentile(xs, 0), 10);
  assert.equal(percentile(xs, 100), 40);
  assert.equal(percentile(xs, 50), 25, 'rank 1.5: halfway between 20 and 30');
  assert.equal(percentile(xs, 95), 38.5, 'rank 2.85: 30 + 0.85 * 10');
  assert.equal(percentile([7], 95), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile(xs, 101), RangeError);
  assert.deepEqual(xs, [40, 10, 30, 20], 'the sample is not reordered');
  assert.equal(median([3, 1, 2]), 2);
});

test('the SSE parser gives whole events whatever the chunking', () => {
  const text = 'event: text\ndata: {"a":1}\n\n: a comment\ndata: line1\ndata: line2\n\ndata: [DONE]\r\n\r\n';
  const whole = new SseParser().feed(text);
  assert.deepEqual(whole, [
    { event: 'text', data: '{"a":1}' },
    { event: '', data: 'line1\nline2' },
    { event: '', data: '[DONE]' },
  ]);
  const p = new SseParser();
  const bytewise = [...text].flatMap((c) => p.feed(c));
  assert.deepEqual(bytewise, whole);
  assert.deepEqual(new SseParser().feed('data: half'), [], 'an unfinished event waits for its blank line');
});

test('Prometheus samples and /proc status memory fields are read exactly', () => {
  const m = '# HELP chameleon_first_token_steps x\nchameleon_first_token_steps_bucket{le="1"} 3\nchameleon_first_token_steps_sum 5\nchameleon_first_token_steps_count 4\nchameleon_generated_tokens_total 1200\n';
  assert.equal(promSample(m, 'chameleon_first_token_steps_sum'), 5);
  assert.equal(promSample(m, 'chameleon_first_token_steps_count'), 4);
  assert.equal(promSample(m, 'chameleon_generated_tokens_total'), 1200);
  assert.equal(promSample(m, 'chameleon_first_token_steps'), null, 'a prefix of another name is not a match');
  assert.equal(promSample(m, 'missing'), null);
  const busy = 'chameleon_busy_seconds_total{part="prefill"} 1.5\nchameleon_busy_seconds_total{part="decode"} 12\nchameleon_decode_steps_total 300\nchameleon_decode_rows_total 2400\n';
  assert.equal(promLabelled(busy, 'chameleon_busy_seconds_total', 'part', 'decode'), 12);
  assert.equal(promLabelled(busy, 'chameleon_busy_seconds_total', 'part', 'encode'), null);
  assert.deepEqual(busySnapshot(busy), { seconds: { prefill: 1.5, decode: 12, sample: 0, render: 0, encode: 0 }, steps: 300, rows: 2400 });
  const st = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  307200 kB\nVmRSS:\t  204800 kB\n';
  assert.equal(statusMb(st, 'VmRSS'), 200);
  assert.equal(statusMb(st, 'VmHWM'), 300);
  assert.equal(statusMb('Name: x\n', 'VmRSS'), null);
});

test('the server banner gives its URL and backend', () => {
  assert.deepEqual(parseBanner('listening on http://127.0.0.1:40123 (OpenAI base URL http://127.0.0.1:40123/v1)'), { url: 'http://127.0.0.1:40123' });
  assert.deepEqual(parseBanner("chameleon serve: model 'tiny' from /tmp/tiny (0.1M parameters, wasm relaxed-simd, 2 threads)"), {
    description: 'wasm relaxed-simd, 2 threads',
    backend: 'wasm',
    simd: 'relaxed',
    threads: 2,
  });
  assert.deepEqual(parseBanner("chameleon serve: model 'm' from d (7.0M parameters, wasm simd128, 1 thread)").simd, 'plain');
  const js = parseBanner("chameleon serve: model 'm' from d (7.0M parameters, plain TypeScript reference kernels, 1 thread)");
  assert.equal(js.backend, 'js');
  assert.equal(js.simd, null);
  assert.deepEqual(parseBanner('warning: something'), {});
});

test('the bench flags parse, and each bad one is one line', () => {
  assert.deepEqual(parseServeArgs([]), { clients: 16, seconds: 60, maxTokens: 32, kinds: ['text', 'vision', 'draw'] });
  assert.deepEqual(parseServeArgs(['--json', '--model', 'm', '--clients=4', '--seconds', '2.5', '--threads', '2', '--max-tokens', '8', '--max-batch', '3', '--kinds', 'text,draw,text']), {
    model: 'm',
    kinds: ['text', 'draw'],
    clients: 4,
    seconds: 2.5,
    threads: 2,
    maxTokens: 8,
    maxBatch: 3,
  });
  assert.equal(parseServeArgs(['--clients', '0']), "--clients must be an integer in [1, 256], got '0'");
  assert.equal(parseServeArgs(['--clients', '1.5']), "--clients must be an integer in [1, 256], got '1.5'");
  assert.equal(parseServeArgs(['--seconds', 'abc']), "--seconds must be a number in [0.1, 86400], got 'abc'");
  assert.equal(parseServeArgs(['--model']), '--model needs a value');
  assert.equal(parseServeArgs(['--kinds', 'text,video']), "--kinds must be a comma list of text, vision, draw, got 'text,video'");
  assert.match(String(parseServeArgs(['--port', '1'])), /^unknown argument '--port' \(flags: --model, /);
});

test('each request kind has its route and body', () => {
  const ctx: LoadContext = { url: 'http://x', maxTokens: 9, imageTokens: 16, imageUrl: 'data:image/png;base64,AA==' };
  const text = requestBody('text', ctx, 5);
  assert.equal(text.path, '/v1/chat/completions');
  assert.equal(text.body.max_tokens, 9);
  assert.equal(text.body.seed, 5);
  assert.equal(text.body.stream, true);
  assert.deepEqual(text.body.stream_options, { include_usage: true });
  const vision = requestBody('vision', ctx, 1).body as { messages: { content: { type: string; image_url?: { url: string } }[] }[] };
  assert.equal(vision.messages[0].content[1].image_url?.url, ctx.imageUrl);
  const draw = requestBody('draw', ctx, 2);
  assert.equal(draw.path, '/api/generate');
  assert.deepEqual(draw.body.options, { mode: 'image', maxNewTokens: 18, previewEvery: 0, seed: 2 });
});
