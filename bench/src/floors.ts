import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { io } from 'socket.io-client';
import { findFreePort, waitForPort } from '../../libs/dev-services/src';
import { newHistogram, recordMicros, summarize, type LatencySummary } from './lib/histogram';
import { pinnedCommand } from './lib/pin';
import { nowUs } from './lib/schedule';
import { EVENTS } from './protocol';

/**
 * Loopback floors, closed loop with one request in flight: a raw TCP byte echoed by a process on the
 * server's core, and a socket.io emit-with-ack against the no-op server. No server can answer faster.
 */
export async function tcpFloor(core: number | null, pings: number, node: string | null = null): Promise<LatencySummary> {
  const port = await findFreePort();
  const code = `require('net').createServer((s)=>{s.setNoDelay(true);s.on('data',(d)=>s.write(d))}).listen(${port},'127.0.0.1')`;
  const { cmd, args } = pinnedCommand(core, node ?? process.execPath, ['-e', code]);
  const child = spawn(cmd, args, { stdio: 'ignore' });
  try {
    await waitForPort(port, '127.0.0.1', 10_000, () => child.exitCode === null);
    const sock = connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
    const h = newHistogram();
    for (let i = 0; i < pings; i++) {
      const t0 = nowUs();
      await new Promise<void>((r) => {
        sock.once('data', () => r());
        sock.write('x');
      });
      recordMicros(h, nowUs() - t0);
    }
    sock.destroy();
    return summarize(h);
  } finally {
    child.kill('SIGKILL');
  }
}

export async function socketIoFloor(url: string, pings: number): Promise<LatencySummary> {
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((r, j) => s.once('connect', () => r()).once('connect_error', j));
  const h = newHistogram();
  for (let i = 0; i < pings; i++) {
    const t0 = nowUs();
    await new Promise<void>((r) => s.emit(EVENTS.ping, {}, () => r()));
    recordMicros(h, nowUs() - t0);
  }
  s.close();
  return summarize(h);
}
