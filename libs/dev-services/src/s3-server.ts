import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { findFreePort } from './ports';

export interface RunningS3 {
  endpoint: string;
  port: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/**
 * A real S3-compatible HTTP server (s3rver) on loopback, storing objects under dir, with the bucket
 * created at start. Used by the embedded default and by the tests; production points at S3 or MinIO.
 */
export async function startS3Server(opts: { dir: string; bucket: string; port?: number; log?: (l: string) => void }): Promise<RunningS3> {
  // Loaded lazily: only the embedded mode and tests need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver');
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await findFreePort());
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [{ name: opts.bucket, configs: [] }],
    allowMismatchedSignatures: false,
  });
  await server.run();
  (opts.log ?? console.log)(`S3-compatible server (s3rver) on http://127.0.0.1:${port}, bucket "${opts.bucket}", data in ${dir}`);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket: opts.bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: () => server.close(),
  };
}
