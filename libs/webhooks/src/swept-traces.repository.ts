import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Schema, Types } from 'mongoose';
import { mongoOnlyIndex, type EventTrace } from '@chat/database';
import { tenantGuardPlugin, TenantConnectionResolver, TenantRepository } from '@chat/tenancy';

/**
 * The crash sweeper's view of documents that carry event traces (EventTrace, written with each change
 * in the same update: libs/database event-trace.ts) and of files (whose confirmed_at and deleted_at are
 * their events' traces). Ids, metadata and the traces only.
 */
export interface SweptTraceDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  created_at?: Date;
  event_trace?: EventTrace[];
  /** users and user_tombstones. */
  external_id?: string;
  /** messages: what a reply count `message.updated` carries besides the count (replyCountEvents). */
  conversation_id?: string;
  seq?: number;
  sender_id?: string | null;
  edited_at?: Date | null;
  thread?: { parent_id?: string | null; reply_count?: number } | null;
}

/** The traced collections and the event types each one's traces can hold (a sweep reads a collection only when an endpoint wants one). */
export const TRACED_COLLECTIONS = {
  // message.updated: a thread root's reply count changes (libs/chat replyCountTrace).
  messages: ['reaction.new', 'reaction.deleted', 'message.updated'],
  conversations: ['conversation.updated'],
  users: ['user.created', 'user.updated', 'user.deactivated'],
  user_bans: ['moderation.user_banned', 'moderation.user_unbanned'],
  conversation_restrictions: ['moderation.member_muted', 'moderation.member_unmuted', 'moderation.member_banned', 'moderation.member_unbanned'],
  conversation_moderation: ['moderation.conversation_frozen', 'moderation.conversation_unfrozen', 'moderation.slow_mode_changed'],
  pinned_messages: ['moderation.message_pinned', 'moderation.message_unpinned'],
  // A deleted user's events, written just before the delete (libs/chat UserTombstonesRepository).
  user_tombstones: ['user.deleted', 'user.updated'],
} as const;
export type TracedCollection = keyof typeof TRACED_COLLECTIONS;

export const sweptTraceModel = (collection: TracedCollection): string => `WebhookSweptTrace_${collection}`;

function traceSchema(collection: TracedCollection): Schema<SweptTraceDoc> {
  const schema = new Schema<SweptTraceDoc>({ tenant_id: { type: String, required: true } }, { collection, versionKey: false, strict: false, autoCreate: false });
  // MongoDB only (mongoOnlyIndex, libs/database): the sweep is a range on a dotted field, which FerretDB
  // never pushes down to PostgreSQL, so it never reads these indexes; there they would only cost writes.
  if (collection === 'messages') {
    // Sparse on MongoDB: only messages with a reaction carry traces, and a message insert (the send path)
    // adds no entry to it. (FerretDB v1 ignores `sparse`: there it would be an ordinary index.)
    mongoOnlyIndex(schema, { 'event_trace.at': 1 }, { sparse: true });
  } else {
    mongoOnlyIndex(schema, { tenant_id: 1, 'event_trace.at': 1 });
  }
  schema.plugin(tenantGuardPlugin);
  return schema;
}

export const SWEPT_TRACE_SCHEMAS = (Object.keys(TRACED_COLLECTIONS) as TracedCollection[]).map((c) => ({ name: sweptTraceModel(c), schema: traceSchema(c) }));

/** The fields a sweep reads of a traced document (the message fields exist only on messages). */
const TRACE_VIEW = { _id: 1, event_trace: 1, created_at: 1, external_id: 1, conversation_id: 1, seq: 1, sender_id: 1, edited_at: 1, thread: 1 } as const;

class TraceView extends TenantRepository<SweptTraceDoc> {
  constructor(model: Model<SweptTraceDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Documents with a trace in [from, to) (their traces and created_at only). Not paged: the window is a sweep's, `cap` bounds it. */
  between(from: Date, to: Date, cap: number): Promise<SweptTraceDoc[]> {
    return this.find({ 'event_trace.at': { $gte: from, $lt: to } }, { projection: TRACE_VIEW, limit: cap });
  }

  /** created_at of the users (by external id) that exist. */
  async createdAt(externalIds: string[]): Promise<Map<string, Date>> {
    if (!externalIds.length) return new Map();
    const docs = await this.find({ external_id: { $in: externalIds } }, { projection: { external_id: 1, created_at: 1 } });
    return new Map(docs.map((d) => [String(d.external_id), new Date(d.created_at ?? 0)]));
  }
}

/** The traced collections of the tenant in context. */
@Injectable()
export class SweptTracesRepository {
  private readonly views: Map<TracedCollection, TraceView>;

  constructor(
    @InjectModel(sweptTraceModel('messages')) messages: Model<SweptTraceDoc>,
    @InjectModel(sweptTraceModel('conversations')) conversations: Model<SweptTraceDoc>,
    @InjectModel(sweptTraceModel('users')) users: Model<SweptTraceDoc>,
    @InjectModel(sweptTraceModel('user_bans')) userBans: Model<SweptTraceDoc>,
    @InjectModel(sweptTraceModel('conversation_restrictions')) restrictions: Model<SweptTraceDoc>,
    @InjectModel(sweptTraceModel('conversation_moderation')) settings: Model<SweptTraceDoc>,
    @InjectModel(sweptTraceModel('pinned_messages')) pins: Model<SweptTraceDoc>,
    @InjectModel(sweptTraceModel('user_tombstones')) tombstones: Model<SweptTraceDoc>,
    resolver: TenantConnectionResolver,
  ) {
    const models: Record<TracedCollection, Model<SweptTraceDoc>> = {
      messages,
      conversations,
      users,
      user_bans: userBans,
      conversation_restrictions: restrictions,
      conversation_moderation: settings,
      pinned_messages: pins,
      user_tombstones: tombstones,
    };
    this.views = new Map((Object.keys(models) as TracedCollection[]).map((c) => [c, new TraceView(models[c], resolver)]));
  }

  between(collection: TracedCollection, from: Date, to: Date, cap: number): Promise<SweptTraceDoc[]> {
    return this.views.get(collection)!.between(from, to, cap);
  }

  /**
   * The tombstones' deletions that happened: a tombstone is written just before its delete, so one
   * whose user still exists, created before it, is a deletion the node died before making.
   */
  async deletedTombstones(docs: SweptTraceDoc[]): Promise<SweptTraceDoc[]> {
    const created = await this.views.get('users')!.createdAt([...new Set(docs.map((d) => String(d.external_id)))]);
    return docs.filter((d) => {
      const at = created.get(String(d.external_id));
      const deletedAt = Math.min(...(d.event_trace ?? []).map((t) => new Date(t.at).getTime()));
      return !at || at.getTime() > deletedAt;
    });
  }
}

/** The sweeper's view of `files` (owned by libs/files): what file.uploaded / file.deleted carry, never the name or keys. */
export interface SweptFileDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  uploader_id: string;
  metadata: { mime_type: string; size: number };
  sharing: { type: string; conversation_id: string | null };
  message_id: string | null;
  confirmed_at: Date | null;
  deleted_at: Date | null;
  deleted_reason?: string | null;
  created_at: Date;
}
export const SWEPT_FILE_MODEL = 'WebhookSweptFile';
export const SweptFileSchema = new Schema<SweptFileDoc>({ tenant_id: { type: String, required: true } }, { collection: 'files', versionKey: false, strict: false, autoCreate: false });
SweptFileSchema.index({ tenant_id: 1, confirmed_at: 1 });
SweptFileSchema.index({ tenant_id: 1, deleted_at: 1 });
SweptFileSchema.plugin(tenantGuardPlugin);

const FILE_META = { _id: 1, uploader_id: 1, 'metadata.mime_type': 1, 'metadata.size': 1, 'sharing.type': 1, 'sharing.conversation_id': 1, message_id: 1, confirmed_at: 1, deleted_at: 1, deleted_reason: 1, created_at: 1 } as const;

/** Files of the tenant in context confirmed, or deleted by their uploader or the tenant's server, in a range (oldest first). */
@Injectable()
export class SweptFilesRepository extends TenantRepository<SweptFileDoc> {
  constructor(@InjectModel(SWEPT_FILE_MODEL) model: Model<SweptFileDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  confirmedBetween(from: Date, to: Date, limit: number): Promise<SweptFileDoc[]> {
    return this.find({ confirmed_at: { $gte: from, $lt: to } }, { projection: FILE_META, sort: { confirmed_at: 1 }, limit });
  }

  removedBetween(from: Date, to: Date, limit: number): Promise<SweptFileDoc[]> {
    return this.find({ deleted_at: { $gte: from, $lt: to }, deleted_reason: 'removed' }, { projection: FILE_META, sort: { deleted_at: 1 }, limit });
  }
}
