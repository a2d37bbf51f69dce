import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { TenantConnectionResolver, TenantRepository } from '@chat/tenancy';
import {
  CONVERSATION_KEY_MODEL,
  CONVERSATION_KEY_SHARE_MODEL,
  ConversationKeyDoc,
  ConversationKeyShareDoc,
  DEVICE_KEY_MODEL,
  DeviceKeyDoc,
  DeviceKeyRecord,
  MESSAGE_KEY_SHARE_MODEL,
  MessageKeyShareDoc,
  MessageKeyShareRecord,
} from './device-key.schema';
import { isDuplicateKeyError } from '@chat/database';

/** Published device keys of the current tenant. */
@Injectable()
export class DeviceKeysRepository extends TenantRepository<DeviceKeyDoc> {
  constructor(@InjectModel(DEVICE_KEY_MODEL) model: Model<DeviceKeyDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Every version of one device, revoked ones included, lowest version first. */
  versionsOf(userId: string, deviceId: string): Promise<DeviceKeyRecord[]> {
    return this.find({ user_id: userId, device_id: deviceId }, { sort: { key_version: 1 } }) as Promise<DeviceKeyRecord[]>;
  }

  /** Every key of these users (optionally only live ones), ordered by user, device, version. */
  ofUsers(userIds: string[], opts: { liveOnly: boolean; limit?: number }): Promise<DeviceKeyRecord[]> {
    if (userIds.length === 0) return Promise.resolve([]);
    const filter: Record<string, unknown> = { user_id: userIds.length === 1 ? userIds[0] : { $in: userIds } };
    if (opts.liveOnly) filter.revoked_at = null;
    return this.find(filter, { sort: { user_id: 1, device_id: 1, key_version: 1 }, limit: opts.limit }) as Promise<DeviceKeyRecord[]>;
  }

  /** Inserts a version; false when (user, device, version) already exists (unique index). */
  async insertVersion(doc: Omit<DeviceKeyDoc, 'tenant_id'>): Promise<boolean> {
    try {
      await this.insertOne(doc);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Revokes every live version of the device; returns how many were revoked. */
  async revokeDevice(userId: string, deviceId: string, at: Date): Promise<number> {
    const res = await this.updateMany({ user_id: userId, device_id: deviceId, revoked_at: null }, { $set: { revoked_at: at } });
    return res.modifiedCount;
  }

  /** Live device ids of a user (to bound the number of devices). */
  async liveDeviceIds(userId: string): Promise<string[]> {
    return this.distinct<string>('device_id', { user_id: userId, revoked_at: null });
  }

  /** Right to erasure: all key documents of a user. */
  async removeUser(userId: string): Promise<number> {
    const res = await this.deleteMany({ user_id: userId });
    return res.deletedCount ?? 0;
  }
}

/** History key shares of the current tenant. */
@Injectable()
export class MessageKeySharesRepository extends TenantRepository<MessageKeyShareDoc> {
  constructor(@InjectModel(MESSAGE_KEY_SHARE_MODEL) model: Model<MessageKeyShareDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Stores (or replaces) the share from `shared_by` to `recipient_id` for one message. */
  async upsertShare(doc: Omit<MessageKeyShareDoc, 'tenant_id'>): Promise<void> {
    const filter = { message_id: doc.message_id, recipient_id: doc.recipient_id, shared_by: doc.shared_by };
    const set = { conversation_id: doc.conversation_id, ephemeral_public_key: doc.ephemeral_public_key, encrypted_key: doc.encrypted_key, created_at: doc.created_at };
    try {
      await this.updateOne(filter, { $set: set }, { upsert: true });
    } catch (err) {
      // Two concurrent upserts of the same share: the loser updates the winner's document.
      if (!isDuplicateKeyError(err)) throw err;
      await this.updateOne(filter, { $set: set });
    }
  }

  /** Shares addressed to the user in a conversation, oldest first, after the given id. */
  forRecipient(conversationId: string, recipientId: string, opts: { afterId?: string; messageIds?: string[]; limit: number }): Promise<MessageKeyShareRecord[]> {
    const filter: Record<string, unknown> = { conversation_id: conversationId, recipient_id: recipientId };
    if (opts.afterId) filter._id = { $gt: new Types.ObjectId(opts.afterId) };
    if (opts.messageIds?.length) filter.message_id = { $in: opts.messageIds };
    return this.find(filter, { sort: { _id: 1 }, limit: opts.limit }) as Promise<MessageKeyShareRecord[]>;
  }

  /** A deleted message's shares go with it. */
  async removeForMessage(messageId: string): Promise<number> {
    const res = await this.deleteMany({ message_id: messageId });
    return res.deletedCount ?? 0;
  }
}

/** Conversation key versions and their shares, of the current tenant. */
@Injectable()
export class ConversationKeysRepository extends TenantRepository<ConversationKeyDoc> {
  constructor(@InjectModel(CONVERSATION_KEY_MODEL) model: Model<ConversationKeyDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Creates the version; false when it already exists. */
  async create(doc: Omit<ConversationKeyDoc, 'tenant_id'>): Promise<boolean> {
    try {
      await this.insertOne(doc);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  getVersion(conversationId: string, keyVersion: number) {
    return this.findOne({ conversation_id: conversationId, key_version: keyVersion });
  }

  latest(conversationId: string) {
    return this.find({ conversation_id: conversationId }, { sort: { key_version: -1 }, limit: 1 }).then((r) => r[0] ?? null);
  }

  versions(conversationId: string, keyVersions: number[]) {
    if (keyVersions.length === 0) return Promise.resolve([]);
    return this.find({ conversation_id: conversationId, key_version: { $in: keyVersions } }, { sort: { key_version: -1 } });
  }
}

@Injectable()
export class ConversationKeySharesRepository extends TenantRepository<ConversationKeyShareDoc> {
  constructor(@InjectModel(CONVERSATION_KEY_SHARE_MODEL) model: Model<ConversationKeyShareDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Stores (or replaces) the share of one version from `shared_by` to `recipient_id`. */
  async upsertShare(doc: Omit<ConversationKeyShareDoc, 'tenant_id'>): Promise<void> {
    const filter = { conversation_id: doc.conversation_id, recipient_id: doc.recipient_id, key_version: doc.key_version, shared_by: doc.shared_by };
    const set = { ephemeral_public_key: doc.ephemeral_public_key, encrypted_key: doc.encrypted_key, created_at: doc.created_at };
    try {
      await this.updateOne(filter, { $set: set }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      await this.updateOne(filter, { $set: set });
    }
  }

  /** Shares addressed to the user, newest version first (bounded). */
  forRecipient(conversationId: string, recipientId: string, limit: number) {
    return this.find({ conversation_id: conversationId, recipient_id: recipientId }, { sort: { key_version: -1 }, limit });
  }
}
