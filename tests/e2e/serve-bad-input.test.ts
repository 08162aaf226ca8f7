// Bad input against a running server, each answered in OpenAI's error shape with the right status
// (malformed JSON, wrong content types, an oversize body and image, invalid base64, an unreadable
// image, too many images, an unknown model, too many tokens, bad native options, unknown routes),
// after each of which the server still serves; a client disconnecting mid-image cancels it; a full
// queue is a 429 with Retry-After; two overlapping requests share decode steps; and requests after
// shutdown began get 503 while the one in flight finishes (or is cancelled past the grace time).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { startServer, type ChameleonServer, type ServeOptions } from '../../src/server/app.js';
import { loadServedModel, type ServedModel } from '../../src/server/model.js';

const dir = mkdtempSync(join(tmpdir(), 'serve-bad-'));
const engine = new Engine(createRefBackend());
let model: ServedModel;
let server: ChameleonServer;
const servers: ChameleonServer[] = [];

/** Decoding steps wait while the gate is held (a pace hook). */
class Gate {
  private held = false;
  private waiters: (() => void)[] = [];
  hold(): void {
    this.held = true;
  }
  release(): void {
    this.held = false;
    for (const w of this.waiters.splice(0)) w();
  }
  wait = (): Promise<void> => (this.held ? new Promise<void>((r) => this.waiters.push(r)) : Promise.resolve());
}

async function until(what: string, pred: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(pred(), `timed out waiting for ${what}`);
}

let pace: () => Promise<void> = () => Promise.resolve();

async function serve(o: Partial<ServeOptions> = {}): Promise<ChameleonServer> {
  const s = await startServer({ model, port: 0, ...o });
  servers.push(s);
  return s;
}

before(async () => {
  writeTinyModel(engine, join(dir, 'model'));
  model = await loadServedModel(engine, join(dir, 'model'), { id: 'tiny' });
  server = await serve({ limits: { bodyBytes: 64 * 1024, imagePixels: 40 * 40, imagesPerRequest: 2 }, pace: () => pace() });
});

after(async () => {
  for (const s of servers) await s.shutdown(1000);
  engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function post(path: string, body: string | object, headers: Record<string, string> = { 'content-type': 'application/json' }, base = server.url): Promise<{ status: number; json: unknown; headers: Headers }> {
  const r = await fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* SSE or text */
  }
  return { status: r.status, json, headers: r.headers };
}

/** Asserts an OpenAI-shaped error with this status and code (and param, when given). */
function isError(r: { status: number; json: unknown }, status: number, code: string | null, param?: string | null): ErrorBody {
  assert.equal(r.status, status, JSON.stringify(r.json));
  const e = r.json as ErrorBody;
  assert.deepEqual(Object.keys(e), ['error']);
  assert.deepEqual(Object.keys(e.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof e.error.message, 'string');
  assert.ok(e.error.message.length > 0);
  assert.equal(e.error.code, code, e.error.message);
  if (param !== undefined) assert.equal(e.error.param, param);
  return e;
}

const chat = (content: unknown, extra: object = {}): object => ({ model: 'tiny', messages: [{ role: 'user', content }], max_tokens: 3, modalities: ['text'], ...extra });

/** A small chat request succeeds: the server keeps serving. */
async function stillServes(base = server.url): Promise<void> {
  const r = await post('/v1/chat/completions', chat('hello'), undefined, base);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal((r.json as { object: string }).object, 'chat.completion');
}

const png = async (w: number, h: number): Promise<string> => (await sharp({ create: { width: w, height: h, channels: 3, background: '#2a6' } }).png().toBuffer()).toString('base64');
const imagePart = (url: string): object => ({ type: 'image_url', image_url: { url } });

test('malformed JSON, a non-object body and an empty body are 400 invalid_json', async () => {
  isError(await post('/v1/chat/completions', '{"model": "tiny", "messages": ['), 400, 'invalid_json');
  isError(await post('/v1/chat/completions', '[1, 2]'), 400, 'invalid_json');
  isError(await post('/v1/chat/completions', ''), 400, 'invalid_json');
  isError(await post('/api/generate', 'nope'), 400, 'invalid_json');
  await stillServes();
});

test('wrong content types are 415 unsupported_media_type', async () => {
  isError(await post('/v1/chat/completions', JSON.stringify(chat('hi')), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  isError(await post('/v1/chat/completions', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
  isError(await post('/v1/images/generations', 'x', { 'content-type': 'multipart/form-data; boundary=x' }), 415, 'unsupported_media_type');
  await stillServes();
});

test('an oversize body is 413; an oversize image, invalid base64, a non-image and too many images are 400', async () => {
  isError(await post('/v1/chat/completions', chat('x'.repeat(70 * 1024))), 413, 'body_too_large');
  const big = await png(64, 48);
  isError(await post('/v1/chat/completions', chat([{ type: 'text', text: 'hi' }, imagePart(`data:image/png;base64,${big}`)])), 400, 'image_too_large', 'messages[0].content[1].image_url.url');
  isError(await post('/v1/chat/completions', chat([imagePart('data:image/png;base64,iVBOR$$w0KGgo=')])), 400, 'invalid_base64', 'messages[0].content[0].image_url.url');
  isError(await post('/v1/chat/completions', chat([imagePart(`data:image/png;base64,${Buffer.from('not a picture at all').toString('base64')}`)])), 400, 'invalid_image');
  isError(await post('/v1/chat/completions', chat([imagePart('ftp://example.com/a.png')])), 400, 'invalid_image_url');
  const small = `data:image/png;base64,${await png(32, 32)}`;
  isError(await post('/v1/chat/completions', chat([imagePart(small), imagePart(small), imagePart(small)])), 400, 'too_many_images', 'messages');
  isError(await post('/api/generate', { prompt: '<image>', images: ['data:image/png;base64,!!'] }), 400, 'invalid_base64', 'images[0]');
  const ok = await post('/v1/chat/completions', chat([imagePart(small), { type: 'text', text: 'what is this?' }]));
  assert.equal(ok.status, 200, 'an image within the limits is read');
});

test('with --allow-http-images an http image URL is fetched; a failing one is a 400', async () => {
  const pic = Buffer.from(await png(32, 32), 'base64');
  const files = createServer((req, res) => {
    if (req.url === '/red.png') res.writeHead(200, { 'content-type': 'image/png' }).end(pic);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
    const s = await serve({ allowHttpImages: true });
    const ok = await post('/api/tokenize', { messages: [{ role: 'user', content: [imagePart(`${base}/red.png`)] }] }, undefined, s.url);
    const inline = await post('/api/tokenize', { messages: [{ role: 'user', content: [imagePart(`data:image/png;base64,${pic.toString('base64')}`)] }] }, undefined, s.url);
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.deepEqual(ok.json, inline.json, 'the fetched image tokenizes like the same bytes inline');
    isError(await post('/v1/chat/completions', chat([imagePart(`${base}/missing.png`)]), undefined, s.url), 400, 'image_fetch_failed', 'messages[0].content[0].image_url.url');
    isError(await post('/v1/chat/completions', chat([imagePart(`${base}/red.png`)])), 400, 'image_url_not_allowed');
    await stillServes(s.url);
  } finally {
    files.close();
  }
});

test('an unknown model, too many tokens and bad fields are 4xx naming the field', async () => {
  isError(await post('/v1/chat/completions', chat('hi', { model: 'llama' })), 404, 'model_not_found', 'model');
  isError(await post('/v1/images/generations', { model: 'dall-e-3', prompt: 'x' }), 404, 'model_not_found', 'model');
  isError(await post('/api/generate', { model: 'llama', prompt: 'x' }), 404, 'model_not_found');
  isError(await post('/v1/chat/completions', chat('hi', { max_tokens: 5000 })), 400, 'invalid_value', 'max_tokens');
  isError(await post('/v1/chat/completions', chat('hi', { max_tokens: 255 })), 400, 'context_length_exceeded', 'messages');
  isError(await post('/v1/chat/completions', chat('word '.repeat(300))), 400, 'context_length_exceeded', 'messages');
  isError(await post('/api/generate', { prompt: 'x', options: { maxNewTokens: 1000 } }), 400, 'context_length_exceeded');
  isError(await post('/api/generate', { prompt: 'x', options: { text: { temperature: -1 } } }), 400, 'invalid_value', 'options.text.temperature');
  isError(await post('/api/generate', { prompt: 'x', options: { colour: 'red' } }), 400, 'invalid_value', 'options.colour');
  isError(await post('/v1/chat/completions', chat('hi', { n: 9 })), 400, 'invalid_value', 'n');
  isError(await post('/v1/chat/completions', { model: 'tiny', messages: [] }), 400, 'invalid_value', 'messages');
  isError(await post('/v1/chat/completions', { messages: [{ role: 'tool', content: 'x' }] }), 400, 'unsupported_value', 'messages[0].role');
  isError(await post('/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }), 400, 'unsupported_content_type', 'messages[0].content[0].type');
  isError(await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }), 400, 'invalid_value', 'messages[1].role');
  isError(await post('/v1/images/generations', { prompt: 'x', response_format: 'url' }), 400, 'unsupported_value', 'response_format');
  isError(await post('/v1/images/generations', { prompt: '' }), 400, 'invalid_value', 'prompt');
  const nf = await fetch(`${server.url}/v1/completions`, { method: 'POST' });
  isError({ status: nf.status, json: await nf.json() }, 404, 'unknown_url');
  await stillServes();
});

test('the native stream carries typed events with image previews; tokenize counts the prompt', async () => {
  const r = await post('/api/generate', { prompt: 'draw a yellow star please', options: { mode: 'image', previewEvery: 4, seed: 3 } });
  assert.equal(r.status, 200);
  const events = String(r.json)
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [ev, data] = block.split('\n');
      return { name: ev.replace('event: ', ''), data: JSON.parse(data.replace('data: ', '')) as Record<string, unknown> };
    });
  assert.deepEqual(
    events.map((e) => e.name),
    ['image-start', 'image-progress', 'image-progress', 'image-progress', 'image', 'done'],
  );
  assert.ok(events.every((e) => e.data.type === e.name));
  assert.deepEqual(
    events.slice(1, 4).map((e) => e.data.tokens),
    [4, 8, 12],
  );
  const first = events[1].data.preview as { url: string; width: number } | undefined;
  assert.ok(first && first.url.startsWith('data:image/png;base64,') && first.width === 32, 'the first preview is rendered');
  assert.equal((events[4].data.codes as number[]).length, 16);
  const done = events[5].data;
  assert.deepEqual([done.reason, done.generatedTokens, done.images], ['images', 18, 1]);
  const tok = await post('/api/tokenize', { prompt: 'draw a yellow star please' });
  assert.equal((tok.json as { tokens: number }).tokens, done.promptTokens);
  assert.deepEqual((tok.json as { ids: number[] }).ids, (done.ids as number[]).slice(0, done.promptTokens as number));
});

test('a client disconnecting mid-image cancels it; the server keeps serving', async () => {
  let steps = 0;
  const disconnects = server.metrics.disconnects;
  const tokensBefore = server.metrics.generatedTokens;
  // After 3 steps (BOI and 2 codes: the first preview is out) decoding waits for the disconnect.
  pace = async () => {
    if (++steps > 3) await until('the disconnect', () => server.metrics.disconnects > disconnects);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}/api/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let seen = '';
        res.on('data', (c: Buffer) => {
          seen += c.toString();
          if (seen.includes('event: image-progress')) {
            req.destroy();
            resolve();
          }
        });
        res.on('end', () => reject(new Error('the stream ended before the client left')));
      });
      req.on('error', () => {});
      req.end(JSON.stringify({ prompt: 'draw', options: { mode: 'image', previewEvery: 2, seed: 1 } }));
    });
    await until('the cancelled request to leave', () => server.scheduler.inFlight === 0);
  } finally {
    pace = () => Promise.resolve();
  }
  assert.equal(server.metrics.disconnects, disconnects + 1);
  assert.equal(server.metrics.generatedTokens - tokensBefore, 3, 'no token after the disconnect was seen');
  const m = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(m, /^chameleon_generation_finished_total\{reason="abort"\} 1$/m);
  assert.match(m, /^chameleon_client_disconnects_total 1$/m);
  await stillServes();

  // Non-streaming: a client that gives up on /v1/images/generations while its image is drawn.
  const gate = new Gate();
  gate.hold();
  pace = gate.wait;
  try {
    const ac = new AbortController();
    const gone = fetch(`${server.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a star', seed: 4 }), signal: ac.signal });
    await until('the image request in flight', () => server.scheduler.inFlight === 1);
    ac.abort();
    await assert.rejects(gone);
    await until('the second disconnect', () => server.metrics.disconnects === disconnects + 2);
    gate.release();
    await until('the cancelled image to leave', () => server.scheduler.inFlight === 0);
  } finally {
    gate.release();
    pace = () => Promise.resolve();
  }
  const m2 = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(m2, /^chameleon_generation_finished_total\{reason="abort"\} 2$/m);
  assert.match(m2, /^chameleon_requests_total\{route="\/v1\/images\/generations",status="499"\} 1$/m);
  await stillServes();
});

test('a full queue is a 429 with Retry-After; overlapping requests share decode steps', async () => {
  const gate = new Gate();
  const s = await serve({ maxBatch: 1, maxQueue: 1, pace: gate.wait });
  gate.hold();
  const a = post('/v1/chat/completions', chat('hello', { max_tokens: 6, seed: 1, temperature: 1.5 }), undefined, s.url);
  const b = post('/v1/chat/completions', chat('world', { max_tokens: 6, seed: 2, temperature: 1.5 }), undefined, s.url);
  await until('two requests in flight', () => s.scheduler.inFlight === 2);
  const c = await post('/v1/chat/completions', chat('again'), undefined, s.url);
  const e = isError(c, 429, 'queue_full');
  assert.equal(e.error.type, 'rate_limit_error');
  assert.ok(Number(c.headers.get('retry-after')) >= 1);
  gate.release();
  assert.deepEqual([(await a).status, (await b).status], [200, 200]);
  await stillServes(s.url);

  const wide = await serve({ maxBatch: 4, pace: gate.wait });
  const body = (seed: number): object => chat('a red circle', { max_tokens: 8, seed, temperature: 1.5 });
  const steps = async (seeds: number[]): Promise<number> => {
    gate.hold();
    const before = wide.metrics.decodeSteps;
    const rs = seeds.map((sd) => post('/v1/chat/completions', body(sd), undefined, wide.url));
    await until('requests admitted', () => wide.scheduler.inFlight === seeds.length);
    gate.release();
    for (const r of await Promise.all(rs)) assert.equal(r.status, 200);
    return wide.metrics.decodeSteps - before;
  };
  const alone = (await steps([7])) + (await steps([8]));
  const together = await steps([7, 8]);
  assert.ok(together < alone, `two overlapping requests took ${together} steps, one after the other ${alone}`);
});

test('requests after shutdown began get 503; the one in flight finishes; then the port is closed', async () => {
  const gate = new Gate();
  const s = await serve({ pace: gate.wait });
  gate.hold();
  const inflight = post('/v1/chat/completions', chat('hello', { max_tokens: 4, seed: 3 }), undefined, s.url);
  await until('the request in flight', () => s.scheduler.inFlight === 1);
  const closing = s.shutdown(30_000);
  const late = await post('/v1/chat/completions', chat('too late'), undefined, s.url);
  isError(late, 503, 'shutting_down');
  assert.ok(Number(late.headers.get('retry-after')) >= 1);
  const health = await fetch(`${s.url}/health`);
  assert.equal(health.status, 503);
  assert.equal(((await health.json()) as { status: string }).status, 'draining');
  gate.release();
  const done = await inflight;
  assert.equal(done.status, 200);
  assert.ok(((done.json as { usage: { completion_tokens: number } }).usage.completion_tokens ?? 0) >= 1);
  await closing;
  await assert.rejects(fetch(`${s.url}/health`), 'nothing listens after shutdown');
});

test('past the grace time a streaming request is cancelled with a 503 error event', async () => {
  const gate = new Gate();
  const s = await serve({ pace: gate.wait });
  gate.hold();
  const stream = post('/v1/chat/completions', chat('hello', { max_tokens: 200, seed: 3, stream: true }), undefined, s.url);
  await until('the stream in flight', () => s.scheduler.inFlight === 1);
  const closing = s.shutdown(0);
  gate.release();
  const r = await stream;
  await closing;
  assert.equal(r.status, 200, 'the stream had started');
  const text = String(r.json);
  assert.match(text, /"code":"shutting_down"/);
  assert.doesNotMatch(text, /\[DONE\]/);
});
