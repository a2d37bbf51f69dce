import { Transform } from 'class-transformer';

/**
 * The one spelling of a conversation id. Ids are ObjectIds in hex, and the membership check reads them
 * in either case; whatever is keyed by the id as a string (the messages' conversation_id, the MLS
 * group, its messages and Welcomes, the send gate's cached state, the per-sender send order) must see
 * one spelling, or an id written in upper case would miss all of it: the lower case a stored id has.
 * Anything that is not an id is returned as it is, for the membership check to refuse.
 */
export function canonicalConversationId(id: string): string {
  return /^[0-9a-fA-F]{24}$/.test(id) ? id.toLowerCase() : id;
}

/** On a DTO field that holds a conversation id: the id in its one spelling (validation still decides whether it is an id). */
export const CanonicalConversationId = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? canonicalConversationId(value) : value));
