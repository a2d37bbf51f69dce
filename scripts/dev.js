#!/usr/bin/env node
/*
 * `npm run dev`: the all-in-one server straight from the TypeScript sources (in-memory @swc/core
 * transform, scripts/register-ts.js: no tsc, no tsc-alias, no dist), with readable logs. Started by
 * `node --watch`, which restarts it when a loaded file changes; the server's SIGTERM handler stops the
 * embedded services before the restart.
 */
'use strict';
const path = require('node:path');
const { root, register } = require('./register-ts');

process.env.LOG_PRETTY ??= 'true';
register();
const entry = path.join(root, 'apps', 'all-in-one', 'src', 'main.ts');
process.argv.splice(1, 1, entry);
require(entry);
