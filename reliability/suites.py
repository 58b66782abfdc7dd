#!/usr/bin/env python3
"""The reliability targets (docs/architecture.md, "Targets") checked against a release build of `duban serve`.

Run through `reliability/run` (which builds the binary first). Suites:

  crash        kill -9 under load, on SQLite and PostgreSQL: no acknowledged
               complaint lost, no half-written case
  idempotency  clients with tiny timeouts retrying one POST with one
               Idempotency-Key, several at once per key: one complaint per key
  pg-outage    own PostgreSQL cluster stopped for OUTAGE_SECONDS under load:
               503 + Retry-After, process up, recovers by itself, nothing lost
  smtp-outage  letters filed while no SMTP server listens go out once each
               when one appears; no letter names the complainant

Every server runs with DUBAN_LOG=info; at the end every server log is searched
for the identity, complaint text and query codes the suites planted (the README, "Whistleblower protection").

Writes RELIABILITY.md (figures of this run) and raw logs to reliability/out/.
Exits 1 on any violation. Only markers generated here are ever logged: no
secrets, query codes, identity or complaint text.
"""

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "reliability", "out")
# The binary under test: the release build by default; `.ci/run` passes the
# debug build `cargo test` already made (RELIABILITY_BIN), as these suites check
# correctness under failure, not speed.
BIN = os.environ.get("RELIABILITY_BIN") or os.path.join(ROOT, "target", "release", "duban")
BUILD = "the debug build" if "/debug/" in BIN else "a release build"
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")

CRASH_ROUNDS = int(os.environ.get("CRASH_ROUNDS", "3"))
CRASH_CLIENTS = int(os.environ.get("CRASH_CLIENTS", "8"))
IDEM_KEYS = int(os.environ.get("IDEM_KEYS", "40"))
IDEM_CLIENTS_PER_KEY = int(os.environ.get("IDEM_CLIENTS_PER_KEY", "3"))
OUTAGE_SECONDS = int(os.environ.get("OUTAGE_SECONDS", "30"))
OUTAGE_CLIENTS = int(os.environ.get("OUTAGE_CLIENTS", "4"))
SMTP_LETTERS = int(os.environ.get("SMTP_LETTERS", "30"))
SUITES = os.environ.get("SUITES", "crash idempotency pg-outage smtp-outage").split()

# Generated once per run, kept in memory and passed to the server through its
# environment only (the same pair across restarts on one database).
SECRETS = {
    "DUBAN_JWT_SECRET": base64.b64encode(os.urandom(48)).decode(),
    "DUBAN_PII_KEY": base64.b64encode(os.urandom(32)).decode(),
    "DUBAN_AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
}
RUN_ID = uuid.uuid4().hex[:8]

VIOLATIONS = []  # (suite, text)
SERVERS = []  # every Server started, stopped at the end whatever happened
FIGURES = {}  # suite -> dict


def log(msg):
    line = f"[{datetime.now().strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    with open(os.path.join(OUT, "run.log"), "a") as f:
        f.write(line + "\n")


def violation(suite, text):
    VIOLATIONS.append((suite, text))
    log(f"VIOLATION [{suite}] {text}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def id_number(prefix17):
    """A well-formed resident ID number (GB 11643 check digit)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(prefix17, weights))
    return prefix17 + "10X98765432"[total % 11]


# Values no server log may ever hold (the README, "Whistleblower protection"), planted in every non-anonymous
# complaint of this run; unique to the run, so nothing else can match them.
_r = random.Random()
IDENTITY = {
    "complainant name": "司马" + "".join(_r.choice("甲乙丙丁戊己庚辛壬癸") for _ in range(3)),
    "phone": f"139{_r.randrange(10**8):08d}",
    "e-mail": f"rel-{RUN_ID}@example.cn",
    "ID number": id_number(f"360731{_r.randrange(1950, 2000)}0{_r.randrange(1, 10)}1{_r.randrange(1, 10)}{_r.randrange(1000):03d}"),
    "address": "兴国县" + "".join(_r.choice("甲乙丙丁戊己庚辛壬癸") for _ in range(4)) + f"路{_r.randrange(1, 999)}号",
}
# Complaint text: every title starts with TITLE_TAG, every content holds CONTENT_TAG.
TITLE_TAG = "reliability marker "
CONTENT_TAG = "内容标记" + "".join(_r.choice("子丑寅卯辰巳午未申酉戌亥") for _ in range(6))
QUERY_CODES = set()  # every query code a server handed out in this run
QUERY_CODES_LOCK = threading.Lock()


def receipt(r):
    """The JSON of a 201 receipt; its query code joins the planted values."""
    b = r.json()
    with QUERY_CODES_LOCK:
        QUERY_CODES.add(b["query_code"])
    return b


def complaint(marker, anonymous=False):
    """A complaint routed to a unit (GAJ, service_attitude): it is assigned at
    filing and makes a transfer letter with an outbox row."""
    body = {
        "title": f"{TITLE_TAG}{marker}",
        "content": f"可靠性测试生成的投诉（{CONTENT_TAG}），内容不含真实信息。办事窗口态度生硬，多次推诿。",
        "category": "service_attitude",
        "subject_unit": "GAJ",
        "occurred_on": "2025-12-01",
        "anonymous": anonymous,
    }
    if not anonymous:
        body["complainant"] = {
            "name": IDENTITY["complainant name"],
            "phone": IDENTITY["phone"],
            "email": IDENTITY["e-mail"],
            "id_number": IDENTITY["ID number"],
            "address": IDENTITY["address"],
        }
    return body


# ------------------------------------------------------------------ servers


class Server:
    def __init__(self, name, db_url, extra_env=None):
        self.name = name
        self.db_url = db_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = os.path.join(OUT, name)
        os.makedirs(self.data_dir, exist_ok=True)
        self.extra_env = extra_env or {}
        self.proc = None
        self.starts = 0
        SERVERS.append(self)

    def start(self, timeout=60):
        env = dict(os.environ)
        env.update(SECRETS)
        env.update(
            {
                "DATABASE_URL": self.db_url,
                "DUBAN_PATHS__DATA_DIR": self.data_dir,
                "DUBAN_LOG": "info",
                # The suites file thousands of complaints from one address
                # naming one unit: the intake limits would refuse or hold
                # them (they are tested in cargo test, not here).
                "DUBAN_INTAKE__MAX_FILINGS_PER_ADDRESS": "100000000",
                "DUBAN_INTAKE__BURST_PER_UNIT": "0",
            }
        )
        env.update(self.extra_env)
        self.starts += 1
        logf = open(os.path.join(OUT, f"server-{self.name}.log"), "a")
        logf.write(f"--- start {self.starts} at {datetime.now().isoformat()}\n")
        logf.flush()
        self.proc = subprocess.Popen(
            [BIN, "serve", "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=env,
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited during start-up (see server-{self.name}.log)")
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"server {self.name} not ready after {timeout} s")

    def ready(self, timeout=2):
        try:
            return requests.get(self.base + "/readyz", timeout=timeout).status_code == 200
        except requests.RequestException:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class PgCluster:
    """A PostgreSQL cluster of our own (trust auth on 127.0.0.1, free port),
    run as the postgres user in a temporary folder it owns."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="duban-rel-pg-")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o755)

    def _as_pg(self, *args, check=True, timeout=120):
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def init(self):
        self._as_pg(
            f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"
        )
        self.start()

    def start(self):
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir}"
        self._as_pg(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.logfile, "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self._as_pg(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def url(self, db):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, db, sql):
        r = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1",
             "-Atqc", sql],
            check=True,
            capture_output=True,
            text=True,
            env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"),
        )
        return r.stdout

    def create_db(self, db):
        self.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.psql("postgres", f"CREATE DATABASE {db}")

    def destroy(self):
        try:
            self.stop("immediate")
        except Exception:
            pass
        try:
            shutil.copy(self.logfile, os.path.join(OUT, "postgres.log"))
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Db:
    """SQL on the database a server uses (SQLite file or PostgreSQL)."""

    def __init__(self, kind, path=None, cluster=None, name=None):
        self.kind, self.path, self.cluster, self.name = kind, path, cluster, name

    def rows(self, sql):
        if self.kind == "sqlite":
            import sqlite3

            con = sqlite3.connect(self.path, timeout=30)
            try:
                return [tuple(r) for r in con.execute(sql).fetchall()]
            finally:
                con.close()
        out = self.cluster.psql(self.name, sql)
        return [tuple(line.split("|")) for line in out.splitlines() if line != ""]

    def scalar(self, sql):
        return int(self.rows(sql)[0][0])


# Half-written cases: each query counts complaints that break one rule.
INTEGRITY = {
    "complaint without its 'received' audit event": """
        SELECT count(*) FROM complaints c WHERE NOT EXISTS (
            SELECT 1 FROM audit_events a WHERE a.complaint_id = c.id AND a.action = 'received')""",
    "non-anonymous complaint without its complainants row": """
        SELECT count(*) FROM complaints c WHERE NOT c.anonymous AND NOT EXISTS (
            SELECT 1 FROM complainants p WHERE p.complaint_id = c.id)""",
    "assigned complaint without an open assignment": """
        SELECT count(*) FROM complaints c WHERE c.status = 'assigned' AND NOT EXISTS (
            SELECT 1 FROM assignments a WHERE a.complaint_id = c.id AND a.ended_at IS NULL)""",
    "assigned complaint without a transfer letter and its outbox row": """
        SELECT count(*) FROM complaints c WHERE c.status = 'assigned' AND NOT EXISTS (
            SELECT 1 FROM letters l JOIN outbox o ON o.letter_id = l.id
            WHERE l.complaint_id = c.id AND l.kind = 'transfer')""",
}


def check_integrity(suite, db):
    total = db.scalar("SELECT count(*) FROM complaints")
    assigned = db.scalar("SELECT count(*) FROM complaints WHERE status = 'assigned'")
    for rule, sql in INTEGRITY.items():
        n = db.scalar(sql)
        if n:
            violation(suite, f"{n} {rule}")
    if assigned != total:
        violation(suite, f"only {assigned} of {total} routed complaints are assigned")
    return total, assigned


def marker_counts(db, prefix):
    """title -> number of complaints, for titles of this run's markers."""
    rows = db.rows(f"SELECT title, count(*) FROM complaints WHERE title LIKE 'reliability marker {prefix}%' GROUP BY title")
    return {t[len("reliability marker "):]: int(n) for t, n in rows}


# ------------------------------------------------------------------ 1. crash


def crash_backend(backend, db_url, db):
    suite = "crash"
    srv = Server(f"crash-{backend}", db_url)
    srv.start()
    fig = {"rounds": 0, "requests": 0, "acked": 0, "kills": 0, "tracked_ok": 0, "lost": 0, "dupes": 0,
           "kill_after_s": [], "audit_entries": 0, "audit_findings": 0}
    try:
        for rnd in range(1, CRASH_ROUNDS + 1):
            acked = []  # (tracking_no, query_code, marker)
            lock = threading.Lock()
            stop = threading.Event()
            sent = [0]

            def client(t):
                s = requests.Session()
                n = 0
                while not stop.is_set():
                    n += 1
                    marker = f"{RUN_ID}-{backend}-r{rnd}-t{t}-{n}"
                    try:
                        r = s.post(
                            srv.base + "/api/v1/complaints",
                            json=complaint(marker, anonymous=(n % 4 == 0)),
                            headers={"Idempotency-Key": f"crash-{marker}"},
                            timeout=10,
                        )
                    except requests.RequestException:
                        if not srv.alive():
                            return
                        continue
                    finally:
                        with lock:
                            sent[0] += 1
                    if r.status_code == 201:
                        b = receipt(r)
                        with lock:
                            acked.append((b["tracking_no"], b["query_code"], marker))

            threads = [threading.Thread(target=client, args=(t,)) for t in range(CRASH_CLIENTS)]
            for th in threads:
                th.start()
            after = random.uniform(1.0, 4.0)
            time.sleep(after)
            srv.kill9()
            stop.set()
            for th in threads:
                th.join()
            fig["kills"] += 1
            fig["kill_after_s"].append(round(after, 2))
            srv.start()
            # Every acknowledged complaint is trackable with its receipt.
            lost = 0
            s = requests.Session()
            for no, code, marker in acked:
                r = s.post(srv.base + "/api/v1/track", json={"tracking_no": no, "query_code": code}, timeout=10)
                if r.status_code == 200 and r.json().get("tracking_no") == no:
                    fig["tracked_ok"] += 1
                else:
                    lost += 1
                    violation(suite, f"{backend} round {rnd}: acknowledged {marker} not trackable (HTTP {r.status_code})")
            counts = marker_counts(db, f"{RUN_ID}-{backend}-r{rnd}-")
            for _, _, marker in acked:
                if counts.get(marker, 0) != 1:
                    violation(suite, f"{backend} round {rnd}: {marker} stored {counts.get(marker, 0)} times")
            dupes = sum(1 for n in counts.values() if n > 1)
            if dupes:
                violation(suite, f"{backend} round {rnd}: {dupes} markers stored more than once")
            total, assigned = check_integrity(suite, db)
            entries, findings = check_audit_log(suite, f"{backend} round {rnd}", srv)
            fig["audit_entries"] = entries
            fig["audit_findings"] += findings
            fig["rounds"] += 1
            fig["requests"] += sent[0]
            fig["acked"] += len(acked)
            fig["lost"] += lost
            fig["dupes"] += dupes
            fig["stored_total"] = total
            log(f"crash {backend} round {rnd}: kill -9 after {after:.2f} s, {sent[0]} requests, "
                f"{len(acked)} acknowledged, {lost} lost, {total} complaints in database ({assigned} assigned)")
    finally:
        srv.stop()
    return fig


def check_audit_log(suite, what, srv):
    """After a kill -9 and a restart, the audit log holds every entry and
    raises no false alarm: `duban audit checkpoint`, then `duban audit verify`
    against every checkpoint signed so far on this database (a later round
    still holds the log to the earlier rounds' checkpoints)."""
    env = dict(os.environ)
    env.update(SECRETS)
    env.update({"DATABASE_URL": srv.db_url, "DUBAN_PATHS__DATA_DIR": srv.data_dir, "DUBAN_LOG": "warn"})
    kept = os.path.join(OUT, f"checkpoints-{srv.name}.jsonl")
    cp = subprocess.run([BIN, "audit", "checkpoint"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if cp.returncode != 0:
        violation(suite, f"{what}: duban audit checkpoint failed: {cp.stderr.strip()[:300]}")
        return 0, 1
    with open(kept, "a") as f:
        f.write(cp.stdout.strip() + "\n")
    r = subprocess.run([BIN, "audit", "verify", "--checkpoints", kept], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(r.stdout)
    except ValueError:
        violation(suite, f"{what}: duban audit verify printed no report: {r.stderr.strip()[:300]}")
        return 0, 1
    if r.returncode != 0 or not report.get("ok"):
        kinds = sorted({f["kind"] for f in report.get("findings", [])})
        violation(suite, f"{what}: the audit log found {report.get('findings_total')} problems after kill -9: {kinds}")
    return report.get("entries", 0), report.get("findings_total", 0)


def suite_crash(cluster):
    figs = {}
    path = os.path.join(OUT, "crash-sqlite.db")
    for f in (path, path + "-wal", path + "-shm", path + "-journal"):
        if os.path.exists(f):
            os.remove(f)
    figs["sqlite"] = crash_backend("sqlite", f"sqlite://{path}", Db("sqlite", path=path))
    cluster.create_db("duban_rel_crash")
    figs["postgres"] = crash_backend(
        "postgres", cluster.url("duban_rel_crash"), Db("postgres", cluster=cluster, name="duban_rel_crash")
    )
    FIGURES["crash"] = figs


# ------------------------------------------------------------------ 2. idempotency


def idem_backend(backend, db_url, db):
    suite = "idempotency"
    srv = Server(f"idem-{backend}", db_url)
    srv.start()
    fig = {"keys": IDEM_KEYS, "clients_per_key": IDEM_CLIENTS_PER_KEY, "attempts": 0, "timeouts": 0,
           "answers": 0, "replays": 0, "first_answer_replayed": 0, "other_status": {}}
    lock = threading.Lock()
    answers = {}  # key -> list of tracking_no

    def client(marker, key, body):
        s = requests.Session()
        deadline = time.time() + 60
        got = None
        first = True
        while time.time() < deadline:
            with lock:
                fig["attempts"] += 1
            # Tiny timeouts: the first attempt gives up after 1-10 ms, while
            # the server is still filing; retries wait 3-200 ms (log-uniform).
            timeout = random.uniform(0.001, 0.01) if first else 0.003 * (0.2 / 0.003) ** random.random()
            first = False
            try:
                r = s.post(srv.base + "/api/v1/complaints", json=body, headers={"Idempotency-Key": key},
                           timeout=timeout)
            except requests.RequestException:
                with lock:
                    fig["timeouts"] += 1
                s.close()
                s = requests.Session()
                continue
            if r.status_code == 201:
                got = receipt(r)["tracking_no"]
                if r.headers.get("Idempotent-Replayed") == "true":
                    with lock:
                        fig["first_answer_replayed"] += 1
                break
            with lock:
                fig["other_status"][str(r.status_code)] = fig["other_status"].get(str(r.status_code), 0) + 1
            if r.status_code in (409, 503):  # a concurrent first attempt still running
                time.sleep(0.05)
                continue
            violation(suite, f"{backend}: {marker} answered HTTP {r.status_code}")
            return
        if got is None:
            violation(suite, f"{backend}: {marker} got no answer in 60 s")
            return
        # A late retry (generous timeout) replays the same answer.
        r = s.post(srv.base + "/api/v1/complaints", json=body, headers={"Idempotency-Key": key}, timeout=10)
        with lock:
            fig["attempts"] += 1
            answers.setdefault(key, []).append(got)
            if r.status_code == 201:
                fig["replays"] += 1
                answers[key].append(receipt(r)["tracking_no"])
            else:
                violation(suite, f"{backend}: replay of {marker} answered HTTP {r.status_code}")

    try:
        markers = {}
        batch = max(1, 18 // IDEM_CLIENTS_PER_KEY)
        keys = list(range(IDEM_KEYS))
        for i in range(0, len(keys), batch):
            threads = []
            for k in keys[i:i + batch]:
                marker = f"{RUN_ID}-idem-{backend}-{k}"
                key = f"idem-{RUN_ID}-{backend}-{k}"
                markers[key] = marker
                body = complaint(marker, anonymous=(k % 3 == 0))
                threads += [threading.Thread(target=client, args=(marker, key, body))
                            for _ in range(IDEM_CLIENTS_PER_KEY)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        counts = marker_counts(db, f"{RUN_ID}-idem-{backend}-")
        for key, marker in markers.items():
            nos = set(answers.get(key, []))
            if len(nos) > 1:
                violation(suite, f"{backend}: answers for {marker} name {len(nos)} different tracking numbers")
            if counts.get(marker, 0) != 1:
                violation(suite, f"{backend}: {marker} stored {counts.get(marker, 0)} times")
        fig["answers"] = sum(len(v) for v in answers.values())
        fig["stored_once"] = sum(1 for m in markers.values() if counts.get(m, 0) == 1)
        fig["stored_twice_or_more"] = sum(1 for m in markers.values() if counts.get(m, 0) > 1)
        if fig["timeouts"] == 0:
            violation(suite, f"{backend}: no attempt timed out, so no retry was exercised")
        check_integrity(suite, db)
        log(f"idempotency {backend}: {IDEM_KEYS} keys x {IDEM_CLIENTS_PER_KEY} clients, {fig['attempts']} attempts, "
            f"{fig['timeouts']} client timeouts, {fig['stored_once']} keys stored exactly once, "
            f"{fig['stored_twice_or_more']} more than once")
    finally:
        srv.stop()
    return fig


def suite_idempotency(cluster):
    figs = {}
    path = os.path.join(OUT, "idem-sqlite.db")
    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    figs["sqlite"] = idem_backend("sqlite", f"sqlite://{path}", Db("sqlite", path=path))
    cluster.create_db("duban_rel_idem")
    figs["postgres"] = idem_backend(
        "postgres", cluster.url("duban_rel_idem"), Db("postgres", cluster=cluster, name="duban_rel_idem")
    )
    FIGURES["idempotency"] = figs


# ------------------------------------------------------------------ 3. PostgreSQL outage


def suite_pg_outage(cluster):
    suite = "pg-outage"
    cluster.create_db("duban_rel_outage")
    db = Db("postgres", cluster=cluster, name="duban_rel_outage")
    srv = Server("pg-outage", cluster.url("duban_rel_outage"))
    srv.start()
    client_timeout = 10.0
    lock = threading.Lock()
    stop = threading.Event()
    events = []  # (t_start, t_end, status or error, retry_after, content_type, marker)
    readyz = []  # (t, status or error)
    acked = {}  # marker -> (tracking_no, query_code)
    phase = {"stop_begin": None, "down_at": None, "start_begin": None, "up_at": None, "ready_at": None}
    alive_failures = [0]

    def client(t):
        s = requests.Session()
        n = 0
        while not stop.is_set():
            n += 1
            marker = f"{RUN_ID}-outage-t{t}-{n}"
            t0 = time.time()
            try:
                r = s.post(srv.base + "/api/v1/complaints", json=complaint(marker),
                           headers={"Idempotency-Key": f"outage-{marker}"}, timeout=client_timeout)
                res = (t0, time.time(), r.status_code, r.headers.get("Retry-After"),
                       r.headers.get("Content-Type", ""), marker)
                if r.status_code == 201:
                    b = receipt(r)
                    with lock:
                        acked[marker] = (b["tracking_no"], b["query_code"])
            except requests.Timeout:
                res = (t0, time.time(), "timeout", None, "", marker)
            except requests.RequestException as e:
                res = (t0, time.time(), f"error:{type(e).__name__}", None, "", marker)
            with lock:
                events.append(res)
            if res[2] != 201:
                time.sleep(0.2)  # a client honouring 503 backs off a little

    def watcher():
        while not stop.is_set():
            t0 = time.time()
            try:
                st = requests.get(srv.base + "/readyz", timeout=client_timeout).status_code
            except requests.RequestException as e:
                st = f"error:{type(e).__name__}"
            if not srv.alive():
                alive_failures[0] += 1
            with lock:
                readyz.append((t0, st, time.time()))
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(OUTAGE_CLIENTS)]
    threads.append(threading.Thread(target=watcher))
    for th in threads:
        th.start()
    try:
        time.sleep(5)
        phase["stop_begin"] = time.time()
        cluster.stop("fast")
        phase["down_at"] = time.time()
        log(f"pg-outage: cluster stopped (fast) for {OUTAGE_SECONDS} s")
        time.sleep(OUTAGE_SECONDS)
        phase["start_begin"] = time.time()
        cluster.start()
        phase["up_at"] = time.time()
        log("pg-outage: cluster started again")
        deadline = time.time() + 60
        while time.time() < deadline:
            with lock:
                ok = [t1 for t0, st, t1 in readyz if t0 >= phase["up_at"] and st == 200]
            if ok:
                phase["ready_at"] = min(ok)
                break
            time.sleep(0.2)
        time.sleep(8)  # load after recovery
    finally:
        stop.set()
        for th in threads:
            th.join()

    def in_phase(t0, t1):
        if t1 < phase["stop_begin"]:
            return "before"
        if phase["down_at"] and t0 >= phase["down_at"] and t1 <= phase["start_begin"]:
            return "down"
        if phase["ready_at"] and t0 >= phase["ready_at"]:
            return "after"
        return "transition"

    fig = {"outage_seconds": OUTAGE_SECONDS, "clients": OUTAGE_CLIENTS, "requests": len(events),
           "by_phase": {}, "max_latency_down_s": 0.0, "recovery_s": None, "readyz_down": {}, "lost": 0}
    for t0, t1, st, ra, ct, marker in events:
        p = in_phase(t0, t1)
        d = fig["by_phase"].setdefault(p, {})
        d[str(st)] = d.get(str(st), 0) + 1
        if p in ("down", "transition"):
            fig["max_latency_down_s"] = max(fig["max_latency_down_s"], round(t1 - t0, 2))
        if st == "timeout":
            violation(suite, f"{marker} ({p}): no answer within the client timeout of {client_timeout} s")
        elif isinstance(st, str):
            violation(suite, f"{marker} ({p}): transport error {st}")
        elif st == 503:
            if not ra:
                violation(suite, f"{marker} ({p}): 503 without Retry-After")
            if not ct.startswith("application/problem+json"):
                violation(suite, f"{marker} ({p}): 503 with Content-Type {ct!r}")
        elif st != 201:
            violation(suite, f"{marker} ({p}): HTTP {st}")
    with open(os.path.join(OUT, "pg-outage-events.jsonl"), "w") as f:
        for t0, t1, st, ra, ct, marker in events:
            f.write(json.dumps({"t0": round(t0 - phase["stop_begin"], 3), "s": round(t1 - t0, 3), "status": st,
                                "retry_after": ra, "phase": in_phase(t0, t1), "marker": marker}) + "\n")
        for t0, st, t1 in readyz:
            f.write(json.dumps({"readyz_t0": round(t0 - phase["stop_begin"], 3), "s": round(t1 - t0, 3),
                                "status": st}) + "\n")
        f.write(json.dumps({k: (round(v - phase["stop_begin"], 3) if v else v) for k, v in phase.items()}) + "\n")
    for t, st, t1 in readyz:
        if phase["down_at"] and phase["down_at"] <= t and t1 <= phase["start_begin"]:
            fig["readyz_down"][str(st)] = fig["readyz_down"].get(str(st), 0) + 1
            if st != 503:
                violation(suite, f"GET /readyz answered {st} while the database was down")
    if not fig["readyz_down"]:
        violation(suite, "no /readyz answer observed while the database was down")
    if alive_failures[0] or not srv.alive():
        violation(suite, "the server process exited during the outage")
    down = fig["by_phase"].get("down", {})
    if not down.get("503"):
        violation(suite, "no request got 503 while the database was down")
    if phase["ready_at"] is None:
        violation(suite, "GET /readyz did not return to 200 within 60 s of the restart")
    else:
        fig["recovery_s"] = round(phase["ready_at"] - phase["up_at"], 2)
    if not fig["by_phase"].get("after", {}).get("201"):
        violation(suite, "no complaint filed after recovery")
    # Everything acknowledged (before, during, after) is stored, once.
    counts = marker_counts(db, f"{RUN_ID}-outage-")
    for marker, (no, code) in acked.items():
        if counts.get(marker, 0) != 1:
            fig["lost"] += 1
            violation(suite, f"acknowledged {marker} stored {counts.get(marker, 0)} times")
    s = requests.Session()
    for marker, (no, code) in acked.items():
        r = s.post(srv.base + "/api/v1/track", json={"tracking_no": no, "query_code": code}, timeout=10)
        if r.status_code != 200:
            violation(suite, f"acknowledged {marker} not trackable (HTTP {r.status_code})")
    fig["acked"] = len(acked)
    check_integrity(suite, db)
    srv.stop()
    FIGURES["pg-outage"] = fig
    log(f"pg-outage: {len(events)} requests, by phase {json.dumps(fig['by_phase'])}, readyz while down "
        f"{json.dumps(fig['readyz_down'])}, recovered {fig['recovery_s']} s after restart, {len(acked)} acknowledged, "
        f"{fig['lost']} lost")


# ------------------------------------------------------------------ 4. SMTP outage


def suite_smtp_outage(cluster):
    suite = "smtp-outage"
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    path = os.path.join(OUT, "smtp-sqlite.db")
    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    db = Db("sqlite", path=path)
    smtp_port = free_port()  # nothing listens there yet
    srv = Server("smtp-outage", f"sqlite://{path}", {
        "DUBAN_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "DUBAN_SMTP__BACKOFF_BASE_SECONDS": "1",
        "DUBAN_SMTP__POLL_INTERVAL_MS": "200",
        "DUBAN_SMTP__MAX_ATTEMPTS": "20",
    })
    srv.start()
    received = []
    texts = []  # the decoded text of every message, headers and all parts
    lock = threading.Lock()

    def decoded(msg):
        parts = [f"{k}: {v}" for k, v in msg.items()]
        for part in msg.walk():
            payload = part.get_payload(decode=True)
            if payload is not None:
                parts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
        return "\n".join(parts)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            msg = message_from_bytes(envelope.original_content or envelope.content)
            with lock:
                received.append((msg.get("Message-ID") or "").strip().strip("<>"))
                texts.append(decoded(msg))
            return "250 OK"

    controller = None
    fig = {"letters": SMTP_LETTERS}
    try:
        s = requests.Session()
        for i in range(SMTP_LETTERS):
            marker = f"{RUN_ID}-smtp-{i}"
            r = s.post(srv.base + "/api/v1/complaints", json=complaint(marker),
                       headers={"Idempotency-Key": f"smtp-{marker}"}, timeout=10)
            if r.status_code == 201:
                receipt(r)
            else:
                violation(suite, f"{marker}: filing answered HTTP {r.status_code}")
        time.sleep(4)  # the worker tries and fails while nothing listens
        expected = {m.strip("<>") for (m,) in db.rows(
            "SELECT o.message_id FROM outbox o JOIN letters l ON l.id = o.letter_id WHERE l.kind = 'transfer'")}
        fig["outbox_rows"] = len(expected)
        fig["failed_attempts_before"] = db.scalar("SELECT coalesce(sum(attempts), 0) FROM outbox")
        fig["sent_before"] = db.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'")
        if len(expected) != SMTP_LETTERS:
            violation(suite, f"{len(expected)} transfer letters in the outbox for {SMTP_LETTERS} routed complaints")
        if fig["failed_attempts_before"] == 0:
            violation(suite, "no failed delivery attempt while SMTP was down (the outage was not exercised)")
        if fig["sent_before"]:
            violation(suite, f"{fig['sent_before']} outbox rows marked sent while no SMTP server listened")
        log(f"smtp-outage: {len(expected)} letters waiting, {fig['failed_attempts_before']} failed attempts so far; "
            f"starting the SMTP server")
        controller = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
        controller.start()
        t_up = time.time()
        deadline = t_up + 90
        while time.time() < deadline:
            with lock:
                if expected <= set(received):
                    break
            time.sleep(0.2)
        fig["all_arrived_s"] = round(time.time() - t_up, 2) if expected <= set(received) else None
        time.sleep(5)  # anything sent twice would show up now
        with lock:
            got = list(received)
        missing = expected - set(got)
        dupes = {m for m in got if got.count(m) > 1}
        unexpected = set(got) - expected
        fig["received"] = len(got)
        fig["missing"] = len(missing)
        fig["duplicates"] = len(dupes)
        fig["sent_after"] = db.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'")
        if missing:
            violation(suite, f"{len(missing)} letters never arrived")
        if dupes:
            violation(suite, f"{len(dupes)} letters arrived more than once")
        if unexpected:
            violation(suite, f"{len(unexpected)} unexpected messages arrived")
        if fig["sent_after"] != len(expected):
            violation(suite, f"{fig['sent_after']} of {len(expected)} outbox rows marked sent")
        if not srv.alive():
            violation(suite, "the server process exited")
        # The unit learns what is complained about, never who complained.
        with lock:
            letters = list(texts)
        fig["letters_with_content"] = sum(1 for t in letters if CONTENT_TAG in t)
        fig["letters_naming_complainant"] = 0
        for text in letters:
            leaked = [kind for kind, value in IDENTITY.items() if value in text]
            leaked += ["query code"] * any(code in text for code in QUERY_CODES)
            if leaked:
                fig["letters_naming_complainant"] += 1
                violation(suite, f"a letter to the unit contains the complainant's {', '.join(leaked)}")
        if fig["letters_with_content"] != len(letters):
            violation(suite, f"only {fig['letters_with_content']} of {len(letters)} decoded letters carry the "
                             "complaint's content (decoding failed, so the identity check proves nothing)")
        log(f"smtp-outage: {len(got)} messages received, {len(missing)} missing, {len(dupes)} duplicated, "
            f"all arrived {fig['all_arrived_s']} s after the SMTP server started")
    finally:
        srv.stop()
        if controller:
            controller.stop()
    FIGURES["smtp-outage"] = fig


# ------------------------------------------------------------------ logs


def scan_logs():
    """Searches every server log of this run for the planted identity, the
    complaint text and every query code handed out (the README, "Whistleblower protection")."""
    import glob
    import re

    suite = "logs"
    files = sorted(glob.glob(os.path.join(OUT, "server-*.log")))
    fig = {"files": len(files), "bytes": 0, "lines": 0, "request_lines": 0,
           "query_codes": 0, "found": 0}
    runs = re.compile(r"[A-Z0-9]{8,}")
    # A code of digits alone could match a stretch of some latency figure.
    searched_codes = {c for c in QUERY_CODES if not c.isdigit()}
    fig["query_codes"] = len(searched_codes)
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        name = os.path.basename(path)
        fig["bytes"] += len(text.encode())
        fig["lines"] += text.count("\n")
        fig["request_lines"] += text.count("request finished")
        found = [kind for kind, value in IDENTITY.items() if value in text]
        found += ["complaint title"] * (TITLE_TAG in text)
        found += ["complaint content"] * (CONTENT_TAG in text)
        codes = {run[i:i + 8] for run in runs.findall(text) for i in range(len(run) - 7)}
        found += ["query code"] * bool(codes & searched_codes)
        for kind in found:
            fig["found"] += 1
            violation(suite, f"{name} contains a planted {kind}")
    # A search of logs that say nothing proves nothing: requests must be logged.
    if fig["request_lines"] == 0:
        violation(suite, "no request was logged (DUBAN_LOG=info): the search proves nothing")
    log(f"logs: {fig['files']} server logs, {fig['lines']} lines ({fig['request_lines']} requests), "
        f"{len(IDENTITY)} identity values, 2 text tags and {fig['query_codes']} query codes searched, "
        f"{fig['found']} found")
    FIGURES["logs"] = fig


# ------------------------------------------------------------------ report


def write_report(started, seconds, revision, command):
    crash = FIGURES.get("crash", {})
    idem = FIGURES.get("idempotency", {})
    out = FIGURES.get("pg-outage")
    smtp = FIGURES.get("smtp-outage")
    logs = FIGURES.get("logs")
    L = [
        "# Reliability suites",
        "",
        "The reliability targets (docs/architecture.md, \"Targets\"), checked against `duban serve` (" + BUILD + ") by",
        "`reliability/run` (Python drivers in `reliability/suites.py`; raw logs in `reliability/out/`).",
        "The command exits non-zero on any violation; `.ci/run` runs it after the tests.",
        "",
        "## What each suite does",
        "",
        "- **Crash durability** (SQLite and PostgreSQL, " + f"{CRASH_ROUNDS} rounds each): {CRASH_CLIENTS} client threads",
        "  file routed complaints (unique marker in the title, unique `Idempotency-Key`); after a random 1–4 s the",
        "  server gets `kill -9`; it is restarted on the same database; every acknowledged (201) complaint must",
        "  answer `POST /api/v1/track` with 200 and its tracking number (a loss shows as 404, or 429 past the",
        "  per-address failure limit), its marker must be stored exactly once, and SQL finds no half-written",
        "  case: every complaint has its `received` audit event, every non-anonymous one (all are filed with a",
        "  complainant) its `complainants` row, every `assigned` one an open assignment and a transfer letter with",
        "  an outbox row, and every complaint (all route to GAJ) is `assigned`. Then `duban audit checkpoint` and",
        "  `duban audit verify --checkpoints` (with every checkpoint of the earlier rounds) must find nothing: no",
        "  audit log entry lost, no false alarm (an entry commits with its change).",
        f"- **Idempotency under retries** (SQLite and PostgreSQL): {IDEM_KEYS} keys, {IDEM_CLIENTS_PER_KEY} concurrent",
        "  clients per key, each retrying the same POST with the same key and a tiny timeout (3–200 ms,",
        "  log-uniform; the first attempt 1–10 ms) until it gets 201, then once more with a long timeout; every answer",
        "  for a key must name one tracking number, each marker must be stored exactly once (SQL count on the",
        "  title), and some attempts must have timed out (else no retry was exercised).",
        f"- **PostgreSQL outage** (a cluster of its own on a free port): {OUTAGE_CLIENTS} clients file complaints",
        f"  (client timeout 10 s) while `pg_ctl stop -m fast` holds the database down for {OUTAGE_SECONDS} s",
        "  (`OUTAGE_SECONDS`), then it is started again. While down every answer must be 503",
        "  `application/problem+json` with `Retry-After` (no 500, no timeout, no transport error), `GET /readyz`",
        "  must answer 503 and the process must stay up; after the restart `/readyz` must return to 200 by itself",
        "  and filings must succeed; every acknowledged complaint must be stored once and trackable.",
        f"- **SMTP outage**: `duban serve` with `DUBAN_SMTP_URL` on a port where nothing listens (backoff 1 s,",
        f"  poll 200 ms, 20 attempts); {SMTP_LETTERS} routed complaints make {SMTP_LETTERS} transfer letters; after",
        "  failed attempts an aiosmtpd server starts on that port; every letter's Message-ID must arrive exactly",
        "  once (5 s of extra wait for late duplicates), none missing, and every outbox row ends `sent`. Every",
        "  message is decoded: each must carry the complaint's content and none the complainant's name, phone,",
        "  e-mail, ID number, address or any query code (the unit never learns who complained).",
        "- **No identity in logs**: every server above runs with `DUBAN_LOG=info` (a line per request) and its output",
        "  captured; at the end every log is searched for the planted complainant name, phone, e-mail, ID number",
        "  and address, the complaint title and content tags, and every query code handed out in the run.",
        "",
        "The security suites (README, \"Whistleblower protection\"; docs/architecture.md, \"Targets\") run in CI too; what they check and the figures of their last",
        "run are in [`security/README-suites.md`](security/README-suites.md):",
        "",
        "| suite | command |",
        "| --- | --- |",
        "| fuzzing the OpenAPI document as every role (schemathesis: no 5xx, no response outside the document) | `security/schemathesis.sh`, `BACKEND=postgres security/schemathesis.sh` |",
        "| hostile input: oversize, deep JSON, invalid UTF-8, NUL bytes, huge numbers, content types, path traversal in every path parameter | `cargo test --test api -- hostile errors` |",
        "| authorization matrix: every route × every role, anonymous and another unit; no identity to a unit anywhere | `cargo test --test api -- authz` |",
        "| token attacks: `alg: none`, HS/RS confusion, wrong secret, expired, future `iat`, tampered role, revoked | `cargo test --test api -- auth` |",
        "| brute force: query-code look-up and log-in limits, and no lock-out of a citizen's own case | `cargo test --test api -- tracking auth` |",
        "| tamper evidence: an edited, deleted, inserted or reordered audit log entry, a truncated or rehashed log, a forged checkpoint and a case or score edited without an entry are each named by `GET /api/v1/audit/verify` | `cargo test --test api -- audit` |",
        "| no identity, complaint text, query code or token in the logs | the log search of `reliability/run` (below) and of `security/schemathesis.sh`; `cargo test --test api -- logs_carry web_pages_log` (and the identity checks in `authz`, `open311`, `letters`) |",
        "",
        "## Last run",
        "",
        f"- Date: {started} (took {seconds:.0f} s); code: {revision}",
        f"- Command: `{command}`",
        f"- Suites run: {', '.join(SUITES)}",
        f"- Result: **{'PASS' if not VIOLATIONS else 'FAIL'}** ({len(VIOLATIONS)} violations)",
    ]
    if crash:
        L += ["", "### Crash durability", "",
              "| backend | rounds (kill -9) | kill after (s) | requests | acknowledged (201) | trackable after restart | records lost | stored twice | complaints in database | audit log entries | audit findings |",
              "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for b, f in crash.items():
            L.append(f"| {b} | {f['kills']} | {', '.join(map(str, f['kill_after_s']))} | {f['requests']} | {f['acked']} | "
                     f"{f['tracked_ok']} | {f['lost']} | {f['dupes']} | {f.get('stored_total', 0)} | "
                     f"{f.get('audit_entries', 0)} | {f.get('audit_findings', 0)} |")
    if idem:
        L += ["", "### Idempotency under retries", "",
              "| backend | keys × clients | attempts | client timeouts (retried) | 409/503 answers | first 201 was a replay | answers compared | keys stored once | stored more than once |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for b, f in idem.items():
            other = sum(f["other_status"].values())
            L.append(f"| {b} | {f['keys']} × {f['clients_per_key']} | {f['attempts']} | {f['timeouts']} | {other} | "
                     f"{f['first_answer_replayed']} | {f['answers']} | {f.get('stored_once', 0)} | {f.get('stored_twice_or_more', 0)} |")
    if out:
        L += ["", "### PostgreSQL outage", "",
              f"- Outage: {out['outage_seconds']} s, {out['clients']} clients, {out['requests']} requests in all.",
              "- Answers by phase (before the stop / database down / stop or restart in progress / after `/readyz` is 200 again): "
              + "; ".join(f"{p}: {json.dumps(v)}" for p, v in out["by_phase"].items()) + ".",
              f"- Slowest answer from the stop until `/readyz` was 200 again: {out['max_latency_down_s']} s (client timeout 10 s;",
              "  `database.connect_timeout_ms` is 3 s; per-request latencies are in `reliability/out/pg-outage-events.jsonl`).",
              f"- `GET /readyz` while down: {json.dumps(out['readyz_down'])}; back to 200 {out['recovery_s']} s after the cluster restart.",
              f"- Acknowledged: {out.get('acked', 0)}; records lost: {out['lost']}."]
    if smtp:
        L += ["", "### SMTP outage", "",
              f"- Letters: {smtp['letters']} routed complaints, {smtp.get('outbox_rows')} transfer letters in the outbox; "
              f"{smtp.get('failed_attempts_before')} failed delivery attempts while nothing listened, {smtp.get('sent_before')} sent.",
              f"- After the SMTP server started: {smtp.get('received')} messages received, all there after "
              f"{smtp.get('all_arrived_s')} s; missing {smtp.get('missing')}, duplicated {smtp.get('duplicates')}; "
              f"outbox rows `sent`: {smtp.get('sent_after')}.",
              f"- Letters decoded: {smtp.get('letters_with_content')} carry the complaint's content, "
              f"{smtp.get('letters_naming_complainant')} name the complainant (name, phone, e-mail, ID number, address "
              "or query code)."]
    if logs:
        L += ["", "### No identity in logs", "",
              f"- {logs['files']} server logs, {logs['lines']} lines ({logs['bytes'] / 2**20:.1f} MiB), "
              f"{logs['request_lines']} of them request lines.",
              f"- Searched for: {len(IDENTITY)} identity values, 2 complaint-text tags, {logs['query_codes']} query codes; "
              f"found: {logs['found']}."]
    if VIOLATIONS:
        L += ["", "## Violations", ""] + [f"- [{s}] {t}" for s, t in VIOLATIONS[:50]]
        if len(VIOLATIONS) > 50:
            L.append(f"- … and {len(VIOLATIONS) - 50} more (reliability/out/run.log)")
    with open(os.path.join(ROOT, "RELIABILITY.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    with open(os.path.join(OUT, "figures.json"), "w") as f:
        json.dump({"figures": FIGURES, "violations": VIOLATIONS}, f, indent=2)


def main():
    os.makedirs(OUT, exist_ok=True)
    open(os.path.join(OUT, "run.log"), "w").close()
    for old in os.listdir(OUT):
        # The log search reads this run's server logs only, and the crash
        # suite holds the log to this run's checkpoints only (an earlier
        # run's were signed with that run's random key).
        if (old.startswith("server-") and old.endswith(".log")) or (
            old.startswith("checkpoints-") and old.endswith(".jsonl")
        ):
            os.remove(os.path.join(OUT, old))
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.time()
    revision = os.environ.get("REL_REVISION", "unknown")
    command = os.environ.get("REL_COMMAND", "reliability/run")
    random.seed()
    cluster = None
    try:
        if any(s in SUITES for s in ("crash", "idempotency", "pg-outage")):
            cluster = PgCluster()
            cluster.init()
            log(f"own PostgreSQL cluster on 127.0.0.1:{cluster.port}")
        for name, fn in (("crash", suite_crash), ("idempotency", suite_idempotency),
                         ("pg-outage", suite_pg_outage), ("smtp-outage", suite_smtp_outage)):
            if name in SUITES:
                log(f"=== {name}")
                try:
                    fn(cluster)
                except Exception as e:  # a suite that cannot finish is a failure
                    violation(name, f"suite aborted: {type(e).__name__}: {e}")
    finally:
        for srv in SERVERS:
            srv.stop()
        if cluster:
            cluster.destroy()
        try:
            scan_logs()
        except Exception as e:
            violation("logs", f"log search aborted: {type(e).__name__}: {e}")
        write_report(started, time.time() - t0, revision, command)
    log(f"{'PASS' if not VIOLATIONS else 'FAIL'}: {len(VIOLATIONS)} violations; RELIABILITY.md written")
    return 1 if VIOLATIONS else 0


if __name__ == "__main__":
    sys.exit(main())
