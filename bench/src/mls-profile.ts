/**
 * Where ts-mls spends its time in a large group: `npm run -s bench:build && node bench/out/bench/src/mls-profile.js [--no-external-join] [N] [top]`
 * (default 2000 leaves, 12 frames). Builds a group of N devices in process through the SDK's MlsClient
 * (one commit adding everyone), then profiles each operation on its own with the V8 profiler
 * (node:inspector) and prints, per operation, its wall time, the self time by owner and the hot
 * functions by inclusive time (what they and their callees cost). Profiles go to bench/out/profiles/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MlsClient } from '../../libs/sdk/src/mls';
import { byOwner, type CpuProfile } from './lib/cpuprofile';
import { inclusiveTop } from './lib/cpuprofile-inclusive';
import { markdownTable } from './lib/report';

const outDir = join(__dirname, '..', '..', 'profiles');

async function profiled<T>(session: Session, name: string, top: number, fn: () => Promise<T>): Promise<T> {
  await session.post('Profiler.start');
  const t0 = performance.now();
  const out = await fn();
  const ms = performance.now() - t0;
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  writeFileSync(join(outDir, `mls-${name}.cpuprofile`), JSON.stringify(profile));
  const owners = byOwner(profile, 6)
    .map((h) => `${h.name} ${h.pct}%`)
    .join(', ');
  process.stdout.write(`\n### ${name}: ${ms.toFixed(1)} ms\n\nself time by owner: ${owners}\n\n`);
  process.stdout.write(`${markdownTable(['function (inclusive)', 'ms', '%'], inclusiveTop(profile, top).map((h) => [h.name, h.selfMs.toFixed(1), h.pct.toFixed(1)]))}\n`);
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const skipExternal = args.includes('--no-external-join');
  const [n, top] = [Number(args.filter((a) => !a.startsWith('--'))[0] ?? 2000), Number(args.filter((a) => !a.startsWith('--'))[1] ?? 12)];
  if (!Number.isInteger(n) || n < 4 || n > 5000) throw new Error('N must be an integer from 4 to 5000');
  mkdirSync(outDir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });

  const device = (i: number) => MlsClient.create({ tenantId: 'bench', userId: `u${i}`, deviceId: 'd' });
  const creator = await device(0);
  const member = await device(1);
  const kps = [(await member.generateKeyPackages(1))[0]!];
  // The other devices are dropped once their key package exists (their state would only load the GC).
  for (let i = 2; i < n; i++) kps.push((await (await device(i)).generateKeyPackages(1))[0]!);
  const groupId = await creator.createGroup();
  const add = await profiled(session, `create-${n}`, top, () => creator.addMembers(groupId, kps));
  creator.mergePendingCommit(groupId);
  await profiled(session, 'join-welcome', top, () => member.joinFromWelcome(add.welcome!, add.groupInfo));

  const late = await device(n + 1);
  const lateKp = await late.generateKeyPackages(1);
  const addOne = await profiled(session, 'add-one', top, () => creator.addMembers(groupId, lateKp));
  creator.mergePendingCommit(groupId);
  await profiled(session, 'process-add', top, () => member.receive(groupId, addOne.commit));
  const removeOne = await profiled(session, 'remove-one', top, () => creator.removeMembers(groupId, [late.identity]));
  creator.mergePendingCommit(groupId);
  await profiled(session, 'process-remove', top, () => member.receive(groupId, removeOne.commit));

  if (!skipExternal) {
    const joiner = await device(n + 2);
    const ext = await profiled(session, 'external-join', top, async () => joiner.joinExternal(await creator.groupInfo(groupId)));
    joiner.mergePendingCommit(ext.groupId);
    await profiled(session, 'process-external-join', top, () => member.receive(groupId, ext.commit));
    await creator.receive(groupId, ext.commit);
  }

  const msg = await profiled(session, 'encrypt-first', top, () => creator.encrypt(groupId, 'x'.repeat(100)));
  await profiled(session, 'decrypt-first', top, () => member.receive(groupId, msg));
  for (let i = 0; i < 8; i++) await member.receive(groupId, await creator.encrypt(groupId, 'x'.repeat(100)));
  const tenth = await profiled(session, 'encrypt-tenth', top, () => creator.encrypt(groupId, 'x'.repeat(100)));
  await profiled(session, 'decrypt-tenth', top, () => member.receive(groupId, tenth));
  session.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
