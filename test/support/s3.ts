/* Direct access to the test S3 server (s3rver from the global setup), for checks of what the API
 * stored: a client with the test credentials, the bucket, and "does this object exist". */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';

export const testBucket = (): string => process.env.S3_BUCKET ?? 'chat-test-files';

/** A new client; destroy() it when done. */
export function testS3Client(): S3Client {
  return new S3Client({
    endpoint: process.env.S3_ENDPOINT,
    region: process.env.S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID ?? 'S3RVER', secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Whether the bucket holds `key` (404 is false; any other failure throws). */
export async function objectExists(s3: S3Client, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: testBucket(), Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}
