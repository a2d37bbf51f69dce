import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock, SystemClock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode } from '@chat/errors';
import { QuotaService } from '@chat/quotas';
import { TenantContext, TenantId, asTenantId, unguessableObjectId } from '@chat/tenancy';
import { ChatFileAccess, FileChatAccess } from './chat-file-access';
import { FileDeletionMarker } from './file-deletion';
import { FilePurgeQueue, FilesRepository } from './files.repository';
import { SHARING_TYPES, type DownloadTicket, type FileView, type SharingType, type UploadTicket } from '@chat/contracts';
import { FileRecord, FileWrappedKey } from './file.schema';
import { S3StorageService } from './s3-storage.service';

/** Who asks: an end user (access rules apply) or the SaaS client's server (API key, trusted in its tenant). */
export type FileActor = { kind: 'user'; userId: string } | { kind: 'server' };

export interface CreateUploadInput {
  size: number;
  checksum: string;
  content_md5: string;
  mime_type: string;
  filename?: string | null;
  dimensions?: { width: number; height: number } | null;
  sharing: { type: SharingType; conversation_id?: string | null; expiry?: string | null };
  encryption?: { algorithm: string; ephemeral_public_key?: string | null; encrypted_key?: FileWrappedKey[] };
}

export interface FileEvent {
  type: 'file.uploaded' | 'file.deleted';
  tenantId: TenantId;
  file: FileView;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function toFileView(f: FileRecord): FileView {
  return {
    id: String(f._id),
    uploader_id: f.uploader_id,
    status: f.status,
    storage: { provider: 's3' },
    metadata: {
      filename: f.metadata.filename ?? null,
      mime_type: f.metadata.mime_type,
      size: f.metadata.size,
      checksum: f.metadata.checksum,
      dimensions: f.metadata.dimensions ?? null,
    },
    encryption: {
      algorithm: f.encryption.algorithm,
      ephemeral_public_key: f.encryption.ephemeral_public_key ?? null,
      encrypted_key: (f.encryption.encrypted_key ?? []).map((k) => ({ user_id: k.user_id, device_id: k.device_id, key_version: k.key_version, wrapped_key: k.wrapped_key })),
    },
    sharing: { type: f.sharing.type, conversation_id: f.sharing.conversation_id ?? null, expiry: iso(f.sharing.expiry) },
    message_id: f.message_id ?? null,
    created_at: iso(f.created_at)!,
    confirmed_at: iso(f.confirmed_at),
    deleted_at: iso(f.deleted_at),
  };
}

/** The ETag S3 gives a single-part upload: hex MD5. Content-MD5 is the same digest in base64. */
export function md5Base64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

/** Tries of an upload that collided with parallel uploads at the storage quota (see insertWithinQuota). */
const STORAGE_RACE_ATTEMPTS = 4;

const MD5_B64_RE = /^[A-Za-z0-9+/]{21}[AQgw]==$/;
const SHA256_HEX_RE = /^[0-9a-f]{64}$/;
const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

/**
 * Encrypted files on S3. The client encrypts, asks for a presigned PUT bound to the ciphertext's size
 * and MD5, uploads straight to the bucket and confirms; the server checks the stored object (HEAD:
 * size and ETag; small objects also by SHA-256) before the file becomes downloadable. Downloads are
 * presigned GETs for the uploader, members of the conversation (chat files) and anyone in the tenant
 * (public files, until their expiry); everyone else gets 404, as if the file did not exist.
 */
@Injectable()
export class FilesService {
  constructor(
    private readonly repo: FilesRepository,
    private readonly purges: FilePurgeQueue,
    private readonly s3: S3StorageService,
    private readonly config: AppConfig,
    private readonly deletion: FileDeletionMarker,
    // Membership and message look-ups from chat core, so access checks match the chat's.
    @Inject(ChatFileAccess) private readonly chat: FileChatAccess,
    @Optional() private readonly quotas?: QuotaService,
    private readonly clock: Clock = new SystemClock(),
  ) {}

  private readonly fileListeners = new Set<(e: FileEvent) => void>();

  /** Called after a file becomes ready (confirmed) or is deleted by its uploader or the tenant's server (webhooks listen). */
  onFileEvent(listener: (e: FileEvent) => void): () => void {
    this.fileListeners.add(listener);
    return () => this.fileListeners.delete(listener);
  }

  private emitFile(type: FileEvent['type'], f: FileRecord): void {
    const tenantId = TenantContext.tenantId();
    if (!tenantId) return;
    for (const l of this.fileListeners) l({ type, tenantId, file: toFileView(f) });
  }

  private static validate(input: CreateUploadInput, now: Date): void {
    const problems: Array<{ field: string; problems: string[] }> = [];
    const add = (field: string, p: string) => problems.push({ field, problems: [p] });
    if (!Number.isSafeInteger(input.size) || input.size < 1) add('size', 'must be a positive integer (bytes of ciphertext)');
    if (typeof input.checksum !== 'string' || !SHA256_HEX_RE.test(input.checksum)) add('checksum', 'must be the lower-case hex SHA-256 of the ciphertext');
    if (typeof input.content_md5 !== 'string' || !MD5_B64_RE.test(input.content_md5)) add('content_md5', 'must be the base64 MD5 of the ciphertext');
    if (typeof input.mime_type !== 'string' || !MIME_RE.test(input.mime_type)) add('mime_type', 'must be a MIME type such as application/octet-stream');
    const sharing = input.sharing;
    if (!sharing || !SHARING_TYPES.includes(sharing.type)) add('sharing.type', `must be one of ${SHARING_TYPES.join(', ')}`);
    else {
      if (sharing.type === 'chat' && !sharing.conversation_id) add('sharing.conversation_id', 'is required for chat files');
      if (sharing.type !== 'chat' && sharing.conversation_id) add('sharing.conversation_id', 'only chat files belong to a conversation');
      if (sharing.expiry !== undefined && sharing.expiry !== null) {
        const t = Date.parse(sharing.expiry);
        if (sharing.type !== 'public') add('sharing.expiry', 'only public files expire');
        else if (Number.isNaN(t) || t <= now.getTime()) add('sharing.expiry', 'must be a future ISO date');
      }
    }
    if (input.encryption?.encrypted_key?.length && !input.encryption.ephemeral_public_key) {
      add('encryption.ephemeral_public_key', 'is required with encrypted_key');
    }
    if (problems.length) throw AppError.validation(problems);
  }

  /** Issues a presigned PUT for a new encrypted file, after the tenant's storage quota check. */
  async createUpload(uploaderId: string, input: CreateUploadInput): Promise<UploadTicket> {
    const tenantId = TenantContext.requireTenantId('files.createUpload');
    const now = new Date(this.clock.now());
    FilesService.validate(input, now);
    if (input.size > this.config.FILES_MAX_BYTES) {
      throw new AppError(ErrorCode.PayloadTooLarge, `Files may be at most ${this.config.FILES_MAX_BYTES} bytes`, { size: input.size, max_bytes: this.config.FILES_MAX_BYTES });
    }
    if (input.sharing.type === 'chat') await this.chat.requireMember(input.sharing.conversation_id!, uploaderId);

    const id = unguessableObjectId();
    // The object key names nothing but tenant and file id: no filename, no user.
    const key = `t/${tenantId}/f/${String(id)}`;
    const ttl = this.config.S3_PRESIGN_TTL_SECONDS;
    const uploadExpiresAt = new Date(now.getTime() + ttl * 1000);
    const doc = await this.insertWithinQuota(tenantId, input.size, () => this.repo.create({
      _id: id,
      uploader_id: uploaderId,
      status: 'pending',
      storage: { provider: 's3', bucket: this.s3.bucket, key, cdn_url: null, etag: null },
      metadata: {
        filename: input.filename ?? null,
        mime_type: input.mime_type.toLowerCase(),
        size: input.size,
        checksum: input.checksum,
        content_md5: input.content_md5,
        dimensions: input.dimensions ?? null,
      },
      encryption: {
        algorithm: input.encryption?.algorithm ?? 'unspecified',
        ephemeral_public_key: input.encryption?.ephemeral_public_key ?? null,
        encrypted_key: input.encryption?.encrypted_key ?? [],
      },
      sharing: {
        type: input.sharing.type,
        conversation_id: input.sharing.type === 'chat' ? input.sharing.conversation_id! : null,
        expiry: input.sharing.expiry ? new Date(input.sharing.expiry) : null,
      },
      message_id: null,
      upload_expires_at: uploadExpiresAt,
      confirmed_at: null,
      deleted_at: null,
      purged_at: null,
      created_at: now,
      updated_at: now,
    }));
    // If it is never confirmed, the sweep removes whatever was uploaded once the URL has expired.
    await this.purges.schedule({
      tenant_id: tenantId,
      file_id: String(id),
      bucket: this.s3.bucket,
      key,
      reason: 'abandoned',
      due_at: new Date(uploadExpiresAt.getTime() + this.config.FILES_DELETE_GRACE_SECONDS * 1000),
    });
    const upload = await this.s3.presignPut(key, { size: input.size, contentMd5: input.content_md5, contentType: 'application/octet-stream', ttlSeconds: ttl });
    return { file: toFileView(doc), upload };
  }

  /**
   * The storage quota without a read-then-insert race: the pending file is inserted (pending files
   * count in usedBytes) and the total re-read with it; over the limit it is removed again. Parallel
   * uploads therefore never overshoot together (the last of those kept to re-read saw all the others).
   * Uploads colliding at the limit may each see the others and withdraw: each retries, jittered, while
   * it still fits beside what is stored, so one of them usually gets through; the rest get the 429.
   */
  private async insertWithinQuota(tenantId: string, size: number, insert: () => Promise<FileRecord>): Promise<FileRecord> {
    const quotas = this.quotas;
    if (!quotas) return insert();
    for (let attempt = 1; ; attempt++) {
      // Refused for good (audited 429) when it does not fit beside what is stored and pending now.
      await quotas.assertStorage(tenantId, await this.repo.usedBytes(), size);
      const doc = await insert();
      const used = await this.repo.usedBytes();
      if (used <= (await quotas.quotasOf(tenantId)).storage_bytes) return doc;
      await this.repo.removePending(String(doc._id));
      // Last attempt: the 429 for the total this upload saw (over the limit, so this throws).
      if (attempt >= STORAGE_RACE_ATTEMPTS) await quotas.assertStorage(tenantId, used - size, size);
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }

  private async uploaderFile(uploaderId: string, fileId: string): Promise<FileRecord> {
    const f = await this.repo.get(fileId);
    if (!f || f.uploader_id !== uploaderId || f.status === 'deleted') throw AppError.notFound('File');
    return f;
  }

  /**
   * Checks the uploaded object against what was announced (size, ETag = MD5, and SHA-256 for objects
   * up to FILES_VERIFY_SHA256_MAX_BYTES) and makes the file ready. Idempotent.
   */
  async confirm(uploaderId: string, fileId: string): Promise<FileView> {
    const f = await this.uploaderFile(uploaderId, fileId);
    if (f.status === 'ready') return toFileView(f);
    const fail = (reason: string, message: string, extra: Record<string, unknown> = {}) =>
      new AppError(ErrorCode.UploadVerificationFailed, message, { reason, ...extra });
    const head = await this.s3.head(f.storage.key);
    if (!head) throw fail('object_missing', 'Nothing was uploaded for this file yet');
    if (head.size !== f.metadata.size) throw fail('size_mismatch', 'The uploaded object does not have the announced size', { expected: f.metadata.size, actual: head.size });
    // A multipart ETag ("<md5 of md5s>-<parts>") is not the MD5 of the bytes: then only the SHA-256 check counts.
    const singlePart = head.etag !== null && /^[0-9a-f]{32}$/.test(head.etag);
    if (singlePart && head.etag !== md5Base64ToHex(f.metadata.content_md5)) throw fail('checksum_mismatch', 'The uploaded object does not match the announced MD5');
    if (f.metadata.size <= this.config.FILES_VERIFY_SHA256_MAX_BYTES || !singlePart) {
      const sha = await this.s3.sha256(f.storage.key);
      if (sha !== f.metadata.checksum) throw fail('checksum_mismatch', 'The uploaded object does not match the announced SHA-256');
    }
    const ready = await this.repo.markReady(fileId, uploaderId, head.etag, new Date());
    if (!ready) {
      // Raced with another confirm (now ready) or with the abandoned-upload sweep (now deleted).
      return toFileView(await this.uploaderFile(uploaderId, fileId));
    }
    await this.purges.cancel(fileId, 'abandoned');
    await this.deletion.reportStorage();
    this.emitFile('file.uploaded', ready);
    return toFileView(ready);
  }

  /** Whether the actor may read the file; never says why not. */
  private async canRead(actor: FileActor, f: FileRecord, now: Date): Promise<boolean> {
    if (f.status === 'deleted') return false;
    if (actor.kind === 'server') return true;
    if (f.uploader_id === actor.userId) return true;
    if (f.status !== 'ready') return false;
    if (f.sharing.type === 'chat' && f.sharing.conversation_id) {
      try {
        await this.chat.requireMember(f.sharing.conversation_id, actor.userId);
        return true;
      } catch (err) {
        if (err instanceof AppError && err.code === ErrorCode.NotFound) return false;
        throw err;
      }
    }
    if (f.sharing.type === 'public') return !f.sharing.expiry || new Date(f.sharing.expiry).getTime() > now.getTime();
    return false;
  }

  private async readable(actor: FileActor, fileId: string, now: Date): Promise<FileRecord> {
    const f = await this.repo.get(fileId);
    if (!f || !(await this.canRead(actor, f, now))) throw AppError.notFound('File');
    return f;
  }

  async get(actor: FileActor, fileId: string): Promise<FileView> {
    return toFileView(await this.readable(actor, fileId, new Date(this.clock.now())));
  }

  /** A presigned GET for a ready file the actor may read (never outliving a public file's expiry). */
  async download(actor: FileActor, fileId: string): Promise<DownloadTicket> {
    const now = new Date(this.clock.now());
    const f = await this.readable(actor, fileId, now);
    if (f.status !== 'ready') throw new AppError(ErrorCode.Conflict, 'The upload of this file has not been confirmed yet');
    let ttl = this.config.S3_PRESIGN_TTL_SECONDS;
    const isUploader = actor.kind === 'user' && actor.userId === f.uploader_id;
    if (f.sharing.type === 'public' && f.sharing.expiry && actor.kind === 'user' && !isUploader) {
      ttl = Math.max(1, Math.min(ttl, Math.floor((new Date(f.sharing.expiry).getTime() - now.getTime()) / 1000)));
    }
    return { file: toFileView(f), download: await this.s3.presignGet(f.storage.key, { ttlSeconds: ttl }) };
  }

  /** The uploader's files, newest first. */
  async listMine(uploaderId: string, opts: { cursor?: string; limit?: number }): Promise<{ data: FileView[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 100);
    if (opts.cursor !== undefined && !/^[0-9a-f]{24}$/.test(opts.cursor)) {
      throw AppError.validation([{ field: 'cursor', problems: ['cursor is not valid'] }], 'Invalid cursor');
    }
    const rows = await this.repo.listByUploader(uploaderId, { beforeId: opts.cursor, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { data: page.map(toFileView), next_cursor: rows.length > limit ? String(page[page.length - 1]!._id) : null };
  }

  /**
   * Links a ready file to the message that carries it (the server cannot see inside the message), so
   * deleting the message deletes the file. Only the uploader, only for its own message in the file's
   * conversation.
   */
  async attachToMessage(uploaderId: string, fileId: string, messageId: string, conversationId?: string): Promise<FileView> {
    const f = await this.uploaderFile(uploaderId, fileId);
    if (f.status !== 'ready') throw new AppError(ErrorCode.Conflict, 'Confirm the upload before attaching the file');
    const convId = f.sharing.conversation_id ?? conversationId;
    if (!convId) throw AppError.validation([{ field: 'conversation_id', problems: ['is required for files that are not chat files'] }]);
    if (f.sharing.conversation_id && conversationId && conversationId !== f.sharing.conversation_id) throw AppError.notFound('Message');
    const message = await this.chat.getMessage(uploaderId, convId, messageId);
    if (message.sender_id !== uploaderId) throw AppError.forbidden('Only the sender of the message can attach files to it');
    const updated = await this.repo.attachMessage(fileId, uploaderId, message.id, new Date());
    if (!updated) throw AppError.conflict('The file is already attached to another message');
    if (message.deleted_at) {
      await this.markDeleted(updated);
      return toFileView({ ...updated, status: 'deleted' });
    }
    return toFileView(updated);
  }

  private async markDeleted(f: FileRecord, reason: 'removed' | null = null): Promise<boolean> {
    if (!(await this.deletion.mark(f, new Date(), reason))) return false;
    await this.deletion.reportStorage();
    return true;
  }

  /** Uploader (or the tenant's server) deletes a file: marked now, removed from the bucket by the sweep. */
  async remove(actor: FileActor, fileId: string): Promise<void> {
    const f = await this.repo.get(fileId);
    if (!f || f.status === 'deleted' || (actor.kind === 'user' && f.uploader_id !== actor.userId)) throw AppError.notFound('File');
    if (await this.markDeleted(f, 'removed')) this.emitFile('file.deleted', f);
  }

  /** A message was deleted: its files are marked for removal. */
  async onMessageDeleted(tenantId: string, messageId: string): Promise<number> {
    return TenantContext.run({ tenantId: asTenantId(tenantId), actor: { type: 'system', id: 'files' } }, () => this.deletion.markFilesOfMessages([messageId]));
  }

  /** Bytes the tenant's live files take (what the storage quota counts). */
  usedBytes(): Promise<number> {
    return this.repo.usedBytes();
  }
}
