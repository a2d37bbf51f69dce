import { ConversationsService, MessagesService, UsersService } from '@chat/chat';
import { TenantService } from '@chat/platform';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { createTestApp, TestApp } from './support/test-app';
import { fakeEnvelope, randomId } from './chat-messages-helpers';

/**
 * Write-path throughput through MessagesService (group commit) on the test database. Opt-in
 * (CHAT_PERF=1): it measures, it does not gate; bench/ holds the real load tests.
 */
const perf = process.env.CHAT_PERF ? describe : describe.skip;

perf('message write throughput (opt-in, CHAT_PERF=1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('sends concurrently to many conversations and reports messages per second', async () => {
    const client = await t.app.get(TenantService).create({ name: randomId('perf'), plan: 'enterprise', quotas: { messages_per_second: 1_000_000 } });
    const tenantId = asTenantId(String(client._id));
    const conversations = Number(process.env.CHAT_PERF_CONVERSATIONS ?? 20);
    const perConversation = Number(process.env.CHAT_PERF_MESSAGES ?? 100);
    await TenantContext.run({ tenantId }, async () => {
      const users = t.app.get(UsersService);
      const convs = t.app.get(ConversationsService);
      const messages = t.app.get(MessagesService);
      await users.upsertMany(['a', 'b', 'c'].map((external_id) => ({ external_id })));
      const ids: string[] = [];
      for (let i = 0; i < conversations; i++) ids.push((await convs.create('a', { type: 'group', member_ids: ['b', 'c'] })).id);
      const content = fakeEnvelope(['a', 'b', 'c']);
      // Warm the membership cache.
      await Promise.all(ids.map((id) => messages.send('a', id, { content } as any)));
      const total = conversations * perConversation;
      const t0 = performance.now();
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: total }, async (_, i) => {
          const s = performance.now();
          await messages.send(['a', 'b', 'c'][i % 3]!, ids[i % conversations]!, { content } as any);
          latencies.push(performance.now() - s);
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      latencies.sort((x, y) => x - y);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
      process.stdout.write(
        `[perf] ${total} messages to ${conversations} conversations in ${seconds.toFixed(2)} s: ${(total / seconds).toFixed(0)} msg/s; ` +
          `latency p50 ${pct(50)} ms, p95 ${pct(95)} ms, p99 ${pct(99)} ms\n`,
      );
      for (const id of ids) {
        const page = await messages.sync('a', id, 0, 100);
        expect(page.data.map((m) => m.seq)).toEqual(Array.from({ length: Math.min(100, perConversation + 1) }, (_, k) => k + 1));
      }
    });
  });
});
