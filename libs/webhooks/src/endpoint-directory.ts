import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@chat/clock';
import { RedisService } from '@chat/redis';
import { WebhookEndpointsRepository } from './endpoints.repository';

/** How long a node trusts its list without asking Redis whether an endpoint changed anywhere. */
const CHECK_MS = 250;
/** Reloaded at least this often even with no change announced (a lost INCR, Redis restarted). */
const MAX_AGE_MS = 60_000;

/**
 * Which tenants have an active endpoint, known on every node without a database query per event or
 * per scan. Every endpoint change (create, update, delete, a 410) bumps a shared version in Redis
 * (`bump`); a node re-reads the list (one `distinct`) only when that version moved, and every
 * MAX_AGE_MS regardless. Recording an event (`current`) checks the version read then, so no event is
 * recorded against a list older than a change made on another node before it; the scans' question
 * (`tenants`) checks the version at most every CHECK_MS. A change made on this node is seen here at once.
 * So tenants without endpoints cost nothing: no endpoint read per event, no sweep, and a node whose
 * list is empty skips its periodic due-rows scan (DueRowScans). Without Redis (memory mode, one
 * node) the local bump is the whole story.
 */
@Injectable()
export class EndpointDirectory {
  private readonly logger = new Logger('WebhookEndpointDirectory');
  private known?: { checkedAt: number; loadedAt: number; version: string | null; tenants: Set<string> };
  private loading?: Promise<Set<string>>;
  /** Bumped by every local change: a load that started before it must not be kept. */
  private generation = 0;
  private readonly listeners = new Set<() => void>();
  private turnVersion?: Promise<string | null>;
  private readonly loads = new Map<string, Promise<Set<string>>>();

  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly redis: RedisService,
    private readonly clock: Clock,
  ) {}

  private get versionKey(): string {
    return this.redis.key('webhooks', 'endpoints-version');
  }

  /** Called when the list may have changed on any node (the outbox drops its per-tenant entries). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** An endpoint changed on this node: forget the list here and tell the other nodes. */
  bump(): void {
    this.generation++;
    this.known = undefined;
    this.redis.client?.incr(this.versionKey).catch((err: Error) => this.logger.warn(`could not announce a webhook endpoint change: ${err.message}`));
  }

  /** Tenants with at least one active endpoint. */
  async tenants(): Promise<Set<string>> {
    const now = this.clock.now();
    const k = this.known;
    // (A clock set back, as tests do, counts as elapsed.)
    if (k && now >= k.checkedAt && now - k.checkedAt < CHECK_MS) return k.tenants;
    this.loading ??= this.refresh(now).finally(() => (this.loading = undefined));
    return this.loading;
  }

  /**
   * The list as of the shared version read now, asked when an event is recorded. Whoever changes an
   * endpoint bumps the version before answering, so an event stored after that (on any node) is never
   * recorded against an older list, nor against endpoints the outbox cached before it (the listeners
   * drop them when the version moved). Only when Redis does not answer does the list's own re-check
   * period (tenants()) decide.
   */
  current(): Promise<Set<string>> {
    // One then, not an async function's two promises: every send asks (AsyncLocalStorage's hooks run per promise).
    return this.versionNow().then((version) => {
      if (version === null) return this.tenants();
      const k = this.known;
      const now = this.clock.now();
      if (k?.version === version && now >= k.loadedAt && now - k.loadedAt < MAX_AGE_MS) return k.tenants;
      return this.loadAt(version);
    });
  }

  async has(tenantId: string): Promise<boolean> {
    return (await this.current()).has(tenantId);
  }

  /**
   * The shared version, read for the callers of one turn of the event loop: the read is sent in this
   * turn, so after every change whose event any of them is recording was stored (that took a database
   * round trip, hence an earlier turn), and after any endpoint change announced before it.
   */
  private versionNow(): Promise<string | null> {
    if (!this.turnVersion) {
      this.turnVersion = this.readVersion();
      setImmediate(() => (this.turnVersion = undefined));
    }
    return this.turnVersion;
  }

  /**
   * The list as of `version` (read before the query), shared by callers that read the same version
   * (null: Redis did not answer, nothing to share by). Tells the listeners when the version moved.
   */
  private loadAt(version: string | null): Promise<Set<string>> {
    let load = version === null ? undefined : this.loads.get(version);
    if (!load) {
      const generation = this.generation;
      const previous = this.known;
      load = this.endpoints.tenantsWithActiveEndpoints().then((list) => {
        const tenants = new Set(list);
        const now = this.clock.now();
        if (generation === this.generation) this.known = { checkedAt: now, loadedAt: now, version, tenants };
        // Another node's change: per-tenant endpoint lists cached on this node may be stale too.
        if (previous && previous.version !== version) for (const l of this.listeners) l();
        return tenants;
      });
      if (version !== null) {
        this.loads.set(version, load);
        void load.finally(() => this.loads.delete(version)).catch(() => undefined);
      }
    }
    return load;
  }

  private async refresh(now: number): Promise<Set<string>> {
    const version = await this.readVersion();
    const k = this.known;
    if (k && version !== null && version === k.version && now - k.loadedAt < MAX_AGE_MS) {
      k.checkedAt = now;
      return k.tenants;
    }
    return this.loadAt(version);
  }

  /** The shared version; null (always reload) when Redis is absent or does not answer. */
  private readVersion(): Promise<string | null> {
    const client = this.redis.client;
    if (!client) return Promise.resolve('local');
    try {
      return client.get(this.versionKey).then(
        (v) => v ?? '0',
        () => null,
      );
    } catch {
      return Promise.resolve(null);
    }
  }
}
