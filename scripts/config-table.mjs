#!/usr/bin/env node
// Prints the README's configuration table from libs/config/src/app-config.ts: one row per AppConfig
// property (the variable), its default and its doc comment. `--check README.md` exits 1 when the
// README's table differs, so the table can never drift from the code (run by the unit tests).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = readFileSync(join(root, 'libs/config/src/app-config.ts'), 'utf8');
const body = src.slice(src.indexOf('export class AppConfig'), src.indexOf('\n}\n', src.indexOf('export class AppConfig')));

const rows = [];
let doc = '';
let pendingDoc = false;
for (const raw of body.split('\n')) {
  const line = raw.trim();
  if (line.startsWith('/**')) {
    doc = line.replace(/^\/\*\*\s?/, '').replace(/\s*\*\/$/, '');
    pendingDoc = !line.endsWith('*/');
    continue;
  }
  if (pendingDoc) {
    doc += ' ' + line.replace(/^\*\s?/, '').replace(/\s*\*\/$/, '');
    if (line.endsWith('*/')) pendingDoc = false;
    continue;
  }
  const m = line.match(/\b([A-Z][A-Z0-9_]+)(\?)?(?::\s*[^=;]+)?(?:\s*=\s*(.+))?;\s*$/);
  if (!m) continue;
  let def = m[3];
  if (def === undefined) def = '(unset)';
  else if (/^[\d\s*+]+$/.test(def)) def = String(Function(`return (${def})`)());
  else def = def.replace(/^'(.*)'$/, '$1');
  rows.push(`| \`${m[1]}\` | \`${def}\` | ${doc.trim().replace(/\|/g, '\\|') || ' '} |`);
  doc = '';
}
const table = ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');

const checkIdx = process.argv.indexOf('--check');
if (checkIdx > 0) {
  const readme = readFileSync(resolve(root, process.argv[checkIdx + 1] ?? 'README.md'), 'utf8');
  if (!readme.includes(table)) {
    console.error('README.md configuration table is out of date: run `node scripts/config-table.mjs` and paste its output.');
    process.exit(1);
  }
  console.log(`README configuration table matches (${rows.length} variables)`);
} else {
  console.log(table);
}
