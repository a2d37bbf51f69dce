import { defineConfig } from 'tsup';

/**
 * The SDK as an npm package: ESM (dist/index.js) and CommonJS (dist/index.cjs), each with its own
 * declarations (.d.ts / .d.cts), for browsers and Node >= 20.19. Dependencies stay external (the
 * installer dedupes them); @noble/* is ESM-only, which the CommonJS build can require() on Node >= 20.19.
 */
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  tsconfig: 'tsconfig.build.json',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  clean: true,
  treeshake: true,
});
