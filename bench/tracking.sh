#!/usr/bin/env bash
# Tracking benchmark (docs/architecture.md, "Targets": p99 under 10 ms at 32 concurrent clients):
# POST /api/v1/track, the citizen's look-up with tracking number and query
# code, over HTTP against a release build of `duban serve`, on SQLite and then
# PostgreSQL, each compared with the in-process ceiling (examples/ceiling.rs
# --op track: the same look-up without HTTP). Each run starts on a fresh
# database holding CASES filed complaints and looks the last one up.
# Writes the "Tracking look-up" part of bench/RESULTS.md; raw outputs and
# server logs go to bench/out/tracking/.
#
#   bench/tracking.sh                    # 32 connections, 20 s, 2000 cases
#   CLIENTS=64 SECONDS=30 CASES=10000 bench/tracking.sh
#   BACKENDS=sqlite bench/tracking.sh    # only one backend (sqlite, postgres)
#   LOAD_TOOL=wrk bench/tracking.sh      # force wrk even when oha is present
#
# Needs what bench/intake.sh needs: cargo, python3, curl, psql, and
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth); installs oha
# (cargo install) or else wrk (apt). Sends traffic to 127.0.0.1 only.
set -euo pipefail

# SECONDS is a bash special variable; read the caller's value from the environment.
DURATION=$(printenv SECONDS || true)
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-32}
CASES=${CASES:-2000}
BACKENDS=${BACKENDS:-sqlite postgres}
for v in DURATION CLIENTS CASES; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
OUT=bench/out/tracking
PORT=18182
BASE=http://127.0.0.1:$PORT
BODY=bench/complaint.json
COMMAND="CLIENTS=$CLIENTS SECONDS=$DURATION CASES=$CASES${LOAD_TOOL:+ LOAD_TOOL=$LOAD_TOOL} bench/tracking.sh"
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

log "building release binary and ceiling example"
cargo build --release --bin duban --example ceiling
REVISION=$(revision)
: >"$OUT/loadavg.txt"
pick_tool

for backend in $BACKENDS; do
    case $backend in sqlite|postgres) ;; *) echo "unknown backend $backend" >&2; exit 2 ;; esac

    log "$backend: filing $CASES complaints over HTTP"
    url=$(fresh_db "$backend" http)
    server_log=$OUT/server-$backend.log
    start_server "$url" "$server_log"
    # The last receipt becomes the look-up body; it must answer 200 before
    # the load starts (its query code is in bench/out only, a test value).
    python3 - "$BASE" "$BODY" "$CASES" "$OUT/track-$backend.json" <<'PY'
import json, sys, urllib.request
base, body_file, cases, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
body = open(body_file, "rb").read()
def post(path, data):
    req = urllib.request.Request(base + path, data=data, method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.status, json.load(r)
for _ in range(cases):
    status, receipt = post("/api/v1/complaints", body)
    assert status == 201, status
pair = {"tracking_no": receipt["tracking_no"], "query_code": receipt["query_code"]}
status, view = post("/api/v1/track", json.dumps(pair).encode())
assert status == 200 and view["tracking_no"] == pair["tracking_no"], (status, view)
json.dump(pair, open(out, "w"))
PY
    log "$backend: HTTP look-ups, $CLIENTS connections, ${DURATION}s ($TOOL)"
    measure_http "$backend" /api/v1/track "$OUT/track-$backend.json" 200 "$server_log"
    # The ceilings file as many cases first, on their own fresh databases.
    run_ceilings "$backend" --op track --cases "$CASES"
done

log "writing bench/RESULTS.md"
python3 - "$OUT" "$COMMAND" "$TOOL_VERSION" "$CLIENTS" "$DURATION" "$CASES" "$BACKENDS" "$REVISION" <<'PY'
import datetime, json, sys

sys.path.insert(0, "bench")
from results import write_section

out, command, tool, clients, seconds, cases, backends, revision = sys.argv[1:9]
BEGIN = "<!-- tracking results: written by bench/tracking.sh -->"
END = "<!-- end of tracking results -->"

def mark(ok):
    return "met" if ok else "**missed**"

L = ["", "## Tracking look-up", "",
     f"`POST /api/v1/track` with one valid tracking number and query code, {clients} connections for {seconds} s",
     f"(keep-alive, {tool}), on a fresh database holding {cases} complaints filed over HTTP just before. Ceilings:",
     "the same look-up in-process (`examples/ceiling.rs --op track`, same clients and time, its own fresh database",
     f"with {cases} complaints): *direct* = N threads each on a pooled connection of its own, *group* = N tasks",
     "through `AppState::db`, the handler's own call. Each look-up checks the failure counters, reads the case,",
     "verifies the query code's HMAC and reads the public timeline, category and unit.",
     "",
     f"Run {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, commit {revision}, "
     f"`{command}`. Load average before each run: "
     + "; ".join(l.strip() for l in open(f"{out}/loadavg.txt") if l.strip()) + ".",
     "",
     "Target (docs/architecture.md, \"Targets\"): p99 under 10 ms at 32 concurrent clients; memory under 150 MiB.",
     "",
     "| backend | look-ups/s (HTTP) | ceiling direct / group | HTTP ÷ best ceiling | p50 | p99 | target p99 < 10 ms | ceiling p99 direct / group | errors | peak RSS |",
     "|---|---:|---|---:|---:|---:|---|---|---:|---:|"]
for b in backends.split():
    try:
        h = json.load(open(f"{out}/http-{b}.json"))
        d = json.load(open(f"{out}/ceiling-direct-{b}.json"))
        g = json.load(open(f"{out}/ceiling-group-{b}.json"))
    except FileNotFoundError:
        continue
    best = max(d["throughput"], g["throughput"])
    errors = h["non_ok"] + h["transport_errors"] + d["errors"] + g["errors"]
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[b]
    L.append(f"| {name} | {h['throughput']:g} | {d['throughput']:g} / {g['throughput']:g} | "
             f"{h['throughput'] / best:.0%} | {h['p50_ms']:g} ms | **{h['p99_ms']:g} ms** | "
             f"{mark(h['p99_ms'] < 10)} | {d['p99_ms']:g} / {g['p99_ms']:g} ms | {errors} | "
             f"{h['peak_rss_kib'] / 1024:.0f} MiB |")
L += ["", "### Tracking notes", ""]

write_section(BEGIN, END, L, "### Tracking notes")
PY
log "done: bench/RESULTS.md"
sed -n '/<!-- tracking results/,/<!-- end of tracking results/p' bench/RESULTS.md
