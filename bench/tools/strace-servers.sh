#!/bin/bash
# strace-servers.sh OUTDIR PATTERN... : for each bench server matching `^<node> PATTERN` (in order; start it
# beside a bench invocation), strace it (all threads, network syscalls, -ttt) until it exits, snapshotting its
# fds and sockets every 2 s (bench/RESULTS.md, "Syscalls and socket frames per message"). Add -T / drop -e for all syscalls.
out=$1; shift
. "$(dirname "$0")/server-pid.sh"
i=0
for pat in "$@"; do
  i=$((i+1))
  pid=$(server_pid "$pat") || exit 1
  echo "$i $pat pid=$pid $(date +%s.%N)" >> $out/pids.txt
  strace -f -ttt -s 160 -e trace=write,writev,sendto,sendmsg,read,readv,recvfrom,recvmsg,epoll_wait,epoll_pwait -o $out/trace-$i.txt -p $pid &
  spid=$!
  while kill -0 $pid 2>/dev/null; do
    ls -l /proc/$pid/fd > $out/fd-$i.tmp 2>/dev/null && mv $out/fd-$i.tmp $out/fd-$i.txt
    ss -tnpH > $out/ss-$i.tmp 2>/dev/null && mv $out/ss-$i.tmp $out/ss-$i.txt
    ss -tlnpH > $out/ssl-$i.tmp 2>/dev/null && mv $out/ssl-$i.tmp $out/ssl-$i.txt
    sleep 2
  done
  wait $spid
done
