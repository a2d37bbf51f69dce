import type { SecretBox } from '@chat/platform';
import type { WebhookEndpointDoc } from './webhook.schemas';

/** The secrets that sign now: the current one, and the previous one during its rotation overlap. */
export function signingSecrets(ep: WebhookEndpointDoc, box: SecretBox, now: number): string[] {
  const out = [openSecret(box, ep.secret_enc)];
  if (ep.previous_secret_enc && ep.previous_secret_expires_at && new Date(ep.previous_secret_expires_at).getTime() > now) out.push(openSecret(box, ep.previous_secret_enc));
  return out;
}

/** Opened secrets by sealed value (a rotation seals a new value): one decryption per secret, not per attempt. */
const opened = new WeakMap<SecretBox, Map<string, string>>();
function openSecret(box: SecretBox, sealed: string): string {
  let cache = opened.get(box);
  if (!cache) opened.set(box, (cache = new Map()));
  let plain = cache.get(sealed);
  if (plain === undefined) {
    if (cache.size >= 1000) cache.clear();
    plain = box.open(sealed);
    cache.set(sealed, plain);
  }
  return plain;
}
