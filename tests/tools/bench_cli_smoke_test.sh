#!/bin/sh
# CI smoke of `icegate-bench` (issue 8): every workload at tiny sizes, under a
# second each, against the gateway and the relay, and against Mosquitto and
# nats-server when they are installed. Asserts that it completes (exit 0
# means every message sent was acknowledged and delivered, as often as it had
# recipients, with no errors), that the table is printed and that the JSON is
# well formed; then that --key-type ed25519 runs the gateway and the relay on
# Ed25519 certificates. No timing is asserted: this machine is shared and noisy.
set -eu

: "${ICEGATE_BENCH_BINARY:?set ICEGATE_BENCH_BINARY to the icegate-bench executable (icegate beside it)}"
work=$(mktemp -d "${TMPDIR:-/tmp}/icegate-bench-smoke-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

targets=relay,icegate
installed() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; }
if installed mosquitto; then targets="$targets,mosquitto"; fi
if installed nats-server; then targets="$targets,nats"; fi

status=0
"$ICEGATE_BENCH_BINARY" --smoke --targets "$targets" --work-dir "$work" --json "$work/bench.json" \
  >"$work/out.txt" 2>"$work/err.txt" || status=$?
cat "$work/out.txt"
if [ "$status" -ne 0 ]; then
  echo "icegate-bench --smoke exited with status $status; its progress and errors:" >&2
  cat "$work/err.txt" >&2
  exit 1
fi

fail() { echo "bench smoke: $*" >&2; exit 1; }
grep -q '^W0   relay  *[0-9]' "$work/out.txt" || fail "no W0 relay row with figures"
for w in W1 W2 W3 W4 W5; do
  grep -q "^$w   icegate  *[0-9-]" "$work/out.txt" || fail "no $w icegate row with figures"
done
grep -q 'delivered redacted' "$work/out.txt" || fail "W2 reports no redacted deliveries"
grep -q '^Targets ' "$work/out.txt" || fail "no targets section"
grep -q 'issue 15  server CPU per W1 message' "$work/out.txt" || fail "no CPU per message target"
grep -q '^W1   icegate  *[0-9,]* .* [0-9][0-9.]* ' "$work/out.txt" || fail "no W1 icegate row"
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=[x for x in d["results"] if x["target"]=="icegate" and x["workload"]=="W1"][0]; assert r["server_cpu_us_per_message"] > 0, r' "$work/bench.json" \
    || fail "bench.json has no CPU per message for W1 icegate"
fi
grep -q 'W1 icegate / W0 relay, messages/s' "$work/out.txt" || fail "no W1/W0 ratio"
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["results"], "no results"' "$work/bench.json" \
    || fail "bench.json is not valid JSON with results"
fi

# --key-type ed25519: the gateway, the relay and their nodes on Ed25519
# certificates, from a PKI of their own beside the P-256 one.
"$ICEGATE_BENCH_BINARY" --smoke --key-type ed25519 --workloads W0,W1,W5 --targets relay,icegate --no-micro \
  --work-dir "$work" --json "$work/ed.json" >"$work/ed.txt" 2>"$work/ed-err.txt" || { cat "$work/ed-err.txt" >&2; fail "--key-type ed25519 failed"; }
grep -q '^W0   relay  *[0-9]' "$work/ed.txt" || fail "no W0 relay row with figures with --key-type ed25519"
for w in W1 W5; do
  grep -q "^$w   icegate  *[0-9-]" "$work/ed.txt" || fail "no $w icegate row with --key-type ed25519"
done
grep -q 'certificates Ed25519 for icegate and the relay' "$work/ed.txt" || fail "the table does not say the keys are Ed25519"
grep -q -- '--key-type ed25519' "$work/ed.json" || fail "the run's command (--json) does not name --key-type ed25519"
if command -v openssl >/dev/null 2>&1; then
  for certificate in "$work/pki-ed25519/gateway.crt" "$work/pki-ed25519/nodes/b00000.crt"; do
    openssl x509 -in "$certificate" -noout -text | grep -q 'Public Key Algorithm: ED25519' \
      || fail "$certificate is not an Ed25519 certificate"
  done
  openssl x509 -in "$work/pki/gateway.crt" -noout -text | grep -q 'Public Key Algorithm: id-ecPublicKey' \
    || fail "the P-256 PKI's gateway certificate changed key type"
else
  echo "bench smoke: no openssl command: the certificates' key types not checked"
fi
echo "bench smoke: ok ($targets; and W1, W5 on Ed25519)"
