import type { NextFunction, Request, Response } from 'express';

/** `/v1/conversations/<ObjectId in hex>`, up to the end of that path segment. */
const CONVERSATION_PATH = /^(\/v1\/conversations\/)([0-9a-fA-F]{24})(?=[/?#]|$)/;

/**
 * A conversation id is an ObjectId in hex: written in upper case it names the same conversation, and
 * the membership check finds it. Everything behind the routes keys by the id as a string (messages,
 * MLS groups and Welcomes, moderation state, cached reads, socket rooms), so the id in a conversation
 * route is put in its one spelling, the lower case a stored id has, before the route sees it; every
 * route under /v1/conversations/:id then answers as it does for the lower-case id.
 */
export function canonicalConversationPath(req: Request, _res: Response, next: NextFunction): void {
  const m = CONVERSATION_PATH.exec(req.url);
  if (m && /[A-F]/.test(m[2]!)) req.url = m[1]! + m[2]!.toLowerCase() + req.url.slice(m[0].length);
  next();
}
