import * as all from './index';
import * as values from './values';

it('the crypto namespace (values.ts) holds every value of crypto/index.ts', () => {
  expect(Object.keys(values).sort()).toEqual(Object.keys(all).sort());
  for (const k of Object.keys(all)) expect((values as Record<string, unknown>)[k]).toBe((all as Record<string, unknown>)[k]);
});
