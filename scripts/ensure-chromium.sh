#!/bin/sh
# The browser tests drive Debian's Chromium through playwright-core (Playwright's own browser download
# cannot work offline). Installs it when missing and we may; otherwise says how.
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit $?
fi
echo "The browser tests need Chromium at $chromium: sudo apt-get install chromium, or set CHROMIUM_PATH." >&2
exit 1
