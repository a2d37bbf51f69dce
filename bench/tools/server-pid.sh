# Sourced by the bench/tools scripts. server_pid PATTERN: waits (up to ~5 min, polling) for the newest bench server
# started as `<this node> PATTERN` and prints its pid; fails when none starts. The node binary is the one on PATH
# (its real path: how the bench CLI's process.execPath spells it), not a path of one machine.
NODE_BIN=$(readlink -f "$(command -v node)")
server_pid() {
  local pid="" n=0
  while [ -z "$pid" ] && [ $n -lt 1500 ]; do pid=$(pgrep -n -f "^$NODE_BIN $1"); [ -z "$pid" ] && sleep 0.2; n=$((n+1)); done
  [ -n "$pid" ] && echo "$pid"
}
