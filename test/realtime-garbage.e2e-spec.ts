import fc from 'fast-check';
import { ErrorCode } from '@chat/errors';
import { ask, askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, nextEvent, TestSocket } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

const EVENTS = [
  'message:send',
  'message:edit',
  'message:delete',
  'reaction:add',
  'reaction:remove',
  'typing:start',
  'typing:stop',
  'conversation:read',
  'conversation:delivered',
  'sync',
  'presence:query',
];
const CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Randomized garbage at every event (fast-check): every answer is an ack in the one shape, never an
 * internal error, and the node keeps serving well-formed clients throughout.
 */
describe('realtime gateway under generated garbage', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { SOCKET_EVENTS_PER_SECOND: '100000', SOCKET_EVENTS_BURST: '100000', SOCKET_MAX_PAYLOAD_BYTES: '16384' } });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  it('answers every generated payload on every event in the error shape (or ok) and keeps serving', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['good1', 'good2', 'mallory']);
    const good1 = await connectSocket(t.url, await w.token('good1'));
    const good2 = await connectSocket(t.url, await w.token('good2'));
    const mallory = await connectSocket(t.url, await w.token('mallory'));
    const sent = await askOk(good1, 'message:send', { conversation_id: conv, content: envelope(['good1', 'good2', 'mallory']) });

    const id = fc.oneof(fc.constant(conv), fc.constant(sent.id), fc.string(), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 }), fc.integer(), fc.constant(null));
    const near = fc.record(
      {
        conversation_id: id,
        message_id: id,
        content: fc.oneof(fc.jsonValue(), fc.constant(envelope(['good1', 'good2', 'mallory'])), fc.record({ type: fc.string(), encrypted_data: fc.string(), encrypted_key: fc.array(fc.jsonValue(), { maxLength: 3 }) })),
        client_msg_id: fc.oneof(fc.string(), fc.jsonValue()),
        emoji: fc.oneof(fc.string(), fc.constant('👍'), fc.jsonValue()),
        seq: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1), fc.constant(Number.MAX_SAFE_INTEGER)),
        conversations: fc.oneof(fc.jsonValue(), fc.array(fc.record({ conversation_id: id, after_seq: fc.oneof(fc.integer(), fc.jsonValue()) }, { requiredKeys: [] }), { maxLength: 4 })),
        limit: fc.oneof(fc.integer(), fc.jsonValue()),
        user_ids: fc.oneof(fc.array(fc.string(), { maxLength: 5 }), fc.jsonValue()),
        ['__proto__']: fc.jsonValue(),
        constructor: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const payload = fc.oneof(
      { weight: 3, arbitrary: near },
      { weight: 2, arbitrary: fc.jsonValue() },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
      { weight: 1, arbitrary: fc.string({ minLength: 17_000, maxLength: 20_000 }) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
    const event = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...EVENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });

    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(event, payload, async (ev, p) => {
        const res = await ask(mallory, ev, p, 5000);
        if ('ok' in res) {
          expect(res.ok).toBe(true);
          seen.set('ok', (seen.get('ok') ?? 0) + 1);
          return;
        }
        expect(Object.keys(res)).toEqual(['error']);
        expect(typeof res.error.message).toBe('string');
        expect(CODES.has(res.error.code)).toBe(true);
        expect(res.error.code).not.toBe(ErrorCode.Internal);
        seen.set(res.error.code, (seen.get(res.error.code) ?? 0) + 1);
      }),
      { numRuns: 400 },
    );
    expect(seen.get(ErrorCode.ValidationFailed)).toBeGreaterThan(50);

    // Fire-and-forget garbage: no ack, several arguments, odd event names.
    for (const ev of [...EVENTS, 'error', 'unknown', '', '__proto__', 'constructor']) {
      mallory.emit(ev);
      mallory.emit(ev, null, 1, 'two', { three: 3 });
      mallory.emit(ev, Buffer.from([1, 2, 3]));
    }

    // Well-formed clients are still served, and so is the garbage sender.
    const after = await askOk(good1, 'message:send', { conversation_id: conv, content: envelope(['good1', 'good2', 'mallory']) });
    expect(await nextEvent(good2 as TestSocket, 'message:new', (m: any) => m.id === after.id)).toBeTruthy();
    expect(mallory.connected).toBe(true);
    expect(await askOk(mallory, 'typing:stop', { conversation_id: conv })).toEqual({ relayed: false });
  });
});
