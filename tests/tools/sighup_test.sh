#!/usr/bin/env bash
# `icegate serve` reloads its policy on SIGHUP: a valid edit is swapped in,
# an invalid one is refused with its errors logged and the old policy kept;
# SIGTERM then shuts down cleanly with exit 0.
set -euo pipefail
icegate="${ICEGATE_BINARY:?ICEGATE_BINARY names the icegate binary}"
repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
work="$(mktemp -d)"
gateway_pid=""
cleanup() { [[ -n $gateway_pid ]] && kill -KILL "$gateway_pid" 2>/dev/null; rm -rf -- "$work"; }
trap cleanup EXIT
fail() { echo "sighup_test: $*"; echo "--- gateway log ---"; cat "$work/gateway.log"; exit 1; }

mkdir -p "$work/schemes"
cp "$repo_root/policies/schemes/gpms-2008.yaml" "$work/schemes/"
cp "$repo_root/policies/demo.yaml" "$work/policy.yaml"
"$icegate" pki init "$work/pki" >/dev/null
"$icegate" serve --policy "$work/policy.yaml" --pki "$work/pki" --listen 127.0.0.1:0 \
  --data "$work/data" --port-file "$work/port" 2>"$work/gateway.log" &
gateway_pid=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
[[ -s $work/port ]] || fail "the gateway did not start"
first_version="$(grep -o 'sha256:[0-9a-f]*' "$work/gateway.log" | head -1)"

wait_for_log() {
  for _ in $(seq 100); do grep -q -- "$1" "$work/gateway.log" && return 0; sleep 0.05; done
  fail "no log line matching '$1'"
}

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

kill -TERM "$gateway_pid"
status=0
wait "$gateway_pid" || status=$?
gateway_pid=""
[[ $status == 0 ]] || fail "serve exited with $status after SIGTERM"
echo "sighup_test: reload, refusal and shutdown behaved"
