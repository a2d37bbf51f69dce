import { AppError, ErrorBody, ErrorCode, jsonByteLength, jsonByteLengthAtMost, toErrorBody } from '@chat/errors';

/** What every client event is answered with. */
export type AckResponse<T = unknown> = { ok: true; data: T } | ErrorBody;
export type AckFn = (response: AckResponse) => void;

/** socket.io hands the ack callback over as the last argument; the payload is the first one. */
export function splitEventArgs(args: readonly unknown[]): { payload: unknown; ack?: AckFn } {
  const last = args[args.length - 1];
  if (typeof last === 'function') return { payload: args.length > 1 ? args[0] : undefined, ack: last as AckFn };
  return { payload: args[0] };
}

/** Serialized size of a payload (its JSON's bytes, counted without writing it), or Infinity when it cannot be serialized. */
export function payloadBytes(payload: unknown): number {
  if (payload === undefined) return 0;
  try {
    return Math.max(0, jsonByteLength(payload));
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** `payloadBytes(payload) <= max`, without counting the bytes of a payload clearly below it (jsonByteLengthAtMost). */
export function payloadWithin(payload: unknown, max: number): boolean {
  if (payload === undefined) return 0 <= max;
  try {
    return 0 <= max && jsonByteLengthAtMost(payload, max);
  } catch {
    return Number.POSITIVE_INFINITY <= max;
  }
}

/** The error shape for anything thrown by a handler; unknown errors never leak their message. */
export function errorAck(err: unknown): { body: ErrorBody; unexpected: boolean } {
  const n = toErrorBody(err);
  return { body: n.body, unexpected: n.unexpected };
}

/** Calls the client's ack, if it gave one; a throwing or missing ack never breaks the server. */
export function safeAck(ack: AckFn | undefined, response: AckResponse): void {
  if (!ack) return;
  try {
    ack(response);
  } catch {
    // The client went away or sent something odd as a callback: nothing to answer.
  }
}

/** Builds the Error socket.io turns into the client's `connect_error` (its `data` is the error shape). */
export function connectError(err: unknown): Error & { data: ErrorBody } {
  const { body } = errorAck(err);
  const e = new Error(body.error.message) as Error & { data: ErrorBody };
  e.data = body;
  return e;
}

export const unknownEventError = (event: string) => new AppError(ErrorCode.BadRequest, `Unknown event "${event.slice(0, 64)}"`);
