// The server's scheduler over one BatchSession (random-weight tiny model, ref backend): two requests
// submitted together share decode steps (their step count is the longer one's, not the sum) and
// give the ids they give alone; a request admitted while another draws an image gets its first
// token in the step that admits it (the first-token-steps histogram says 1), a queued one counts the
// steps it waited; the queue bound is a 429 with Retry-After; a client's abort
// ends its choices; a step that throws fails its tickets and a fresh session serves the next.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { ChameleonModel } from '../../src/model/chameleon.js';
import { presetConfig, type ChameleonConfig } from '../../src/model/config.js';
import { ChameleonGenerator, type GenerateRequest, type GeneratorParts } from '../../src/generate/generator.js';
import { resolveOptions, type GenerateOptionsInput } from '../../src/generate/options.js';
import { vocabFromMap } from '../../src/generate/vocab.js';
import type { GenEvent } from '../../src/generate/events.js';
import { ChameleonError } from '../../src/util/errors.js';
import { ApiError } from '../../src/server/errors.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { Scheduler, type SchedulerOptions, type Ticket } from '../../src/server/scheduler.js';

const map = (JSON.parse(readFileSync('tests/fixtures/hf-chameleon/mha/config.json', 'utf8')) as { vocabulary_map: Record<string, number> }).vocabulary_map;
const cfg = { ...presetConfig('tiny'), vocabularyMap: map, numHiddenLayers: 2, maxPositionEmbeddings: 96, warnings: [] } as ChameleonConfig;
const vocab = vocabFromMap(map, cfg.vocabSize);
const N = 16;
const engine = new Engine(createRefBackend());
after(() => engine.dispose());
const parts: GeneratorParts = { model: ChameleonModel.create(engine, cfg, 5), vocab, imageTokens: N };
const textIds = [...vocab.textMask.keys()].filter((i) => vocab.textMask[i]);

function request(o: GenerateOptionsInput, n = 4): (i: number, signal: AbortSignal) => GenerateRequest {
  const prompt = [vocab.bos, ...Array.from({ length: n }, (_, i) => textIds[(i * 13 + (o.seed ?? 0)) % textIds.length])];
  // stopOnEndOfTurn off and a high temperature: runs go to their budget more often than not.
  return (i, signal) => ({ prompt, options: resolveOptions({ stopOnEndOfTurn: false, text: { temperature: 1.5 }, ...o, seed: (o.seed ?? 0) + i }), signal });
}

function scheduler(opts: Partial<SchedulerOptions> = {}): Scheduler {
  return new Scheduler(new ChameleonGenerator(parts), { maxBatch: 8, maxQueue: 8, ...opts }, new ServerMetrics());
}

async function events(t: Ticket): Promise<GenEvent[]> {
  const out: GenEvent[] = [];
  for await (const { ev } of t) out.push(ev);
  return out;
}

const doneOf = (evs: GenEvent[]): Extract<GenEvent, { type: 'done' }> => evs.find((e) => e.type === 'done') as Extract<GenEvent, { type: 'done' }>;

test('two requests submitted together share decode steps and give the ids they give alone', async () => {
  const a = request({ seed: 1, maxNewTokens: 24 });
  const b = request({ seed: 2, maxNewTokens: 12 }, 7);
  const s = scheduler();
  const alone: { steps: number; ids: number[] }[] = [];
  for (const r of [a, b]) {
    const before = s.metrics.decodeSteps;
    const ids = doneOf(await events(s.submit(1, r))).ids;
    alone.push({ steps: s.metrics.decodeSteps - before, ids });
  }
  assert.ok(alone[0].steps >= 2 && alone[1].steps >= 2, `both run several steps (${alone.map((x) => x.steps)})`);
  const before = s.metrics.decodeSteps;
  const [ea, eb] = await Promise.all([events(s.submit(1, a)), events(s.submit(1, b))]);
  const together = s.metrics.decodeSteps - before;
  assert.equal(together, Math.max(alone[0].steps, alone[1].steps), 'the shorter request decodes inside the longer one\'s steps');
  assert.ok(together < alone[0].steps + alone[1].steps);
  assert.deepEqual(doneOf(ea).ids, alone[0].ids);
  assert.deepEqual(doneOf(eb).ids, alone[1].ids);
  assert.equal(s.metrics.generatedTokens, 2 * (doneOf(ea).generatedTokens + doneOf(eb).generatedTokens), 'every sampled token is counted');
  assert.equal(s.metrics.ttft.count, 4, 'one time-to-first-token per request');
  assert.equal(s.inFlight, 0);
  s.dispose();
});

test('a request arriving while another draws an image gets its first token in the step that admits it', async () => {
  let step = 0;
  let late: Ticket | null = null;
  let admittedAt = -1;
  let firstTokenAt = -1;
  const s = scheduler({
    pace: async () => {
      // Before step `step + 1`: record whether the late request has its first token yet.
      if (late && firstTokenAt < 0 && s.metrics.ttft.count === 2) firstTokenAt = step;
      if (step === 5) {
        late = s.submit(1, request({ seed: 9, maxNewTokens: 6, mode: 'text' }));
        admittedAt = step + 1; // it joins at the next step
      }
      step++;
    },
  });
  const drawing = s.submit(1, request({ seed: 3, mode: 'image', maxNewTokens: N + 2, image: { cfg: '3way' } }));
  const ea = await events(drawing);
  const eb = await events(late!);
  assert.equal(doneOf(ea).reason, 'images');
  assert.equal(admittedAt, 6);
  assert.equal(firstTokenAt, 6, 'first token in the admitting step (≤ 2 steps after its prefill)');
  const imageDoneStep = N + 2; // BOI + N codes + EOI, one per step
  assert.ok(firstTokenAt < imageDoneStep, 'not after the image is finished');
  assert.equal(doneOf(eb).reason === 'abort', false);
  const f = s.metrics.firstTokenSteps;
  assert.equal(f.count, 2);
  assert.equal(f.sum, 2, 'each request\'s first token came in the step after its admission (1 + 1)');
  assert.equal(f.counts[0], 2, 'both in the le="1" bucket');
  s.dispose();
});

test('a request waiting for a slot counts the decode steps until its first token', async () => {
  const s = scheduler({ maxBatch: 1 });
  const a = s.submit(1, request({ seed: 1, maxNewTokens: 7 }));
  const b = s.submit(1, request({ seed: 2, maxNewTokens: 3 }));
  const ea = await events(a);
  await events(b);
  const stepsA = doneOf(ea).generatedTokens; // one token per step while it ran alone
  assert.ok(stepsA >= 1);
  const f = s.metrics.firstTokenSteps;
  assert.equal(f.count, 2);
  assert.equal(f.sum, 1 + (stepsA + 1), 'a: the first step; b: the step after a\'s last');
  assert.ok(s.metrics.text({ queueDepth: 0, runningRequests: 0, activeRows: 0 }, 0).includes(`chameleon_first_token_steps_sum ${f.sum}`));
  // Busy time: one row per decode step (they never ran together), every part measured.
  assert.equal(s.metrics.decodeRows, s.metrics.decodeSteps);
  assert.ok(s.metrics.busyMs.decode > 0 && s.metrics.busyMs.prefill > 0 && s.metrics.busyMs.sample > 0, JSON.stringify(s.metrics.busyMs));
  s.dispose();
});

test('a full queue is a 429 with Retry-After; n choices are admitted all or none', async () => {
  const s = scheduler({ maxBatch: 1, maxQueue: 1 });
  const t1 = s.submit(1, request({ seed: 1, maxNewTokens: 3 }));
  assert.throws(
    () => s.submit(2, request({ seed: 2, maxNewTokens: 3 })),
    (e: unknown) => e instanceof ApiError && e.status === 429 && e.code === 'queue_full' && Number(e.headers['retry-after']) >= 1,
  );
  const t2 = s.submit(1, request({ seed: 2, maxNewTokens: 3 }));
  assert.throws(() => s.submit(1, request({ seed: 3, maxNewTokens: 3 })), (e: unknown) => e instanceof ApiError && e.status === 429);
  assert.equal(s.metrics.queueRejections, 2);
  await Promise.all([events(t1), events(t2)]);
  const t3 = s.submit(1, request({ seed: 3, maxNewTokens: 3 }));
  assert.equal(doneOf(await events(t3)).generatedTokens > 0, true, 'served again once the queue drained');
  s.dispose();
});

test('an aborted client signal ends its choices at the next step; a refused prompt admits nothing', async () => {
  const ac = new AbortController();
  let steps = 0;
  const s = scheduler({
    pace: async () => {
      if (++steps === 4) ac.abort();
    },
  });
  const t = s.submit(2, request({ seed: 4, maxNewTokens: 40 }), ac.signal);
  const evs = await events(t);
  const done = evs.filter((e) => e.type === 'done');
  assert.equal(done.length, 2);
  for (const d of done) {
    assert.equal(d.type === 'done' && d.reason, 'abort');
    assert.ok(d.type === 'done' && d.generatedTokens === 3, 'three steps ran before the abort was seen');
  }
  assert.equal(t.cause, 'client');
  assert.throws(() => s.submit(1, () => ({ prompt: [textIds[0]], options: resolveOptions({}) })), ChameleonError);
  assert.equal(s.inFlight, 0);
  s.dispose();
});

test('a step that throws fails its tickets; a fresh session serves the next request', async () => {
  let calls = 0;
  const broken: GeneratorParts = {
    ...parts,
    image: {
      render: async () => {
        calls++;
        throw new Error('decoder exploded');
      },
    },
  };
  const s = new Scheduler(new ChameleonGenerator(broken), { maxBatch: 4, maxQueue: 4, previewBudget: 0 }, new ServerMetrics());
  const t = s.submit(1, request({ seed: 1, mode: 'image', maxNewTokens: N + 2, image: { cfg: 'off' } }));
  await assert.rejects(events(t), /decoder exploded/);
  assert.equal(calls, 1);
  assert.equal(s.inFlight, 0);
  const ok = await events(s.submit(1, request({ seed: 2, maxNewTokens: 5, mode: 'text' })));
  assert.equal(doneOf(ok).generatedTokens > 0, true);
  s.dispose();
});
