#!/usr/bin/env node
/*
 * Runs a TypeScript entry point of this repository as its own process, straight from the sources:
 * `node test/support/run-ts.js apps/all-in-one/src/main.ts`. Tests use it to start the real apps as
 * operators do (process exit codes, signals, stderr) without a build step. Same in-memory @swc/core
 * transform as jest and apps/cli/bin/chat-cli.js, and the tsconfig "paths" mapping of @chat/<lib>.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const root = path.resolve(__dirname, '..', '..');
const entry = process.argv[2];
if (!entry) {
  console.error('usage: node test/support/run-ts.js <entry.ts>');
  process.exit(2);
}
const swc = require(require.resolve('@swc/core', { paths: [root] }));
const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
Module._extensions['.ts'] = (mod, filename) => {
  const out = swc.transformSync(fs.readFileSync(filename, 'utf8'), { ...options, filename });
  mod._compile(out.code, filename);
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request.startsWith('@chat/')) {
    const [lib, ...sub] = request.slice('@chat/'.length).split('/');
    request = path.join(root, 'libs', lib, 'src', ...sub);
  }
  return resolve.call(this, request, parent, ...rest);
};
// The entry sees only its own arguments, as if it had been started directly.
process.argv.splice(1, 2, path.resolve(root, entry));
require(path.resolve(root, entry));
