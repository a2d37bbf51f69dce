/**
 * Message franking (Facebook's scheme for Messenger secret conversations; formalised by Grubbs, Lu and
 * Ristenpart, "Message Franking via Committing Authenticated Encryption", CRYPTO 2017): a sender
 * commits to what it sent, so a recipient can later prove it to a moderator who never saw the message.
 *
 *   franking key  k_f  = 32 random bytes, fresh per message, carried INSIDE the encrypted payload
 *   commitment    c    = HMAC-SHA256(k_f, canon["franking-v1", tenant, conversation, sender, sender device, payload])
 *
 * `c` travels in clear next to the ciphertext (`franking_commitment` on the message content) and is
 * stored by the server as sent. A recipient checks `c` against what it decrypted before showing it
 * (receiver binding: a sender cannot make a message that reads fine but cannot be reported). To report,
 * the recipient hands the server the payload and k_f; the server recomputes `c` with the context of
 * the message it stored and compares. HMAC-SHA256 is a commitment here because it is collision
 * resistant: no one (the sender included) can find a second (k_f, payload) for the same `c`, and
 * without k_f the commitment reveals nothing about the payload. The context binds the commitment to
 * one tenant, conversation, sender and device, so a (payload, key) pair cannot be made to fit a
 * message anywhere else; which message is the server's own record (the report names the message id).
 *
 * Only HMAC-SHA256 from @noble/hashes and the canonical field encoding are used.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeFields } from './canonical';
import { LABELS } from './constants';
import { base64ToFixedBytes, bytesEqual, bytesToBase64, bytesToUtf8, utf8ToBytes, wipe } from './encoding';
import { CryptoError } from './errors';
import { assertNonEmptyString } from './identity';
import { randomBytes } from './random';

export const FRANKING_KEY_LENGTH = 32;
export const FRANKING_COMMITMENT_LENGTH = 32;

/** What a commitment is bound to, besides the payload. The message id is not known at send time: the server's record binds it. */
export interface FrankingContext {
  tenantId: string;
  conversationId: string;
  /** Sender's external user id. */
  senderId: string;
  senderDeviceId: string;
}

function commitmentBytes(frankingKey: Uint8Array, payloadBytes: Uint8Array, ctx: FrankingContext): Uint8Array {
  assertNonEmptyString(ctx.tenantId, 'tenantId');
  assertNonEmptyString(ctx.conversationId, 'conversationId');
  assertNonEmptyString(ctx.senderId, 'senderId');
  assertNonEmptyString(ctx.senderDeviceId, 'senderDeviceId');
  if (!(payloadBytes instanceof Uint8Array)) throw new CryptoError('INVALID_INPUT', 'payloadBytes must be a Uint8Array');
  return hmac(sha256, frankingKey, encodeFields([LABELS.franking, ctx.tenantId, ctx.conversationId, ctx.senderId, ctx.senderDeviceId, payloadBytes]));
}

/**
 * At send time: a fresh franking key and the commitment (base64, 32 bytes) to `payloadBytes` in `context`.
 * Put the key inside the encrypted payload ({@link sealFrankedPayload}) and the commitment on the content.
 */
export function frankingCommit(payloadBytes: Uint8Array, context: FrankingContext): { frankingKey: Uint8Array; commitment: string } {
  const frankingKey = randomBytes(FRANKING_KEY_LENGTH);
  return { frankingKey, commitment: bytesToBase64(commitmentBytes(frankingKey, payloadBytes, context)) };
}

export interface VerifyFrankingInput {
  /** The franking key (raw or base64) from the decrypted payload or from a report. */
  frankingKey: Uint8Array | string;
  payloadBytes: Uint8Array;
  context: FrankingContext;
  /** The commitment as stored with the message (base64). */
  commitment: string;
}

/** True when `commitment` is exactly the commitment of this payload, key and context (constant-time compare). Malformed input is false. */
export function verifyFrankingCommitment(input: VerifyFrankingInput): boolean {
  let key: Uint8Array;
  let expected: Uint8Array;
  try {
    key = typeof input.frankingKey === 'string' ? base64ToFixedBytes(input.frankingKey, FRANKING_KEY_LENGTH, 'franking key') : input.frankingKey;
    expected = base64ToFixedBytes(input.commitment, FRANKING_COMMITMENT_LENGTH, 'franking commitment');
  } catch {
    return false;
  }
  if (key.length !== FRANKING_KEY_LENGTH) return false;
  const actual = commitmentBytes(key, input.payloadBytes, input.context);
  return bytesEqual(actual, expected);
}

/**
 * The encrypted plaintext of a franked message: a small JSON wrapper holding the franking key and the
 * payload as the exact string that was committed to (so the committed bytes can be recovered exactly,
 * with no re-serialisation). `payload` is whatever the application encrypts (the SDK: its JSON payload).
 */
export interface FrankedPlaintext {
  v: 1;
  kind: 'franked';
  /** base64, 32 bytes. */
  franking_key: string;
  payload: string;
}

export function isFrankedPlaintext(value: unknown): value is FrankedPlaintext {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v['v'] === 1 && v['kind'] === 'franked' && typeof v['franking_key'] === 'string' && typeof v['payload'] === 'string';
}

/** Commits to `payload` and wraps it with its franking key: encrypt `plaintext`, send `commitment` as `franking_commitment`. */
export function sealFrankedPayload(payload: string, context: FrankingContext): { plaintext: Uint8Array; commitment: string } {
  if (typeof payload !== 'string') throw new CryptoError('INVALID_INPUT', 'payload must be a string');
  const { frankingKey, commitment } = frankingCommit(utf8ToBytes(payload), context);
  try {
    const wrapper: FrankedPlaintext = { v: 1, kind: 'franked', franking_key: bytesToBase64(frankingKey), payload };
    return { plaintext: utf8ToBytes(JSON.stringify(wrapper)), commitment };
  } finally {
    wipe(frankingKey);
  }
}

/**
 * After decryption: the payload and its franking key, checked against the commitment the message
 * carries. A message with a commitment whose plaintext does not match it, or a franked plaintext
 * without a commitment, is refused (AUTHENTICATION_FAILED): otherwise a sender could send something
 * that reads normally but fails every report. A plaintext that is not a franked wrapper and a message
 * without a commitment is an unfranked (older) message: `franking` is null.
 */
export function openFrankedPayload(
  plaintext: Uint8Array,
  commitment: string | undefined,
  context: FrankingContext,
): { payload: string; franking: { franking_key: string; commitment: string } | null } {
  const text = bytesToUtf8(plaintext);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isFrankedPlaintext(parsed)) {
    if (commitment !== undefined) throw new CryptoError('AUTHENTICATION_FAILED', 'the message carries a franking commitment but its payload is not franked');
    return { payload: text, franking: null };
  }
  if (commitment === undefined) throw new CryptoError('AUTHENTICATION_FAILED', 'franked payload without a franking commitment');
  if (!verifyFrankingCommitment({ frankingKey: parsed.franking_key, payloadBytes: utf8ToBytes(parsed.payload), context, commitment })) {
    throw new CryptoError('AUTHENTICATION_FAILED', 'the franking commitment does not match the payload');
  }
  return { payload: parsed.payload, franking: { franking_key: parsed.franking_key, commitment } };
}
