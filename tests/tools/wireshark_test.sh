#!/usr/bin/env bash
# Real packets for protocol trainers, two tests in one script:
#
#   wireshark_test.sh [capture]  capture a short exchange between a real
#     `icegate serve` and two `icegate node` processes with tshark on loopback,
#     with SSLKEYLOGFILE set, then decode it with the TLS keys,
#     tools/wireshark/icegate.lua and proto/. Fails unless every frame type of
#     the exchange (Hello, Welcome, Submit, Ack, Deliver, Receipt) decodes, in
#     the right direction, with fields from inside the protobuf (node ids, the
#     message id). Needs permission to capture on lo.
#   wireshark_test.sh framing  the dissector alone on hand-made TCP packets
#     (text2pcap: no TLS, no capture): proto/README.md's worked Hello, a frame
#     split over two segments, two frames in one segment, an unknown body, and
#     the refusals (bytes that are not a Frame, a too-large or zero prefix).
#
# Exit 77 (skipped) only when tshark is not installed or capturing on the
# loopback interface is not permitted; any other problem is a failure.
# ICEGATE_KEEP=1 keeps the work directory (capture, key log, logs).
set -euo pipefail
mode="${1:-capture}"
if [[ $mode != capture && $mode != framing ]]; then
  echo "usage: wireshark_test.sh [capture|framing]" >&2
  exit 2
fi
repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
dissector="$repo_root/tools/wireshark/icegate.lua"
proto_dir="$repo_root/proto"
start_timeout=20 # seconds for the gateway, tshark and the listener to come up
tab=$'\t'

if ! command -v tshark >/dev/null; then
  echo "wireshark_test: SKIPPED: tshark is not installed (apt-get install tshark)"
  exit 77
fi

work="$(mktemp -d -t icegate-wireshark.XXXXXX)"
pids=()
alive() { kill -0 "$1" 2>/dev/null; }
# Waits up to $2 seconds for process $1 to end; true if it did.
wait_gone() {
  local ticks=$(($2 * 10))
  while alive "$1" && ((ticks-- > 0)); do sleep 0.1; done
  ! alive "$1"
}
cleanup() {
  local pid
  for pid in "${pids[@]}"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${ICEGATE_KEEP:-0} == 1 ]]; then
    echo "wireshark_test: kept $work"
  else
    rm -rf -- "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show() {
  local file
  for file in "$@"; do
    [[ -s $file ]] || continue
    echo "--- last lines of $(basename -- "$file") ---"
    tail -n 30 -- "$file" | cut -c 1-240
  done
}
fail() {
  echo "wireshark_test: FAILED: $*"
  show "$work/gateway.log" "$work/capture.err" "$work/listen.out" "$work/listen.err" "$work/send.out" \
    "$work/send.err" "$work/decoded.txt"
  exit 1
}

# tshark with nothing of the user's: no ~/.config/wireshark preferences or
# profiles, no personal plugins (a copy of icegate.lua among them would be
# loaded instead of the one under test).
# (`env`, not a shell function: the background capture's $! must be tshark's
# own pid, or stopping it would leave tshark and dumpcap running.)
mkdir -p "$work/home" "$work/wireshark-config"
tshark_env=(env HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
  WIRESHARK_CONFIG_DIR="$work/wireshark-config" tshark)

# --- framing: the dissector on hand-made packets ------------------------------

if [[ $mode == framing ]]; then
  # One TCP stream from port 50000 to the gateway's 7443, a packet per "0000"
  # offset line (text2pcap numbers the sequence numbers):
  #   1    the worked Hello of proto/README.md (ctu-wm, 0.1.0, version 1)
  #   2+3  Ack { message_id: "m1", ok: true } split after 7 bytes
  #   4    Heartbeat { sent_unix_ms: 1 } and Trigger { event: "go" } together
  #   5    a body of field 15, which this version does not know
  #   6    a varint where Frame's oneof needs a message
  #   7    0x00100001, one byte above the 1 MiB limit;  8  a zero length
  cat >"$work/frames.txt" <<'HEX'
0000 00 00 00 13 0a 11 0a 06 63 74 75 2d 77 6d 12 05
0010 30 2e 31 2e 30 18 01
0000 00 00 00 08 22 06 0a
0000 02 6d 31 10 01
0000 00 00 00 04 42 02 08 01 00 00 00 06 5a 04 0a 02
0010 67 6f
0000 00 00 00 02 7a 00
0000 00 00 00 02 08 01
0000 00 10 00 01 de ad
0000 00 00 00 00
HEX
  text2pcap -q -T 50000,7443 "$work/frames.txt" "$work/frames.pcapng" 2>"$work/text2pcap.err" ||
    fail "text2pcap failed: $(cat "$work/text2pcap.err")"
  "${tshark_env[@]}" -r "$work/frames.pcapng" -X "lua_script:$dissector" -d "tcp.port==7443,icegate" \
    -o "uat:protobuf_search_paths:\"$proto_dir\",\"TRUE\"" \
    -o "protobuf.preload_protos:TRUE" -o "protobuf.pbf_as_hf:TRUE" \
    -T fields -E separator=/t -E occurrence=a -E "aggregator=|" \
    -e frame.number -e icegate.direction -e icegate.type -e icegate.length \
    -e pbf.icegate.v1.Hello.node_id -e pbf.icegate.v1.Hello.protocol_version \
    -e pbf.icegate.v1.Ack.message_id -e pbf.icegate.v1.Trigger.event -e _ws.expert.message \
    >"$work/decoded.txt" 2>"$work/decode.err" || fail "tshark could not read the packets: $(cat "$work/decode.err")"
  echo "wireshark_test: decoded (number, direction, type, length, fields, expert info):"
  sed 's/^/    /' "$work/decoded.txt"
  # expect_row N REGEX: the tab-separated fields of packet N match REGEX.
  expect_row() {
    local row
    row="$(awk -F'\t' -v n="$1" '$1 == n' "$work/decoded.txt")"
    grep -qE -- "$2" <<<"$row" || fail "packet $1: expected a match for '$2', got: $row"
  }
  expect_row 1 "^1${tab}node -> gateway${tab}Hello${tab}19${tab}ctu-wm${tab}1${tab}"
  expect_row 2 "^2${tab}${tab}${tab}${tab}"
  expect_row 3 "^3${tab}node -> gateway${tab}Ack${tab}8${tab}${tab}${tab}m1${tab}"
  expect_row 4 "^4${tab}[^${tab}]*${tab}Heartbeat\|Trigger${tab}4\|6${tab}.*${tab}go${tab}"
  expect_row 5 "${tab}unknown body 15${tab}2${tab}"
  expect_row 6 "${tab}not a Frame${tab}2${tab}.*the first tag is not a length-delimited Frame body"
  expect_row 7 "${tab}1048577${tab}.*above the limit of 1048576 bytes: the gateway answers FRAME_TOO_LARGE"
  expect_row 8 "${tab}0${tab}.*a zero length: the gateway answers MALFORMED_FRAME"
  echo "wireshark_test: framing: reassembly, two frames in a segment, an unknown body and every refusal decoded"
  exit 0
fi

# --- capture: a real exchange on lo --------------------------------------------

icegate="${ICEGATE_BINARY:?ICEGATE_BINARY names the icegate binary}"
"$icegate" pki init "$work/pki" >"$work/pki.log" 2>&1 || fail "icegate pki init failed: $(cat "$work/pki.log")"
"$icegate" pki issue "$work/pki" ctu-wm ctio-east >>"$work/pki.log" 2>&1 ||
  fail "icegate pki issue failed: $(cat "$work/pki.log")"

# Every process writes its TLS secrets to the same key log.
export SSLKEYLOGFILE="$work/keys.log"

# The gateway first, on a port of the kernel's choosing: the capture filter
# needs the port, and nothing passes on it before a node connects.
"$icegate" serve --policy "$repo_root/policies/demo.yaml" --pki "$work/pki" --listen 127.0.0.1:0 \
  --data "$work/data" --port-file "$work/port" --no-fsync >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
port=""
for _ in $(seq $((start_timeout * 10))); do
  if [[ -s $work/port ]]; then
    port="$(tr -d '[:space:]' <"$work/port")"
    port="${port##*:}"
    [[ $port =~ ^[0-9]+$ ]] && break
    port=""
  fi
  alive "$gateway_pid" || fail "the gateway exited before listening"
  sleep 0.1
done
[[ -n $port ]] || fail "the gateway did not write its port within $start_timeout s"

# The capture. tshark prints "Capturing on 'Loopback: lo'" before dumpcap has
# even tried the interface, so that line proves nothing. Ready means dumpcap
# has opened lo with the filter applied and then the output file: tshark
# logs "Capture started." and the file holds its pcapng header.
"${tshark_env[@]}" -i lo -f "tcp port $port" -w "$work/capture.pcapng" >"$work/capture.out" 2>"$work/capture.err" &
capture_pid=$!
pids+=("$capture_pid")
capturing=0
for _ in $(seq $((start_timeout * 10))); do
  if grep -q "Capture started" "$work/capture.err" 2>/dev/null || [[ -s $work/capture.pcapng ]]; then
    capturing=1
    break
  fi
  alive "$capture_pid" || break
  sleep 0.1
done
if ((capturing == 0)); then
  if ! alive "$capture_pid" && grep -qiE "permission|not permitted" "$work/capture.err"; then
    echo "wireshark_test: SKIPPED: capturing on the loopback interface is not permitted here:"
    grep -iE "permission|not permitted" "$work/capture.err" | sed 's/^/    /'
    echo "    (Debian: sudo dpkg-reconfigure wireshark-common, answer Yes, then"
    echo "     sudo usermod -a -G wireshark \$USER and log in again; or run as root)"
    exit 77
  fi
  alive "$capture_pid" && fail "tshark did not start capturing on lo within $start_timeout s"
  fail "tshark could not capture on lo"
fi

# A recipient listening, then a sender: a two-level product to ctio-east, with
# a third portion of 40,000 bytes so that the Submit and the Deliver span
# several TLS records (16 KiB each at most) and must be reassembled.
"$icegate" node --id ctio-east --pki "$work/pki" --gateway "127.0.0.1:$port" \
  listen --count 1 --timeout 60 >"$work/listen.out" 2>"$work/listen.err" &
listen_pid=$!
pids+=("$listen_pid")
for _ in $(seq $((start_timeout * 10))); do
  grep -q "^listening as" "$work/listen.out" 2>/dev/null && break
  alive "$listen_pid" || fail "the listener exited before connecting"
  sleep 0.1
done
grep -q "^listening as" "$work/listen.out" || fail "the listener did not connect within $start_timeout s"

"$icegate" node --id ctu-wm --pki "$work/pki" --gateway "127.0.0.1:$port" \
  send --to ctio-east --category ct-problem-profile --purpose prevent --title "Wireshark test" \
  --portion "SECRET/UK EYES ONLY=sourced assessment for the capture" \
  --portion "RESTRICTED=partner version for the capture" \
  --portion "RESTRICTED=$(printf 'annex %.0s' $(seq 5000))" \
  >"$work/send.out" 2>"$work/send.err" </dev/null || fail "icegate node send failed"
message_id="$(sed -n 's/^ctu-wm sends \([0-9a-f-]*\) .*/\1/p' "$work/send.out")"
[[ $message_id =~ ^[0-9a-f-]{36}$ ]] || fail "no message id in the sender's output"

wait_gone "$listen_pid" 60 || fail "the listener did not end after its delivery"
status=0
wait "$listen_pid" || status=$?
((status == 0)) || fail "the listener exited with status $status"
grep -q "^DELIVERY ${message_id:0:8} " "$work/listen.out" || fail "the listener did not receive $message_id"

kill -TERM "$gateway_pid"
wait_gone "$gateway_pid" 20 || fail "the gateway did not stop within 20 s of SIGTERM"
status=0
wait "$gateway_pid" || status=$?
((status == 0)) || fail "the gateway exited with status $status after SIGTERM"

# Reads the capture with the keys, the dissector and the .proto files;
# pbf_as_hf makes every protobuf field a Wireshark field (pbf.icegate.v1.*).
decode() {
  "${tshark_env[@]}" -r "$work/capture.pcapng" -X "lua_script:$dissector" \
    -o "tls.keylog_file:$work/keys.log" \
    -o "icegate.port:$port" \
    -o "uat:protobuf_search_paths:\"$proto_dir\",\"TRUE\"" \
    -o "protobuf.preload_protos:TRUE" \
    -o "protobuf.pbf_as_hf:TRUE" \
    "$@"
}
fields=(
  -T fields -E separator=/t -E occurrence=a -E "aggregator=,"
  -e frame.number -e icegate.direction -e icegate.type
  -e pbf.icegate.v1.Hello.node_id -e pbf.icegate.v1.Welcome.policy_version
  -e pbf.icegate.v1.Message.id -e pbf.icegate.v1.Message.originator
  -e pbf.icegate.v1.Ack.message_id -e pbf.icegate.v1.Ack.ok
  -e pbf.icegate.v1.Deliver.decision
  -e pbf.icegate.v1.Receipt.message_id -e pbf.icegate.v1.RecipientOutcome.node_id
)

# dumpcap hands on what the kernel captured at its own pace, and what it has
# not written when it stops is lost: wait until the last frames of the
# exchange (the originator's Receipt, the recipient's Ack of its Deliver) are
# in the file before stopping the capture (a condition, not a duration).
captured=0
for _ in $(seq 60); do
  seen="$(decode -Y 'icegate.type == "Receipt" || icegate.type == "Ack"' \
    -T fields -e icegate.type -e icegate.direction 2>/dev/null || true)"
  if grep -q "^Receipt" <<<"$seen" && grep -q "^Ack${tab}node -> gateway" <<<"$seen"; then
    captured=1
    break
  fi
  alive "$capture_pid" || break
  sleep 0.5
done
# SIGTERM, not SIGINT: a background job of a script ignores SIGINT.
kill -TERM "$capture_pid" 2>/dev/null || true
wait_gone "$capture_pid" 20 || fail "tshark did not stop capturing within 20 s of SIGTERM"
wait "$capture_pid" 2>/dev/null || true
((captured == 1)) || echo "wireshark_test: note: the Receipt and the listener's Ack were not seen while capturing"

# The key log: whole NSS key log lines only (each written with one write()),
# and every session's secrets twice, once by the gateway (server context) and
# once by the node (client context).
[[ -s $work/keys.log ]] || fail "SSLKEYLOGFILE $work/keys.log was not written"
bad_line="$(grep -nvE '^[A-Z0-9_]+ [0-9a-f]{64} [0-9a-f]{64,}$' "$work/keys.log" | head -n 1 || true)"
[[ -z $bad_line ]] || fail "a key log line is not an NSS key log line: $bad_line"
sessions="$(awk '$1 == "CLIENT_TRAFFIC_SECRET_0" { print $2 }' "$work/keys.log" | sort | uniq -c)"
[[ $(wc -l <<<"$sessions") -eq 2 ]] || fail "expected the secrets of 2 TLS sessions in the key log, got: $sessions"
if awk '$1 != 2 { found = 1 } END { exit !found }' <<<"$sessions"; then
  fail "each session's secrets should be logged by both ends (gateway and node): $sessions"
fi

decode "${fields[@]}" >"$work/decoded.txt" 2>"$work/decode.err" ||
  fail "tshark could not read the capture: $(cat "$work/decode.err")"
decode -V >"$work/verbose.txt" 2>>"$work/decode.err" || fail "tshark -V failed: $(cat "$work/decode.err")"

echo "wireshark_test: decoded frames (number, direction, type, fields):"
awk -F'\t' '$3 != ""' "$work/decoded.txt" | sed 's/^/    /'

# expect DIRECTION TYPE FIELD_COLUMN VALUE_REGEX WHAT: some frame of TYPE
# sent in DIRECTION has a field (column of the -e list, 1-based) matching.
expect() {
  local direction="$1" type="$2" column="$3" value="$4" what="$5"
  awk -F'\t' -v d="$direction" -v t="$type" -v c="$column" -v v="$value" '
    $2 == d && $3 == t && $c ~ v { found = 1 } END { exit !found }' "$work/decoded.txt" ||
    fail "no $type ($direction) with $what"
}
to_gateway="node -> gateway"
to_node="gateway -> node"
expect "$to_gateway" Hello 4 '^ctu-wm$' "node_id ctu-wm"
expect "$to_gateway" Hello 4 '^ctio-east$' "node_id ctio-east"
expect "$to_node" Welcome 5 '^sha256:[0-9a-f]+$' "a policy_version sha256:..."
expect "$to_gateway" Submit 6 "^$message_id\$" "message id $message_id"
expect "$to_gateway" Submit 7 '^ctu-wm$' "originator ctu-wm"
expect "$to_node" Ack 8 "^$message_id\$" "the gateway's Ack of $message_id"
expect "$to_node" Ack 9 '^(1|True|TRUE|true)$' "ok true"
expect "$to_node" Deliver 6 "^$message_id\$" "message id $message_id"
expect "$to_node" Deliver 10 '^1$' "decision 1 (DECISION_RELEASE)"
expect "$to_gateway" Ack 8 "^$message_id\$" "the listener's Ack of $message_id"
expect "$to_node" Receipt 11 "^$message_id\$" "message id $message_id"
expect "$to_node" Receipt 12 'ctio-east' "an outcome for ctio-east"

# The trainer's view (-V): the protobuf tree names the message and its fields.
grep -q "Message: icegate.v1.Frame" "$work/verbose.txt" || fail "no 'Message: icegate.v1.Frame' in tshark -V"
grep -q "Message: icegate.v1.Hello" "$work/verbose.txt" || fail "no 'Message: icegate.v1.Hello' in tshark -V"
grep -q "decision: DECISION_RELEASE (1)" "$work/verbose.txt" || fail "no 'decision: DECISION_RELEASE (1)' in tshark -V"
grep -q "icegate wire protocol, Submit, [0-9]* bytes" "$work/verbose.txt" || fail "no icegate Submit item in tshark -V"

# Nothing left encrypted (an application data record TLS could not decrypt
# has no inner content type), nothing malformed, no error-level expert info
# (which is how the dissector flags a refused prefix or bytes not a Frame).
undecoded="$(decode -Y 'tls.record.opaque_type == 23 && !tls.record.content_type' \
  -T fields -e frame.number 2>"$work/filter.err")" || fail "tshark -Y failed: $(cat "$work/filter.err")"
[[ -z $undecoded ]] ||
  fail "TLS records left encrypted (the key log did not cover them) in frames: ${undecoded//$'\n'/ }"
malformed="$(decode -Y '_ws.malformed || _ws.expert.severity >= error' \
  -T fields -e frame.number 2>"$work/filter.err")" || fail "tshark -Y failed: $(cat "$work/filter.err")"
[[ -z $malformed ]] || fail "malformed or erroneous frames: ${malformed//$'\n'/ }"

# What a trainer hands out: one capture with the keys inside (editcap
# --inject-secrets), which decodes with no key log preference at all.
# (editcap comes with tshark, in wireshark-common.)
editcap --inject-secrets "tls,$work/keys.log" "$work/capture.pcapng" "$work/with-keys.pcapng" 2>"$work/editcap.err" ||
  fail "editcap --inject-secrets failed: $(cat "$work/editcap.err")"
hellos="$("${tshark_env[@]}" -r "$work/with-keys.pcapng" -X "lua_script:$dissector" -o "icegate.port:$port" \
  -Y 'icegate.type == "Hello"' -T fields -e frame.number 2>/dev/null | grep -c . || true)"
[[ $hellos == 2 ]] || fail "the capture with injected secrets decodes $hellos Hello frames, not 2"

echo "wireshark_test: Hello, Welcome, Submit, Ack, Deliver and Receipt decoded from the capture (message $message_id)"
