import type { PublicUserView, UserView } from '@chat/contracts';
import type { UserDoc } from './user.schema';

/** What the SaaS client (API key) and the user themself see, and what other end users see (no settings): the wire contract. */
export type { PublicUserView, UserView };

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function toUserView(doc: Pick<UserDoc, 'external_id' | 'profile' | 'settings' | 'encryption' | 'deactivated_at' | 'created_at' | 'updated_at' | 'last_seen'>): UserView {
  return {
    external_id: doc.external_id,
    profile: {
      display_name: doc.profile?.display_name ?? null,
      avatar_url: doc.profile?.avatar_url ?? null,
      status: doc.profile?.status ?? 'offline',
      custom_data: doc.profile?.custom_data ?? null,
    },
    settings: { notifications: doc.settings?.notifications ?? {}, privacy: doc.settings?.privacy ?? {} },
    encryption: { public_key: doc.encryption?.public_key ?? null, key_version: doc.encryption?.key_version ?? null },
    deactivated: Boolean(doc.deactivated_at),
    deactivated_at: iso(doc.deactivated_at),
    created_at: iso(doc.created_at)!,
    updated_at: iso(doc.updated_at)!,
    last_seen: iso(doc.last_seen),
  };
}

export function toPublicUserView(v: UserView): PublicUserView {
  return {
    external_id: v.external_id,
    profile: v.profile,
    encryption: v.encryption,
    deactivated: v.deactivated,
    // A user may hide when they were last seen (settings.privacy.last_seen = false).
    last_seen: v.settings.privacy?.last_seen === false ? null : v.last_seen,
  };
}
