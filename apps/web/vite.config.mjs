// The browser apps: the chat app (/app) and the admin console (/console), built by `npm run build`
// into dist/web/{app,console}/index.html with hashed assets in dist/web/web-assets (served by
// libs/server/src/web-static.ts). No inline script anywhere: the pages' CSP allows only 'self'.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { '@sdk': resolve(here, '../../libs/sdk/src') } },
  build: {
    outDir: resolve(here, '../../dist/web'),
    emptyOutDir: true,
    assetsDir: 'web-assets',
    // Everything inline as files: no data: scripts, and no modulepreload polyfill (an inline script).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: { app: resolve(here, 'app/index.html'), console: resolve(here, 'console/index.html') },
    },
  },
});
