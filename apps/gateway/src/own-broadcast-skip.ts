import type { RedisAdapter } from '@socket.io/redis-adapter';

type Parser = RedisAdapter['parser'];
type AdapterFactory = (nsp: any) => RedisAdapter;

/**
 * The uid a broadcast starts with, read from the message bytes without decoding the rest: the adapter
 * publishes `[uid, packet, opts]` (msgpack: an array whose first element is a string). Undefined for
 * anything else (requests and responses are maps), which is then decoded in full as before.
 */
export function leadingUid(msg: unknown): string | undefined {
  if (!Buffer.isBuffer(msg)) return undefined;
  const b0 = msg[0];
  let i: number;
  if (b0 !== undefined && b0 >= 0x91 && b0 <= 0x9f) i = 1; // fixarray of 1-15 elements
  else if (b0 === 0xdc) i = 3; // array 16
  else if (b0 === 0xdd) i = 5; // array 32
  else return undefined;
  const h = msg[i];
  if (h === undefined) return undefined;
  let start: number;
  let len: number;
  if (h >= 0xa0 && h <= 0xbf) [start, len] = [i + 1, h & 0x1f];
  else if (h === 0xd9 && i + 1 < msg.length) [start, len] = [i + 2, msg[i + 1]!];
  else if (h === 0xda && i + 3 <= msg.length) [start, len] = [i + 3, msg.readUInt16BE(i + 1)];
  else if (h === 0xdb && i + 5 <= msg.length) [start, len] = [i + 5, msg.readUInt32BE(i + 1)];
  else return undefined;
  if (start + len > msg.length) return undefined;
  return msg.toString('utf8', start, start + len);
}

/**
 * The adapter's parser, except that a broadcast this adapter published itself decodes to `[uid]` only.
 * The adapter subscribes to its own channel, so every broadcast comes back to the node that sent it,
 * which decoded the whole packet (a message with its envelope and wrapped keys) only to compare the
 * uid and drop it: about 3 % of the server's CPU in the direct and group benchmarks. With `[uid]` it
 * drops it at the same check (`this.uid === uid`), so what is delivered is unchanged.
 */
export function skippingOwnBroadcasts(inner: Parser, ownUid: string): Parser {
  return {
    encode: (msg) => inner.encode(msg),
    decode: (msg) => (leadingUid(msg) === ownUid ? [ownUid] : inner.decode(msg)),
  };
}

/**
 * Wraps createAdapter's factory: each namespace's adapter gets its own uid's skipping parser. A plain
 * function, like createAdapter's: socket.io calls it with `new` (an object returned from a constructor
 * is the result).
 */
export function withOwnBroadcastSkip(factory: AdapterFactory): AdapterFactory {
  return function ownBroadcastSkippingAdapter(nsp: unknown) {
    const adapter = factory(nsp);
    (adapter as { parser: Parser }).parser = skippingOwnBroadcasts(adapter.parser, String(adapter.uid));
    return adapter;
  };
}
