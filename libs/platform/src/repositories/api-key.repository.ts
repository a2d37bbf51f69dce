import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, Types } from 'mongoose';
import { DocumentLock, StoreDialect } from '@chat/database';
import { API_KEY_MODEL, ApiKeyDoc } from '../schemas/api-key.schema';
import { cursorFilter, hexOf, toObjectId } from './object-id';

@Injectable()
export class ApiKeyRepository {
  /**
   * Every update of a key document runs under its lock: on FerretDB an update is read, changed and
   * written back whole, so a last-used-at update (made, unawaited, at a key's first use on a node) that
   * read the key before a revocation wrote it back without `revoked_at`, and the revoked key worked
   * again (test/api-key-revoke-race). On MongoDB updates are atomic and the lock is skipped.
   */
  private readonly locked: DocumentLock<Types.ObjectId>;

  constructor(
    @InjectModel(API_KEY_MODEL) private readonly model: Model<ApiKeyDoc>,
    dialect: StoreDialect,
  ) {
    this.locked = dialect.lockFor('api_keys', hexOf);
  }

  async create(data: Omit<ApiKeyDoc, '_id' | 'created_at' | 'updated_at'>): Promise<ApiKeyDoc> {
    const doc = await this.model.create(data);
    return doc.toObject() as ApiKeyDoc;
  }

  async findById(id: unknown): Promise<ApiKeyDoc | null> {
    const _id = toObjectId(id);
    return _id ? ((await this.model.findOne({ _id }).lean().exec()) as ApiKeyDoc | null) : null;
  }

  async findByPrefix(prefix: string): Promise<ApiKeyDoc | null> {
    return (await this.model.findOne({ prefix }).lean().exec()) as ApiKeyDoc | null;
  }

  async listByApplication(applicationId: string, cursor: string | undefined, limit: number): Promise<ApiKeyDoc[]> {
    return (await this.model
      .find({ application_id: applicationId, ...cursorFilter(cursor) })
      .sort({ _id: -1 })
      .limit(limit)
      .lean()
      .exec()) as ApiKeyDoc[];
  }

  async revoke(id: unknown): Promise<ApiKeyDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.locked(_id, async () => (await this.model.findOneAndUpdate({ _id, revoked_at: null }, { $set: { revoked_at: new Date() } }, { new: true }).lean().exec()) as ApiKeyDoc | null);
  }

  /** Revokes every live key of an application or tenant; returns the ones it revoked (for broadcasts). */
  async revokeAll(filter: { application_id?: string; tenant_id?: string }): Promise<ApiKeyDoc[]> {
    const live = (await this.model.find({ ...filter, revoked_at: null }).lean().exec()) as ApiKeyDoc[];
    const ids = live.map((k) => k._id);
    if (live.length) {
      await this.locked.many(ids, () => this.model.updateMany({ _id: { $in: ids }, revoked_at: null }, { $set: { revoked_at: new Date() } }).exec());
    }
    return live;
  }

  /** Marks a key rotated: it keeps working until `expiresAt` (never extends an earlier expiry). */
  async markRotated(id: unknown, replacedBy: string, expiresAt: Date): Promise<ApiKeyDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.locked(_id, async () => {
      const current = await this.findById(_id);
      if (!current || current.revoked_at || current.replaced_by) return null;
      const expiry = current.expires_at && current.expires_at < expiresAt ? current.expires_at : expiresAt;
      return (await this.model
        .findOneAndUpdate({ _id, revoked_at: null, replaced_by: null }, { $set: { replaced_by: replacedBy, rotated_at: new Date(), expires_at: expiry } }, { new: true })
        .lean()
        .exec()) as ApiKeyDoc | null;
    });
  }

  /** One write per key per interval across all nodes: the filter only matches a stale last_used_at. */
  async touchLastUsed(id: unknown, now: Date, minIntervalMs: number): Promise<void> {
    const _id = toObjectId(id);
    if (!_id) return;
    await this.locked(_id, () =>
      this.model.updateOne({ _id, $or: [{ last_used_at: null }, { last_used_at: { $lt: new Date(now.getTime() - minIntervalMs) } }] }, { $set: { last_used_at: now } }, { timestamps: false }).exec(),
    );
  }
}
