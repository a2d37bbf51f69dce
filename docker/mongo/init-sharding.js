// mongosh script for a mongos router: creates the cluster's first (root) user, adds the shards and
// creates the apps' least-privilege user. Idempotent.
//
// Run by the one-shot mongos-init service of docker/compose.sharded.yml inside the mongos container's
// network namespace (network_mode: service:mongos), connected to 127.0.0.1, so that the localhost
// exception allows the first cluster user while access control (keyFile) is on. The config server
// replica set and every shard replica set must already be initiated (init-replica-set.js).
//
// Environment:
//   SHARDS               shard replica sets, separated by ";":  rsName/host:port,host:port;rsName/...
//   MONGO_ROOT_USERNAME  first cluster user, role root on admin
//   MONGO_ROOT_PASSWORD
//   MONGO_APP_USERNAME   optional: readWrite on MONGODB_DB and each TENANT_DEDICATED_DATABASES database
//   MONGO_APP_PASSWORD
//   MONGODB_DB
//   TENANT_DEDICATED_DATABASES
//
// Sharding collections (shard keys, zones) is not done here: that is the platform's management CLI.
'use strict';

const env = process.env;
const need = (name) => {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const log = (msg) => print(`[init mongos] ${msg}`);

const rootUser = need('MONGO_ROOT_USERNAME');
const rootPwd = need('MONGO_ROOT_PASSWORD');
const shards = need('SHARDS')
  .split(';')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((s) => {
    const [name, hosts] = s.split('/');
    if (!name || !hosts) throw new Error(`bad shard "${s}": expected rsName/host:port,host:port`);
    return { name, uri: s };
  });
const admin = db.getSiblingDB('admin');

function tryAuth() {
  try {
    admin.auth(rootUser, rootPwd);
    return true;
  } catch (e) {
    return false;
  }
}

function retry(what, fn, seconds) {
  let last;
  for (let i = 0; i < seconds; i++) {
    try {
      return fn();
    } catch (e) {
      last = e;
      sleep(1000);
    }
  }
  throw new Error(`timed out after ${seconds}s: ${what}: ${last && last.message}`);
}

const hello = db.hello();
if (hello.msg !== 'isdbgrid') throw new Error('not connected to a mongos');

let authed = tryAuth();
if (!authed) {
  log(`no cluster user yet: creating ${rootUser} (root) through the localhost exception`);
  // Retried: the config server replica set may still be electing its primary.
  try {
    retry('create the first cluster user', () => admin.createUser({ user: rootUser, pwd: rootPwd, roles: [{ role: 'root', db: 'admin' }] }), 120);
  } catch (e) {
    throw new Error(
      `${e.message}. If cluster users already exist, MONGO_ROOT_USERNAME/MONGO_ROOT_PASSWORD must be the ` +
        'ones the cluster was first started with.',
    );
  }
  authed = tryAuth();
  if (!authed) throw new Error(`could not authenticate as ${rootUser} right after creating it`);
} else {
  log(`authenticated as ${rootUser}`);
}

const present = new Set(admin.runCommand({ listShards: 1 }).shards.map((s) => s._id));
for (const shard of shards) {
  if (present.has(shard.name)) {
    log(`shard ${shard.name} already added`);
    continue;
  }
  log(`sh.addShard("${shard.uri}")`);
  retry(`add shard ${shard.name}`, () => {
    const r = sh.addShard(shard.uri);
    if (!r.ok) throw new Error(JSON.stringify(r));
    return r;
  }, 120);
}

if (env.MONGO_APP_USERNAME) {
  const appUser = env.MONGO_APP_USERNAME;
  const appPwd = need('MONGO_APP_PASSWORD');
  const dbs = [need('MONGODB_DB')];
  for (const pair of (env.TENANT_DEDICATED_DATABASES || '').split(',')) {
    const dbName = pair.split('=')[1];
    if (dbName && !dbs.includes(dbName.trim())) dbs.push(dbName.trim());
  }
  const roles = dbs.map((d) => ({ role: 'readWrite', db: d }));
  if (admin.getUser(appUser)) {
    admin.updateUser(appUser, { pwd: appPwd, roles });
    log(`updated app user ${appUser}: readWrite on ${dbs.join(', ')}`);
  } else {
    admin.createUser({ user: appUser, pwd: appPwd, roles });
    log(`created app user ${appUser}: readWrite on ${dbs.join(', ')}`);
  }
}

const listed = admin.runCommand({ listShards: 1 }).shards.map((s) => `${s._id} (${s.host})`);
log(`cluster ready; shards: ${listed.join(', ')}`);
