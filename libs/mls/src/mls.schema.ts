import { Schema, Types } from 'mongoose';
import { tenantGuardPlugin } from '@chat/tenancy';

/*
 * The MLS Delivery Service's records (docs/e2e-crypto.md, v2). Every byte string is an MLS message
 * the server only parses for its clear header; none of it decrypts anything.
 */

export const MLS_KEY_PACKAGE_MODEL = 'MlsKeyPackage';

/**
 * One published KeyPackage of one device. One-time packages are claimed once (claimed_at set under
 * a conditional update); the device's last-resort package is handed out again and again. Claimed
 * documents stay so a Welcome can be routed by the KeyPackageRef it names.
 */
export interface MlsKeyPackageDoc {
  tenant_id: string;
  user_id: string;
  device_id: string;
  /** Hex KeyPackageRef (RFC 9420 §5.2). */
  ref: string;
  /** base64 KeyPackage MLSMessage. */
  key_package: string;
  last_resort: boolean;
  created_at: Date;
  claimed_at: Date | null;
  claimed_by: string | null;
}

export const MlsKeyPackageSchema = new Schema<MlsKeyPackageDoc>(
  {
    tenant_id: { type: String, required: true },
    user_id: { type: String, required: true },
    device_id: { type: String, required: true },
    ref: { type: String, required: true },
    key_package: { type: String, required: true },
    last_resort: { type: Boolean, required: true },
    created_at: { type: Date, required: true },
    claimed_at: { type: Date, default: null },
    claimed_by: { type: String, default: null },
  },
  { collection: 'mls_key_packages', versionKey: false, minimize: false },
);
MlsKeyPackageSchema.index({ tenant_id: 1, ref: 1 }, { unique: true });
MlsKeyPackageSchema.index({ tenant_id: 1, user_id: 1, device_id: 1, last_resort: 1, claimed_at: 1 });
MlsKeyPackageSchema.plugin(tenantGuardPlugin);

export const MLS_GROUP_MODEL = 'MlsGroup';

/** The MLS group of one conversation: its current epoch and the GroupInfo of that epoch. */
export interface MlsGroupDoc {
  tenant_id: string;
  conversation_id: string;
  /** Hex MLS group id. */
  group_id: string;
  epoch: number;
  /** base64 GroupInfo MLSMessage of `epoch` (ratchet tree and external public key inside). */
  group_info: string;
  /**
   * External ids of the users with a leaf in the tree of `epoch` (read from the GroupInfo's ratchet
   * tree as the committer sent it). Users in it who are no longer conversation members are removals
   * pending: v2 sends wait for the commit that removes them.
   */
  tree_users: string[];
  created_at: Date;
  updated_at: Date;
}

export const MlsGroupSchema = new Schema<MlsGroupDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    group_id: { type: String, required: true },
    epoch: { type: Number, required: true },
    group_info: { type: String, required: true },
    tree_users: { type: [String], default: [] },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'mls_groups', versionKey: false, minimize: false },
);
MlsGroupSchema.index({ tenant_id: 1, conversation_id: 1 }, { unique: true });
MlsGroupSchema.plugin(tenantGuardPlugin);

export const MLS_MESSAGE_MODEL = 'MlsMessage';

export type MlsMessageKind = 'commit' | 'application';

/**
 * An application message of a conversation's group, or the record of an accepted commit, in the order
 * the server accepted it (_id). `slot` is `commit:<epoch>` for a commit (unique: one commit per epoch)
 * and `app:<_id>` for application messages. A commit's bytes are not here: they travel in the
 * conversation's seq stream (sync, history); the record says which member's device committed which
 * epoch and when (a member's first epoch, GET .../mls/history), and outlives message retention.
 */
export interface MlsMessageDoc {
  tenant_id: string;
  conversation_id: string;
  kind: MlsMessageKind;
  /** The epoch the message was sent in. */
  epoch: number;
  slot: string;
  sender_user_id: string;
  sender_device_id: string;
  /** base64 PrivateMessage of an application message (absent on commit records; older commit records carry their bytes). */
  message?: string;
  created_at: Date;
}

export const MlsMessageSchema = new Schema<MlsMessageDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    kind: { type: String, required: true },
    epoch: { type: Number, required: true },
    slot: { type: String, required: true },
    sender_user_id: { type: String, required: true },
    sender_device_id: { type: String, required: true },
    message: { type: String },
    created_at: { type: Date, required: true },
  },
  { collection: 'mls_messages', versionKey: false, minimize: false },
);
MlsMessageSchema.index({ tenant_id: 1, conversation_id: 1, slot: 1 }, { unique: true });
MlsMessageSchema.index({ tenant_id: 1, conversation_id: 1, _id: 1 });
MlsMessageSchema.plugin(tenantGuardPlugin);

export const MLS_WELCOME_MODEL = 'MlsWelcome';

/** A Welcome waiting in one device's inbox until the device deletes it. */
export interface MlsWelcomeDoc {
  tenant_id: string;
  user_id: string;
  device_id: string;
  conversation_id: string;
  group_id: string;
  /** The epoch the Welcome lets the device join at. */
  epoch: number;
  /**
   * The Welcome's bytes, stored once per commit however many devices it names (MlsWelcomeBlobDoc):
   * a Welcome carries the ratchet tree, ~340 bytes per member, so a copy per device would store
   * O(members x added) bytes (1.3 GB for a commit adding 2,000 devices).
   */
  welcome_id: Types.ObjectId;
  created_at: Date;
}

export const MlsWelcomeSchema = new Schema<MlsWelcomeDoc>(
  {
    tenant_id: { type: String, required: true },
    user_id: { type: String, required: true },
    device_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    group_id: { type: String, required: true },
    epoch: { type: Number, required: true },
    welcome_id: { type: Schema.Types.ObjectId, required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'mls_welcomes', versionKey: false, minimize: false },
);
MlsWelcomeSchema.index({ tenant_id: 1, user_id: 1, device_id: 1, _id: 1 });
MlsWelcomeSchema.plugin(tenantGuardPlugin);
MlsWelcomeSchema.index({ tenant_id: 1, welcome_id: 1 });

export const MLS_WELCOME_BLOB_MODEL = 'MlsWelcomeBlob';

/** One Welcome's bytes, shared by the inbox entries (MlsWelcomeDoc) of every device it names; gone with the last of them. */
export interface MlsWelcomeBlobDoc {
  tenant_id: string;
  /** base64 Welcome MLSMessage. */
  welcome: string;
  /** base64 GroupInfo of the epoch the Welcome joins at: its ratchet tree, when the Welcome carries none (large groups). */
  group_info: string;
  created_at: Date;
}

export const MlsWelcomeBlobSchema = new Schema<MlsWelcomeBlobDoc>(
  {
    tenant_id: { type: String, required: true },
    welcome: { type: String, required: true },
    group_info: { type: String, required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'mls_welcome_blobs', versionKey: false, minimize: false },
);
MlsWelcomeBlobSchema.plugin(tenantGuardPlugin);
