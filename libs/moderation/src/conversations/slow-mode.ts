import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@chat/clock';
import { RedisService } from '@chat/redis';

/**
 * Take a turn: if the last accepted send (ARGV[1] now, ms) is less than ARGV[2] ms ago, answer when it
 * was; else record now and answer -1. One script, so two sends racing on two nodes cannot both pass.
 */
const TAKE_TURN = `
local last = redis.call('GET', KEYS[1])
if last and (tonumber(ARGV[1]) - tonumber(last)) < tonumber(ARGV[2]) then return tonumber(last) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return -1`;

/**
 * Slow mode's memory of each member's last accepted send, per conversation: in Redis (shared by every
 * node) or in process. Times come from the Clock (tests move it); the Redis TTL only tidies up and is
 * well past the interval, so it never decides anything.
 */
@Injectable()
export class SlowModeTurns {
  private readonly logger = new Logger('SlowMode');
  private readonly memory = new Map<string, number>();

  constructor(
    private readonly redis: RedisService,
    private readonly clock: Clock,
  ) {}

  /** 0 when the member may send now (and the turn is taken), else the ms to wait. */
  async take(tenantId: string, conversationId: string, userId: string, intervalSeconds: number): Promise<number> {
    const now = this.clock.now();
    const interval = intervalSeconds * 1000;
    const key = this.redis.key('slow', tenantId, conversationId, userId);
    if (this.redis.mode === 'redis' && this.redis.client) {
      try {
        const last = Number(await this.redis.client.eval(TAKE_TURN, 1, key, String(now), String(interval), String(interval + 60_000)));
        return last < 0 ? 0 : Math.max(1, last + interval - now);
      } catch (err) {
        // A rate limit, not a permission: while Redis is down, sends are not held back by it.
        this.logger.warn(`slow mode check skipped (Redis): ${(err as Error).message}`);
        return 0;
      }
    }
    const last = this.memory.get(key);
    if (last !== undefined && now - last < interval) return Math.max(1, last + interval - now);
    if (this.memory.size > 100_000) this.memory.clear();
    this.memory.set(key, now);
    return 0;
  }
}
