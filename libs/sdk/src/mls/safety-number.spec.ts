import { randomBytes } from '../crypto/random';
import { safetyNumber, sameSafetyNumber, userFingerprint, usersFromCredentials } from './safety-number';

// Iterated SHA-512 (~0.2 s per test on a quiet machine, 12.6 s for the file in a CI run with both cores
// held busy): bounded work, so a budget that a loaded machine cannot exceed by accident.
jest.setTimeout(60_000);

const dev = (deviceId: string) => ({ deviceId, signaturePublicKey: randomBytes(32) });

describe('safety numbers (SDK)', () => {
  const [phone, laptop, tablet] = [dev('phone'), dev('laptop'), dev('tablet')];
  const alice = { tenantId: 'acme', userId: 'alice', devices: [phone, laptop] };
  const bob = { tenantId: 'acme', userId: 'bob', devices: [dev('pc')] };

  it('is 30 digits per user, deterministic and independent of device order', () => {
    const f = userFingerprint(alice);
    expect(f).toMatch(/^\d{30}$/);
    expect(userFingerprint({ ...alice, devices: [laptop, phone] })).toBe(f);
    expect(userFingerprint({ ...alice, devices: [{ ...phone, signaturePublicKey: phone.signaturePublicKey.slice() }, laptop] })).toBe(f);
  });

  it('changes when a device is added, removed or re-keyed, and differs per user and tenant', () => {
    const f = userFingerprint(alice);
    expect(userFingerprint({ ...alice, devices: [phone, laptop, tablet] })).not.toBe(f);
    expect(userFingerprint({ ...alice, devices: [phone] })).not.toBe(f);
    expect(userFingerprint({ ...alice, devices: [phone, { ...laptop, signaturePublicKey: randomBytes(32) }] })).not.toBe(f);
    expect(userFingerprint({ ...alice, userId: 'alice2' })).not.toBe(f);
    expect(userFingerprint({ ...alice, tenantId: 'other' })).not.toBe(f);
    expect(() => userFingerprint({ ...alice, devices: [phone, phone] })).toThrow(/twice/);
    expect(() => userFingerprint({ ...alice, devices: [] })).toThrow();
  });

  it('two users compute the same safety number for each other, and compare it', () => {
    const seenByAlice = safetyNumber(alice, bob);
    const seenByBob = safetyNumber(bob, { ...alice, devices: [laptop, phone] });
    expect(seenByAlice).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(seenByAlice).toBe(seenByBob);
    expect(sameSafetyNumber(seenByAlice, seenByBob.replace(/ /g, ''))).toBe(true);
    // Bob's view after a device of Alice's was added (say, by a hostile server) no longer matches.
    const afterAdd = safetyNumber(bob, { ...alice, devices: [phone, laptop, tablet] });
    expect(sameSafetyNumber(seenByAlice, afterAdd)).toBe(false);
    expect(sameSafetyNumber(seenByAlice, '12345')).toBe(false);
  });

  it('groups MLS member credentials by user', () => {
    const users = usersFromCredentials([
      { tenantId: 'acme', userId: 'alice', deviceId: 'phone', signaturePublicKey: phone.signaturePublicKey },
      { tenantId: 'acme', userId: 'bob', deviceId: 'pc', signaturePublicKey: bob.devices[0]!.signaturePublicKey },
      { tenantId: 'acme', userId: 'alice', deviceId: 'laptop', signaturePublicKey: laptop.signaturePublicKey },
    ]);
    expect(safetyNumber(users.get('alice')!, users.get('bob')!)).toBe(safetyNumber(alice, bob));
  });
});
