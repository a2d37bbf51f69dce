import { createServer, type Server, type Socket } from 'node:net';
import { ChatUserClient } from './user-client';

/**
 * A kept-alive connection the server closes just as the client reuses it (the server's idle timer and
 * the client's next request race; seen as `fetch failed` in the MLS scale test, where both sides share
 * one busy event loop). A raw TCP server makes it deterministic: on each connection it answers the first
 * request with keep-alive and then drops the connection when a second request arrives on it, without
 * answering. The request never reached the application, so an idempotent one is safe to send again.
 */
function racyServer(): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((socket: Socket) => {
    let answered = 0;
    socket.on('data', (chunk) => {
      const line = chunk.toString('latin1').split('\r\n')[0]!;
      if (answered === 1) {
        socket.destroy(); // the "idle timeout" wins the race: closed with the request unanswered
        return;
      }
      answered++;
      requests.push(line);
      const body = JSON.stringify({ id: 'u1' });
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`);
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${addr.port}`, requests });
    }),
  );
}

describe('SDK REST client on a kept-alive connection the server closes', () => {
  it('sends an idempotent request again on a fresh connection, and never repeats a POST', async () => {
    const { server, url, requests } = await racyServer();
    try {
      const c = new ChatUserClient({ baseUrl: url, token: 't' });
      await c.http.get('/v1/me');
      // Reuses the kept-alive connection, which the server drops: sent again on a new one.
      await expect(c.http.get('/v1/me')).resolves.toEqual({ id: 'u1' });
      await expect(c.http.delete('/v1/me/devices/d1/mls/welcomes/w1')).resolves.toEqual({ id: 'u1' });
      expect(requests.filter((r) => r.startsWith('GET'))).toHaveLength(2);
      // A POST may have reached the application: it is never sent twice by the client.
      const before = requests.length;
      await expect(c.http.post('/v1/conversations/c1/messages', { x: 1 })).rejects.toMatchObject({ status: 0, code: 'network_error' });
      expect(requests.length).toBe(before);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
