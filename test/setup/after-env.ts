// Real services are slower than mocks; a hung test still fails, just not after 5 s.
jest.setTimeout(60_000);

// A run that seems to hang: CHAT_TEST_PENDING_TRACE=<dir> logs the calls pending in each jest process (test/support/pending-calls.ts).
if (process.env.CHAT_TEST_PENDING_TRACE) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('../support/pending-calls') as typeof import('../support/pending-calls')).installPendingCalls(process.env.CHAT_TEST_PENDING_TRACE);
}
