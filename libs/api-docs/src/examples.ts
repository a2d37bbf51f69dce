import type { ConversationView, MessageView, TenantView, UserTokenView } from '@chat/contracts';

/** Example answers of the main operations (shown in /docs; typed, so they follow the contract). */
const at = '2026-01-05T10:00:00.000Z';

export const MESSAGE_EXAMPLE: MessageView = {
  id: '6777a1c2e4b0c1a2b3c4d5e6',
  conversation_id: '6777a1b9e4b0c1a2b3c4d5e1',
  seq: 42,
  sender_id: 'alice',
  client_msg_id: '3f0c7c1e-8a57-4a4f-9d0e-2b7f1b6a9c11',
  content: {
    type: 'text',
    algorithm: 'x25519-hkdf-sha256-aes256gcm-ed25519',
    sender_device_id: 'laptop',
    encrypted_data: 'base64(nonce || ciphertext || tag)',
    signature: 'base64(ed25519 signature)',
  },
  preview: null,
  mentions: [],
  reactions: [],
  thread: { parent_id: null, reply_count: 0 },
  read_by: [],
  status: 'sent',
  gap: false,
  created_at: at,
  updated_at: at,
  edited_at: null,
  deleted_at: null,
  change_seq: 0,
  type: 'regular',
  e2e: true,
  text: null,
};

export const CONVERSATION_EXAMPLE: ConversationView = {
  id: '6777a1b9e4b0c1a2b3c4d5e1',
  type: 'group',
  metadata: { name: 'Launch', avatar: null, description: null },
  participants: [
    { user_id: 'alice', role: 'owner', joined_at: at, last_read_seq: 0, last_delivered_seq: 0 },
    { user_id: 'bob', role: 'member', joined_at: at, last_read_seq: 0, last_delivered_seq: 0 },
  ],
  member_count: 2,
  last_seq: 0,
  last_message: null,
  unread_count: 0,
  role: 'owner',
  settings: { muted: false, pinned: false },
  created_by: 'alice',
  created_at: at,
  updated_at: at,
};

export const USER_TOKEN_EXAMPLE: UserTokenView = {
  token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInRpZCI6Ii4uLiJ9.c2lnbmF0dXJl',
  expires_at: '2026-01-05T11:00:00.000Z',
};

export const TENANT_EXAMPLE: TenantView = {
  id: '6777a0f1e4b0c1a2b3c4d500',
  name: 'Acme',
  plan: 'free',
  status: 'active',
  region: 'default',
  quotas: { users: 1000, messages_per_second: 20, concurrent_connections: 100, storage_bytes: 1073741824, api_requests_per_minute: 600 },
  quota_overrides: {},
  metadata: {},
  suspended_at: null,
  suspension_reason: null,
  deleted_at: null,
  exported_at: null,
  erased_at: null,
  created_at: at,
  updated_at: at,
};
