import type { Migration } from '../migration';

const OLD = 'tenant_id_1_sender_id_1_client_msg_id_1';

/**
 * Retry deduplication moved from {tenant_id, sender_id, client_msg_id} to
 * {tenant_id, conversation_id, sender_id, client_msg_id}, which is prefixed by the messages shard key.
 * The new index is built by `setup` (or autoIndex); the old one must go, or it would keep refusing the
 * same client_msg_id in another conversation.
 */
export const messagesClientMsgIdPerConversation0003: Migration = {
  version: 3,
  name: 'messages-client-msg-id-per-conversation',
  async up({ db, log }) {
    const names = (await db.collection('messages').indexes().catch(() => [])).map((i) => i.name);
    if (names.includes(OLD)) {
      await db.collection('messages').dropIndex(OLD);
      log(`  dropped messages.${OLD}`);
    }
  },
  async down({ db }) {
    // Fails if one sender reused a client_msg_id in two conversations since: that data is valid now.
    await db.collection('messages').createIndex({ tenant_id: 1, sender_id: 1, client_msg_id: 1 }, { unique: true, name: OLD });
  },
};
