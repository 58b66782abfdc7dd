#!/usr/bin/env bash
# Fuzzes the running service against its own OpenAPI document (docs/architecture.md, "Targets"):
# no 5xx, no response that breaks the document, no undocumented content type.
#
# Builds `duban serve`, starts it on a fresh SQLite file with generated
# secrets, creates one account per role with `duban user add
# --password-stdin`, logs each in through POST /api/v1/auth/token and runs
# schemathesis once per role (admin, supervisor, operator, unit GAJ,
# auditor) and once anonymously, with generated path values; then once more
# per role with the path values of real records (a case routed to GAJ, its
# transfer letter, an extension request, an accountability case, a user), so
# the bodies reach the workflow and the real views are checked against the
# document. The server logs every request (DUBAN_LOG=info); at the end its
# log is searched for the planted complainant identity, complaint text,
# query codes, passwords and tokens (the README, "Whistleblower protection"). Exits non-zero on any
# failure.
#
#   security/schemathesis.sh                   # 15 examples per operation
#   EXAMPLES=50 security/schemathesis.sh
#   ROLES="anonymous unit" security/schemathesis.sh
#   GENERATED_ROLES="supervisor" security/schemathesis.sh   (first pass for some roles only)
#   BACKEND=postgres security/schemathesis.sh   # a fresh PostgreSQL database
#                                               # (DUBAN_TEST_POSTGRES_URL's server)
#
# Needs: cargo, curl, python3 (installs schemathesis from PyPI if missing).
# Reports (JUnit, and the server log) go to target/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${EXAMPLES:-15}
SEED=${SEED:-20261127}
ROLES=${ROLES:-anonymous admin supervisor operator unit auditor}
# The first pass (generated path values: mostly unknown records) for these
# roles only; the second (real records) runs for every role of ROLES.
GENERATED_ROLES=${GENERATED_ROLES:-$ROLES}
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

BACKEND=${BACKEND:-sqlite}
OUT=$OUT/$BACKEND
rm -rf "$OUT"
mkdir -p "$OUT/data"
case $BACKEND in
    sqlite) export DATABASE_URL="sqlite://$PWD/$OUT/data/duban.db" ;;
    postgres)
        PG_SERVER=${DUBAN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
        PG_SERVER=${PG_SERVER%%\?*}
        PG_SERVER=${PG_SERVER%/*}
        DB=duban_schemathesis
        psql "$PG_SERVER/postgres" -v ON_ERROR_STOP=1 -q \
            -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" 2>&1 | grep -v NOTICE || true
        export DATABASE_URL="$PG_SERVER/$DB?sslmode=disable"
        ;;
    *) echo "BACKEND must be sqlite or postgres" >&2; exit 2 ;;
esac
DUBAN_JWT_SECRET=$(head -c48 /dev/urandom | base64 -w0)
DUBAN_PII_KEY=$(head -c32 /dev/urandom | base64 -w0)
DUBAN_AUDIT_SIGNING_KEY=$(head -c32 /dev/urandom | base64 -w0)
export DUBAN_JWT_SECRET DUBAN_PII_KEY DUBAN_AUDIT_SIGNING_KEY
export DUBAN_PATHS__DATA_DIR=$OUT/data
export DUBAN_LOG=info
# Fuzzing fails log-ins and look-ups on purpose; the limits would turn the
# rest of the run into 429s (which are documented, but test nothing).
export DUBAN_AUTH__MAX_LOGIN_FAILURES_PER_ADDRESS=1000000
export DUBAN_AUTH__MAX_LOGIN_FAILURES_PER_USER=1000000
export DUBAN_TRACKING__MAX_FAILURES_PER_ADDRESS=1000000
export DUBAN_TRACKING__MAX_FAILURES_PER_CASE=1000000
export DUBAN_INTAKE__MAX_FILINGS_PER_ADDRESS=1000000
export DUBAN_INTAKE__BURST_PER_UNIT=0

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

token_for() { # role [unit or -] [username]
    local user=${3:-st-$1}
    local unit_args=()
    [[ ${2:--} != - ]] && unit_args=(--unit "$2")
    printf '%s\n' "$PASSWORD" | "$BIN" user add --username "$user" --role "$1" "${unit_args[@]}" --password-stdin >/dev/null
    curl -sf -H 'content-type: application/json' \
        -d "{\"username\": \"$user\", \"password\": \"$PASSWORD\"}" \
        "$BASE/api/v1/auth/token" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' |
        tee >(sed 's/^/token\t/' >>"$PLANTED")
}

# Values no log line may hold, one "kind<TAB>value" per line; the fixtures
# below plant them, and every token and query code handed out joins them.
PLANTED=$OUT/planted.tsv
COMPLAINT='{"title": "窗口服务态度生硬（标题探针甲乙丙）", "content": "在县公安局户籍窗口办理业务时，工作人员态度生硬，多次推诿。内容探针子丑寅卯。",
 "category": "service_attitude", "subject_unit": "GAJ", "occurred_on": "2025-12-01", "anonymous": false,
 "complainant": {"name": "欧阳探针", "phone": "13987654321", "email": "st-probe@example.cn",
                 "id_number": "11010519491231002X", "address": "兴国县探针路77号"}}'
printf '%s\t%s\n' >"$PLANTED" \
    "complainant name" 欧阳探针 "phone" 13987654321 "e-mail" st-probe@example.cn \
    "ID number" 11010519491231002X "address" 兴国县探针路77号 \
    "complaint title" 标题探针甲乙丙 "complaint content" 内容探针子丑寅卯 "password" "$PASSWORD"

# A few real cases, so reads find something to shape.
for _ in 1 2 3; do
    curl -sf -H 'content-type: application/json' --data-binary "$COMPLAINT" "$BASE/api/v1/complaints" |
        python3 -c 'import json, sys; print("query code\t" + json.load(sys.stdin)["query_code"])' >>"$PLANTED"
done

declare -A TOKEN
for role in $ROLES; do
    case $role in
        anonymous) TOKEN[$role]= ;;
        unit) TOKEN[$role]=$(token_for unit GAJ) ;;
        *) TOKEN[$role]=$(token_for "$role") ;;
    esac
done

# Real records, and a config naming them as the path values.
log "creating the records the second pass uses"
python3 - "$BASE" "$(token_for supervisor - st-records-sup)" "$(token_for unit GAJ st-records-gaj)" \
    "$OUT/records.toml" "$COMPLAINT" "$PLANTED" <<'PY'
import json, sys, urllib.request
base, sup, gaj, out, complaint, planted = sys.argv[1:]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json",
                 **({"authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
receipt = call("POST", "/api/v1/complaints", json.loads(complaint))
no = receipt["tracking_no"]
with open(planted, "a") as f:
    f.write(f"query code\t{receipt['query_code']}\n")
case = call("GET", f"/api/v1/complaints/{no}", token=sup)
letter = case["letters"][0]["id"]
call("POST", f"/api/v1/complaints/{no}/acknowledge", {}, gaj)
ext = call("POST", f"/api/v1/complaints/{no}/extensions",
           {"workdays": 2, "reason": "需要调取外地监控录像。"}, gaj)["id"]
acc = call("POST", "/api/v1/accountability",
           {"unit": "GAJ", "tracking_no": no, "situation": "A2",
            "reason": "窗口民警对办事群众态度恶劣，经核查属实。"}, sup)["id"]
with open(out, "w") as f:
    f.write(f'[parameters]\ntracking_no = "{no}"\n')
    for regex, value in [("^/api/v1/letters/", letter), ("/extensions/", ext),
                         ("^/api/v1/accountability/", acc), ("^/api/v1/users/", 1)]:
        f.write(f'\n[[operations]]\ninclude-path-regex = "{regex}"\nparameters = {{ id = {value} }}\n')
print(f"case {no}, letter {letter}, extension {ext}, accountability case {acc}, user 1")
PY

failed=()
summary=()
run() { # role pass [--config-file file]
    local role=$1 pass=$2
    shift 2
    local attempt
    for attempt in 1 2; do
        run_once "$role" "$pass" "$@" && return 0
        # A crash inside schemathesis or Hypothesis while generating data
        # (seen: CPython's "AST constructor recursion depth mismatch") is an
        # error of the tool, not of the API: run that pass once more. A
        # failure of a check is never retried.
        if grep -qE '^=+ FAILURES =+$' "$OUT/run-$role-$pass.txt" \
            || ! grep -q 'Runtime Error' "$OUT/run-$role-$pass.txt"; then
            break
        fi
        log "schemathesis itself crashed (no check failed): once more"
        cp "$OUT/run-$role-$pass.txt" "$OUT/run-$role-$pass.tool-error.txt"
    done
    failed+=("$role ($pass)")
}
run_once() {
    local role=$1 pass=$2
    shift 2
    local headers=()
    [[ -n ${TOKEN[$role]} ]] && headers=(-H "Authorization: Bearer ${TOKEN[$role]}")
    log "schemathesis as $role, $pass path values ($EXAMPLES examples per operation)"
    set +e
    "${ST[@]}" "$@" run "$BASE/api-docs/openapi.json" \
        "${headers[@]}" \
        --checks not_a_server_error,response_schema_conformance,content_type_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "$EXAMPLES" \
        --seed "$SEED" \
        --workers 2 \
        --no-shrink \
        --request-timeout 20 \
        --suppress-health-check all \
        --report junit --report-junit-path "$OUT/junit-$role-$pass.xml" \
        --output-truncate true \
        2>&1 | tee "$OUT/run-$role-$pass.txt"
    local rc=${PIPESTATUS[0]}
    set -e
    local cases tested
    cases=$(grep -A1 '^Test cases:' "$OUT/run-$role-$pass.txt" | tail -1 | sed 's/^ *//' || true)
    tested=$(grep -E '^ +Tested: ' "$OUT/run-$role-$pass.txt" | sed 's/^ *Tested: //' || true)
    summary+=("$role, $pass path values: ${tested:-?} operations, ${cases:-?}, exit $rc")
    return "$rc"
}
for role in $GENERATED_ROLES; do
    run "$role" generated
done
for role in $ROLES; do
    run "$role" real --config-file "$OUT/records.toml"
done

# 5xx answers are caught by not_a_server_error; the log shows what else
# went wrong. Actix logs malformed requests (a NUL byte in a header) that
# never reach the service: those are expected. A panic fails the run.
errors=$(grep -E 'ERROR|panicked' "$OUT/server.log" | grep -v 'request parse error' || true)
if [[ -n $errors ]]; then
    log "the server logged errors:"
    head -20 <<<"$errors" >&2
fi
if grep -q 'panicked' "$OUT/server.log"; then
    failed+=("server panicked")
fi

# No identity, complaint text, query code, password or token in the log
# (the matching lines are not printed: they would spread what leaked).
stop_server
requests=$(grep -c 'request finished' "$OUT/server.log" || true)
[[ ${requests:-0} -gt 0 ]] || failed+=("no request in the server log: the log search proves nothing")
leaks=0
while IFS=$'\t' read -r kind value; do
    [[ -n $value ]] || continue
    if grep -qF -- "$value" "$OUT/server.log"; then
        failed+=("the server log contains a planted $kind")
        leaks=$((leaks + 1))
    fi
done <"$PLANTED"
summary+=("server log: $(wc -l <"$OUT/server.log") lines, $requests requests; searched for $(wc -l <"$PLANTED") planted values ($(cut -f1 "$PLANTED" | sort | uniq -c | awk '{n=$1; $1=""; printf "%s%s %d", sep, substr($0, 2), n; sep=", "}')): $leaks found")

log "summary"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "schemathesis failed for: ${failed[*]} (reports in $OUT/)" >&2
    exit 1
fi
echo "schemathesis: no failures for $ROLES"
