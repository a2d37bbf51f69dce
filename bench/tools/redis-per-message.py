#!/usr/bin/env python3
"""Redis commands per message from a MONITOR capture (bench/RESULTS.md, "Redis commands per send").

  redis-cli -p $PORT MONITOR > mon.txt   (for the whole bench run, own redis-server, BENCH_REDIS_URL)
  python3 bench/tools/redis-per-message.py mon.txt

The window is the 30th to the 90th percentile of the adapter's `message:new` PUBLISHes (steady state);
every command in it is counted per such PUBLISH (= per message), by who sent it (a client: one round
trip; `lua`: a script's own command), command and key shape (ids, numbers and hashes replaced).
"""
import re
import sys
from collections import Counter

LINE = re.compile(r'^(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$')
ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


def shape(key: str) -> str:
    key = re.sub(r'[0-9a-f]{24}', '<id>', key)
    key = re.sub(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', key)
    key = re.sub(r'^[^:]*chat[^:]*:', '', key)  # the deployment's key prefix
    key = re.sub(r'\d+', '<n>', key)
    return key[:70]


def first_key(cmd: str, args: list) -> str:
    if cmd in ('EVALSHA', 'EVAL'):
        return args[2] if len(args) > 2 and args[1] != '0' else '-'
    if cmd == 'PUBLISH':
        return re.sub(r'#t:[^#]*#', '#t:<room>#', args[0]) if args else '-'
    return args[0] if args else '-'


def main(path: str) -> None:
    rows = []
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.match(line.rstrip('\n'))
            if not m:
                continue
            t, who, rest = float(m.group(1)), m.group(2), m.group(3)
            parts = ARG.findall(rest)
            if not parts:
                continue
            cmd = parts[0].upper()
            rows.append((t, 'lua' if who == 'lua' else 'client', cmd, parts[1:], 'message:new' in rest))
    pubs = sorted(t for t, src, cmd, _, new in rows if cmd == 'PUBLISH' and new and src == 'client')
    if len(pubs) < 10:
        sys.exit(f'only {len(pubs)} message:new PUBLISHes in {path}')
    lo, hi = pubs[int(len(pubs) * 0.3)], pubs[int(len(pubs) * 0.9)]
    n = sum(1 for t in pubs if lo <= t < hi)
    counts = Counter()
    for t, src, cmd, args, _ in rows:
        if lo <= t < hi:
            counts[(src, cmd, shape(first_key(cmd, args)))] += 1
    print(f'window {hi - lo:.1f} s, {n} messages ({n / (hi - lo):.0f}/s)')
    print(f'{"per msg":>8}  {"from":6} {"command":8} key')
    for (src, cmd, key), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f'{c / n:8.3f}  {src:6} {cmd:8} {key}')
    total = sum(counts.values()) / n
    trips = sum(c for (src, _, _), c in counts.items() if src == 'client') / n
    print(f'total {total:.2f} commands/msg, {trips:.2f} round trips/msg (client commands)')


if __name__ == '__main__':
    main(sys.argv[1])
