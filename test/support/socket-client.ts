import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { io, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import { UserTokenService } from '@chat/auth';
import { ConversationsService, MessagesService, UsersService } from '@chat/chat';
import type { TenantQuotas } from '@chat/contracts';
import { ApplicationService, TenantService } from '@chat/platform';
import { asTenantId, TenantContext, TenantId } from '@chat/tenancy';

/** What every client event is answered with. */
export type Ack<T = any> = { ok: true; data: T } | { error: { code: string; message: string; details?: unknown } };

export interface TestSocket extends Socket {
  /** Every server event received so far, in order, by name. */
  received: Map<string, unknown[]>;
}

const open = new Set<Socket>();

/**
 * Connects a socket.io client (websocket transport, no automatic reconnection unless asked) with an
 * end-user token. Resolves once the server says the session is ready (rooms joined); rejects with the
 * connect_error (its `data` is the error shape).
 */
export function connectSocket(url: string, token: string | undefined, opts: Partial<ManagerOptions & SocketOptions> = {}): Promise<TestSocket> {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    auth: token === undefined ? {} : { token },
    ...opts,
  }) as TestSocket;
  socket.received = new Map();
  socket.onAny((event: string, ...args: unknown[]) => {
    const list = socket.received.get(event) ?? [];
    list.push(args[0]);
    socket.received.set(event, list);
  });
  open.add(socket);
  return new Promise((resolve, reject) => {
    // session:ready: the socket has joined its rooms, so live events reach it from now on.
    socket.once('session:ready', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      open.delete(socket);
      reject(err);
    });
  });
}

/** The connect_error a refused handshake produces (fails the test if the connection succeeds). */
export async function connectError(url: string, token: string | undefined, opts: Partial<ManagerOptions & SocketOptions> = {}): Promise<Error & { data?: any }> {
  try {
    const s = await connectSocket(url, token, opts);
    s.close();
  } catch (err) {
    return err as Error & { data?: any };
  }
  throw new Error('expected the handshake to be refused');
}

/** Emits with an ack and waits for it (rejects after `timeoutMs`). */
export function ask<T = any>(socket: Socket, event: string, payload?: unknown, timeoutMs = 10_000): Promise<Ack<T>> {
  const s = socket.timeout(timeoutMs);
  return (payload === undefined ? s.emitWithAck(event) : s.emitWithAck(event, payload)) as Promise<Ack<T>>;
}

/** Like ask, but fails unless the ack is ok; returns its data. */
export async function askOk<T = any>(socket: Socket, event: string, payload?: unknown, timeoutMs?: number): Promise<T> {
  const res = await ask<T>(socket, event, payload, timeoutMs);
  if (!('ok' in res)) throw new Error(`${event} failed: ${JSON.stringify(res)}`);
  return res.data;
}

/** The next server event of that name (matching `filter`), already received or to come. */
export function nextEvent<T = any>(socket: TestSocket, event: string, filter: (p: T) => boolean = () => true, timeoutMs = 5000, skip = 0): Promise<T> {
  const seen = (socket.received.get(event) ?? []).filter((p) => filter(p as T));
  if (seen.length > skip) return Promise.resolve(seen[skip] as T);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (p: T) => {
      if (!filter(p)) return;
      clearTimeout(timer);
      socket.off(event, on);
      resolve(p);
    };
    socket.on(event, on);
  });
}

/** Received events of that name (matching `filter`). */
export function receivedOf<T = any>(socket: TestSocket, event: string, filter: (p: T) => boolean = () => true): T[] {
  return (socket.received.get(event) ?? []).filter((p) => filter(p as T)) as T[];
}

export { waitFor } from './wait-for';

/**
 * Resolves once everything the server wrote to this socket before now has arrived: one acknowledged
 * round trip on the same connection (socket.io keeps a connection's packets in order). How to check
 * that an event did NOT come, without sleeping: cause it (or not), wait for the server to have sent
 * it, then `await drained(socket)`, then look at `received`. Any ack counts, even an error.
 */
export async function drained(socket: Socket, timeoutMs = 10_000): Promise<void> {
  await ask(socket, 'presence:query', { user_ids: ['-'] }, timeoutMs);
}

/** Resolves once the socket is disconnected, with the reason. */
export function disconnected(socket: Socket, timeoutMs = 5000): Promise<string> {
  if (!socket.connected) return Promise.resolve('already disconnected');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still connected after ${timeoutMs} ms`)), timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Closes every socket these helpers opened (call in afterEach/afterAll). */
export function closeAllSockets(): void {
  for (const s of open) s.close();
  open.clear();
}

// ------------------------------------------------------------------ a tenant to chat in

const b64 = (n: number) => randomBytes(n).toString('base64');

/** A well-formed E2E envelope (random bytes) with a wrapped key for each recipient: the server only checks its shape. */
export function envelope(recipients: string[], dataBytes = 48) {
  return {
    type: 'text',
    algorithm: 'x25519-hkdf-xchacha20poly1305-v1',
    sender_device_id: 'd1',
    sender_key_version: 1,
    ephemeral_public_key: b64(32),
    encrypted_data: b64(dataBytes),
    encrypted_key: recipients.map((user_id) => ({ user_id, device_id: 'd1', key_version: 1, wrapped_key: b64(72) })),
  };
}

export interface RealtimeTenant {
  tenantId: TenantId;
  applicationId: string;
  /** The application's token-signing secret (to forge expired or odd tokens in tests). */
  secret: string;
  /** Runs service calls as this tenant. */
  as<T>(fn: () => Promise<T>): Promise<T>;
  /** End-user token for `userId` (creating the user if needed). */
  token(userId: string, ttlSeconds?: number): Promise<string>;
  /** A group whose owner is the first user; every user is created. */
  group(userIds: string[]): Promise<string>;
}

/**
 * A fresh tenant with one application, through the platform and chat services of `app` (a test app of
 * the same database works as any node). Generous quotas unless told otherwise.
 */
export async function createRealtimeTenant(app: INestApplication, quotas: Partial<TenantQuotas> = {}): Promise<RealtimeTenant> {
  const client = await app.get(TenantService).create({
    name: `rt_${randomBytes(4).toString('hex')}`,
    plan: 'enterprise',
    quotas: { messages_per_second: 100_000, concurrent_connections: 10_000, ...quotas },
  });
  const tenantId = asTenantId(String(client._id));
  const { application, secret } = await app.get(ApplicationService).create(tenantId, { name: 'app' });
  const applicationId = String(application._id);
  const as = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId }, fn);
  const users = app.get(UsersService);
  const ensureUser = (userId: string) => as(() => users.upsert(userId, { profile: { display_name: userId } }));
  return {
    tenantId,
    applicationId,
    secret,
    as,
    async token(userId, ttlSeconds) {
      await ensureUser(userId);
      return (await app.get(UserTokenService).issue({ tenantId, applicationId, userId, ttlSeconds })).token;
    },
    async group(userIds) {
      for (const u of userIds) await ensureUser(u);
      const conv = await as(() => app.get(ConversationsService).create(userIds[0], { type: 'group', name: 'g', member_ids: userIds.slice(1) }));
      return conv.id;
    },
  };
}

/** Sends through the service, as a REST call would (the same write path and events). */
export function sendViaService(app: INestApplication, t: RealtimeTenant, senderId: string, conversationId: string, recipients: string[], clientMsgId?: string) {
  return t.as(() => app.get(MessagesService).send(senderId, conversationId, { content: envelope(recipients), client_msg_id: clientMsgId } as any));
}
