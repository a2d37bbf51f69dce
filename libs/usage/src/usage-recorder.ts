import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { NewUsageEvent, NewUsageMetric, UsageRepository } from './usage.repository';
import { UsageEventType, UsageMetricName, utcDay, utcPeriod } from './usage.schemas';

interface Counter {
  tenant_id: string;
  type: UsageEventType;
  day: string;
  count: number;
  users?: Set<string>;
}

/** Beyond this many distinct keys in one window the buffer is flushed early (memory stays bounded). */
const MAX_BUFFERED_KEYS = 10_000;

/**
 * Meters usage on the hot paths without a database write per message or request: counters are kept
 * in memory per (tenant, type, day) and flushed as one `events` document each every
 * USAGE_FLUSH_SECONDS (and on shutdown). A crash loses at most one window of counts on that node.
 */
@Injectable()
export class UsageRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Usage');
  private buffer = new Map<string, Counter>();
  private samples: NewUsageMetric[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: UsageRepository,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.USAGE_FLUSH_SECONDS > 0) {
      this.timer = setInterval(() => void this.flush().catch((e: Error) => this.logger.warn(`usage flush failed: ${e.message}`)), this.config.USAGE_FLUSH_SECONDS * 1000);
      this.timer.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch((e: Error) => this.logger.warn(`final usage flush failed: ${e.message}`));
  }

  private bump(tenantId: string, type: UsageEventType, n: number, userId?: string, at = new Date()): void {
    const day = utcDay(at);
    const key = `${tenantId}|${type}|${day}`;
    let c = this.buffer.get(key);
    if (!c) {
      c = { tenant_id: tenantId, type, day, count: 0, ...(type === 'active_users' ? { users: new Set<string>() } : {}) };
      this.buffer.set(key, c);
    }
    if (userId && c.users) {
      c.users.add(userId);
      c.count = c.users.size;
    } else {
      c.count += n;
    }
    if (this.buffer.size >= MAX_BUFFERED_KEYS) void this.flush().catch(() => undefined);
  }

  messageSent(tenantId: string, senderId?: string, n = 1, at?: Date): void {
    this.bump(tenantId, 'messages_sent', n, undefined, at);
    if (senderId) this.userActive(tenantId, senderId, at);
  }

  apiCall(tenantId: string, n = 1, at?: Date): void {
    this.bump(tenantId, 'api_calls', n, undefined, at);
  }

  userActive(tenantId: string, userId: string, at?: Date): void {
    this.bump(tenantId, 'active_users', 1, userId, at);
  }

  /** A gauge sample (connections right after a connect, so the maximum over samples is the peak; stored bytes). */
  sample(tenantId: string, name: UsageMetricName, value: number, at = new Date()): void {
    this.samples.push({ tenant_id: tenantId, name, value, day: utcDay(at), period: utcPeriod(at), at });
    if (this.samples.length >= MAX_BUFFERED_KEYS) void this.flush().catch(() => undefined);
  }

  /** Writes what is buffered. Serialized: concurrent callers wait for the same flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const counters = [...this.buffer.values()];
      const samples = this.samples;
      this.buffer = new Map();
      this.samples = [];
      const now = new Date();
      const events: NewUsageEvent[] = counters.map((c) => ({
        tenant_id: c.tenant_id,
        type: c.type,
        count: c.count,
        ...(c.users ? { user_ids: [...c.users] } : {}),
        day: c.day,
        period: c.day.slice(0, 7),
        at: now,
      }));
      try {
        await this.repo.insertEvents(events);
        await this.repo.insertMetrics(samples);
      } catch (err) {
        // Put the counts back for the next window rather than lose them.
        for (const c of counters) {
          const key = `${c.tenant_id}|${c.type}|${c.day}`;
          const cur = this.buffer.get(key);
          if (!cur) this.buffer.set(key, c);
          else if (cur.users && c.users) {
            c.users.forEach((u) => cur.users!.add(u));
            cur.count = cur.users.size;
          } else cur.count += c.count;
        }
        this.samples.push(...samples);
        throw err;
      }
    });
    return this.flushing;
  }
}
