import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, Types } from 'mongoose';
import { DocumentLock, StoreDialect } from '@chat/database';
import { PLATFORM_ADMIN_MODEL, PlatformAdminDoc } from '../schemas/platform-admin.schema';
import { cursorFilter, hexOf, toObjectId } from './object-id';

@Injectable()
export class PlatformAdminRepository {
  /** Every update of an admin document under its lock (FerretDB: a login's last_login_at could undo a role change or a disable). */
  private readonly locked: DocumentLock<Types.ObjectId>;

  constructor(
    @InjectModel(PLATFORM_ADMIN_MODEL) private readonly model: Model<PlatformAdminDoc>,
    dialect: StoreDialect,
  ) {
    this.locked = dialect.lockFor('platform_admins', hexOf);
  }

  /** Waits for the unique email index (bootstrap relies on it when several nodes start at once). */
  async ensureIndexes(): Promise<void> {
    await this.model.init();
  }

  async count(): Promise<number> {
    return this.model.countDocuments({}).exec();
  }

  async create(data: Pick<PlatformAdminDoc, 'email' | 'password_hash' | 'role'>): Promise<PlatformAdminDoc> {
    const doc = await this.model.create({ ...data, status: 'active' });
    return doc.toObject() as PlatformAdminDoc;
  }

  async findByEmail(email: string): Promise<PlatformAdminDoc | null> {
    return (await this.model.findOne({ email }).lean().exec()) as PlatformAdminDoc | null;
  }

  async findById(id: unknown): Promise<PlatformAdminDoc | null> {
    const _id = toObjectId(id);
    return _id ? ((await this.model.findOne({ _id }).lean().exec()) as PlatformAdminDoc | null) : null;
  }

  async list(cursor: string | undefined, limit: number): Promise<PlatformAdminDoc[]> {
    return (await this.model.find(cursorFilter(cursor)).sort({ _id: -1 }).limit(limit).lean().exec()) as PlatformAdminDoc[];
  }

  async update(id: unknown, set: Record<string, unknown>): Promise<PlatformAdminDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.locked(_id, async () => (await this.model.findOneAndUpdate({ _id }, { $set: set }, { new: true }).lean().exec()) as PlatformAdminDoc | null);
  }

  async touchLogin(id: unknown): Promise<void> {
    const _id = toObjectId(id);
    if (_id) await this.locked(_id, () => this.model.updateOne({ _id }, { $set: { last_login_at: new Date() } }).exec());
  }
}
