// The server's side of the web app: a build folder's files at `/` with content types, ETags (304),
// gzip, cache headers and the page's Content-Security-Policy; only the build's own paths exist; the
// files need no API key while the API still does; GET /api/info; without a build `/` says how to make
// one, and `web: false` serves no page at all.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { Engine } from '../../src/engine/engine.js';
import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { writeTinyModel } from '../../src/model/tiny-model.node.js';
import { startServer, type ChameleonServer } from '../../src/server/app.js';
import { loadServedModel, type ServedModel } from '../../src/server/model.js';

const dir = mkdtempSync(join(tmpdir(), 'serve-web-'));
const engine = new Engine(createRefBackend());
const build = join(dir, 'build');
const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;
let model: ServedModel;
const servers: ChameleonServer[] = [];

before(async () => {
  writeTinyModel(engine, join(dir, 'model'));
  model = await loadServedModel(engine, join(dir, 'model'), { id: 'tiny' });
  mkdirSync(join(build, 'assets'), { recursive: true });
  writeFileSync(join(build, 'index.html'), '<!doctype html><title>app</title><script type="module" src="/assets/app-1a2b.js"></script>');
  writeFileSync(join(build, 'assets', 'app-1a2b.js'), script);
  writeFileSync(join(build, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
});

after(async () => {
  for (const s of servers) await s.shutdown(1000);
  engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(o: { web?: string | false; apiKey?: string } = {}): Promise<ChameleonServer> {
  const s = await startServer({ model, port: 0, web: build, ...o, log: () => {} });
  servers.push(s);
  return s;
}

/** A GET with raw bytes (fetch would undo the gzip). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // Host, port and path apart: a URL string would be normalised (its dot segments resolved).
    const u = new URL(url.slice(0, url.indexOf('/', 8)));
    request({ hostname: u.hostname, port: u.port, path: url.slice(u.origin.length) || '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

test('the build is served at / with types, ETags, gzip, cache headers and a CSP on the page', async () => {
  const s = await serve();
  assert.equal(s.webApp, true);
  const page = await get(`${s.url}/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'; img-src 'self' data: blob:; connect-src 'self'/);
  assert.match(page.body.toString(), /<title>app<\/title>/);
  assert.deepEqual((await get(`${s.url}/index.html`)).body, page.body, '/index.html is the same page');
  const etag = String(page.headers.etag);
  const again = await get(`${s.url}/`, { 'if-none-match': etag });
  assert.deepEqual([again.status, again.body.length], [304, 0]);

  const js = await get(`${s.url}/assets/app-1a2b.js`, { 'accept-encoding': 'gzip, br' });
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['content-encoding'], 'gzip');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable', 'hashed assets never change');
  assert.ok(js.body.length < script.length / 10);
  assert.equal(gunzipSync(js.body).toString(), script);
  const plain = await get(`${s.url}/assets/app-1a2b.js`);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), script);
  assert.equal(js.headers['content-security-policy'], undefined, 'the policy is the page’s');
  assert.equal((await get(`${s.url}/favicon.svg`)).headers['content-type'], 'image/svg+xml');

  // Only the build's own paths exist (sent raw: no client-side normalisation of the dots).
  for (const path of ['/assets/missing.js', '/assets/../index.html', '/assets/%2e%2e/index.html', '/../package.json', '/src/main.ts']) {
    const r = await get(`${s.url}${path}`);
    assert.deepEqual([r.status, (JSON.parse(r.body.toString()) as { error: { code: string } }).error.code], [404, 'unknown_url'], path);
  }
});

test('with an API key the page loads without it, the API needs it; /api/info tells the model and the limits', async () => {
  const s = await serve({ apiKey: 'k9' });
  assert.equal((await get(`${s.url}/`)).status, 200, 'the page holds no secret');
  assert.equal((await get(`${s.url}/assets/app-1a2b.js`)).status, 200);
  const denied = await fetch(`${s.url}/api/info`);
  assert.equal(denied.status, 401);
  assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'missing_api_key');
  const info = await fetch(`${s.url}/api/info`, { headers: { authorization: 'Bearer k9' } });
  assert.equal(info.status, 200);
  assert.deepEqual(await info.json(), {
    model: 'tiny',
    context: 256,
    image_tokens: 16,
    resolution: 32,
    can_read_images: true,
    can_draw_images: true,
    limits: { max_tokens: 4096, max_images: 4, max_body_bytes: 16 * 1024 * 1024, max_image_pixels: 4096 * 4096 },
    generation_defaults: { temperature: 0.7, image_temperature: 0.7, top_p: 0.9, cfg: '3way', guidance_text: 3, guidance_image: 1.2 },
  });
  assert.equal((await fetch(`${s.url}/nope`)).status, 401, 'an unknown path is not public');
});

test("/api/info's generation_defaults follow the model's generation_config.json", async () => {
  const greedyDir = join(dir, 'model-greedy');
  cpSync(join(dir, 'model'), greedyDir, { recursive: true });
  writeFileSync(join(greedyDir, 'generation_config.json'), JSON.stringify({ do_sample: false, chameleon: { image: { cfg: 'off' } } }));
  const greedy = await loadServedModel(engine, greedyDir, { id: 'greedy' });
  const s = await startServer({ model: greedy, port: 0, web: false, log: () => {} });
  servers.push(s);
  const info = (await (await fetch(`${s.url}/api/info`)).json()) as { generation_defaults: Record<string, unknown> };
  assert.deepEqual(info.generation_defaults, { temperature: 0, image_temperature: 0, top_p: 0.9, cfg: 'off', guidance_text: 3, guidance_image: 1.2 });
  const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: { chameleon: { generation_defaults: unknown } }[] };
  assert.deepEqual(models.data[0].chameleon.generation_defaults, { text: { greedy: true }, image: { greedy: true, cfg: 'off' } });
});

test('without a build / says how to make one; web: false serves no page', async () => {
  const missing = await serve({ web: join(dir, 'no-build') });
  assert.equal(missing.webApp, false);
  const r = await get(`${missing.url}/`);
  assert.equal(r.status, 404);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(r.body.toString(), /npm run build:web/);
  assert.equal((await fetch(`${missing.url}/health`)).status, 200, 'the API is served all the same');
  const none = await serve({ web: false });
  const n = await fetch(`${none.url}/`);
  assert.deepEqual([n.status, ((await n.json()) as { error: { code: string } }).error.code], [404, 'unknown_url']);
});
