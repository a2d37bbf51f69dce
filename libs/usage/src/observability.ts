import { Gauge } from 'prom-client';
import { counter, histogram, metricsRegistry } from '@chat/metrics';

/**
 * Platform metrics the issue asks for that no feature owns: end-to-end message latency (accepted by
 * the write path -> durable -> fan-out starts), messages by content type, and the cache hit ratio
 * derived from the cache's request counter (chat_cache_requests_total{result}).
 */
export const messageE2eLatency = histogram(
  'chat_message_e2e_latency_seconds',
  'From a message being accepted (created_at) to its fan-out event on this node',
  [],
  [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
);

export const messagesStored = counter('chat_messages_stored_total', 'Messages made durable, by content type', ['type']);

/** chat_cache_hit_ratio: computed at scrape time from the cache's own counter, so the two never disagree. */
export function registerCacheHitRatio(): void {
  if (metricsRegistry.getSingleMetric('chat_cache_hit_ratio')) return;
  new Gauge({
    name: 'chat_cache_hit_ratio',
    help: 'Cache hits / lookups since the process started (from chat_cache_requests_total)',
    async collect() {
      const c = metricsRegistry.getSingleMetric('chat_cache_requests_total');
      const values = c ? ((await c.get()).values as Array<{ labels: { result?: string | number }; value: number }>) : [];
      const total = values.reduce((sum, v) => sum + v.value, 0);
      const hits = values.filter((v) => v.labels.result === 'hit').reduce((sum, v) => sum + v.value, 0);
      this.set(total ? hits / total : 0);
    },
  });
}
