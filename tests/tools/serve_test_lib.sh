# Shared by the shell tests that run `icegate serve` on a policy of their
# own (sighup_test.sh, policy_memory_test.sh). Source it with the test's name
# set in `test_name`; it sets `icegate`, `repo_root` and a scratch `work`
# directory (removed on exit, with the gateway killed if it still runs)
# holding the scheme the project's policies name, for the test's policy.yaml.
icegate="${ICEGATE_BINARY:?ICEGATE_BINARY names the icegate binary}"
repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
work="$(mktemp -d)"
gateway_pid=""
cleanup() { [[ -n $gateway_pid ]] && kill -KILL "$gateway_pid" 2>/dev/null; rm -rf -- "$work"; }
trap cleanup EXIT
fail() {
  echo "$test_name: $*"
  if [[ -f $work/gateway.log ]]; then echo "--- gateway log ---"; cat "$work/gateway.log"; fi
  exit 1
}
mkdir -p "$work/schemes"
cp "$repo_root/policies/schemes/gpms-2008.yaml" "$work/schemes/"

# Starts `icegate serve` on $work/policy.yaml and a fresh PKI, and waits
# until it listens.
start_gateway() {
  "$icegate" pki init "$work/pki" >/dev/null
  "$icegate" serve --policy "$work/policy.yaml" --pki "$work/pki" --listen 127.0.0.1:0 \
    --data "$work/data" --port-file "$work/port" 2>"$work/gateway.log" &
  gateway_pid=$!
  for _ in $(seq 300); do [[ -s $work/port ]] && break; sleep 0.1; done
  [[ -s $work/port ]] || fail "the gateway did not start"
}

# Waits for a line of the gateway's log matching $1, for $2 seconds (5 unless given).
wait_for_log() {
  for _ in $(seq $((${2:-5} * 20))); do grep -q -- "$1" "$work/gateway.log" && return 0; sleep 0.05; done
  fail "no log line matching '$1'"
}

# SIGTERM, then a clean exit (status 0) is required.
stop_gateway() {
  kill -TERM "$gateway_pid"
  local status=0
  wait "$gateway_pid" || status=$?
  gateway_pid=""
  [[ $status == 0 ]] || fail "serve exited with $status after SIGTERM"
}
