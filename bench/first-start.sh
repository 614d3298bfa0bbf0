#!/usr/bin/env bash
# What a newcomer waits for: clones this checkout's HEAD into a scratch directory, runs the README's first
# command (`npm install && npm start`) on a free port and times the first answer, then times three
# restarts with nothing changed. `sh bench/first-start.sh` from the project root; the figures are in the
# README. npm's cache is whatever this machine has (a first install ever downloads ~900 packages more).
set -euo pipefail
# Each server in a process group of its own, so that Ctrl+C's signal reaches npm and the server alike.
set -m
root=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8765}
dir=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill -INT -- "-$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
answered() {
  for _ in $(seq 1200); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
    sleep 0.05
  done
  echo "no answer on port $port" >&2
  return 1
}
start() {
  (cd "$dir" && PORT=$port exec npm start >>"$dir/server.log" 2>&1) &
  server=$!
  answered
}
stop() {
  kill -INT -- "-$server"
  wait "$server" 2>/dev/null || true
  server=
  # npm's child (the server) has its own exit to make; wait until the port is free.
  while curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
}

t0=$(now)
git clone -q "$root" "$dir"
(cd "$dir" && npm install --no-audit --no-fund >"$dir/install.log" 2>&1)
t1=$(now)
start
t2=$(now)
echo "clone + npm install: $(seconds "$t0" "$t1") s; first npm start to first answer: $(seconds "$t1" "$t2") s; clone to first answer: $(seconds "$t0" "$t2") s"
stop
for i in 1 2 3; do
  t3=$(now)
  start
  t4=$(now)
  echo "restart $i, nothing changed: $(seconds "$t3" "$t4") s"
  stop
done
