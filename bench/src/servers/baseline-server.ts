/**
 * The comparison servers, speaking the project's protocol (see ../protocol.ts):
 *   noop   acknowledges every send at once and relays nothing (calibrates the generator);
 *   relay  (B) a bare socket.io server with the same Redis adapter as the project, relaying each
 *          message to its conversation without auth, validation or persistence (the framework's limit);
 *   db     (B+db) relay plus one native-driver insertOne per message into the same database,
 *          acknowledged after the write (the store's limit).
 * History reads (GET /v1/conversations/:id/messages?limit=) come from memory (noop/relay) or from
 * the collection (db). Configuration from the environment; listens on 127.0.0.1 only.
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { MongoClient, ObjectId, type Collection } from 'mongodb';
import { Server, Socket } from 'socket.io';
import { EVENTS, parseBaselineToken, type SendPayload } from '../protocol';

type Mode = 'noop' | 'relay' | 'db';

const mode = (process.env.BENCH_MODE ?? 'relay') as Mode;
const port = Number(process.env.PORT ?? 0);
const HISTORY_KEEP = 200;

interface StoredMessage {
  _id: ObjectId;
  tenant_id: string;
  conversation_id: string;
  sender_id: string;
  client_msg_id: string;
  content: unknown;
  created_at: Date;
}

async function main(): Promise<void> {
  if (!['noop', 'relay', 'db'].includes(mode)) throw new Error(`BENCH_MODE must be noop, relay or db (got ${mode})`);
  let messages: Collection<StoredMessage> | null = null;
  let mongo: MongoClient | null = null;
  if (mode === 'db') {
    if (!process.env.MONGODB_URI) throw new Error('BENCH_MODE=db needs MONGODB_URI');
    mongo = new MongoClient(process.env.MONGODB_URI, { maxPoolSize: Number(process.env.MONGODB_POOL_SIZE ?? 50), writeConcern: { w: 'majority' } });
    await mongo.connect();
    messages = mongo.db(process.env.MONGODB_DB ?? 'bench').collection<StoredMessage>('messages');
    // The index history pages need (docs: {tenant_id, conversation_id, created_at}).
    await messages.createIndex({ tenant_id: 1, conversation_id: 1, created_at: -1 });
  }
  const memoryHistory = new Map<string, unknown[]>();

  const http = createServer((req, res) => void handleHttp(req, res, messages, memoryHistory));
  const io = new Server(http, { transports: ['websocket'], serveClient: false, maxHttpBufferSize: 128 * 1024 });
  let pub: Redis | null = null;
  let sub: Redis | null = null;
  if (mode !== 'noop') {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    pub = new Redis(url, { lazyConnect: false });
    sub = pub.duplicate();
    io.adapter(createAdapter(pub, sub, { key: `${process.env.REDIS_PREFIX ?? 'bench:'}io` }));
  }

  io.use((socket, next) => {
    if (mode === 'noop') return next();
    const who = parseBaselineToken(socket.handshake.auth?.token);
    if (!who) return next(Object.assign(new Error('unauthorized'), { data: { error: { code: 'UNAUTHORIZED', message: 'bench token expected' } } }));
    socket.data.userId = who.userId;
    socket.data.conversations = who.conversations;
    next();
  });

  io.on('connection', (socket: Socket) => {
    if (mode !== 'noop') {
      const rooms = (socket.data.conversations as string[]).map((c) => `c:${c}`);
      void socket.join([`u:${socket.data.userId}`, ...rooms]);
      if (rooms.length) socket.to(rooms).emit(EVENTS.presence, { user_id: socket.data.userId, status: 'online' });
      socket.on('disconnect', () => {
        if (rooms.length) io.to(rooms).emit(EVENTS.presence, { user_id: socket.data.userId, status: 'offline' });
      });
    }
    socket.on(EVENTS.ping, (_p: unknown, ack?: (r: unknown) => void) => ack?.({ ok: true }));
    socket.on(EVENTS.send, (p: SendPayload, ack?: (r: unknown) => void) => {
      if (mode === 'noop') return ack?.({ ok: true, data: {} });
      void relay(socket, p, messages, memoryHistory).then(
        (data) => ack?.({ ok: true, data }),
        (err: Error) => ack?.({ error: { code: 'SERVICE_UNAVAILABLE', message: err.message } }),
      );
    });
  });

  http.listen(port, '127.0.0.1', () => {
    const addr = http.address() as { port: number };
    console.log(`bench ${mode} server listening on 127.0.0.1:${addr.port}`);
  });

  const stop = () => {
    io.close();
    void Promise.allSettled([mongo?.close(), pub?.quit(), sub?.quit()]).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function relay(socket: Socket, p: SendPayload, messages: Collection<StoredMessage> | null, memory: Map<string, unknown[]>): Promise<unknown> {
  const doc: StoredMessage = {
    _id: new ObjectId(),
    tenant_id: 'bench',
    conversation_id: p.conversation_id,
    sender_id: socket.data.userId as string,
    client_msg_id: p.client_msg_id,
    content: p.content,
    created_at: new Date(),
  };
  if (messages) await messages.insertOne(doc);
  else {
    const list = memory.get(p.conversation_id) ?? [];
    list.push(doc);
    if (list.length > HISTORY_KEEP) list.splice(0, list.length - HISTORY_KEEP);
    memory.set(p.conversation_id, list);
  }
  const message = { id: doc._id.toHexString(), conversation_id: doc.conversation_id, sender_id: doc.sender_id, client_msg_id: doc.client_msg_id, content: doc.content, created_at: doc.created_at };
  // To the whole room, the sender's own sockets included, as the project does.
  socket.nsp.to(`c:${p.conversation_id}`).emit(EVENTS.delivered, message);
  return { id: message.id, created_at: message.created_at };
}

async function handleHttp(req: IncomingMessage, res: ServerResponse, messages: Collection<StoredMessage> | null, memory: Map<string, unknown[]>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const m = /^\/v1\/conversations\/([^/]+)\/messages$/.exec(url.pathname);
  if (req.method === 'GET' && m) {
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 50)));
    const conversationId = decodeURIComponent(m[1]!);
    let data: unknown[];
    try {
      data = messages
        ? await messages.find({ tenant_id: 'bench', conversation_id: conversationId }).sort({ created_at: -1 }).limit(limit).toArray()
        : (memory.get(conversationId) ?? []).slice(-limit).reverse();
    } catch (err) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: (err as Error).message } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data, next_cursor: null }));
    return;
  }
  if (url.pathname === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Not found' } }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
