// mongosh script: initiates one replica set and creates its first (root) user. Idempotent.
//
// Run by the one-shot *-init services of docker/compose.*.yml, INSIDE the network namespace of the
// set's first member (network_mode: service:<member>) and connected to 127.0.0.1, so that MongoDB's
// localhost exception allows rs.initiate() and the first user while access control (keyFile) is on.
// On later runs the root user exists: the script authenticates with it and only checks.
//
// Environment:
//   RS_NAME              replica set name (rs0, cfgrs, shard1rs, ...)
//   RS_MEMBERS           host:port list, comma separated; the first member gets priority 2 so it
//                        becomes (and stays, when healthy) primary
//   RS_CONFIGSVR         "true" for a config server replica set
//   RS_CREATE_ROOT_USER  "false" to leave user creation to someone else (the config servers of a
//                        sharded cluster: cluster users are created through mongos)
//   MONGO_ROOT_USERNAME  first user, role root on admin
//   MONGO_ROOT_PASSWORD
//   MONGO_APP_USERNAME   optional: least-privilege user for the apps (readWrite on MONGODB_DB and
//   MONGO_APP_PASSWORD   on each database named in TENANT_DEDICATED_DATABASES)
//   MONGODB_DB
//   TENANT_DEDICATED_DATABASES
'use strict';

const env = process.env;
const need = (name) => {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const log = (msg) => print(`[init ${env.RS_NAME || '?'}] ${msg}`);

const rsName = need('RS_NAME');
const members = need('RS_MEMBERS')
  .split(',')
  .map((h) => h.trim())
  .filter(Boolean);
const configsvr = env.RS_CONFIGSVR === 'true';
const createRoot = env.RS_CREATE_ROOT_USER !== 'false';
const rootUser = need('MONGO_ROOT_USERNAME');
const rootPwd = need('MONGO_ROOT_PASSWORD');
const admin = db.getSiblingDB('admin');

function tryAuth() {
  try {
    admin.auth(rootUser, rootPwd);
    return true;
  } catch (e) {
    return false;
  }
}

function waitFor(what, test, seconds) {
  for (let i = 0; i < seconds; i++) {
    try {
      if (test()) return;
    } catch (e) {
      // not ready yet
    }
    sleep(1000);
  }
  throw new Error(`timed out after ${seconds}s waiting for ${what}`);
}

let authed = tryAuth();
log(authed ? `authenticated as ${rootUser}` : 'not authenticated: using the localhost exception');

const hello = db.hello();
if (!hello.setName) {
  const config = {
    _id: rsName,
    members: members.map((host, i) => ({ _id: i, host, priority: i === 0 ? 2 : 1 })),
  };
  if (configsvr) config.configsvr = true;
  log(`rs.initiate(${JSON.stringify(config)})`);
  rs.initiate(config);
} else if (hello.setName !== rsName) {
  throw new Error(`this node belongs to replica set ${hello.setName}, expected ${rsName}`);
} else {
  log('already initiated');
}

waitFor('this member to become primary', () => db.hello().isWritablePrimary === true, 180);
log('this member is primary');

if (!authed && !createRoot) {
  log('replica set initiated; users are created elsewhere (RS_CREATE_ROOT_USER=false)');
  quit(0);
}
if (!authed) {
  log(`creating the first user ${rootUser} (root)`);
  try {
    admin.createUser({ user: rootUser, pwd: rootPwd, roles: [{ role: 'root', db: 'admin' }] });
  } catch (e) {
    throw new Error(
      `could not create the first user (${e.message}). If users already exist, MONGO_ROOT_USERNAME/` +
        'MONGO_ROOT_PASSWORD must be the ones this replica set was first started with.',
    );
  }
  authed = tryAuth();
  if (!authed) throw new Error(`could not authenticate as ${rootUser} right after creating it`);
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

waitFor(
  `all ${members.length} members to be PRIMARY or SECONDARY`,
  () => rs.status().members.filter((m) => m.stateStr === 'PRIMARY' || m.stateStr === 'SECONDARY').length === members.length,
  180,
);
log('replica set ready');
