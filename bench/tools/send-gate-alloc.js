/**
 * `node --expose-gc --max-semi-space-size=64 bench/tools/send-gate-alloc.js <build dir> [members] [rounds]`:
 * CPU and bytes allocated per `message:send` payload by the in-process checks of a send that measure or
 * validate the payload: the gateway's size check (`payloadBytes`), `validateDto(SendMessageEvent)` and
 * the send's envelope size check (`checkEnvelope`), on a v1 envelope with one wrapped key per member.
 * Runs a compiled build (`bench/out/project` or a copy), so two builds compare back to back.
 * Bytes: the heap's growth over a block run without a garbage collection (checked: a block that saw
 * one is not counted), so every allocation of the block, short-lived ones included.
 */
const { join, resolve } = require('node:path');
const { PerformanceObserver } = require('node:perf_hooks');

const build = resolve(process.argv[2] ?? 'bench/out/project');
const members = Number(process.argv[3] ?? 50);
const rounds = Number(process.argv[4] ?? 200);
require('reflect-metadata');
// Every DTO of the platform loaded, as in the server.
require(join(build, 'apps/all-in-one/src/app.module'));
const { validateDto } = require(join(build, 'libs/errors/src/validation'));
const { payloadBytes } = require(join(build, 'libs/realtime/src/acks'));
const { checkEnvelope } = require(join(build, 'libs/chat/src/messages/message-rules'));
const { SendMessageEvent } = require(join(build, 'apps/gateway/src/events/event-dtos'));

// The payload as the gateway gets it: parsed from JSON (bench/src/lib/group-send-payload.ts, built by `npm run bench:build`).
const { groupSendPayload } = require(join(__dirname, '../out/bench/src/lib/group-send-payload'));
const payload = JSON.parse(JSON.stringify(groupSendPayload(members, (i) => `6b13556d5571d53bc68974${String(i).padStart(2, '0')}`)));

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });

async function one() {
  if (payloadBytes(payload) > 1_000_000) throw new Error('too large');
  const dto = await validateDto(SendMessageEvent, payload);
  checkEnvelope(dto.content, dto.search_tokens, 65536);
}

async function main() {
  for (let i = 0; i < 500; i++) await one(); // warm-up (JIT)
  let cpu = 0;
  let bytes = 0;
  let counted = 0;
  for (let b = 0; b < 30; b++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 20)); // the forced collection's entry is delivered first
    const gcsBefore = gcs;
    const heap0 = process.memoryUsage().heapUsed;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < rounds; i++) await one();
    const c = process.cpuUsage(cpu0);
    const grew = process.memoryUsage().heapUsed - heap0;
    await new Promise((r) => setTimeout(r, 20)); // let the observer see a collection of this block
    if (gcs !== gcsBefore) continue;
    cpu += c.user + c.system;
    bytes += grew;
    counted += rounds;
  }
  if (!counted) throw new Error('every block saw a garbage collection: raise --max-semi-space-size or lower rounds');
  process.stdout.write(`${build}: ${members} wrapped keys, ${counted} payloads: ${(cpu / counted).toFixed(1)} µs CPU, ${Math.round(bytes / counted)} bytes allocated per payload\n`);
}

void main();
