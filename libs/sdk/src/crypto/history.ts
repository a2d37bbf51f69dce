/**
 * History re-sharing.
 *
 * Policy: a member added to a conversation later has no wrapped key in earlier
 * envelopes and therefore cannot read them. An existing member may choose to
 * re-share history: its client unwraps each old content key and re-wraps it for
 * the new member's devices (fresh ephemeral key). The resulting key share is
 * stored/delivered next to the original message; the new member decrypts with
 * `decryptMessage({ ..., keyShare })`. The original envelope (and its
 * signature) is unchanged, so the sender's signature still authenticates it.
 */
import { wipe } from './encoding';
import { wrapKeyForRecipients, type RecipientPublicKey, type WrappedKeySet } from './key-wrap';
import { decryptMessageData, openMessageKey, type DecryptMessageInput } from './message';
import { messageKeyContext } from './envelope';

export interface ReshareMessageKeyInput extends Omit<DecryptMessageInput, 'keyShare'> {
  /** Devices of the member(s) who should gain access. */
  recipients: readonly RecipientPublicKey[];
  /** If the resharer itself received the message through a key share. */
  keyShare?: WrappedKeySet;
}

/**
 * Re-wrap an old message's content key for new recipients. The message is
 * fully decrypted first (and its signature verified when a key is given), so
 * only authentic, decryptable messages are re-shared.
 */
export function reshareMessageKey(input: ReshareMessageKeyInput): WrappedKeySet {
  const { recipients, ...decryptInput } = input;
  const { content, contentKey } = openMessageKey(decryptInput);
  try {
    wipe(decryptMessageData(content, contentKey, input.conversationId, input.senderId));
    return wrapKeyForRecipients({
      key: contentKey,
      recipients,
      context: messageKeyContext(input.conversationId, input.senderId, content),
    });
  } finally {
    wipe(contentKey);
  }
}
