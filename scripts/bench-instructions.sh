#!/bin/sh
# bench-instructions.sh: instructions per record of the plugin's hot path
# (flbchunk decode + parser build + esbulk encode, BenchmarkPipeline in
# ./flbout), counted by valgrind's callgrind. Unlike ns/op, the count does
# not depend on what else the machine runs, so it compares two versions of
# the code on a shared or noisy VM. valgrind does not emulate SHA-NI: SHA-256
# runs its AVX2 path there, so the id's share is reported apart.
#
# usage: scripts/bench-instructions.sh   (needs valgrind: apt-get install valgrind)
set -eu
command -v valgrind >/dev/null || { echo "bench-instructions: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/flbout.test" ./flbout
# Async preemption signals upset callgrind; one P and no GC keep the
# runtime's other threads out of the count, which then repeats to 0.1 %.
GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
	'--toggle-collect=github.com/nri-audit/nri-audit/flbout.(*Output).build' \
	"$dir/flbout.test" -test.run '^$' -test.bench '^BenchmarkPipeline$' -test.benchtime 20x >"$dir/log" 2>&1 ||
	{ cat "$dir/log" >&2; exit 1; }
callgrind_annotate --auto=no "$dir/cg.out" >"$dir/annotate" 2>/dev/null
# Records = calls of parser.(*Builder).Build (names are compressed to ids
# after their first use in the callgrind file).
records=$(awk '
	/^c?fn=\([0-9]+\)/ {
		match($0, /\([0-9]+\)/); id = substr($0, RSTART+1, RLENGTH-2)
		rest = substr($0, RSTART+RLENGTH+1); if (rest != "") name[id] = rest
		if ($0 ~ /^cfn=/) callee = name[id]
	}
	/^calls=/ { split(substr($0, 7), a, " "); if (callee ~ /parser\.\(\*Builder\)\.Build$/) n += a[1] }
	END { print n + 0 }' "$dir/cg.out")
awk -v records="$records" '
	/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
	/sha256block_amd64\.s:/ { gsub(",", "", $1); sha += $1 }
	END {
		if (total == 0 || records == 0) { print "bench-instructions: no count (see callgrind output)" > "/dev/stderr"; exit 1 }
		printf "%d records: %d instructions/record (SHA-256 blocks %d, the rest %d)\n", records, total/records, sha/records, (total-sha)/records
	}' "$dir/annotate"
