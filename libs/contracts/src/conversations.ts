import type { IsoDate } from './common';

export const CONVERSATION_TYPES = ['direct', 'group', 'channel'] as const;
export type ConversationType = (typeof CONVERSATION_TYPES)[number];
export const PARTICIPANT_ROLES = ['owner', 'admin', 'member'] as const;
export type ParticipantRole = (typeof PARTICIPANT_ROLES)[number];

export interface ConversationMetadata {
  name: string | null;
  avatar: string | null;
  description: string | null;
}

export interface ConversationParticipant {
  user_id: string;
  role: ParticipantRole;
  joined_at: IsoDate;
  last_read_seq: number;
  last_delivered_seq: number;
}

export interface ConversationLastMessage {
  content_preview: string | null;
  sender_id: string;
  sent_at: IsoDate;
  seq: number;
  message_id: string;
}

/** A conversation as one member sees it (or the SaaS client: then role and settings are null). */
export interface ConversationView {
  id: string;
  type: ConversationType;
  metadata: ConversationMetadata;
  participants: ConversationParticipant[];
  member_count: number;
  last_seq: number;
  last_message: ConversationLastMessage | null;
  /** For the requesting member: messages after their read position. */
  unread_count: number;
  role: ParticipantRole | null;
  settings: { muted: boolean; pinned: boolean } | null;
  created_by: string | null;
  created_at: IsoDate;
  updated_at: IsoDate;
}

/** A public channel in the channel directory (no members listed). */
export interface ChannelSummary {
  id: string;
  type: 'channel';
  metadata: ConversationMetadata;
  created_by: string | null;
  created_at: IsoDate;
  updated_at: IsoDate;
}
