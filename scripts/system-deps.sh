#!/usr/bin/env bash
# Debian packages the project needs, installed only when missing and only as root.
#   scripts/system-deps.sh run   -> Tesseract OCR with Russian and English
#   scripts/system-deps.sh test  -> also Chromium (browser tests) and PostgreSQL (second test run)
#   scripts/system-deps.sh bench -> Chromium, PostgreSQL and wrk (the HTTP load generator)
set -euo pipefail
purpose="${1:-run}"

need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
{ command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx rus; } || need+=(tesseract-ocr-rus tesseract-ocr-eng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ "$purpose" = "test" ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need+=(postgresql)
fi
if [ "$purpose" = "bench" ]; then
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need+=(postgresql)
fi

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${need[*]}" >&2
  echo "Install them (as root: apt-get install -y ${need[*]}) and run again." >&2
  [ "$purpose" = "run" ] && exit 0   # the service runs without OCR; photos then fail with a reason
  exit 1
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
