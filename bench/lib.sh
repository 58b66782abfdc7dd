# Shared by the HTTP benchmarks (bench/intake.sh, bench/tracking.sh); sourced,
# not run. The caller sets OUT, PORT, BASE, DURATION and CLIENTS, and runs from
# the repository root.

# (PGOPTIONS only hides the NOTICE of DROP ... IF EXISTS.)
PG_ADMIN=(env PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -q)
PG_URL=postgres://postgres@127.0.0.1:5432/duban_bench
export PATH="$HOME/.cargo/bin:$PATH"

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

# What was built, as "commit" or "commit plus uncommitted changes …" (others
# may be editing the tree while a benchmark runs).
revision() {
    local rev
    rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock config migrations 2>/dev/null) ]]; then
        rev="$rev plus uncommitted changes to src/, config/ or migrations/"
    fi
    echo "$rev"
}

# Load average before each measured run: anything else busy on the machine
# (builds, tests) skews the figures, so the report shows it.
note_load() { echo "$1: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/loadavg.txt"; }

# ---------------------------------------------------------------- load tool
# oha preferred (cargo install, once: ~7 min); wrk from apt as the fallback.
# Sets TOOL and TOOL_VERSION.
pick_tool() {
    if [[ ${LOAD_TOOL:-} == wrk ]]; then
        command -v wrk >/dev/null || install_wrk
        TOOL=wrk
    elif command -v oha >/dev/null; then
        TOOL=oha
    elif [[ ${LOAD_TOOL:-} != oha ]] && command -v wrk >/dev/null; then
        TOOL=wrk
    else
        log "oha not found: cargo install oha --locked (slow, once)"
        if cargo install oha --locked >&2 && command -v oha >/dev/null; then
            TOOL=oha
        else
            log "oha install failed: falling back to wrk from apt"
            install_wrk
            TOOL=wrk
        fi
    fi
    case $TOOL in
        oha) TOOL_VERSION=$(oha --version | head -n1) ;;
        wrk) TOOL_VERSION=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2 || true) ;;
    esac
    log "load tool: $TOOL_VERSION"
}
install_wrk() {
    (apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }) >&2
}

# ---------------------------------------------------------------- servers
# A random secret of N bytes, base64.
random_secret() { head -c"$1" /dev/urandom | base64 -w0; }

# One set of keys for every process of a run (the server, the CLI, the
# ceilings, which must hash a phone number as the server did): exported,
# never written to disk.
export_run_secrets() {
    export DUBAN_JWT_SECRET DUBAN_PII_KEY DUBAN_AUDIT_SIGNING_KEY
    DUBAN_JWT_SECRET=$(random_secret 48)
    DUBAN_PII_KEY=$(random_secret 32)
    DUBAN_AUDIT_SIGNING_KEY=$(random_secret 32)
}

# The release build's command line on DATABASE_URL $1.
duban() { DATABASE_URL=$1 DUBAN_PATHS__DATA_DIR=$OUT DUBAN_LOG=warn target/release/duban "${@:2}"; }

# A staff account bench-ROLE for each role, each with the password $PASSWORD.
add_bench_users() { # url role...
    local url=$1 role
    shift
    for role in "$@"; do
        printf '%s' "$PASSWORD" | duban "$url" user add --username "bench-$role" --role "$role" \
            --password-stdin >/dev/null
    done
}

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
    # Secrets are generated per run and never written to disk; a script that
    # needs the same keys in several processes calls export_run_secrets.
    DATABASE_URL=$1 \
    DUBAN_JWT_SECRET=${DUBAN_JWT_SECRET:-$(random_secret 48)} \
    DUBAN_PII_KEY=${DUBAN_PII_KEY:-$(random_secret 32)} \
    DUBAN_AUDIT_SIGNING_KEY=${DUBAN_AUDIT_SIGNING_KEY:-$(random_secret 32)} \
    DUBAN_PATHS__DATA_DIR=$OUT \
    DUBAN_LOG=warn \
    DUBAN_INTAKE__MAX_FILINGS_PER_ADDRESS=1000000000 \
    DUBAN_INTAKE__BURST_PER_UNIT=0 \
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

# Peak resident set of the running server over its whole life, in KiB.
server_peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status"; }

# Anything the server logged at warn or above is worth a look.
show_server_warnings() { # logfile
    if grep -qE 'WARN|ERROR' "$1"; then
        echo "server logged $(grep -cE 'WARN|ERROR' "$1") warn/error lines; first ones:" >&2
        grep -E 'WARN|ERROR' "$1" | head -n 5 >&2
    fi
}

# ---------------------------------------------------------------- load
# POSTs the JSON file `body` to `path` for DURATION seconds over CLIENTS
# connections (or, with `method` GET, sends GETs and `body` is ignored;
# `token`, when given, goes in an Authorization: Bearer header); writes
# normalised JSON to `out.json`:
# {requests, ok, non_ok, transport_errors, seconds, throughput, p50_ms, p99_ms}
# where ok counts answers with status `expected`, and throughput is ok per second.
run_load() { # path body expected out.json [method [token]]
    local path=$1 body=$2 expected=$3 out=$4 method=${5:-POST} token=${6:-}
    local raw=${out%.json}.raw
    case $TOOL in
        oha)
            # -w: requests still in flight at the deadline are awaited, not
            # counted as errors.
            local fmt=(--output-format json)
            oha --help | grep -q -- '--output-format' || fmt=(-j)
            local req=(-m "$method")
            [[ $method == POST ]] && req+=(-T application/json -D "$body")
            [[ -n $token ]] && req+=(-H "Authorization: Bearer $token")
            oha --no-tui "${fmt[@]}" -w -z "${DURATION}s" -c "$CLIENTS" "${req[@]}" \
                "$BASE$path" >"$raw"
            python3 - "$raw" "$out" "$expected" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
expected = int(sys.argv[3])
codes = {int(k): v for k, v in d.get("statusCodeDistribution", {}).items()}
errs = sum(d.get("errorDistribution", {}).values())
ok = codes.get(expected, 0)
secs = d["summary"]["total"]
lat = d.get("latencyPercentiles", {})
ms = lambda v: round(v * 1000, 2) if v is not None else None
json.dump({
    "requests": sum(codes.values()), "ok": ok,
    "non_ok": sum(v for k, v in codes.items() if k != expected),
    "status_codes": codes, "transport_errors": errs,
    "error_kinds": d.get("errorDistribution", {}),
    "seconds": round(secs, 3), "throughput": round(ok / secs, 1),
    "p50_ms": ms(lat.get("p50")), "p99_ms": ms(lat.get("p99")),
}, open(sys.argv[2], "w"))
PY
            ;;
        wrk)
            local threads=$(( CLIENTS < 2 ? CLIENTS : 2 ))
            BENCH_BODY=$body BENCH_STATUS=$expected BENCH_METHOD=$method BENCH_TOKEN=$token \
                wrk -t "$threads" -c "$CLIENTS" -d "${DURATION}s" --timeout 10s \
                -s bench/post.lua "$BASE$path" >"$raw"
            python3 - "$raw" "$out" <<'PY'
import json, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("WRKJSON "))
d = json.loads(line[len("WRKJSON "):])
secs = d["duration_us"] / 1e6
ok = d["requests"] - d["non_ok"]
json.dump({
    "requests": d["requests"], "ok": ok, "non_ok": d["non_ok"],
    "transport_errors": d["socket_errors"],
    "seconds": round(secs, 3), "throughput": round(ok / secs, 1),
    "p50_ms": round(d["p50_us"] / 1000, 2), "p99_ms": round(d["p99_us"] / 1000, 2),
}, open(sys.argv[2], "w"))
PY
            ;;
    esac
}

# Runs examples/ceiling with the given arguments on DATABASE_URL `url`; keeps
# its JSON result line in `res`.json and everything it printed in `res`.log.
run_ceiling() { # url res args...
    local url=$1 res=$2
    shift 2
    local status=0
    # Its log lines (warn and above) share stdout with the result line.
    DATABASE_URL=$url DUBAN_LOG=warn DUBAN_PATHS__DATA_DIR=$OUT \
        target/release/examples/ceiling --clients "$CLIENTS" --seconds "$DURATION" "$@" \
        >"$res.log" 2>&1 || status=$?
    if (( status != 0 )) || ! grep '^{"ops"' "$res.log" | tail -n1 >"$res.json"; then
        echo "ceiling failed (exit $status); $res.log:" >&2
        cat "$res.log" >&2; exit 1
    fi
    cat "$res.json"
    if grep -qv '^{"ops"' "$res.log"; then
        echo "ceiling printed:" >&2; grep -v '^{"ops"' "$res.log" | head -n 5 >&2
    fi
}

# One measured HTTP run against the server started last: the load, the
# server's peak memory, then the server is stopped. Writes $OUT/http-BACKEND.json
# (or $OUT/NAME.json).
measure_http() { # backend path body expected logfile [method [token [name]]]
    local backend=$1 path=$2 body=$3 expected=$4 logfile=$5 method=${6:-POST} token=${7:-}
    local name=${8:-http-$backend}
    note_load "$backend HTTP${8:+ $8}"
    run_load "$path" "$body" "$expected" "$OUT/$name.json" "$method" "$token"
    local rss_kib
    rss_kib=$(server_peak_rss_kib)
    stop_server
    python3 - "$OUT/$name.json" "$rss_kib" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["peak_rss_kib"] = int(sys.argv[2])
json.dump(d, open(sys.argv[1], "w"))
print(json.dumps(d))
PY
    show_server_warnings "$logfile"
}

# The two ceilings, each on a fresh database: "direct" (N threads, each with a
# pooled connection of its own) and "group" (N tasks through the handler's own
# call: AppState::db_write, group commit where the state has a writer, for a
# filing; AppState::db for a look-up). Writes $OUT/ceiling-MODE-BACKEND.json.
run_ceilings() { # backend ceiling-args...
    local backend=$1 mode url
    shift
    for mode in direct group; do
        log "$backend: ceiling ($mode), $CLIENTS clients, ${DURATION}s"
        url=$(fresh_db "$backend" "ceiling-$mode")
        note_load "$backend ceiling $mode"
        run_ceiling "$url" "$OUT/ceiling-$mode-$backend" --mode "$mode" "$@"
    done
}
