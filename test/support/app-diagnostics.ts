/**
 * What a stalled in-process test says about where things wait: the HTTP requests the app has not
 * answered, Node fetch's connection pools (undici, read through its symbols: diagnostics only), the
 * MongoDB driver's pool and the commands still waiting for FerretDB, Redis's command queue, and the
 * document write locks held or queued. For StepWatchdog's `diagnose` hook.
 */
import type { Server } from 'node:http';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { RedisService } from '@chat/redis';
import { documentLocksInUse } from '../../libs/database/src/document-write-lock';
import type { TestApp } from './test-app';

/** A symbol-keyed field of undici's objects, found by the symbol's description. */
function sym(obj: unknown, description: string): unknown {
  if (!obj || typeof obj !== 'object') return undefined;
  const s = Object.getOwnPropertySymbols(obj).find((x) => x.description === description);
  if (s) return (obj as Record<symbol, unknown>)[s];
  // Getters live on the prototype chain.
  for (let p = Object.getPrototypeOf(obj); p; p = Object.getPrototypeOf(p)) {
    const g = Object.getOwnPropertySymbols(p).find((x) => x.description === description);
    if (g) return (obj as Record<symbol, unknown>)[g];
  }
  return undefined;
}

/** Node's global fetch dispatcher: per origin, its pool's counters and each connection's state. */
export function fetchPoolState(): string {
  // Jest runs tests in a vm context whose globalThis is not Node's; fetch is Node's, and so is its realm's Function.
  const nodeGlobal = (fetch as unknown as { constructor: FunctionConstructor }).constructor('return globalThis')() as Record<symbol, unknown>;
  const agent = nodeGlobal[Symbol.for('undici.globalDispatcher.1')] ?? (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
  const clients = sym(agent, 'clients');
  if (!(clients instanceof Map)) return 'fetch pools: not visible (no global dispatcher in this realm yet)';
  const out: string[] = [];
  for (const [origin, v] of clients) {
    const d = (v as { dispatcher?: unknown })?.dispatcher ?? (v as { deref?: () => unknown })?.deref?.() ?? v;
    const stats = (d as { stats?: Record<string, number> })?.stats;
    const conns = (sym(d, 'clients') as unknown[] | undefined) ?? [d];
    const each = conns.map((c) => {
      const socket = sym(c, 'socket') as { destroyed?: boolean; readyState?: string } | null | undefined;
      return `{socket:${socket ? (socket.destroyed ? 'destroyed' : socket.readyState) : 'none'},running:${sym(c, 'running')},pending:${sym(c, 'pending')},busy:${sym(c, 'busy')}}`;
    });
    const s = stats ? `connected ${stats.connected} free ${stats.free} pending ${stats.pending} queued ${stats.queued} running ${stats.running}` : '';
    out.push(`${origin} ${s} ${each.filter((e) => !e.includes('socket:none,running:0,pending:0')).join(' ')}`);
  }
  return `fetch pools: ${out.join('; ') || 'none'}`;
}

export interface AppDiagnostics {
  describe(): string;
}

/** Starts watching the app (requests in flight, commands in flight); `describe()` says what is open now. */
export function appDiagnostics(t: TestApp): AppDiagnostics {
  const server = t.app.getHttpServer() as Server;
  const inFlight = new Map<number, { what: string; since: number; body: number }>();
  let next = 0;
  server.on('request', (req, res) => {
    const id = next++;
    // Reads headers only: a 'data' listener would consume the body before the app's parser.
    const entry = { what: `${req.method} ${req.url?.split('?')[0]}`, since: Date.now(), body: Number(req.headers['content-length'] ?? 0) };
    inFlight.set(id, entry);
    const done = () => inFlight.delete(id);
    res.on('finish', done);
    res.on('close', done);
  });

  const conn = t.app.get<Connection>(getConnectionToken());
  const client = conn.getClient() as unknown as NodeJS.EventEmitter & { topology?: { s?: { servers?: Map<string, { pool?: Record<string, number> }> } } };
  const commands = new Map<number, { what: string; since: number }>();
  client.on('commandStarted', (e: { requestId: number; commandName: string; command?: Record<string, unknown> }) => {
    const coll = e.command?.[e.commandName];
    commands.set(e.requestId, { what: `${e.commandName}${typeof coll === 'string' ? ` ${coll}` : ''}`, since: Date.now() });
  });
  const ended = (e: { requestId: number }) => commands.delete(e.requestId);
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
  const redis = t.app.get(RedisService).client as unknown as { status?: string; commandQueue?: { length: number }; offlineQueue?: { length: number } } | null;

  const age = (since: number) => `${Math.round((Date.now() - since) / 1000)} s`;
  return {
    describe: () => {
      const lines: string[] = [];
      lines.push(`app requests in flight: ${[...inFlight.values()].map((r) => `${r.what} (${r.body} B body, ${age(r.since)})`).join(', ') || 'none'}`);
      const s = server as Server & { _connections?: number };
      lines.push(`app server connections: ${s._connections ?? '?'}`);
      lines.push(fetchPoolState());
      const pools = [...(client.topology?.s?.servers?.values() ?? [])].map((srv) => {
        const p = srv.pool;
        return p ? `total ${p.totalConnectionCount} available ${p.availableConnectionCount} pending ${p.pendingConnectionCount} checked out ${p.currentCheckedOutCount} waiting ${p.waitQueueSize}` : '?';
      });
      lines.push(`mongo pool: ${pools.join('; ') || 'none'}`);
      lines.push(`mongo commands in flight: ${[...commands.values()].map((c) => `${c.what} (${age(c.since)})`).join(', ') || 'none'}`);
      lines.push(`redis: ${redis ? `${redis.status}, ${redis.commandQueue?.length ?? '?'} awaiting replies, ${redis.offlineQueue?.length ?? '?'} offline` : 'none'}`);
      lines.push(`document locks: ${documentLocksInUse().join(', ') || 'none'}`);
      return lines.join('\n  ');
    },
  };
}
