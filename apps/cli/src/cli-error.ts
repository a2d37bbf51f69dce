import { AppError, ErrorBody, ErrorCode, toErrorBody } from '@chat/errors';

/**
 * Failures of the CLI in the platform's one error shape ({ error: { code, message, details } }).
 * Unlike HTTP, an unexpected error keeps its message: the operator running the command is the one who
 * needs it (and DEBUG=1 adds the stack to the human form).
 */
export function cliErrorBody(err: unknown): ErrorBody {
  if (err instanceof AppError) return err.getResponse() as ErrorBody;
  const e = err as { code?: unknown; name?: string; message?: string };
  // Commander's own errors (unknown option, missing argument): a usage error.
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    return { error: { code: ErrorCode.BadRequest, message: String(e.message ?? '').replace(/^error: /, '') } };
  }
  const normalized = toErrorBody(err);
  if (!normalized.unexpected) return normalized.body;
  return { error: { code: ErrorCode.Internal, message: e?.message ?? String(err) } };
}

/**
 * Writes a failure to stderr and sets exit code 1. With --json it is the error shape as one JSON line
 * (stdout carries only results, so a script reads the result from stdout or the error from stderr's
 * last line); otherwise one `error: <message>` line.
 */
export function reportError(err: unknown, json: boolean): void {
  process.exitCode = 1;
  const body = cliErrorBody(err);
  if (json) {
    process.stderr.write(JSON.stringify(body) + '\n');
    return;
  }
  const details = body.error.details === undefined ? '' : ` ${JSON.stringify(body.error.details)}`;
  const stack = process.env.DEBUG && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  process.stderr.write(`error: ${body.error.message} (${body.error.code})${details}${stack}\n`);
}

/** True when --json is on the command line (also before Commander has parsed it, for usage errors). */
export function jsonRequested(argv: readonly string[] = process.argv): boolean {
  return argv.slice(2).includes('--json');
}
