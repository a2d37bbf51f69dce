import { Injectable } from '@nestjs/common';

export interface SendResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/** The HTTP adapter: one POST, no redirects followed, bounded by a timeout; the response body is not read. */
@Injectable()
export class WebhookSender {
  async post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult> {
    const started = performance.now();
    try {
      const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel().catch(() => undefined);
      return { statusCode: res.status, latencyMs: Math.round(performance.now() - started), error: null };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const msg = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e.cause?.code ?? e.message);
      return { statusCode: null, latencyMs: Math.round(performance.now() - started), error: String(msg).slice(0, 300) };
    }
  }
}
