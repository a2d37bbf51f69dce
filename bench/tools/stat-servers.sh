#!/bin/bash
# stat-servers.sh OUTDIR PATTERN... : as strace-servers.sh, sampling instead per second, /proc/<pid>/stat (minflt, utime, stime) and the main thread's, plus ctx switches
out=$1; shift
. "$(dirname "$0")/server-pid.sh"
i=0
for pat in "$@"; do
  i=$((i+1))
  pid=$(server_pid "$pat") || exit 1
  while kill -0 $pid 2>/dev/null; do
    p=$(cut -d' ' -f10,12,14,15 /proc/$pid/stat 2>/dev/null); t=$(cut -d' ' -f10,12,14,15 /proc/$pid/task/$pid/stat 2>/dev/null)
    cs=$(grep -E '^(voluntary|nonvoluntary)_ctxt_switches' /proc/$pid/task/$pid/status 2>/dev/null | awk '{printf "%s ", $2}')
    echo "$(date +%s.%N) $p | $t | $cs" >> $out/stat-$i.txt
    sleep 1
  done
done
