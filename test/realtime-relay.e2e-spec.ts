import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConversationsService } from '@chat/chat';
import { ConversationModerationService, UserBansService } from '@chat/moderation';
import { ChatEventRelayPublisher } from '@chat/realtime';
import { configureApp } from '@chat/server';
import { ApiModule } from '../apps/api/src/api.module';
import { GatewayModule } from '../apps/gateway/src/gateway.module';
import { useSocketAdapter } from '../apps/gateway/src/socket-adapter';
import { TEST_PLATFORM_ENV } from './support/factories';
import { ask, askOk, closeAllSockets, disconnected, connectSocket, createRealtimeTenant, drained, envelope, nextEvent, receivedOf, sendViaService } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

/**
 * One app alone, as `npm run start:api` / `start:gateway` run it: the api app serves REST and no
 * sockets, the gateway app sockets and health only.
 */
async function createSingleApp(module: typeof ApiModule | typeof GatewayModule, dbName: string): Promise<{ app: INestApplication; url: string }> {
  const env: Record<string, string> = { ...TEST_PLATFORM_ENV, MONGODB_DB: dbName };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const app = await NestFactory.create(module, { bufferLogs: true, bodyParser: false, logger: ['error', 'warn'] });
    configureApp(app, { docs: false });
    if (module === GatewayModule) useSocketAdapter(app);
    await app.listen(0, '127.0.0.1');
    return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * api and gateway as separate processes (here: separate apps sharing Redis and the database): writes
 * made in the api app reach sockets on every gateway node (a standalone gateway app and an all-in-one
 * node), exactly once each.
 */
describe('realtime: chat events from a separate api process reach the gateways', () => {
  let api: INestApplication;
  let g1: TestApp;
  let g2: { app: INestApplication; url: string };
  beforeAll(async () => {
    g1 = await createTestApp();
    g2 = await createSingleApp(GatewayModule, g1.dbName); // the gateway app on its own
    api = (await createSingleApp(ApiModule, g1.dbName)).app;
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await api?.close();
    await g1?.close();
    await g2?.app.close();
  });

  it('relays only where no gateway runs in the same process', () => {
    expect(api.get(ChatEventRelayPublisher).active).toBe(true);
    expect(g1.app.get(ChatEventRelayPublisher).active).toBe(false);
  });

  it('a message and a membership change made in the api app reach sockets on both gateway nodes once', async () => {
    const w = await createRealtimeTenant(api);
    const conv = await w.group(['kim', 'lee', 'max']);
    const kim = await connectSocket(g1.url, await w.token('kim'));
    const lee = await connectSocket(g2.url, await w.token('lee'));
    const max = await connectSocket(g2.url, await w.token('max'));
    const { message } = await sendViaService(api, w, 'kim', conv, ['kim', 'lee', 'max']);
    expect(await nextEvent(kim, 'message:new')).toMatchObject({ id: message.id });
    expect(await nextEvent(lee, 'message:new')).toMatchObject({ id: message.id });

    await w.as(() => api.get(ConversationsService).removeMember(conv, { kind: 'server' }, 'max'));
    expect(await nextEvent(max, 'member:removed')).toEqual({ conversation_id: conv, user_ids: ['max'], by: null });
    const after = await askOk(kim, 'message:send', { conversation_id: conv, content: envelope(['kim', 'lee']) });
    await nextEvent(lee, 'message:new', (m: any) => m.id === after.id);
    await nextEvent(kim, 'message:new', (m: any) => m.id === after.id);
    await Promise.all([drained(kim), drained(lee), drained(max)]);
    expect(receivedOf(lee, 'message:new').map((m: any) => m.seq)).toEqual([1, 2]);
    expect(receivedOf(kim, 'message:new').map((m: any) => m.seq)).toEqual([1, 2]);
    expect(receivedOf(max, 'message:new').map((m: any) => m.seq)).toEqual([1]);
  });

  it('moderation done in the api app reaches the gateways: the mute is told and enforced there, a ban cuts the socket', async () => {
    const w = await createRealtimeTenant(api);
    const conv = await w.group(['kim', 'lee']);
    const lee = await connectSocket(g2.url, await w.token('lee'));
    await w.as(() => api.get(ConversationModerationService).mute(conv, { kind: 'server', keyId: 'k' }, 'lee', {}));
    expect(await nextEvent(lee, 'conversation:moderation')).toMatchObject({ conversation_id: conv, muted: [{ user_id: 'lee' }], change: { action: 'member_muted' } });
    // The standalone gateway app registered the same send check.
    const refused = await ask(lee, 'message:send', { conversation_id: conv, content: envelope(['kim', 'lee']) });
    expect((refused as any).error.code).toBe('member_muted');

    await w.as(() => api.get(UserBansService).ban({ kind: 'server', keyId: 'k' }, 'lee', {}));
    expect(await nextEvent(lee, 'session:revoked')).toMatchObject({ error: { code: 'user_banned' } });
    await disconnected(lee);
  });
});
