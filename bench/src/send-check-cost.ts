/**
 * `node test/support/run-ts.js bench/src/send-check-cost.ts [members] [rounds]`: CPU of the checks a
 * `message:send` passes through before any I/O, in the gateway's order: the event payload's JSON size
 * (payloadWithin; payloadBytes in builds before it), the DTO (validateDto, every DTO of the platform loaded) and the envelope's size
 * (checkEnvelope). In process and single-threaded: compare two builds by running this in each, back
 * to back and alternating (RESULTS.md, "Send checks").
 */
import 'reflect-metadata';
import { validateDto } from '@chat/errors';
import { checkEnvelope } from '../../libs/chat/src/messages/message-rules';
import * as acks from '../../libs/realtime/src/acks';
import { SendMessageEvent } from '../../apps/gateway/src/events/event-dtos';
import { groupSendPayload } from './lib/group-send-payload';

async function main(): Promise<void> {
  await import('../../apps/all-in-one/src/app.module');
  const members = Number(process.argv[2] ?? 50);
  const rounds = Number(process.argv[3] ?? 20000);
  const payload = groupSendPayload(members, (i) => `u${i}`);
  const max = 128 * 1024; // the gateway's default: 2 x MESSAGE_MAX_BYTES
  const { payloadWithin } = acks as { payloadWithin?: (p: unknown, max: number) => boolean };
  const within = payloadWithin ?? ((p: unknown, m: number) => acks.payloadBytes(p) <= m);
  const one = async () => {
    if (!within(payload, max)) throw new Error('too large');
    const dto = await validateDto(SendMessageEvent, payload);
    checkEnvelope(dto.content, dto.search_tokens, 64 * 1024);
  };
  for (let i = 0; i < 2000; i++) await one(); // warm-up
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) await one();
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`send checks, ${members} wrapped keys: ${((cpu.user + cpu.system) / rounds).toFixed(1)} µs CPU per payload (${rounds} payloads)\n`);
}

void main();
