import { counter, gauge, histogram } from '@chat/metrics';

/* The group commit's metrics (MessageWriteBatcher), apart from its logic. */

export const queueDepth = gauge('chat_message_batch_queue_depth', 'Messages waiting in this process for the next group commit');
export const messagesIn = counter('chat_messages_in_total', 'Messages accepted by the write path', ['result']);
export const batchSize = histogram('chat_message_batch_size', 'Messages per group commit', [], [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
export const batchSeconds = histogram('chat_message_batch_write_seconds', 'Time to reserve seqs and store one batch');
/** Where a send's ack time goes (docs/life-of-a-message.md, step 4): finer buckets than the default, the stages take milliseconds. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.5];
export const writeStageSeconds = histogram(
  'chat_message_batch_stage_seconds',
  'Per stage of the write path: wait (a send queued until its batch starts), claim (Redis send claims and retry look-ups), reserve (seqs), insert (messages, fresh seqs for taken ones, cache drop, gaps), commit (reply counters, events), per tenant of a batch; last_message: its write after the ack, per write',
  ['stage'],
  STAGE_BUCKETS,
);

export function stageClock(): (stage: string) => void {
  let last = performance.now();
  return (stage) => {
    const now = performance.now();
    writeStageSeconds.observe({ stage }, (now - last) / 1000);
    last = now;
  };
}
