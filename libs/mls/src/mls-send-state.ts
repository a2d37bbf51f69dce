import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { TenantContext } from '@chat/tenancy';
import { MlsGroupsRepository, MlsSendStateRecord } from './mls.repository';

/** What a v2 send is checked against (MlsSendGate). */
export interface MlsSendState {
  group_id: string;
  epoch: number;
  /** Users with a leaf in the tree of `epoch` (shared between callers: read only). */
  tree_users: readonly string[];
}

/** The shared pointer to a conversation's group state: which version of the record is current (null: no group). */
interface Pointer {
  group_id: string;
  epoch: number;
  /** The record's updated_at (ms): with group and epoch it names one write of the record. */
  at: number;
}

/**
 * How long a pointer lives in the shared cache. Only a failed invalidation (a crash between the
 * record's write and `changed`, or Redis refusing the write while still answering reads) leaves a
 * pointer behind the record; this bounds that. A miss costs one small read per conversation.
 */
const POINTER_TTL_SECONDS = 30;
/** Tree user ids held in process, over all conversations (about 50 bytes each). */
const MAX_TREE_USERS_HELD = 500_000;

function versionOf(p: Pointer): string {
  return `${p.group_id}:${p.epoch}:${p.at}`;
}

function pointerOf(r: MlsSendStateRecord): Pointer {
  return { group_id: r.group_id, epoch: r.epoch, at: new Date(r.updated_at).getTime() };
}

/**
 * The send gate's view of a conversation's MLS group without reading the group record on every send
 * (FerretDB decodes the whole record, GroupInfo and ratchet tree included, whatever the projection).
 *
 * Two parts:
 * - The mutable part, a pointer (group id, epoch, updated_at), lives in the shared cache (libs/cache:
 *   Redis, read in the per-tick MGET that the other cached reads of a send share). Every write of the
 *   record (group creation and every accepted commit, external joins included: they all go through
 *   `MlsDeliveryService.postCommit`) calls `changed` once the write is acknowledged and before the
 *   commit is answered or written to the stream. `changed` bumps the key's generation, so a reader on
 *   any node that loaded the old record just before the write can never store it afterwards
 *   (CacheService's generation rule). Hence no stale window: a send whose check starts after a commit
 *   is acknowledged (to its committer, or seen in the stream by anyone) reads the new pointer or a
 *   miss, on every node. A send checked while the commit is being accepted may pass at the old epoch,
 *   as it could when the record was read each time (docs/e2e.md, "Limits").
 * - The immutable part, the tree's users of one version of the record, is held in process: a version
 *   (group id, epoch, updated_at) is written once by the compare-and-set that moved the group there.
 *   A node that meets a version it has not seen (another node took the commit) reads the record once.
 *
 * Membership is not part of this state: the gate compares the tree with the conversation's members
 * as the send path read them (the conversation's own cache, invalidated by the membership write), so
 * adding or removing a member needs no invalidation here and a removal is pending at once everywhere.
 * Groups are deleted only with their tenant (whose requests are refused from then on). A database
 * restored from a backup can put records behind their pointers: sends the record refuses may then
 * pass for at most POINTER_TTL_SECONDS, and a refusal never comes from such a pointer (the gate
 * confirms refusals against the record).
 */
@Injectable()
export class MlsSendStateCache {
  /** Per `tenant\u0000conversation`: the tree users of the last version this node read. Oldest first. */
  private readonly trees = new Map<string, { version: string; users: readonly string[] }>();
  private held = 0;

  constructor(
    private readonly groups: MlsGroupsRepository,
    private readonly cache: CacheService,
  ) {}

  /** The group's state for a send check; null when the conversation has no group. */
  async get(conversationId: string): Promise<MlsSendState | null> {
    const pointer = await this.cache.getOrLoad<Pointer | null>(['mls-send', conversationId], POINTER_TTL_SECONDS, async () => {
      const record = await this.groups.sendState(conversationId);
      if (record) this.remember(conversationId, record);
      return record ? pointerOf(record) : null;
    });
    if (!pointer) return null;
    const tree = this.trees.get(this.localKey(conversationId));
    if (tree && tree.version === versionOf(pointer)) return { group_id: pointer.group_id, epoch: pointer.epoch, tree_users: tree.users };
    // Another node moved the group, or this one never saw this version: the record is at least as new as the pointer.
    return this.fresh(conversationId);
  }

  /**
   * The state read from the record itself (the gate confirms a refusal with it). When it differs from
   * the shared pointer, the pointer is dropped, so a pointer left behind by a failed invalidation does
   * not outlive the first refusal it causes.
   */
  async fresh(conversationId: string, cached?: MlsSendState | null): Promise<MlsSendState | null> {
    const record = await this.groups.sendState(conversationId);
    if (record) this.remember(conversationId, record);
    if (cached !== undefined && (cached?.group_id !== record?.group_id || cached?.epoch !== record?.epoch)) await this.changed(conversationId);
    return record ? { group_id: record.group_id, epoch: record.epoch, tree_users: record.tree_users ?? [] } : null;
  }

  /** Call after the group record was written (created, advanced), or after a commit lost the race for it. */
  async changed(conversationId: string): Promise<void> {
    await this.cache.del(['mls-send', conversationId]);
  }

  private localKey(conversationId: string): string {
    return `${TenantContext.requireTenantId('mls')}\u0000${conversationId}`;
  }

  private remember(conversationId: string, record: MlsSendStateRecord): void {
    const key = this.localKey(conversationId);
    const users = record.tree_users ?? [];
    const old = this.trees.get(key);
    if (old) {
      this.held -= old.users.length;
      this.trees.delete(key);
    }
    this.trees.set(key, { version: versionOf(pointerOf(record)), users });
    this.held += users.length;
    for (const [k, v] of this.trees) {
      if (this.held <= MAX_TREE_USERS_HELD || k === key) break;
      this.trees.delete(k);
      this.held -= v.users.length;
    }
  }
}
