#!/usr/bin/env bash
# System packages the tests need, installed only when missing (idempotent; a quick no-op when
# present). Called by the README's test command and so by .ci/run.
#   chromium: Debian's browser, driven by Playwright through executable_path for the browser
#     tests (`playwright install` cannot download here);
#   fonts-wqy-microhei: a CJK font (GPL-2 with font exception) so Chinese pages render and the
#     PDF tests can write a Chinese text layer; never shipped.
# Usage: bash .ci/setup-system.sh [EXTRA_PACKAGE ...]
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
for pkg in fonts-wqy-microhei "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && SUDO="sudo" || { echo "setup-system: need root to install ${missing[*]}" >&2; exit 1; }
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
}
