import { RequestSlot } from '@chat/tenancy';
import type { SendPolicyCheck } from '../conversations/conversation-policy';
import type { ConversationView } from '../conversations/conversation.views';
import type { SendMessageDto } from './message.dto';

/**
 * The cached reads a send's checks need, started together so they leave in one MGET (libs/cache batches
 * a tick's reads): the membership view, the recipients' keys (or the MLS group), the moderation state
 * and, for a direct conversation, the other member's block list. The checks await them in their own
 * order (MessageSendService.checkAndSubmit), so each still refuses where it did.
 */
export interface SendReads {
  readonly senderId: string;
  readonly conversationId: string;
  /** The payload the reads were started for: only its own send uses them. */
  readonly dto: SendMessageDto;
  readonly membership: Promise<ConversationView>;
  readonly recipientCheck: (memberIds: string[]) => Promise<void>;
  readonly policyCheck: SendPolicyCheck;
  readonly blockRead: { userId: string; blocked: Promise<boolean | null> } | null;
}

/** Reads a socket gate started, by the request context of the send they are for (as QuotaService.prepayMessage). */
const gateReads = new RequestSlot<SendReads>();

/**
 * Hands reads started by the socket gate, in the tick of its access check and charge script (so the
 * cache read is one MGET with the access check's), to the send of the current request context.
 */
export function noteGateReads(reads: SendReads): void {
  gateReads.put(reads);
}

/** The gate's reads for this send (same sender, conversation and payload), once; null otherwise. */
export function takeGateReads(senderId: string, conversationId: string, dto: SendMessageDto): SendReads | null {
  const reads = gateReads.take();
  return reads && reads.senderId === senderId && reads.conversationId === conversationId && reads.dto === dto ? reads : null;
}
