import type { AppConfig } from '@chat/config';
import type { RedisService } from '@chat/redis';
import { PlatformEvents } from './platform-events';

const config = { REDIS_HEARTBEAT_MS: 5000 } as AppConfig;
const memoryRedis = { mode: 'memory', client: null, key: (...p: string[]) => `x:${p.join(':')}` } as unknown as RedisService;

describe('PlatformEvents', () => {
  it('delivers in process (memory mode) and unsubscribes', async () => {
    const events = new PlatformEvents(memoryRedis, config);
    await events.onModuleInit();
    const got: string[] = [];
    const off = events.on('tenant.suspended', ({ tenantId }) => void got.push(tenantId));
    await events.publish('tenant.suspended', { tenantId: 't1' as never });
    off();
    await events.publish('tenant.suspended', { tenantId: 't2' as never });
    expect(got).toEqual(['t1']);
  });

  it('keeps delivering when a listener throws or rejects', async () => {
    const events = new PlatformEvents(memoryRedis, config);
    const got: string[] = [];
    events.on('tenant.updated', () => {
      throw new Error('boom');
    });
    events.on('tenant.updated', async () => Promise.reject(new Error('async boom')));
    events.on('tenant.updated', ({ tenantId }) => void got.push(tenantId));
    await events.publish('tenant.updated', { tenantId: 't1' as never });
    expect(got).toEqual(['t1']);
  });

  it('ignores its own echoes, unknown names, bad tenant ids and malformed messages from Redis', () => {
    const events = new PlatformEvents(memoryRedis, config);
    const got: unknown[] = [];
    events.on('api_key.revoked', (p) => void got.push(p));
    const receive = (raw: string) => (events as unknown as { receive(r: string): void }).receive(raw);
    receive(JSON.stringify({ origin: events.nodeId, name: 'api_key.revoked', payload: { tenantId: 't', keyId: 'k', prefix: 'p' } }));
    receive(JSON.stringify({ origin: 'other', name: 'nope', payload: { tenantId: 't' } }));
    receive(JSON.stringify({ origin: 'other', name: 'api_key.revoked', payload: { tenantId: 'bad id!' } }));
    receive('{not json');
    receive(JSON.stringify({ origin: 'other', name: 'api_key.revoked', payload: { tenantId: 't', keyId: 'k', prefix: 'p' } }));
    expect(got).toEqual([{ tenantId: 't', keyId: 'k', prefix: 'p' }]);
  });

  it('heartbeat: a subscriber that does not answer PING is dropped so ioredis reconnects and resubscribes', async () => {
    const events = new PlatformEvents(memoryRedis, config);
    const disconnect = jest.fn();
    (events as unknown as { sub: unknown }).sub = { ping: () => new Promise(() => undefined), disconnect };
    expect(await events.checkSubscriber(30)).toBe(false);
    expect(disconnect).toHaveBeenCalledWith(true);

    const healthy = jest.fn();
    (events as unknown as { sub: unknown }).sub = { ping: async () => 'PONG', disconnect: healthy };
    expect(await events.checkSubscriber(30)).toBe(true);
    expect(healthy).not.toHaveBeenCalled();
  });
});
