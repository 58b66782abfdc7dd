#!/usr/bin/env bash
# Staff reads at a province's scale: CASES cases (default 1,000,000) seeded
# straight into a fresh database by bench/sweep/seed.*.sql (open cases routed
# to the 20 townships, DUE of them overdue), then every staff read timed over
# HTTP against a release build of `duban serve`: one request to warm up, then
# ROUNDS sequential requests each (HEAVY, default 1, without warm-up, for
# the CSV export and the audit verification, which read everything), p50 and p99, the answer's size, and
# the server's peak memory after each read. On SQLite, then PostgreSQL. Writes
# the "Scale" part of bench/RESULTS.md; raw outputs and server logs go to
# bench/out/scale/.
#
#   bench/scale.sh
#   CASES=100000 ROUNDS=10 BACKENDS=postgres bench/scale.sh
#
# Needs: cargo, python3, curl, psql, sqlite3, and PostgreSQL on 127.0.0.1:5432
# (user postgres, trust auth). Sends traffic to 127.0.0.1 only.
set -euo pipefail

CASES=${CASES:-1000000}
DUE=${DUE:-10000}
ROUNDS=${ROUNDS:-20}
# The CSV export and the audit verification read everything: this many
# times each, without a warm-up.
HEAVY=${HEAVY:-1}
# VERIFY=0 leaves the audit verification out. With it, the seed's audit
# events are first placed in the log (by `duban audit verify`, timed apart:
# the seed writes them without the sequencer an installation runs all
# along), then the verification of one chain, of one day and of everything
# are timed.
VERIFY=${VERIFY:-1}
BACKENDS=${BACKENDS:-sqlite postgres}
for v in CASES DUE ROUNDS HEAVY; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done
(( DUE <= CASES )) || { echo "DUE must be at most CASES" >&2; exit 2; }

cd "$(dirname "$0")/.."
OUT=bench/out/scale
PORT=18184
BASE=http://127.0.0.1:$PORT
COMMAND="CASES=$CASES DUE=$DUE ROUNDS=$ROUNDS HEAVY=$HEAVY VERIFY=$VERIFY bench/scale.sh"
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

export_run_secrets
# Reads only: the sweep and the audit sequencer would write while we read.
export DUBAN_ESCALATION__ENABLED=false DUBAN_AUDIT__BACKGROUND=false
PASSWORD=$(random_secret 18)

log "building the release binary"
cargo build --release --bin duban
REVISION=$(revision)
: >"$OUT/loadavg.txt"

for backend in $BACKENDS; do
    case $backend in sqlite|postgres) ;; *) echo "unknown backend $backend" >&2; exit 2 ;; esac
    log "$backend: fresh database, migrations, $CASES cases seeded ($DUE overdue)"
    url=$(fresh_db "$backend" scale)
    duban "$url" migrate >/dev/null
    start=$(date +%s)
    case $backend in
        postgres)
            psql "$url" -q -v cases="$CASES" -v due="$DUE" -f bench/sweep/seed.postgres.sql >/dev/null
            # The cursor of the case in the middle of the list, for a deep page.
            mid=$(psql "$url" -Atc "SELECT (extract(epoch FROM received_at) * 1000000)::bigint || '.' || id \
                FROM complaints ORDER BY received_at DESC, id DESC OFFSET $(( CASES / 2 )) LIMIT 1") ;;
        sqlite)
            db=${url#sqlite://}
            sed -e "s/@CASES@/$CASES/" -e "s/@DUE@/$DUE/" bench/sweep/seed.sqlite.sql | sqlite3 "$db"
            mid=$(sqlite3 "$db" "SELECT CAST(round((julianday(received_at) - 2440587.5) * 86400000000.0) AS INTEGER) \
                || '.' || id FROM complaints ORDER BY received_at DESC, id DESC LIMIT 1 OFFSET $(( CASES / 2 ))") ;;
    esac
    echo $(( $(date +%s) - start )) >"$OUT/seed-$backend.s"
    # What a running installation has done all along: the seed's reporting
    # deltas folded into their buckets, and (VERIFY=1) its audit events
    # placed in the log by the sequencer (`duban audit verify` places what
    # waits before it checks; its progress goes to the log file).
    start=$(date +%s)
    duban "$url" tallies fold >"$OUT/fold-$backend.txt"
    echo $(( $(date +%s) - start )) >"$OUT/fold-$backend.s"
    if [[ $VERIFY == 1 ]]; then
        start=$(date +%s)
        duban "$url" audit verify >"$OUT/sequence-$backend.json" 2>"$OUT/sequence-$backend.log" || true
        echo $(( $(date +%s) - start )) >"$OUT/sequence-$backend.s"
    fi
    add_bench_users "$url" supervisor auditor
    server_log=$OUT/server-$backend.log
    start_server "$url" "$server_log"
    unit=$(curl -sf "$BASE/api/v1/units?per_page=200" | python3 -c \
        'import json,sys; print(next(u["code"] for u in json.load(sys.stdin)["items"] if u["kind"] == "township"))')
    note_load "$backend reads"
    python3 - "$BASE" "$PASSWORD" "$ROUNDS" "$SERVER_PID" "$mid" "$unit" "$OUT/reads-$backend.json" "$CASES" "$HEAVY" "$VERIFY" <<'PY'
import http.client, json, sys, time, urllib.parse
base, password, rounds, pid, mid, unit, out, cases, heavy, verify = sys.argv[1:11]
rounds, depth, heavy = int(rounds), int(cases) // 2, int(heavy)
host = urllib.parse.urlparse(base).netloc
# A day the seed wrote cases on (received a week before their deadlines).
today = time.strftime("%Y-%m-%d", time.localtime(time.time() - 5 * 86400))
year = time.strftime("%Y")

def peak_rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

def token(user):
    c = http.client.HTTPConnection(host, timeout=600)
    c.request("POST", "/api/v1/auth/token", json.dumps({"username": user, "password": password}),
              {"content-type": "application/json"})
    r = c.getresponse()
    assert r.status == 200, r.status
    return json.loads(r.read())["access_token"]

sup, aud = token("bench-supervisor"), token("bench-auditor")
reads = [
    ("one case (`GET /complaints/{no}`)", "/api/v1/complaints/BX0000000001", sup, rounds),
    ("list, first page", "/api/v1/complaints", sup, rounds),
    ("list `status=in_progress`", "/api/v1/complaints?status=in_progress", sup, rounds),
    (f"list `unit={unit}`", f"/api/v1/complaints?unit={unit}", sup, rounds),
    ("list `overdue=true`", "/api/v1/complaints?overdue=true", sup, rounds),
    ("list `q=拖延`, page 100", "/api/v1/complaints?q=%E6%8B%96%E5%BB%B6&page=100", sup, rounds),
    (f"list after a cursor half-way down (`after=`, depth {depth:,})", f"/api/v1/complaints?after={mid}", sup, rounds),
    ("`GET /queue`", "/api/v1/queue", sup, rounds),
    ("`GET /ranking`", "/api/v1/ranking", sup, rounds),
    ("`GET /stats` (this year up to now)", "/api/v1/stats", sup, rounds),
    (f"`GET /stats?from=&to=` (this year by dates)", f"/api/v1/stats?from={year}-01-01&to={year}-12-31", sup, rounds),
    ("`GET /complaints.csv`, every case", "/api/v1/complaints.csv", sup, heavy),
    ("`GET /audit/verify?chain=` (one case)", "/api/v1/audit/verify?chain=BX0000000001", aud, rounds),
    (f"`GET /audit/verify?from=&to=` (one day, {today})", f"/api/v1/audit/verify?from={today}&to={today}", aud, heavy),
    ("`GET /audit/verify`, everything", "/api/v1/audit/verify", aud, heavy),
]
if verify == "0":
    reads = reads[:-3]
results = []
conn = http.client.HTTPConnection(host, timeout=900)
for name, path, tok, n in reads:
    times, size, status = [], 0, None
    # The first is the warm-up, except for the reads of everything.
    whole = path.startswith("/api/v1/complaints.csv") or path.startswith("/api/v1/audit/verify?from") \
        or path == "/api/v1/audit/verify"
    for i in range(n + (0 if whole else 1)):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"authorization": "Bearer " + tok})
        r = conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000
        status, size = r.status, len(body)
        if r.getheader("connection", "").lower() == "close":
            conn = http.client.HTTPConnection(host, timeout=900)
        if i or whole:
            times.append(dt)
    times.sort()
    pct = lambda p: times[min(len(times) - 1, max(0, int(round(p / 100 * len(times) + 0.5)) - 1))]
    results.append({"read": name, "path": path, "status": status, "n": n, "p50_ms": round(pct(50), 1),
                    "p99_ms": round(pct(99), 1), "bytes": size, "peak_rss_kib": peak_rss_kib()})
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    json.dump(results, open(out, "w"), ensure_ascii=False)
PY
    stop_server
    show_server_warnings "$server_log"
done

log "writing bench/RESULTS.md"
python3 - "$OUT" "$COMMAND" "$CASES" "$DUE" "$BACKENDS" "$REVISION" <<'PY'
import datetime, json, sys

sys.path.insert(0, "bench")
from results import write_section

out, command, cases, due, backends, revision = sys.argv[1:7]
BEGIN = "<!-- scale results: written by bench/scale.sh -->"
END = "<!-- end of scale results -->"
runs = {}
for b in backends.split():
    try:
        runs[b] = json.load(open(f"{out}/reads-{b}.json"))
    except FileNotFoundError:
        pass
names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
L = ["", "## Scale: staff reads at a province's size", "",
     f"{int(cases):,} open cases ({int(due):,} overdue) seeded by `bench/sweep/seed.*.sql`, a release build of "
     "`duban serve`, one client: one request to warm up, then the number of requests shown, one after another "
     "(p50 / p99 over them); the answer's size and the server's peak memory after the read.",
     "",
     f"Run {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, commit {revision}, "
     f"`{command}`. Load average before each backend's reads: "
     + "; ".join(l.strip() for l in open(f"{out}/loadavg.txt") if l.strip()) + ".",
     "",
     "| read | " + " | ".join(f"{names[b]} p50 / p99" for b in runs) + " | "
     + " | ".join(f"{names[b]} answer, peak RSS" for b in runs) + " |",
     "|---|" + "---:|" * (2 * len(runs))]
first = min(runs.values(), key=len) if runs else []
for i, r in enumerate(first):
    cells = []
    for b in runs:
        x = runs[b][i]
        bad = "" if x["status"] == 200 else f" (status {x['status']})"
        cells.append(f"{x['p50_ms']:g} / {x['p99_ms']:g} ms{bad}")
    sizes = []
    for b in runs:
        x = runs[b][i]
        size = x["bytes"]
        shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
        sizes.append(f"{shown}, {x['peak_rss_kib'] / 1024:.0f} MiB")
    L.append(f"| {r['read']} (×{r['n']}) | " + " | ".join(cells) + " | " + " | ".join(sizes) + " |")
L += ["", "### Scale notes", ""]
write_section(BEGIN, END, L, "### Scale notes")
PY
log "done: bench/RESULTS.md"
sed -n '/<!-- scale results/,/<!-- end of scale results/p' bench/RESULTS.md
