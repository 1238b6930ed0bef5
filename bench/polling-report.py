"""The table of bench/polling.sh: per scenario and client, requests a second during the build
and the delay to notice its end, from the simulator's request logs and ferry's --json results.

- requests/s: the client's requests about the build (status, log, stream, long poll; not the
  trigger) sent after its trigger and before its end, over that time.
- expected delay (from gaps): for a client that polls, Σgap² / 2Σgap over the gaps between its
  reads (status or log, a status + log round counting once) around the end: the one the end
  fell in and the one before it. That is the mean delay for an end that could fall anywhere in
  them, whatever the phase of this run. For a push (stream, long poll, watch) there are no gaps
  to speak of: "push".
- measured delay: when the end was seen, minus when it came, averaged over the lengths: for
  ferry its phase duration (--json) minus the platform's own time; for a loop its first status
  read at or after the end.

Usage: polling-report.py WORKDIR RAW.json
"""

import json
import pathlib
import sys

RECONCILE_MS = 300  # the Argo CD simulator reconciles 300 ms after a sync ends


def client_of(request):
    headers = dict((k.lower(), v) for k, v in request["headers"])
    if "x-client" in headers:
        return headers["x-client"]
    if headers.get("user-agent", "").startswith("ferry"):
        return "ferry"
    return "other"


def expected_delay(times, end):
    """Σg²/2Σg over the gap the end fell in and the one before it."""
    reads = []
    for t in sorted(times):
        if not reads or t - reads[-1] > 100:
            reads.append(t)
    gaps = [b - a for a, b in zip(reads, reads[1:]) if a < end]
    gaps = gaps[-2:]
    if not gaps:
        return None
    return sum(g * g for g in gaps) / (2 * sum(gaps))


def one_run(directory):
    meta = json.loads((directory / "meta.json").read_text())
    requests = json.loads((directory / "requests.json").read_text())
    argo = meta["scenario"] == "argocd"
    platform_ms = (meta["queue"] + meta["length"]) * 1000 + (RECONCILE_MS if argo else 0)
    out = {}
    for client in ["ferry", "sleep-1", "sleep-5"]:
        mine = [r for r in requests if client_of(r) == client]
        if not mine:
            continue
        if argo:
            trigger = next(r for r in mine if r["route"] == "trigger")
            about = [r for r in mine if r is not trigger]
        else:
            trigger = next(r for r in mine if r["method"] == "POST" and r["path"].endswith("/builds"))
            ids = [r["path"].split("/")[3] for r in mine if r["path"].startswith("/v1/builds/")]
            about = [r for r in mine if ids and r["path"].startswith(f"/v1/builds/{ids[0]}")]
        start = trigger["at_ms"]
        end = start + platform_ms
        during = [r for r in about if start <= r["at_ms"] < end]
        polls = [
            r["at_ms"]
            for r in about
            if "wait=" not in r["path"] and not r["path"].endswith("/stream")
            and "/stream/" not in r["path"]
        ]
        pushed = len(polls) < len(about)
        if client == "ferry":
            result = json.loads((directory / "ferry.json").read_text())
            phase = result["phases"][0]
            assert result["status"] == "succeeded", result
            seen = phase["duration_ms"] - platform_ms
        else:
            after = [t for t in polls if t >= end and t >= start]
            seen = (min(after) - end) if after else None
        out[client] = {
            "requests": len(during),
            "seconds": (end - start) / 1000,
            "expected_ms": None if pushed else expected_delay(polls, end),
            "measured_ms": seen,
        }
    return meta, out


def main():
    work, raw_path = pathlib.Path(sys.argv[1]), sys.argv[2]
    raw = []
    for directory in sorted(work.glob("*/*/")):
        if (directory / "meta.json").exists():
            meta, clients = one_run(directory)
            raw.append({"meta": meta, "clients": clients})
    pathlib.Path(raw_path).write_text(json.dumps(raw, indent=1) + "\n")
    order = ["log", "stream", "log+long-poll", "silent", "estimate", "long-poll", "argocd"]
    print("| scenario | client | requests/s during the build | expected delay (from gaps) | measured delay, mean (min – max) | builds |")
    print("|---|---|---:|---:|---:|---:|")
    for scenario in order:
        runs = [r for r in raw if r["meta"]["scenario"] == scenario]
        if not runs:
            continue
        lengths = " ".join(str(r["meta"]["length"]) for r in runs)
        for client in ["ferry", "sleep-1", "sleep-5"]:
            rows = [r["clients"][client] for r in runs if client in r["clients"]]
            if not rows:
                continue
            rate = sum(r["requests"] for r in rows) / sum(r["seconds"] for r in rows)
            expected = [r["expected_ms"] for r in rows if r["expected_ms"] is not None]
            shown_expected = f"{sum(expected) / len(expected) / 1000:.2f} s" if expected else "push"
            measured = [r["measured_ms"] for r in rows if r["measured_ms"] is not None]
            mean = sum(measured) / len(measured) / 1000
            shown_measured = f"{mean:.2f} s ({min(measured) / 1000:.2f} – {max(measured) / 1000:.2f})"
            print(f"| {scenario} | {client} | {rate:.2f} | {shown_expected} | {shown_measured} | {len(rows)} ({lengths} s) |")


main()
