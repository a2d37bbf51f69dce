/**
 * `node test/support/run-ts.js bench/src/validate-cost.ts [members] [rounds]`: CPU cost of validating one
 * `message:send` payload (validateDto, as the gateway does per event) with every DTO of the platform
 * loaded, as in the all-in-one server. In process and single-threaded, so a loaded machine slows both
 * sides of a comparison alike; compare figures of one invocation, or runs back to back.
 */
import 'reflect-metadata';
import { getMetadataStorage } from 'class-validator';
import { validateDto } from '@chat/errors';
import { SendMessageEvent } from '../../apps/gateway/src/events/event-dtos';
import { groupSendPayload } from './lib/group-send-payload';

async function main(): Promise<void> {
  // Every module of the all-in-one app (and so every DTO class) is loaded, as in the server.
  await import('../../apps/all-in-one/src/app.module');
  const members = Number(process.argv[2] ?? 50);
  const rounds = Number(process.argv[3] ?? 2000);
  const payload = groupSendPayload(members, (i) => `u${i}`);
  // The memoized metadata look-up (libs/errors validation-metadata-cache.ts) against class-validator's
  // own, alternating in blocks so both see the same machine.
  const storage = getMetadataStorage() as unknown as Record<string, unknown>;
  const memoized = storage.getTargetValidationMetadatas;
  const plain = Object.getPrototypeOf(storage).getTargetValidationMetadatas;
  const cpuOf = { plain: 0, memoized: 0 };
  for (let i = 0; i < 200; i++) await validateDto(SendMessageEvent, payload); // warm-up
  const block = Math.max(1, Math.floor(rounds / 10));
  for (let b = 0; b < 20; b++) {
    const mode = b % 2 ? 'memoized' : 'plain';
    storage.getTargetValidationMetadatas = mode === 'plain' ? plain : memoized;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < block; i++) await validateDto(SendMessageEvent, payload);
    const cpu = process.cpuUsage(cpu0);
    cpuOf[mode] += cpu.user + cpu.system;
  }
  storage.getTargetValidationMetadatas = memoized;
  const per = (us: number) => (us / (block * 10)).toFixed(1);
  process.stdout.write(
    `validateDto(SendMessageEvent), ${members} wrapped keys, ${block * 10} payloads each: class-validator look-up ${per(cpuOf.plain)} µs CPU per payload, memoized ${per(cpuOf.memoized)} µs (${(cpuOf.plain / cpuOf.memoized).toFixed(2)}x)\n`,
  );
}

void main();
