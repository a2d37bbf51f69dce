import { Credential, HttpClient, HttpOptions, resolveCredential, seg } from './http';
import { ConversationModerationApi, RestrictionInput, UserBanView } from './moderation';
import type { ConversationView, CreateConversationInput, DeviceKeyView, FileView, DownloadTicket, MessageView, Page, ReportAction, ReportStatus, ReportView, UserFields, UserView } from './types';

export interface ServerClientOptions extends HttpOptions {
  /** The SaaS client's API key (`X-Api-Key`). Keep it on your servers only. */
  apiKey: Credential;
}

/**
 * The server half of the REST API, for the SaaS client's backend (`X-Api-Key` with scopes): manage
 * end users, issue their tokens, act on conversations for them, read public keys, revoke lost devices.
 * Never ship an API key to a browser.
 */
export class ChatServerClient {
  readonly http: HttpClient;
  /** Per-conversation moderation: mute, ban, freeze, slow mode, pins (docs/moderation.md). */
  readonly moderation: ConversationModerationApi;

  constructor(opts: ServerClientOptions) {
    this.http = new HttpClient(opts, async () => ({ 'X-Api-Key': await resolveCredential(opts.apiKey) }));
    this.moderation = new ConversationModerationApi(this.http);
  }

  // ---------------------------------------------------------------- users
  upsertUser(externalId: string, fields: UserFields = {}): Promise<UserView> {
    return this.http.put(`/v1/users/${seg(externalId)}`, fields);
  }
  upsertUsers(users: Array<{ external_id: string } & UserFields>): Promise<{ created: string[]; updated: string[] }> {
    return this.http.post('/v1/users/batch', { users });
  }
  getUser(externalId: string): Promise<UserView> {
    return this.http.get(`/v1/users/${seg(externalId)}`);
  }
  updateUser(externalId: string, fields: UserFields): Promise<UserView> {
    return this.http.patch(`/v1/users/${seg(externalId)}`, fields);
  }
  deleteUser(externalId: string): Promise<void> {
    return this.http.delete(`/v1/users/${seg(externalId)}`);
  }
  deactivateUser(externalId: string): Promise<UserView> {
    return this.http.post(`/v1/users/${seg(externalId)}/deactivate`);
  }
  reactivateUser(externalId: string): Promise<UserView> {
    return this.http.post(`/v1/users/${seg(externalId)}/reactivate`);
  }
  searchUsers(q: { prefix?: string; cursor?: string; limit?: number; include_deactivated?: boolean } = {}): Promise<Page<UserView>> {
    return this.http.get('/v1/users', q);
  }
  /** A short-lived end-user JWT: hand it to the user's app, which passes it to ChatUserClient / ChatSocket. */
  issueUserToken(externalId: string, ttlSeconds?: number): Promise<{ token: string; expires_at: string }> {
    return this.http.post(`/v1/users/${seg(externalId)}/tokens`, ttlSeconds ? { ttl_seconds: ttlSeconds } : {});
  }

  // ---------------------------------------------------------------- conversations on behalf of a user
  createConversationFor(externalId: string, input: CreateConversationInput): Promise<ConversationView> {
    return this.http.post(`/v1/users/${seg(externalId)}/conversations`, input);
  }
  openDirectFor(externalId: string, otherUserId: string): Promise<ConversationView> {
    return this.http.post(`/v1/users/${seg(externalId)}/conversations/direct`, { user_id: otherUserId });
  }
  conversationsOf(externalId: string, q: { cursor?: string; limit?: number } = {}): Promise<Page<ConversationView>> {
    return this.http.get(`/v1/users/${seg(externalId)}/conversations`, q);
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

  /** A system message (plaintext, `type: 'system'`, `e2e: false`: NOT end-to-end encrypted). Scope `messages:write`. */
  postSystemMessage(conversationId: string, text: string, clientMsgId?: string): Promise<MessageView> {
    return this.http.post(`/v1/conversations/${seg(conversationId)}/system-messages`, clientMsgId ? { text, client_msg_id: clientMsgId } : { text });
  }

  // ---------------------------------------------------------------- tenant-wide user bans (moderation:write)
  banUser(externalId: string, input: RestrictionInput = {}): Promise<UserBanView> {
    return this.http.put(`/v1/users/${seg(externalId)}/ban`, input);
  }
  unbanUser(externalId: string): Promise<void> {
    return this.http.delete(`/v1/users/${seg(externalId)}/ban`);
  }
  getUserBan(externalId: string): Promise<UserBanView> {
    return this.http.get(`/v1/users/${seg(externalId)}/ban`);
  }

  // ---------------------------------------------------------------- keys and files
  userKeys(externalId: string, versions: 'current' | 'all' = 'current'): Promise<{ data: DeviceKeyView[] }> {
    return this.http.get(`/v1/users/${seg(externalId)}/keys`, { versions });
  }
  /** Revoke a user's lost or compromised device: senders stop wrapping keys for it. */
  revokeDevice(externalId: string, deviceId: string): Promise<void> {
    return this.http.delete(`/v1/users/${seg(externalId)}/devices/${seg(deviceId)}`);
  }
  getFile(fileId: string): Promise<FileView> {
    return this.http.get(`/v1/files/${seg(fileId)}`);
  }
  downloadUrl(fileId: string): Promise<DownloadTicket> {
    return this.http.get(`/v1/files/${seg(fileId)}/download`);
  }
  deleteFile(fileId: string): Promise<void> {
    return this.http.delete(`/v1/files/${seg(fileId)}`);
  }

  // ---------------------------------------------------------------- moderation queue (moderation:read / moderation:write)
  /** `status: 'resolved'` lists both closed statuses (dismissed and actioned). */
  listReports(q: { status?: ReportStatus | 'resolved'; conversation_id?: string; cursor?: string; limit?: number } = {}): Promise<Page<ReportView>> {
    return this.http.get('/v1/moderation/reports', q);
  }
  getReport(reportId: string): Promise<ReportView> {
    return this.http.get(`/v1/moderation/reports/${seg(reportId)}`);
  }
  /** Dismiss: close with no action. */
  resolveReport(reportId: string, input: { note?: string } = {}): Promise<ReportView> {
    return this.http.post(`/v1/moderation/reports/${seg(reportId)}/resolve`, input);
  }
  /** Delete the reported message and/or ban its sender; closes the report as actioned. */
  actOnReport(reportId: string, input: { actions: ReportAction[]; note?: string; ban?: { reason?: string; expires_at?: string } }): Promise<ReportView> {
    return this.http.post(`/v1/moderation/reports/${seg(reportId)}/act`, input);
  }
}
