#!/bin/sh
# Two instances sharing rate-limit counters are tested against a real Redis: TEST_REDIS_URL, by default
# the one at 127.0.0.1:6379. Starts Debian's redis-server there when nothing answers (installing it when
# missing and we may); otherwise says how.
url="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
answers() { node -e "
  const u = new URL(process.argv[1]);
  const s = require('net').connect(Number(u.port || 6379), u.hostname);
  s.setTimeout(1000, () => process.exit(1));
  s.on('error', () => process.exit(1));
  s.on('data', (d) => process.exit(String(d).startsWith('+PONG') ? 0 : 1));
  s.write('PING\r\n');" "$url"; }
answers && exit 0
if [ -n "$TEST_REDIS_URL" ]; then
  echo "Nothing answers at TEST_REDIS_URL=$TEST_REDIS_URL: start that Redis, or unset it to use 127.0.0.1:6379." >&2
  exit 1
fi
if ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's redis-server for the rate-limit tests..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
if command -v redis-server >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do answers && exit 0; sleep 0.5; done
fi
echo "The rate-limit tests need Redis at 127.0.0.1:6379: sudo apt-get install redis-server, or set TEST_REDIS_URL." >&2
exit 1
