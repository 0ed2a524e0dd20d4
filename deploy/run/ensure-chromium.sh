#!/usr/bin/env bash
# The dashboard test drives Debian's headless chromium; install it once on a fresh machine (needs root or sudo).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi
SUDO=""; [[ $(id -u) == 0 ]] || SUDO="sudo"
echo "installing chromium for the dashboard test" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
