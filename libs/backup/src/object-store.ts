import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** The few object-storage calls export, import and erase need (files are ciphertext blobs in S3). */
export interface ObjectStore {
  get(bucket: string, key: string): Promise<Buffer | null>;
  put(bucket: string, key: string, body: Buffer): Promise<void>;
  delete(bucket: string, key: string): Promise<void>;
}

export interface S3Settings {
  S3_ENDPOINT?: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  S3_FORCE_PATH_STYLE: boolean;
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;

  constructor(s: S3Settings) {
    this.client = new S3Client({
      endpoint: s.S3_ENDPOINT,
      region: s.S3_REGION,
      forcePathStyle: s.S3_FORCE_PATH_STYLE,
      credentials: { accessKeyId: s.S3_ACCESS_KEY_ID, secretAccessKey: s.S3_SECRET_ACCESS_KEY },
    });
  }

  async get(bucket: string, key: string): Promise<Buffer | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  async put(bucket: string, key: string, body: Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  destroy(): void {
    this.client.destroy();
  }
}
