/*
 * Lets plain `node` require this repository's TypeScript sources: an in-memory @swc/core transform (the
 * one jest uses) for .ts files, and the tsconfig "paths" mapping @chat/<lib>[/sub] -> libs/<lib>/src.
 * Used by the CLI launcher (apps/cli/bin/chat-cli.js) and by tests that start apps as processes.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const root = path.resolve(__dirname, '..');

/** The TypeScript transform (decorators with metadata, as Nest needs); jest.config.js uses it too. */
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

/** Whether @swc/core is installed (not in a production image, where dev dependencies are omitted). */
function canRegister() {
  try {
    require.resolve('@swc/core', { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

function register() {
  const swc = require(require.resolve('@swc/core', { paths: [root] }));
  Module._extensions['.ts'] = (mod, filename) => {
    const out = swc.transformSync(fs.readFileSync(filename, 'utf8'), { ...swcOptions, filename });
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
}

module.exports = { root, swcOptions, canRegister, register };

// A child process an app forks from its TypeScript sources (`--require` this file): the same transform.
if (process.env.CHAT_REGISTER_TS === '1') {
  delete process.env.CHAT_REGISTER_TS;
  register();
}
