import { Schema, Types } from 'mongoose';
import { tenantGuardPlugin } from '@chat/tenancy';

export const DEVICE_KEY_MODEL = 'DeviceKey';

/**
 * One published key version of one device of one end user. Rotation inserts a new version; old
 * versions stay (senders' signatures on history remain verifiable). Removing a device revokes all of
 * its versions: a revoked version is never "current" again, so senders stop wrapping keys for it.
 */
export interface DeviceKeyDoc {
  tenant_id: string;
  /** The owner's external id. */
  user_id: string;
  device_id: string;
  key_version: number;
  /** base64 X25519 public key (32 bytes). */
  public_key: string;
  /** base64 Ed25519 public key (32 bytes), when the device signs its messages. */
  signing_key: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

export type DeviceKeyRecord = DeviceKeyDoc & { _id: Types.ObjectId };

export const DeviceKeySchema = new Schema<DeviceKeyDoc>(
  {
    tenant_id: { type: String, required: true },
    user_id: { type: String, required: true },
    device_id: { type: String, required: true },
    key_version: { type: Number, required: true },
    public_key: { type: String, required: true },
    signing_key: { type: String, default: null },
    created_at: { type: Date, required: true },
    revoked_at: { type: Date, default: null },
  },
  { collection: 'device_keys', versionKey: false, minimize: false },
);

// One document per (user, device, version); also serves "all keys of these users".
DeviceKeySchema.index({ tenant_id: 1, user_id: 1, device_id: 1, key_version: 1 }, { unique: true });
DeviceKeySchema.plugin(tenantGuardPlugin);

export const MESSAGE_KEY_SHARE_MODEL = 'MessageKeyShare';

export interface SharedWrappedKey {
  user_id: string;
  device_id: string;
  key_version: number;
  wrapped_key: string;
}

/**
 * History re-sharing: an existing member re-wrapped an earlier message's content key for a member who
 * joined later (see docs/e2e.md). One document per (message, recipient user, sharer); the server only
 * stores and returns it, it cannot unwrap it.
 */
export interface MessageKeyShareDoc {
  tenant_id: string;
  conversation_id: string;
  message_id: string;
  recipient_id: string;
  shared_by: string;
  ephemeral_public_key: string;
  /** Only the entries addressed to recipient_id. */
  encrypted_key: SharedWrappedKey[];
  created_at: Date;
}

export type MessageKeyShareRecord = MessageKeyShareDoc & { _id: Types.ObjectId };

const SharedWrappedKeySchema = new Schema<SharedWrappedKey>(
  {
    user_id: { type: String, required: true },
    device_id: { type: String, required: true },
    key_version: { type: Number, required: true },
    wrapped_key: { type: String, required: true },
  },
  { _id: false },
);

export const MessageKeyShareSchema = new Schema<MessageKeyShareDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    message_id: { type: String, required: true },
    recipient_id: { type: String, required: true },
    shared_by: { type: String, required: true },
    ephemeral_public_key: { type: String, required: true },
    encrypted_key: { type: [SharedWrappedKeySchema], required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'message_key_shares', versionKey: false, minimize: false },
);

// A re-share replaces the previous one from the same sharer (upsert on this key).
MessageKeyShareSchema.index({ tenant_id: 1, message_id: 1, recipient_id: 1, shared_by: 1 }, { unique: true });
// "Shares addressed to me in this conversation", paged by _id.
MessageKeyShareSchema.index({ tenant_id: 1, conversation_id: 1, recipient_id: 1, _id: 1 });
MessageKeyShareSchema.plugin(tenantGuardPlugin);

export const CONVERSATION_KEY_MODEL = 'ConversationKey';
export const CONVERSATION_KEY_SHARE_MODEL = 'ConversationKeyShare';

/**
 * One version of a conversation's shared symmetric key (previews, blind-index tokens, reactions). The
 * server stores who created it and a key check value (a hash of a key derived from it: lets clients
 * tell a genuine share from a bogus one); the key itself only exists wrapped in the shares.
 */
export interface ConversationKeyDoc {
  tenant_id: string;
  conversation_id: string;
  key_version: number;
  key_check: string;
  created_by: string;
  created_at: Date;
}

export const ConversationKeySchema = new Schema<ConversationKeyDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    key_version: { type: Number, required: true },
    key_check: { type: String, required: true },
    created_by: { type: String, required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'conversation_keys', versionKey: false, minimize: false },
);
// The first member to create a version wins; a concurrent creator gets a conflict and fetches it.
ConversationKeySchema.index({ tenant_id: 1, conversation_id: 1, key_version: 1 }, { unique: true });
ConversationKeySchema.plugin(tenantGuardPlugin);

/** A conversation key version wrapped for one recipient's devices by one member. */
export interface ConversationKeyShareDoc {
  tenant_id: string;
  conversation_id: string;
  key_version: number;
  recipient_id: string;
  shared_by: string;
  ephemeral_public_key: string;
  encrypted_key: SharedWrappedKey[];
  created_at: Date;
}

export const ConversationKeyShareSchema = new Schema<ConversationKeyShareDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    key_version: { type: Number, required: true },
    recipient_id: { type: String, required: true },
    shared_by: { type: String, required: true },
    ephemeral_public_key: { type: String, required: true },
    encrypted_key: { type: [SharedWrappedKeySchema], required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'conversation_key_shares', versionKey: false, minimize: false },
);
ConversationKeyShareSchema.index({ tenant_id: 1, conversation_id: 1, recipient_id: 1, key_version: 1, shared_by: 1 }, { unique: true });
ConversationKeyShareSchema.plugin(tenantGuardPlugin);
