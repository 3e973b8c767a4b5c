#!/usr/bin/env bash
# Renders a release's report.html to a PNG with headless Chromium, to see the page as a reader
# does. The PNG goes outside the release (a file inside it would fail `anonpub verify`).
#
# Usage: scripts/render-report.sh RELEASE_DIR [OUT.png] [WIDTH,HEIGHT]
# Needs Chromium (Debian: apt-get install -y chromium). Network features are switched off; the
# page needs none.
set -euo pipefail
release=${1:?usage: scripts/render-report.sh RELEASE_DIR [OUT.png] [WIDTH,HEIGHT]}
out=${2:-report.png}
size=${3:-1200,3000}
page=$(realpath "$release/report.html")
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
  echo "render-report: no Chromium found; install it (Debian: apt-get install -y chromium)" >&2
  exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --screenshot="$(realpath -m "$out")" --window-size="$size" \
  "file://$page" >/dev/null 2>&1
echo "rendered $page to $out ($size)"
