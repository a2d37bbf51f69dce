import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Server-generated endpoint secret: `whsec_` + 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** hex HMAC-SHA256 of `<timestamp>.<body>` with the secret (the whole `whsec_...` string is the key). */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `X-Webhook-Signature` value: `v1=<hex>`, one per live secret (two during a rotation overlap). */
export function signatureHeader(secrets: string[], timestamp: number, body: string): string {
  return secrets.map((s) => `v1=${signPayload(s, timestamp, body)}`).join(' ');
}

/**
 * What a receiver does (docs/webhooks.md has the same in TypeScript, Python and Go): recompute with its
 * secret, compare in constant time against every `v1=` entry, refuse a timestamp outside the tolerance.
 */
export function verifySignature(secret: string, header: string, timestamp: number, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!Number.isFinite(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, timestamp, body), 'hex');
  return header.split(' ').some((part) => {
    const m = /^v1=([0-9a-f]{64})$/.exec(part.trim());
    return m !== null && timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected);
  });
}
