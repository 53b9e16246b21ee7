#!/usr/bin/env bash
# The demonstration `tools/dev demo` shows, as a test: a gateway and five node
# processes over mutual TLS. Fails if the demo fails or any node's view of the
# two-level product is not what policies/demo.yaml says it should be.
set -euo pipefail
repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
output="$(mktemp)"
trap 'rm -f -- "$output"' EXIT
NO_COLOR=1 "$repo_root/tools/dev" run-demo >"$output" 2>&1 || { cat "$output"; echo "demo failed"; exit 1; }
cat "$output"

expect() {
  grep -qE -- "$1" "$output" || { echo "demo_test: expected a line matching: $1"; exit 1; }
}
# Each listener's section, then the receipt and gateway lines.
section() { awk -v node="$1" '$0 ~ "^== "node"[: ]" {on=1; next} /^== / {on=0} on' "$output"; }

section ctio-east | grep -q "decision RELEASE " || { echo "ctio-east did not get the full product"; exit 1; }
section council-prevent | grep -q "decision RELEASE_REDACTED" || { echo "council-prevent was not given the redacted version"; exit 1; }
section council-prevent | grep -q "WITHHELD portion intelligence" || { echo "council-prevent was not told what was withheld"; exit 1; }
if section council-prevent | grep -q "Sourced assessment"; then echo "the SECRET body reached the council"; exit 1; fi
section npt-sparkhill | grep -q "BPSS" || { echo "npt-sparkhill's withheld notice does not name its clearance"; exit 1; }
section iag-birmingham | grep -q "nothing delivered" || { echo "iag-birmingham received something"; exit 1; }
expect "iag-birmingham +DENY"
expect "decision message=.* to=council-prevent RELEASE_REDACTED"
echo "demo_test: every node saw what the policy allows"
