#!/usr/bin/env bash
# `icegate serve` gives back the memory a policy's load freed: with a policy
# of 19,000 nodes the allocator would otherwise keep it for the gateway's
# life (an idle gateway of 165-168 MiB resident rather than 36). Checked at
# start and after a reload (SIGHUP): the resident set is well below its
# high-water mark.
set -euo pipefail
test_name=policy_memory_test
source "$(dirname -- "${BASH_SOURCE[0]}")/serve_test_lib.sh"

# The demo policy's scheme and rules, with 19,000 more nodes.
awk '{ print } /^nodes:/ {
  for (i = 0; i < 19000; ++i)
    printf "  - {id: m%05d, name: \"memory test node %d\", organisation: %s, role: %s, vetting: SC}\n", i, i, org, role
}' org="$(grep -m1 -o 'organisation: [A-Za-z0-9_-]*' "$repo_root/policies/demo.yaml" | cut -d' ' -f2)" \
   role="$(grep -m1 -o 'role: [A-Za-z0-9_-]*' "$repo_root/policies/demo.yaml" | cut -d' ' -f2)" \
   "$repo_root/policies/demo.yaml" >"$work/policy.yaml"
"$icegate" policy check "$work/policy.yaml" >"$work/check.txt" 2>&1 || { cat "$work/check.txt"; fail "the generated policy is not valid"; }
start_gateway

kib() {
  kill -0 "$gateway_pid" 2>/dev/null || fail "the gateway is no longer running"
  awk -v key="$1:" '$1 == key { print $2 }' "/proc/$gateway_pid/status"
}
# Resident now, and at most, in KiB: what was given back is the difference.
check() {
  local rss hwm
  rss=$(kib VmRSS); hwm=$(kib VmHWM)
  echo "policy_memory_test: $1: resident $rss KiB, at most $hwm KiB"
  (( hwm > 80 * 1024 )) || fail "$1: the load peaked at $hwm KiB: too small a policy to show anything"
  (( rss * 2 < hwm )) || fail "$1: $rss KiB resident of a $hwm KiB peak: the load's freed memory was kept"
}
check "after start"

sed -i 's/^description: .*/description: edited for the memory test/' "$work/policy.yaml"
kill -HUP "$gateway_pid"
wait_for_log "policy now" 30
check "after a reload"

stop_gateway
echo "policy_memory_test: ok"
