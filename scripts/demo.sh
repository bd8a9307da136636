#!/usr/bin/env bash
# make demo: the first five minutes of nri-audit on a Debian/Ubuntu machine.
#
#  1. installs what is missing (libsystemd-dev, systemd-journal-remote, a C
#     compiler for cgo), with sudo when not root;
#  2. builds build/nri-audit;
#  3. generates a realistic sample journal (containerd and CRI-O, the 45 NRI
#     audit messages, several plugins, plugin errors, a rotated pair);
#  4. ships it with `nri-audit ship`: as NDJSON into a file, and also into
#     Elasticsearch when ES_URL is set (after `nri-audit setup`);
#  5. prints a summary: adjustments by plugin and field, errors by plugin.
#
# Environment: ES_URL (and ES_USER, ES_PASSWORD or ES_API_KEY) to ship to
# Elasticsearch; DEMO_DIR (default build/demo); DEMO_ENTRIES (default 5000);
# GO (default go).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DEMO_DIR=${DEMO_DIR:-build/demo}
DEMO_ENTRIES=${DEMO_ENTRIES:-5000}
BIN=build/nri-audit

if [ -t 1 ]; then
  say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
  say() { printf '\n==> %s\n' "$*"; }
fi
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# 1. Packages.
if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  need=()
  for pkg in libsystemd-dev systemd-journal-remote gcc libc6-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install ${need[*]} yourself"
      sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
else
  echo "demo: not a Debian/Ubuntu system; make sure libsystemd headers and systemd-journal-remote are installed" >&2
fi
command -v "$GO" >/dev/null 2>&1 || die "Go is not installed: get Go 1.26 or newer from https://go.dev/dl/ (distribution packages are often older)"

# 2. Build.
say "building $BIN"
mkdir -p build
CGO_ENABLED=1 "$GO" build -trimpath -o "$BIN" ./cmd/nri-audit

# 3. A sample journal.
say "generating a sample journal with $DEMO_ENTRIES entries in $DEMO_DIR/journal"
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
"$BIN" gen-journal --out "$DEMO_DIR/journal" --entries "$DEMO_ENTRIES" --files 2
if command -v journalctl >/dev/null 2>&1; then
  echo "a few of its entries (journalctl --directory $DEMO_DIR/journal):"
  journalctl --directory "$DEMO_DIR/journal" -o short-iso --no-pager -n 400 SYSLOG_IDENTIFIER=containerd 2>/dev/null \
    | grep -m 4 'nri.plugin' | cut -c1-180 || true
fi

# 4. Ship.
say "shipping it: nri-audit ship --directory $DEMO_DIR/journal --output $DEMO_DIR/docs.ndjson"
"$BIN" ship --directory "$DEMO_DIR/journal" --cursor-file "$DEMO_DIR/cursor" --output "$DEMO_DIR/docs.ndjson"
if [ -n "${ES_URL:-}" ]; then
  say "installing the index templates: nri-audit setup --url \$ES_URL"
  "$BIN" setup || echo "demo: setup failed (is \$ES_URL an Elasticsearch?); shipping anyway" >&2
  say "shipping to Elasticsearch at $ES_URL"
  "$BIN" ship --directory "$DEMO_DIR/journal" --cursor-file "$DEMO_DIR/es.cursor"
fi

# 5. Summary.
say "summary (nri-audit summary $DEMO_DIR/docs.ndjson)"
"$BIN" summary "$DEMO_DIR/docs.ndjson"

cat <<MSG

Documents: $DEMO_DIR/docs.ndjson (one JSON document per journal entry), e.g.
  grep -m1 '"nri_event":"AddMount"' $DEMO_DIR/docs.ndjson | jq .
Ship again and nothing new goes out: the cursor is in $DEMO_DIR/cursor.
On a node: sudo $BIN ship --follow --cursor-file /var/lib/nri-audit/ship.cursor --url https://es:9200
MSG
