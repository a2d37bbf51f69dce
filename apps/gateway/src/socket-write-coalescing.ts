import type { Server } from 'socket.io';

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** The TCP socket under an engine.io socket on the websocket transport; undefined for anything else. */
function tcpOf(engineSocket: unknown): Corkable | undefined {
  const transport = (engineSocket as { transport?: { name?: string; socket?: { _socket?: Partial<Corkable> } } } | undefined)?.transport;
  if (transport?.name !== 'websocket') return undefined;
  const tcp = transport.socket?._socket;
  return tcp && typeof tcp.cork === 'function' && typeof tcp.uncork === 'function' ? (tcp as Corkable) : undefined;
}

/**
 * Writes the packets engine.io flushes together to one socket in one system call. A batch commit emits
 * its messages one after another in one tick (libs/chat MessageCommitEffects), so every member's
 * socket gets several `message:new` (and the senders their acks) at once: engine.io writes the first,
 * buffers the rest while that write completes, then sends them in one flush, where ws writes each
 * frame with its own `writev`. Each engine.io flush ('flush' then 'drain', synchronously) of two or
 * more packets now runs with the TCP socket corked, so its frames leave in one `writev`: the same
 * bytes in the same order, fewer system calls (bench/RESULTS.md, "Send path: CPU per message").
 * Returns the function that removes the listeners.
 */
export function coalesceSocketWrites(server: Server): () => void {
  const engine = (server as unknown as { engine?: { on(e: string, f: (...a: never[]) => void): void; off(e: string, f: (...a: never[]) => void): void } }).engine;
  if (!engine) return () => undefined;
  const corked = new Set<Corkable>();
  let sweepScheduled = false;
  // A flush that threw before its 'drain' must not leave its socket corked: whatever is still corked
  // at the end of the tick is released.
  const uncorkAll = () => {
    sweepScheduled = false;
    for (const tcp of corked) tcp.uncork();
    corked.clear();
  };
  const onFlush = (socket: unknown, buffer: unknown[]) => {
    if (!Array.isArray(buffer) || buffer.length < 2) return;
    const tcp = tcpOf(socket);
    if (!tcp || corked.has(tcp)) return;
    tcp.cork();
    corked.add(tcp);
    if (!sweepScheduled) {
      sweepScheduled = true;
      process.nextTick(uncorkAll);
    }
  };
  const onDrain = (socket: unknown) => {
    const tcp = tcpOf(socket);
    if (tcp && corked.delete(tcp)) tcp.uncork();
  };
  engine.on('flush', onFlush);
  engine.on('drain', onDrain);
  return () => {
    engine.off('flush', onFlush);
    engine.off('drain', onDrain);
    uncorkAll();
  };
}
