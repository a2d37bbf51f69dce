/** Types of MlsChat (chat.ts): its options, what `receive` returns, and its per-conversation state. */
import type { E2EChat, MessagePayload } from '../e2e-client';
import type { MessageView } from '../types';
import type { ChatUserClient } from '../user-client';
import type { ChatHistoryOptions } from './chat-history';
import type { EpochKeyStore } from './history-keys';
import type { MlsStateStore } from './state-store';

export interface MlsChatOptions {
  client: ChatUserClient;
  deviceId: string;
  /**
   * Where the device's MLS state is kept across restarts (state-store.ts): its signature key, unused key
   * packages, groups, conversations and epoch keys. Default: none (in memory, gone with the process).
   */
  store?: MlsStateStore;
  /** Where epoch keys are kept (default: in `store` when given, else in memory). */
  keys?: EpochKeyStore;
  /** Reads the v1 envelopes of the stream (messages stored before v2) through this E2EChat. */
  v1?: E2EChat;
  /** Key backup of each epoch key the device records (chat-history.ts); bundles and reasons need nothing here. */
  history?: ChatHistoryOptions;
  /** Blind-index tokens on every text send (default true; docs/search.md says what the server learns). */
  searchIndex?: boolean;
}

export type MlsReceivedMessage =
  /** `epoch` is null for a v1 message (read through the E2EChat of the options). */
  | { kind: 'message'; message: MessageView; payload: MessagePayload; sender: { userId: string; deviceId: string }; epoch: number | null }
  | { kind: 'handshake'; message: MessageView; epoch: number; joined: Array<{ user_id: string; device_id: string }> };

export interface ConvState {
  groupId: string;
  /** The stream was read for commits up to this seq. */
  readSeq: number;
  /** The epoch this device (last) entered the group at: earlier messages were not for it. */
  joinedEpoch: bigint;
  /** Commits read from the stream for epochs not reached yet, by epoch. */
  ahead: Map<number, string>;
  /** Set once the server says this user is no longer a member (or a commit removed this device). */
  removedAt?: bigint;
}

export interface GroupView {
  group_id: string;
  epoch: number;
  group_info: string;
}
