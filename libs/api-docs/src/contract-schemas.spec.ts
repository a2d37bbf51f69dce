import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** The OpenAPI schemas are generated from libs/contracts: a contract change without regenerating fails here. */
describe('contract schemas', () => {
  it('libs/api-docs/src/contract-schemas.generated.ts is up to date with libs/contracts', () => {
    const root = path.resolve(__dirname, '../../..');
    expect(() => execFileSync(process.execPath, [path.join(root, 'scripts/contract-schemas.js'), '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  }, 120_000);
});
