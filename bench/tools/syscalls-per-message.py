# syscalls-per-message.py TRACE SS SSL SERVERPID (files of strace-servers.sh): the server's syscalls per message
# in the steady window (10th to 90th percentile of its message:new writes), by thread and socket kind, and the
# frames and Redis commands in its writes.
import re, sys, collections
trace, ssf, sslf, spid = sys.argv[1:5]
listen = {}
for l in open(sslf):
    m = re.search(r'127\.0\.0\.1:(\d+)\s.*users:\(\("([^"]+)",pid=(\d+)', l)
    if m: listen[m.group(1)] = m.group(2)
fdkind = {}
for l in open(ssf):
    p = l.split()
    if len(p) < 6: continue
    m = re.search(r'pid=%s,fd=(\d+)' % spid, l)
    if not m: continue
    fd = int(m.group(1)); lport = p[3].rsplit(':',1)[1]; pport = p[4].rsplit(':',1)[1]
    if listen.get(lport) == 'node': fdkind[fd] = 'ws'
    else: fdkind[fd] = listen.get(pport, 'other:' + pport)
line_re = re.compile(r'^(\d+)\s+([\d.]+)\s+(\w+)\((\d+)?(.*)$')
events = []
pending = {}
for l in open(trace):
    m = line_re.match(l)
    if m:
        tid, ts, call, fd, rest = m.groups()
        if rest.endswith('<unfinished ...>'):
            pending[tid] = (ts, call, fd, rest)
            continue
        events.append((float(ts), tid, call, int(fd) if fd else -1, rest))
    else:
        m2 = re.match(r'^(\d+)\s+([\d.]+)\s+<\.\.\. (\w+) resumed>(.*)$', l)
        if m2 and m2.group(1) in pending:
            ts, call, fd, rest = pending.pop(m2.group(1))
            events.append((float(ts), m2.group(1), call, int(fd) if fd else -1, rest + m2.group(4)))
# window: 10th-90th percentile of message:new writes
news = sorted(e[0] for e in events if e[2] in ('write','writev') and 'message:new' in e[4] and fdkind.get(e[3]) == 'ws')
if not news: print('no message:new'); sys.exit()
t0, t1 = news[len(news)//10], news[len(news)*9//10]
ids = set()
for e in events:
    if t0 <= e[0] <= t1 and e[2] in ('write','writev') and fdkind.get(e[3]) == 'ws':
        for mm in re.finditer(r'42\[\\"message:new\\",\{\\"id\\":\\"([0-9a-f]+)', e[4]): ids.add(mm.group(1))
n = len(ids)
print(f'window {t1-t0:.2f}s, messages {n} ({n/(t1-t0):.0f}/s), server fds classified {len(fdkind)}')
cnt = collections.Counter(); frames = collections.Counter(); bytes_ = collections.Counter()
main = spid
for e in events:
    if not (t0 <= e[0] <= t1): continue
    ts, tid, call, fd, rest = e
    kind = fdkind.get(fd, 'fd?') if fd >= 0 else ''
    if call.startswith('epoll'): kind = ''
    thread = 'main' if tid == main else 'other'
    ret = rest.rsplit('= ',1)[-1].strip() if '= ' in rest else '?'
    eagain = 'EAGAIN' in ret
    key = (thread, call + (' EAGAIN' if eagain else ''), kind)
    cnt[key] += 1
    if kind == 'ws' and call in ('write','writev'):
        for mm in re.finditer(r'(4[23]\d*)\[\\"([a-z:_]+)\\"', rest): frames['event ' + mm.group(2)] += 1
        frames['ack'] += len(re.findall(r'(?:iov_base=|^, )"43\d+\[', rest))
        frames['ws frames'] += len(re.findall(r'(?:iov_base=|^, )"4', rest))
    if kind.startswith('redis') and call in ('write','writev'):
        for mm in re.finditer(r'\*\d+\\r\\n\$\d+\\r\\n(\w+)\\r\\n', rest): frames['redis ' + mm.group(1).lower()] += 1
for k in sorted(cnt, key=lambda k: -cnt[k]):
    print(f'{k[0]:5} {k[1]:22} {k[2]:16} {cnt[k]/n:7.3f}/msg')
print('-- frames in writes (per msg)')
for k in sorted(frames, key=lambda k: -frames[k]): print(f'{k:30} {frames[k]/n:7.3f}')
