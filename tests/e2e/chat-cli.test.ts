// `chameleon chat`, fed through a pipe: each line is a turn, /image attaches a
// picture, /reset forgets; the transcript and index.html hold every exchange with its images; bad input
// inside the session is one `chameleon:` line and the session continues; the chat session drops the
// oldest exchanges when the context is full.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { loadBundle, textCodec } from '../../src/generate/bundle.node.js';
import { ChameleonGenerator } from '../../src/generate/generator.js';
import { ChatSession } from '../../src/generate/chat-session.js';
import { resolveOptions } from '../../src/generate/options.js';
import { chatPrompt } from '../../src/generate/prompt.js';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'chat-cli-'));
const engine = new Engine(createRefBackend());
after(() => {
  engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});
const model = join(dir, 'model');
writeTinyModel(engine, model);
await sharp({ create: { width: 32, height: 32, channels: 3, background: '#d22' } }).png().toFile(join(dir, 'red.png'));

function chat(input: string, args: string[] = []): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, 'chat', '--model', model, '--threads', '2', '--max-new-tokens', '12', ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface Turn {
  role: string;
  parts: { kind: string; text?: string; file?: string }[];
}

test('a piped session: turns, an attached image, /reset, errors that do not end it; transcript + index.html', () => {
  const out = join(dir, 'out');
  const r = chat(`hello\n/image ${join(dir, 'missing.png')}\n/image ${join(dir, 'red.png')}\nwhat is this\n/frobnicate\n/reset\nagain\n/quit\nnever read\n`, ['--out', out, '--seed', '7']);
  assert.equal(r.code, 0, r.err);
  const errs = r.err.trim().split('\n').filter((l) => l.startsWith('chameleon:'));
  assert.equal(errs.length, 2, r.err);
  assert.match(errs[0], /missing\.png/);
  assert.match(errs[1], /unknown command \/frobnicate/);
  assert.match(r.out, /\(attached .*red\.png; it goes with your next message\)/);
  assert.match(r.out, /\(conversation cleared\)/);
  const t = JSON.parse(readFileSync(join(out, 'transcript.json'), 'utf8')) as { turns: Turn[] };
  assert.deepEqual(
    t.turns.map((x) => x.role),
    ['user', 'assistant', 'user', 'assistant', 'user', 'assistant'],
    'three exchanges; the line after /quit is never read',
  );
  assert.deepEqual(t.turns[2].parts[0], { kind: 'image', file: 'input-2-1-red.png' });
  assert.ok(existsSync(join(out, 'input-2-1-red.png')));
  assert.deepEqual(t.turns[4].parts, [{ kind: 'text', text: 'again' }]);
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.match(html, /<img class="in" src="input-2-1-red\.png"/);
  assert.match(html, /what is this/);
  // Same seed, same conversation: the replies reproduce.
  const again = chat(`hello\n/image ${join(dir, 'red.png')}\nwhat is this\n/reset\nagain\n`, ['--out', join(dir, 'out2'), '--seed', '7']);
  assert.equal(again.code, 0, again.err);
  const t2 = JSON.parse(readFileSync(join(dir, 'out2', 'transcript.json'), 'utf8')) as { turns: Turn[] };
  assert.deepEqual(t2.turns, t.turns);
});

test('bad flags and a missing model are one line, exit code 2', () => {
  for (const [args, re] of [
    [['--model', join(dir, 'nowhere')], /nowhere/],
    [['--model', model, '--temperature', '-1'], /--temperature/],
  ] as const) {
    const r = spawnSync(process.execPath, [CLI, 'chat', ...args], { input: '', encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('ChatSession: history grows by user + reply; a full context drops the oldest exchanges whole', async () => {
  const b = await loadBundle(engine, model);
  const parts = { vocab: b.gen, text: textCodec(b), imageTokens: b.imageTokens };
  const gen = new ChameleonGenerator({ model: b.model, vocab: b.gen, text: parts.text, imageTokens: b.imageTokens });
  const options = resolveOptions({ mode: 'text', maxNewTokens: 8, seed: 1 });
  const s = new ChatSession(gen, parts, { context: 120, minReplyTokens: 20 });
  const turn = [{ type: 'text' as const, text: 'a red circle on the left, please' }];
  const drain = async (): Promise<{ dropped: number; promptTokens: number }> => {
    const it = s.send(turn, options);
    for (;;) {
      const r = await it.next();
      if (r.done) return { dropped: r.value.droppedTurns, promptTokens: r.value.promptTokens };
    }
  };
  const first = await drain();
  assert.equal(first.dropped, 0);
  assert.equal(first.promptTokens, chatPrompt(parts, [{ role: 'user', content: turn }]).length);
  assert.equal(s.history.length, 2);
  let sawDrop = false;
  for (let i = 0; i < 6; i++) {
    const r = await drain();
    sawDrop ||= r.dropped > 0;
    assert.ok(r.promptTokens + 20 <= 120, `prompt ${r.promptTokens} leaves room for the reply`);
  }
  assert.ok(sawDrop, 'the oldest exchanges were dropped once the context filled');
  assert.equal(s.history.length % 2, 0);
  assert.throws(() => s.promptFor([{ type: 'text', text: 'x'.repeat(400) }]), /does not fit the 120-token context/);
});
