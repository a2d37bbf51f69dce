import { AppError } from '@chat/errors';
import { connectError, errorAck, payloadBytes, payloadWithin, safeAck, splitEventArgs } from './acks';

describe('socket ack helpers', () => {
  it('splits payload and ack', () => {
    const fn = () => undefined;
    expect(splitEventArgs([{ a: 1 }, fn])).toEqual({ payload: { a: 1 }, ack: fn });
    expect(splitEventArgs([fn])).toEqual({ payload: undefined, ack: fn });
    expect(splitEventArgs([1, 2])).toEqual({ payload: 1 });
    expect(splitEventArgs([])).toEqual({ payload: undefined });
  });
  it('measures payloads and survives unserializable ones', () => {
    expect(payloadBytes({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
    expect(payloadBytes(undefined)).toBe(0);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(payloadBytes(cyclic)).toBe(Number.POSITIVE_INFINITY);
  });
  it('tells whether a payload is within a size as payloadBytes(payload) <= max does', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const payloads: unknown[] = [{ a: 'é' }, { k: 'x'.repeat(100), q: '"\\\u0001' }, [1, null, 'ü'], 'text', 7, undefined, cyclic, { n: 1n }];
    for (const p of payloads) {
      const n = payloadBytes(p);
      for (const max of [0, 1, 20, n - 1, n, n + 1, 6 * 110]) expect([p, max, payloadWithin(p, max)]).toEqual([p, max, n <= max]);
    }
  });
  it('maps errors to the one shape and hides unexpected ones', () => {
    expect(errorAck(AppError.notFound('Conversation')).body).toEqual({ error: { code: 'not_found', message: 'Conversation not found' } });
    const u = errorAck(new Error('db password is hunter2'));
    expect(u.unexpected).toBe(true);
    expect(u.body.error.message).not.toContain('hunter2');
  });
  it('never throws from an ack', () => {
    expect(() => safeAck(() => { throw new Error('x'); }, { ok: true, data: null })).not.toThrow();
    expect(() => safeAck(undefined, { ok: true, data: null })).not.toThrow();
  });
  it('builds connect errors carrying the error shape', () => {
    const e = connectError(AppError.unauthorized());
    expect(e.message).toBe('Missing or invalid credentials');
    expect(e.data).toEqual({ error: { code: 'unauthorized', message: 'Missing or invalid credentials' } });
  });
});
