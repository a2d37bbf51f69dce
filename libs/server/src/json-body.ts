import type { IncomingMessage } from 'node:http';
import express from 'express';
import { AppError, ErrorCode, INPUT_LIMITS, jsonTextDepth } from '@chat/errors';

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Public routes that take a body: whatever credentials the request carries, their body gets the
 * unauthenticated limit (the route runs its pipe before any credential is checked).
 */
const PUBLIC_BODY_PATHS = new Set(['/admin/auth/login']);

export interface JsonBodyLimits {
  /** Requests with credentials (Authorization or X-Api-Key). */
  authenticatedBytes: number;
  /** Requests without, and the public routes above. */
  unauthenticatedBytes: number;
}

/** A body is present when it is chunked or announces a non-zero length. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > 0;
}

function hasCredentials(req: express.Request): boolean {
  if (req.headers['x-api-key'] !== undefined) return true;
  return typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0;
}

/** Express, by default, routes case-insensitively and ignores a trailing slash: so does this. */
const isPublicBodyPath = (path: string) => PUBLIC_BODY_PATHS.has(path.toLowerCase().replace(/\/+$/, ''));

/** Thrown from body-parser's `verify` hook: the raw body nests deeper than INPUT_LIMITS allows. */
function refuseDeepBody(_req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (jsonTextDepth(buf, INPUT_LIMITS.maxDepth) > INPUT_LIMITS.maxDepth) {
    throw Object.assign(new Error('body nested too deeply'), { type: 'entity.too.deep', status: 400 });
  }
}

/**
 * The only body parser: JSON, nothing else. Every cost an unauthenticated client can cause is paid
 * before the guards run, so it is kept small: a tight size limit without credentials (and on the
 * public login route, whose DTO pipe runs before any check), the depth of the raw bytes checked in
 * one pass before JSON.parse, and the parsed tree's node count / prototype-named keys checked
 * iteratively by the validation pipe before anything recursive runs. A body of another media type
 * is a 415 (it used to become `{}`), an undecodable Content-Encoding a 400, too large a 413 — all in
 * the one error shape.
 */
export function jsonBodyMiddleware(limits: JsonBodyLimits): express.RequestHandler[] {
  const tight = Math.min(limits.unauthenticatedBytes, limits.authenticatedBytes);
  const options = { type: JSON_TYPES, verify: refuseDeepBody };
  const authenticated = express.json({ ...options, limit: limits.authenticatedBytes });
  const unauthenticated = express.json({ ...options, limit: tight });
  const requireJson: express.RequestHandler = (req, _res, next) => {
    if (hasBody(req) && !req.is(JSON_TYPES)) {
      return next(new AppError(ErrorCode.UnsupportedMediaType, 'Request bodies must be JSON (Content-Type: application/json)'));
    }
    next();
  };
  const parse: express.RequestHandler = (req, res, next) =>
    (hasCredentials(req) && !isPublicBodyPath(req.path) ? authenticated : unauthenticated)(req, res, next);
  return [requireJson, parse];
}

/** Names body-parser failures in the one error shape, before Nest would turn them into a generic 400. */
export const bodyErrorMiddleware: express.ErrorRequestHandler = (err: unknown, _req, _res, next) => {
  const e = err as { type?: string; limit?: number; status?: number; expose?: boolean };
  switch (e?.type) {
    case 'entity.parse.failed':
      return next(new AppError(ErrorCode.InvalidJson, 'Request body is not valid JSON'));
    case 'entity.too.large':
      return next(new AppError(ErrorCode.PayloadTooLarge, `Request body is larger than ${e.limit} bytes`, { max_bytes: e.limit }));
    case 'entity.too.deep':
      return next(AppError.validation([{ field: '', problems: [`nesting must be at most ${INPUT_LIMITS.maxDepth} levels deep`] }], 'Request body is nested too deeply'));
    case 'encoding.unsupported':
      return next(new AppError(ErrorCode.UnsupportedMediaType, 'Unsupported Content-Encoding (gzip, deflate, br or identity)'));
    case 'charset.unsupported':
      return next(new AppError(ErrorCode.UnsupportedMediaType, 'Unsupported charset: send UTF-8 JSON'));
  }
  // Anything else body-parser refuses (an undecodable gzip/deflate/br body, an aborted upload) is
  // the client's: its status says so, though it has no `type`.
  if (e?.type || (e?.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500)) {
    return next(new AppError(ErrorCode.BadRequest, 'Request body could not be read'));
  }
  next(err);
};
