#!/usr/bin/env bash
# Intake benchmark: POST /api/v1/complaints over HTTP against a release
# build of `duban serve`, on SQLite and then PostgreSQL, each compared with
# the in-process "ceiling" (examples/ceiling.rs: the same database work
# without HTTP). Writes bench/RESULTS.md; raw outputs and server logs go to
# bench/out/.
#
#   bench/intake.sh                      # 32 connections, 20 s per run
#   CLIENTS=64 SECONDS=30 bench/intake.sh
#   LOAD_TOOL=wrk bench/intake.sh        # force wrk even when oha is present
#   BACKENDS=sqlite bench/intake.sh      # only one backend (sqlite, postgres)
#
# Needs: cargo, python3, curl, psql, and PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust auth). Installs oha (cargo install) or else wrk (apt) when
# neither is present. Sends traffic to 127.0.0.1 only.
set -euo pipefail

# SECONDS is a bash special variable (seconds since the shell started), so
# read the caller's value from the environment instead of from the shell.
DURATION=$(printenv SECONDS || true)
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-32}
BACKENDS=${BACKENDS:-sqlite postgres}
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || { echo "SECONDS must be a positive integer" >&2; exit 2; }
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || { echo "CLIENTS must be a positive integer" >&2; exit 2; }

cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=bench/out
PORT=18181
BASE=http://127.0.0.1:$PORT
BODY=bench/complaint.json
# (PGOPTIONS only hides the NOTICE of DROP ... IF EXISTS.)
PG_ADMIN=(env PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -q)
PG_URL=postgres://postgres@127.0.0.1:5432/duban_bench
COMMAND="CLIENTS=$CLIENTS SECONDS=$DURATION${LOAD_TOOL:+ LOAD_TOOL=$LOAD_TOOL} bench/intake.sh"
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$OUT"

log() { printf '\n==> %s\n' "$*" >&2; }

# ---------------------------------------------------------------- cleanup
SERVER_PID=
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
log "building release binary and ceiling example"
cargo build --release --bin duban --example ceiling
# Record what was built (others may be editing the tree while this runs).
REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock config migrations 2>/dev/null) ]]; then
    REVISION="$REVISION plus uncommitted changes to src/, config/ or migrations/"
fi
cp src/startup.rs "$OUT/startup.rs.at-build" 2>/dev/null || true
# Load average before each measured run: anything else busy on the machine
# (builds, tests) skews the figures, so the report shows it.
: >"$OUT/loadavg.txt"
note_load() { echo "$1: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/loadavg.txt"; }

# ---------------------------------------------------------------- load tool
# oha preferred (cargo install, once: ~7 min); wrk from apt as the fallback.
pick_tool() {
    if [[ ${LOAD_TOOL:-} == wrk ]]; then
        command -v wrk >/dev/null || install_wrk
        echo wrk; return
    fi
    if command -v oha >/dev/null; then echo oha; return; fi
    if [[ ${LOAD_TOOL:-} != oha ]] && command -v wrk >/dev/null; then echo wrk; return; fi
    log "oha not found: cargo install oha --locked (slow, once)"
    if cargo install oha --locked >&2 && command -v oha >/dev/null; then echo oha; return; fi
    log "oha install failed: falling back to wrk from apt"
    install_wrk
    echo wrk
}
install_wrk() {
    (apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }) >&2
}
TOOL=$(pick_tool)
case $TOOL in
    oha) TOOL_VERSION=$(oha --version | head -n1) ;;
    wrk) TOOL_VERSION=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2 || true) ;;
esac
log "load tool: $TOOL_VERSION"

# ---------------------------------------------------------------- helpers
# Fresh database of the backend: prints its DATABASE_URL.
fresh_db() { # backend tag
    case $1 in
        sqlite)
            local f=$OUT/$2.db
            rm -f "$f" "$f-wal" "$f-shm" "$f-journal"
            echo "sqlite://$f" ;;
        postgres)
            "${PG_ADMIN[@]}" -c 'DROP DATABASE IF EXISTS duban_bench WITH (FORCE)' >&2
            "${PG_ADMIN[@]}" -c 'CREATE DATABASE duban_bench' >&2
            echo "$PG_URL" ;;
    esac
}

start_server() { # database-url logfile
    # Secrets are generated per run and never written to disk.
    DATABASE_URL=$1 \
    DUBAN_JWT_SECRET=$(head -c48 /dev/urandom | base64 -w0) \
    DUBAN_PII_KEY=$(head -c32 /dev/urandom | base64 -w0) \
    DUBAN_PATHS__DATA_DIR=$OUT \
    DUBAN_LOG=warn \
        target/release/duban serve --bind "127.0.0.1:$PORT" >"$2" 2>&1 &
    SERVER_PID=$!
    # Ready when GET /readyz answers 200 (migrations and reference data done).
    for _ in $(seq 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited during start-up; log $2:" >&2; cat "$2" >&2; exit 1
        fi
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" || true) == 200 ]] && return 0
        sleep 0.2
    done
    echo "server not ready after 60 s; log $2:" >&2; cat "$2" >&2; exit 1
}

# Drives the POST for DURATION seconds; writes normalised JSON to $1:
# {requests, ok, non201, transport_errors, seconds, throughput, p50_ms, p99_ms}
# where throughput counts 201 responses per second.
run_load() { # out.json
    local raw=${1%.json}.raw
    case $TOOL in
        oha)
            # -w: requests still in flight at the deadline are awaited, not
            # counted as errors.
            local fmt=(--output-format json)
            oha --help | grep -q -- '--output-format' || fmt=(-j)
            oha --no-tui "${fmt[@]}" -w -z "${DURATION}s" -c "$CLIENTS" -m POST \
                -T application/json -D "$BODY" "$BASE/api/v1/complaints" >"$raw"
            python3 - "$raw" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = {int(k): v for k, v in d.get("statusCodeDistribution", {}).items()}
errs = sum(d.get("errorDistribution", {}).values())
ok = codes.get(201, 0)
secs = d["summary"]["total"]
lat = d.get("latencyPercentiles", {})
ms = lambda v: round(v * 1000, 2) if v is not None else None
json.dump({
    "requests": sum(codes.values()), "ok": ok,
    "non201": sum(v for k, v in codes.items() if k != 201),
    "status_codes": codes, "transport_errors": errs,
    "error_kinds": d.get("errorDistribution", {}),
    "seconds": round(secs, 3), "throughput": round(ok / secs, 1),
    "p50_ms": ms(lat.get("p50")), "p99_ms": ms(lat.get("p99")),
}, open(sys.argv[2], "w"))
PY
            ;;
        wrk)
            local threads=$(( CLIENTS < 2 ? CLIENTS : 2 ))
            wrk -t "$threads" -c "$CLIENTS" -d "${DURATION}s" --timeout 10s \
                -s bench/post.lua "$BASE/api/v1/complaints" >"$raw"
            python3 - "$raw" "$1" <<'PY'
import json, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("WRKJSON "))
d = json.loads(line[len("WRKJSON "):])
secs = d["duration_us"] / 1e6
ok = d["requests"] - d["non201"]
json.dump({
    "requests": d["requests"], "ok": ok, "non201": d["non201"],
    "transport_errors": d["socket_errors"],
    "seconds": round(secs, 3), "throughput": round(ok / secs, 1),
    "p50_ms": round(d["p50_us"] / 1000, 2), "p99_ms": round(d["p99_us"] / 1000, 2),
}, open(sys.argv[2], "w"))
PY
            ;;
    esac
}

# ---------------------------------------------------------------- runs
for backend in $BACKENDS; do
    case $backend in sqlite|postgres) ;; *) echo "unknown backend $backend" >&2; exit 2 ;; esac

    log "$backend: HTTP, $CLIENTS connections, ${DURATION}s ($TOOL)"
    url=$(fresh_db "$backend" http)
    server_log=$OUT/server-$backend.log
    start_server "$url" "$server_log"
    note_load "$backend HTTP"
    run_load "$OUT/http-$backend.json"
    # Peak resident set of the server over its whole life.
    rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
    stop_server
    python3 - "$OUT/http-$backend.json" "$rss_kib" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["peak_rss_kib"] = int(sys.argv[2])
json.dump(d, open(sys.argv[1], "w"))
print(json.dumps(d))
PY
    # Anything the server logged at warn or above is worth a look.
    if grep -qE 'WARN|ERROR' "$server_log"; then
        echo "server logged $(grep -cE 'WARN|ERROR' "$server_log") warn/error lines; first ones:" >&2
        grep -E 'WARN|ERROR' "$server_log" | head -n 5 >&2
    fi

    # Two ceilings, each on a fresh database: "direct" (one transaction per
    # filing, as the brief first defined it) and "group" (through
    # AppState::db_write, the handler's own call: group commit where the
    # state has a writer).
    for mode in direct group; do
        log "$backend: ceiling ($mode), $CLIENTS clients, ${DURATION}s"
        url=$(fresh_db "$backend" "ceiling-$mode")
        res=$OUT/ceiling-$mode-$backend
        # Its log lines (warn and above) share stdout with the result line.
        status=0
        note_load "$backend ceiling $mode"
        DATABASE_URL=$url DUBAN_LOG=warn DUBAN_PATHS__DATA_DIR=$OUT \
            target/release/examples/ceiling --clients "$CLIENTS" --seconds "$DURATION" --mode "$mode" \
            >"$res.log" 2>&1 || status=$?
        if (( status != 0 )) || ! grep '^{"ops"' "$res.log" | tail -n1 >"$res.json"; then
            echo "ceiling failed (exit $status); $res.log:" >&2
            cat "$res.log" >&2; exit 1
        fi
        cat "$res.json"
        if grep -qv '^{"ops"' "$res.log"; then
            echo "ceiling printed:" >&2; grep -v '^{"ops"' "$res.log" | head -n 5 >&2
        fi
    done
done

# ---------------------------------------------------------------- report
log "writing bench/RESULTS.md"
python3 - "$OUT" "$COMMAND" "$TOOL_VERSION" "$CLIENTS" "$DURATION" "$BACKENDS" "$REVISION" <<'PY'
import datetime, json, os, platform, subprocess, sys

out, command, tool, clients, seconds, backends, revision = sys.argv[1:8]

def writer_note():
    # Which backends the handler's db_write sends through the group-commit
    # writer, read from the source that was built (informational only).
    try:
        src = open(f"{out}/startup.rs.at-build").read()
    except OSError:
        return None
    if "GroupWriter::start" not in src:
        return "no group-commit writer in src/startup.rs: both ceilings run the same path"
    if "Backend::Sqlite" in src[src.index("GroupWriter::start") - 300:src.index("GroupWriter::start")]:
        return "src/startup.rs starts the group-commit writer for SQLite only"
    return "src/startup.rs starts the group-commit writer for every backend"

def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"

def mem_gib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1048576:.1f} GiB"
    return "unknown"

def pg_version():
    try:
        return subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
                               "SHOW server_version"], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "unknown"

def rustc():
    return subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()

def mark(ok):
    return "met" if ok else "**missed**"

def fmt(v, unit=""):
    return "n/a" if v is None else f"{v:g}{unit}"

lines = [
    "# Intake benchmark results",
    "",
    "`POST /api/v1/complaints` (public web filing, body `bench/complaint.json`) over HTTP",
    "against a release build of `duban serve`, compared with the in-process ceiling",
    "(`examples/ceiling.rs`: the same `submit_web` work, no HTTP). Each run starts on",
    "a fresh database. Produced by `bench/intake.sh`; raw outputs are in `bench/out/`.",
    "",
    "## Machine and run",
    "",
    f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    f"- CPU: {os.cpu_count()} × {cpu_model()} (nproc {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()})",
    f"- Memory: {mem_gib()}",
    f"- Kernel: {platform.release()}",
    f"- Toolchain: {rustc()}; PostgreSQL {pg_version()} on 127.0.0.1; SQLite bundled (WAL, synchronous=FULL)",
    f"- Code: commit {revision} (as built at the start of the run)",
    "- Load average (1, 5, 15 min) before each run, to show whether anything else was busy: "
    + "; ".join(l.strip() for l in open(f"{out}/loadavg.txt") if l.strip()) + ".",
    f"- Command: `{command}`",
    f"- Load: {tool}, {clients} concurrent connections, {seconds} s, keep-alive; the load tool runs on",
    "  the same 2 cores as the server. The HTTP server runs with its shipped configuration",
    "  (pool_size 16, one worker per core).",
    "- Ceilings (same clients, same time, pool size = clients, each on a fresh database):",
    "  *group* = N concurrent tasks on an actix runtime calling `AppState::db_write(submit_web)`,",
    "  the handler's own call (group commit where the state has a writer); *direct* = N OS",
    "  threads each taking a pooled connection and calling `submit_web`, one transaction and",
    "  one commit per filing.",
    f"- Group-commit writer: {writer_note() or 'unknown'}.",
    "- Throughput counts successful filings (201) per second. Errors = non-201 responses (HTTP) or",
    "  failed operations (ceiling); HTTP transport errors (connect/read/timeout) are listed apart.",
    "",
    "Targets (design): HTTP throughput ≥ 70 % of ceiling, p99 < 50 ms, no error, peak RSS < 150 MiB.",
]

for b in backends.split():
    try:
        h = json.load(open(f"{out}/http-{b}.json"))
        g = json.load(open(f"{out}/ceiling-group-{b}.json"))
        d = json.load(open(f"{out}/ceiling-direct-{b}.json"))
    except FileNotFoundError:
        continue
    rg = h["throughput"] / g["throughput"] if g["throughput"] else None
    rd = h["throughput"] / d["throughput"] if d["throughput"] else None
    pct = lambda r: "n/a" if r is None else f"{r:.1%}"
    rss_mib = h["peak_rss_kib"] / 1024
    errors = h["non201"] + h["transport_errors"]
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[b]
    lines += [
        "",
        f"## {name}",
        "",
        "| measure | HTTP | ceiling, group (`db_write`) | ceiling, direct | target | |",
        "| --- | ---: | ---: | ---: | --- | --- |",
        f"| throughput (filings/s) | {h['throughput']:g} | {g['throughput']:g} | {d['throughput']:g} | | |",
        f"| ratio HTTP / ceiling, group | {pct(rg)} | | | ≥ 70 % | {mark(rg is not None and rg >= 0.70)} |",
        f"| ratio HTTP / ceiling, direct | {pct(rd)} | | | ≥ 70 % | {mark(rd is not None and rd >= 0.70)} |",
        f"| p50 latency | {fmt(h['p50_ms'], ' ms')} | {fmt(g['p50_ms'], ' ms')} | {fmt(d['p50_ms'], ' ms')} | | |",
        f"| p99 latency | {fmt(h['p99_ms'], ' ms')} | {fmt(g['p99_ms'], ' ms')} | {fmt(d['p99_ms'], ' ms')} | < 50 ms (HTTP) | {mark(h['p99_ms'] is not None and h['p99_ms'] < 50)} |",
        f"| requests / operations | {h['requests']} | {g['ops'] + g['errors']} | {d['ops'] + d['errors']} | | |",
        f"| errors (non-201 / failed ops) | {h['non201']} | {g['errors']} | {d['errors']} | none | {mark(errors == 0 and g['errors'] == 0 and d['errors'] == 0)} |",
        f"| HTTP transport errors | {h['transport_errors']} | | | none | |",
        f"| server peak RSS (VmHWM) | {rss_mib:.1f} MiB | | | < 150 MiB | {mark(rss_mib < 150)} |",
    ]
    if h.get("status_codes") and set(h["status_codes"]) != {"201"}:
        lines.append(f"\nHTTP status codes: {h['status_codes']}")
    if h.get("error_kinds"):
        lines.append(f"\nHTTP transport errors by kind: {h['error_kinds']}")

# The analysis is written by hand: keep the previous file's Notes section,
# and the sweep results that bench/sweep.sh writes after the marker.
MARK = "<!-- sweep results: written by bench/sweep.sh; edit only the Sweep notes -->"
notes = "(analysis to be written after the run)\n"
sweep = ""
try:
    previous = open("bench/RESULTS.md").read()
    if MARK in previous:
        previous, sweep = previous.split(MARK, 1)
        sweep = "\n" + MARK + sweep
    if "\n## Notes\n" in previous:
        notes = previous.split("\n## Notes\n", 1)[1].strip("\n") + "\n"
except OSError:
    pass
lines += ["", "## Notes", "", notes + sweep]
open("bench/RESULTS.md", "w").write("\n".join(lines))
PY
log "done: bench/RESULTS.md"
cat bench/RESULTS.md
