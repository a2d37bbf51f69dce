import { createHmac } from 'node:crypto';
import { newWebhookSecret, signatureHeader, signPayload, verifySignature } from './signature';

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'message.new', data: { seq: 1 } });
  const ts = 1_800_000_000;

  it('is HMAC-SHA256 of "<timestamp>.<body>" in hex (what the docs snippets compute)', () => {
    const secret = newWebhookSecret();
    expect(signPayload(secret, ts, body)).toBe(createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex'));
  });

  it('verifies with either secret during a rotation overlap, refuses tampering, another secret and stale timestamps', () => {
    const [oldS, newS] = [newWebhookSecret(), newWebhookSecret()];
    const header = signatureHeader([newS, oldS], ts, body);
    expect(header.split(' ')).toHaveLength(2);
    expect(verifySignature(newS, header, ts, body, ts)).toBe(true);
    expect(verifySignature(oldS, header, ts, body, ts + 299)).toBe(true);
    expect(verifySignature(newWebhookSecret(), header, ts, body, ts)).toBe(false);
    expect(verifySignature(newS, header, ts, body + ' ', ts)).toBe(false);
    expect(verifySignature(newS, header, ts + 1, body, ts)).toBe(false);
    expect(verifySignature(newS, header, ts, body, ts + 301)).toBe(false);
    expect(verifySignature(newS, 'v1=zz garbage', ts, body, ts)).toBe(false);
  });
});
