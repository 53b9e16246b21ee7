#!/usr/bin/env bash
# Runs exercise_host.test.mjs (Operation Nicole played in headless Chromium)
# for ctest. Exit 77 (ctest: skipped) only when what the test needs cannot be
# had here: node, /usr/bin/chromium or playwright-core (tools/dev setup
# installs all three); the test itself decides everything else.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
node="${ICEGATE_NODE:-node}"
if ! command -v "$node" >/dev/null; then
  echo "exercise_host_test: SKIPPED: node is not installed (Debian's nodejs package; tools/dev setup installs it)"
  exit 77
fi
exec "$node" "$here/exercise_host.test.mjs"
