import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Types, type Model } from 'mongoose';
import { StoreDialect } from '@chat/database';
import { WEBHOOK_ENDPOINT_MODEL, WebhookEndpointDoc } from './webhook.schemas';

const toObjectId = (id: unknown): Types.ObjectId | null =>
  typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id) ? new Types.ObjectId(id) : id instanceof Types.ObjectId ? id : null;

/** Who may see an endpoint: an admin (any), or an API key of its application and tenant. */
export interface EndpointScope {
  tenantId?: string;
  applicationId?: string;
}

function scoped(scope: EndpointScope): Record<string, string> {
  const f: Record<string, string> = {};
  if (scope.tenantId) f.tenant_id = scope.tenantId;
  if (scope.applicationId) f.application_id = scope.applicationId;
  return f;
}

@Injectable()
export class WebhookEndpointsRepository {
  constructor(
    @InjectModel(WEBHOOK_ENDPOINT_MODEL) private readonly model: Model<WebhookEndpointDoc>,
    private readonly dialect: StoreDialect,
  ) {}

  async create(data: Omit<WebhookEndpointDoc, '_id' | 'created_at' | 'updated_at'>): Promise<WebhookEndpointDoc> {
    return (await this.model.create(data)).toObject() as WebhookEndpointDoc;
  }

  /** A live (not deleted) endpoint inside the scope; a malformed id is not found. */
  async find(id: unknown, scope: EndpointScope = {}): Promise<WebhookEndpointDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return (await this.model.findOne({ _id, deleted_at: null, ...scoped(scope) }).lean().exec()) as WebhookEndpointDoc | null;
  }

  /** Live endpoints by id (the dispatcher reads the endpoints of one scan's claims at once). */
  async findMany(ids: string[]): Promise<WebhookEndpointDoc[]> {
    const oids = ids.map((id) => toObjectId(id)).filter((id) => id !== null);
    if (!oids.length) return [];
    return (await this.model.find({ _id: { $in: oids }, deleted_at: null }).lean().exec()) as WebhookEndpointDoc[];
  }

  async list(applicationId: string, scope: EndpointScope, cursor: string | undefined, limit: number): Promise<WebhookEndpointDoc[]> {
    const c = cursor ? toObjectId(cursor) : null;
    return (await this.model
      .find({ application_id: applicationId, deleted_at: null, ...scoped(scope), ...(c ? { _id: { $lt: c } } : {}) })
      .sort({ _id: -1 })
      .limit(limit)
      .lean()
      .exec()) as WebhookEndpointDoc[];
  }

  /** Active endpoints of a tenant (every application): who receives its events. */
  async activeForTenant(tenantId: string): Promise<WebhookEndpointDoc[]> {
    return (await this.model.find({ tenant_id: tenantId, active: true, deleted_at: null }).lean().exec()) as WebhookEndpointDoc[];
  }

  /** Tenants with at least one active endpoint (the crash sweeper only looks at those). */
  async tenantsWithActiveEndpoints(): Promise<string[]> {
    return (await this.model.distinct('tenant_id', { active: true, deleted_at: null }).exec()) as string[];
  }

  /**
   * Every update of an endpoint (PATCH, delete, secret rotation, the dispatcher's 410-disable) runs under
   * the document's lock (StoreDialect.serialised; a plain call on MongoDB): on FerretDB an update is
   * read, changed and written back whole, so of two PATCHes one was lost and a PATCH beside a delete
   * brought the endpoint back (test/webhook-endpoints-write-races). `expected`: fields the document
   * must still hold (a compare-and-set; null when it no longer does).
   */
  async update(id: unknown, scope: EndpointScope, set: Partial<WebhookEndpointDoc>, expected: Partial<WebhookEndpointDoc> = {}): Promise<WebhookEndpointDoc | null> {
    const _id = toObjectId(id);
    if (!_id) return null;
    return this.dialect.serialised(
      'webhook_endpoints',
      _id.toHexString(),
      async () =>
        (await this.model.findOneAndUpdate({ ...expected, _id, deleted_at: null, ...scoped(scope) }, { $set: set }, { new: true }).lean().exec()) as WebhookEndpointDoc | null,
    );
  }
}
