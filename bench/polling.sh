#!/usr/bin/env bash
# Polling: how many requests ferry sends while a build runs, and how late it notices the end,
# side by side in one run with curl loops that `sleep 1` and `sleep 5` (bench/curl-loop.sh),
# over builds of several lengths, on the simulator, with ferry's default settings.
#
#   bench/polling.sh                          # about 7 minutes
#   LENGTHS="30 60" SCENARIOS="silent log" bench/polling.sh
#
# Scenarios (examples/simulator.toml as shipped, or with one change):
#   log        the build writes 5 lines a second; its log (by offset) says when it is complete
#   stream     the same, the log read as one streamed answer (`mode = "stream"`)
#   silent     no log, no estimate, no push: the status only
#   estimate   the same, the platform estimates the length (90–110 % of it, by length)
#   long-poll  the same, the platform holds a status request until the state changes
#   log+long-poll  the log scenario on a platform that also holds status requests
#   argocd     an Argo CD sync (ferry only: its watch stream)
# For every length, one simulator runs ferry and both loops at once (loops only where the job is
# the same plain polling). Writes bench/results/polling.md (the table) and polling-raw.json.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
need curl jq python3
ensure_ferry

# Lengths around 60 s that are not multiples of a loop's period, so that the end falls at a
# different point of each client's cycle.
LENGTHS=${LENGTHS:-"51.3 54.7 58.9 62.1 67.6"}
SCENARIOS=${SCENARIOS:-"log stream log+long-poll silent estimate long-poll argocd"}
QUEUE=0.5
mkdir -p "$RESULTS"
SIM_PIDS=()
trap 'for p in "${SIM_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT

# start_one DIR: a simulator with DIR/script.toml; its URL in DIR/url.
start_one() {
	"$FERRY" sim --listen 127.0.0.1:0 --script "$1/script.toml" >"$1/sim.out" 2>"$1/sim.err" &
	SIM_PIDS+=($!)
	local i
	for i in $(seq 100); do
		if sed -n 's/^ferry sim listening on \(http:[^ ]*\)$/\1/p' "$1/sim.out" >"$1/url" && [ -s "$1/url" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench: the simulator of $1 did not start: $(cat "$1/sim.err")" >&2
	exit 1
}

# The shipped example with the build's log replaced by $1 and $2 added to [build.status].
variant() {
	python3 - "$ROOT/examples/simulator.toml" "$1" "$2" <<'PY'
import sys
text, logs, status = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
start = text.index("[build.logs]")
end = text.index("[build.cancel]")
anchor = 'failure = ["failed", "cancelled"]\n'
at = text.index(anchor) + len(anchor)
out = text[:at] + status + "\n" + text[at:start] + logs + text[end:]
print(out, end="")
PY
}

config_of() { # SCENARIO
	case $1 in
	log) cat "$ROOT/examples/simulator.toml" ;;
	stream) variant $'[build.logs]\nmode = "stream"\nurl = "/log_stream_url"\n\n' "" ;;
	silent) variant "" "" ;;
	estimate) variant "" 'estimate = "/estimated_seconds"' ;;
	long-poll) variant "" 'long_poll = { wait = "wait", since = "since" }' ;;
	log+long-poll)
		variant "$(sed -n '/^\[build.logs\]/,/^\[build.cancel\]/p' "$ROOT/examples/simulator.toml" | sed '$d')"$'\n\n' \
			'long_poll = { wait = "wait", since = "since" }'
		;;
	argocd) printf '[platforms.cd]\nkind = "argocd"\nurl_env = "ARGOCD_URL"\ntoken_env = "ARGOCD_TOKEN"\n\n[deploy]\nplatform = "cd"\napplication = "shop"\n' ;;
	esac
}

script_of() { # SCENARIO LENGTH PERCENT
	local lines=0
	case $1 in log | stream | log+long-poll) lines=$(awk -v l="$2" 'BEGIN { printf "%d", l * 5 }') ;; esac
	if [ "$1" = argocd ]; then
		printf 'require_token = "bench-token"\n[argocd]\napps = ["shop"]\n[deploy]\nqueue = "%ss"\nduration = "%ss"\n' "$QUEUE" "$2"
		return
	fi
	[ "$1" = estimate ] && printf 'estimate_percent = %s\n' "$3"
	printf '[build]\nqueue = "%ss"\nduration = "%ss"\nlog_lines = %s\ntail_lines = 0\ntail_delay = "0s"\n' "$QUEUE" "$2" "$lines"
	printf '[deploy]\nqueue = "0.1s"\nduration = "0.3s"\nlog_lines = 3\ntail_lines = 0\ntail_delay = "0s"\n'
}

for scenario in $SCENARIOS; do
	echo "== $scenario: builds of $LENGTHS s" >&2
	percents=(90 95 100 105 110)
	n=0
	for length in $LENGTHS; do
		dir=$WORK/$scenario/$length
		mkdir -p "$dir"
		config_of "$scenario" >"$dir/ferry.toml"
		script_of "$scenario" "$length" "${percents[$((n % 5))]}" >"$dir/script.toml"
		printf '{"scenario":"%s","length":%s,"queue":%s,"percent":%s}\n' "$scenario" "$length" "$QUEUE" "${percents[$((n % 5))]}" >"$dir/meta.json"
		n=$((n + 1))
		start_one "$dir"
	done
	pids=()
	for length in $LENGTHS; do
		dir=$WORK/$scenario/$length
		url=$(cat "$dir/url")
		target=(--platform-url "$url")
		[ "$scenario" = argocd ] && target=()
		env -i PATH="$PATH" ARGOCD_URL="$url" ARGOCD_TOKEN=bench-token FERRY_SHA=0123456789abcdef0123456789abcdef01234567 \
			"$FERRY" deploy --config "$dir/ferry.toml" --environment staging "${target[@]}" --json \
			>"$dir/ferry.json" 2>"$dir/ferry.err" &
		pids+=($!)
		if [ "$scenario" != argocd ]; then
			read_log=0
			case $scenario in log | stream | log+long-poll) read_log=1 ;; esac
			for interval in 1 5; do
				INTERVAL=$interval READ_LOG=$read_log "$ROOT/bench/curl-loop.sh" "$url" staging \
					>"$dir/sleep-$interval.out" 2>"$dir/sleep-$interval.err" &
				pids+=($!)
			done
		fi
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || { echo "bench: a client failed in $scenario; see $WORK" >&2; exit 1; }
	done
	for length in $LENGTHS; do
		dir=$WORK/$scenario/$length
		curl -sS "$(cat "$dir/url")/_sim/requests" >"$dir/requests.json"
	done
	for p in "${SIM_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	SIM_PIDS=()
done

{
	echo "### Polling, side by side ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	machine_info
	echo
	python3 "$ROOT/bench/polling-report.py" "$WORK" "$RESULTS/polling-raw.json"
} | tee "$RESULTS/polling.md"
