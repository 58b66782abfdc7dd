#!/usr/bin/env bash
# Fuzzes the running service against its own OpenAPI document (DESIGN §12):
# no 5xx, no response that breaks the document, no undocumented content type.
#
# Builds `duban serve`, starts it on a fresh SQLite file with generated
# secrets, creates one account per role with `duban user add
# --password-stdin`, logs each in through POST /api/v1/auth/token and runs
# schemathesis once per role (admin, supervisor, operator, unit GAJ,
# auditor) and once anonymously. Exits non-zero on any failure.
#
#   security/schemathesis.sh                   # 15 examples per operation
#   EXAMPLES=50 security/schemathesis.sh
#   ROLES="anonymous unit" security/schemathesis.sh
#
# Needs: cargo, curl, python3 (installs schemathesis from PyPI if missing).
# Reports (JUnit, and the server log) go to target/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${EXAMPLES:-15}
SEED=${SEED:-20261127}
ROLES=${ROLES:-anonymous admin supervisor operator unit auditor}
PORT=${PORT:-18383}
BASE=http://127.0.0.1:$PORT
OUT=target/schemathesis
PASSWORD='schemathesis password 1234'
export RUST_BACKTRACE=0

log() { printf '\n==> %s\n' "$*" >&2; }

if ! python3 -c 'import schemathesis, sys; sys.exit(int(schemathesis.__version__.split(".")[0]) < 4)' 2>/dev/null; then
    log "installing schemathesis (PyPI)"
    python3 -m pip install --quiet 'schemathesis>=4,<5'
fi
ST=(python3 -m schemathesis.cli)
"${ST[@]}" --version

log "building duban"
cargo build --quiet --bin duban
BIN=target/debug/duban

rm -rf "$OUT"
mkdir -p "$OUT/data"
export DATABASE_URL="sqlite://$PWD/$OUT/data/duban.db"
DUBAN_JWT_SECRET=$(head -c48 /dev/urandom | base64 -w0)
DUBAN_PII_KEY=$(head -c32 /dev/urandom | base64 -w0)
export DUBAN_JWT_SECRET DUBAN_PII_KEY
export DUBAN_PATHS__DATA_DIR=$OUT/data
export DUBAN_LOG=warn
# Fuzzing fails log-ins and look-ups on purpose; the limits would turn the
# rest of the run into 429s (which are documented, but test nothing).
export DUBAN_AUTH__MAX_LOGIN_FAILURES_PER_ADDRESS=1000000
export DUBAN_AUTH__MAX_LOGIN_FAILURES_PER_USER=1000000
export DUBAN_TRACKING__MAX_FAILURES_PER_ADDRESS=1000000
export DUBAN_TRACKING__MAX_FAILURES_PER_CASE=1000000

SERVER_PID=
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

log "starting duban serve on $BASE"
"$BIN" serve --bind "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
ready=
for _ in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log" >&2; echo "server exited" >&2; exit 1; }
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" || true) == 200 ]]; then ready=1; break; fi
    sleep 0.2
done
[[ -n $ready ]] || { cat "$OUT/server.log" >&2; echo "server not ready after 60 s" >&2; exit 1; }

token_for() { # role [unit]
    local user="st-$1"
    local unit_args=()
    [[ $# -ge 2 ]] && unit_args=(--unit "$2")
    printf '%s\n' "$PASSWORD" | "$BIN" user add --username "$user" --role "$1" "${unit_args[@]}" --password-stdin >/dev/null
    curl -sf -H 'content-type: application/json' \
        -d "{\"username\": \"$user\", \"password\": \"$PASSWORD\"}" \
        "$BASE/api/v1/auth/token" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# A few real cases, so reads find something to shape.
for _ in 1 2 3; do
    curl -sf -o /dev/null -H 'content-type: application/json' \
        --data-binary @- "$BASE/api/v1/complaints" <<'JSON'
{"title": "窗口服务态度生硬", "content": "在县公安局户籍窗口办理业务时，工作人员态度生硬，多次推诿。",
 "category": "service_attitude", "subject_unit": "GAJ", "occurred_on": "2025-12-01", "anonymous": false,
 "complainant": {"name": "测试人", "phone": "13900000000"}}
JSON
done

failed=()
summary=()
for role in $ROLES; do
    headers=()
    case $role in
        anonymous) ;;
        unit) headers=(-H "Authorization: Bearer $(token_for unit GAJ)") ;;
        *) headers=(-H "Authorization: Bearer $(token_for "$role")") ;;
    esac
    log "schemathesis as $role ($EXAMPLES examples per operation)"
    set +e
    "${ST[@]}" run "$BASE/api-docs/openapi.json" \
        "${headers[@]}" \
        --checks not_a_server_error,response_schema_conformance,content_type_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "$EXAMPLES" \
        --seed "$SEED" \
        --workers 2 \
        --no-shrink \
        --request-timeout 20 \
        --suppress-health-check all \
        --report junit --report-junit-path "$OUT/junit-$role.xml" \
        --output-truncate true \
        2>&1 | tee "$OUT/run-$role.txt"
    rc=${PIPESTATUS[0]}
    set -e
    cases=$(grep -A1 '^Test cases:' "$OUT/run-$role.txt" | tail -1 | sed 's/^ *//' || true)
    tested=$(grep -E '^ +Tested: ' "$OUT/run-$role.txt" | sed 's/^ *Tested: //' || true)
    summary+=("$role: ${tested:-?} operations, ${cases:-?}, exit $rc")
    [[ $rc -eq 0 ]] || failed+=("$role")
done

if grep -q '"level":"ERROR"' "$OUT/server.log"; then
    log "the server logged errors:"
    grep '"level":"ERROR"' "$OUT/server.log" | head -20 >&2
fi

log "summary"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "schemathesis failed for: ${failed[*]} (reports in $OUT/)" >&2
    exit 1
fi
echo "schemathesis: no failures for $ROLES"
