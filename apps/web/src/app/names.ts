import type { ChatUserClient, UserView } from '@sdk';

const BATCH = 50;

/** Display names of other users (their public profiles), fetched once each, on demand; the id until known. */
export class DisplayNames {
  private readonly known = new Map<string, string>();
  private readonly asked = new Set<string>();

  constructor(
    private readonly client: ChatUserClient,
    private readonly onChange: () => void,
  ) {}

  get(userId: string): string {
    return this.known.get(userId) ?? userId;
  }

  /** Fetches the profiles not asked for yet (at most BATCH per call: large groups show ids for the rest). */
  want(userIds: readonly string[]): void {
    const todo = userIds.filter((u) => !this.asked.has(u)).slice(0, BATCH);
    if (!todo.length) return;
    for (const u of todo) this.asked.add(u);
    void Promise.all(
      todo.map((u) =>
        this.client.http.get<UserView>(`/v1/users/${encodeURIComponent(u)}`).then(
          (v) => v.profile.display_name && this.known.set(u, v.profile.display_name),
          () => undefined,
        ),
      ),
    ).then(() => this.onChange());
  }
}
