#!/usr/bin/env bash
# Queue and caller look-up benchmark (docs/architecture.md, "The queue" and
# "The hotline desk"): with CASES cases in the database (default 100,000,
# seeded straight into it by bench/queue/seed.*.sql so that every bucket of
# the queue holds cases), over HTTP against a release build of `duban serve`:
#   1. GET /api/v1/queue as a supervisor (the fourteen buckets, five cases each);
#   2. GET /api/v1/callers/{phone} as an operator, for a number that made
#      CALLS calls (logged over HTTP first: the phone hash is keyed, so they
#      cannot be written by SQL), CASES_BY_PHONE of them filing a case;
# each next to its in-process ceiling (examples/ceiling.rs --op queue /
# --op caller, on the same database, with the same keys). On SQLite, then
# PostgreSQL. Writes the "Queue and caller look-up" part of bench/RESULTS.md;
# raw outputs and server logs go to bench/out/queue/.
#
#   bench/queue.sh                        # 32 connections, 20 s, 100,000 cases
#   CLIENTS=8 SECONDS=10 CASES=10000 bench/queue.sh
#   BACKENDS=postgres bench/queue.sh      # only one backend (sqlite, postgres)
#   LOAD_TOOL=wrk bench/queue.sh          # force wrk even when oha is present
#
# Needs: cargo, python3, curl, psql, sqlite3, and PostgreSQL on 127.0.0.1:5432
# (user postgres, trust auth); installs oha (cargo install) or else wrk (apt).
# Sends traffic to 127.0.0.1 only.
set -euo pipefail

# SECONDS is a bash special variable; read the caller's value from the environment.
DURATION=$(printenv SECONDS || true)
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-32}
CASES=${CASES:-100000}
CALLS=${CALLS:-200}
CASES_BY_PHONE=${CASES_BY_PHONE:-20}
BACKENDS=${BACKENDS:-sqlite postgres}
for v in DURATION CLIENTS CASES CALLS CASES_BY_PHONE; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done
(( CASES_BY_PHONE <= CALLS )) || { echo "CASES_BY_PHONE must be at most CALLS" >&2; exit 2; }

cd "$(dirname "$0")/.."
OUT=bench/out/queue
PORT=18183
BASE=http://127.0.0.1:$PORT
PHONE=13900000001
COMMAND="CLIENTS=$CLIENTS SECONDS=$DURATION CASES=$CASES CALLS=$CALLS${LOAD_TOOL:+ LOAD_TOOL=$LOAD_TOOL} bench/queue.sh"
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

export_run_secrets
# The seeded overdue cases must not be escalated while they are read.
export DUBAN_ESCALATION__ENABLED=false
PASSWORD=$(random_secret 18)

log "building release binary and ceiling example"
cargo build --release --bin duban --example ceiling
REVISION=$(revision)
: >"$OUT/loadavg.txt"
pick_tool

# A bearer token for a bench account.
token() { # username
    curl -sf -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/auth/token" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

for backend in $BACKENDS; do
    case $backend in sqlite|postgres) ;; *) echo "unknown backend $backend" >&2; exit 2 ;; esac

    log "$backend: fresh database, migrations, $CASES cases seeded"
    url=$(fresh_db "$backend" queue)
    duban "$url" migrate >/dev/null
    start=$(date +%s)
    case $backend in
        postgres) psql "$url" -q -v cases="$CASES" -f bench/queue/seed.postgres.sql >/dev/null ;;
        sqlite) sed "s/@CASES@/$CASES/" bench/queue/seed.sqlite.sql | sqlite3 "${url#sqlite://}" ;;
    esac
    echo $(( $(date +%s) - start )) >"$OUT/seed-$backend.s"
    add_bench_users "$url" supervisor operator

    server_log=$OUT/server-$backend.log
    start_server "$url" "$server_log"
    SUP=$(token bench-supervisor)
    OP=$(token bench-operator)
    log "$backend: $CALLS calls from one number over HTTP ($CASES_BY_PHONE filing a case)"
    python3 - "$BASE" "$OP" "$SUP" "$PHONE" "$CALLS" "$CASES_BY_PHONE" "$OUT/caller-$backend.txt" <<'PY'
import datetime, json, sys, urllib.request
base, op, sup, phone, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[7]
calls, filing = int(sys.argv[5]), int(sys.argv[6])
now = datetime.datetime.now(datetime.timezone.utc)
def send(method, path, body=None, token=op):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"content-type": "application/json",
                                          "authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
cases = []
for n in range(calls):
    call = {"caller_phone": phone, "duration_seconds": 90, "summary": "来电",
            # Spread over the last three weeks, oldest first.
            "started_at": (now - datetime.timedelta(minutes=150 * (calls - n))).isoformat()}
    if n < filing:
        call["disposition"] = "complaint"
        call["complaint"] = {"title": "乡镇窗口推诿扯皮", "category": "buck_passing",
                             "content": "来电人反映到乡镇窗口办理低保审核，工作人员多次推诿，要求到别处办理。",
                             "anonymous": False, "complainant": {"name": "来电群众"}}
    else:
        call["disposition"] = "status_inquiry"
        call["tracking_no"] = cases[n % len(cases)]
    answer = send("POST", "/api/v1/calls", call)
    if n < filing:
        cases.append(answer["tracking_no"])
seen = send("GET", f"/api/v1/callers/{phone}")
assert seen["calls_last_30_days"] == calls and len(seen["cases"]) == filing, \
    (seen["calls_last_30_days"], len(seen["cases"]))
q = send("GET", "/api/v1/queue", token=sup)
empty = [b["bucket"] for b in q["buckets"] if b["count"] == 0]
assert not empty, f"buckets without cases: {empty}"
open(out, "w").write(" ".join(f"{b['bucket']}={b['count']}" for b in q["buckets"]) + "\n")
PY
    log "$backend: GET /api/v1/queue, $CLIENTS connections, ${DURATION}s ($TOOL)"
    measure_http "$backend" /api/v1/queue "" 200 "$server_log" GET "$SUP" "http-queue-$backend"
    start_server "$url" "$server_log.2"
    log "$backend: GET /api/v1/callers/{phone}, $CLIENTS connections, ${DURATION}s ($TOOL)"
    measure_http "$backend" "/api/v1/callers/$PHONE" "" 200 "$server_log.2" GET "$OP" \
        "http-caller-$backend"

    for mode in direct group; do
        log "$backend: ceilings ($mode), $CLIENTS clients, ${DURATION}s"
        note_load "$backend ceiling queue $mode"
        run_ceiling "$url" "$OUT/ceiling-queue-$mode-$backend" --mode "$mode" --op queue \
            --user bench-supervisor
        note_load "$backend ceiling caller $mode"
        run_ceiling "$url" "$OUT/ceiling-caller-$mode-$backend" --mode "$mode" --op caller \
            --user bench-operator --phone "$PHONE"
    done
done

log "writing bench/RESULTS.md"
python3 - "$OUT" "$COMMAND" "$TOOL_VERSION" "$CLIENTS" "$DURATION" "$CASES" "$CALLS" "$CASES_BY_PHONE" "$BACKENDS" "$REVISION" <<'PY'
import datetime, json, sys

sys.path.insert(0, "bench")
from results import write_section

out, command, tool, clients, seconds, cases, calls, by_phone, backends, revision = sys.argv[1:11]
BEGIN = "<!-- queue results: written by bench/queue.sh -->"
END = "<!-- end of queue results -->"
n = lambda v: f"{int(v):,}"

L = ["", "## Queue and caller look-up", "",
     f"With {n(cases)} cases seeded by `bench/queue/seed.*.sql` (every bucket of the queue holds cases; the shares",
     "are in the seed's header), a release build of `duban serve` and "
     f"{clients} connections for {seconds} s each (keep-alive, {tool}):",
     "`GET /api/v1/queue` as a supervisor (fourteen buckets: each one indexed statement with its count, then the",
     f"listed cases' summaries), and `GET /api/v1/callers/{{phone}}` as an operator for a number that made {n(calls)}",
     f"calls, {by_phone} of them filing a case (calls logged over HTTP just before; the look-up lists 50 calls and the",
     "cases, and appends an audit event). Ceilings: the same domain call in-process on the same database",
     "(`examples/ceiling.rs --op queue|caller`): *direct* = N threads each on a pooled connection of its own,",
     "*group* = N tasks through `AppState::db`, the handler's own call.",
     "",
     f"Run {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, commit {revision}, "
     f"`{command}`. Load average before each run: "
     + "; ".join(l.strip() for l in open(f"{out}/loadavg.txt") if l.strip()) + ".",
     "",
     "| backend | read | reads/s (HTTP) | ceiling direct / group | HTTP ÷ best ceiling | p50 | p99 | ceiling p99 direct / group | errors | peak RSS |",
     "|---|---|---:|---|---:|---:|---:|---|---:|---:|"]
buckets = []
for b in backends.split():
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[b]
    for op, what in (("queue", "`GET /queue`"), ("caller", "`GET /callers/{phone}`")):
        try:
            h = json.load(open(f"{out}/http-{op}-{b}.json"))
            d = json.load(open(f"{out}/ceiling-{op}-direct-{b}.json"))
            g = json.load(open(f"{out}/ceiling-{op}-group-{b}.json"))
        except FileNotFoundError:
            continue
        best = max(d["throughput"], g["throughput"])
        errors = h["non_ok"] + h["transport_errors"] + d["errors"] + g["errors"]
        L.append(f"| {name} | {what} | {h['throughput']:g} | {d['throughput']:g} / {g['throughput']:g} | "
                 f"{h['throughput'] / best:.0%} | {h['p50_ms']:g} ms | **{h['p99_ms']:g} ms** | "
                 f"{d['p99_ms']:g} / {g['p99_ms']:g} ms | {errors} | {h['peak_rss_kib'] / 1024:.0f} MiB |")
    try:
        seed = open(f"{out}/seed-{b}.s").read().strip()
        counts = open(f"{out}/caller-{b}.txt").read().strip()
        buckets.append(f"- {name}: seeded in {seed} s; bucket sizes {counts.replace(' ', ', ')}.")
    except FileNotFoundError:
        pass
L += [""] + buckets + ["", "### Queue notes", ""]

write_section(BEGIN, END, L, "### Queue notes")
PY
log "done: bench/RESULTS.md"
sed -n '/<!-- queue results/,/<!-- end of queue results/p' bench/RESULTS.md
