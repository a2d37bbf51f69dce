import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream';
import { findFreePort } from './ports';
import { S3Credentials, SigV4Verifier } from './s3-signature';

export interface RunningS3 {
  endpoint: string;
  port: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** A body whose SHA-256 is signed is held in memory to check it before anything is stored (the server's own calls send small ones). */
const MAX_SIGNED_BODY_BYTES = 64 * 1024 * 1024;
/** Not forwarded: the store behind trusts the front, and these describe the hop, not the request. */
const HOP_HEADERS = new Set(['authorization', 'connection', 'keep-alive', 'expect', 'proxy-connection', 'te', 'upgrade']);

/**
 * A real S3-compatible store on loopback, storing objects under dir, with the bucket created at start.
 * Used by the embedded default and by the tests; production points at S3 or MinIO.
 *
 * s3rver itself answers unsigned requests (and does not check SigV4 signatures), so it listens only on
 * a Unix socket in a private directory, and the address handed out (the one presigned URLs show end
 * users) is a front that verifies every request's SigV4 signature against credentials generated
 * at start, for its exact method, path and query, before passing it on. Anything else gets S3's
 * 403 XML error. Browsers' CORS preflights (which carry no signature and touch no object) pass.
 */
export async function startS3Server(opts: { dir: string; bucket: string; port?: number; log?: (l: string) => void; credentials?: S3Credentials }): Promise<RunningS3> {
  // Loaded lazily: only the embedded mode and tests need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver');
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const creds = opts.credentials ?? { accessKeyId: `EMBEDDED${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64url') };
  const store = new S3rver({ silent: true, directory: dir, configureBuckets: [{ name: opts.bucket, configs: [BROWSER_CORS] }] });
  await store.configureBuckets();
  // A short path: Unix socket paths are limited to ~100 bytes. mkdtemp makes the directory 0700.
  // (Windows has no Unix sockets: a named pipe with a random name.)
  const sockDir = mkdtempSync(join(tmpdir(), 's3rver-'));
  const socketPath = process.platform === 'win32' ? `\\\\.\\pipe\\s3rver-${randomBytes(12).toString('hex')}` : join(sockDir, 'store.sock');
  store.httpServer = await store.listen(socketPath);

  const verifier = new SigV4Verifier(creds);
  const agent = new Agent({ keepAlive: true });
  const front = createServer((req, res) => {
    serve(req, res, verifier, { socketPath, agent }).catch(() => {
      if (!res.headersSent) sendError(res, req.method, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      else res.destroy();
    });
  });
  const port = opts.port ?? (await findFreePort());
  try {
    await new Promise<void>((ok, fail) => front.once('error', fail).listen(port, '127.0.0.1', () => ok()));
  } catch (err) {
    await store.close();
    rmSync(sockDir, { recursive: true, force: true });
    throw err;
  }
  (opts.log ?? console.log)(`S3-compatible server (s3rver, SigV4-verified) on http://127.0.0.1:${port}, bucket "${opts.bucket}", data in ${dir}`);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket: opts.bucket,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    stop: async () => {
      front.closeAllConnections();
      await new Promise<void>((ok) => front.close(() => ok()));
      agent.destroy();
      store.httpServer.closeAllConnections();
      await store.close();
      rmSync(sockDir, { recursive: true, force: true });
    },
  };
}

/**
 * Browsers (the chat app at /app) PUT and GET presigned URLs on this origin from the server's origin:
 * CORS lets them, from any origin, since a presigned URL is itself the capability and the front checks
 * its signature. ETag is exposed for multipart-style clients. Production buckets need the same rule.
 */
const BROWSER_CORS = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

function isCorsPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && !!req.headers.origin && !!req.headers['access-control-request-method'];
}

interface Upstream {
  socketPath: string;
  agent: Agent;
}

async function serve(req: IncomingMessage, res: ServerResponse, verifier: SigV4Verifier, store: Upstream): Promise<void> {
  // Without the query: s3rver would check a presigned URL's signature (against its own fixed key) even
  // on a preflight, which carries no credentials and only asks about origin, method and headers.
  if (isCorsPreflight(req)) return forward(req, res, store, (req.url ?? '/').split('?')[0]!, null);
  const verdict = await verifier.verify({ method: req.method ?? 'GET', rawUrl: req.url ?? '/', headers: req.headers });
  if (!verdict.ok) {
    req.resume(); // drain what the client sends; nothing of it is kept
    return sendError(res, req.method, verdict.status, verdict.code, verdict.message);
  }
  if (verdict.payloadHash === 'UNSIGNED-PAYLOAD') return forward(req, res, store, verdict.forwardUrl, null);
  // The body's hash is part of the signature: read it whole and check it before the store sees it.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_SIGNED_BODY_BYTES) return sendError(res, req.method, 400, 'EntityTooLarge', 'A body with a signed hash may be at most 64 MiB here; use UNSIGNED-PAYLOAD.');
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  if (createHash('sha256').update(body).digest('hex') !== verdict.payloadHash) {
    return sendError(res, req.method, 400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return forward(req, res, store, verdict.forwardUrl, body);
}

/** Passes the request to s3rver without its signature (s3rver would check it against its own fixed key). */
function forward(req: IncomingMessage, res: ServerResponse, store: Upstream, url: string, body: Buffer | null): Promise<void> {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_HEADERS.has(name) && value !== undefined) headers[name] = value;
  }
  if (body) {
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
  }
  return new Promise((done) => {
    const upstream = httpRequest({ socketPath: store.socketPath, agent: store.agent, method: req.method, path: url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      pipeline(up, res, () => done());
    });
    upstream.on('error', () => {
      if (!res.headersSent) sendError(res, req.method, 502, 'InternalError', 'The store did not answer.');
      else res.destroy();
      done();
    });
    if (body) upstream.end(body);
    else pipeline(req, upstream, () => undefined);
  });
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** S3's error shape. */
function sendError(res: ServerResponse, method: string | undefined, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), 'x-amz-request-id': requestId, connection: 'close' });
  res.end(method === 'HEAD' ? undefined : xml);
}
