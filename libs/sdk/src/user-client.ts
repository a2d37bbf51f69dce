import { bearerAuth, Credential, HttpClient, HttpOptions, seg } from './http';
import { ConversationModerationApi } from './moderation';
import type {
  ChangesPage,
  ConversationDevicesView,
  ConversationKeyVersionView,
  ConversationKeysView,
  KeyShareRecipientsView,
  StoredCountView,
  ConversationView,
  CreateConversationInput,
  CreateReportInput,
  CreateUploadInput,
  DeviceKeyView,
  DeviceView,
  DownloadTicket,
  EditMessageInput,
  FileView,
  HistoryQuery,
  MessageKeyShareView,
  MessageView,
  Page,
  PublishKeyInput,
  ReceiptView,
  ReportReceiptView,
  SendMessageInput,
  UploadTicket,
  UserFields,
  UserView,
  WrappedKeySetInput,
} from './types';

export interface UserClientOptions extends HttpOptions {
  /**
   * The end user's JWT (issued by the SaaS server), a function fetching one (called only when none is
   * held, it expires within 30 s, or the server answers 401: then the request is retried once), or a
   * TokenProvider shared with ChatSocket.
   */
  token: Credential;
}

/**
 * The end-user half of the REST API (`Authorization: Bearer <jwt>`). Every method maps to one
 * endpoint and resolves to its JSON answer; failures reject with ChatApiError (the server's error
 * shape). Plaintext never passes through here: use E2EChat for encrypted sends and reads.
 */
export class ChatUserClient {
  readonly http: HttpClient;
  /** Moderation of conversations I own or administer (read: any member): docs/moderation.md. */
  readonly moderation: ConversationModerationApi;

  constructor(opts: UserClientOptions) {
    this.http = new HttpClient(opts, bearerAuth(opts.token));
    this.moderation = new ConversationModerationApi(this.http);
  }

  // ---------------------------------------------------------------- me
  me(): Promise<UserView> {
    return this.http.get('/v1/me');
  }
  updateMe(fields: UserFields): Promise<UserView> {
    return this.http.patch('/v1/me', fields);
  }

  // ---------------------------------------------------------------- conversations
  createConversation(input: CreateConversationInput): Promise<ConversationView> {
    return this.http.post('/v1/conversations', input);
  }
  openDirect(userId: string): Promise<ConversationView> {
    return this.http.post('/v1/conversations/direct', { user_id: userId });
  }
  listConversations(q: { cursor?: string; limit?: number; type?: 'direct' | 'group' | 'channel' } = {}): Promise<Page<ConversationView>> {
    return this.http.get('/v1/conversations', q);
  }
  getConversation(conversationId: string): Promise<ConversationView> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}`);
  }
  addMembers(conversationId: string, userIds: string[]): Promise<ConversationView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/members`, { user_ids: userIds });
  }
  removeMember(conversationId: string, userId: string): Promise<void> {
    return this.http.delete(`/v1/conversations/${seg(conversationId)}/members/${seg(userId)}`);
  }
  leave(conversationId: string): Promise<void> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/leave`);
  }

  // ---------------------------------------------------------------- messages (envelopes only)
  sendMessage(conversationId: string, input: SendMessageInput): Promise<MessageView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/messages`, input);
  }
  history(conversationId: string, q: HistoryQuery = {}): Promise<Page<MessageView>> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/messages`, { ...q });
  }
  /** Messages (up to up_to_seq) edited, deleted or reacted to after a change position, in change order. */
  changes(conversationId: string, q: { after_change: number; up_to_seq?: number; limit?: number }): Promise<ChangesPage> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/changes`, { ...q });
  }
  getMessage(conversationId: string, messageId: string): Promise<MessageView> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/messages/${seg(messageId)}`);
  }
  replies(conversationId: string, messageId: string, q: { after_seq?: number; cursor?: string; limit?: number } = {}): Promise<Page<MessageView>> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/messages/${seg(messageId)}/replies`, q);
  }
  editMessage(conversationId: string, messageId: string, input: EditMessageInput): Promise<MessageView> {
    return this.http.patch(`/v1/conversations/${seg(conversationId)}/messages/${seg(messageId)}`, input);
  }
  deleteMessage(conversationId: string, messageId: string): Promise<MessageView> {
    return this.http.delete(`/v1/conversations/${seg(conversationId)}/messages/${seg(messageId)}`);
  }
  /** `emoji` is what the server stores: pass an encrypted reaction token (E2EChat.react does). */
  addReaction(conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    return this.http.put(`/v1/conversations/${seg(conversationId)}/messages/${seg(messageId)}/reactions/${seg(emoji)}`);
  }
  removeReaction(conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    return this.http.delete(`/v1/conversations/${seg(conversationId)}/messages/${seg(messageId)}/reactions/${seg(emoji)}`);
  }
  markRead(conversationId: string, seq: number): Promise<ReceiptView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/read`, { seq });
  }
  markDelivered(conversationId: string, seq: number): Promise<ReceiptView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/delivered`, { seq });
  }
  /** Blind-index search: `tokens` from searchTokens(query, conversationKey). */
  search(conversationId: string, tokens: string[], q: { cursor?: string; limit?: number } = {}): Promise<Page<MessageView>> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/messages/search`, { tokens, ...q });
  }
  /**
   * Blind-index search over several token sets (E2E v2: one set per epoch key, docs/search.md): a
   * message matches when it carries every token of one set. At most 32 sets of 1-16 tokens.
   */
  searchTokenSets(conversationId: string, tokenSets: string[][], q: { cursor?: string; limit?: number } = {}): Promise<Page<MessageView>> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/messages/search`, { token_sets: tokenSets.map((tokens) => ({ tokens })), ...q });
  }
  /** Reports a message to the tenant's moderators: use E2EChat.report, which fills in the payload and franking key. */
  reportMessage(conversationId: string, messageId: string, input: CreateReportInput): Promise<ReportReceiptView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/messages/${seg(messageId)}/reports`, input);
  }
  /** The caller as the platform sees it (tenant, application, user). */
  whoami(): Promise<{ kind: 'user'; tenant_id: string; application_id: string; user_id: string }> {
    return this.http.get('/v1/auth/whoami');
  }

  // ---------------------------------------------------------------- key directory
  publishDeviceKey(deviceId: string, input: PublishKeyInput): Promise<DeviceKeyView> {
    return this.http.put(`/v1/me/devices/${seg(deviceId)}/keys`, input);
  }
  myDevices(): Promise<{ data: DeviceView[] }> {
    return this.http.get('/v1/me/devices');
  }
  removeDevice(deviceId: string): Promise<void> {
    return this.http.delete(`/v1/me/devices/${seg(deviceId)}`);
  }
  userKeys(userId: string, versions: 'current' | 'all' = 'current'): Promise<{ data: DeviceKeyView[] }> {
    return this.http.get(`/v1/users/${seg(userId)}/keys`, { versions });
  }
  conversationMemberKeys(conversationId: string): Promise<ConversationDevicesView> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/keys`);
  }
  createConversationKey(conversationId: string, input: WrappedKeySetInput & { key_version: number; key_check: string }): Promise<ConversationKeyVersionView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/conversation-keys`, input);
  }
  conversationKeys(conversationId: string): Promise<ConversationKeysView> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/conversation-keys`);
  }
  shareConversationKey(conversationId: string, keyVersion: number, input: WrappedKeySetInput): Promise<KeyShareRecipientsView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/conversation-keys/${seg(keyVersion)}/shares`, input);
  }
  shareMessageKeys(conversationId: string, shares: Array<WrappedKeySetInput & { message_id: string }>): Promise<StoredCountView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/key-shares`, { shares });
  }
  messageKeyShares(conversationId: string, q: { message_ids?: string[]; cursor?: string; limit?: number } = {}): Promise<Page<MessageKeyShareView>> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/key-shares`, q);
  }

  // ---------------------------------------------------------------- files (ciphertext only)
  createUpload(input: CreateUploadInput): Promise<UploadTicket> {
    return this.http.post('/v1/files', input);
  }
  confirmUpload(fileId: string): Promise<FileView> {
    return this.http.post(`/v1/files/${seg(fileId)}/confirm`);
  }
  getFile(fileId: string): Promise<FileView> {
    return this.http.get(`/v1/files/${seg(fileId)}`);
  }
  downloadUrl(fileId: string): Promise<DownloadTicket> {
    return this.http.get(`/v1/files/${seg(fileId)}/download`);
  }
  attachFile(fileId: string, messageId: string, conversationId?: string): Promise<FileView> {
    return this.http.put(`/v1/files/${seg(fileId)}/message`, { message_id: messageId, ...(conversationId ? { conversation_id: conversationId } : {}) });
  }
  deleteFile(fileId: string): Promise<void> {
    return this.http.delete(`/v1/files/${seg(fileId)}`);
  }
  myFiles(q: { cursor?: string; limit?: number } = {}): Promise<Page<FileView>> {
    return this.http.get('/v1/files', q);
  }
}
