#!/usr/bin/env bash
# `icegate serve` reloads its policy on SIGHUP: a valid edit is swapped in,
# an invalid one is refused with its errors logged and the old policy kept;
# SIGTERM then shuts down cleanly with exit 0.
set -euo pipefail
test_name=sighup_test
source "$(dirname -- "${BASH_SOURCE[0]}")/serve_test_lib.sh"

cp "$repo_root/policies/demo.yaml" "$work/policy.yaml"
start_gateway
first_version="$(grep -o 'sha256:[0-9a-f]*' "$work/gateway.log" | head -1)"

# A valid edit: a new description changes the content hash.
sed -i 's/^description: .*/description: edited for the reload test/' "$work/policy.yaml"
kill -HUP "$gateway_pid"
wait_for_log "policy now demo"
second_version="$(grep 'policy now' "$work/gateway.log" | grep -o 'sha256:[0-9a-f]*' | tail -1)"
[[ $second_version != "$first_version" ]] || fail "the policy version did not change"

# An invalid edit: refused, every error logged with its location, old policy kept.
printf 'rulez: []\n' >>"$work/policy.yaml"
kill -HUP "$gateway_pid"
wait_for_log "policy reload refused"
grep -q "policy.yaml:[0-9]*:1: error\[P002\]" "$work/gateway.log" || fail "the error was not logged with its location"
grep -q "keeping demo ($second_version)" "$work/gateway.log" || fail "did not say it kept the old policy"

stop_gateway
echo "sighup_test: reload, refusal and shutdown behaved"
