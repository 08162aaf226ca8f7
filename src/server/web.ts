// Serves the browser app (web/, built by Vite into build/web at install) at `/`. Every file of the
// build is read into memory once when the server starts, so exactly those paths exist (no file-system
// lookup per request, nothing outside the folder reachable); text files are gzipped once. Answers carry
// a content type, an ETag (304 on If-None-Match), cache headers (hashed assets immutable, the page
// revalidated) and, for the page, a strict Content-Security-Policy. Without a build, `/` says how to make one.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs no API key (the web app's files). */
    public?: boolean;
  }
}

/** Where `npm run build:web` writes the app (build/web of this package). */
export const WEB_BUILD_DIR = fileURLToPath(new URL('../../../build/web', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The page may load its own scripts and styles, show data: and blob: images, and call this server only. */
const PAGE_POLICY = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface WebFile {
  body: Buffer;
  /** The gzipped body, when it is smaller. */
  gzip: Buffer | null;
  type: string;
  etag: string;
  cache: string;
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The files of a built app by URL path ('/' is index.html), or null when `dir` holds no index.html. */
function loadWebApp(dir: string): Map<string, WebFile> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, WebFile>();
  for (const file of walk(dir, [])) {
    const rel = relative(dir, file).split(sep).join('/');
    const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    const body = readFileSync(file);
    const text = /^(text\/|application\/(json|manifest)|image\/svg)/.test(type);
    const gz = text && body.length > 512 ? gzipSync(body, { level: 9 }) : null;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    // Vite names built assets by content hash (assets/index-3f2a9c.js): they never change.
    const cache = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    const f = { body, gzip: gz && gz.length < body.length ? gz : null, type, etag, cache };
    files.set(`/${rel}`, f);
    if (rel === 'index.html') files.set('/', f);
  }
  return files;
}

function send(f: WebFile, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  void reply.header('etag', f.etag).header('cache-control', f.cache).header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
  if (f.type.startsWith('text/html')) void reply.header('content-security-policy', PAGE_POLICY).header('referrer-policy', 'no-referrer');
  if (req.headers['if-none-match'] === f.etag) return reply.code(304).send();
  void reply.type(f.type);
  if (f.gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(f.gzip);
  return reply.send(f.body);
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>chameleon-ts</title>
<h1>The web app is not built</h1>
<p>Run <code>npm run build:web</code> in the chameleon-ts checkout (<code>npm install</code> builds it), then reload.
The API is served all the same: <code>/v1/chat/completions</code>, <code>/api/generate</code>, <code>/health</code>.</p>`;

/**
 * Registers GET routes for the app in `dir` (public: marked `config.public`, so the API key check
 * passes them). Returns whether a build was found; without one `/` answers 404 with how to build it.
 */
export function registerWebRoutes(app: FastifyInstance, dir: string): boolean {
  const files = loadWebApp(dir);
  if (!files) {
    app.get('/', { config: { public: true } }, async (_req, reply) => reply.code(404).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT));
    return false;
  }
  for (const [path, f] of files) app.get(path, { config: { public: true } }, async (req, reply) => send(f, req, reply));
  return true;
}
