#!/usr/bin/env bash
# Sweep benchmark (docs/architecture.md, "Targets"): CASES open cases (default 1,000,000) written
# straight into a fresh database, DUE of them (default 10,000) overdue by a
# few minutes; then, with a release build:
#   1. the ceiling: the same rows written set-based in one transaction
#      (bench/sweep/ceiling.*.sql, rolled back);
#   2. `duban escalate`: one sweep that fires a reminder per due case
#      (letters, outbox rows, audit events), timed, with peak memory;
#   3. `duban escalate` again: nothing is due.
# On PostgreSQL, then SQLite. Writes the "Sweep" part of bench/RESULTS.md
# (the intake part and the hand-written notes are kept); raw outputs go to
# bench/out/.
#
#   bench/sweep.sh
#   CASES=100000 DUE=1000 BACKENDS=postgres bench/sweep.sh
#
# Needs: cargo, python3, psql, sqlite3, /usr/bin/time, and PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust auth).
set -euo pipefail

CASES=${CASES:-1000000}
DUE=${DUE:-10000}
BACKENDS=${BACKENDS:-postgres sqlite}
[[ $CASES =~ ^[1-9][0-9]*$ && $DUE =~ ^[1-9][0-9]*$ && $DUE -le $CASES ]] \
    || { echo "CASES and DUE must be positive integers, DUE <= CASES" >&2; exit 2; }

cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
PG_ADMIN=(env PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -q)
PG_URL=postgres://postgres@127.0.0.1:5432/duban_sweep
COMMAND="CASES=$CASES DUE=$DUE bench/sweep.sh"
log() { printf '\n==> %s\n' "$*" >&2; }

log "building the release binary"
cargo build --release --bin duban
REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock config migrations 2>/dev/null) ]]; then
    REVISION="$REVISION plus uncommitted changes to src/, config/ or migrations/"
fi

# Secrets for this run only, never written to disk.
export DUBAN_JWT_SECRET DUBAN_PII_KEY DUBAN_AUDIT_SIGNING_KEY
DUBAN_JWT_SECRET=$(head -c48 /dev/urandom | base64 -w0)
DUBAN_PII_KEY=$(head -c32 /dev/urandom | base64 -w0)
DUBAN_AUDIT_SIGNING_KEY=$(head -c32 /dev/urandom | base64 -w0)
export DUBAN_PATHS__DATA_DIR=$OUT DUBAN_LOG=warn

duban() { DATABASE_URL=$1 target/release/duban "${@:2}"; }

# One `duban escalate`: its JSON report to $2.json, "wall_s rss_kb" to $2.time.
escalate() { # url name
    /usr/bin/time -f '%e %M' -o "$OUT/$2.time" \
        env DATABASE_URL="$1" target/release/duban escalate >"$OUT/$2.json"
}

for backend in $BACKENDS; do
    case $backend in
        postgres)
            log "postgres: fresh database, migrations"
            "${PG_ADMIN[@]}" -c 'DROP DATABASE IF EXISTS duban_sweep WITH (FORCE)'
            "${PG_ADMIN[@]}" -c 'CREATE DATABASE duban_sweep'
            URL=$PG_URL
            duban "$URL" migrate >/dev/null
            log "postgres: seeding $CASES cases ($DUE due)"
            start=$(date +%s%N)
            psql "$URL" -q -v cases="$CASES" -v due="$DUE" -f bench/sweep/seed.postgres.sql >/dev/null
            echo $(( ($(date +%s%N) - start) / 1000000000 )) >"$OUT/sweep-postgres-seed.s"
            log "postgres: ceiling"
            psql "$URL" -q -f bench/sweep/ceiling.postgres.sql >"$OUT/sweep-postgres-ceiling.txt"
            grep -oP 'Time: \K[0-9.]+' "$OUT/sweep-postgres-ceiling.txt" | sort -n | tail -n1 \
                >"$OUT/sweep-postgres-ceiling.ms"
            ;;
        sqlite)
            log "sqlite: fresh database, migrations"
            DB=$OUT/sweep.db
            rm -f "$DB" "$DB-wal" "$DB-shm"
            URL=sqlite://$DB
            duban "$URL" migrate >/dev/null
            log "sqlite: seeding $CASES cases ($DUE due)"
            start=$(date +%s%N)
            sed -e "s/@CASES@/$CASES/g" -e "s/@DUE@/$DUE/g" bench/sweep/seed.sqlite.sql | sqlite3 "$DB"
            echo $(( ($(date +%s%N) - start) / 1000000000 )) >"$OUT/sweep-sqlite-seed.s"
            log "sqlite: ceiling"
            sqlite3 "$DB" <bench/sweep/ceiling.sqlite.sql >"$OUT/sweep-sqlite-ceiling.txt"
            # .timer prints "Run Time: real R user U sys S" per statement.
            grep -oP 'real \K[0-9.]+' "$OUT/sweep-sqlite-ceiling.txt" \
                | awk '{s += $1} END {printf "%.1f\n", s * 1000}' >"$OUT/sweep-sqlite-ceiling.ms"
            ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    log "$backend: sweep with $DUE cases due"
    echo "$(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/sweep-$backend-loadavg.txt"
    escalate "$URL" "sweep-$backend-due"
    log "$backend: sweep with nothing due"
    escalate "$URL" "sweep-$backend-idle"
    # What the sweep wrote, counted in the database.
    case $backend in
        postgres) q() { psql "$URL" -qtAc "$1"; } ;;
        sqlite) q() { sqlite3 "$DB" "$1"; } ;;
    esac
    {
        echo "escalations $(q 'SELECT COUNT(*) FROM escalations')"
        echo "reminder_letters $(q "SELECT COUNT(*) FROM letters WHERE kind = 'reminder'")"
        echo "outbox $(q 'SELECT COUNT(*) FROM outbox WHERE letter_id IS NOT NULL')"
        echo "scheduled $(q 'SELECT COUNT(*) FROM complaints WHERE next_escalation_at IS NOT NULL')"
    } >"$OUT/sweep-$backend-counts.txt"
    cat "$OUT/sweep-$backend-due.json" "$OUT/sweep-$backend-counts.txt" >&2
done

log "writing bench/RESULTS.md"
python3 - "$COMMAND" "$REVISION" "$CASES" "$DUE" "$BACKENDS" <<'PY'
import json, os, sys
sys.path.insert(0, "bench")
from results import machine, read

command, revision, cases, due, backends = sys.argv[1:6]
MARK = "<!-- sweep results: written by bench/sweep.sh; edit only the Sweep notes -->"

lines = [MARK, "", "# Sweep benchmark results", "",
         f"Produced by `{command}` at revision {revision} on {machine()}.", "",
         f"{int(cases):,} open cases in a fresh database, {int(due):,} of them overdue by five "
         "minutes; the rest due over the next 30 days. Targets (docs/architecture.md, \"Targets\"): one sweep under "
         "10 s on PostgreSQL, a sweep with nothing due under 100 ms, resident memory under 150 MiB.",
         "",
         "| backend | sweep with cases due | ceiling: the same rows written set-based | ceiling time ÷ sweep time | sweep with nothing due | whole `duban escalate` (due / idle) | peak RSS (due / idle) | steps fired | rows checked |",
         "|---|---|---|---|---|---|---|---|---|"]
for b in backends.split():
    due_r = json.loads(read(f"sweep-{b}-due.json"))
    idle_r = json.loads(read(f"sweep-{b}-idle.json"))
    wall_d, rss_d = read(f"sweep-{b}-due.time").split()[-2:]
    wall_i, rss_i = read(f"sweep-{b}-idle.time").split()[-2:]
    ceiling = float(read(f"sweep-{b}-ceiling.ms"))
    counts = dict(l.split() for l in read(f"sweep-{b}-counts.txt").splitlines())
    sweep_ms = due_r["duration_ms"]
    name = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[b]
    lines.append(
        f"| {name} | **{sweep_ms / 1000:.2f} s** ({due_r['cases_examined']:,} cases, "
        f"{due_r['batches']} batches) | {ceiling / 1000:.2f} s | {ceiling / max(sweep_ms, 1) * 100:.0f} % | "
        f"**{idle_r['duration_ms']:.2f} ms** | {wall_d} s / {wall_i} s | "
        f"{int(rss_d) / 1024:.0f} / {int(rss_i) / 1024:.0f} MiB | "
        f"{due_r['reminders']:,} reminders, {due_r['letters']:,} letters, {due_r['failed_cases']} failed | "
        f"{counts['escalations']} escalations, {counts['reminder_letters']} letters, "
        f"{counts['outbox']} e-mails, {counts['scheduled']} still scheduled |")
lines += ["",
          "Seeding took " + ", ".join(
              f"{float(read(f'sweep-{b}-seed.s')):.0f} s on {b}" for b in backends.split()) + ". "
          "Load average before each sweep: " + "; ".join(
              f"{b} {read(f'sweep-{b}-loadavg.txt')}" for b in backends.split()) + ".",
          "",
          "The sweep time is the sweep's own (`duration_ms` of its report); the whole command adds "
          "start-up (connecting, checking migrations, loading reference data, calendars and templates). "
          "The ceiling writes the same rows as the sweep (an escalation, a letter, its e-mail, an audit "
          "event per due case, and the schedule update) without rendering, hash chaining or round trips, "
          "and is rolled back instead of committed.",
          ""]
notes = "(none yet)\n"
path = "bench/RESULTS.md"
previous = open(path).read() if os.path.exists(path) else ""
head = previous.split(MARK, 1)[0].rstrip("\n") + "\n\n" if previous else ""
if MARK in previous and "\n## Sweep notes\n" in previous.split(MARK, 1)[1]:
    notes = previous.split(MARK, 1)[1].split("\n## Sweep notes\n", 1)[1].lstrip("\n")
lines += ["## Sweep notes", "", notes]
open(path, "w").write(head + "\n".join(lines))
PY
log "done: bench/RESULTS.md"
sed -n '/<!-- sweep results/,$p' bench/RESULTS.md
