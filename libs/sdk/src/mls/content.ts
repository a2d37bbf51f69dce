/**
 * The E2E v2 message envelope (docs/e2e.md, "Wire format v2"): no per-recipient key list. The content
 * key is the epoch's history key (history-keys.ts); the data is AES-256-GCM with associated data
 * binding tenant, conversation, group, epoch, sender user and device and the type; the sender signs
 * the envelope with its MLS leaf signature key (Ed25519), which receivers look up in the group's
 * ratchet tree of that epoch. Pure functions: no I/O, no MLS state.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeFields } from '../crypto/canonical';
import { base64ToBytes, bytesToBase64, concatBytes } from '../crypto/encoding';
import { randomBytes } from '../crypto/random';
import { MlsDecryptError } from './errors';

export const V2_ALGORITHM = 'mls-epoch-aes256gcm-ed25519-v2' as const;
/** Content type of the handshake (commit) entries the server writes into the seq stream. */
export const HANDSHAKE_TYPE = 'mls_commit' as const;

export type V2MessageType = 'text' | 'file' | 'image' | 'video' | 'audio';

export interface MlsMessageContent {
  type: V2MessageType;
  algorithm: typeof V2_ALGORITHM;
  version: 2;
  /** Hex MLS group id of the conversation. */
  group_id: string;
  epoch: number;
  sender_device_id: string;
  /** base64(nonce(12) || AES-256-GCM ciphertext || tag(16)). */
  encrypted_data: string;
  /** base64 Ed25519 signature by the sender's MLS leaf signature key. */
  signature: string;
  /** base64 franking commitment (reports), signed with the rest when present. */
  franking_commitment?: string;
}

/** A commit as the server stores it in the conversation's seq stream. */
export interface MlsHandshakeContent {
  type: typeof HANDSHAKE_TYPE;
  algorithm: string;
  version: 2;
  group_id: string;
  /** The epoch the commit was made in (it leads to epoch + 1). */
  epoch: number;
  sender_device_id: string;
  /** base64 commit MLSMessage. */
  encrypted_data: string;
  /** Devices this commit brought into the group (external join or Welcome). */
  joined?: Array<{ user_id: string; device_id: string }>;
}

export interface V2Binding {
  tenantId: string;
  conversationId: string;
  /** The server-attributed sender (external user id). */
  senderUserId: string;
  senderDeviceId: string;
  groupId: string;
  epoch: number;
  type: V2MessageType;
}

const NONCE = 12;

function aad(b: V2Binding): Uint8Array {
  return encodeFields([V2_ALGORITHM, 'message-data', b.tenantId, b.conversationId, b.groupId, String(b.epoch), b.senderUserId, b.senderDeviceId, b.type]);
}

function signedBytes(b: V2Binding, encryptedData: string, franking: string | undefined): Uint8Array {
  return encodeFields([V2_ALGORITHM, 'message-signature', b.tenantId, b.conversationId, b.groupId, String(b.epoch), b.senderUserId, b.senderDeviceId, b.type, encryptedData, franking ?? '']);
}

/** `sign`: Ed25519 by the sender's MLS leaf signature key (MlsClient.signWithLeafKey). */
export async function sealV2(input: { binding: V2Binding; key: Uint8Array; sign: (bytes: Uint8Array) => Promise<Uint8Array>; plaintext: Uint8Array; frankingCommitment?: string }): Promise<MlsMessageContent> {
  const { binding: b } = input;
  const nonce = randomBytes(NONCE);
  const ct = gcm(input.key, nonce, aad(b)).encrypt(input.plaintext);
  const encrypted_data = bytesToBase64(concatBytes(nonce, ct));
  const signature = bytesToBase64(await input.sign(signedBytes(b, encrypted_data, input.frankingCommitment)));
  return {
    type: b.type,
    algorithm: V2_ALGORITHM,
    version: 2,
    group_id: b.groupId,
    epoch: b.epoch,
    sender_device_id: b.senderDeviceId,
    encrypted_data,
    signature,
    ...(input.frankingCommitment !== undefined ? { franking_commitment: input.frankingCommitment } : {}),
  };
}

/** Checks the signature against the sender's leaf key, then opens the data (MlsDecryptError 'tampered' otherwise). */
export function openV2(input: { content: MlsMessageContent; binding: V2Binding; key: Uint8Array; senderSignatureKey: Uint8Array }): Uint8Array {
  const { content: c, binding: b } = input;
  let sig: Uint8Array;
  let data: Uint8Array;
  try {
    sig = base64ToBytes(c.signature, 'signature');
    data = base64ToBytes(c.encrypted_data, 'encrypted_data');
  } catch (err) {
    throw new MlsDecryptError('tampered', 'malformed envelope', { cause: err });
  }
  let valid = false;
  try {
    valid = sig.length === 64 && ed25519.verify(sig, signedBytes(b, c.encrypted_data, c.franking_commitment), input.senderSignatureKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new MlsDecryptError('tampered', 'the signature does not verify against the sender device of that epoch');
  if (data.length < NONCE + 16) throw new MlsDecryptError('tampered', 'ciphertext too short');
  try {
    return gcm(input.key, data.subarray(0, NONCE), aad(b)).decrypt(data.subarray(NONCE));
  } catch (err) {
    throw new MlsDecryptError('tampered', 'the ciphertext does not authenticate', { cause: err });
  }
}

/** Whether a message content is a v2 application envelope (shape only). */
export function isV2Content(c: unknown): c is MlsMessageContent {
  const o = c as Partial<MlsMessageContent> | null;
  return !!o && o.version === 2 && o.algorithm === V2_ALGORITHM && typeof o.group_id === 'string' && typeof o.epoch === 'number';
}

export function isHandshakeContent(c: unknown): c is MlsHandshakeContent {
  const o = c as Partial<MlsHandshakeContent> | null;
  return !!o && o.type === HANDSHAKE_TYPE && o.version === 2 && typeof o.epoch === 'number' && typeof o.encrypted_data === 'string';
}
