#!/bin/sh
# The memory of a gateway owed many large frames by a node that is offline
# (issue 15, point 4; docs/PERFORMANCE.md, "Owed frames bounded in bytes").
#
#   tools/bench/offline_backlog_memory.sh ICEGATE [MESSAGES] [BYTES] [WORKDIR]
#
# Starts `ICEGATE serve` (demo policy, a data directory of its own), sends
# MESSAGES messages (default 200) of BYTES payload bytes (default 262144)
# from ctu-wm to ctio-east, which never connects, one `icegate node send`
# each, and prints the server's resident set (VmRSS) and its peak (VmHWM)
# before and after; then restarts the server on the same data (recover) and
# prints them again. Run from the source tree (it reads policies/demo.yaml).
set -eu
BIN=$1
MESSAGES=${2:-200}
BYTES=${3:-262144}
WORK=${4:-/tmp/icegate-backlog-memory}

rm -rf "$WORK"
mkdir -p "$WORK"
"$BIN" pki init "$WORK/pki" >/dev/null
"$BIN" pki issue "$WORK/pki" ctu-wm ctio-east >/dev/null
python3 - "$BYTES" >"$WORK/message.json" <<'EOF'
import json, sys
print(json.dumps({"title": "backlog", "to": ["ctio-east"], "category": "ct-problem-profile", "purpose": "prevent",
                  "portions": [{"id": "p", "label": "RESTRICTED", "body": "x" * int(sys.argv[1])}]}))
EOF

start() {
  rm -f "$WORK/port"
  "$BIN" serve --policy policies/demo.yaml --pki "$WORK/pki" --data "$WORK/data" --listen 127.0.0.1:0 \
    --port-file "$WORK/port" --log-level warn >>"$WORK/serve.log" 2>&1 &
  PID=$!
  while [ ! -s "$WORK/port" ]; do sleep 0.1; done
  PORT=$(cat "$WORK/port")
}
memory() {  # $1: what is measured
  printf '%-40s %s\n' "$1" "$(grep -E '^Vm(RSS|HWM)' /proc/$PID/status | tr -s ' \t' ' ' | tr '\n' ' ')"
}

start
memory "started"
i=0
while [ "$i" -lt "$MESSAGES" ]; do
  "$BIN" node --id ctu-wm --pki "$WORK/pki" --gateway "127.0.0.1:$PORT" send --file "$WORK/message.json" >/dev/null
  i=$((i + 1))
done
sleep 1
memory "after $MESSAGES x $BYTES B owed"
kill -TERM "$PID"
wait "$PID" || true
start
sleep 1
memory "restarted on the same data"
kill -TERM "$PID"
wait "$PID" || true
