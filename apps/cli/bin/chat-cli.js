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
const Module = require('node:module');

const root = path.resolve(__dirname, '..', '..', '..');
const dist = path.join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
const src = path.join(root, 'apps', 'cli', 'src', 'main.ts');

function canTranspile() {
  try {
    require.resolve('@swc/core', { paths: [root] });
    return fs.existsSync(src);
  } catch {
    return false;
  }
}

if (process.env.CHAT_CLI_FROM_DIST !== '1' && canTranspile()) {
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
    const code = fs.readFileSync(filename, 'utf8');
    const out = swc.transformSync(code, { ...options, filename });
    mod._compile(out.code, filename);
  };
  // @chat/<lib>[/sub] -> libs/<lib>/src[/sub], as tsconfig "paths" says.
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    if (request.startsWith('@chat/')) {
      const [lib, ...sub] = request.slice('@chat/'.length).split('/');
      request = path.join(root, 'libs', lib, 'src', ...sub);
    }
    return resolve.call(this, request, parent, ...rest);
  };
  require(src);
} else if (fs.existsSync(dist)) {
  require(dist);
} else {
  console.error('The CLI is not built and @swc/core is not installed: run `npm install` (development) or `npm run build`.');
  process.exit(1);
}
