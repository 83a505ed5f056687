#!/bin/sh
# Keeps a checkout of the vhosts repository current, for a host without
# Kubernetes. Run it from cron (or a systemd timer) every minute:
#
#   * * * * *  switchyard  /srv/vhosts-repo/deploy/git-pull.sh /srv/vhosts-repo
#
# The proxy watches /srv/vhosts-repo/vhosts (file.path in config.json) and
# applies each new commit as one version, after validating it. A commit that
# does not validate changes nothing on the proxy: the last valid version
# stays in force, and the problem is in its log and in GET /status.
set -eu
repo=${1:?usage: git-pull.sh <checkout>}
cd "$repo"
# --ff-only: the checkout only ever follows the branch, never merges locally.
git pull --quiet --ff-only
