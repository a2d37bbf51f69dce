/**
 * One device speaking MLS with the server's Delivery Service over REST (/v1/.../mls): publishes key
 * packages, creates a conversation's group, posts commits under the epoch rule (merge on success,
 * discard on `conflict`), joins from its Welcome inbox, sends and syncs application messages (MLS
 * PrivateMessages, `.../mls/messages`). Commits are read from the conversation's seq stream, where
 * the server puts every commit it accepts.
 * With an MlsStateStore the MLS client's state (device key, key packages, groups) survives a restart;
 * this class's own maps (conversation -> group, sync cursor) do not: MlsChat (chat.ts) keeps those too.
 */
import type { ClaimedKeyPackageView, KeyPackageCountView, MlsCommitResultView, MlsGroupView, MlsIdentityView, MlsMessageView, MlsWelcomeView } from '@chat/contracts';
import { base64ToBytes, bytesToBase64, bytesToUtf8 } from '../crypto/encoding';
import { ChatApiError } from '../errors';
import { HttpClient, seg } from '../http';
import type { MessageView, Page } from '../types';
import { MlsClient, type MlsCommitOutput } from './client';
import { isHandshakeContent } from './content';
import { decodeIdentity } from './identity';
import type { MlsStateStore } from './state-store';

export interface MlsDeliveredMessage {
  id: string;
  sender_user_id: string;
  sender_device_id: string;
  epoch: number;
  text: string;
}

export class MlsDevice {
  /** conversation id -> hex group id */
  private readonly groupOf = new Map<string, string>();
  /** conversation id -> id of the last application message synced */
  private readonly cursor = new Map<string, string>();
  /** conversation id -> seq of the conversation's stream read for commits */
  private readonly streamSeq = new Map<string, number>();
  /** conversation id -> commits read from the stream and not applied yet, by the epoch they were made in */
  private readonly ahead = new Map<string, Map<number, { bytes: string; mine: boolean }>>();
  /** conversation id -> epoch this device entered the group at (earlier messages are not for it) */
  private readonly joinedAt = new Map<string, bigint>();

  private constructor(
    readonly http: HttpClient,
    readonly client: MlsClient,
  ) {}

  /** Asks the server which identity this device has (tenant/user/device) and makes its MLS client. */
  static async connect(http: HttpClient, deviceId: string, opts: { store?: MlsStateStore } = {}): Promise<MlsDevice> {
    const { identity } = await http.get<MlsIdentityView>(`/v1/me/devices/${seg(deviceId)}/mls/identity`);
    const id = decodeIdentity(new TextEncoder().encode(identity));
    if (!id) throw new Error('server sent a malformed MLS identity');
    return new MlsDevice(http, await MlsClient.create(id, opts));
  }

  private get base(): string {
    return `/v1/me/devices/${seg(this.client.identity.deviceId)}/mls`;
  }

  groupId(conversationId: string): string | undefined {
    return this.groupOf.get(conversationId);
  }

  async publishKeyPackages(count: number, opts: { lastResort?: boolean } = {}) {
    const oneTime = (await this.client.generateKeyPackages(count)).map(bytesToBase64);
    const lastResort = opts.lastResort ? bytesToBase64((await this.client.generateKeyPackages(1, { lastResort: true }))[0]!) : undefined;
    return this.http.post<KeyPackageCountView>(`${this.base}/key-packages`, { key_packages: oneTime, ...(lastResort ? { last_resort: lastResort } : {}) });
  }

  async claimKeyPackages(userId: string): Promise<Uint8Array[]> {
    const res = await this.http.post<{ data: ClaimedKeyPackageView[] }>(`/v1/users/${seg(userId)}/mls/key-packages/claim`);
    return res.data.map((k) => base64ToBytes(k.key_package));
  }

  /** Posts a commit; merges it when the server took it, discards it (and rethrows) on any refusal. */
  async postCommit(conversationId: string, out: MlsCommitOutput): Promise<number> {
    try {
      const res = await this.http.post<MlsCommitResultView>(`/v1/conversations/${seg(conversationId)}/mls/commits`, {
        device_id: this.client.identity.deviceId,
        commit: bytesToBase64(out.commit),
        group_info: bytesToBase64(out.groupInfo),
        ...(out.welcome ? { welcome: bytesToBase64(out.welcome) } : {}),
      });
      this.client.mergePendingCommit(out.groupId);
      return res.epoch;
    } catch (err) {
      this.client.discardPendingCommit(out.groupId);
      throw err;
    }
  }

  /** Creates the conversation's group with one device of each of these users (claimed key packages). */
  async createGroup(conversationId: string, userIds: string[]): Promise<string> {
    // A few claims at a time: a 1,000-member group is 1,000 requests, not a burst of 1,000 at once.
    const claimed: Uint8Array[][] = new Array(userIds.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < userIds.length; i = next++) claimed[i] = await this.claimKeyPackages(userIds[i]!);
    };
    await Promise.all(Array.from({ length: Math.min(8, userIds.length) }, worker));
    const kps = claimed.flat();
    const groupId = await this.client.createGroup();
    this.groupOf.set(conversationId, groupId);
    this.joinedAt.set(conversationId, 0n);
    if (kps.length) await this.postCommit(conversationId, await this.client.addMembers(groupId, kps));
    return groupId;
  }

  /** Joins the conversation's group by external commit from the GroupInfo the server keeps. */
  async joinExternal(conversationId: string): Promise<number> {
    const g = await this.http.get<MlsGroupView>(`/v1/conversations/${seg(conversationId)}/mls`);
    const out = await this.client.joinExternal(base64ToBytes(g.group_info));
    const epoch = await this.postCommit(conversationId, out);
    this.groupOf.set(conversationId, out.groupId);
    this.joinedAt.set(conversationId, BigInt(epoch));
    return epoch;
  }

  /** Joins every group a Welcome in the inbox is for, then removes the Welcomes. */
  async acceptWelcomes(): Promise<string[]> {
    const inbox = await this.http.get<{ data: MlsWelcomeView[] }>(`${this.base}/welcomes`);
    const joined: string[] = [];
    for (const w of inbox.data) {
      const groupId = await this.client.joinFromWelcome(base64ToBytes(w.welcome), w.group_info ? base64ToBytes(w.group_info) : undefined);
      this.groupOf.set(w.conversation_id, groupId);
      this.joinedAt.set(w.conversation_id, this.client.epoch(groupId));
      joined.push(w.conversation_id);
      await this.http.delete(`${this.base}/welcomes/${seg(w.id)}`);
    }
    return joined;
  }

  private requireGroup(conversationId: string): string {
    const g = this.groupOf.get(conversationId);
    if (!g) throw new ChatApiError(0, 'mls_no_group', 'this device is not in the conversation group');
    return g;
  }

  async send(conversationId: string, text: string): Promise<{ id: string; epoch: number }> {
    const message = await this.client.encrypt(this.requireGroup(conversationId), text);
    return this.http.post(`/v1/conversations/${seg(conversationId)}/mls/messages`, { device_id: this.client.identity.deviceId, message: bytesToBase64(message) });
  }

  /** Reads the conversation's seq stream for commits not seen yet (by the epoch they were made in). */
  private async readCommits(conversationId: string, groupId: string): Promise<Map<number, { bytes: string; mine: boolean }>> {
    const ahead = this.ahead.get(conversationId) ?? new Map<number, { bytes: string; mine: boolean }>();
    this.ahead.set(conversationId, ahead);
    const me = this.client.identity;
    for (;;) {
      const after = this.streamSeq.get(conversationId) ?? 0;
      const page = await this.http.get<Page<MessageView>>(`/v1/conversations/${seg(conversationId)}/messages`, { after_seq: after, limit: 100 });
      for (const m of page.data) {
        this.streamSeq.set(conversationId, Math.max(this.streamSeq.get(conversationId) ?? 0, m.seq));
        const c: unknown = m.content;
        if (isHandshakeContent(c) && c.group_id === groupId) ahead.set(c.epoch, { bytes: c.encrypted_data, mine: m.sender_id === me.userId && c.sender_device_id === me.deviceId });
      }
      if (!page.next_cursor || page.data.length === 0) return ahead;
    }
  }

  /** Applies the commits read so far, in epoch order, up to (not including) the commit made in `until`. */
  private async applyCommits(groupId: string, ahead: Map<number, { bytes: string; mine: boolean }>, until = Infinity): Promise<void> {
    for (;;) {
      const epoch = this.client.epoch(groupId);
      for (const e of ahead.keys()) if (BigInt(e) < epoch) ahead.delete(e); // already in this state
      if (Number(epoch) >= until) return;
      const commit = ahead.get(Number(epoch));
      // This device's own commits were merged when the server took them (and are gone above).
      if (!commit || commit.mine) return;
      ahead.delete(Number(epoch));
      await this.client.receive(groupId, base64ToBytes(commit.bytes));
    }
  }

  /**
   * Reads what was sent since the last sync: applies others' commits (from the conversation's seq
   * stream) in epoch order and returns the application messages of others, decrypted, each once the
   * group is at its epoch. Messages of epochs before this device entered the group are skipped (not
   * for it); any other message ts-mls refuses throws (MlsError).
   */
  async sync(conversationId: string): Promise<MlsDeliveredMessage[]> {
    const groupId = this.requireGroup(conversationId);
    const out: MlsDeliveredMessage[] = [];
    const me = this.client.identity;
    // Commits first: the application messages read below are of epochs they lead to.
    const ahead = await this.readCommits(conversationId, groupId);
    for (;;) {
      const after = this.cursor.get(conversationId);
      const page = await this.http.get<Page<MlsMessageView>>(`/v1/conversations/${seg(conversationId)}/mls/messages`, after ? { after } : {});
      for (const m of page.data) {
        this.cursor.set(conversationId, m.id);
        if (m.kind !== 'application') continue;
        const mine = m.sender_user_id === me.userId && m.sender_device_id === me.deviceId;
        if (mine) continue;
        if (BigInt(m.epoch) < (this.joinedAt.get(conversationId) ?? 0n)) continue;
        await this.applyCommits(groupId, ahead, m.epoch);
        const r = await this.client.receive(groupId, base64ToBytes(m.message));
        if (r.kind === 'application') out.push({ id: m.id, sender_user_id: m.sender_user_id, sender_device_id: m.sender_device_id, epoch: m.epoch, text: bytesToUtf8(r.plaintext) });
      }
      if (!page.next_cursor) break;
    }
    await this.applyCommits(groupId, ahead);
    return out;
  }
}
