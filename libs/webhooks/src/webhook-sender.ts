import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';

export interface SendResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/**
 * Idle connections to receivers are kept for this long (under the 5 s keep-alive of Node's own server,
 * so a reused socket is rarely one the receiver is closing just then: that attempt would fail and retry).
 */
const IDLE_SOCKET_MS = 4000;

/**
 * The HTTP adapter: one POST, no redirects followed, bounded by a timeout; the response body is not read.
 * Plain node:http(s) with keep-alive agents, not fetch: fetch's WHATWG request, headers, streams and
 * abort signal cost several times the CPU per POST (a webhook per message shares the cores with the
 * sends; bench/RESULTS.md "Webhook cost on the send path, part 3").
 */
@Injectable()
export class WebhookSender implements OnApplicationShutdown {
  private readonly http = new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
  private readonly https = new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });

  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult> {
    const started = performance.now();
    const done = (statusCode: number | null, error: string | null): SendResult => ({ statusCode, latencyMs: Math.round(performance.now() - started), error });
    return new Promise<SendResult>((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch (err) {
        resolve(done(null, String((err as Error).message).slice(0, 300)));
        return;
      }
      const secure = target.protocol === 'https:';
      let answered = false;
      const req = (secure ? httpsRequest : httpRequest)(target, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      });
      // The whole exchange is bounded, the body too: a receiver that keeps it open loses the socket.
      const timer = setTimeout(() => {
        if (!answered) {
          answered = true;
          resolve(done(null, `timed out after ${timeoutMs} ms`));
        }
        req.destroy();
      }, timeoutMs);
      timer.unref();
      req.on('response', (res: IncomingMessage) => {
        answered = true;
        resolve(done(res.statusCode ?? null, null));
        // Drained, not read: the socket goes back to the agent once the body has passed.
        res.on('end', () => clearTimeout(timer));
        res.on('error', () => clearTimeout(timer));
        res.resume();
      });
      req.on('error', (err: Error & { code?: string }) => {
        clearTimeout(timer);
        if (answered) return;
        answered = true;
        resolve(done(null, String(err.code ?? err.message).slice(0, 300)));
      });
      // A string body leaves with the headers in one socket write (a Buffer goes as a second chunk).
      req.end(body);
    });
  }

  /** Idle connections close; attempts still running keep theirs (the dispatcher waits for them). */
  onApplicationShutdown(): void {
    for (const agent of [this.http, this.https]) for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) s.destroy();
  }
}
