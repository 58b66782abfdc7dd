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
OUT=bench/out
PORT=18181
BASE=http://127.0.0.1:$PORT
BODY=bench/complaint.json
COMMAND="CLIENTS=$CLIENTS SECONDS=$DURATION${LOAD_TOOL:+ LOAD_TOOL=$LOAD_TOOL} bench/intake.sh"
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# ---------------------------------------------------------------- build
log "building release binary and ceiling example"
cargo build --release --bin duban --example ceiling
REVISION=$(revision)
cp src/startup.rs "$OUT/startup.rs.at-build" 2>/dev/null || true
: >"$OUT/loadavg.txt"
pick_tool

# ---------------------------------------------------------------- runs
for backend in $BACKENDS; do
    case $backend in sqlite|postgres) ;; *) echo "unknown backend $backend" >&2; exit 2 ;; esac

    log "$backend: HTTP, $CLIENTS connections, ${DURATION}s ($TOOL)"
    url=$(fresh_db "$backend" http)
    server_log=$OUT/server-$backend.log
    start_server "$url" "$server_log"
    measure_http "$backend" /api/v1/complaints "$BODY" 201 "$server_log"
    # "direct" is one transaction per filing, as the brief first defined the
    # ceiling; "group" is the handler's own path.
    run_ceilings "$backend" --op intake
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
    errors = h["non_ok"] + h["transport_errors"]
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
        f"| errors (non-201 / failed ops) | {h['non_ok']} | {g['errors']} | {d['errors']} | none | {mark(errors == 0 and g['errors'] == 0 and d['errors'] == 0)} |",
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
