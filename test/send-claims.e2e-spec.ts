import { messageIdFor } from '@chat/chat';
import { RedisService } from '@chat/redis';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope } from './support/socket-client';
import { testAppPerSuite } from './support/test-app';

/**
 * A socket send claims its message id (libs/chat send-claims) in the gate's one script with its charges
 * (EventCharges), so its batch makes no claim round trip of its own; retries are still answered with
 * the original and spend no seq. Real app: FerretDB, Redis.
 */
describe('send claims made at the socket gate', () => {
  const t = testAppPerSuite();
  afterEach(() => closeAllSockets());

  it("a socket send's id is claimed by the gate's script, the batch claims nothing; a retry is the original, no seq spent", async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['a1', 'b1']);
    const a = await connectSocket(t.url, await w.token('a1'));
    const redis = t.app.get(RedisService);
    const send = (id: string) => askOk(a, 'message:send', { conversation_id: conv, client_msg_id: id, content: envelope(['a1', 'b1']) });
    await send('warm'); // caches filled, scripts loaded
    // The batch's own claim is a pipeline of SET NX (SendClaims.claim); nothing else pipelines on a warm send.
    const pipeline = jest.spyOn(redis.client!, 'pipeline');
    try {
      const first = await send('cm-1');
      expect(first).toMatchObject({ seq: 2, duplicate: false });
      expect(pipeline).not.toHaveBeenCalled();
      const key = redis.key('send', w.tenantId, messageIdFor(w.tenantId, { conversation_id: conv, sender_id: 'a1', client_msg_id: 'cm-1' }).toHexString());
      expect(await redis.client!.pttl(key)).toBeGreaterThan(0);
      // A retry loses the claim at the gate and is looked up: the original ack, no seq spent.
      expect(await send('cm-1')).toEqual({ ...first, duplicate: true });
      expect(await send('cm-2')).toMatchObject({ seq: 3, duplicate: false });
      expect(pipeline).not.toHaveBeenCalled();
    } finally {
      pipeline.mockRestore();
    }
  });
});
