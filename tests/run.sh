#!/usr/bin/env bash
# The test command: installs what a fresh machine lacks, then runs the whole suite.
# Needs no API key and no internet beyond the package registries; every server the tests use they start
# themselves on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

# The quota tests start Debian's redis-server themselves (on 127.0.0.1, a free port, in memory only).
if ! command -v redis-server >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

# Lint and types first (pyproject.toml configures both); a finding fails the run before the suite starts.
# LINT=0 skips them (e.g. while iterating on one test).
if [ "${LINT:-1}" = 1 ]; then
  ruff check .
  mypy
fi

exec python -m pytest "$@"
