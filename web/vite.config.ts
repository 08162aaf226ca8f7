// Vite build of the web app (web/ -> build/web, served by `chameleon serve` at /). Run from the
// repository root as `vite build web` (npm run build:web); `vite web` serves it for development
// with the API proxied to a running `chameleon serve` on port 8080.
import { defineConfig } from 'vite';

const api = { target: 'http://127.0.0.1:8080', changeOrigin: false };

export default defineConfig({
  base: '/',
  build: {
    outDir: '../build/web',
    emptyOutDir: true,
    target: 'es2022',
    // One entry, no lazy chunks: no preload polyfill (it would be an inline script under the page's CSP).
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': api, '/v1': api, '/health': api } },
});
