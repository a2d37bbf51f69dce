import { Injectable } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { CacheService } from '@chat/cache';
import type { DeviceKeyView, DeviceView, MissingRecipientKey } from '@chat/contracts';
import { AppError, ErrorCode } from '@chat/errors';
import { DeviceKeysRepository } from './device-keys.repository';
import { DeviceKeyRecord } from './device-key.schema';

export const DEVICE_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
export const MAX_KEY_VERSION = 0xffffffff;
/** X25519 and Ed25519 public keys are 32 bytes: 44 characters of padded standard base64. */
const KEY_32_B64_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** Above this many users, one $in query beats one cache lookup per user. */
const CACHE_FANOUT_MAX = 100;

export interface PublishKeyInput {
  key_version: number;
  public_key: string;
  signing_key?: string | null;
}

export interface WrappedKeyRef {
  user_id: string;
  device_id: string;
  key_version: number;
}

export function toDeviceKeyView(d: DeviceKeyRecord): DeviceKeyView {
  return {
    user_id: d.user_id,
    device_id: d.device_id,
    key_version: d.key_version,
    public_key: d.public_key,
    signing_key: d.signing_key ?? null,
    created_at: new Date(d.created_at).toISOString(),
    revoked_at: d.revoked_at ? new Date(d.revoked_at).toISOString() : null,
  };
}

/** The current (highest live) version of each live device, in device order. */
export function currentVersions(keys: DeviceKeyRecord[]): DeviceKeyRecord[] {
  const byDevice = new Map<string, DeviceKeyRecord>();
  for (const k of keys) {
    if (k.revoked_at) continue;
    const id = `${k.user_id}\u0000${k.device_id}`;
    const prev = byDevice.get(id);
    if (!prev || prev.key_version < k.key_version) byDevice.set(id, k);
  }
  return [...byDevice.values()];
}

/**
 * Rule of the message send path: an envelope must carry a wrapped key for the current key version of
 * every live device of every member. Members who never published a device keep the user-level rule
 * (at least one entry for the user). Pure, so it unit-tests without a database.
 */
export function findMissingRecipientKeys(
  memberIds: readonly string[],
  devicesByUser: ReadonlyMap<string, ReadonlyArray<{ device_id: string; key_version: number }>>,
  entries: readonly WrappedKeyRef[],
): MissingRecipientKey[] {
  const have = new Set<string>();
  const usersWithEntry = new Set<string>();
  for (const e of entries) {
    have.add(`${e.user_id}\u0000${e.device_id}\u0000${e.key_version}`);
    usersWithEntry.add(e.user_id);
  }
  const missing: MissingRecipientKey[] = [];
  for (const userId of new Set(memberIds)) {
    const devices = devicesByUser.get(userId) ?? [];
    if (devices.length === 0) {
      if (!usersWithEntry.has(userId)) missing.push({ user_id: userId, device_id: null, key_version: null });
      continue;
    }
    for (const d of devices) {
      if (!have.has(`${userId}\u0000${d.device_id}\u0000${d.key_version}`)) {
        missing.push({ user_id: userId, device_id: d.device_id, key_version: d.key_version });
      }
    }
  }
  return missing;
}

/**
 * The public-key directory: devices publish X25519 (and optional Ed25519) public keys per key version;
 * members fetch each other's current keys to wrap content keys. The server stores public keys only.
 */
@Injectable()
export class KeyDirectoryService {
  constructor(
    private readonly repo: DeviceKeysRepository,
    private readonly cache: CacheService,
    private readonly config: AppConfig,
  ) {}

  private static cacheKey(userId: string): string[] {
    return ['device-keys', userId];
  }

  private static checkDeviceId(deviceId: string): void {
    if (typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId)) {
      throw AppError.validation([{ field: 'device_id', problems: ['must be 1-64 characters of A-Z a-z 0-9 _ . : -'] }]);
    }
  }

  private static checkInput(input: PublishKeyInput): void {
    const problems: Array<{ field: string; problems: string[] }> = [];
    if (!Number.isInteger(input.key_version) || input.key_version < 1 || input.key_version > MAX_KEY_VERSION) {
      problems.push({ field: 'key_version', problems: [`must be an integer from 1 to ${MAX_KEY_VERSION}`] });
    }
    if (typeof input.public_key !== 'string' || !KEY_32_B64_RE.test(input.public_key)) {
      problems.push({ field: 'public_key', problems: ['must be a 32-byte X25519 public key in standard base64'] });
    } else if (input.public_key === 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=') {
      problems.push({ field: 'public_key', problems: ['must not be the all-zero key'] });
    }
    if (input.signing_key !== undefined && input.signing_key !== null && (typeof input.signing_key !== 'string' || !KEY_32_B64_RE.test(input.signing_key))) {
      problems.push({ field: 'signing_key', problems: ['must be a 32-byte Ed25519 public key in standard base64'] });
    }
    if (problems.length) throw AppError.validation(problems);
  }

  /**
   * Publishes a key version for one of the user's devices. Re-publishing the same version with the
   * same keys is a no-op (created: false); a different key under an existing version, or a version
   * not above every earlier one of the device, is a 409: versions only move forward.
   */
  async publish(userId: string, deviceId: string, input: PublishKeyInput): Promise<{ key: DeviceKeyView; created: boolean }> {
    KeyDirectoryService.checkDeviceId(deviceId);
    KeyDirectoryService.checkInput(input);
    const signing = input.signing_key ?? null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const versions = await this.repo.versionsOf(userId, deviceId);
      const same = versions.find((v) => v.key_version === input.key_version);
      if (same) {
        if (same.public_key === input.public_key && (same.signing_key ?? null) === signing && !same.revoked_at) {
          return { key: toDeviceKeyView(same), created: false };
        }
        throw AppError.conflict(`Key version ${input.key_version} of device ${deviceId} is already published with different keys; publish a higher version`, {
          device_id: deviceId,
          latest_key_version: versions[versions.length - 1]!.key_version,
        });
      }
      const latest = versions[versions.length - 1];
      if (latest && latest.key_version > input.key_version) {
        throw AppError.conflict(`Key versions only move forward: device ${deviceId} already has version ${latest.key_version}`, {
          device_id: deviceId,
          latest_key_version: latest.key_version,
        });
      }
      if (!versions.some((v) => !v.revoked_at)) {
        const live = await this.repo.liveDeviceIds(userId);
        if (live.length >= this.config.KEYS_MAX_DEVICES_PER_USER) {
          throw new AppError(ErrorCode.QuotaExceeded, `A user may have at most ${this.config.KEYS_MAX_DEVICES_PER_USER} devices; remove one first`, {
            limit: this.config.KEYS_MAX_DEVICES_PER_USER,
          });
        }
      }
      const doc = { user_id: userId, device_id: deviceId, key_version: input.key_version, public_key: input.public_key, signing_key: signing, created_at: new Date(), revoked_at: null };
      if (await this.repo.insertVersion(doc)) {
        await this.cache.del(KeyDirectoryService.cacheKey(userId));
        const stored = (await this.repo.versionsOf(userId, deviceId)).find((v) => v.key_version === input.key_version);
        return { key: toDeviceKeyView(stored ?? ({ ...doc, _id: undefined } as unknown as DeviceKeyRecord)), created: true };
      }
      // Lost a race with a concurrent publish of the same version: re-read and decide again.
    }
    throw AppError.conflict('Concurrent key publication, retry');
  }

  /** Revokes every version of the device: senders stop wrapping keys for it. 404 if it is not live. */
  async removeDevice(userId: string, deviceId: string): Promise<void> {
    if (typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId)) throw AppError.notFound('Device');
    const n = await this.repo.revokeDevice(userId, deviceId, new Date());
    await this.cache.del(KeyDirectoryService.cacheKey(userId));
    if (n === 0) throw AppError.notFound('Device');
  }

  /** Right to erasure: every key version of every device of the user. */
  async removeUser(userId: string): Promise<number> {
    const n = await this.repo.removeUser(userId);
    await this.cache.del(KeyDirectoryService.cacheKey(userId));
    return n;
  }

  /** The user's live devices, each with its current version and full version history. */
  async listDevices(userId: string): Promise<DeviceView[]> {
    const all = await this.repo.ofUsers([userId], { liveOnly: true });
    const history = new Map<string, DeviceKeyView[]>();
    for (const k of all) {
      const list = history.get(k.device_id) ?? [];
      list.push(toDeviceKeyView(k));
      history.set(k.device_id, list);
    }
    return currentVersions(all).map((k) => ({ ...toDeviceKeyView(k), versions: history.get(k.device_id) ?? [] }));
  }

  /**
   * Current key of every live device of these users (what senders wrap for), by user. Cached per user;
   * publish and remove invalidate. The lists are frozen and shared (getOrLoadManyFrozen: a group send
   * reads every member's, and parsing them again was most of this call): copy one to change it.
   */
  async currentKeys(userIds: readonly string[]): Promise<Map<string, readonly DeviceKeyView[]>> {
    const ids = [...new Set(userIds)];
    if (ids.length > CACHE_FANOUT_MAX) {
      const keys = currentVersions(await this.repo.ofUsers(ids, { liveOnly: true }));
      const lists = new Map<string, DeviceKeyView[]>(ids.map((id) => [id, []]));
      for (const k of keys) lists.get(k.user_id)!.push(toDeviceKeyView(k));
      return lists;
    }
    // Every member's entry in one cache round trip; the misses in one query.
    const lists = await this.cache.getOrLoadManyFrozen(ids.map(KeyDirectoryService.cacheKey), this.cache.defaultTtlSeconds, async (missing) => {
      const wanted = missing.map((i) => ids[i]!);
      const byUser = new Map<string, DeviceKeyView[]>(wanted.map((id) => [id, []]));
      for (const k of currentVersions(await this.repo.ofUsers(wanted, { liveOnly: true }))) byUser.get(k.user_id)?.push(toDeviceKeyView(k));
      return wanted.map((id) => byUser.get(id)!);
    });
    return new Map(ids.map((id, i) => [id, lists[i]!]));
  }

  /** Every version of every device of these users, revoked ones included (to verify old signatures). */
  async allKeys(userIds: readonly string[]): Promise<DeviceKeyView[]> {
    return (await this.repo.ofUsers([...new Set(userIds)], { liveOnly: false })).map(toDeviceKeyView);
  }

  /** Which recipient devices an envelope lacks (empty when it is complete). */
  async missingRecipientKeys(memberIds: readonly string[], entries: readonly WrappedKeyRef[]): Promise<MissingRecipientKey[]> {
    const devices = await this.currentKeys(memberIds);
    return findMissingRecipientKeys(memberIds, devices, entries);
  }

  /**
   * The send-path check: throws 422 `missing_recipient_keys` (details.missing lists each
   * `{ user_id, device_id, key_version }` to add; a member absent from the envelope gets one entry per
   * current device) unless the envelope carries a wrapped key for the current version of every live
   * device of every member. The only source of this error, so it has one shape. Never looks inside a
   * wrapped key.
   */
  async assertRecipientKeys(memberIds: readonly string[], entries: readonly WrappedKeyRef[]): Promise<void> {
    refuseMissing(await this.missingRecipientKeys(memberIds, entries));
  }

  /**
   * assertRecipientKeys in two steps, for a send that does not know its members yet: the current keys
   * of the users the envelope names (normally the members) are read now, so the read shares the cache
   * round trip of the send's membership read; the returned check runs once the members are known.
   * The rule is the same: when the early read does not cover every member (or failed), the members'
   * keys are read then, as assertRecipientKeys does.
   */
  startRecipientCheck(entries: readonly WrappedKeyRef[]): (memberIds: readonly string[]) => Promise<void> {
    const named = [...new Set(entries.map((e) => e.user_id).filter((id) => typeof id === 'string'))];
    // Above the fan-out limit currentKeys is a database query: not made before membership is known.
    const early = named.length > 0 && named.length <= CACHE_FANOUT_MAX ? this.currentKeys(named).catch(() => null) : null;
    return async (memberIds) => {
      const read = early ? await early : null;
      const devices = read && memberIds.every((id) => read.has(id)) ? read : await this.currentKeys(memberIds);
      refuseMissing(findMissingRecipientKeys(memberIds, devices, entries));
    };
  }
}

/** The send path's one source of `missing_recipient_keys`, so it has one shape. */
function refuseMissing(missing: MissingRecipientKey[]): void {
  if (missing.length) {
    throw new AppError(ErrorCode.MissingRecipientKeys, `The message lacks wrapped keys for ${missing.length} recipient device(s)`, { missing });
  }
}
