#!/usr/bin/env bash
# Audit log benchmark (docs/architecture.md, "Targets"): ENTRIES entries
# (default 1,000,000; one case per ten) appended through the service's own
# code and sequenced in ten tenths, then a checkpoint, the floor (every entry
# read in log order, nothing checked) and `verify_all`, each in its own
# process of a release build (examples/auditlog.rs). Targets: appending stays
# O(log n) (the cost per entry of the last tenth about that of the first),
# a checkpoint in milliseconds, verification under 150 MiB.
# On PostgreSQL, then SQLite. Writes the "Audit log" part of bench/RESULTS.md
# (the hand-written notes are kept); raw outputs in bench/out/.
#
#   bench/audit.sh
#   ENTRIES=100000 BACKENDS=sqlite bench/audit.sh
#
# Needs: cargo, python3, psql, and PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust auth).
set -euo pipefail

ENTRIES=${ENTRIES:-1000000}
BACKENDS=${BACKENDS:-postgres sqlite}
[[ $ENTRIES =~ ^[1-9][0-9]*$ ]] || { echo "ENTRIES must be a positive integer" >&2; exit 2; }

cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
PG_ADMIN=(env PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -q)
PG_URL=postgres://postgres@127.0.0.1:5432/duban_audit
COMMAND="ENTRIES=$ENTRIES bench/audit.sh"
log() { printf '\n==> %s\n' "$*" >&2; }

log "building the release driver (examples/auditlog.rs)"
cargo build --release --example auditlog
BIN=target/release/examples/auditlog
REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock config migrations examples 2>/dev/null) ]]; then
    REVISION="$REVISION plus uncommitted changes"
fi

# Secrets for this run only, never written to disk.
DUBAN_JWT_SECRET=$(head -c48 /dev/urandom | base64 -w0)
DUBAN_PII_KEY=$(head -c32 /dev/urandom | base64 -w0)
DUBAN_AUDIT_SIGNING_KEY=$(head -c32 /dev/urandom | base64 -w0)
export DUBAN_JWT_SECRET DUBAN_PII_KEY DUBAN_AUDIT_SIGNING_KEY
export DUBAN_PATHS__DATA_DIR=$OUT DUBAN_LOG=warn

for b in $BACKENDS; do
    case $b in
        postgres)
            "${PG_ADMIN[@]}" -c "DROP DATABASE IF EXISTS duban_audit WITH (FORCE)" -c "CREATE DATABASE duban_audit"
            export DATABASE_URL=$PG_URL ;;
        sqlite)
            rm -f "$OUT"/audit.db "$OUT"/audit.db-wal "$OUT"/audit.db-shm
            export DATABASE_URL="sqlite://$PWD/$OUT/audit.db" ;;
        *) echo "unknown backend $b" >&2; exit 2 ;;
    esac
    log "$b: seeding and sequencing $ENTRIES entries"
    echo "$(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/audit-$b-loadavg.txt"
    "$BIN" seed "$ENTRIES" | tee "$OUT/audit-$b-seed.jsonl"
    log "$b: the floor"
    "$BIN" floor | tee "$OUT/audit-$b-floor.json"
    log "$b: verification"
    "$BIN" verify | tee "$OUT/audit-$b-verify.json"
    du -sk "$OUT/audit.db" 2>/dev/null | cut -f1 >"$OUT/audit-$b-size.kb" || true
    if [[ $b == postgres ]]; then
        "${PG_ADMIN[@]}" -At -c "SELECT pg_database_size('duban_audit') / 1024" >"$OUT/audit-$b-size.kb"
    fi
done

log "writing bench/RESULTS.md"
python3 - "$COMMAND" "$REVISION" "$ENTRIES" "$BACKENDS" <<'PY'
import json, os, sys
sys.path.insert(0, "bench")
from results import machine, read

command, revision, entries, backends = sys.argv[1:5]
MARK = "<!-- audit log results: written by bench/audit.sh; edit only the Audit log notes -->"
END = "<!-- end of audit log results -->"

lines = [MARK, "", "## Audit log", "",
         f"Produced by `{command}` at revision {revision} on {machine()}, release build.", "",
         f"{int(entries):,} entries (one new case per ten; the others reads of recent cases) appended in "
         "transactions of 1,000 by `audit::append_many`, then placed in the log by `audit_log::sequence`, a "
         "tenth at a time. Targets (docs/architecture.md, \"Targets\"): appending O(log n) (flat per-entry "
         "cost), a checkpoint in milliseconds, verification of 1,000,000 entries under 150 MiB.", "",
         "| backend | append µs/entry (first / last tenth) | sequence µs/entry (first / last tenth) | checkpoint (median / max) | floor: read every entry | verify | verify ÷ floor | verify peak RSS | database size | load before |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for b in backends.split():
    seed = [json.loads(l) for l in read(f"audit-{b}-seed.jsonl").splitlines()]
    tenths = [r for r in seed if r["mode"] == "seed"]
    cp = next(r for r in seed if r["mode"] == "checkpoint")
    floor = json.loads(read(f"audit-{b}-floor.json"))
    ver = json.loads(read(f"audit-{b}-verify.json"))
    size = int(read(f"audit-{b}-size.kb") or 0)
    name = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[b]
    lines.append(
        f"| {name} | {tenths[0]['append_us_per_entry']:.1f} / {tenths[-1]['append_us_per_entry']:.1f} | "
        f"{tenths[0]['sequence_us_per_entry']:.1f} / {tenths[-1]['sequence_us_per_entry']:.1f} | "
        f"{cp['median_ms']:.2f} / {cp['max_ms']:.2f} ms | {floor['seconds']:.2f} s ({floor['peak_rss_mib']:.0f} MiB) | "
        f"**{ver['seconds']:.2f} s** ({ver['entries']:,} entries, ok: {str(ver['ok']).lower()}) | "
        f"{ver['seconds'] / max(floor['seconds'], 1e-9):.1f}× | **{ver['peak_rss_mib']:.0f} MiB** | "
        f"{size / 1024:.0f} MiB | {read(f'audit-{b}-loadavg.txt')} |")
lines += ["", "Appending includes the case rows (one per ten entries) and the chain hashes; sequencing is "
          "the MAC, the leaf and the tree's right edge per entry plus one UPDATE per row. The floor reads the "
          "same pages verification reads, checking nothing.", ""]
notes = "(none yet)\n"
path = "bench/RESULTS.md"
previous = open(path).read() if os.path.exists(path) else ""
if MARK in previous:
    before, rest = previous.split(MARK, 1)
    after = rest.split(END, 1)[1] if END in rest else ""
    if "\n### Audit log notes\n" in rest.split(END, 1)[0]:
        notes = rest.split(END, 1)[0].split("\n### Audit log notes\n", 1)[1].strip("\n") + "\n"
else:
    before, after = previous.rstrip("\n") + "\n\n", ""
lines += ["### Audit log notes", "", notes.rstrip("\n"), "", END]
open(path, "w").write(before + "\n".join(lines) + after)
PY
log "done: bench/RESULTS.md"
sed -n '/<!-- audit log results/,/<!-- end of audit log results/p' bench/RESULTS.md
