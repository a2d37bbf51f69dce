import { Injectable } from '@nestjs/common';
import { canonicalConversationId, ChatEventBus, ConversationsService, E2E_HANDSHAKE_ALGORITHM, HANDSHAKE_CONTENT_TYPE, MessagesService } from '@chat/chat';
import type { ClaimedKeyPackageView, KeyPackageCountView, WithDates } from '@chat/contracts';
import type * as Wire from '@chat/contracts';
import { AppError, ErrorCode } from '@chat/errors';
import { asTenantId } from '@chat/tenancy';
// The SDK's MLS module (the only place ts-mls is imported); not part of the SDK's browser entry point yet.
import * as mls from '../../sdk/src/mls';
import { Types } from 'mongoose';
import { MlsSendStateCache } from './mls-send-state';
import { MlsGroupsRepository, MlsKeyPackagesRepository, MlsMessageRecord, MlsMessagesRepository, MlsWelcomeBlobsRepository, MlsWelcomeRecord, MlsWelcomesRepository } from './mls.repository';

const DEVICE_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A KeyPackage of our ciphersuite is a few hundred bytes; extensions could add some. */
const MAX_KEY_PACKAGE_BYTES = 16 * 1024;
/** One-time packages a device may hold unclaimed (a publish beyond it is refused). */
export const MAX_ONE_TIME_KEY_PACKAGES = 500;

/** The Delivery Service's views as it builds them: the wire contract's, their timestamps still Dates (JSON writes them as the contract's ISO strings). */
export type MlsGroupView = WithDates<Wire.MlsGroupView, 'updated_at'>;
export type MlsMessageView = WithDates<Wire.MlsMessageView, 'created_at'>;
export type MlsWelcomeView = WithDates<Wire.MlsWelcomeView, 'created_at'>;

function invalid(field: string, problem: string): AppError {
  return AppError.validation([{ field, problems: [problem] }]);
}

function checkDeviceId(deviceId: unknown, field = 'device_id'): string {
  if (typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId)) throw invalid(field, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  return deviceId;
}

/** Strict standard base64 to bytes (the DTOs check the shape; this also bounds the size). */
function bytesOf(field: string, value: unknown, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  if (typeof value !== 'string' || value.length === 0 || !B64_RE.test(value)) throw invalid(field, 'must be standard base64');
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  if (bytes.length > maxBytes) throw invalid(field, `must be at most ${maxBytes} bytes`);
  return bytes;
}

/** Runs an SDK inspection; malformed MLS bytes become a 400 on `field`. */
function inspect<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof mls.MlsError) throw invalid(field, err.message);
    throw err;
  }
}
async function inspectAsync<T>(field: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof mls.MlsError) throw invalid(field, err.message);
    throw err;
  }
}

function toSafeEpoch(epoch: bigint, field: string): number {
  if (epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(field, 'epoch out of range');
  return Number(epoch);
}

/**
 * The MLS Delivery Service (RFC 9420 §16, docs/e2e-crypto.md v2): a KeyPackage directory per device,
 * per conversation the epoch order of commits (each in the conversation's seq stream), the latest
 * GroupInfo, Welcome routing, and the group's application messages. It parses MLS headers and signatures and never holds a key that decrypts.
 */
@Injectable()
export class MlsDeliveryService {
  constructor(
    private readonly keyPackages: MlsKeyPackagesRepository,
    private readonly groups: MlsGroupsRepository,
    private readonly messages: MlsMessagesRepository,
    private readonly welcomes: MlsWelcomesRepository,
    private readonly welcomeBlobs: MlsWelcomeBlobsRepository,
    private readonly conversations: ConversationsService,
    private readonly events: ChatEventBus,
    private readonly messagesService: MessagesService,
    private readonly sendState: MlsSendStateCache,
  ) {
    // A deleted user's key packages and pending Welcomes go with it (runs in the deleting request's tenant).
    events.on('user.deleted', async ({ user_id }) => {
      await this.keyPackages.removeUser(user_id);
      await this.dropUnreferenced(await this.welcomes.removeUser(user_id));
    });
  }

  /** The credential identity a device of this caller must publish. */
  identityOf(tenantId: string, userId: string, deviceId: string): string {
    checkDeviceId(deviceId);
    return mls.identityToString({ tenantId, userId, deviceId: deviceId });
  }

  /**
   * Publishes key packages of the caller's device. Each is parsed and its signature verified; its
   * credential must name exactly this tenant, user and device (403 otherwise).
   */
  async publishKeyPackages(tenantId: string, userId: string, deviceId: string, input: { key_packages?: string[]; last_resort?: string }): Promise<KeyPackageCountView> {
    checkDeviceId(deviceId);
    const expected = { tenantId, userId, deviceId };
    const check = async (field: string, b64: string) => {
      const info = await inspectAsync(field, () => mls.inspectKeyPackage(bytesOf(field, b64, MAX_KEY_PACKAGE_BYTES)));
      if (!info.identity || !mls.sameIdentity(info.identity, expected)) {
        throw new AppError(ErrorCode.Forbidden, 'The key package credential must name this tenant, user and device', { field, expected_identity: mls.identityToString(expected) });
      }
      return { ref: info.ref, key_package: b64 };
    };
    const oneTime = [];
    for (const [i, b64] of (input.key_packages ?? []).entries()) oneTime.push(await check(`key_packages[${i}]`, b64));
    const lastResort = input.last_resort === undefined ? undefined : await check('last_resort', input.last_resort);
    if (oneTime.length === 0 && !lastResort) throw invalid('key_packages', 'publish at least one key package or a last_resort one');
    if (lastResort && oneTime.some((k) => k.ref === lastResort.ref)) throw invalid('last_resort', 'must differ from the one-time key packages');
    const held = await this.keyPackages.countUnclaimed(userId, deviceId);
    if (held + oneTime.length > MAX_ONE_TIME_KEY_PACKAGES) {
      throw AppError.conflict(`A device holds at most ${MAX_ONE_TIME_KEY_PACKAGES} unclaimed key packages`, { limit: MAX_ONE_TIME_KEY_PACKAGES, unclaimed: held });
    }
    const now = new Date();
    await this.keyPackages.insertOneTime(userId, deviceId, oneTime, now);
    if (lastResort) await this.keyPackages.replaceLastResort(userId, deviceId, lastResort, now);
    return this.countKeyPackages(userId, deviceId);
  }

  async countKeyPackages(userId: string, deviceId: string): Promise<KeyPackageCountView> {
    checkDeviceId(deviceId);
    const [oneTime, lastResort] = await Promise.all([this.keyPackages.countUnclaimed(userId, deviceId), this.keyPackages.hasLastResort(userId, deviceId)]);
    return { device_id: deviceId, one_time: oneTime, last_resort: lastResort };
  }

  /** One key package per device of the user (one-time when left, else the last-resort one). */
  async claimKeyPackages(claimerId: string, userId: string): Promise<ClaimedKeyPackageView[]> {
    const devices = (await this.keyPackages.deviceIds(userId)).sort();
    const now = new Date();
    const out: ClaimedKeyPackageView[] = [];
    for (const deviceId of devices) {
      const kp = await this.keyPackages.claimOne(userId, deviceId, claimerId, now);
      if (kp) out.push({ user_id: userId, device_id: deviceId, key_package: kp.key_package, last_resort: kp.last_resort });
    }
    return out;
  }

  async group(givenId: string, userId: string): Promise<MlsGroupView> {
    const conversationId = canonicalConversationId(givenId);
    await this.conversations.requireMember(conversationId, userId);
    const g = await this.groups.byConversation(conversationId);
    if (!g) throw AppError.notFound('MLS group');
    return { conversation_id: g.conversation_id, group_id: g.group_id, epoch: g.epoch, group_info: g.group_info, updated_at: g.updated_at };
  }

  /**
   * Accepts a commit made at epoch N only while the conversation's group is at N (409 `conflict`
   * with the current epoch otherwise: catch up and retry). The first commit (epoch 0) creates the
   * group. The GroupInfo must describe the epoch the commit leads to; a Welcome goes to the inbox
   * of each device whose key package it names, and each of them must belong to a member.
   */
  async postCommit(
    tenantId: string,
    givenId: string,
    userId: string,
    input: { device_id: string; commit: string; group_info: string; welcome?: string },
  ): Promise<{ epoch: number; message_id: string; seq: number; welcomed: Array<{ user_id: string; device_id: string }> }> {
    const conversationId = canonicalConversationId(givenId);
    const conv = await this.conversations.requireMember(conversationId, userId);
    const deviceId = checkDeviceId(input.device_id);
    const commit = inspect('commit', () => mls.inspectGroupMessage(bytesOf('commit', input.commit)));
    if (commit.kind !== 'commit') throw invalid('commit', 'must be an MLS commit');
    const epoch = toSafeEpoch(commit.epoch, 'commit');
    if (commit.wireformat === 'mls_public_message' && commit.senderType !== 'member') {
      // An external commit: the joiner's new leaf must be the caller's device (membership was checked above).
      if (commit.senderType !== 'new_member_commit') throw invalid('commit', 'must come from a member or be an external join');
      if (!commit.joiner || !mls.sameIdentity(commit.joiner, { tenantId, userId, deviceId })) {
        throw new AppError(ErrorCode.Forbidden, 'An external commit must add the calling device', { field: 'commit' });
      }
    }
    const info = inspect('group_info', () => mls.inspectGroupInfo(bytesOf('group_info', input.group_info)));
    if (info.groupId !== commit.groupId || info.epoch !== commit.epoch + 1n) throw invalid('group_info', 'must be the GroupInfo of the epoch this commit leads to');
    const treeUsers = this.treeUsers(tenantId, input.group_info);

    // Welcome recipients: devices whose published key packages it names, all of them members.
    const members = new Set(conv.participants.map((p) => p.user_id));
    let welcomed: Array<{ user_id: string; device_id: string }> = [];
    if (input.welcome !== undefined) {
      const { newMembers } = inspect('welcome', () => mls.inspectWelcome(bytesOf('welcome', input.welcome)));
      const found = await this.keyPackages.byRefs(newMembers);
      if (found.length !== new Set(newMembers).size) throw invalid('welcome', 'names a key package this server did not publish');
      const outsiders = [...new Set(found.filter((k) => !members.has(k.user_id)).map((k) => k.user_id))];
      if (outsiders.length) throw new AppError(ErrorCode.Forbidden, 'A Welcome may only add devices of conversation members', { not_members: outsiders });
      welcomed = found.map((k) => ({ user_id: k.user_id, device_id: k.device_id }));
    }

    const now = new Date();
    const current = await this.groups.byConversation(conversationId);
    if (current && current.group_id !== commit.groupId) {
      if (epoch === 0) throw AppError.conflict('The conversation has a group already: join it', { epoch: current.epoch, reason: 'group_exists' });
      throw invalid('commit', "is for another group than this conversation's");
    }
    // The tree may keep removed users a while (removals pending), never gain a non-member.
    const before = new Set(current?.tree_users ?? []);
    const strangers = treeUsers.filter((u) => !members.has(u) && !before.has(u));
    if (strangers.length) throw new AppError(ErrorCode.Forbidden, 'A commit may only bring devices of conversation members into the group', { not_members: strangers });
    const accepted = current
      ? await this.groups.advance(conversationId, epoch, input.group_info, treeUsers, now)
      : epoch === 0 &&
        (await this.groups.create({ conversation_id: conversationId, group_id: commit.groupId, epoch: 1, group_info: input.group_info, tree_users: treeUsers, created_at: now, updated_at: now }));
    // The send gate's shared pointer, before the commit is answered or in the stream (MlsSendStateCache:
    // no stale window). A lost race is the sign of a pointer a crash may have left behind: dropped too.
    await this.sendState.changed(conversationId);
    if (!accepted) {
      const latest = await this.groups.byConversation(conversationId);
      throw AppError.conflict('The group is at another epoch: process the commits since yours and retry', { epoch: latest?.epoch ?? 0, commit_epoch: epoch, reason: 'epoch' });
    }
    // The group doc moved first: a crash here leaves a gap in the stream, which members bridge by
    // external join from the GroupInfo; the reverse order could leave the group stuck at N.
    await this.messages.recordCommit({ conversation_id: conversationId, epoch, sender_user_id: userId, sender_device_id: deviceId, created_at: now });
    if (welcomed.length) {
      // The bytes once, an inbox entry per device (a crash between the two leaves an unreferenced blob, never a dangling entry).
      const welcomeId = await this.welcomeBlobs.store(input.welcome!, input.group_info, now);
      await this.welcomes.deliver(welcomed.map((w) => ({ ...w, conversation_id: conversationId, group_id: commit.groupId, epoch: epoch + 1, welcome_id: welcomeId, created_at: now })));
    }
    // The commit in the conversation's seq stream: sync and history deliver it in order with messages.
    const joined = commit.joiner ? [{ user_id: commit.joiner.userId, device_id: commit.joiner.deviceId }, ...welcomed] : welcomed;
    const entry = await this.messagesService.appendHandshake(userId, conversationId, {
      type: HANDSHAKE_CONTENT_TYPE,
      algorithm: E2E_HANDSHAKE_ALGORITHM,
      version: 2,
      group_id: commit.groupId,
      epoch,
      sender_device_id: deviceId,
      encrypted_data: input.commit,
      ...(joined.length ? { joined } : {}),
    });
    for (const j of joined) {
      this.events.emit('mls.device_joined', { tenantId: asTenantId(tenantId), conversationId, user_id: j.user_id, device_id: j.device_id, epoch: epoch + 1, seq: entry.seq, message_id: entry.id });
    }
    return { epoch: epoch + 1, message_id: entry.id, seq: entry.seq, welcomed };
  }

  /** Users with a leaf in the GroupInfo's tree: all of this tenant (the tree must travel in the GroupInfo). */
  private treeUsers(tenantId: string, groupInfo: string): string[] {
    const ids = inspect('group_info', () => mls.groupInfoMembers(bytesOf('group_info', groupInfo)));
    if (!ids) throw invalid('group_info', 'must carry the ratchet tree (ratchet_tree extension)');
    if (ids.some((id) => id.tenantId !== tenantId)) throw new AppError(ErrorCode.Forbidden, 'Every leaf must be a device of this tenant', { field: 'group_info' });
    return [...new Set(ids.map((id) => id.userId))];
  }

  /** Stores an application message (opaque PrivateMessage) of the group's current or an earlier epoch. */
  async postApplicationMessage(givenId: string, userId: string, input: { device_id: string; message: string }): Promise<MlsMessageView> {
    const conversationId = canonicalConversationId(givenId);
    const conv = await this.conversations.requireMember(conversationId, userId);
    const deviceId = checkDeviceId(input.device_id);
    const m = inspect('message', () => mls.inspectGroupMessage(bytesOf('message', input.message)));
    if (m.kind !== 'application' || m.wireformat !== 'mls_private_message') throw invalid('message', 'must be an MLS application message (PrivateMessage)');
    const g = await this.groups.byConversation(conversationId);
    if (!g) throw AppError.notFound('MLS group');
    if (g.group_id !== m.groupId) throw invalid('message', "is for another group than this conversation's");
    const epoch = toSafeEpoch(m.epoch, 'message');
    if (epoch > g.epoch) throw AppError.conflict('The message is for an epoch the group has not reached', { epoch: g.epoch });
    // Moderation (muted, frozen, slow mode): the same one check as the message send path, after the message's own checks.
    await this.conversations.checkSendPolicy(conv, userId);
    const rec = await this.messages.appendApplication({ conversation_id: conversationId, epoch, sender_user_id: userId, sender_device_id: deviceId, message: input.message, created_at: new Date() });
    return toMessageView(rec);
  }

  /** Application messages after a cursor; the group's commits are in the conversation's seq stream. */
  async listMessages(givenId: string, userId: string, q: { after?: string; limit?: number }): Promise<{ data: MlsMessageView[]; next_cursor: string | null }> {
    const conversationId = canonicalConversationId(givenId);
    await this.conversations.requireMember(conversationId, userId);
    const limit = q.limit ?? 100;
    const rows = await this.messages.applicationAfter(conversationId, q.after, limit);
    return { data: rows.map(toMessageView), next_cursor: rows.length === limit ? rows[rows.length - 1]!._id.toHexString() : null };
  }

  async welcomeInbox(userId: string, deviceId: string, limit = 100): Promise<{ data: MlsWelcomeView[] }> {
    checkDeviceId(deviceId);
    const entries = await this.welcomes.inbox(userId, deviceId, limit);
    const bytes = await this.welcomeBlobs.byIds(entries.map((e) => e.welcome_id));
    const data: MlsWelcomeView[] = [];
    for (const e of entries) {
      const blob = bytes.get(e.welcome_id.toHexString());
      if (blob !== undefined) data.push(toWelcomeView(e, blob));
    }
    return { data };
  }

  async removeWelcome(userId: string, deviceId: string, id: string): Promise<void> {
    checkDeviceId(deviceId);
    const welcomeId = await this.welcomes.remove(userId, deviceId, id);
    if (!welcomeId) throw AppError.notFound('Welcome');
    await this.dropUnreferenced([welcomeId]);
  }

  /** Deletes the Welcomes no inbox entry points at any more (after entries were removed). */
  private async dropUnreferenced(ids: Types.ObjectId[]): Promise<void> {
    const unique = [...new Map(ids.map((i) => [i.toHexString(), i])).values()];
    for (const id of unique) if (!(await this.welcomes.referenced(id))) await this.welcomeBlobs.remove(id);
  }

  /**
   * The first epoch a device of this user was in the group, for a membership that started at `since`:
   * after the user's first own commit (external join or group creation), else the group's epoch at
   * `since` (a device added by a Welcome); null when the group did not exist then.
   */
  async memberSinceEpoch(givenId: string, userId: string, since: Date): Promise<number | null> {
    const conversationId = canonicalConversationId(givenId);
    const own = await this.messages.firstCommitBy(conversationId, userId, since);
    const at = await this.messages.lastCommitAtOrBefore(conversationId, since);
    const candidates = [own ? own.epoch + 1 : null, at ? at.epoch + 1 : null].filter((e): e is number => e !== null);
    return candidates.length ? Math.max(...candidates) : null;
  }
}

function toMessageView(r: MlsMessageRecord): MlsMessageView {
  return { id: r._id.toHexString(), kind: r.kind, epoch: r.epoch, sender_user_id: r.sender_user_id, sender_device_id: r.sender_device_id, message: r.message ?? '', created_at: r.created_at };
}

function toWelcomeView(r: MlsWelcomeRecord, blob: { welcome: string; group_info: string }): MlsWelcomeView {
  return { id: r._id.toHexString(), conversation_id: r.conversation_id, group_id: r.group_id, epoch: r.epoch, welcome: blob.welcome, group_info: blob.group_info, created_at: r.created_at };
}
