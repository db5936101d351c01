#!/usr/bin/env bash
# Runs the browser test against a real `sworn serve` inside a loopback-only network
# namespace (see /work/shared/notes/webrtc-testing.md). Usage:
#   tests/browser/run.sh [path/to/sworn]     (default: target/debug/sworn)
# Needs: node >= 20, /usr/bin/chromium, `npm ci` done in tests/browser (done here if
# node_modules is missing), root or unprivileged user namespaces.
# Screenshots go to $SWORN_ARTIFACTS (default: test-artifacts/browser).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(realpath "${1:-$root/target/debug/sworn}")"
artifacts="${SWORN_ARTIFACTS:-$root/test-artifacts/browser}"
mkdir -p "$artifacts"
artifacts="$(realpath "$artifacts")"

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && timeout 300 npm ci --no-audit --no-fund)
fi

if [ "${SWORN_IN_NETNS:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then ns=(unshare --net --fork); else ns=(unshare --user --map-root-user --net --fork); fi
  exec "${ns[@]}" -- env SWORN_IN_NETNS=1 SWORN_ARTIFACTS="$artifacts" bash -c 'ip link set lo up && exec "$0" "$1"' "$0" "$bin"
fi

data="$(mktemp -d)"
log="$artifacts/server.log"
pass="browser-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cleanup() {
  if [ -n "${srv:-}" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

printf '%s' "$pass" | "$bin" --data-dir "$data" user add --username judge --role judge --password-stdin >/dev/null

export SWORN_BIND=127.0.0.1:8080 SWORN_PUBLIC_URL=http://127.0.0.1:8080 SWORN_LOOPBACK_ONLY=1 SWORN_UDP_PORT=40000
"$bin" --data-dir "$data" serve >"$log" 2>&1 &
srv=$!
for _ in $(seq 100); do
  if curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null; then break; fi
  if ! kill -0 "$srv" 2>/dev/null; then echo "sworn exited; log:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.2
done

cd "$here"
SWORN_BASE_URL=http://127.0.0.1:8080 SWORN_JUDGE_USER=judge SWORN_JUDGE_PASS="$pass" SWORN_ARTIFACTS="$artifacts" \
  timeout 300 node --test --test-concurrency=1 i18n.test.mjs hearing.test.mjs
