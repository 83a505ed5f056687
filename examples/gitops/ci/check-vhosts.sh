#!/bin/sh
# CI step for the vhosts repository: fail the build when the proxy would not
# accept the tree, and (when an admin API is reachable from CI) show what
# merging would change on a running instance.
#
#   SWITCHYARD            how to run the CLI (default: switchyard on the PATH;
#                         e.g. "npx --no-install switchyard")
#   SWITCHYARD_ADMIN_URL  optional, e.g. http://10.0.0.5:9090: print the plan
#   SWITCHYARD_ADMIN_TOKEN  its bearer token, when it has one
#
# Exit status: that of `switchyard validate` (1 on any problem, 2 on a
# usage error); the plan is informational and never fails the build.
set -eu
cd "$(dirname "$0")/.."
SWITCHYARD=${SWITCHYARD:-switchyard}

$SWITCHYARD validate vhosts

if [ -n "${SWITCHYARD_ADMIN_URL:-}" ]; then
  $SWITCHYARD plan vhosts --admin "$SWITCHYARD_ADMIN_URL" || echo "plan unavailable (exit $?)" >&2
fi
