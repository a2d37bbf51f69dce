// The browser apps: the chat app (/app) and the admin console (/console), built by `npm run build`
// into dist/web/{app,console}/index.html with hashed assets in dist/web/web-assets (served by
// libs/server/src/web-static.ts). No inline script anywhere: the pages' CSP allows only 'self'.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const here = import.meta.dirname;
// ts-mls (E2E v2) loads the algorithms of other ciphersuites with import() of optional packages that are
// not installed; the app's ciphersuite needs none of them, so they stay unresolved imports never run.
const TS_MLS_OPTIONAL = [/^@hpke\/(chacha20poly1305|hybridkem-x-wing|dhkem-x448|ml-kem)$/, /^@noble\/post-quantum\//];

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // The SDK's own imports of other libs (@chat/<name>, as in the repository's tsconfig) resolve to their sources.
  resolve: {
    alias: [
      { find: '@sdk', replacement: resolve(here, '../../libs/sdk/src') },
      { find: /^@chat\/([^/]+)$/, replacement: resolve(here, '../../libs') + '/$1/src' },
    ],
  },
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
      external: TS_MLS_OPTIONAL,
    },
  },
});
