import { Transform, plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  getMetadataStorage,
  validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  const v = String(value).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
};
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/**
 * Every setting the platform reads from the environment. Property names are the variable names, so a
 * validation failure names exactly the variable to fix. Defaults are safe for local use only.
 */
export class AppConfig {
  /** `production` requires real secrets and never starts embedded services. */
  @IsIn(['development', 'production', 'test']) NODE_ENV: 'development' | 'production' | 'test' = 'development';
  /** HTTP and socket.io port. */
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT = 3000;
  /** Listen address (`0.0.0.0` in containers). */
  @IsString() HOST = '127.0.0.1';
  /** Express "trust proxy": set to the number of proxies in front (1 behind one load balancer) so client IPs are right. */
  @Transform(toInt) @IsInt() @Min(0) @Max(10) TRUST_PROXY = 0;
  /** pino log level. */
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL = 'info';
  /** Human-readable logs instead of JSON (development only). */
  @Transform(toBool) @IsBoolean() LOG_PRETTY = false;

  /** Where embedded services keep their data (mongod or FerretDB, local S3). */
  @IsString() DATA_DIR = './data';

  /** Unset outside production: an embedded store under DATA_DIR, a real mongod if this machine has or can download one, else FerretDB (docs/architecture.md). */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^mongodb(\+srv)?:\/\//, { message: 'MONGODB_URI must start with mongodb:// or mongodb+srv://' })
  MONGODB_URI?: string;
  /** The PostgreSQL server an embedded FerretDB stores its data in (in a database of its own). Unset: 127.0.0.1:5432 as user postgres if it answers, else SQLite; `none`: SQLite. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^(none|postgres(ql)?:\/\/.+)$/, { message: 'FERRETDB_POSTGRESQL_URL must be none or start with postgres:// or postgresql://' })
  FERRETDB_POSTGRESQL_URL?: string;
  /** Database name. */
  @Matches(/^[A-Za-z0-9_-]{1,63}$/) MONGODB_DB = 'chat';
  /** Driver connection pool size per process. The embedded FerretDB sets 8 when unset: with as many commands at once as its own pool (40) it can wedge, so keep the sum over the processes on one FerretDB under that. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) MONGODB_POOL_SIZE = 50;
  /** Read preference (chat needs read-your-writes: keep `primary` for api and gateway). */
  @IsIn(['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred', 'nearest']) MONGODB_READ_PREFERENCE = 'primary';
  /** Write concern: `majority` or a number of nodes. */
  @Matches(/^(majority|\d+)$/) MONGODB_WRITE_CONCERN = 'majority';
  /** Database commands slower than this are logged as slow queries. */
  @Transform(toInt) @IsInt() @Min(1) MONGODB_SLOW_QUERY_MS = 200;
  /** Build indexes at start-up (fine for dev and small deployments; use `npm run cli -- setup` in production). */
  @Transform(toBool) @IsBoolean() MONGODB_AUTO_INDEX = true;
  /** Tenants moved to their own database: `tenantA=chat_tenantA,tenantB=chat_tenantB`. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^([A-Za-z0-9_-]+=[A-Za-z0-9_-]+)(,[A-Za-z0-9_-]+=[A-Za-z0-9_-]+)*$/, { message: 'TENANT_DEDICATED_DATABASES must look like tenant=db,tenant2=db2' })
  TENANT_DEDICATED_DATABASES?: string;

  /** Unset: try 127.0.0.1:6379, fall back to in-process state. `none`: never use Redis. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^(rediss?:\/\/.+|none)$/, { message: 'REDIS_URL must be redis://..., rediss://... or none' })
  REDIS_URL?: string;
  /** Namespace of every Redis key and channel. */
  @Matches(/^[A-Za-z0-9_.:-]{1,32}$/) REDIS_KEY_PREFIX = 'chat:';
  /** Ping interval of Redis subscribers (detects half-open connections). */
  @Transform(toInt) @IsInt() @Min(100) REDIS_HEARTBEAT_MS = 5000;

  /** Unset: the embedded S3-compatible server under DATA_DIR/s3. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^https?:\/\/.+/, { message: 'S3_ENDPOINT must be an http(s) URL' })
  S3_ENDPOINT?: string;
  /** S3 region. */
  @IsString() S3_REGION = 'us-east-1';
  /** Bucket for encrypted files (created by the embedded server). */
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/) S3_BUCKET = 'chat-files';
  /** S3 access key (ignored when S3_ENDPOINT is unset: the embedded store makes its own at start). */
  @IsString() S3_ACCESS_KEY_ID = 'S3RVER';
  /** S3 secret key (ignored when S3_ENDPOINT is unset: the embedded store makes its own at start). */
  @IsString() S3_SECRET_ACCESS_KEY = 'S3RVER';
  /** Path-style URLs (MinIO, s3rver). */
  @Transform(toBool) @IsBoolean() S3_FORCE_PATH_STYLE = true;
  /** Lifetime of presigned upload and download URLs. */
  @Transform(toInt) @IsInt() @Min(60) @Max(604800) S3_PRESIGN_TTL_SECONDS = 900;
  /** Largest file (ciphertext bytes) an upload URL is issued for. */
  @Transform(toInt) @IsInt() @Min(1) FILES_MAX_BYTES = 100 * 1024 * 1024;
  /** Confirming an upload re-reads objects up to this size to check the SHA-256 too (0: ETag/MD5 and size only). */
  @Transform(toInt) @IsInt() @Min(0) FILES_VERIFY_SHA256_MAX_BYTES = 16 * 1024 * 1024;
  /** How long a deleted file (or an upload never confirmed, after its URL expired) stays in the bucket before the sweep removes it. */
  @Transform(toInt) @IsInt() @Min(0) FILES_DELETE_GRACE_SECONDS = 300;
  /** How often each node runs the file deletion sweep (0: never; run it from a job instead). */
  @Transform(toInt) @IsInt() @Min(0) FILES_SWEEP_INTERVAL_SECONDS = 60;
  /** Files removed from the bucket per sweep run (bounded work per tick). */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000) FILES_SWEEP_BATCH = 200;
  /** Live devices (published key sets) per end user: bounds the wrapped keys every message carries. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) KEYS_MAX_DEVICES_PER_USER = 20;

  /** Signs platform-admin JWTs. Unset in development: a random per-process secret (logged as such). */
  @Transform(emptyToUndefined) @IsOptional() @IsString() @MinLength(32) ADMIN_JWT_SECRET?: string;
  /** First platform admin, created on first start when no admin exists. */
  @Transform(emptyToUndefined) @IsOptional() @IsString() ADMIN_BOOTSTRAP_EMAIL?: string;
  /** Its password (12+ characters). Unset outside production: generated into DATA_DIR/initial-admin.txt. */
  @Transform(emptyToUndefined) @IsOptional() @IsString() @MinLength(12) ADMIN_BOOTSTRAP_PASSWORD?: string;
  /** Lifetime of a platform-admin JWT. */
  @Transform(toInt) @IsInt() @Min(60) @Max(7 * 86400) ADMIN_TOKEN_TTL_SECONDS = 8 * 3600;
  /** Failed admin logins allowed per client IP (and per email) in ADMIN_LOGIN_WINDOW_SECONDS before 429. */
  @Transform(toInt) @IsInt() @Min(1) ADMIN_LOGIN_MAX_FAILURES = 10;
  /** Window of the failed-login limit. */
  @Transform(toInt) @IsInt() @Min(1) ADMIN_LOGIN_WINDOW_SECONDS = 900;
  /**
   * Encrypts application token-signing secrets at rest (AES-256-GCM): 32 bytes, base64 or hex. Required
   * in production; unset elsewhere, a random key is kept in DATA_DIR/app-secret-key (mode 0600).
   */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^([A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/, { message: 'APP_SECRET_ENCRYPTION_KEY must be 32 bytes, base64 or hex' })
  APP_SECRET_ENCRYPTION_KEY?: string;
  /** How long the old API key / application secret keeps working after a rotation (default; requests may override). */
  @Transform(toInt) @IsInt() @Min(0) @Max(30 * 86400) KEY_ROTATION_GRACE_SECONDS = 86400;
  /** Upper bound on how stale a node's tenant / API key / application cache may be (events clear it sooner). */
  @Transform(toInt) @IsInt() @Min(1) @Max(300) PLATFORM_CACHE_TTL_SECONDS = 15;
  /** A socket counted for the connection quota drops out of the count if not refreshed for this long (crashed nodes). */
  @Transform(toInt) @IsInt() @Min(30) QUOTA_CONNECTION_STALE_SECONDS = 600;

  /** Default lifetime of end-user tokens. */
  @Transform(toInt) @IsInt() @Min(60) @Max(86400) END_USER_TOKEN_TTL_SECONDS = 3600;
  /** Longest end-user token accepted (exp - iat; exp - now without iat), self-signed ones included: a leaked token cannot outlive this. */
  @Transform(toInt) @IsInt() @Min(60) @Max(30 * 86400) END_USER_TOKEN_MAX_LIFETIME_SECONDS = 86400;
  /** Largest message content envelope. */
  @Transform(toInt) @IsInt() @Min(1024) @Max(16 * 1024 * 1024) MESSAGE_MAX_BYTES = 64 * 1024;
  // 0 by default: at 200 sends/s a 2 ms window made batches of 1.04-1.08 sends and cost every ack ~2.5 ms, and
  // at 800/s the CPU per message was the same without it (bench/RESULTS.md, "no batch window").
  /** Group commit: sends are collected this long (0: until the end of the event-loop turn; under load batches grow from the sends queued while `MESSAGE_BATCH_CONCURRENCY` batches are written), then written with one seq reservation per conversation and one bulk insert. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000) MESSAGE_BATCH_WINDOW_MS = 0;
  /** Least time between the starts of two flushes of conversations' last_message writes after the ack (0: the next flush starts as soon as the previous ends); reads on the node wait for pending writes. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000) LAST_MESSAGE_WINDOW_MS = 25;
  /** Largest group commit; a full batch is written without waiting for the window. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000) MESSAGE_BATCH_MAX = 256;
  /** Batches written at the same time per process (at most two of one conversation: the second stores while the first does, and commits after it). */
  @Transform(toInt) @IsInt() @Min(1) @Max(64) MESSAGE_BATCH_CONCURRENCY = 4;
  /** Sends queued per process beyond which new sends get 503 with Retry-After (back-pressure). */
  @Transform(toInt) @IsInt() @Min(1) MESSAGE_BATCH_QUEUE_MAX = 20000;
  /** Per-message `read_by` entries are kept for conversations up to this many members (larger ones: positions only). */
  @Transform(toInt) @IsInt() @Min(0) @Max(10000) READ_RECEIPTS_MAX_MEMBERS = 100;
  /** Messages per receipt call that get `read_by`/status updates (the read position itself has no limit). */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000) RECEIPTS_MAX_MESSAGES = 500;
  /** Sync/history stop before a missing seq younger than this (a write in flight: a `pending` hole); an older one is filled with a gap tombstone. Also when sync moves past a change position. At least 1 s: well above the slowest message write. */
  @Transform(toInt) @IsInt() @Min(1000) @Max(600000) MESSAGE_GAP_GRACE_MS = 5000;
  /** Largest HTTP JSON body. */
  @Transform(toInt) @IsInt() @Min(1024) BODY_LIMIT_BYTES = 1024 * 1024;
  /**
   * How long an idle kept-alive HTTP connection stays open. Longer than the idle timeout of the load
   * balancers in front (60 s on most), so the server is never the side that closes a connection a
   * client or balancer is about to reuse (that race loses the request with no answer). */
  @Transform(toInt) @IsInt() @Min(1000) @Max(600000) HTTP_KEEP_ALIVE_TIMEOUT_MS = 65000;
  /**
   * Largest body of an MLS commit (`POST /v1/conversations/:id/mls/commits`): it carries the GroupInfo
   * with the ratchet tree (~300 base64 bytes per device), so past ~3,500 devices it outgrows BODY_LIMIT_BYTES.
   * At most 15 MiB: the DS stores the GroupInfo and the commit each in one document (16 MB cap). */
  @Transform(toInt) @IsInt() @Min(1024) @Max(15 * 1024 * 1024) MLS_COMMIT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
  /** Largest HTTP JSON body on a route without authentication (the admin login). */
  @Transform(toInt) @IsInt() @Min(1024) BODY_LIMIT_UNAUTHENTICATED_BYTES = 16 * 1024;
  /** Lifetime of cache entries (profiles, membership, conversation metadata). */
  @Transform(toInt) @IsInt() @Min(1) CACHE_TTL_SECONDS = 300;
  /** Most participants a group or channel may have (they live in one document). */
  @Transform(toInt) @IsInt() @Min(2) @Max(100000) CONVERSATION_MAX_MEMBERS = 10000;
  /** How long a stopping node lets in-flight work finish. */
  @Transform(toInt) @IsInt() @Min(0) SHUTDOWN_GRACE_MS = 10000;

  /** Usage metering: buffered counters are written to `events` this often (0: only on shutdown). */
  @Transform(toInt) @IsInt() @Min(0) USAGE_FLUSH_SECONDS = 10;
  /** Roll-up of events/metrics into `aggregations` (0: off; run it from the CLI or admin API). */
  @Transform(toInt) @IsInt() @Min(0) USAGE_ROLLUP_INTERVAL_SECONDS = 60;
  /** Sources younger than this wait for the next roll-up (clock skew between writers). */
  @Transform(toInt) @IsInt() @Min(0) USAGE_ROLLUP_LAG_SECONDS = 30;
  /** Events rolled up per batch. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100000) USAGE_ROLLUP_BATCH_SIZE = 5000;
  /** Retention job interval (0: off; `npm run cli -- retention run` still works). */
  @Transform(toInt) @IsInt() @Min(0) RETENTION_INTERVAL_SECONDS = 3600;
  /** Messages deleted per batch (bounded work per round trip). */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000) RETENTION_BATCH_SIZE = 500;
  /** Upper bound of batches per tenant per run; the rest waits for the next run. */
  @Transform(toInt) @IsInt() @Min(1) RETENTION_MAX_BATCHES = 100;
  /** Soft-deleted messages are purged this many days after deletion (tenant setting may override). */
  @Transform(toInt) @IsInt() @Min(0) @Max(3650) RETENTION_SOFT_DELETE_GRACE_DAYS = 30;
  /** A deleted user's tombstone (its external id and the deletion's webhook event traces) is purged by the retention job this many days after the deletion (longer than WEBHOOK_SWEEP_LOOKBACK_SECONDS). */
  @Transform(toInt) @IsInt() @Min(1) @Max(3650) USER_TOMBSTONE_RETENTION_DAYS = 30;

  // Webhooks (docs/webhooks.md).
  /** How often this node looks for due webhook deliveries (0: this node does not deliver). */
  @Transform(toInt) @IsInt() @Min(0) WEBHOOK_DISPATCH_INTERVAL_MS = 1000;
  /** `npm start` (all-in-one) only: webhooks are delivered by a child process at lower CPU priority, which the serving process hands its fresh outbox rows to; the serving process only records them. Needs REDIS_URL (else delivery stays in-process). Other apps ignore it: give them WEBHOOK_DISPATCH_INTERVAL_MS=0 and run a delivering node beside them. */
  @Transform(toBool) @IsBoolean() WEBHOOK_DELIVERY_WORKER = false;
  /** A webhook event is retried for this long, then it goes to the dead-letter list. */
  @Transform(toInt) @IsInt() @Min(60) WEBHOOK_RETRY_WINDOW_SECONDS = 86400;
  /** First retry delay; doubles per attempt (with jitter) up to WEBHOOK_BACKOFF_MAX_MS. */
  @Transform(toInt) @IsInt() @Min(1) WEBHOOK_BACKOFF_BASE_MS = 5000;
  /** Longest delay between two attempts. */
  @Transform(toInt) @IsInt() @Min(1) WEBHOOK_BACKOFF_MAX_MS = 3600000;
  /** A receiver that has not answered within this is a failed attempt. */
  @Transform(toInt) @IsInt() @Min(100) @Max(60000) WEBHOOK_TIMEOUT_MS = 10000;
  /** A node holds an attempt this long; if it dies, another node retries after it (must exceed WEBHOOK_TIMEOUT_MS). */
  @Transform(toInt) @IsInt() @Min(1000) WEBHOOK_LEASE_MS = 60000;
  /** Attempts in flight to one endpoint, per node. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100) WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT = 4;
  /** How often a node sweeps for webhook events a crash or a failed insert kept out of the outbox: the windows of processes whose heartbeat expired and its own failures (0: off); also its heartbeat period (at most 10 s). */
  @Transform(toInt) @IsInt() @Min(0) WEBHOOK_SWEEP_INTERVAL_MS = 10000;
  /** How far back a starting node's first sweep looks (covers a crash and restart); a full sweep also runs every half of it as a backstop. */
  @Transform(toInt) @IsInt() @Min(60) WEBHOOK_SWEEP_LOOKBACK_SECONDS = 3600;
  /** Delivered, cancelled and dead webhook deliveries and their attempt logs are deleted this many days after their last attempt. */
  @Transform(toInt) @IsInt() @Min(1) @Max(3650) WEBHOOK_HISTORY_DAYS = 30;
  /** Accept http:// endpoint URLs (development and tests only; production receivers use https). */
  @Transform(toBool) @IsBoolean() WEBHOOK_ALLOW_INSECURE_URLS = false;

  // Realtime gateway (socket.io).
  /** Largest client event payload (serialized JSON); larger ones get a payload_too_large ack. Unset: 2 x MESSAGE_MAX_BYTES. */
  @Transform(toInt) @IsOptional() @IsInt() @Min(1024) SOCKET_MAX_PAYLOAD_BYTES?: number;
  /** Sustained client events per second per socket, and the burst allowed above it. */
  @Transform(toInt) @IsInt() @Min(1) SOCKET_EVENTS_PER_SECOND = 30;
  /** Per-socket burst allowance above SOCKET_EVENTS_PER_SECOND. */
  @Transform(toInt) @IsInt() @Min(1) SOCKET_EVENTS_BURST = 60;
  /** Client events per second per tenant, over every gateway node (0 = no limit); above the 10k msg/s target. The plan quota messages_per_second applies on top. */
  @Transform(toInt) @IsInt() @Min(0) SOCKET_TENANT_EVENTS_PER_SECOND = 20000;
  /** Work units one user may spend per SOCKET_USER_WORK_WINDOW_MS over all their sockets and every node (0 = no limit). An event costs 1; a sync costs 1 per distinct conversation. */
  @Transform(toInt) @IsInt() @Min(0) SOCKET_USER_WORK_BUDGET = 1000;
  /** Window of SOCKET_USER_WORK_BUDGET (a fixed window counted in Redis). */
  @Transform(toInt) @IsInt() @Min(1000) SOCKET_USER_WORK_WINDOW_MS = 10000;
  /** Sync page reads (membership check and one page of messages) running at once on a gateway node. Unset: 2 on FerretDB (each read scans the collection), 16 on MongoDB. */
  @Transform(toInt) @IsOptional() @IsInt() @Min(1) SYNC_NODE_CONCURRENCY?: number;
  /** Sync page reads allowed to wait for a slot on a node; past it, sync gets service_unavailable (retry shortly). */
  @Transform(toInt) @IsInt() @Min(0) SYNC_NODE_QUEUE_MAX = 5000;
  /** A user's typing indicator is relayed at most once per this interval per conversation and socket. */
  @Transform(toInt) @IsInt() @Min(100) TYPING_THROTTLE_MS = 2000;
  /** A gateway node whose presence heartbeat is older than this is dead: its users' connections expire. */
  @Transform(toInt) @IsInt() @Min(300) PRESENCE_NODE_TTL_MS = 15000;
  /** users.last_seen is buffered in memory and written in batches this often, and on shutdown (0: written at every disconnect). */
  @Transform(toInt) @IsInt() @Min(0) @Max(60000) LAST_SEEN_FLUSH_MS = 2000;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: Array<{ variable: string; message: string }>) {
    super(
      'Invalid configuration:\n' + problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

// Every decorated property is a variable; adding a property is all it takes to add a setting.
const KNOWN = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(AppConfig, '', true, false)
    .map((m) => m.propertyName),
);

/** Builds and validates the configuration; throws ConfigValidationError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const picked: Record<string, string> = {};
  for (const key of KNOWN) if (env[key] !== undefined) picked[key] = env[key] as string;
  const config = plainToInstance(AppConfig, picked, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: false, forbidUnknownValues: true });
  if (errors.length) {
    throw new ConfigValidationError(
      errors.map((e) => ({
        variable: e.property,
        message: `${Object.values(e.constraints ?? {}).join('; ')} (got ${JSON.stringify(env[e.property])})`,
      })),
    );
  }
  if (config.NODE_ENV === 'production' && !config.ADMIN_JWT_SECRET) {
    throw new ConfigValidationError([{ variable: 'ADMIN_JWT_SECRET', message: 'is required in production' }]);
  }
  if (config.NODE_ENV === 'production' && !config.APP_SECRET_ENCRYPTION_KEY) {
    throw new ConfigValidationError([{ variable: 'APP_SECRET_ENCRYPTION_KEY', message: 'is required in production' }]);
  }
  if (config.END_USER_TOKEN_TTL_SECONDS > config.END_USER_TOKEN_MAX_LIFETIME_SECONDS) {
    throw new ConfigValidationError([{ variable: 'END_USER_TOKEN_TTL_SECONDS', message: 'must not exceed END_USER_TOKEN_MAX_LIFETIME_SECONDS' }]);
  }
  if (config.WEBHOOK_SWEEP_LOOKBACK_SECONDS >= config.WEBHOOK_HISTORY_DAYS * 86400) {
    // Else a sweep could re-record (and re-send) events whose finished rows were already purged.
    throw new ConfigValidationError([{ variable: 'WEBHOOK_SWEEP_LOOKBACK_SECONDS', message: 'must be shorter than WEBHOOK_HISTORY_DAYS' }]);
  }
  if (config.WEBHOOK_SWEEP_LOOKBACK_SECONDS >= config.USER_TOMBSTONE_RETENTION_DAYS * 86400) {
    // A sweep reading back further than tombstones are kept could miss a user.deleted whose tombstone was purged.
    throw new ConfigValidationError([{ variable: 'WEBHOOK_SWEEP_LOOKBACK_SECONDS', message: 'must be shorter than USER_TOMBSTONE_RETENTION_DAYS' }]);
  }
  if (config.WEBHOOK_LEASE_MS <= config.WEBHOOK_TIMEOUT_MS) {
    throw new ConfigValidationError([{ variable: 'WEBHOOK_LEASE_MS', message: 'must exceed WEBHOOK_TIMEOUT_MS (a lease must outlive the attempt it covers)' }]);
  }
  return config;
}
