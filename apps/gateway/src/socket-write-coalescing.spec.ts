import { createServer, Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as TcpSocket } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, Socket as ClientSocket } from 'socket.io-client';
import { coalesceSocketWrites } from './socket-write-coalescing';

/**
 * A burst of events to one socket in one tick (what a batch commit does to every member) arrives
 * whole and in order, and with coalescing engine.io's buffered flush leaves in one write system call.
 */
describe('coalesceSocketWrites', () => {
  let http: HttpServer;
  let server: Server;
  let client: ClientSocket | undefined;

  beforeEach(async () => {
    http = createServer();
    server = new Server(http, { transports: ['websocket'] });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    client?.disconnect();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Emits `n` events in one tick to the one connected socket; returns what the client got and the TCP writes the burst took. */
  async function burst(n: number): Promise<{ received: unknown[]; writes: number }> {
    const connected = new Promise<import('socket.io').Socket>((resolve) => server.once('connection', resolve));
    client = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    const socket = await connected;
    const tcp = (socket.conn as unknown as { transport: { socket: { _socket: TcpSocket } } }).transport.socket._socket as TcpSocket & {
      _write: (...a: unknown[]) => void;
      _writev: (...a: unknown[]) => void;
    };
    let writes = 0;
    for (const name of ['_write', '_writev'] as const) {
      const original = tcp[name].bind(tcp);
      tcp[name] = (...args: unknown[]) => {
        writes++;
        original(...args);
      };
    }
    const received: unknown[] = [];
    const all = new Promise<void>((resolve) =>
      client!.on('m', (body: unknown) => {
        received.push(body);
        if (received.length === n) resolve();
      }),
    );
    for (let i = 0; i < n; i++) socket.emit('m', { i, text: `message ${i}`.repeat(1 + (i % 7)) });
    await all;
    return { received, writes };
  }

  const expected = (n: number) => Array.from({ length: n }, (_, i) => ({ i, text: `message ${i}`.repeat(1 + (i % 7)) }));

  it('without it, each buffered frame is its own write', async () => {
    const { received, writes } = await burst(20);
    expect(received).toEqual(expected(20));
    expect(writes).toBe(20);
  });

  it('with it, the burst is the first frame plus one write for the rest, in order', async () => {
    const stop = coalesceSocketWrites(server);
    const { received, writes } = await burst(20);
    expect(received).toEqual(expected(20));
    expect(writes).toBe(2);
    stop();
  });
});
