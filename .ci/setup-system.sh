#!/usr/bin/env bash
# Install the Debian packages the tests need, only when missing (idempotent, fast when present).
#   fonts-wqy-microhei: a CJK TrueType font (GPL-2 with font exception; used only by tests to write
#   PDFs with a Chinese text layer, never shipped).
# Usage: bash .ci/setup-system.sh [EXTRA_PACKAGE ...]
set -euo pipefail
packages=(fonts-wqy-microhei "$@")
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup-system: missing ${missing[*]} and not root; install them with apt-get" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
