// The server's pure parts: stop sequences over streamed text (held-back tails, the earliest match),
// strict base64 and data URLs, the Prometheus text of the metrics (a histogram and the tokens/s
// window pinned to hand-computed values), OpenAI parameters -> library options, and the mapping of
// thrown errors to OpenAI's error shape.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChameleonError } from '../../src/util/errors.js';
import { GenerateOptionError } from '../../src/generate/options.js';
import { StopMatcher } from '../../src/server/stop.js';
import { decodeBase64, parseDataUrl } from '../../src/server/inputs.js';
import { Histogram, ServerMetrics } from '../../src/server/metrics.js';
import { chatOptions, chatSchema, imageOptions, imagesSchema, modeOf, parseParams, seed32 } from '../../src/server/params.js';
import { ApiError, toApiError } from '../../src/server/errors.js';

function feed(m: StopMatcher, deltas: string[]): string[] {
  return [...deltas.map((d) => m.push(d)), m.flush()];
}

test('stop sequences: text before the earliest match goes out, a tail that may start one is held', () => {
  assert.deepEqual(feed(new StopMatcher(['END']), ['hello E', 'N', 'D and more']), ['hello ', '', '', '']);
  assert.deepEqual(feed(new StopMatcher(['END']), ['hello E', 'x']), ['hello ', 'Ex', ''], 'a false start is released');
  assert.deepEqual(feed(new StopMatcher(['bc', 'abcd']), ['xab', 'cd']), ['x', 'a', ''], 'the match that completes first wins (bc ends at 4, abcd at 5)');
  const m = new StopMatcher(['\n\n']);
  assert.deepEqual(feed(m, ['one\n', 'two']), ['one', '\ntwo', '']);
  assert.equal(m.stopped, false);
  const none = new StopMatcher([]);
  assert.deepEqual(feed(none, ['a', 'b']), ['a', 'b', '']);
  const s = new StopMatcher(['x']);
  s.push('aaxbb');
  assert.equal(s.stopped, true);
  assert.equal(s.push('more'), '', 'nothing after the stop');
});

test('base64 is strict and data URLs must be base64 images', () => {
  assert.deepEqual([...decodeBase64('AQID', 'p')], [1, 2, 3]);
  assert.deepEqual([...decodeBase64('AQI=', 'p')], [1, 2]);
  assert.deepEqual([...decodeBase64('AQ', 'p')], [1], 'unpadded is accepted');
  for (const bad of ['', 'A', 'AQ=D', 'AQ I', 'A-_B', 'AQI==', '!!!!', 'AQIDB===']) {
    assert.throws(() => decodeBase64(bad, 'messages[0].content[1].image_url.url'), (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === 'invalid_base64' && e.param === 'messages[0].content[1].image_url.url', bad);
  }
  assert.deepEqual([...parseDataUrl('data:image/png;base64,AQID', 'u')], [1, 2, 3]);
  assert.deepEqual([...parseDataUrl('data:;base64,AQID', 'u')], [1, 2, 3], 'no media type: sniffed later');
  const code = (url: string): string | null => {
    try {
      parseDataUrl(url, 'u');
      return null;
    } catch (e) {
      return (e as ApiError).code;
    }
  };
  assert.equal(code('data:text/plain;base64,AQID'), 'invalid_image_url');
  assert.equal(code('data:image/png,rawbytes'), 'invalid_image_url');
  assert.equal(code('data:image/png;base64'), 'invalid_image_url');
  assert.equal(code('data:image/png;base64,@@@@'), 'invalid_base64');
});

test('a histogram is cumulative; the metrics text pins its values', () => {
  const h = new Histogram([0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 2]) h.observe(v);
  assert.deepEqual(h.lines('x'), ['x_bucket{le="0.1"} 2', 'x_bucket{le="1"} 3', 'x_bucket{le="+Inf"} 4', 'x_sum 2.65', 'x_count 4']);
  const m = new ServerMetrics(10_000);
  m.step(50, 0);
  m.step(30, 4_000);
  assert.equal(m.tokensPerSecond(9_000), 8, '(50 + 30) / 10 s');
  assert.equal(m.tokensPerSecond(12_000), 3, 'the step at 0 ms left the window');
  m.request('/v1/chat/completions', 200);
  m.request('/v1/chat/completions', 200);
  m.request('/v1/chat/completions', 429);
  m.finish('eos');
  m.ttft.observe(0.02);
  m.firstTokenSteps.observe(1);
  m.firstTokenSteps.observe(3);
  m.busyMs.decode += 1500;
  m.busyMs.prefill += 250;
  m.decodeRows += 7;
  const text = m.text({ queueDepth: 3, runningRequests: 2, activeRows: 4, encodeMs: 125 }, 12_000);
  for (const line of [
    'chameleon_queue_depth 3',
    'chameleon_running_requests 2',
    'chameleon_active_rows 4',
    'chameleon_decode_steps_total 2',
    'chameleon_generated_tokens_total 80',
    'chameleon_tokens_per_second 3',
    'chameleon_time_to_first_token_seconds_bucket{le="0.01"} 0',
    'chameleon_time_to_first_token_seconds_bucket{le="0.025"} 1',
    'chameleon_time_to_first_token_seconds_count 1',
    'chameleon_requests_total{route="/v1/chat/completions",status="200"} 2',
    'chameleon_requests_total{route="/v1/chat/completions",status="429"} 1',
    'chameleon_generation_finished_total{reason="eos"} 1',
    '# TYPE chameleon_time_to_first_token_seconds histogram',
    '# TYPE chameleon_first_token_steps histogram',
    'chameleon_first_token_steps_bucket{le="1"} 1',
    'chameleon_first_token_steps_bucket{le="2"} 1',
    'chameleon_first_token_steps_bucket{le="3"} 2',
    'chameleon_first_token_steps_sum 4',
    'chameleon_first_token_steps_count 2',
    'chameleon_busy_seconds_total{part="decode"} 1.5',
    'chameleon_busy_seconds_total{part="prefill"} 0.25',
    'chameleon_busy_seconds_total{part="sample"} 0',
    'chameleon_busy_seconds_total{part="encode"} 0.125',
    'chameleon_decode_rows_total 7',
  ]) {
    assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  }
  assert.ok(text.endsWith('\n'));
  assert.ok(!text.includes('chameleon_backend_'), 'no backend gauges when the backend gives none');
  const withMemory = m.text({ queueDepth: 0, runningRequests: 0, activeRows: 0, backendReservedBytes: 1_000, backendMemoryBytes: 65_536 }, 12_000).split('\n');
  assert.ok(withMemory.includes('chameleon_backend_reserved_bytes 1000'));
  assert.ok(withMemory.includes('chameleon_backend_memory_bytes 65536'));
  assert.ok(withMemory.includes('# TYPE chameleon_backend_memory_bytes gauge'));
});

test('OpenAI parameters become library options; bad ones are 400s naming the field', () => {
  assert.equal(modeOf(undefined), 'interleaved');
  assert.equal(modeOf(['text']), 'text');
  assert.equal(modeOf(['image']), 'image');
  assert.equal(modeOf(['image', 'text']), 'interleaved');
  assert.equal(seed32(-1), 2 ** 32 - 1);
  assert.equal(seed32(2 ** 32 + 5), 5);
  const p = parseParams(chatSchema, { messages: [], temperature: 0, top_p: 0.5, frequency_penalty: 0.3, modalities: ['text'] });
  const o = chatOptions(p, 17, 9);
  assert.equal(o.mode, 'text');
  assert.equal(o.maxNewTokens, 17);
  assert.equal(o.seed, 9);
  assert.equal(o.text.greedy, true, 'temperature 0 = greedy');
  assert.equal(o.image.greedy, true);
  assert.equal(o.text.topP, 0.5);
  assert.equal(o.previewEvery, 0);
  const warm = chatOptions(parseParams(chatSchema, { messages: [], temperature: 1.3, image_temperature: 0.4, guidance_text: 2 }), 5, 0);
  assert.equal(warm.text.temperature, 1.3);
  assert.equal(warm.image.temperature, 0.4);
  assert.equal(warm.image.guidanceText, 2);
  const img = imageOptions(parseParams(imagesSchema, { prompt: 'x', negative_prompt: 'blur', guidance_image: 1.5 }), 64, 3);
  assert.deepEqual([img.mode, img.maxNewTokens, img.maxImages, img.image.cfg, img.image.guidanceImage], ['image', 66, 1, '2way', 1.5]);
  const refused = (body: unknown): ApiError => {
    try {
      parseParams(chatSchema, body);
    } catch (e) {
      return e as ApiError;
    }
    throw new Error('accepted');
  };
  assert.deepEqual([refused({ messages: [], temperature: 3 }).param, refused({ messages: [], temperature: 3 }).message], ['temperature', 'temperature must be <= 2']);
  assert.equal(refused({ messages: [], n: 1.5 }).message, 'n must be an integer');
  assert.equal(refused({ messages: [], stop: ['a', 'b', 'c', 'd', 'e'] }).param, 'stop');
  assert.equal(refused({ messages: [], modalities: ['audio'] }).param, 'modalities[0]');
  assert.equal(refused([1, 2]).code, 'invalid_json', 'an array body');
});

test('thrown errors map to OpenAI error bodies and statuses', () => {
  const body = (e: unknown): [number, string | null, string] => {
    const a = toApiError(e);
    return [a.status, a.code, a.body().error.type];
  };
  assert.deepEqual(body(Object.assign(new Error('Body cannot be empty'), { code: 'FST_ERR_CTP_EMPTY_JSON_BODY', statusCode: 400 })), [400, 'invalid_json', 'invalid_request_error']);
  assert.deepEqual(body(Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })), [413, 'body_too_large', 'invalid_request_error']);
  assert.deepEqual(body(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 })), [415, 'unsupported_media_type', 'invalid_request_error']);
  assert.deepEqual(body(new ChameleonError('prompt too long')), [400, null, 'invalid_request_error']);
  assert.equal(toApiError(new GenerateOptionError('text.topK', 'must be an integer', 1.5), (p) => `options.${p}`).param, 'options.text.topK');
  assert.deepEqual(body(new TypeError('undefined is not a function')), [500, 'internal_error', 'server_error']);
  assert.equal(toApiError(new TypeError('secret detail')).message.includes('secret'), false, 'internal details stay in the log');
  const e = new ApiError(429, 'busy', 'rate_limit_error', null, 'queue_full', { 'retry-after': '2' });
  assert.deepEqual(e.body(), { error: { message: 'busy', type: 'rate_limit_error', param: null, code: 'queue_full' } });
});
