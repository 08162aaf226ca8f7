// `chameleon serve` as a process: it prints its URL, answers /health and a chat request, takes the
// API key from CHAMELEON_API_KEY, and on SIGTERM lets the request in flight finish, then exits 0;
// bad flags and a port in use are one `chameleon:` line with exit code 2. `chameleon start` (npm start)
// serves a model with the web app at /, or without the demo model runs doctor and says how to get one.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { DEMO_MODEL_DIR } from '../../src/cli/common.js';

const CLI = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'serve-cli-'));
const engine = new Engine(createRefBackend());
const model = join(dir, 'model');
writeTinyModel(engine, model);
engine.dispose();
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the server; resolves with its URL once it prints "listening on". */
function start(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  return launch(['serve', '--model', model, '--port', '0', '--threads', '1', ...args], env);
}

/** Runs the CLI with `argv`; resolves once it prints "listening on" (and the line after it). */
function launch(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const child = spawn(process.execPath, [CLI, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL after 60 s: ${out} ${err}`)), 60_000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+).*\n.*\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], out: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((r) => child.once('exit', (code) => r(code)));

test('serve prints its URL, serves, and exits 0 on SIGTERM after the request in flight', async () => {
  const { child, url, out } = await start(['--name', 'tiny'], { ...process.env, CHAMELEON_API_KEY: 'k1' });
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to 127.0.0.1 by default');
    assert.match(out(), /bearer-token auth on/);
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; model: string };
    assert.deepEqual(health, { status: 'ok', model: 'tiny', running: 0, queued: 0 });
    assert.equal((await fetch(`${url}/v1/models`)).status, 401, 'the key from the environment is required');
    const headers = { 'content-type': 'application/json', authorization: 'Bearer k1' };
    const body = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 250, modalities: ['text'], seed: 2 }); // ~0.5 s of decoding
    const inflight = fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body });
    // Wait until the request is being decoded, then ask the server to stop.
    for (let i = 0; i < 200; i++) {
      const m = await (await fetch(`${url}/metrics`, { headers })).text();
      if (/^chameleon_generated_tokens_total [1-9]/m.test(m)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const code = exited(child);
    child.kill('SIGTERM');
    const r = await inflight;
    assert.equal(r.status, 200);
    const j = (await r.json()) as { choices: { finish_reason: string }[]; usage: { completion_tokens: number } };
    assert.deepEqual([j.choices[0].finish_reason, j.usage.completion_tokens], ['length', 250], 'finished, not cancelled');
    assert.equal(await code, 0);
    assert.match(out(), /SIGTERM: shutting down \(1 request in flight/);
    assert.match(out(), /stopped\n$/);
  } finally {
    child.kill('SIGKILL');
  }
});

test('bad flags and a port in use are one chameleon: line, exit 2', async () => {
  const run = (args: string[]): { code: number | null; err: string } => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--model', model, '--threads', '1', ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, err: r.stderr };
  };
  for (const [args, msg] of [
    [['--port', '70000'], /--port must be an integer >= 0 and <= 65535/],
    [['--max-batch', '0'], /--max-batch must be an integer >= 1/],
    [['--api-key', ''], /--api-key must not be empty/],
    [['--model', join(dir, 'missing')], /missing/],
  ] as [string[], RegExp][]) {
    const r = run(args);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^chameleon: /);
    assert.match(r.err, msg);
  }
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  try {
    const port = (blocker.address() as { port: number }).port;
    const r = run(['--port', String(port)]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`^chameleon: port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    blocker.close();
  }
});

test('start serves a model with the web app at / and prints where to open it', async () => {
  const { child, url, out } = await launch(['start', '--model', model, '--port', '0', '--threads', '1']);
  try {
    assert.match(out(), new RegExp(`^web app: open ${url.replace(/[.]/g, '\\.')}/ in a browser$`, 'm'));
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await page.text(), /<title>chameleon<\/title>/);
    const info = (await (await fetch(`${url}/api/info`)).json()) as { model: string; image_tokens: number };
    assert.deepEqual([info.model, info.image_tokens], ['model', 16]);
    const code = exited(child);
    child.kill('SIGTERM');
    assert.equal(await code, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('start without --model: the demo model when it is there, else doctor and how to get a model', async () => {
  if (existsSync(DEMO_MODEL_DIR)) {
    const { child, url, out } = await launch(['start', '--port', '0']);
    try {
      assert.match(out(), /^chameleon serve: model 'demo' from /m);
      assert.equal((await fetch(`${url}/health`)).status, 200);
    } finally {
      child.kill('SIGKILL');
    }
    return;
  }
  const r = spawnSync(process.execPath, [CLI, 'start', '--threads', '1'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^doctor: ok$/m);
  assert.match(r.stdout, new RegExp(`The demo model is not at ${DEMO_MODEL_DIR.replace(/[.]/g, '\\.')}, so there is nothing to serve yet`));
  assert.match(r.stdout, /npm run train:demo .* then `npm start` serves it with the web app/);
  assert.match(r.stdout, /npm start -- --model <dir>/);
  const bad = spawnSync(process.execPath, [CLI, 'start', '--model', join(dir, 'missing'), '--port', '0'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(bad.status, 2, 'a --model that is not there is an error, not the fallback');
  assert.match(bad.stderr, /^chameleon: .*missing/);
});
