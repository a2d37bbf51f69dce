import { Injectable } from '@nestjs/common';
import { E2eV2Gate, MessageContent } from '@chat/chat';
import { AppError } from '@chat/errors';
import { MlsGroupsRepository } from './mls.repository';

/**
 * The Delivery Service's check of a v2 send (docs/e2e.md, "Wire format v2"): the envelope must name
 * the conversation's group at its current epoch, and every user the server removed must be out of the
 * group's tree first. Each refusal is a 409 `conflict` whose details tell the SDK what to do:
 * `reason: 'epoch'` (catch up to `epoch` and seal again), `'membership_pending'` (commit the removal
 * of `remove_users`), `'no_group'` (create the group), `'group'` (the envelope names another group:
 * join the conversation's).
 */
@Injectable()
export class MlsSendGate extends E2eV2Gate {
  constructor(private readonly groups: MlsGroupsRepository) {
    super();
  }

  async checkSend(conversation: { id: string; memberIds: string[] }, content: MessageContent): Promise<void> {
    const g = await this.groups.sendState(conversation.id);
    if (!g) throw AppError.conflict('The conversation has no MLS group yet: create it, then send again', { reason: 'no_group', epoch: 0 });
    if (g.group_id !== content.group_id) {
      throw AppError.conflict("The envelope names another group than the conversation's: open the conversation's group", { reason: 'group', epoch: g.epoch, group_id: g.group_id });
    }
    const members = new Set(conversation.memberIds);
    const pending = (g.tree_users ?? []).filter((u) => !members.has(u));
    if (pending.length) {
      throw AppError.conflict('Removed members are still in the group: commit their removal, then send again', {
        reason: 'membership_pending',
        epoch: g.epoch,
        group_id: g.group_id,
        remove_users: pending,
      });
    }
    if (content.epoch !== g.epoch) {
      throw AppError.conflict('The group is at another epoch: process the commits since, then send again', { reason: 'epoch', epoch: g.epoch, group_id: g.group_id });
    }
  }
}
