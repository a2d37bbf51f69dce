import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const stoppers = (globalThis as { __CHAT_TEST_STOPPERS__?: Array<() => Promise<void>> }).__CHAT_TEST_STOPPERS__ ?? [];
  await Promise.allSettled(stoppers.map((s) => s()));
  if (process.env.CHAT_TEST_TMP) rmSync(process.env.CHAT_TEST_TMP, { recursive: true, force: true });
}
