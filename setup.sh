#!/usr/bin/env bash
# README command 1: install everything from this repository's own files, then run the main
# job offline from the recorded archive shipped in examples/archive/.
#
# - Chromium (Debian package) is only for the browser test of the unsubscribe page; it is
#   installed with apt-get when this runs as root or with sudo, and skipped with a warning
#   elsewhere.
# - Python packages come from PyPI into .venv/.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "setup.sh: warning: Chromium not installed; the browser test will fail until it is" >&2
    fi
fi

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/scrape run --all --replay examples/archive
