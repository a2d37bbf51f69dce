import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ALGORITHM_IDENTIFIER, getCanonicalHeaders, SignatureV4, UNSIGNED_PAYLOAD } from '@smithy/signature-v4';

/** The request shape the SDK signer works on. */
type HttpRequest = Parameters<typeof getCanonicalHeaders>[0];

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What the verifier needs of an incoming request: the method, the URL exactly as sent, the headers. */
export interface SignedRequest {
  method: string;
  rawUrl: string;
  headers: IncomingHttpHeaders;
}

export type Verdict =
  /** `payloadHash` is the signed SHA-256 of the body (hex), or UNSIGNED-PAYLOAD; `forwardUrl` has the auth query removed. */
  | { ok: true; payloadHash: string; forwardUrl: string }
  | { ok: false; status: number; code: string; message: string };

/** As S3: a signed request may be this far from the server's clock. */
const MAX_SKEW_MS = 15 * 60_000;
/** As S3: a presigned URL lives at most a week. */
const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;
const AUTH_QUERY = new Set(['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders', 'x-amz-signature', 'x-amz-security-token']);
const HEX64 = /^[0-9a-f]{64}$/;

/** node:crypto behind the hash interface @smithy/signature-v4 takes (what @smithy/hash-node does). */
export class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key = typeof secret === 'string' || secret === undefined ? secret : Buffer.from(ArrayBuffer.isView(secret) ? secret.buffer.slice(secret.byteOffset, secret.byteOffset + secret.byteLength) : secret);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/** The AWS SDK's own signer, asked for the signature of a canonical request we assemble from what the client sent. */
class SigV4Recomputer extends SignatureV4 {
  constructor(creds: S3Credentials) {
    // S3 signs the path as sent (already URI-encoded once), not double-encoded like other services.
    super({ credentials: creds, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });
  }

  async signatureOf(request: HttpRequest, canonicalHeaders: Record<string, string>, payloadHash: string, signingDate: Date, region: string): Promise<string> {
    const { longDate } = this.formatDate(signingDate);
    const scope = `${longDate.slice(0, 8)}/${region}/s3/aws4_request`;
    const stringToSign = await this.createStringToSign(longDate, scope, this.createCanonicalRequest(request, canonicalHeaders, payloadHash), ALGORITHM_IDENTIFIER);
    return this.sign(stringToSign, { signingDate, signingRegion: region, signingService: 's3' });
  }
}

const refuse = (status: number, code: string, message: string): Verdict => ({ ok: false, status, code, message });
const denied = (message: string) => refuse(403, 'AccessDenied', message);
const mismatch = () => refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');

/** 20260102T030405Z → Date, or null. */
function parseAmzDate(s: string | undefined): Date | null {
  const m = s ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The query as decoded pairs (repeats kept), or null when it is not valid percent-encoding. */
function parseQuery(raw: string): Array<[string, string]> | null {
  const out: Array<[string, string]> = [];
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    try {
      out.push(eq < 0 ? [decodeURIComponent(part), ''] : [decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))]);
    } catch {
      return null;
    }
  }
  return out;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Checks an AWS Signature Version 4 request (Authorization header, or presigned query with expiry)
 * against one set of credentials, for its exact method, path, query and signed headers. Anything
 * unsigned, signed by another key, expired, or signed for something else is refused, in S3's terms.
 */
export class SigV4Verifier {
  private readonly signer: SigV4Recomputer;

  constructor(private readonly creds: S3Credentials) {
    this.signer = new SigV4Recomputer(creds);
  }

  async verify(req: SignedRequest, now: Date = new Date()): Promise<Verdict> {
    const q = req.rawUrl.indexOf('?');
    const path = q < 0 ? req.rawUrl : req.rawUrl.slice(0, q);
    const rawQuery = q < 0 ? '' : req.rawUrl.slice(q + 1);
    const pairs = parseQuery(rawQuery);
    if (!pairs || !path.startsWith('/')) return refuse(400, 'InvalidRequest', 'Malformed request URL.');
    const get = (name: string) => pairs.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

    const authHeader = header(req.headers, 'authorization');
    const presigned = get('X-Amz-Algorithm') !== undefined;
    if (!authHeader && !presigned) return denied('Anonymous access is not allowed: sign the request (AWS Signature Version 4).');
    if (authHeader && presigned) return refuse(400, 'InvalidArgument', 'Only one auth mechanism allowed.');

    let credential: string, signedHeaderList: string, signature: string, amzDate: string | undefined, payloadHash: string;
    if (authHeader) {
      const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authHeader.trim());
      if (!m) return refuse(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed (AWS4-HMAC-SHA256 expected).');
      [, credential, signedHeaderList, signature] = m;
      amzDate = header(req.headers, 'x-amz-date');
      payloadHash = header(req.headers, 'x-amz-content-sha256') ?? '';
      if (payloadHash !== UNSIGNED_PAYLOAD && !HEX64.test(payloadHash)) {
        return refuse(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the hex SHA-256 of the body.');
      }
    } else {
      if (get('X-Amz-Algorithm') !== ALGORITHM_IDENTIFIER) return refuse(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256.');
      credential = get('X-Amz-Credential') ?? '';
      signedHeaderList = get('X-Amz-SignedHeaders') ?? '';
      signature = get('X-Amz-Signature') ?? '';
      amzDate = get('X-Amz-Date');
      // Presigned URLs never sign the body.
      payloadHash = UNSIGNED_PAYLOAD;
      if (!HEX64.test(signature)) return mismatch();
    }

    const [accessKeyId, day, region, service, terminator, ...rest] = credential.split('/');
    if (rest.length || !day || !region || service !== 's3' || terminator !== 'aws4_request') {
      return refuse(400, 'AuthorizationQueryParametersError', 'Malformed credential scope.');
    }
    if (accessKeyId !== this.creds.accessKeyId) return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate || amzDate!.slice(0, 8) !== day) return denied('X-Amz-Date is missing, malformed, or not the day of the credential scope.');
    if (presigned) {
      const expires = Number(get('X-Amz-Expires'));
      if (!Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRES_SECONDS) return refuse(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be 1..604800.');
      if (signingDate.getTime() - MAX_SKEW_MS > now.getTime()) return denied('Request is not valid yet.');
      if (now.getTime() > signingDate.getTime() + expires * 1000) return denied('Request has expired');
    } else if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
      return refuse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }

    // Exactly the headers the client signed, host among them, each present.
    const signedNames = signedHeaderList.split(';');
    if (!signedNames.includes('host') || signedNames.some((n) => !/^[a-z0-9-]+$/.test(n))) return mismatch();
    // As S3: every x-amz-* header must be signed. Unsigned, one could ride a valid URL
    // (x-amz-copy-source on a presigned PUT would copy any object to the URL's key).
    const unsigned = Object.keys(req.headers).filter((n) => n.startsWith('x-amz-') && !signedNames.includes(n));
    if (unsigned.length) return denied(`There were headers present in the request which were not signed: ${unsigned.join(', ')}`);
    const picked: Record<string, string> = {};
    for (const name of signedNames) {
      const v = header(req.headers, name);
      if (v === undefined) return mismatch();
      picked[name] = v;
    }
    const canonicalHeaders = getCanonicalHeaders({ headers: picked } as unknown as HttpRequest, undefined, new Set(signedNames));
    if (Object.keys(canonicalHeaders).sort().join(';') !== signedHeaderList) return mismatch();

    const query: Record<string, string | string[]> = {};
    for (const [k, v] of pairs) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const request = { method: req.method.toUpperCase(), protocol: 'http:', hostname: '', path, query, headers: picked } as HttpRequest;
    const expected = await this.signer.signatureOf(request, canonicalHeaders, payloadHash, signingDate, region);
    if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'))) return mismatch();

    const kept = rawQuery.split('&').filter((part) => {
      const k = part.split('=')[0];
      return part && !AUTH_QUERY.has(safeDecode(k).toLowerCase());
    });
    return { ok: true, payloadHash, forwardUrl: kept.length ? `${path}?${kept.join('&')}` : path };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
