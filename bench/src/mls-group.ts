/**
 * MLS group costs in process (no server): `npm run -s bench:build && node bench/out/bench/src/mls-group.js [N ...]`
 * (default 100 500). For each group size N, through the SDK's MlsClient (ts-mls): key package
 * generation, one commit adding N devices, one device joining from the Welcome, one application
 * message encrypted and decrypted, one more add and one remove, and what each of them costs a member
 * that processes it. One run each; CPU-bound, so use a quiet machine for numbers that count.
 */
import { performance } from 'node:perf_hooks';
import { MlsClient } from '../../libs/sdk/src/mls';

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

async function run(n: number): Promise<string> {
  const device = (i: number) => MlsClient.create({ tenantId: 'bench', userId: `u${i}`, deviceId: 'd' });
  const creator = await device(0);
  const joiner = await device(1);
  const others = await Promise.all(Array.from({ length: n - 2 }, (_, i) => device(i + 2)));
  const [joinerKp, kpMs] = await time(() => joiner.generateKeyPackages(1));
  const kps = [...joinerKp, ...(await Promise.all(others.map(async (c) => (await c.generateKeyPackages(1))[0]!)))];
  const groupId = await creator.createGroup();
  const [add, addAllMs] = await time(() => creator.addMembers(groupId, kps));
  creator.mergePendingCommit(groupId);
  const [, joinMs] = await time(() => joiner.joinFromWelcome(add.welcome!));
  const [msg, encMs] = await time(() => creator.encrypt(groupId, 'x'.repeat(100)));
  const [, decMs] = await time(() => joiner.receive(groupId, msg));
  const late = await device(n + 1);
  const [addOne, addOneMs] = await time(async () => creator.addMembers(groupId, await late.generateKeyPackages(1)));
  creator.mergePendingCommit(groupId);
  const [, processAddMs] = await time(() => joiner.receive(groupId, addOne.commit));
  const [removeOne, removeMs] = await time(() => creator.removeMembers(groupId, [late.identity]));
  creator.mergePendingCommit(groupId);
  const [, processRemoveMs] = await time(() => joiner.receive(groupId, removeOne.commit));
  const kb = (b: Uint8Array) => `${(b.length / 1024).toFixed(0)} KB`;
  return `| ${n} | ${fmt(kpMs)} | ${fmt(addAllMs)} | ${kb(add.welcome!)} | ${kb(add.groupInfo)} | ${fmt(joinMs)} | ${fmt(encMs)} / ${fmt(decMs)} | ${msg.length} B | ${fmt(addOneMs)} | ${fmt(processAddMs)} | ${fmt(removeMs)} | ${fmt(processRemoveMs)} |`;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  const list = sizes.length ? sizes : [100, 500];
  if (list.some((s) => !Number.isInteger(s) || s < 3 || s > 5000)) throw new Error('group sizes must be integers from 3 to 5000');
  console.log('| devices | key package | commit adding all | Welcome | GroupInfo | join | encrypt / decrypt | message | add one | process add | remove one | process remove |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const n of list) console.log(await run(n));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
