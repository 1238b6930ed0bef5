# shellcheck shell=bash
# Shared helpers for the bench/*.sh scripts (sourced, not run). Bash only.
#
# After `source bench/lib.sh`:
#   ROOT     the repository root;      FERRY  the release binary (ensure_ferry builds it if missing)
#   RESULTS  where results are written (default bench/results)
#   WORK     a private temporary directory, removed on exit
#   start_sim SCRIPT.toml   starts `ferry sim` on a free port; sets SIM_PID and SIM_URL
#   check_sim               fails (with its stderr) if the simulator died
#   stop_sim                stops it (also done on exit, on error and on Ctrl-C)
# ferry itself is always run as `env -i PATH=… ferry …`, so that no CI variable of the machine
# running the benchmark changes what it does.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FERRY=${FERRY:-$ROOT/target/release/ferry}
RESULTS=${RESULTS:-$ROOT/bench/results}
SIM_PID=
SIM_URL=
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")

cleanup() {
	stop_sim
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "bench: '$tool' is required (Debian/Ubuntu: apt-get install -y $tool)" >&2
			exit 2
		fi
	done
}

ensure_ferry() {
	if [ ! -x "$FERRY" ]; then
		echo "bench: building $FERRY (cargo build --release)…" >&2
		(cd "$ROOT" && cargo build --release --locked)
	fi
}

# start_sim SCRIPT: starts the simulator and waits (up to 10 s) for its "listening on" line.
start_sim() {
	stop_sim
	"$FERRY" sim --listen 127.0.0.1:0 --script "$1" >"$WORK/sim.out" 2>"$WORK/sim.err" &
	SIM_PID=$!
	local i
	for i in $(seq 100); do
		SIM_URL=$(sed -n 's/^ferry sim listening on \(http:[^ ]*\)$/\1/p' "$WORK/sim.out")
		if [ -n "$SIM_URL" ]; then
			return 0
		fi
		if ! kill -0 "$SIM_PID" 2>/dev/null; then
			echo "bench: the simulator exited: $(cat "$WORK/sim.err")" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "bench: the simulator did not start within 10 s (after $i tries)" >&2
	exit 1
}

# check_sim: fails loudly, with the simulator's stderr and exit status, if it is gone.
check_sim() {
	# A dead child stays a zombie until waited for, so look at its state, not just kill -0.
	if [ -n "$SIM_PID" ] && [ "$(awk '{ print $3 }' "/proc/$SIM_PID/stat" 2>/dev/null || echo gone)" = Z ] ||
		{ [ -n "$SIM_PID" ] && ! kill -0 "$SIM_PID" 2>/dev/null; }; then
		local code=0
		wait "$SIM_PID" || code=$?
		echo "bench: the simulator (pid $SIM_PID) exited unexpectedly with status $code; its stderr:" >&2
		cat "$WORK/sim.err" >&2
		SIM_PID=
		exit 1
	fi
}

stop_sim() {
	if [ -n "$SIM_PID" ]; then
		kill "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
		SIM_PID=
		SIM_URL=
	fi
}

# machine_info: one Markdown list describing where the numbers come from.
machine_info() {
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' (+ uncommitted changes)')"
	echo "- CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1), $(nproc) cores; $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
	echo "- kernel: $(uname -sr); load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- $("$FERRY" --version), $(hyperfine --version 2>/dev/null || echo 'no hyperfine'), $(curl --version | head -n1 | cut -d' ' -f1-2)"
}
