import { AppError } from '@chat/errors';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Opaque cursors: base64url JSON, so clients cannot depend on what is inside. */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T extends Record<string, unknown>>(cursor: string | undefined, check: (v: Record<string, unknown>) => v is T): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && check(parsed as Record<string, unknown>)) return parsed as T;
  } catch {
    /* fall through */
  }
  throw AppError.validation([{ field: 'cursor', problems: ['cursor is not valid'] }], 'Invalid cursor');
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
