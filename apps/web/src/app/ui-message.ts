import type { MessagePayload, MessageView } from '@sdk';

export type FilePayload = Extract<MessagePayload, { kind: 'file' }>;

/** A message as the screen shows it: the server's view plus what this device could decrypt. */
export interface UiMessage {
  view: MessageView;
  text?: string;
  file?: FilePayload;
  /** Server-made message in clear (type 'system', e2e false): shown with a "not end-to-end encrypted" mark. */
  system?: boolean;
  reactions: Array<{ emoji: string; count: number; mine: boolean }>;
  /** Why it cannot be shown (the SDK's reason: not a member then, key not backed up, tampered, unknown epoch). */
  error?: string;
  /** A line about the conversation, not a message (e.g. a member's new device joined the MLS group). */
  notice?: string;
}

/** Server-made messages carry no envelope (another slice adds them): `type: 'system'` and `e2e: false`. */
export function systemText(m: MessageView): string | null {
  const any = m as unknown as { type?: string; e2e?: boolean; text?: string; content?: { type?: string; e2e?: boolean; text?: string } | null };
  if (any.type === 'system' || any.e2e === false || any.content?.e2e === false || any.content?.type === 'system') {
    return any.text ?? any.content?.text ?? 'System message';
  }
  return null;
}
