/**
 * MlsChat's own state beyond MlsClient's (chat.ts), kept in memory and, with an MlsStateStore, in it:
 * - per conversation (`conv/<id>`): its group, how far the stream was read for commits, the epoch this
 *   device entered at, commits read ahead, and the epoch it was removed at;
 * - per group (`roster/<group>`): which member devices' signature keys were in the tree over which
 *   epochs, to verify the sender of a message of an earlier epoch (the tree holds only the current
 *   members). Stored as intervals, written only when membership changes.
 * Records are JSON (application records; no MLS structure in them).
 */
import { base64ToBytes, bytesToBase64, bytesToUtf8, utf8ToBytes } from '../crypto/encoding';
import type { ConvState } from './chat-types';
import type { MlsStateStore } from './state-store';

interface StoredConv {
  v: 1;
  groupId: string;
  readSeq: number;
  joinedEpoch: string;
  removedAt?: string;
  ahead: Array<[number, string]>;
}

interface RosterEntry {
  /** `tenant/user/device` */
  id: string;
  key: Uint8Array;
  /** First epoch the device was in the tree with this key. */
  from: bigint;
  /** First epoch it no longer was (open while it is a member). */
  to?: bigint;
}

/** A record, or undefined when absent or unreadable (what it held is rebuilt: the group joined again, the roster from the tree). */
function readJson<T>(bytes: Uint8Array | undefined): T | undefined {
  if (!bytes) return undefined;
  try {
    return JSON.parse(bytesToUtf8(bytes)) as T;
  } catch {
    return undefined;
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export class ChatState {
  readonly convs = new Map<string, ConvState>();
  private readonly rosters = new Map<string, RosterEntry[]>();

  constructor(private readonly store?: MlsStateStore) {}

  /** Reads what the store holds; conversations whose group the MLS client lost are dropped (joined again on open). */
  async load(hasGroup: (groupId: string) => boolean): Promise<void> {
    if (!this.store) return;
    for (const k of await this.store.keys('conv/')) {
      const r = readJson<StoredConv>(await this.store.get(k));
      if (!r || r.v !== 1 || !hasGroup(r.groupId)) continue;
      this.convs.set(k.slice(5), {
        groupId: r.groupId,
        readSeq: r.readSeq,
        joinedEpoch: BigInt(r.joinedEpoch),
        ahead: new Map(r.ahead),
        ...(r.removedAt !== undefined ? { removedAt: BigInt(r.removedAt) } : {}),
      });
    }
    for (const k of await this.store.keys('roster/')) {
      const entries = readJson<Array<{ id: string; key: string; from: string; to?: string }>>(await this.store.get(k));
      if (!Array.isArray(entries)) continue;
      this.rosters.set(
        k.slice(7),
        entries.map((e) => ({ id: e.id, key: base64ToBytes(e.key), from: BigInt(e.from), ...(e.to !== undefined ? { to: BigInt(e.to) } : {}) })),
      );
    }
  }

  /** Writes the conversation's state as it is now (callers hold the conversation's lock, so writes stay in order). */
  async saveConv(conversationId: string): Promise<void> {
    const st = this.convs.get(conversationId);
    if (!this.store) return;
    if (!st) return this.store.delete(`conv/${conversationId}`);
    const r: StoredConv = {
      v: 1,
      groupId: st.groupId,
      readSeq: st.readSeq,
      joinedEpoch: st.joinedEpoch.toString(),
      ahead: [...st.ahead],
      ...(st.removedAt !== undefined ? { removedAt: st.removedAt.toString() } : {}),
    };
    await this.store.put(`conv/${conversationId}`, utf8ToBytes(JSON.stringify(r)));
  }

  /** The members (identity -> signature key) of the group at `epoch`, as the device saw the tree then. */
  async recordRoster(groupId: string, epoch: bigint, members: Map<string, Uint8Array>): Promise<void> {
    const entries = this.rosters.get(groupId) ?? [];
    let changed = !this.rosters.has(groupId);
    const open = new Map<string, RosterEntry>();
    for (const e of entries) {
      if (e.to !== undefined || e.from > epoch) continue;
      const key = members.get(e.id);
      if (key && sameBytes(key, e.key)) open.set(e.id, e);
      else {
        e.to = epoch;
        changed = true;
      }
    }
    for (const [id, key] of members) {
      if (open.has(id)) continue;
      entries.push({ id, key: key.slice(), from: epoch });
      changed = true;
    }
    this.rosters.set(groupId, entries);
    if (changed && this.store) {
      const out = entries.map((e) => ({ id: e.id, key: bytesToBase64(e.key), from: e.from.toString(), ...(e.to !== undefined ? { to: e.to.toString() } : {}) }));
      await this.store.put(`roster/${groupId}`, utf8ToBytes(JSON.stringify(out)));
    }
  }

  /**
   * The sender's signature key at `epoch`: a key, null when the device saw that epoch and the sender was
   * not in the tree, undefined when the device knows nothing of that epoch (it joined later).
   */
  signerAt(groupId: string, epoch: bigint, sender: string): Uint8Array | null | undefined {
    const entries = this.rosters.get(groupId);
    if (!entries?.length || !entries.some((e) => e.from <= epoch)) return undefined;
    const hit = entries.find((e) => e.id === sender && e.from <= epoch && (e.to === undefined || epoch < e.to));
    return hit ? hit.key : null;
  }
}
