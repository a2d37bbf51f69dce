import { histogram } from '@chat/metrics';

/** Finer buckets than the default: the stages of one batch take milliseconds. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.5];

/** Where a send's ack time goes in the write path (docs/life-of-a-message.md, step 4). */
export const batchStageSeconds = histogram(
  'chat_message_batch_stage_seconds',
  'Per stage of the write path: wait (a send queued until its batch starts), claim (Redis send claims and retry look-ups), reserve (seqs), insert (messages, cache drop, gaps), commit (last_message, counters, events), per tenant of a batch',
  ['stage'],
  STAGE_BUCKETS,
);

/** Observes the time since the previous lap (or the start) as `stage`. */
export function stageClock(): (stage: string) => void {
  let last = performance.now();
  return (stage) => {
    const now = performance.now();
    batchStageSeconds.observe({ stage }, (now - last) / 1000);
    last = now;
  };
}
