#!/usr/bin/env bash
# The single "run every test" command: unit tests, then integration tests
# against a real redis-server and the built proxy, then the front-end-dependent
# integration suites again with node:http as the only front end. Exits
# non-zero on any failure in either run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# What the integration tests run for real: redis-server, python3 (one
# test's raw client), pebble (the ACME test), and Debian's Chromium for the status page test (test/helpers/browser.ts; playwright-core
# drives it and downloads no browser of its own).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v python3 >/dev/null 2>&1 || missing+=(python3) # a client with a small receive buffer (admin-slow-readers.test.ts)
# A real ACME server and its fake DNS for tls-acme.test.ts (test/helpers/pebble.ts); both from the Debian package.
command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1 || missing+=(pebble)
[ -x "${SWITCHYARD_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "not found: ${missing[*]}: installing with apt-get" >&2
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  else
    # Without apt the browser test skips, saying why (in CI, where CI is set, it fails instead).
    echo "not found: ${missing[*]}, and no apt-get to install it" >&2
  fi
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

# HTTP/1.1 connections, plain or over TLS, are read by the fast front end
# (src/proxy/front/) or, with SWITCHYARD_FRONT=node, by node:http alone; the
# two must behave the same. So the suites that exercise what the front end
# does run a second time with it off: every http-*.test.ts but
# http-fast-front.test.ts (which checks that the fast front end served, so it
# fails with it off), the WebSocket suite (an upgrade is read by the fast
# front end, then handed to node:http with its bytes), the workers suite (a
# draining worker closes its connections through whichever front end holds
# them), and the HTTPS listener's suites (https.test.ts, tls-listener.test.ts:
# its HTTP/1.1 connections are the fast front end's too). Not the admin, CLI,
# file and Redis suites (their requests are incidental to what they test).
both_fronts=()
for file in test/integration/http-*.test.ts test/integration/websocket.test.ts test/integration/workers.test.ts test/integration/https.test.ts test/integration/tls-listener.test.ts; do
  [ "$file" = test/integration/http-fast-front.test.ts ] || both_fronts+=("$file")
done

# The runs below set SWITCHYARD_FRONT themselves.
unset SWITCHYARD_FRONT

# One node --test run; each ends with its own counts (spec reporter).
# --test-force-exit: a handle leaked by one file must not hang the whole run;
# --test-timeout: nor may one hung file (5 min per file, far above any file here).
# Each run's output is also kept, so that its failures can be printed again
# at the very end, where a CI log's tail shows them.
outputs=$(mktemp -d)
trap 'rm -rf "$outputs"' EXIT
run() {
  local name=$1
  shift
  node --import tsx --test --test-concurrency=1 --test-reporter=spec \
    --test-force-exit --test-timeout=300000 "$@" 2>&1 | tee "$outputs/$name"
}

# The spec reporter ends a failed run with a "failing tests" block: each failure with its error.
failures_of() {
  sed -n '/^✖ failing tests:/,$p' "$outputs/$1" | head -c 20000
}

echo "== run 1 of 2, fast front end (the default): ${#unit[@]} unit and ${#integration[@]} integration test files"
fast=0
run fast "${unit[@]}" "${integration[@]}" || fast=$?

echo "== run 2 of 2, node:http front end (SWITCHYARD_FRONT=node): ${#both_fronts[@]} integration test files"
node=0
SWITCHYARD_FRONT=node run node "${both_fronts[@]}" || node=$?

verdict() {
  if [ "$1" -eq 0 ]; then echo "PASS"; else echo "FAIL (exit $1)"; fi
}
echo "== run 1, fast front end: $(verdict "$fast")"
echo "== run 2, node:http front end (SWITCHYARD_FRONT=node): $(verdict "$node")"
if [ "$fast" -ne 0 ] || [ "$node" -ne 0 ]; then
  [ "$fast" -eq 0 ] || { echo "== run 1's failures, again:"; failures_of fast; }
  [ "$node" -eq 0 ] || { echo "== run 2's failures, again:"; failures_of node; }
  echo "== FAILED"
  exit 1
fi
echo "== all passed, under both front ends"
