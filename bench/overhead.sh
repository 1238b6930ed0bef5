#!/usr/bin/env bash
# Overhead: ferry's wall time beyond the platform's own build + deploy time, next to a curl +
# `sleep 5` loop (bench/curl-loop.sh) doing the same job against the same simulator.
#
#   bench/overhead.sh            # RUNS=5 runs per tool and scenario (about 5 minutes)
#   RUNS=10 bench/overhead.sh
#
# Two scenarios, each with known platform timings (no tail lines, so each phase is terminal and
# its log complete exactly at queue + duration after its trigger):
#   log     build queued 0.5 s + runs 6 s writing 200 lines; deploy 0.3 s + 4 s writing 20 lines
#   silent  the same timings, no log lines at all (ferry's poll interval backs off undisturbed)
# Writes bench/results/overhead-<scenario>.{json,md} (hyperfine), overhead-<scenario>-ferry.json
# (ferry's --json result of every timed run) and overhead.md (the summary table).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
need hyperfine curl jq awk
ensure_ferry

RUNS=${RUNS:-5}
BUILD_QUEUE=0.5 BUILD_RUN=6 DEPLOY_QUEUE=0.3 DEPLOY_RUN=4
PLATFORM=$(awk -v a=$BUILD_QUEUE -v b=$BUILD_RUN -v c=$DEPLOY_QUEUE -v d=$DEPLOY_RUN \
	'BEGIN { printf "%.3f", a + b + c + d }')
mkdir -p "$RESULTS"

sim_script() { # LOG_LINES
	cat <<EOF
[build]
queue = "${BUILD_QUEUE}s"
duration = "${BUILD_RUN}s"
log_lines = $1
tail_lines = 0
tail_delay = "0s"

[deploy]
queue = "${DEPLOY_QUEUE}s"
duration = "${DEPLOY_RUN}s"
log_lines = $(($1 / 10))
tail_lines = 0
tail_delay = "0s"
EOF
}

summary=$WORK/summary.md
{
	echo "| scenario | tool | runs | mean wall (s) | σ (s) | min – max (s) | platform's own time (s) | overhead (s) |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
} >"$summary"
phases=$WORK/phases.md
{
	echo "| scenario | phase | platform's own time (ms) | ferry's phase duration, mean (min – max) (ms) | overhead per phase, mean (max) (ms) |"
	echo "|---|---|---:|---:|---:|"
} >"$phases"

for scenario in log silent; do
	case $scenario in
	log) lines=200 ;;
	silent) lines=0 ;;
	esac
	sim_script "$lines" >"$WORK/$scenario.toml"
	start_sim "$WORK/$scenario.toml"
	runs_json=$WORK/$scenario-ferry.json
	: >"$runs_json"
	echo "== scenario $scenario: simulator at $SIM_URL, platform's own time ${PLATFORM}s" >&2
	# ferry's --json result of each timed run is appended to a file (a shell redirection, no
	# extra process), so the per-phase durations come from the very runs hyperfine times.
	hyperfine --runs "$RUNS" --style basic \
		--export-json "$RESULTS/overhead-$scenario.json" \
		--export-markdown "$RESULTS/overhead-$scenario.md" \
		-n ferry "env -i PATH='$PATH' '$FERRY' deploy --config '$ROOT/examples/simulator.toml' --environment staging --platform-url $SIM_URL --json >>'$runs_json'" \
		-n curl-loop "'$ROOT/bench/curl-loop.sh' $SIM_URL staging" |
		tee "$RESULTS/overhead-$scenario.txt"
	check_sim
	stop_sim
	jq -s '[.[] | {status, duration_ms, phases: [.phases[] | {phase, status, duration_ms}]}]' \
		"$runs_json" >"$RESULTS/overhead-$scenario-ferry.json"
	if [ "$(jq '[.[] | select(.status != "succeeded")] | length' "$RESULTS/overhead-$scenario-ferry.json")" != 0 ]; then
		echo "bench: a ferry run did not succeed; see $RESULTS/overhead-$scenario-ferry.json" >&2
		exit 1
	fi
	jq -r --arg s "$scenario" --argjson p "$PLATFORM" '.results[] |
		"| \($s) | \(.command) | \(.times | length) | \(.mean * 1000 | round / 1000) | \((.stddev // 0) * 1000 | round / 1000) | \(.min * 1000 | round / 1000) – \(.max * 1000 | round / 1000) | \($p) | **\((.mean - $p) * 1000 | round / 1000)** |"' \
		"$RESULTS/overhead-$scenario.json" >>"$summary"
	jq -r --arg s "$scenario" \
		--argjson build "$(awk -v a=$BUILD_QUEUE -v b=$BUILD_RUN 'BEGIN { print (a + b) * 1000 }')" \
		--argjson deploy "$(awk -v a=$DEPLOY_QUEUE -v b=$DEPLOY_RUN 'BEGIN { print (a + b) * 1000 }')" '
		{build: $build, deploy: $deploy} as $own |
		[.[].phases[]] | group_by(.phase)[] |
		(.[0].phase) as $ph | [.[].duration_ms] as $d |
		($d | add / length) as $mean |
		"| \($s) | \($ph) | \($own[$ph]) | \($mean | round) (\($d | min) – \($d | max)) | \($mean - $own[$ph] | round) (\(($d | max) - $own[$ph])) |"' \
		"$RESULTS/overhead-$scenario-ferry.json" >>"$phases"
done

{
	echo "# Overhead"
	echo
	machine_info
	echo "- runs per tool and scenario: $RUNS (hyperfine, no warm-up)"
	echo
	echo "Whole run (process start to exit), build + deploy:"
	echo
	cat "$summary"
	echo
	echo "Per phase, as ferry measures it (trigger to terminal state with the log complete; from --json):"
	echo
	cat "$phases"
} | tee "$RESULTS/overhead.md"
