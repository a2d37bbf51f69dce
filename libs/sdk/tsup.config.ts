import { defineConfig } from 'tsup';

/**
 * The SDK as an npm package: ESM (dist/*.js) and CommonJS (dist/*.cjs), each with its own declarations
 * (.d.ts / .d.cts), for browsers and Node >= 20.19. Two entries: the package root, and `/mls` (E2E v2,
 * the only part that imports ts-mls, so v1-only apps do not load it). Code both entries use (errors,
 * HTTP, crypto helpers) is split into shared chunks in both formats, so a ChatApiError thrown by the
 * root's ChatUserClient is the class `/mls` checks against. Dependencies stay external (the installer
 * dedupes them); @noble/* and ts-mls are ESM-only, which the CommonJS build can require() on Node >= 20.19.
 */
export default defineConfig({
  entry: { index: 'src/index.ts', mls: 'src/mls/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  tsconfig: 'tsconfig.build.json',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
});
