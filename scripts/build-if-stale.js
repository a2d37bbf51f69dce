#!/usr/bin/env node
/*
 * `npm start`'s build step: runs `npm run build` only when the output is missing or older than its
 * inputs (every .ts under apps/ and libs/, the web apps' .tsx, .css and .html under apps/web, the tsconfigs
 * and the Vite config, package-lock.json), so a start with nothing
 * changed goes straight to the server. The stamp (dist/.build-stamp) gets the time the build STARTED:
 * a file saved during a build is newer than it, and the next start builds again.
 * `node scripts/build-if-stale.js --check` only says whether a build is needed (exit 1: stale).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const outputs = [path.join(root, 'dist', 'apps', 'all-in-one', 'src', 'main.js'), path.join(root, 'dist', 'web', 'app', 'index.html'), path.join(root, 'dist', 'web', 'console', 'index.html')];
const INPUT_DIRS = ['apps', 'libs'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'apps/web/tsconfig.json', 'apps/web/vite.config.mjs'];
/** Sources of the server (.ts) and of the browser apps (apps/web: .tsx, .css, .html). */
const INPUT_EXT = /\.(ts|tsx|css|html)$/;

/** The newest input, or null when none is newer than `since` (stops at the first newer one). */
function newerInput(since) {
  for (const f of INPUT_FILES) {
    const p = path.join(root, f);
    if (fs.existsSync(p) && fs.statSync(p).mtimeMs > since) return p;
  }
  const stack = INPUT_DIRS.map((d) => path.join(root, d));
  while (stack.length) {
    const dir = stack.pop();
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') stack.push(p);
      } else if (INPUT_EXT.test(e.name) && !e.name.endsWith('.spec.ts') && fs.statSync(p).mtimeMs > since) {
        return p;
      }
    }
  }
  return null;
}

function staleBecause() {
  if (!fs.existsSync(stamp) || !outputs.every((o) => fs.existsSync(o))) return 'no build yet';
  const changed = newerInput(fs.statSync(stamp).mtimeMs);
  return changed ? `${path.relative(root, changed)} changed` : null;
}

const reason = staleBecause();
if (process.argv.includes('--check')) {
  console.log(reason ? `stale: ${reason}` : 'up to date');
  process.exit(reason ? 1 : 0);
}
if (!reason) {
  console.log('build: up to date (dist/), skipped');
  process.exit(0);
}
console.log(`build: ${reason}, building`);
const started = new Date();
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const r = spawnSync(npm, ['run', '-s', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) process.exit(r.status ?? 1);
fs.mkdirSync(path.dirname(stamp), { recursive: true });
fs.writeFileSync(stamp, `${started.toISOString()}\n`);
fs.utimesSync(stamp, started, started);
