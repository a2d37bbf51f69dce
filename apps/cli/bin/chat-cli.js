#!/usr/bin/env node
/*
 * Starts the management CLI (`npm run cli -- <command>`).
 *
 * In a source checkout (after `npm install`) it runs the TypeScript sources directly, transpiled in
 * memory by @swc/core (the same transform jest uses): no build step, never a stale dist. In a
 * production image (dev dependencies omitted) it runs the compiled dist/apps/cli/src/main.js from
 * `npm run build`. CHAT_CLI_FROM_DIST=1 forces the compiled one.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { root, canRegister, register } = require('../../../scripts/register-ts');

const dist = path.join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
const src = path.join(root, 'apps', 'cli', 'src', 'main.ts');

if (process.env.CHAT_CLI_FROM_DIST !== '1' && canRegister() && fs.existsSync(src)) {
  register();
  require(src);
} else if (fs.existsSync(dist)) {
  require(dist);
} else {
  console.error('The CLI is not built and @swc/core is not installed: run `npm install` (development) or `npm run build`.');
  process.exit(1);
}
