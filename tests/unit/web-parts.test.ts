// The web app's pure modules, run in Node: the SSE parser (messages split anywhere, CR/LF/CRLF, comments,
// an unfinished last message), how /api/generate events grow an assistant turn, the chat messages sent
// back (newest images within the limit, empty replies left out), storage round trips and garbage,
// dropping the oldest exchange, settings from storage, seeds, and the request body; the defaults match
// the library's DEFAULT_OPTIONS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, deserialize, forgetOldest, hasContent, inContext, serialize, toMessages, userTurn, type Conversation, type GenerateEvent, type Turn } from '../../web/src/conversation.js';
import { DEFAULT_SETTINGS, generateBody, modelSettings, parseSeed, parseSettings, previewEvery } from '../../web/src/settings.js';
import { failureOf, readSse, SseParser } from '../../web/src/api.js';
import { DEFAULT_OPTIONS } from '../../src/generate/options.js';

test('SseParser: messages split anywhere, CR/LF/CRLF, comments, multi-line data, unfinished tail dropped', () => {
  const stream = ': hello\r\nevent: text\r\ndata: {"a":1}\r\n\r\ndata: one\ndata: two\n\nevent: done\rdata: x\r\rdata: never dispatched';
  for (const cut of [1, 2, 3, 7, stream.length]) {
    const p = new SseParser();
    const got = [];
    for (let i = 0; i < stream.length; i += cut) got.push(...p.push(stream.slice(i, i + cut)));
    assert.deepEqual(
      got,
      [
        { event: 'text', data: '{"a":1}' },
        { event: 'message', data: 'one\ntwo' },
        { event: 'done', data: 'x' },
      ],
      `chunks of ${cut}`,
    );
  }
  // A CR at the end of a chunk followed by LF in the next is one line end, not two.
  const p = new SseParser();
  assert.deepEqual([...p.push('data: a\r'), ...p.push('\n\r\n')], [{ event: 'message', data: 'a' }]);
  assert.deepEqual(new SseParser().push('event: x\n\n'), [], 'no data: nothing dispatched');
});

test('readSse reads a byte stream split inside a UTF-8 character', async () => {
  const bytes = new TextEncoder().encode('event: text\ndata: {"delta":"é✓"}\n\n');
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
      c.close();
    },
  });
  const got = [];
  for await (const m of readSse(body)) got.push(m);
  assert.deepEqual(got, [{ event: 'text', data: '{"delta":"é✓"}' }]);
});

const png = (n: number) => `data:image/png;base64,${'A'.repeat(n)}`;

test('applyEvent grows a turn: text, an image from start through previews to final, done', () => {
  const t: Turn = { id: 'a', role: 'assistant', parts: [], status: 'streaming' };
  const req = { seed: 7, mode: 'interleaved' };
  const evs: GenerateEvent[] = [
    { type: 'text', delta: 'Here ' },
    { type: 'text', delta: 'it is:' },
    { type: 'image-start', index: 0, tokens: 16 },
    { type: 'image-progress', index: 0, tokens: 4, total: 16 },
  ];
  for (const e of evs) applyEvent(t, e, req);
  assert.deepEqual(t.parts, [
    { kind: 'text', text: 'Here it is:' },
    { kind: 'image', url: '', state: 'drawing', index: 0, tokens: 4, total: 16 },
  ]);
  applyEvent(t, { type: 'image-progress', index: 0, tokens: 8, total: 16, preview: { url: png(4), width: 32, height: 32 } }, req);
  assert.deepEqual(t.parts[1], { kind: 'image', url: png(4), state: 'preview', index: 0, tokens: 8, total: 16, width: 32, height: 32 });
  applyEvent(t, { type: 'image', index: 0, codes: new Array(16).fill(3), url: png(8), width: 32, height: 32 }, req);
  applyEvent(t, { type: 'text', delta: ' done' }, req);
  applyEvent(t, { type: 'done', reason: 'end-of-turn', promptTokens: 9, generatedTokens: 25, images: 1, prefillMs: 1, decodeTokensPerSec: 99 }, req);
  assert.deepEqual(t.parts[1], { kind: 'image', url: png(8), state: 'final', index: 0, tokens: 16, total: 16, width: 32, height: 32 });
  assert.deepEqual(t.parts[2], { kind: 'text', text: ' done' });
  assert.equal(t.status, 'done');
  assert.deepEqual(t.meta, { reason: 'end-of-turn', promptTokens: 9, generatedTokens: 25, tokensPerSec: 99, seed: 7, mode: 'interleaved' });
  // A final image without a decoder (no URL) still ends drawing; without image-start it is added.
  const u: Turn = { id: 'b', role: 'assistant', parts: [], status: 'streaming' };
  applyEvent(u, { type: 'image', index: 0, codes: [1, 2, 3, 4] }, req);
  assert.deepEqual(u.parts, [{ kind: 'image', url: '', state: 'final', index: 0, tokens: 4, total: 4, width: undefined, height: undefined }]);
});

test('toMessages: images before text, newest images within the limit, empty replies left out', () => {
  const turns: Turn[] = [
    userTurn('1', 'what is this?', [{ url: png(1), name: 'a.png' }]),
    { id: '2', role: 'assistant', parts: [{ kind: 'text', text: 'a ' }, { kind: 'text', text: 'dog' }], status: 'done' },
    userTurn('3', 'draw it', []),
    { id: '4', role: 'assistant', parts: [{ kind: 'image', url: png(2), state: 'final', index: 0, tokens: 16, total: 16 }, { kind: 'text', text: ' there' }], status: 'done' },
    userTurn('5', 'and this?', [{ url: png(3), name: 'b.png' }]),
    { id: '6', role: 'assistant', parts: [{ kind: 'text', text: '  ' }], status: 'stopped' },
    userTurn('7', 'hello', []),
  ];
  const m = toMessages(turns, 2);
  assert.deepEqual(
    m.map((x) => x.role),
    ['user', 'assistant', 'user', 'assistant', 'user', 'user'],
    'the blank stopped reply is not sent',
  );
  assert.deepEqual(m[0].content, [{ type: 'text', text: 'what is this?' }], 'the oldest image is over the limit of 2');
  assert.deepEqual(m[1].content, [{ type: 'text', text: 'a dog' }], 'text parts are joined');
  assert.deepEqual(m[3].content, [{ type: 'image_url', image_url: { url: png(2) } }, { type: 'text', text: ' there' }]);
  assert.deepEqual(m[4].content, [{ type: 'image_url', image_url: { url: png(3) } }, { type: 'text', text: 'and this?' }]);
  assert.equal(toMessages(turns, 0).filter((x) => x.content.some((c) => c.type === 'image_url')).length, 0);
  assert.equal(hasContent(turns[5]), false);
  assert.equal(hasContent(turns[3]), true);
});

test('storage: a round trip keeps the turns; streaming turns come back stopped; garbage gives an empty chat', () => {
  const c: Conversation = {
    turns: [
      userTurn('u', 'hi', [{ url: png(1), name: 'x.png' }]),
      { id: 'a', role: 'assistant', parts: [{ kind: 'text', text: 'yo' }, { kind: 'image', url: png(2), state: 'preview', index: 0, tokens: 8, total: 16 }], status: 'streaming' },
    ],
    contextFrom: 'u',
  };
  const back = deserialize(serialize(c));
  assert.equal(back.contextFrom, 'u');
  assert.deepEqual(back.turns[0], c.turns[0]);
  assert.equal(back.turns[1].status, 'stopped', 'the page went away mid-answer');
  assert.deepEqual(back.turns[1].parts, c.turns[1].parts);
  for (const bad of [null, '', '{', '[]', '{"version":2,"turns":[]}', '{"version":1,"turns":"x"}']) assert.deepEqual(deserialize(bad), { turns: [], contextFrom: null }, String(bad));
  const mixed = JSON.stringify({
    version: 1,
    contextFrom: 'gone',
    turns: [
      { id: 'ok', role: 'user', parts: [{ kind: 'text', text: 'fine' }, { kind: 'image', url: 'javascript:alert(1)' }, { kind: 'video' }], status: 'done' },
      { id: 5, role: 'user', parts: [] },
      { id: 'x', role: 'system', parts: [] },
    ],
  });
  assert.deepEqual(deserialize(mixed), { turns: [{ id: 'ok', role: 'user', parts: [{ kind: 'text', text: 'fine' }], status: 'done' }], contextFrom: null });
});

test('forgetOldest drops whole exchanges from the front until only the newest question is left', () => {
  const c: Conversation = {
    turns: ['q1', 'a1', 'q2', 'a2', 'q3'].map((id) => ({ id, role: id.startsWith('q') ? 'user' : 'assistant', parts: [{ kind: 'text', text: id }], status: 'done' }) as Turn),
    contextFrom: null,
  };
  assert.equal(inContext(c).length, 5);
  assert.equal(forgetOldest(c), true);
  assert.deepEqual(
    inContext(c).map((t) => t.id),
    ['q2', 'a2', 'q3'],
  );
  assert.equal(forgetOldest(c), true);
  assert.deepEqual(
    inContext(c).map((t) => t.id),
    ['q3'],
  );
  assert.equal(forgetOldest(c), false, 'nothing more can go');
});

test('settings: defaults are the library options; storage values are checked; seeds; the request body', () => {
  const d = DEFAULT_OPTIONS;
  assert.deepEqual(
    [DEFAULT_SETTINGS.temperature, DEFAULT_SETTINGS.topP, DEFAULT_SETTINGS.cfg, DEFAULT_SETTINGS.guidanceText, DEFAULT_SETTINGS.guidanceImage, DEFAULT_SETTINGS.maxImages],
    [d.text.temperature, d.text.topP, d.image.cfg, d.image.guidanceText, d.image.guidanceImage, d.maxImages],
  );
  assert.equal(d.image.temperature, d.text.temperature, 'one temperature control serves both');
  assert.deepEqual(parseSettings(null), DEFAULT_SETTINGS);
  assert.deepEqual(parseSettings('not json'), DEFAULT_SETTINGS);
  const s = parseSettings(JSON.stringify({ mode: 'image', temperature: 9, topP: -1, maxTokens: 2.5, maxImages: 3, cfg: 'weird', seed: 12, apiKey: 7 }));
  assert.deepEqual(
    [s.mode, s.temperature, s.topP, s.maxTokens, s.maxImages, s.cfg, s.seed, s.apiKey],
    ['image', 2, 0.05, null, 3, '3way', 12, ''],
  );
  assert.deepEqual(parseSeed(' 42 '), { seed: 42 });
  assert.deepEqual(parseSeed(''), { seed: null });
  for (const bad of ['-1', '1.5', '12x', String(2 ** 32)]) assert.ok('error' in parseSeed(bad), bad);
  assert.equal(previewEvery(16), 2);
  assert.equal(previewEvery(1024), 128);
  assert.equal(previewEvery(4), 1);

  const msgs = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }];
  const body = generateBody({ ...DEFAULT_SETTINGS, maxTokens: 30, negativePrompt: 'blurry' }, msgs, 5, 16);
  assert.deepEqual(body, {
    messages: msgs,
    options: {
      mode: 'interleaved',
      maxNewTokens: 30,
      maxImages: 1,
      seed: 5,
      previewEvery: 2,
      text: { temperature: 0.7, topP: 0.9 },
      image: { temperature: 0.7, topP: 0.9, cfg: '3way', guidanceText: 3, guidanceImage: 1.2 },
    },
  });
  const greedy = generateBody({ ...DEFAULT_SETTINGS, temperature: 0, cfg: '2way', negativePrompt: 'blurry' }, msgs, 5, 16) as { options: Record<string, unknown>; negative_prompt?: string };
  assert.deepEqual(greedy.options.text, { greedy: true, topP: 0.9 }, 'temperature 0 is greedy');
  assert.equal('maxNewTokens' in greedy.options, false, 'no limit: the server gives what the context leaves');
  assert.equal(greedy.negative_prompt, 'blurry', 'the negative prompt goes with 2-way CFG only');
});

test('failureOf reads OpenAI error bodies and falls back to the status', () => {
  const f = failureOf({ error: { message: 'too big', code: 'image_too_large', param: 'messages[0]' } }, 400);
  assert.deepEqual([f.message, f.code, f.status, f.param], ['too big', 'image_too_large', 400, 'messages[0]']);
  const g = failureOf('<html>', 502);
  assert.deepEqual([g.message, g.code], ['the server answered HTTP 502', null]);
});

test("modelSettings: the model's generation defaults start the controls; greedy images make the one temperature 0; bad values fall back", () => {
  assert.deepEqual(modelSettings(undefined), DEFAULT_SETTINGS);
  const greedy = modelSettings({ temperature: 0, image_temperature: 0, top_p: 0.9, cfg: 'off', guidance_text: 3, guidance_image: 1.2 });
  assert.equal(greedy.temperature, 0);
  assert.equal(greedy.cfg, 'off');
  assert.equal(greedy.mode, DEFAULT_SETTINGS.mode, 'fields the model does not set keep the page defaults');
  const imagesGreedy = modelSettings({ temperature: 0.8, image_temperature: 0, top_p: 0.5, cfg: '2way', guidance_text: 4.5, guidance_image: 2 });
  assert.equal(imagesGreedy.temperature, 0);
  assert.equal(imagesGreedy.topP, 0.5);
  assert.equal(imagesGreedy.guidanceText, 4.5);
  const sampled = modelSettings({ temperature: 0.8, image_temperature: 1, top_p: 0.95, cfg: '3way', guidance_text: 3, guidance_image: 1.2 });
  assert.equal(sampled.temperature, 0.8);
  const wild = modelSettings({ temperature: 7, image_temperature: 7, top_p: Number.NaN, cfg: 'sideways' as 'off', guidance_text: 3, guidance_image: 1.2 });
  assert.equal(wild.temperature, 2, 'clamped to the control range');
  assert.equal(wild.topP, DEFAULT_SETTINGS.topP);
  assert.equal(wild.cfg, DEFAULT_SETTINGS.cfg);
  // Stored settings sit over the model's: a missing field takes the model's value.
  assert.equal(parseSettings(JSON.stringify({ topP: 0.3 }), greedy).temperature, 0);
  assert.equal(parseSettings(JSON.stringify({ topP: 0.3 }), greedy).topP, 0.3);
});
