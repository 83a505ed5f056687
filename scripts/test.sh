#!/usr/bin/env bash
# The single "run every test" command: unit tests, then integration tests
# against a real redis-server and the built proxy. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found: installing it" >&2
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server
fi

if [ ! -d node_modules ]; then
  npm ci
fi

npm run build
# The layers import one way only, with no circle (.dependency-cruiser.cjs).
npm run --silent check:layers

shopt -s globstar nullglob
unit=(test/unit/**/*.test.ts)
integration=(test/integration/**/*.test.ts)

files=("${unit[@]}" "${integration[@]}")
echo "== ${#unit[@]} unit and ${#integration[@]} integration test files"
# One run, so the closing summary counts every test.
# --test-force-exit: a handle leaked by one file must not hang the whole run;
# --test-timeout: nor may one hung file (5 min per file, far above any file here).
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec \
  --test-force-exit --test-timeout=300000 "${files[@]}"
