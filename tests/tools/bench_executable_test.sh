#!/bin/sh
# The bench is its own executable (issue 16): the production `icegate` carries
# no broker client libraries (libmosquitto, libnats) nor Google Benchmark, and
# has no `bench` subcommands; `icegate-bench` has the bench's options and finds
# the `icegate` it starts as a gateway next to itself, or is told with --icegate.
set -eu

: "${ICEGATE_BINARY:?set ICEGATE_BINARY to the icegate executable}"
: "${ICEGATE_BENCH_BINARY:?set ICEGATE_BENCH_BINARY to the icegate-bench executable}"
work=$(mktemp -d "${TMPDIR:-/tmp}/icegate-bench-exe-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "bench executable: $*" >&2; exit 1; }

# What the production binary links, as the loader sees it.
ldd "$ICEGATE_BINARY" >"$work/ldd.txt" || fail "ldd $ICEGATE_BINARY failed"
if grep -Ei 'mosquitto|nats|benchmark' "$work/ldd.txt" >&2; then
  fail "$ICEGATE_BINARY links a bench-only library (above)"
fi

# `icegate bench` and `icegate bench-relay` are gone: CLI11 sees no subcommand
# (exit 1, "A subcommand is required"), not a bench's own argument error.
for sub in bench bench-relay; do
  status=0
  "$ICEGATE_BINARY" "$sub" --no-such-option >"$work/out.txt" 2>&1 || status=$?
  [ "$status" -eq 1 ] || { cat "$work/out.txt" >&2; fail "icegate $sub exited $status, expected 1"; }
  grep -q 'subcommand' "$work/out.txt" || { cat "$work/out.txt" >&2; fail "icegate still has a $sub subcommand"; }
done
"$ICEGATE_BINARY" --help >"$work/help.txt" 2>&1 || fail "icegate --help failed"
if grep -Eq '^ +bench' "$work/help.txt"; then cat "$work/help.txt" >&2; fail "icegate --help still lists a bench subcommand"; fi

# icegate-bench has the bench's options; its relay helper stays hidden.
"$ICEGATE_BENCH_BINARY" --help >"$work/help.txt" 2>&1 || fail "icegate-bench --help failed"
for option in --workloads --targets --duration --smoke --json --work-dir --no-micro --relay-keep-buffers --icegate --key-type; do
  grep -q -- "$option" "$work/help.txt" || { cat "$work/help.txt" >&2; fail "icegate-bench --help lacks $option"; }
done
if grep -q 'bench-relay' "$work/help.txt"; then fail "icegate-bench --help shows the hidden bench-relay"; fi

# A gateway binary that is not there is named in the error, before any run.
status=0
"$ICEGATE_BENCH_BINARY" --smoke --workloads W1 --targets icegate --no-micro --work-dir "$work/w" \
  --icegate "$work/no-such-icegate" >"$work/out.txt" 2>"$work/err.txt" || status=$?
[ "$status" -eq 1 ] || fail "a missing --icegate exited $status, expected 1"
grep -q "$work/no-such-icegate" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "the error does not name the missing binary"; }
echo "bench executable: ok"
