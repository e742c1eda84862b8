#!/usr/bin/env bash
# System packages the browser tests need: Debian's chromium (driven by Playwright through
# executable_path; `playwright install` cannot download here) and a CJK font so Chinese pages
# render. Idempotent: a quick no-op when both are present; otherwise apt-get (as root, or via
# sudo when available). Called by the README's test command and by .ci/run.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 && SUDO="sudo" || { echo "setup-system: need root to install ${missing[*]}" >&2; exit 1; }
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
