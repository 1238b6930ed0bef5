#!/usr/bin/env bash
# Memory while streaming a build log of 10 MB, 100 MB and 1 GB (100-byte lines): ferry's peak
# RSS must stay flat. `ferry build` only, console sink only (no --events), stderr not a TTY.
#
#   bench/memory.sh                 # about 6 minutes
#   RATE_MBPS=30 REPEATS=3 BURST=0 bench/memory.sh
#   SIZES='1 MB:10000,10 MB:100000' BURST=0 bench/memory.sh    # a quick try
#
# For each size the simulator writes the log at RATE_MBPS (default 20 MB/s: 10 MB in 0.5 s,
# 100 MB in 5 s, 1 GB in 50 s; queue 0, no tail lines). Then:
#   - REPEATS runs (default 2) with stderr redirected to /dev/null, measured with /usr/bin/time -v,
#     ferry's RSS also sampled once a second from /proc (to see a trend, not just the peak);
#   - one run with stderr piped into awk, which counts the log lines ferry printed (the check
#     that the whole log arrived) and keeps the other lines (warnings); also measured.
# BURST=1 (default) adds one counted 1 GB run whose log is written in 2 s, i.e. as fast as ferry
# can read it — see BENCHMARKS.md for why that one does not show the whole log.
# Writes bench/results/memory.md (table) and bench/results/memory-raw.txt (time -v outputs).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
need jq awk curl pgrep
if [ ! -x /usr/bin/time ]; then
	echo "bench: /usr/bin/time is required (Debian/Ubuntu: apt-get install -y time)" >&2
	exit 2
fi
ensure_ferry

RATE_MBPS=${RATE_MBPS:-20}
REPEATS=${REPEATS:-2}
BURST=${BURST:-1}
mkdir -p "$RESULTS"
raw=$RESULTS/memory-raw.txt
table=$WORK/table.md
: >"$raw"
{
	echo "| log | lines | written in (s) | run | exit | whole log read (simulator) | log lines shown (console) | wall (s) | MB/s | ferry peak RSS (MiB) | ferry RSS sampled every 1 s: min – max (samples) (MiB) | ferry CPU user+sys (s) |"
	echo "|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|"
} >"$table"
sims=$WORK/sims.md
: >"$sims"
problems=0
sim_rss_max=0

sim_script() { # LINES DURATION_SECONDS
	cat <<EOF
[build]
queue = "0s"
duration = "${2}s"
log_lines = $1
tail_lines = 0
tail_delay = "0s"
EOF
}

# field NAME FILE: a value from /usr/bin/time -v output.
field() { awk -F': ' -v k="$1" '$1 ~ k { print $2 }' "$2"; }

# seconds_of H:MM:SS.ss or M:SS.ss
seconds_of() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"; }

# sample_rss TIME_PID OUT: ferry's resident set size (the child of /usr/bin/time) once a
# second until it exits, as "SECOND KiB" lines.
sample_rss() {
	local timer=$1 out=$2 child="" t=0 i
	for i in $(seq 100); do
		child=$(pgrep -P "$timer" | head -n1 || true)
		if [ -n "$child" ] || [ ! -e "/proc/$timer" ]; then break; fi
		sleep 0.05
	done
	while [ -n "$child" ] && [ -r "/proc/$child/status" ]; do
		awk -v t="$t" '/^VmRSS:/ { print t, $2 }' "/proc/$child/status" >>"$out" 2>/dev/null || true
		sleep 1
		t=$((t + 1))
	done
}

# measure LABEL LINES DURATION RUN_KIND(null|counted)
measure() {
	local label=$1 lines=$2 duration=$3 kind=$4 timefile=$WORK/time.txt shown=n/a
	local cmd=(/usr/bin/time -v -o "$timefile" env -i PATH="$PATH" "$FERRY" build
		--config "$ROOT/examples/simulator.toml" --platform-url "$SIM_URL" --json)
	: >"$WORK/rss.txt"
	if [ "$kind" = null ]; then
		"${cmd[@]}" >"$WORK/result.json" 2>/dev/null &
		local timer=$!
		sample_rss "$timer" "$WORK/rss.txt"
		wait "$timer" || true
	else
		# time -v writes to its -o file, so stderr carries only ferry's console output.
		{ "${cmd[@]}" >"$WORK/result.json" || true; } 2>&1 |
			awk -v out="$WORK/other.txt" '/^  \| build / { n++; next } { print > out } END { print n + 0 }' \
				>"$WORK/shown.txt"
		shown=$(cat "$WORK/shown.txt")
	fi
	check_sim
	local code rss_kb wall cpu mbps bytes status id last received
	# The simulator's side of the check, for every run: where ferry's last read of this build's
	# log started. ferry stops reading only when the platform says the log is complete or when
	# its drain limit runs out; a last read starting within one response (max_chunk_bytes,
	# 1 MiB) of the end returned everything up to the end.
	# (The simulator's RSS first: answering /_sim/requests costs it memory of its own.)
	local sim_now
	sim_now=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SIM_PID/status")
	if [ "$sim_now" -gt "$sim_rss_max" ]; then sim_rss_max=$sim_now; fi
	id=$(jq -r '.phases[0].id // empty' "$WORK/result.json" 2>/dev/null || true)
	last=$(curl -sS "$SIM_URL/_sim/requests" | jq -r --arg p "/v1/builds/$id/log?offset=" \
		'[.[] | select(.path | startswith($p)) | .path | ltrimstr($p) | tonumber] | max // 0')
	if [ -n "$id" ] && [ $((lines * 100 - last)) -le 1048576 ]; then
		received=yes
	else
		received="**no: last read from byte $last of $((lines * 100))**"
	fi
	code=$(field "Exit status" "$timefile")
	rss_kb=$(field "Maximum resident set size" "$timefile")
	wall=$(seconds_of "$(field "Elapsed \\(wall clock\\)" "$timefile")")
	cpu=$(awk -v u="$(field "User time" "$timefile")" -v s="$(field "System time" "$timefile")" 'BEGIN { printf "%.2f", u + s }')
	bytes=$((lines * 100))
	if [ "$kind" = counted ]; then bytes=$((shown * 100)); fi
	mbps=$(awk -v b="$bytes" -v w="$wall" 'BEGIN { printf "%.1f", b / 1e6 / w }')
	status=$(jq -r .status "$WORK/result.json" 2>/dev/null || echo "no result")
	{
		echo "=== $label, $lines lines written in ${duration}s, stderr: $([ "$kind" = null ] && echo /dev/null || echo 'pipe to awk (line count)')"
		echo "ferry result status: $status; log lines shown: $shown; last log read from byte $last of $((lines * 100))"
		if [ "$kind" = counted ] && [ -s "$WORK/other.txt" ]; then
			echo "--- ferry's console output other than log lines:"
			cat "$WORK/other.txt"
		fi
		if [ -s "$WORK/rss.txt" ]; then
			echo "--- ferry's RSS once a second (second: KiB): $(awk '{ printf "%s:%s ", $1, $2 }' "$WORK/rss.txt")"
		fi
		echo "--- /usr/bin/time -v:"
		cat "$timefile"
		echo
	} >>"$raw"
	local run_label="stderr → /dev/null"
	if [ "$kind" = counted ]; then run_label="stderr → awk (counts lines)"; fi
	local shown_cell=$shown
	if [ "$kind" = counted ] && [ "$shown" != "$lines" ]; then shown_cell="**$shown (incomplete)**"; fi
	local sampled=n/a
	if [ -s "$WORK/rss.txt" ]; then
		sampled=$(awk 'NR == 1 || $2 < lo { lo = $2 } NR == 1 || $2 > hi { hi = $2 } END { printf "%.1f – %.1f (%d)", lo / 1024, hi / 1024, NR }' "$WORK/rss.txt")
	fi
	echo "| $label | $lines | $duration | $run_label | $code | $received | $shown_cell | $wall | $mbps | $(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }') | $sampled | $cpu |" >>"$table"
	echo "$label $kind: exit $code, whole log read: $received, shown $shown, wall ${wall}s, ${mbps} MB/s, peak RSS ${rss_kb} KiB" >&2
	if [ "$label" != "1 GB burst" ] && { [ "$code" != 0 ] || [ "$received" != yes ] ||
		{ [ "$kind" = counted ] && [ "$shown" != "$lines" ]; }; }; then
		problems=$((problems + 1))
	fi
}

run_size() { # LABEL LINES DURATION REPEATS
	local label=$1 lines=$2 duration=$3 repeats=$4 i
	sim_script "$lines" "$duration" >"$WORK/sim.toml"
	start_sim "$WORK/sim.toml"
	sim_rss_max=0
	for i in $(seq "$repeats"); do
		measure "$label" "$lines" "$duration" null
	done
	measure "$label" "$lines" "$duration" counted
	local peak reads
	peak=$(awk -v k="$sim_rss_max" 'BEGIN { printf "%.1f", k / 1024 }')
	reads=$(curl -sS "$SIM_URL/_sim/requests" | jq '[.[] | select(.route == "log")] | length')
	echo "| $label | $lines | $duration | $((repeats + 1)) | $reads | $((reads / (repeats + 1))) | $(awk -v l="$lines" -v n="$reads" -v r="$((repeats + 1))" 'BEGIN { printf "%.0f", l * 100 * r / n / 1024 }') | $peak |" >>"$sims"
	stop_sim
}

IFS=, read -ra specs <<<"${SIZES:-10 MB:100000,100 MB:1000000,1 GB:10000000}"
for spec in "${specs[@]}"; do
	lines=${spec#*:}
	duration=$(awk -v l="$lines" -v r="$RATE_MBPS" 'BEGIN { printf "%g", l * 100 / (r * 1e6) }')
	run_size "${spec%%:*}" "$lines" "$duration" "$REPEATS"
done
if [ "$BURST" = 1 ]; then
	run_size "1 GB burst" 10000000 2 0
fi

{
	echo "# Memory while streaming a build log"
	echo
	machine_info
	echo "- log written at ${RATE_MBPS} MB/s (MB = 10^6 bytes); MB/s below = bytes ferry received / its wall time"
	echo
	cat "$table"
	echo
	echo "Simulator (one process per log size, all its runs):"
	echo
	echo "| log | lines | written in (s) | ferry runs served | log reads (all runs) | log reads per run | KiB per read (if whole log read) | simulator RSS, largest at the end of a run (MiB) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	cat "$sims"
} | tee "$RESULTS/memory.md"

if [ "$problems" != 0 ]; then
	echo "bench: $problems run(s) failed or did not show the whole log; see $raw" >&2
	exit 1
fi
