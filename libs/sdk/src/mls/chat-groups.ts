/**
 * The group side of MlsChat (chat.ts): which MLS group each conversation has and how this device gets
 * into it and stays at its epoch. Kept apart from sealing and opening messages so the join / catch-up /
 * commit rules (the part most tied to the server's 409s) read on their own.
 *
 * - `openLocked` creates the conversation's group, or joins it by external commit from the GroupInfo.
 * - `catchUp` / `applyAhead` apply the stream's commits by epoch; `syncTo` rejoins when one stays missing.
 * - `removeUsers` commits the removal of users the server removed.
 * Every write of one conversation's state goes through `locked`, in order.
 */
import { base64ToBytes, bytesToBase64 } from '../crypto/encoding';
import { ChatApiError, isChatApiError } from '../errors';
import { seg } from '../http';
import type { ChatUserClient } from '../user-client';
import type { ChatHistory } from './chat-history';
import type { ChatState } from './chat-state';
import type { ConvState, GroupView } from './chat-types';
import type { MlsClient, MlsCommitOutput } from './client';
import { isHandshakeContent } from './content';
import { MlsError } from './errors';
import type { EpochKeyStore } from './history-keys';

/** Attempts of a send or an external join against a moving epoch before giving up. */
export const MAX_ATTEMPTS = 8;

export class ChatGroups {
  readonly convs: Map<string, ConvState>;
  private readonly locks = new Map<string, Promise<unknown>>();
  constructor(
    readonly client: ChatUserClient,
    readonly mls: MlsClient,
    readonly keys: EpochKeyStore,
    readonly state: ChatState,
    readonly history: ChatHistory,
  ) {
    this.convs = state.convs;
  }

  get deviceId(): string {
    return this.mls.identity.deviceId;
  }

  /**
   * Serialises work on one conversation's MLS state (sends, receives and commits interleave otherwise);
   * the work ends once its state is in the store.
   */
  locked<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(conversationId) ?? Promise.resolve();
    const work = async () => {
      try {
        return await fn();
      } finally {
        await this.mls.flush();
        await this.state.saveConv(conversationId);
      }
    };
    const run = prev.then(work, work);
    const tail = run.catch(() => undefined);
    this.locks.set(conversationId, tail);
    void tail.then(() => {
      if (this.locks.get(conversationId) === tail) this.locks.delete(conversationId);
    });
    return run;
  }


  async openLocked(conversationId: string): Promise<ConvState> {
    const known = this.convs.get(conversationId);
    if (known && this.mls.hasGroup(known.groupId) && known.removedAt === undefined) return known;
    let group = await this.fetchGroup(conversationId);
    if (!group) {
      const groupId = await this.mls.createGroup();
      try {
        const { seq } = await this.postCommit(conversationId, await this.mls.update(groupId));
        return this.enter(conversationId, groupId, seq);
      } catch (err) {
        this.mls.forgetGroup(groupId);
        if (!isChatApiError(err, 'conflict')) throw err;
        group = await this.fetchGroup(conversationId); // another device created it first: join it
        if (!group) throw err;
      }
    }
    return this.joinExternal(conversationId, group);
  }

  async fetchGroup(conversationId: string): Promise<GroupView | null> {
    try {
      return await this.client.http.get<GroupView>(`/v1/conversations/${seg(conversationId)}/mls`);
    } catch (err) {
      if (isChatApiError(err, 'not_found')) return null;
      throw err;
    }
  }

  async joinExternal(conversationId: string, first: GroupView): Promise<ConvState> {
    let group: GroupView | null = first;
    let last: unknown;
    for (let i = 0; i < MAX_ATTEMPTS && group; i++) {
      this.mls.forgetGroup(group.group_id);
      const out = await this.mls.joinExternal(base64ToBytes(group.group_info));
      try {
        const { seq } = await this.postCommit(conversationId, out);
        return this.enter(conversationId, out.groupId, seq);
      } catch (err) {
        if (!isChatApiError(err, 'conflict')) throw err;
        last = err;
        group = await this.fetchGroup(conversationId);
      }
    }
    throw last ?? new ChatApiError(404, 'not_found', 'MLS group not found');
  }

  async enter(conversationId: string, groupId: string, seq: number): Promise<ConvState> {
    const st: ConvState = { groupId, readSeq: seq, joinedEpoch: this.mls.epoch(groupId), ahead: new Map() };
    this.convs.set(conversationId, st);
    await this.recordEpoch(groupId);
    await this.mls.flush();
    await this.state.saveConv(conversationId);
    return st;
  }

  /** Posts a commit: merged when the server took it, discarded (and the error rethrown) otherwise. */
  async postCommit(conversationId: string, out: MlsCommitOutput): Promise<{ epoch: number; seq: number }> {
    try {
      const res = await this.client.http.post<{ epoch: number; seq: number }>(`/v1/conversations/${seg(conversationId)}/mls/commits`, {
        device_id: this.deviceId,
        commit: bytesToBase64(out.commit),
        group_info: bytesToBase64(out.groupInfo),
        ...(out.welcome ? { welcome: bytesToBase64(out.welcome) } : {}),
      });
      this.mls.mergePendingCommit(out.groupId);
      return res;
    } catch (err) {
      this.mls.discardPendingCommit(out.groupId);
      throw err;
    }
  }

  /** Keeps the current epoch's history key and the members' signature keys of that epoch. */
  async recordEpoch(groupId: string): Promise<void> {
    const { epoch, key } = await this.mls.exportEpochKey(groupId);
    await this.keys.put(groupId, epoch, key);
    await this.history.onEpochKey(groupId, epoch, key);
    await this.state.recordRoster(groupId, epoch, this.mls.memberSignatureKeys(groupId));
  }

  /**
   * Reads the stream after what was read for commits and applies those of the epochs that follow.
   * Commits are applied by epoch, not by seq (two commits' stream writes may land out of order).
   */
  async catchUp(conversationId: string, st: ConvState): Promise<void> {
    for (;;) {
      let page;
      try {
        page = await this.client.history(conversationId, { after_seq: st.readSeq, limit: 100 });
      } catch (err) {
        // No longer a member: nothing after this epoch is for this device.
        if (isChatApiError(err, 'not_found')) st.removedAt ??= this.mls.epoch(st.groupId) + 1n;
        throw err;
      }
      for (const m of page.data) {
        st.readSeq = Math.max(st.readSeq, m.seq);
        const c: unknown = m.content;
        if (isHandshakeContent(c) && c.group_id === st.groupId) st.ahead.set(c.epoch, c.encrypted_data);
      }
      if (!page.next_cursor || page.data.length === 0) break;
    }
    await this.applyAhead(conversationId, st);
  }

  async applyAhead(conversationId: string, st: ConvState): Promise<void> {
    for (;;) {
      const epoch = Number(this.mls.epoch(st.groupId));
      for (const e of st.ahead.keys()) if (e < epoch) st.ahead.delete(e);
      const commit = st.ahead.get(epoch);
      if (commit === undefined) return;
      st.ahead.delete(epoch);
      const before = this.mls.members(st.groupId);
      await this.mls.receive(st.groupId, base64ToBytes(commit));
      if (!this.mls.isMember(st.groupId)) {
        st.removedAt = this.mls.epoch(st.groupId);
        return;
      }
      await this.recordEpoch(st.groupId);
      await this.history.afterCommit(conversationId, st.groupId, this.mls.epoch(st.groupId), before, this.mls.members(st.groupId));
    }
  }

  /**
   * Brings this device to the server's epoch: reads the stream (the commit may still be on its way
   * into it, so a few reads), and if a commit stays missing rejoins from the GroupInfo.
   */
  async syncTo(conversationId: string, st: ConvState, serverEpoch: number): Promise<ConvState> {
    for (let i = 0; i < 4; i++) {
      try {
        await this.catchUp(conversationId, st);
      } catch (err) {
        // A commit this state cannot apply: the GroupInfo below is the way back in.
        if (err instanceof MlsError && err.code === 'REJECTED') break;
        throw err;
      }
      if (st.removedAt !== undefined || this.mls.epoch(st.groupId) >= BigInt(serverEpoch)) return st;
      await new Promise((r) => setTimeout(r, 50 * 2 ** i));
    }
    const group = await this.fetchGroup(conversationId);
    if (!group) throw new ChatApiError(404, 'not_found', 'MLS group not found');
    const joinedEpoch = st.joinedEpoch;
    const again = await this.joinExternal(conversationId, group);
    again.joinedEpoch = joinedEpoch;
    return again;
  }

  /** Commits the removal of these users' devices still in the tree (after the server removed them). */
  async removeUsers(conversationId: string, st: ConvState, userIds: string[]): Promise<void> {
    await this.catchUp(conversationId, st);
    const gone = new Set(userIds);
    const targets = this.mls.members(st.groupId).filter((m) => gone.has(m.userId));
    if (!targets.length) return;
    try {
      await this.postCommit(conversationId, await this.mls.removeMembers(st.groupId, targets));
      await this.recordEpoch(st.groupId);
    } catch (err) {
      if (!isChatApiError(err, 'conflict')) throw err; // someone else moved the group: the caller retries
    }
  }


  /**
   * The history key of an epoch of the conversation's group for previews and reactions: held, or (an
   * epoch ahead of this device) after reading the stream's commits, or (before it joined) from bundles.
   */
  epochKeyFor(conversationId: string, groupId: string, epoch: bigint): Promise<Uint8Array | undefined> {
    return this.locked(conversationId, async () => {
      const st = this.convs.get(conversationId);
      let key = await this.keys.get(groupId, epoch);
      if (!key && st?.groupId === groupId && st.removedAt === undefined && this.mls.hasGroup(groupId) && epoch > this.mls.epoch(groupId)) {
        await this.catchUp(conversationId, st).catch((err: unknown) => {
          if (!isChatApiError(err, 'not_found') && !(err instanceof MlsError && err.code === 'REJECTED')) throw err;
        });
        key = await this.keys.get(groupId, epoch);
      }
      return key ?? (await this.history.fromBundles(conversationId, groupId, epoch).catch(() => undefined));
    });
  }
}
