/**
 * What persisting a device's MLS state costs (libs/sdk/src/mls/client-store.ts), in process:
 * `npm run -s bench:build && node bench/out/bench/src/mls-persist.js [N ...]` (default N: 2 100 1000).
 * For each group size N (devices, made by one commit): the bytes of the group's stored state (ts-mls
 * encodeGroupState), the CPU of encoding it and of a restart (MlsClient.create over the store: decode
 * of every record), and an encrypt with the store against one without (the state is written before the
 * message is returned). CPU of the whole process (user+system); a quiet machine, one run per size.
 */
import { performance } from 'node:perf_hooks';
import { InMemoryMlsStateStore, MlsClient } from '../../libs/sdk/src/mls';
import { encodeGroup } from '../../libs/sdk/src/mls/client-store';

const id = (i: number) => ({ tenantId: 'bench', userId: `u${i}`, deviceId: 'd' });

async function cpu<T>(fn: () => Promise<T> | T): Promise<{ out: T; ms: number; wallMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { out, ms: (c.user + c.system) / 1000, wallMs };
}

/** Median over `k` runs (the first run of a code path is mostly JIT). */
async function median(k: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < k; i++) xs.push(await fn());
  return xs.sort((a, b) => a - b)[Math.floor(k / 2)]!;
}

async function run(n: number): Promise<void> {
  const store = new InMemoryMlsStateStore();
  const creator = await MlsClient.create(id(0), { store });
  const kps: Uint8Array[] = [];
  for (let i = 1; i < n; i++) kps.push((await (await MlsClient.create(id(i))).generateKeyPackages(1))[0]!);
  const groupId = await creator.createGroup();
  if (kps.length) {
    await creator.addMembers(groupId, kps);
    creator.mergePendingCommit(groupId);
  }
  await creator.flush();
  const bytes = (await store.get(`group/${groupId}`))!.length;
  const state = (creator as unknown as { groups: Map<string, never> }).groups.get(groupId)!;
  const encodeMs = await median(5, async () => (await cpu(() => encodeGroup(state))).ms);
  const restore = await median(5, async () => (await cpu(() => MlsClient.create(id(0), { store }))).ms);
  const restored = await MlsClient.create(id(0), { store });
  // The same state, decoded once more, in a client without a store.
  const plain = await MlsClient.create(id(0));
  const copy = await MlsClient.create(id(0), { store });
  (plain as unknown as { groups: Map<string, unknown> }).groups.set(groupId, (copy as unknown as { groups: Map<string, unknown> }).groups.get(groupId));
  const text = 'x'.repeat(100);
  const withStore = await median(11, async () => (await cpu(() => restored.encrypt(groupId, text))).ms);
  const without = await median(11, async () => (await cpu(() => plain.encrypt(groupId, text))).ms);
  console.log(`| ${n} | ${(bytes / 1024).toFixed(1)} KiB | ${encodeMs.toFixed(1)} ms | ${restore.toFixed(1)} ms | ${without.toFixed(2)} ms | ${withStore.toFixed(2)} ms |`);
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  const list = sizes.length ? sizes : [2, 100, 1000];
  if (list.some((s) => !Number.isInteger(s) || s < 1 || s > 5000)) throw new Error('group sizes must be integers from 1 to 5000');
  console.log(`node ${process.version}\n`);
  console.log('| devices | stored group state | encode | restart (create over the store) | encrypt, no store | encrypt, state stored first |');
  console.log('|---|---|---|---|---|---|');
  for (const n of list) await run(n);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
