import type { Migration } from './migration';
import { billingPlans0001 } from './migrations/0001-billing-plans';
import { messagesDeletedAt0002 } from './migrations/0002-messages-deleted-at';
import { messagesClientMsgIdPerConversation0003 } from './migrations/0003-messages-client-msg-id-per-conversation';

/** Every migration of this release, in version order. Append only. */
export const MIGRATIONS: Migration[] = [billingPlans0001, messagesDeletedAt0002, messagesClientMsgIdPerConversation0003];
