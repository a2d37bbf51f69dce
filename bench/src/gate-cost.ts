/**
 * `node test/support/run-ts.js bench/src/gate-cost.ts [events] [concurrency]`: this process's CPU per
 * socket event for the Redis side of the gateway's event gate, against the real Redis (REDIS_URL or
 * 127.0.0.1:6379), with the production limits on (tenant events, the user's work budget, a send's
 * message quota), each event with its access check's cache read (a hit) side by side: the three calls
 * one after another as before issue 16 (MULTI/INCR/PEXPIRE/EXEC, then two EVALSHAs) against
 * EventCharges' one EVALSHA, sent apart from the cache's MGET or in one write (RedisService.writeTogether). Alternating blocks, CPU time (user + system,
 * syscalls included) rather than wall time, so a loaded machine slows both sides alike.
 */
import { randomBytes } from 'node:crypto';
import { CacheService } from '@chat/cache';
import type { AppConfig } from '@chat/config';
import { RateLimiter, WindowStep } from '@chat/quotas';
import { EventCharges, TenantEventLimiter, UserWorkBudget } from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { asTenantId, TenantContext } from '@chat/tenancy';

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 4000);
  const concurrency = Number(process.argv[3] ?? 4);
  const prefix = `gate-cost:${randomBytes(4).toString('hex')}:`;
  const config = { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: prefix, CACHE_TTL_SECONDS: 600 } as unknown as AppConfig;
  const redis = await RedisService.create(config);
  const client = redis.client!;
  const cache = new CacheService(redis, config);
  const writeTogether = redis.writeTogether.bind(redis);
  const limiter = new RateLimiter(redis);
  const tenants = new TenantEventLimiter(redis, 1_000_000);
  const work = new UserWorkBudget(limiter, redis, 1_000_000_000, 10_000);
  const messageStep = async (tenantId: string, n = 1): Promise<WindowStep> => ({ key: redis.key('q', tenantId, 'msg'), kind: 'window', n, limit: 1_000_000_000, windowMs: 1000 });
  const charges = new EventCharges(limiter, tenants, work, { messageStep });
  const tenantId = asTenantId('bench');

  // Each event also reads the user through the cache (a hit), as the access check does, side by side.
  const access = (i: number) => TenantContext.run({ tenantId }, () => cache.getOrLoad(['user', `u${i % 200}`], 600, async () => ({ id: i % 200 })));
  const old = async (i: number) => {
    redis.writeTogether = () => undefined;
    await Promise.all([
      (async () => {
        await tenants.take(tenantId);
        await work.take(tenantId, `u${i % 200}`, 1);
        const m = await messageStep(tenantId);
        await limiter.consume(m.key, m.n, m.limit, m.windowMs);
      })(),
      access(i),
    ]);
  };
  const foldedApart = async (i: number) => {
    redis.writeTogether = () => undefined;
    await Promise.all([charges.take({ tenantId, userId: `u${i % 200}`, units: 1, message: true }), access(i)]);
  };
  const folded = async (i: number) => {
    redis.writeTogether = writeTogether;
    await Promise.all([charges.take({ tenantId, userId: `u${i % 200}`, units: 1, message: true }), access(i)]);
  };
  const block = async (fn: (i: number) => Promise<void>, n: number): Promise<number> => {
    const start = process.cpuUsage();
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }));
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  await block(old, 500);
  await block(foldedApart, 500);
  await block(folded, 500);
  const per = Math.max(100, Math.floor(events / 10));
  const got = { old: [] as number[], foldedApart: [] as number[], folded: [] as number[] };
  for (let b = 0; b < 10; b++) {
    got.old.push(await block(old, per));
    got.foldedApart.push(await block(foldedApart, per));
    got.folded.push(await block(folded, per));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  process.stdout.write(
    `gate Redis side, CPU µs per event (median of 10 alternating blocks of ${per}, concurrency ${concurrency}):\n` +
      `  three calls + cache read (before):              ${median(got.old).toFixed(1)}  [${got.old.map((x) => x.toFixed(0)).join(' ')}]\n` +
      `  one script + cache read, two writes:            ${median(got.foldedApart).toFixed(1)}  [${got.foldedApart.map((x) => x.toFixed(0)).join(' ')}]\n` +
      `  one script + cache read, one write (after):     ${median(got.folded).toFixed(1)}  [${got.folded.map((x) => x.toFixed(0)).join(' ')}]\n`,
  );
  const users = Array.from({ length: 200 }, (_, i) => redis.key('rt', 't', tenantId, 'work', `u${i}`));
  await client.del(redis.key('q', tenantId, 'msg'), ...users);
  await redis.onApplicationShutdown();
}

void main();
