import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunningFerretDbWithBackend, startEmbeddedFerretDb } from './ferretdb-backend';
import { useEmbeddedFerretDb } from './ferretdb';
import { MongoSource, MongoSourceChoice, pickMongoSource, RunningMemoryServer, startMemoryServer } from './mongo-source';
import { RunningS3, startS3Server } from './s3-server';

export interface EmbeddedServices {
  ferretdb?: RunningFerretDbWithBackend;
  mongod?: RunningMemoryServer;
  s3?: RunningS3;
  /** One line per service: which one was chosen (for the start-up summary). */
  choices: { mongodb: string; s3: string };
  stop(): Promise<void>;
}

export interface EmbeddedMongo {
  source: Exclude<MongoSource, 'uri'>;
  uri: string;
  ferretdb?: RunningFerretDbWithBackend;
  mongod?: RunningMemoryServer;
  stop(): Promise<void>;
}

function holdsFerretDbData(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => f === 'backend.json' || f.endsWith('.sqlite'));
}

/**
 * The MongoDB wire server of a data directory when MONGODB_URI is unset (caller checks): a data
 * directory keeps the server it started with (its data is there); a fresh one takes the first of a
 * real mongod (replica set of one) or FerretDB that this machine can run (see pickMongoSource). A mongod
 * that fails to start (download failed) falls over to FerretDB. Logs the choice and why.
 */
export async function startEmbeddedMongo(dataDir: string, env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<EmbeddedMongo> {
  const mongodDir = join(dataDir, 'mongod');
  const ferretDir = join(dataDir, 'ferretdb');
  let choice: MongoSourceChoice;
  if (existsSync(join(mongodDir, 'chat-mongod.json'))) {
    choice = { source: 'memory-server', reason: `${mongodDir} holds this data directory's data` };
  } else if (holdsFerretDbData(ferretDir)) {
    choice = { source: 'ferretdb', reason: `${ferretDir} holds this data directory's data` };
  } else {
    choice = await pickMongoSource({ ...env, MONGODB_URI: '' });
  }
  if (choice.source === 'memory-server') {
    log(`MongoDB: a real mongod (${choice.reason})`);
    try {
      const mongod = await startMemoryServer({ dbPath: mongodDir, log, env });
      return { source: 'memory-server', uri: mongod.uri, mongod, stop: mongod.stop };
    } catch (err) {
      log(`MongoDB: mongod did not start (${(err as Error).message}): falling back to FerretDB`);
    }
  } else {
    log(`MongoDB: FerretDB (${choice.reason})`);
  }
  const ferretdb = await startEmbeddedFerretDb({ dataDir: ferretDir, env, log });
  return { source: 'ferretdb', uri: ferretdb.uri, ferretdb, stop: ferretdb.stop };
}

/**
 * The "runs with one command" default: for each of MONGODB_URI and S3_ENDPOINT left unset, start the
 * embedded server (a real mongod or FerretDB: see startEmbeddedMongo) with its data under DATA_DIR
 * (so data survives a restart) and export the variable, before the configuration is loaded. Redis is
 * chosen later by RedisService (it probes 127.0.0.1:6379).
 */
export async function startEmbeddedServices(env: NodeJS.ProcessEnv = process.env, log: (l: string) => void = console.log): Promise<EmbeddedServices> {
  const dataDir = env.DATA_DIR || './data';
  const out: EmbeddedServices = { choices: { mongodb: 'MONGODB_URI', s3: 'S3_ENDPOINT' }, stop: async () => undefined };
  if (env.MONGODB_URI) {
    log('MongoDB: MONGODB_URI is set');
  } else {
    const mongo = await startEmbeddedMongo(dataDir, env, log);
    out.ferretdb = mongo.ferretdb;
    out.mongod = mongo.mongod;
    if (mongo.ferretdb) useEmbeddedFerretDb(env, mongo.ferretdb);
    else env.MONGODB_URI = mongo.uri;
    out.choices.mongodb = mongo.mongod
      ? `embedded mongod, data in ${join(dataDir, 'mongod')}`
      : `embedded FerretDB on ${mongo.ferretdb?.backend.kind === 'postgresql' ? 'PostgreSQL' : 'SQLite'}, data in ${join(dataDir, 'ferretdb')}`;
  }
  if (!env.S3_ENDPOINT) {
    out.s3 = await startS3Server({ dir: join(dataDir, 's3'), bucket: env.S3_BUCKET || 'chat-files', log });
    env.S3_ENDPOINT = out.s3.endpoint;
    env.S3_ACCESS_KEY_ID = out.s3.accessKeyId;
    env.S3_SECRET_ACCESS_KEY = out.s3.secretAccessKey;
    env.S3_FORCE_PATH_STYLE = 'true';
    out.choices.s3 = `embedded store on ${out.s3.endpoint}, objects in ${join(dataDir, 's3')}`;
  }
  out.stop = async () => {
    await Promise.allSettled([out.s3?.stop(), out.ferretdb?.stop(), out.mongod?.stop()]);
  };
  return out;
}
