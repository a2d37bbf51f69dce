import type { Migration } from '../migration';

/**
 * Retention finds soft-deleted messages through the {tenant_id, deleted_at} index. Messages written
 * before `deleted_at` existed lack the field; an explicit null puts them in the index like the rest.
 */
export const messagesDeletedAt0002: Migration = {
  version: 2,
  name: 'messages-explicit-deleted-at',
  async up({ db, log }) {
    const r = await db.collection('messages').updateMany({ deleted_at: { $exists: false } }, { $set: { deleted_at: null } });
    log(`  ${r.modifiedCount} messages given deleted_at: null`);
  },
  async down() {
    // Missing and null mean the same to every query ({deleted_at: null} matches both): nothing to undo.
  },
};
