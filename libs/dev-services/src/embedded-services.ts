import { join } from 'node:path';
import { RunningFerretDb, startFerretDb } from './ferretdb';
import { pickMongoSource, RunningMemoryServer, startMemoryServer } from './mongo-source';
import { RunningS3, startS3Server } from './s3-server';

export interface EmbeddedServices {
  ferretdb?: RunningFerretDb;
  mongod?: RunningMemoryServer;
  s3?: RunningS3;
  stop(): Promise<void>;
}

/**
 * The "runs with one command" default: for each of MONGODB_URI and S3_ENDPOINT left unset, start the
 * embedded server (FerretDB, or mongodb-memory-server where Go is missing: see pickMongoSource) with
 * its data under DATA_DIR (so data survives a restart) and export the variable, before the
 * configuration is loaded. Redis is chosen later by RedisService (it probes 127.0.0.1:6379).
 */
export async function startEmbeddedServices(env: NodeJS.ProcessEnv = process.env, log: (l: string) => void = console.log): Promise<EmbeddedServices> {
  const dataDir = env.DATA_DIR || './data';
  const out: EmbeddedServices = { stop: async () => undefined };
  const source = pickMongoSource(env);
  if (source === 'ferretdb') {
    out.ferretdb = await startFerretDb({ dataDir: join(dataDir, 'ferretdb'), log });
    env.MONGODB_URI = out.ferretdb.uri;
  } else if (source === 'memory-server') {
    out.mongod = await startMemoryServer({ dbPath: join(dataDir, 'mongod'), log });
    env.MONGODB_URI = out.mongod.uri;
  }
  if (!env.S3_ENDPOINT) {
    out.s3 = await startS3Server({ dir: join(dataDir, 's3'), bucket: env.S3_BUCKET || 'chat-files', log });
    env.S3_ENDPOINT = out.s3.endpoint;
    env.S3_ACCESS_KEY_ID = out.s3.accessKeyId;
    env.S3_SECRET_ACCESS_KEY = out.s3.secretAccessKey;
    env.S3_FORCE_PATH_STYLE = 'true';
  }
  out.stop = async () => {
    await Promise.allSettled([out.s3?.stop(), out.ferretdb?.stop(), out.mongod?.stop()]);
  };
  return out;
}
