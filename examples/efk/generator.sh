#!/bin/sh
# Journal generator of the EFK demo (the "generator" service of
# docker-compose.yml). Fluent Bit reads the same directory.
#
# 1. Once, an hour of history for worker-1, made by `nri-audit gen-journal`
#    (containerd and CRI-O lines with the NRI audit messages, plugin errors,
#    ordinary lines), so the dashboard is not empty at first sight.
# 2. Then, for ever, live entries of worker-1 (runtime audit lines) and
#    worker-2 (nri-audit validator lines with container and pod identity),
#    appended every few seconds by nri-audit-demogen.
set -eu

dir=${NRI_AUDIT_JOURNAL_DIR:-/var/log/journal}
interval=${NRI_AUDIT_GEN_INTERVAL:-2s}
mkdir -p "$dir"

if [ ! -e "$dir/system.journal" ]; then
	start=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
	nri-audit gen-journal --out "$dir" --entries 3000 --interval 9s --start "$start" --hostname worker-1 --seed 1
fi

exec nri-audit-demogen --dir "$dir" --interval "$interval" --flush "$interval"
