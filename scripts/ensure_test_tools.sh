#!/usr/bin/env bash
# Optional tools some tests use, from Debian's packages:
#   chromium        — tests/report/html_chromium_test.ts screenshots the HTML report;
#   docker-compose  — tests/compose_test.ts validates compose.yaml (1.29 validates without an engine).
# Installs what is missing when we may (root or passwordless sudo, apt-get); otherwise says why and
# exits 1, and those tests skip with a printed reason. `deno task test` runs this first.
set -uo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -eq 0 ]; then
  echo "test tools: chromium and docker-compose present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test tools: ${missing[*]} missing and apt-get is not available; the tests that need them will skip" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; else
    echo "test tools: ${missing[*]} missing; install with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "test tools: installing ${missing[*]} (apt-get)…" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
status=$?
[ $status -eq 0 ] && echo "test tools: installed ${missing[*]}" || echo "test tools: apt-get failed ($status); the tests that need them will skip" >&2
exit $status
