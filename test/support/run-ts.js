#!/usr/bin/env node
/*
 * Runs a TypeScript entry point of this repository as its own process, straight from the sources:
 * `node test/support/run-ts.js apps/all-in-one/src/main.ts`. Tests use it to start the real apps as
 * operators do (process exit codes, signals, stderr) without a build step. Through scripts/register-ts.js,
 * like the CLI launcher.
 */
'use strict';
const path = require('node:path');
const { root, register } = require('../../scripts/register-ts');

const entry = process.argv[2];
if (!entry) {
  console.error('usage: node test/support/run-ts.js <entry.ts>');
  process.exit(2);
}
register();
// The entry sees only its own arguments, as if it had been started directly.
process.argv.splice(1, 2, path.resolve(root, entry));
require(path.resolve(root, entry));
