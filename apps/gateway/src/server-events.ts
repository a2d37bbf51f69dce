import type { ServerEventName, ServerToClientEventMap } from '@chat/contracts';

/**
 * Emits a server event through any socket.io target (server, room, broadcast), its payload checked
 * against the wire contract (libs/contracts) at compile time; the Server itself is untyped.
 */
export function emitEvent<E extends ServerEventName>(target: { emit(event: string, ...args: unknown[]): unknown }, event: E, payload: ServerToClientEventMap[E]): void {
  target.emit(event, payload);
}
