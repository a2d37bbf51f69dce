import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, Types } from 'mongoose';
import { DocumentLock, StoreDialect } from '@chat/database';
import { APPLICATION_MODEL, ApplicationDoc } from '../schemas/application.schema';
import { cursorFilter, hexOf, toObjectId } from './object-id';

@Injectable()
export class ApplicationRepository {
  /** Every update of an application document under its lock (FerretDB: see ClientRepository.locked). */
  private readonly locked: DocumentLock<Types.ObjectId>;

  constructor(
    @InjectModel(APPLICATION_MODEL) private readonly model: Model<ApplicationDoc>,
    dialect: StoreDialect,
  ) {
    this.locked = dialect.lockFor('applications', hexOf);
  }

  async create(data: Pick<ApplicationDoc, 'tenant_id' | 'name' | 'secret_enc'> & { settings?: Record<string, unknown> }): Promise<ApplicationDoc> {
    const doc = await this.model.create({ ...data, status: 'active', secret_version: 1 });
    return doc.toObject() as ApplicationDoc;
  }

  async findById(id: unknown): Promise<ApplicationDoc | null> {
    const _id = toObjectId(id);
    return _id ? ((await this.model.findOne({ _id, status: 'active' }).lean().exec()) as ApplicationDoc | null) : null;
  }

  async listByTenant(tenantId: string, cursor: string | undefined, limit: number): Promise<ApplicationDoc[]> {
    return (await this.model
      .find({ tenant_id: tenantId, status: 'active', ...cursorFilter(cursor) })
      .sort({ _id: -1 })
      .limit(limit)
      .lean()
      .exec()) as ApplicationDoc[];
  }

  async update(id: unknown, set: Record<string, unknown>): Promise<ApplicationDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.locked(_id, async () => (await this.model.findOneAndUpdate({ _id, status: 'active' }, { $set: set }, { new: true }).lean().exec()) as ApplicationDoc | null);
  }

  /** Conditional on the version read, so two concurrent rotations cannot lose a secret. */
  async rotateSecret(id: unknown, expectedVersion: number, set: Pick<ApplicationDoc, 'secret_enc' | 'previous_secret_enc' | 'previous_secret_expires_at'>): Promise<ApplicationDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.locked(
      _id,
      async () =>
        (await this.model
          .findOneAndUpdate({ _id, status: 'active', secret_version: expectedVersion }, { $set: { ...set, secret_rotated_at: new Date() }, $inc: { secret_version: 1 } }, { new: true })
          .lean()
          .exec()) as ApplicationDoc | null,
    );
  }

  async markDeleted(id: unknown): Promise<ApplicationDoc | null> {
    return this.update(id, { status: 'deleted' });
  }

  async markDeletedByTenant(tenantId: string): Promise<void> {
    const ids = (await this.model.find({ tenant_id: tenantId, status: 'active' }, { _id: 1 }).lean().exec()).map((a) => a._id);
    if (!ids.length) return;
    await this.locked.many(ids, () => this.model.updateMany({ _id: { $in: ids }, status: 'active' }, { $set: { status: 'deleted' } }).exec());
  }
}
