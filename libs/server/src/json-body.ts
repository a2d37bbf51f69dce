import type { IncomingMessage } from 'node:http';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import express from 'express';
import { from, mergeMap, Observable } from 'rxjs';
import { PRINCIPAL_KEY } from '@chat/auth';
import { AppError, ErrorCode, INPUT_LIMITS, jsonTextDepth } from '@chat/errors';

const JSON_TYPES = ['application/json', 'application/*+json'];

export interface JsonBodyLimits {
  /** Requests the guards authenticated. */
  authenticatedBytes: number;
  /** Public routes (admin login): no credential checked before their DTO pipe runs. */
  unauthenticatedBytes: number;
  /** Routes marked with @BodyLimit(setting): that setting's value instead of authenticatedBytes. */
  routeBytes?: Partial<Record<BodyLimitSetting, number>>;
}

/** The settings (AppConfig variables) a route may take its body limit from. */
export type BodyLimitSetting = 'MLS_COMMIT_BODY_LIMIT_BYTES';

const BODY_LIMIT_KEY = 'chat:body-limit';

/**
 * An authenticated route whose body may outgrow BODY_LIMIT_BYTES by design (an MLS commit carries
 * the group's ratchet tree): it is bounded by its own setting instead. Public routes keep the tight limit.
 */
export const BodyLimit = (setting: BodyLimitSetting) => SetMetadata(BODY_LIMIT_KEY, setting);

/** A body is present when it is chunked or announces a non-zero length. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > 0;
}

/** Thrown from body-parser's `verify` hook: the raw body nests deeper than INPUT_LIMITS allows. */
function refuseDeepBody(_req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (jsonTextDepth(buf, INPUT_LIMITS.maxDepth) > INPUT_LIMITS.maxDepth) {
    throw Object.assign(new Error('body nested too deeply'), { type: 'entity.too.deep', status: 400 });
  }
}

/** body-parser's failures, in the one error shape. */
export function toBodyError(err: unknown): unknown {
  const e = err as { type?: string; limit?: number; status?: number; expose?: boolean };
  switch (e?.type) {
    case 'entity.parse.failed':
      return new AppError(ErrorCode.InvalidJson, 'Request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(ErrorCode.PayloadTooLarge, `Request body is larger than ${e.limit} bytes`, { max_bytes: e.limit });
    case 'entity.too.deep':
      return AppError.validation([{ field: '', problems: [`nesting must be at most ${INPUT_LIMITS.maxDepth} levels deep`] }], 'Request body is nested too deeply');
    case 'encoding.unsupported':
      return new AppError(ErrorCode.UnsupportedMediaType, 'Unsupported Content-Encoding (gzip, deflate, br or identity)');
    case 'charset.unsupported':
      return new AppError(ErrorCode.UnsupportedMediaType, 'Unsupported charset: send UTF-8 JSON');
  }
  // Anything else body-parser refuses (an undecodable gzip/deflate/br body, an aborted upload) is
  // the client's: its status says so, though it has no `type`.
  if (e?.type || (e?.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500)) {
    return new AppError(ErrorCode.BadRequest, 'Request body could not be read');
  }
  return err;
}

/**
 * Express middleware: a request body of any other media type than JSON is a 415 (it used to be
 * ignored and the route ran with `{}`). Reads headers only.
 */
export const requireJsonBody: express.RequestHandler = (req, _res, next) => {
  if (hasBody(req) && !req.is(JSON_TYPES)) {
    return next(new AppError(ErrorCode.UnsupportedMediaType, 'Request bodies must be JSON (Content-Type: application/json)'));
  }
  next();
};

/**
 * The only body parser, run as a global interceptor: after the guards, so a request they refuse
 * never has its body read or parsed (a 1 MB body with a bogus credential costs nothing). Public
 * routes (no principal: the admin login, whose DTO pipe runs before any credential is checked) get
 * the tight limit. The raw bytes are checked for depth in one pass before JSON.parse, which is slow
 * on deep nesting (~0.7 s for 1 MB of `[`); the parsed tree is then walked by the validation pipe
 * (assertBoundedInput) before anything recursive runs. Too large: 413; undecodable
 * Content-Encoding: 400; unknown encoding or charset: 415 — all in the one error shape.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  private readonly authenticated: express.RequestHandler;
  private readonly unauthenticated: express.RequestHandler;
  private readonly byRoute = new Map<BodyLimitSetting, express.RequestHandler>();

  constructor(limits: JsonBodyLimits) {
    const options = { type: JSON_TYPES, verify: refuseDeepBody };
    this.authenticated = express.json({ ...options, limit: limits.authenticatedBytes });
    this.unauthenticated = express.json({ ...options, limit: Math.min(limits.unauthenticatedBytes, limits.authenticatedBytes) });
    for (const [setting, bytes] of Object.entries(limits.routeBytes ?? {}) as Array<[BodyLimitSetting, number]>) {
      this.byRoute.set(setting, express.json({ ...options, limit: bytes }));
    }
  }

  private parserFor(ctx: ExecutionContext, authenticated: boolean): express.RequestHandler {
    if (!authenticated) return this.unauthenticated;
    const setting = Reflect.getMetadata(BODY_LIMIT_KEY, ctx.getHandler()) as BodyLimitSetting | undefined;
    if (setting === undefined) return this.authenticated;
    const parser = this.byRoute.get(setting);
    // A route naming a setting configureApp did not pass is a wiring bug, not a reason to drop the limit.
    if (!parser) throw new Error(`no body limit configured for ${setting}`);
    return parser;
  }

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const http = ctx.switchToHttp();
    const req = http.getRequest<express.Request & Record<string, unknown>>();
    if (req.body !== undefined || !hasBody(req)) return next.handle();
    const parse = this.parserFor(ctx, req[PRINCIPAL_KEY] !== undefined);
    const parsed = new Promise<void>((resolve, reject) => parse(req, http.getResponse<express.Response>(), (err?: unknown) => (err ? reject(toBodyError(err)) : resolve())));
    return from(parsed).pipe(mergeMap(() => next.handle()));
  }
}
