import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NotFound, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppConfig } from '@chat/config';
import type { PresignedRequest } from '@chat/contracts';

export interface ObjectHead {
  size: number;
  /** Hex MD5 of a single-part upload (the ETag without quotes). */
  etag: string | null;
}

/**
 * The bucket, through @aws-sdk/client-s3. Presigned URLs point at S3_ENDPOINT (the same endpoint the
 * server talks to). The SDK's newer default checksums (CRC32 headers on every PutObject, response
 * validation) are limited to operations that require them: presigned URLs would otherwise carry a
 * checksum of an empty body, and S3-compatible servers such as s3rver ignore or reject them.
 */
@Injectable()
export class S3StorageService implements OnApplicationShutdown {
  private readonly logger = new Logger('S3Storage');
  readonly client: S3Client;
  readonly bucket: string;

  constructor(private readonly config: AppConfig) {
    this.bucket = config.S3_BUCKET;
    this.client = new S3Client({
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
  }

  onApplicationShutdown(): void {
    this.client.destroy();
  }

  private expiry(ttlSeconds: number): string {
    return new Date(Date.now() + ttlSeconds * 1000).toISOString();
  }

  /**
   * A PUT URL bound to the exact length and MD5 of the ciphertext: Content-Length and Content-MD5 are
   * signed, so real S3 refuses other bytes (BadDigest) or another size. Servers that skip those checks
   * are caught at confirmation, which compares the stored object's ETag and size.
   */
  async presignPut(key: string, opts: { size: number; contentMd5: string; contentType: string; ttlSeconds?: number }): Promise<PresignedRequest> {
    const ttl = opts.ttlSeconds ?? this.config.S3_PRESIGN_TTL_SECONDS;
    const url = await getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentLength: opts.size, ContentMD5: opts.contentMd5, ContentType: opts.contentType }),
      { expiresIn: ttl, signableHeaders: new Set(['content-type', 'content-md5', 'content-length']) },
    );
    return {
      url,
      method: 'PUT',
      headers: { 'Content-Type': opts.contentType, 'Content-MD5': opts.contentMd5 },
      expires_at: this.expiry(ttl),
    };
  }

  async presignGet(key: string, opts: { ttlSeconds?: number } = {}): Promise<PresignedRequest> {
    const ttl = opts.ttlSeconds ?? this.config.S3_PRESIGN_TTL_SECONDS;
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: ttl });
    return { url, method: 'GET', headers: {}, expires_at: this.expiry(ttl) };
  }

  /** Size and ETag of the stored object, or null when there is none. */
  async head(key: string): Promise<ObjectHead | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const etag = res.ETag ? res.ETag.replace(/"/g, '').toLowerCase() : null;
      return { size: Number(res.ContentLength ?? -1), etag };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Hex SHA-256 of the stored object, streamed (never buffered whole). Null when there is none. */
  async sha256(key: string): Promise<string | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of res.Body as Readable) hash.update(chunk as Buffer);
      return hash.digest('hex');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Idempotent: deleting a missing object succeeds. */
  async remove(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      this.logger.warn(`delete of ${key} failed: ${(err as Error).message}`);
      throw err;
    }
  }
}

function isNotFound(err: unknown): boolean {
  if (err instanceof NotFound) return true;
  if (err instanceof S3ServiceException) return err.$metadata?.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound';
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;
}
