import { Injectable } from '@nestjs/common';
import { E2eV2Gate, MessageContent } from '@chat/chat';
import { AppError } from '@chat/errors';
import { MlsSendState, MlsSendStateCache } from './mls-send-state';

/**
 * The Delivery Service's check of a v2 send (docs/e2e.md, "Wire format v2"): the envelope must name
 * the conversation's group at its current epoch, and every user the server removed must be out of the
 * group's tree first. Each refusal is a 409 `conflict` whose details tell the SDK what to do:
 * `reason: 'epoch'` (catch up to `epoch` and seal again), `'membership_pending'` (commit the removal
 * of `remove_users`), `'no_group'` (create the group), `'group'` (the envelope names another group:
 * join the conversation's).
 *
 * The group's state comes from MlsSendStateCache (no stale window, see there). A send it would refuse
 * is checked again against the group record itself, so a refusal is always the record's answer, as
 * before the cache, and a pointer a failed invalidation left behind is repaired by the first refusal.
 */
@Injectable()
export class MlsSendGate extends E2eV2Gate {
  constructor(private readonly state: MlsSendStateCache) {
    super();
  }

  async checkSend(conversation: { id: string; memberIds: string[] }, content: MessageContent): Promise<void> {
    const cached = await this.state.get(conversation.id);
    if (refusal(cached, conversation.memberIds, content) === null) return;
    const err = refusal(await this.state.fresh(conversation.id, cached), conversation.memberIds, content);
    if (err) throw err;
  }
}

/** Why the send is refused against this state, or null when it passes. */
function refusal(g: MlsSendState | null, memberIds: string[], content: MessageContent): AppError | null {
  if (!g) return AppError.conflict('The conversation has no MLS group yet: create it, then send again', { reason: 'no_group', epoch: 0 });
  if (g.group_id !== content.group_id) {
    return AppError.conflict("The envelope names another group than the conversation's: open the conversation's group", { reason: 'group', epoch: g.epoch, group_id: g.group_id });
  }
  const members = new Set(memberIds);
  const pending = g.tree_users.filter((u) => !members.has(u));
  if (pending.length) {
    return AppError.conflict('Removed members are still in the group: commit their removal, then send again', {
      reason: 'membership_pending',
      epoch: g.epoch,
      group_id: g.group_id,
      remove_users: pending,
    });
  }
  if (content.epoch !== g.epoch) {
    return AppError.conflict('The group is at another epoch: process the commits since, then send again', { reason: 'epoch', epoch: g.epoch, group_id: g.group_id });
  }
  return null;
}
