import { relative } from 'node:path';
import { parseArgs, parseDuration } from './options';
import { resolveStore } from './services';

describe('command-line options', () => {
  it('parses durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('3')).toBe(3000);
    expect(() => parseDuration('soon')).toThrow();
  });

  it('applies scenario defaults and overrides', () => {
    const o = parseArgs(['direct', '--rate', '2000', '--duration=5s', '--targets', 'B,project', '--no-pin', '--server-env', 'A=b=c']);
    expect(o.scenario).toBe('direct');
    expect(o.rate).toBe(2000);
    expect(o.durationMs).toBe(5000);
    expect(o.targets).toEqual(['B', 'project']);
    expect(o.pin).toBe(false);
    expect(o.serverEnv).toEqual({ A: 'b=c' });
    expect(o.nodeOptions).toEqual([]);
    expect(parseArgs(['group', '--node-options', ' --max-semi-space-size=64  --trace-gc', '--node-options=--no-opt']).nodeOptions).toEqual(['--max-semi-space-size=64', '--trace-gc', '--no-opt']);
    expect(() => parseArgs(['group', '--node-options', 'max-semi-space-size=64'])).toThrow(/--node-options/);
    expect(parseArgs(['calibrate']).targets).toEqual(['noop']);
    expect(parseArgs(['idle']).connections).toBe(5000);
    expect(parseArgs(['direct']).client).toBe('lean');
    expect(parseArgs(['direct', '--client', 'socket.io']).client).toBe('socket.io');
    expect(() => parseArgs(['direct', '--client', 'other'])).toThrow(/--client/);
    expect(parseArgs(['group']).e2e).toBe('v1');
    expect(parseArgs(['group', '--e2e', 'v2']).e2e).toBe('v2');
    expect(() => parseArgs(['group', '--e2e', 'v3'])).toThrow(/--e2e/);
    expect(parseArgs(['group']).webhookReceiver).toBe('ok');
    expect(parseArgs(['group', '--webhook-receiver', 'down']).webhookReceiver).toBe('down');
    expect(parseArgs(['group', '--webhook-receiver', 'slow:5s'])).toMatchObject({ webhookReceiver: 'slow', webhookSlowMs: 5000 });
    expect(() => parseArgs(['group', '--webhook-receiver', 'fail:5s'])).toThrow(/--webhook-receiver/);
    expect(() => parseArgs(['group', '--webhook-receiver', 'late'])).toThrow(/--webhook-receiver/);
  });

  it('refuses unknown or unbounded input', () => {
    expect(() => parseArgs(['nope'])).toThrow(/first argument/);
    expect(() => parseArgs(['direct', '--bogus', '1'])).toThrow(/unknown option/);
    expect(() => parseArgs(['direct', '--targets', 'C'])).toThrow(/unknown target/);
    expect(() => parseArgs(['direct', '--duration', '1h'])).toThrow();
    expect(() => parseArgs(['direct', '--duration', '20m'])).toThrow(/capped/);
    expect(() => parseArgs(['direct', '--rate'])).toThrow(/needs a value/);
    expect(() => parseArgs(['direct', '--warmup', '10s', '--duration', '5s'])).toThrow(/warmup/);
  });

  it('runs the servers on the harness\'s node unless --node names another binary', () => {
    expect(parseArgs(['direct']).node).toBeNull();
    expect(parseArgs(['direct', '--node', process.execPath]).node).toBe(process.execPath);
    // Relative to where the bench was started, stored absolute (the servers start in the repo root).
    expect(parseArgs(['direct', `--node=${relative(process.cwd(), process.execPath)}`]).node).toBe(process.execPath);
    expect(() => parseArgs(['direct', '--node', '/nonexistent/bin/node'])).toThrow(/--node: no executable/);
    expect(() => parseArgs(['direct', '--node'])).toThrow(/needs a value/);
  });

  it('chooses the FerretDB store: as asked, else PostgreSQL when it answers', () => {
    expect(parseArgs(['direct']).store).toBeNull();
    expect(parseArgs(['direct', '--store', 'ferretdb-pg']).store).toBe('ferretdb-pg');
    expect(parseArgs(['history', '--store=ferretdb-sqlite']).store).toBe('ferretdb-sqlite');
    expect(() => parseArgs(['direct', '--store', 'mongodb'])).toThrow(/--store must be one of/);
    expect(() => parseArgs(['direct', '--store'])).toThrow(/needs a value/);
    const pg = 'postgres://postgres@127.0.0.1:5432/postgres';
    expect(resolveStore(null, pg)).toBe('ferretdb-pg');
    expect(resolveStore(null, null)).toBe('ferretdb-sqlite');
    expect(resolveStore('ferretdb-sqlite', pg)).toBe('ferretdb-sqlite');
    expect(resolveStore('ferretdb-pg', pg)).toBe('ferretdb-pg');
    expect(() => resolveStore('ferretdb-pg', null)).toThrow(/no PostgreSQL answers/);
  });
});
