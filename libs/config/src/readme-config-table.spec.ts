import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// The README's configuration table is generated from AppConfig; a variable added without updating the
// README fails here (fix: `node scripts/config-table.mjs` and paste the table).
describe('README configuration table', () => {
  it('lists every AppConfig variable with its default', () => {
    const root = join(__dirname, '..', '..', '..');
    const out = execFileSync(process.execPath, [join(root, 'scripts', 'config-table.mjs'), '--check', join(root, 'README.md')], { encoding: 'utf8' });
    expect(out).toContain('matches');
  });
});
