import { createAdapter, type RedisAdapter } from '@socket.io/redis-adapter';
import { Encoder } from 'socket.io-parser';
import { leadingUid, withOwnBroadcastSkip } from './own-broadcast-skip';

// The adapter's default parser (a dependency of @socket.io/redis-adapter).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const msgpack = require('notepack.io') as { encode(v: unknown): Buffer; decode(b: Buffer): unknown };

/** Just enough of an ioredis client for the adapter's constructor, publishes recorded. */
function fakeClient() {
  const published: Array<{ channel: string; msg: Buffer }> = [];
  return {
    published,
    psubscribe: jest.fn(),
    subscribe: jest.fn(),
    on: jest.fn(),
    listenerCount: () => 1,
    publish: (channel: string, msg: Buffer) => {
      published.push({ channel, msg });
      return Promise.resolve(1);
    },
  };
}

function makeAdapter() {
  const pub = fakeClient();
  const sub = fakeClient();
  const nsp = { name: '/', sockets: new Map(), server: { encoder: new Encoder() } };
  // As socket.io makes it (`new this._adapter(nsp)`).
  const Factory = withOwnBroadcastSkip(createAdapter(pub, sub, { key: 'test-io' })) as unknown as new (nsp: unknown) => RedisAdapter;
  const adapter = new Factory(nsp);
  return { adapter, pub };
}

describe('own broadcast skip (Redis adapter)', () => {
  it('reads the uid of a broadcast as the adapter publishes it, and decodes nothing more of its own', () => {
    const { adapter, pub } = makeAdapter();
    adapter.broadcast({ type: 2, data: ['message:new', { id: 'm1', content: { keys: ['a', 'b'] } }] } as never, { rooms: new Set(['t:1:c:2']), except: new Set() });
    const { channel, msg } = pub.published[0]!;
    expect(leadingUid(msg)).toBe(adapter.uid);
    // The whole message as the default parser reads it: [uid, packet, opts].
    expect((msgpack.decode(msg) as unknown[])[0]).toBe(adapter.uid);
    expect(adapter.parser.decode(msg)).toEqual([adapter.uid]);
    // Dropped at the adapter's own uid check, as before: nothing is broadcast locally again; another
    // node's copy of the same broadcast is.
    adapter.addAll('socket-1', new Set(['t:1:c:2']));
    const local = jest.spyOn(Object.getPrototypeOf(Object.getPrototypeOf(adapter)) as { broadcast: () => void }, 'broadcast');
    const onmessage = (m: Buffer) => (adapter as unknown as { onmessage(p: string, c: string, m: Buffer): void }).onmessage('test-io#/#*', channel, m);
    onmessage(msg);
    expect(local).not.toHaveBeenCalled();
    const [, packet, opts] = msgpack.decode(msg) as [string, unknown, unknown];
    onmessage(msgpack.encode(['OTHERUID', packet, opts]));
    expect(local).toHaveBeenCalledTimes(1);
    local.mockRestore();
  });

  it("decodes another node's broadcast, a request and anything else in full, as the default parser does", () => {
    const { adapter } = makeAdapter();
    const other = msgpack.encode(['OTHERUID', { type: 2, data: ['x', { a: 1 }], nsp: '/' }, { rooms: ['r'], except: [], flags: {} }]);
    expect(leadingUid(other)).toBe('OTHERUID');
    expect(adapter.parser.decode(other)).toEqual(msgpack.decode(other));
    const request = msgpack.encode({ uid: adapter.uid, type: 3, requestId: 'q' });
    expect(leadingUid(request)).toBeUndefined();
    expect(adapter.parser.decode(request)).toEqual(msgpack.decode(request));
    for (const v of [[], [1, 'x'], 'text', 42, [adapter.uid + 'x', 1], ['a'.repeat(40), 1], ['é'.repeat(200), 2]]) {
      const bytes = msgpack.encode(v);
      expect(adapter.parser.decode(bytes)).toEqual(v);
    }
    expect(adapter.parser.encode(['u', 1])).toEqual(msgpack.encode(['u', 1]));
  });

  it('reads long and truncated headers safely', () => {
    for (const s of ['a'.repeat(31), 'b'.repeat(32), 'c'.repeat(300), 'd'.repeat(70_000)]) {
      expect(leadingUid(msgpack.encode([s, 1]))).toBe(s);
      expect(leadingUid(msgpack.encode(new Array(20).fill(s)))).toBe(s);
    }
    expect(leadingUid(Buffer.from([0x92]))).toBeUndefined();
    expect(leadingUid(Buffer.from([0x92, 0xa5, 0x61]))).toBeUndefined();
    expect(leadingUid(Buffer.from([0x92, 0xda, 0x00]))).toBeUndefined();
    expect(leadingUid('not a buffer')).toBeUndefined();
  });
});
