#!/usr/bin/env bash
# Make Debian's chromium available for the report's browser test.
# Installs it with apt-get when missing and we are root; otherwise says why the
# browser test will skip. Never fails the build.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the report's browser test ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium: the browser test will skip"
else
  echo "chromium not found and cannot apt-get install it (not root): the browser test will skip"
fi
exit 0
