import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import type { FilterQuery } from 'mongoose';
import { isDuplicateKeyError, StoreDialect } from '@chat/database';
import { TenantConnectionResolver, TenantRepository } from '@chat/tenancy';
import type { ReportStatus } from '@chat/contracts';
import { REPORT_MODEL, ReportDoc, ReportRecord, ReportStatusFilter } from './report.schema';

export interface ReportQuery {
  status?: ReportStatusFilter;
  conversation_id?: string;
  /** Id of the last report of the previous page. */
  cursor?: string;
  limit: number;
}

/** Reports of the current tenant (TenantContext). */
@Injectable()
export class ReportsRepository extends TenantRepository<ReportDoc> {
  constructor(
    @InjectModel(REPORT_MODEL) model: Model<ReportDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
  }

  /** Null when this member already reported this message (unique index). */
  async create(doc: Omit<ReportDoc, 'tenant_id'>): Promise<ReportRecord | null> {
    try {
      return await this.insertOne(doc);
    } catch (err) {
      if (isDuplicateKeyError(err)) return null;
      throw err;
    }
  }

  get(id: string): Promise<ReportRecord | null> {
    return this.findById(id);
  }

  /** Newest first; fetches limit + 1 so the caller knows whether there is more. */
  list(q: ReportQuery): Promise<ReportRecord[]> {
    const filter: FilterQuery<ReportDoc> = {};
    if (q.status) filter.status = q.status === 'resolved' ? { $in: ['dismissed', 'actioned'] as ReportStatus[] } : q.status;
    if (q.conversation_id) filter.conversation_id = q.conversation_id;
    if (q.cursor) filter._id = { $lt: new Types.ObjectId(q.cursor) };
    return this.find(filter, { sort: { _id: -1 }, limit: q.limit + 1 });
  }

  /** Closes an open report; null when it is not open any more (resolved concurrently) or does not exist. */
  resolve(id: string, set: Pick<ReportDoc, 'status' | 'resolution' | 'updated_at'>): Promise<ReportRecord | null> {
    if (!TenantRepository.isObjectId(id)) return Promise.resolve(null);
    // Conditional on `open`: of two concurrent resolutions one wins (serialised per report on FerretDB, whose updates are not atomic).
    return this.dialect.serialised(`reports:${this.tenant('resolve')}`, id, () => this.findOneAndUpdate({ _id: new Types.ObjectId(id), status: 'open' }, { $set: set }));
  }
}
