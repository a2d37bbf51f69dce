import { AppError } from '@chat/errors';
import type { KeyDirectoryService } from '@chat/keys';
import { HANDSHAKE_CONTENT_TYPE, MessageContent } from './message.schema';

/** Algorithm of a v2 (MLS) envelope (docs/e2e.md, "Wire format v2"). */
export const E2E_V2_ALGORITHM = 'mls-epoch-aes256gcm-ed25519-v2';
/** Algorithm of the commit entries the Delivery Service writes into the stream. */
export const E2E_HANDSHAKE_ALGORITHM = 'mls-handshake-v2';

/**
 * The send-time check of v2 envelopes, provided by the MLS Delivery Service (libs/mls, which depends
 * on this library, hence the abstract token): the envelope's group is the conversation's and its
 * epoch is the group's current one, and no removed member is still in the group. Where no gate is
 * bound (an app without the Delivery Service), v2 sends are refused.
 */
export abstract class E2eV2Gate {
  abstract checkSend(conversation: { id: string; memberIds: string[] }, content: MessageContent): Promise<void>;

  /**
   * checkSend in two steps, for a send that does not know its members yet: a gate may start its reads
   * of the conversation's group now (so they share the cache round trip of the send's membership
   * read); the returned check runs once the members are known. By default nothing is read early.
   */
  startSend(_conversationId: string): V2SendCheck {
    return (conversation, content) => this.checkSend(conversation, content);
  }
}

export type V2SendCheck = (conversation: { id: string; memberIds: string[] }, content: MessageContent) => Promise<void>;

export function isV2(content: Pick<MessageContent, 'version'>): boolean {
  return content.version === 2;
}

export async function checkV2Envelope(gate: V2SendCheck | undefined, conversation: { id: string; memberIds: string[] }, content: MessageContent): Promise<void> {
  if (content.algorithm !== E2E_V2_ALGORITHM) throw AppError.validation([{ field: 'content.algorithm', problems: [`must be ${E2E_V2_ALGORITHM} in a version 2 envelope`] }]);
  // No per-recipient key list in v2 (the point of it): refused rather than silently dropped.
  const v1Fields = (['encrypted_key', 'ephemeral_public_key', 'sender_key_version'] as const).filter((f) => content[f] !== undefined);
  if (v1Fields.length) throw AppError.validation(v1Fields.map((f) => ({ field: `content.${f}`, problems: ['is not part of a version 2 envelope'] })));
  if (!gate) throw AppError.validation([{ field: 'content.version', problems: ['version 2 envelopes are not accepted by this server'] }]);
  await gate(conversation, content);
}

/** A plain copy of a validated v2 envelope (known fields only: no per-recipient list can ride along). */
export function plainContentV2(c: MessageContent): MessageContent {
  const out: MessageContent = {
    type: c.type,
    algorithm: c.algorithm,
    version: 2,
    group_id: c.group_id!,
    epoch: c.epoch!,
    sender_device_id: c.sender_device_id,
    encrypted_data: c.encrypted_data,
    signature: c.signature!,
  };
  if (c.franking_commitment !== undefined) out.franking_commitment = c.franking_commitment;
  return out;
}

export function isHandshake(content: Pick<MessageContent, 'type'> | null | undefined): boolean {
  return content?.type === HANDSHAKE_CONTENT_TYPE;
}

/** v1: a wrapped key for every member device (key directory); v2: the conversation's group at its current epoch (the gate). */
export async function checkRecipients(
  keyDirectory: KeyDirectoryService,
  gate: E2eV2Gate | undefined,
  conversation: { id: string; memberIds: string[] },
  content: MessageContent,
): Promise<void> {
  await startRecipientCheck(keyDirectory, gate, conversation.id, content)(conversation.memberIds);
}

/**
 * checkRecipients in two steps, for a send that does not know its members yet: the reads it needs
 * (v1: the keys of the users the envelope names; v2: the gate's group state) start now, so they share
 * the cache round trip of the send's membership read; the returned check runs once membership passed
 * and refuses exactly what checkRecipients refuses.
 */
export function startRecipientCheck(
  keyDirectory: KeyDirectoryService,
  gate: E2eV2Gate | undefined,
  conversationId: string,
  content: MessageContent,
): (memberIds: string[]) => Promise<void> {
  if (isV2(content)) {
    const gateCheck = gate?.startSend(conversationId);
    return (memberIds) => checkV2Envelope(gateCheck, { id: conversationId, memberIds }, content);
  }
  return keyDirectory.startRecipientCheck(content.encrypted_key ?? []);
}
