import { CacheService } from '@chat/cache';
import type { MessageContent } from '@chat/chat';
import { AppConfig } from '@chat/config';
import type { RedisService } from '@chat/redis';
import { asTenantId, TenantContext } from '@chat/tenancy';
import type { MlsGroupsRepository, MlsSendStateRecord } from './mls.repository';
import { MlsSendGate } from './mls-send-gate';
import { MlsSendStateCache } from './mls-send-state';

/**
 * The gate over its cache, with the group record stubbed and the cache in process (the Redis mode
 * across two nodes is test/e2e-mls-send-gate-nodes.e2e-spec.ts).
 */
describe('MlsSendGate with MlsSendStateCache', () => {
  const redis = { mode: 'memory', client: null, key: (...p: Array<string | number>) => `x:${p.join(':')}` } as unknown as RedisService;
  let record: MlsSendStateRecord | null;
  let reads: number;
  let cache: MlsSendStateCache;
  let gate: MlsSendGate;
  beforeEach(() => {
    record = { group_id: 'g1', epoch: 3, tree_users: ['alice', 'bob'], updated_at: new Date(1_000) };
    reads = 0;
    const groups = {
      sendState: async () => {
        reads++;
        return record && { ...record };
      },
    } as unknown as MlsGroupsRepository;
    cache = new MlsSendStateCache(groups, new CacheService(redis, Object.assign(new AppConfig(), { CACHE_TTL_SECONDS: 60 })));
    gate = new MlsSendGate(cache);
  });
  const as = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId('t1') }, fn);
  const send = (epoch: number, memberIds = ['alice', 'bob'], group_id = 'g1') =>
    as(() => gate.checkSend({ id: 'c1', memberIds }, { version: 2, group_id, epoch } as MessageContent));
  const moveTo = (epoch: number, tree_users = ['alice', 'bob']) => {
    record = { group_id: 'g1', epoch, tree_users, updated_at: new Date(1_000 + epoch) };
  };

  it('reads the record once per version of it, then checks sends from the cache', async () => {
    for (let i = 0; i < 5; i++) await send(3);
    expect(reads).toBe(1);
    moveTo(4);
    await as(() => cache.changed('c1'));
    await expect(send(3)).rejects.toMatchObject({ details: { reason: 'epoch', epoch: 4 } });
    await send(4);
    await send(4);
    // The refusal confirmed itself against the record (1), the load after the change (1).
    expect(reads).toBe(3);
  });

  it('a member removed from the conversation is pending at once: membership comes with each send, not from the cache', async () => {
    await send(3);
    await expect(send(3, ['alice'])).rejects.toMatchObject({ details: { reason: 'membership_pending', remove_users: ['bob'], epoch: 3 } });
    moveTo(4, ['alice']);
    await as(() => cache.changed('c1'));
    await send(4, ['alice']);
  });

  it('a pointer a failed invalidation left behind never refuses a send the record accepts, and is repaired by it', async () => {
    await send(3);
    moveTo(4); // no changed(): a crash between the record's write and the invalidation
    await send(4);
    const before = reads;
    await expect(send(3)).rejects.toMatchObject({ details: { reason: 'epoch', epoch: 4 } });
    await send(4);
    expect(reads).toBe(before + 2); // the repaired pointer's load, and the refusal's own read
  });

  it('no group, then a group: the cached absence goes with the creation', async () => {
    record = null;
    await expect(send(1)).rejects.toMatchObject({ details: { reason: 'no_group' } });
    moveTo(1);
    await as(() => cache.changed('c1'));
    await send(1);
    await expect(send(1, ['alice', 'bob'], 'g2')).rejects.toMatchObject({ details: { reason: 'group', group_id: 'g1' } });
  });

  it('the tree users are held per tenant', async () => {
    await send(3);
    await expect(TenantContext.run({ tenantId: asTenantId('t2') }, () => gate.checkSend({ id: 'c1', memberIds: ['alice', 'bob'] }, { version: 2, group_id: 'g1', epoch: 3 } as MessageContent))).resolves.toBeUndefined();
    expect(reads).toBe(2);
  });
});
