import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, Types } from 'mongoose';
import { DocumentLock, StoreDialect } from '@chat/database';
import { CLIENT_MODEL, ClientDoc, TenantStatus } from '../schemas/client.schema';
import { cursorFilter, hexOf, toObjectId } from './object-id';

export type NewClient = Pick<ClientDoc, 'name' | 'plan' | 'region' | 'quotas'> & { metadata?: Record<string, unknown> };

/** The `clients` collection (tenants). Platform data: cross-tenant by nature, admin-only. */
@Injectable()
export class ClientRepository {
  /**
   * Every update of a tenant document runs under its lock: on FerretDB an update is read, changed and
   * written back whole, so a rename beside a suspension lost one of them (test/platform-write-races),
   * and the conditional transitions below could both win. On MongoDB the lock is skipped.
   */
  private readonly locked: DocumentLock<Types.ObjectId>;

  constructor(
    @InjectModel(CLIENT_MODEL) private readonly model: Model<ClientDoc>,
    dialect: StoreDialect,
  ) {
    this.locked = dialect.lockFor('clients', hexOf);
  }

  async create(data: NewClient): Promise<ClientDoc> {
    const doc = await this.model.create({ ...data, status: 'active' });
    return doc.toObject() as ClientDoc;
  }

  async findById(id: unknown): Promise<ClientDoc | null> {
    const _id = toObjectId(id);
    return _id ? ((await this.model.findOne({ _id }).lean().exec()) as ClientDoc | null) : null;
  }

  async list(q: { status?: string; plan?: string; cursor?: string; limit: number }): Promise<ClientDoc[]> {
    const filter: Record<string, unknown> = { ...cursorFilter(q.cursor) };
    if (q.status) filter.status = q.status;
    else filter.status = { $ne: 'deleted' };
    if (q.plan) filter.plan = q.plan;
    return (await this.model.find(filter).sort({ _id: -1 }).limit(q.limit).lean().exec()) as ClientDoc[];
  }

  /** Updates a tenant that is not deleted; null when there is none. */
  async update(id: unknown, set: Record<string, unknown>, unset: string[] = []): Promise<ClientDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    const update: Record<string, unknown> = { $set: set };
    if (unset.length) update.$unset = Object.fromEntries(unset.map((f) => [f, '']));
    return this.locked(_id, async () => (await this.model.findOneAndUpdate({ _id, status: { $ne: 'deleted' } }, update, { new: true }).lean().exec()) as ClientDoc | null);
  }

  /** Status transition only from one of `from` (under the document's lock), so two admins racing cannot double-apply. */
  async transition(id: unknown, from: TenantStatus[], to: TenantStatus, set: Record<string, unknown> = {}): Promise<ClientDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.locked(_id, async () => (await this.model.findOneAndUpdate({ _id, status: { $in: from } }, { $set: { ...set, status: to } }, { new: true }).lean().exec()) as ClientDoc | null);
  }

  /** Records a finished export that started at `at` (kept only if newer than the recorded one). */
  async markExported(id: unknown, at: Date): Promise<void> {
    const _id = toObjectId(id);
    if (!_id) return;
    await this.locked(_id, () => this.model.updateOne({ _id, status: { $ne: 'deleted' }, $or: [{ exported_at: null }, { exported_at: { $lt: at } }] }, { $set: { exported_at: at } }).exec());
  }

  /** The erase of a deleted tenant finished: only the tombstone is left (its free-form metadata goes too). */
  async markErased(id: unknown): Promise<ClientDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.locked(_id, async () => (await this.model.findOneAndUpdate({ _id, status: 'deleted' }, { $set: { erased_at: new Date(), metadata: {} } }, { new: true }).lean().exec()) as ClientDoc | null);
  }
}
