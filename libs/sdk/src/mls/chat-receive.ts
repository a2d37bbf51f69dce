/**
 * The receive side of MlsChat (chat.ts): a message of the conversation's stream is a commit (applied
 * through ChatGroups) or a v2 envelope, opened with the key of its epoch and checked against the
 * sender's leaf key of that epoch. Apart from chat.ts because finding the key (held, caught up, from
 * history bundles) and naming why it is missing is most of the work, and reads best in one place.
 */
import { openFrankedPayload } from '../crypto/franking';
import type { E2EChat, MessagePayload } from '../e2e-client';
import { isChatApiError } from '../errors';
import type { MessageView } from '../types';
import type { ChatGroups } from './chat-groups';
import type { ConvState, MlsReceivedMessage } from './chat-types';
import { isHandshakeContent, isV2Content, openV2, type MlsHandshakeContent, type V2Binding, type V2MessageType } from './content';
import { type DecryptFailureReason, MlsDecryptError, MlsError } from './errors';
import { identityToString } from './identity';

/** What a v2 envelope is bound to (signed over, and checked on open). */
export function v2Binding(tenantId: string, conversationId: string, senderUserId: string, senderDeviceId: string, groupId: string, epoch: number, type: V2MessageType): V2Binding {
  return { tenantId, conversationId, senderUserId, senderDeviceId, groupId, epoch, type };
}

/** MlsChat.receive under the conversation's lock; throws MlsDecryptError with the reason when it cannot be read. */
export async function receiveMessage(g: ChatGroups, v1: E2EChat | undefined, message: MessageView): Promise<MlsReceivedMessage> {
  const conversationId = message.conversation_id;
  const content = message.content as unknown;
  if (isHandshakeContent(content)) {
    const st = g.convs.get(conversationId);
    if (st && content.group_id === st.groupId && st.removedAt === undefined) {
      st.ahead.set(content.epoch, content.encrypted_data);
      // One this state cannot apply is left to the next send or receive (which rejoins if it must).
      await g.applyAhead(conversationId, st).catch((err: unknown) => {
        if (!(err instanceof MlsError && err.code === 'REJECTED')) throw err;
      });
    }
    return { kind: 'handshake', message, epoch: content.epoch, joined: (content as MlsHandshakeContent).joined ?? [] };
  }
  if (!isV2Content(content)) {
    if (!v1) throw new MlsError('INVALID_INPUT', 'not a v2 message (pass an E2EChat as `v1` to read v1 envelopes)');
    const d = await v1.decrypt(message);
    return { kind: 'message', message, payload: d.payload, sender: { userId: message.sender_id, deviceId: message.content?.sender_device_id ?? '' }, epoch: null };
  }
  const st =
    g.convs.get(conversationId) ??
    (await g.openLocked(conversationId).catch((err: unknown) => {
      // Not (or no longer) a member: this device can never have been in the group for it.
      throw isChatApiError(err, 'not_found') ? new MlsDecryptError('not_a_member_then', 'not a member of the conversation', { cause: err }) : err;
    }));
  if (content.group_id !== st.groupId) throw new MlsDecryptError('tampered', "the envelope names another group than the conversation's");
  const epoch = BigInt(content.epoch);
  let key = await g.keys.get(st.groupId, epoch);
  if (!key && g.mls.hasGroup(st.groupId) && epoch === g.mls.epoch(st.groupId)) {
    // The group moved through the low-level client (MlsClient) without this layer: take the key now.
    await g.recordEpoch(st.groupId);
    key = await g.keys.get(st.groupId, epoch);
  }
  if (!key && st.removedAt === undefined && epoch > g.mls.epoch(st.groupId)) {
    // Only what the stream holds: an epoch no commit leads to stays unknown (no rejoin on a message's word).
    await g.catchUp(conversationId, st).catch((err: unknown) => {
      if (!isChatApiError(err, 'not_found') && !(err instanceof MlsError && err.code === 'REJECTED')) throw err;
    });
    key = await g.keys.get(st.groupId, epoch);
  }
  if (!key && epoch < st.joinedEpoch) key = await g.history.fromBundles(conversationId, st.groupId, epoch);
  if (!key) throw new MlsDecryptError(await missingKeyReason(g, st, message, epoch), `no key for epoch ${epoch}`);
  const sender = identityToString({ tenantId: g.mls.identity.tenantId, userId: message.sender_id, deviceId: content.sender_device_id });
  // The tree of that epoch as this device saw it; an epoch before it joined: the current tree.
  const signer = g.state.signerAt(st.groupId, epoch, sender);
  const senderKey = signer === undefined ? (g.mls.hasGroup(st.groupId) ? g.mls.memberSignatureKeys(st.groupId).get(sender) : undefined) : signer;
  if (!senderKey) throw new MlsDecryptError('tampered', 'the sender device was not in the group at that epoch');
  const binding = v2Binding(g.mls.identity.tenantId, conversationId, message.sender_id, content.sender_device_id, st.groupId, content.epoch, content.type);
  const plaintext = openV2({ content, binding, key, senderSignatureKey: senderKey });
  let payload: MessagePayload;
  try {
    const ctx = { tenantId: g.mls.identity.tenantId, conversationId, senderId: message.sender_id, senderDeviceId: content.sender_device_id };
    payload = JSON.parse(openFrankedPayload(plaintext, content.franking_commitment, ctx).payload) as MessagePayload;
  } catch (err) {
    throw new MlsDecryptError('tampered', 'the plaintext is not a payload, or does not match its franking commitment', { cause: err });
  }
  return { kind: 'message', message, payload, sender: { userId: message.sender_id, deviceId: content.sender_device_id }, epoch: content.epoch };
}

/** After a removal: not a member. Before this device joined: the server's join position decides (chat-history.ts). */
async function missingKeyReason(g: ChatGroups, st: ConvState, message: MessageView, epoch: bigint): Promise<DecryptFailureReason> {
  if (st.removedAt !== undefined && epoch >= st.removedAt) return 'not_a_member_then';
  if (epoch < st.joinedEpoch) return g.history.missingReason(message.conversation_id, { seq: message.seq, epoch });
  return 'unknown_epoch';
}
