// The official `openai` client against a running `chameleon serve` app on an init-tiny model:
// models, non-streaming and streaming chat with an image input (the same seed gives the same text
// either way, and the image's tokens are in the prompt), images in the `images` extension field,
// n choices that decode together yet match single requests, stop sequences, images.generate with
// CFG scales as extra fields, and the client's view of errors (404, 400s, 401 with bearer auth).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { startServer, type ChameleonServer } from '../../src/server/app.js';
import { loadServedModel } from '../../src/server/model.js';

const dir = mkdtempSync(join(tmpdir(), 'serve-openai-'));
const engine = new Engine(createRefBackend());
let server: ChameleonServer;
let authServer: ChameleonServer;
let client: OpenAI;
let redUrl = '';

before(async () => {
  writeTinyModel(engine, join(dir, 'model'));
  const model = await loadServedModel(engine, join(dir, 'model'), { id: 'tiny' });
  server = await startServer({ model, port: 0 });
  authServer = await startServer({ model, port: 0, apiKey: 'sekret' });
  client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1`, maxRetries: 0 });
  const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#d22' } }).png().toBuffer();
  redUrl = `data:image/png;base64,${png.toString('base64')}`;
});

after(async () => {
  await server.shutdown(1000);
  await authServer.shutdown(1000);
  engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface ImagePart {
  type: string;
  image_url: { url: string };
  index: number;
  offset: number;
  width: number;
  height: number;
  codes: number[];
}
type WithImages = { images?: ImagePart[] };

const imageMessage = (text: string): OpenAI.Chat.ChatCompletionMessageParam => ({
  role: 'user',
  content: [
    { type: 'text', text },
    { type: 'image_url', image_url: { url: redUrl } },
  ],
});

async function pngSize(dataUrl: string): Promise<[number, number, string]> {
  assert.match(dataUrl, /^data:image\/png;base64,/);
  const meta = await sharp(Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64')).metadata();
  return [meta.width ?? 0, meta.height ?? 0, meta.format ?? ''];
}

async function tokens(body: unknown): Promise<number> {
  const r = await fetch(`${server.url}/api/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return ((await r.json()) as { tokens: number }).tokens;
}

test('GET /v1/models lists the served model; another name is a 404', async () => {
  const list = await client.models.list();
  assert.deepEqual(
    list.data.map((m) => [m.id, m.object, m.owned_by]),
    [['tiny', 'model', 'chameleon-ts']],
  );
  assert.equal((await client.models.retrieve('tiny')).id, 'tiny');
  await assert.rejects(client.models.retrieve('gpt-4o'), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
});

test('chat with an image input, non-streaming and streaming, gives the same answer for the same seed', async () => {
  const messages = [imageMessage('what colour is the circle?')];
  const extra = { modalities: ['text' as const] };
  const full = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 12, seed: 5, temperature: 1, ...extra });
  assert.equal(full.object, 'chat.completion');
  assert.equal(full.model, 'tiny');
  assert.equal(full.choices.length, 1);
  const msg = full.choices[0].message;
  assert.equal(msg.role, 'assistant');
  assert.equal(typeof msg.content, 'string');
  assert.ok(['stop', 'length'].includes(full.choices[0].finish_reason));
  const withImage = await tokens({ messages });
  const textOnly = await tokens({ messages: [{ role: 'user', content: 'what colour is the circle?' }] });
  assert.equal(withImage - textOnly, 16 + 2, 'the image is BOI + 16 codes + EOI in the prompt');
  assert.equal(full.usage?.prompt_tokens, withImage);
  assert.ok((full.usage?.completion_tokens ?? 0) >= 1 && (full.usage?.completion_tokens ?? 0) <= 12);

  const stream = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 12, seed: 5, temperature: 1, stream: true, stream_options: { include_usage: true }, ...extra });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let first = true;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (first) assert.equal(c.delta.role, 'assistant', 'the first chunk names the role');
      first = false;
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, msg.content);
  assert.equal(finish, full.choices[0].finish_reason);
  assert.deepEqual(usage, full.usage);
});

test('generated images arrive in the `images` extension field of the message and of a delta', async () => {
  const body = { model: 'tiny', messages: [imageMessage('draw it again')], seed: 2, modalities: ['image'] };
  const full = await client.chat.completions.create(body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
  const msg = full.choices[0].message as typeof full.choices[0]['message'] & WithImages;
  assert.equal(msg.content, '');
  assert.equal(full.choices[0].finish_reason, 'stop');
  assert.equal(msg.images?.length, 1);
  const img = msg.images![0];
  assert.deepEqual([img.type, img.index, img.offset, img.width, img.height, img.codes.length], ['image_url', 0, 0, 32, 32, 16]);
  assert.ok(img.codes.every((c) => Number.isInteger(c) && c >= 0 && c < 64));
  assert.deepEqual(await pngSize(img.image_url.url), [32, 32, 'png']);
  assert.equal(full.usage?.completion_tokens, 18, 'BOI + 16 codes + EOI');

  const stream = await client.chat.completions.create({ ...body, stream: true } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
  const streamed: ImagePart[] = [];
  for await (const chunk of stream) for (const c of chunk.choices) streamed.push(...((c.delta as WithImages).images ?? []));
  assert.deepEqual(streamed, msg.images, 'the same image, streamed');
});

test('n choices decode together and each equals a single request with seed + i', async () => {
  const base = { model: 'tiny', messages: [{ role: 'user' as const, content: 'hello world' }], max_tokens: 10, temperature: 1.2, modalities: ['text'] };
  const before = server.metrics.decodeSteps;
  const both = await client.chat.completions.create({ ...base, n: 2, seed: 40 } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
  const stepsTogether = server.metrics.decodeSteps - before;
  assert.deepEqual(
    both.choices.map((c) => c.index),
    [0, 1],
  );
  let stepsAlone = 0;
  for (const i of [0, 1]) {
    const b = server.metrics.decodeSteps;
    const one = await client.chat.completions.create({ ...base, seed: 40 + i } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    stepsAlone += server.metrics.decodeSteps - b;
    assert.equal(one.choices[0].message.content, both.choices[i].message.content, `choice ${i}`);
  }
  assert.ok(stepsTogether < stepsAlone, `shared decode steps: ${stepsTogether} together vs ${stepsAlone} one by one`);
  assert.equal(both.usage?.completion_tokens, (both.usage?.total_tokens ?? 0) - (both.usage?.prompt_tokens ?? 0));
});

test('a stop sequence ends the text before it, streaming or not', async () => {
  const base = { model: 'tiny', messages: [{ role: 'user' as const, content: 'a red circle on the left' }], max_tokens: 24, seed: 11, temperature: 1, modalities: ['text'] };
  const free = (await client.chat.completions.create(base as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)).choices[0].message.content ?? '';
  assert.ok(free.length >= 8, `long enough to cut: ${JSON.stringify(free)}`);
  const stop = free.slice(4, 6);
  const want = free.slice(0, free.indexOf(stop));
  const cut = await client.chat.completions.create({ ...base, stop } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
  assert.equal(cut.choices[0].message.content, want);
  assert.equal(cut.choices[0].finish_reason, 'stop');
  const stream = await client.chat.completions.create({ ...base, stop: [stop, 'never-there'], stream: true } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
  let text = '';
  for await (const chunk of stream) for (const c of chunk.choices) text += c.delta.content ?? '';
  assert.equal(text, want);
});

test('images.generate returns b64_json PNGs of the model size; CFG scales are extra fields', async () => {
  const params = { model: 'tiny', prompt: 'a red circle', n: 2, size: '32x32', response_format: 'b64_json', seed: 1, guidance_text: 2.5, guidance_image: 1.1 };
  const r = await client.images.generate(params as OpenAI.Images.ImageGenerateParamsNonStreaming);
  assert.equal(r.data?.length, 2);
  for (const d of r.data ?? []) assert.deepEqual(await pngSize(`data:image/png;base64,${d.b64_json}`), [32, 32, 'png']);
  assert.notEqual(r.data?.[0].b64_json, r.data?.[1].b64_json, 'seed + i per image');
  const again = await client.images.generate({ ...params, n: 1 } as OpenAI.Images.ImageGenerateParamsNonStreaming);
  assert.equal(again.data?.[0].b64_json, r.data?.[0].b64_json, 'same seed, same first image');
  await assert.rejects(
    client.images.generate({ ...params, size: '1024x1024' } as OpenAI.Images.ImageGenerateParamsNonStreaming),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'size',
  );
  await assert.rejects(
    client.images.generate({ ...params, guidance_text: -1 } as OpenAI.Images.ImageGenerateParamsNonStreaming),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'guidance_text',
  );
});

test('the client sees errors in OpenAI shape, and the server keeps serving', async () => {
  const messages = [{ role: 'user' as const, content: 'hello' }];
  const refused = async (p: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.APIError>> => {
    try {
      await client.chat.completions.create({ model: 'tiny', messages, ...p } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    } catch (e) {
      assert.ok(e instanceof OpenAI.APIError);
      return e;
    }
    throw new Error('accepted');
  };
  const unknown = await refused({ model: 'gpt-4o' });
  assert.deepEqual([unknown.status, unknown.code, unknown.param, unknown.type], [404, 'model_not_found', 'model', 'invalid_request_error']);
  const huge = await refused({ max_tokens: 100_000 });
  assert.deepEqual([huge.status, huge.code, huge.param], [400, 'invalid_value', 'max_tokens']);
  const ctx = await refused({ max_tokens: 300 });
  assert.deepEqual([ctx.status, ctx.code], [400, 'context_length_exceeded']);
  assert.match(ctx.message, /maximum context length is 256 tokens/);
  const http = await refused({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] });
  assert.deepEqual([http.status, http.code, http.param], [400, 'image_url_not_allowed', 'messages[0].content[0].image_url.url']);
  const temp = await refused({ temperature: 5 });
  assert.deepEqual([temp.status, temp.param], [400, 'temperature']);
  const tools = await refused({ tools: [{ type: 'function', function: { name: 'f' } }] });
  assert.deepEqual([tools.status, tools.code], [400, 'unsupported_parameter']);
  const ok = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 3, modalities: ['text'] } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
  assert.ok((ok.usage?.completion_tokens ?? 0) >= 1);
});

test('bearer auth: a wrong or missing key is a 401, the right key works, /health needs none', async () => {
  const wrong = new OpenAI({ apiKey: 'nope', baseURL: `${authServer.url}/v1`, maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
  const none = await fetch(`${authServer.url}/v1/models`);
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'missing_api_key');
  const right = new OpenAI({ apiKey: 'sekret', baseURL: `${authServer.url}/v1`, maxRetries: 0 });
  assert.equal((await right.models.list()).data[0].id, 'tiny');
  const r = await right.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, modalities: ['text'] } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
  assert.equal(r.choices.length, 1);
  assert.equal((await fetch(`${authServer.url}/health`)).status, 200);
});
