#!/bin/sh
# Conformance: drives florasim through the official FLORA TypeScript SDK with
# the shared probe (../shared/conformance beside the checkout) and fails on
# any call that does not answer as the API's contract says.
# Exit 77 (ctest: skipped) only when the probe or Node.js is not there.
set -eu
florasim=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
probe=${FB_CONFORMANCE_DIR:-$top/../shared/conformance}
if [ ! -f "$probe/sdk_probe.mjs" ]; then
	echo "conformance: no probe at $probe; skipped"
	exit 77
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "conformance: Node.js and npm are not installed; skipped"
	exit 77
fi
work=$(mktemp -d)
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
# The shared folder is read-only: install the SDK in a copy.
cp -R "$probe/." "$work/"
chmod -R u+w "$work"
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

"$florasim" --port 0 --max-seconds 300 --quiet --api-key sk_test_conformance \
	--run-time 1s >"$work/port" &
sim_pid=$!
i=0
while ! grep -q listening "$work/port" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -gt 100 ] && { echo "conformance: florasim did not start"; exit 1; }
	sleep 0.1
done
base=$(sed -n 's/^florasim listening on //p' "$work/port")
cd "$work"
FLORA_BASE_URL=$base FLORA_API_KEY=sk_test_conformance node sdk_probe.mjs >"$work/probe.jsonl"
status=$?
cat "$work/probe.jsonl"
exit $status
