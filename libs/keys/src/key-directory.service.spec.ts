import { AppError } from '@chat/errors';
import { asTenantId, TenantContext } from '@chat/tenancy';
import type { DeviceKeyRecord } from './device-key.schema';
import { currentVersions, findMissingRecipientKeys, KeyDirectoryService } from './key-directory.service';

const key = (user_id: string, device_id: string, key_version: number, revoked = false) =>
  ({ user_id, device_id, key_version, public_key: 'pk', signing_key: null, created_at: new Date(0), revoked_at: revoked ? new Date(0) : null }) as unknown as DeviceKeyRecord;

describe('currentVersions', () => {
  it('keeps the highest live version of each live device', () => {
    const cur = currentVersions([key('u', 'a', 1), key('u', 'a', 3), key('u', 'a', 2), key('u', 'b', 1, true), key('v', 'a', 1)]);
    expect(cur.map((k) => `${k.user_id}/${k.device_id}/${k.key_version}`).sort()).toEqual(['u/a/3', 'v/a/1']);
  });
});

describe('findMissingRecipientKeys', () => {
  const devices = new Map([
    ['alice', [{ device_id: 'phone', key_version: 2 }, { device_id: 'laptop', key_version: 1 }]],
    ['bob', [{ device_id: 'tab', key_version: 1 }]],
  ]);
  const entry = (user_id: string, device_id: string, key_version: number) => ({ user_id, device_id, key_version });

  it('accepts an envelope covering the current version of every live device', () => {
    expect(findMissingRecipientKeys(['alice', 'bob'], devices, [entry('alice', 'phone', 2), entry('alice', 'laptop', 1), entry('bob', 'tab', 1)])).toEqual([]);
  });

  it('lists each missing device with the version to wrap for (an old version does not count)', () => {
    expect(findMissingRecipientKeys(['alice', 'bob'], devices, [entry('alice', 'phone', 1), entry('alice', 'laptop', 1)])).toEqual([
      { user_id: 'alice', device_id: 'phone', key_version: 2 },
      { user_id: 'bob', device_id: 'tab', key_version: 1 },
    ]);
  });

  it('keeps the user-level rule for members without any device', () => {
    expect(findMissingRecipientKeys(['carol'], devices, [])).toEqual([{ user_id: 'carol', device_id: null, key_version: null }]);
    expect(findMissingRecipientKeys(['carol'], devices, [entry('carol', 'whatever', 7)])).toEqual([]);
  });

  it('ignores extra entries and duplicate member ids', () => {
    expect(findMissingRecipientKeys(['bob', 'bob'], devices, [entry('bob', 'tab', 1), entry('mallory', 'x', 1)])).toEqual([]);
  });
});

describe('KeyDirectoryService.publish', () => {
  const pk = (n: number) => Buffer.alloc(32, n).toString('base64');
  function make(existing: DeviceKeyRecord[], live: string[] = []) {
    const inserted: unknown[] = [];
    const repo = {
      versionsOf: jest.fn(async () => [...existing, ...(inserted as DeviceKeyRecord[])]),
      insertVersion: jest.fn(async (d: unknown) => (inserted.push(d), true)),
      liveDeviceIds: jest.fn(async () => live),
    };
    const cache = { del: jest.fn(async () => undefined), defaultTtlSeconds: 60 };
    const svc = new KeyDirectoryService(repo as never, cache as never, { KEYS_MAX_DEVICES_PER_USER: 2 } as never);
    return { svc, repo, cache, inserted };
  }
  const run = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId('t1') }, fn);
  const codeOf = async (p: Promise<unknown>) => p.then(() => 'ok', (e: AppError) => `${e.getStatus()} ${e.code}`);

  it('creates a first version and invalidates the cached keys', async () => {
    const { svc, cache } = make([]);
    const r = await run(() => svc.publish('u', 'd', { key_version: 1, public_key: pk(1) }));
    expect(r.created).toBe(true);
    expect(r.key).toMatchObject({ user_id: 'u', device_id: 'd', key_version: 1, public_key: pk(1), signing_key: null });
    expect(cache.del).toHaveBeenCalledWith(['device-keys', 'u']);
  });

  it('is idempotent for the same keys and refuses changed or older versions', async () => {
    const existing = [{ ...key('u', 'd', 2), public_key: pk(2) }];
    const { svc } = make(existing as DeviceKeyRecord[]);
    expect((await run(() => svc.publish('u', 'd', { key_version: 2, public_key: pk(2) }))).created).toBe(false);
    expect(await codeOf(run(() => svc.publish('u', 'd', { key_version: 2, public_key: pk(3) })))).toBe('409 conflict');
    expect(await codeOf(run(() => svc.publish('u', 'd', { key_version: 1, public_key: pk(3) })))).toBe('409 conflict');
  });

  it('validates keys, versions and device ids, and bounds the devices per user', async () => {
    const { svc } = make([], ['a', 'b']);
    expect(await codeOf(run(() => svc.publish('u', 'd', { key_version: 1, public_key: 'short' })))).toBe('400 validation_failed');
    expect(await codeOf(run(() => svc.publish('u', 'd', { key_version: 1.5, public_key: pk(1) })))).toBe('400 validation_failed');
    expect(await codeOf(run(() => svc.publish('u', 'no spaces', { key_version: 1, public_key: pk(1) })))).toBe('400 validation_failed');
    expect(await codeOf(run(() => svc.publish('u', 'd', { key_version: 1, public_key: pk(1), signing_key: 'x' })))).toBe('400 validation_failed');
    expect(await codeOf(run(() => svc.publish('u', 'c', { key_version: 1, public_key: pk(1) })))).toBe('429 quota_exceeded');
  });
});
