import { OpsContext } from '@chat/backup';
import { reportError, jsonRequested } from './cli-error';
import { createProgress, Progress } from './progress';

/** Output: tables/lines for people, `--json` for scripts (stdout only; progress and logs go to stderr). */
export function print(value: unknown, json: boolean, human?: () => void): void {
  if (json || !human) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else human();
}

export type Action = (ctx: OpsContext, progress: Progress) => Promise<void>;

/** Runs one command with a context it always closes; any error exits 1 (see reportError: one line, JSON with --json). */
export function action(fn: Action, opts: { quiet?: boolean } = {}) {
  return async () => {
    // The whole platform: every feature's models are registered, so new collections are covered by themselves.
    const ctx = new OpsContext(async () => (await import('../../all-in-one/src/app.module')).AppModule);
    const progress = createProgress({ quiet: opts.quiet });
    try {
      await ctx.init();
      await fn(ctx, progress);
    } catch (err) {
      reportError(err, jsonRequested());
    } finally {
      progress.stop();
      await ctx.close();
    }
  };
}
