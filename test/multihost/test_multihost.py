#!/usr/bin/env python3
"""test_multihost — the service past one machine, on a network of Linux
network namespaces (netlab.py), with faults under a burst of jobs.

    hub        10.99.0.1   bridge br0; this test's HTTP client
    pg         10.99.0.10  a throw-away PostgreSQL (test/store/pg_cluster.sh)
    rest1/2    10.99.0.11-12  img-rest replicas: http :8080, broker :5555,
                           one job store (db_url) and one data folder
    eng1/2/3   10.99.0.21-23  img-engine, one thread each, broker_connect
                           listing both replicas (eng2 in the other order)
CURVE is on between every engine and every replica.

1. Throughput, for the record only (no assertion on time): a burst of
   SPEED_JOBS with one engine attached, then the same with three.
2. The fault burst: JOBS resize jobs of a real photo (varied widths, JPEG
   and PNG), submitted by 4 client threads to the replicas in turn. During
   it: SIGKILL of one replica's main process (the one most engines are
   attached to, so that they must move: engines pick their first replica
   from their random names), SIGKILL of eng2's, eng3's link down for 5 s
   and up again. Submits to the dead replica are refused and only 202
   answers count as accepted.
3. Every accepted job is awaited on the surviving replica; the killed one
   is started again; then:
   - the store holds exactly one job per accepted submit (found by the
     X-Request-Id each submit carries) and no other job but those of
     submits whose answer was lost on the way (the replica died meanwhile);
   - every one of them is complete, none failed, and the store's history
     (a trigger this test adds, schema mh) shows exactly one transition
     into `complete` per job and no change at all after it: one recorded
     completion, never overwritten by a late or repeated one;
   - its status is the same from both replicas, field by field;
   - its result is downloaded whole from both replicas (the same bytes,
     Content-Length and result.bytes agree), has the requested format and
     size, and decodes to the end (vips, fail_on=warning);
   - its folder holds its input and one result file;
   - no process still meant to run died or was restarted by its supervisor;
   - CURVE is in force on both replicas' brokers: a stand-in engine without
     CURVE, or with a key not listed, is not taken, the same stand-in with
     a listed key is.
The figures (accepted, refused, completed per fault; jobs held by the
victim at each fault and what became of them; jobs/s with 1 and 3 engines)
are printed.

Runs as root (exit 77, CTest's skip, otherwise or without network
namespaces). Paths from IMG_REST_BIN, IMG_ENGINE_BIN, IMG_SOURCE_DIR as the
e2e tests. IMG_MULTIHOST_JOBS / IMG_MULTIHOST_SPEED_JOBS change the burst
sizes; IMG_MULTIHOST_KEEP=1 keeps the run folder (logs, data) even when the
test passes (a failed run's folder is always kept, its path printed).
"""

import concurrent.futures
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import netlab  # noqa: E402
from harness import multipart, sniff, zmq  # noqa: E402

SKIP = 77
SOURCE_DIR = os.environ.get("IMG_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
REST_BIN = os.environ.get("IMG_REST_BIN", os.path.join(SOURCE_DIR, "build/img-rest/img-rest"))
ENGINE_BIN = os.environ.get("IMG_ENGINE_BIN",
                            os.path.join(SOURCE_DIR, "build/img-engine/img-engine"))
PG_CLUSTER = os.path.join(SOURCE_DIR, "test/store/pg_cluster.sh")
PHOTO = "/usr/share/backgrounds/mate/nature/Dune.jpg"  # mate-backgrounds, 1680x1050
PHOTO_W, PHOTO_H = 1680, 1050

JOBS = int(os.environ.get("IMG_MULTIHOST_JOBS", "180"))
SPEED_JOBS = int(os.environ.get("IMG_MULTIHOST_SPEED_JOBS", "24"))
KEEP = os.environ.get("IMG_MULTIHOST_KEEP") == "1"
CLIENTS = 4
SUBMIT_EVERY_S = 0.08  # the fault burst's pace: one submit per 80 ms at most
HTTP_PORT, BROKER_PORT, PG_PORT = 8080, 5555, 5432
HEARTBEAT_MS, LEASE_MS = 250, 2000
# Up to three of a job's tries may be lost here (its broker killed, its
# engine killed, its engine cut off): max_attempts leaves room for a last one.
MAX_ATTEMPTS = 5
CUT_S = 5
COMPLETE_TIMEOUT_S = 420  # bounded, generous: a loaded 2-core machine
# The whole run stops itself (and cleans up) past this, before CTest's
# TIMEOUT (1200 s) would kill it with nothing cleaned up.
RUN_LIMIT_S = 1050
REPLICAS = ("rest1", "rest2")
ENGINES = ("eng1", "eng2", "eng3")
OCTETS = {"pg": 10, "rest1": 11, "rest2": 12, "eng1": 21, "eng2": 22, "eng3": 23}

T0 = time.monotonic()


def say(fmt, *args):
    sys.stdout.write("[%6.1fs] %s\n" % (time.monotonic() - T0, fmt % args if args else fmt))
    sys.stdout.flush()


class Failures:
    """Every check's failures, gathered so that one run reports them all."""

    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def check(self, ok, fmt, *args):
        if not ok:
            with self.lock:
                self.items.append(fmt % args if args else fmt)
        return ok


def http_call(address, method, path, body=None, headers=None, timeout=60):
    """(status, headers, body bytes); OSError/HTTPException pass through."""
    conn = http.client.HTTPConnection(address, HTTP_PORT, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def http_json(address, path, timeout=60):
    status, _, data = http_call(address, "GET", path, timeout=timeout)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, {"raw": data[:200].decode("utf-8", "replace")}


def expected_height(width):
    """resize with a width only: the height follows, rounded half away from 0."""
    return int(PHOTO_H * width / PHOTO_W + 0.5)


def image_header_size(data):
    """(width, height) from a PNG's IHDR or a JPEG's SOF marker, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        for marker, segment, _ in _jpeg_segments(data):
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(segment[3:5], "big"), int.from_bytes(segment[1:3], "big")
    return None


def _jpeg_segments(data):
    """(marker, payload, end) of a JPEG's segments up to its first scan."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        yield marker, data[pos + 4:pos + 2 + length], pos + 2 + length
        if marker == 0xDA:
            return
        pos += 2 + length


def whole_image_problem(data):
    """None when the PNG or JPEG bytes are whole, else what is wrong. PNG:
    every chunk's CRC, IEND last, the image data inflating to exactly the
    rows the header announces. JPEG: the segments up to the scan, and the
    end-of-image marker as the last two bytes after entropy-coded data free
    of any other marker (a cut file ends without it)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        pos, idat, ihdr, last = 8, [], None, None
        while pos + 12 <= len(data):
            length = int.from_bytes(data[pos:pos + 4], "big")
            kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
            crc = data[pos + 8 + length:pos + 12 + length]
            if len(body) != length or len(crc) != 4 or \
                    zlib.crc32(kind + body).to_bytes(4, "big") != crc:
                return "PNG chunk %r at %d is cut or corrupt" % (kind, pos)
            if kind == b"IHDR":
                ihdr = body
            elif kind == b"IDAT":
                idat.append(body)
            last = kind
            pos += 12 + length
        if last != b"IEND" or pos != len(data):
            return "PNG does not end with IEND (last chunk %r, %d of %d bytes)" % (
                last, pos, len(data))
        width, height = int.from_bytes(ihdr[0:4], "big"), int.from_bytes(ihdr[4:8], "big")
        depth, colour, interlace = ihdr[8], ihdr[9], ihdr[12]
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
        if interlace:
            return "PNG is interlaced"
        want = height * (1 + (width * channels * depth + 7) // 8)
        try:
            raw = zlib.decompress(b"".join(idat))
        except zlib.error as e:
            return "PNG image data does not inflate: %s" % e
        return None if len(raw) == want else "PNG image data is %d bytes, not %d" % (len(raw),
                                                                                   want)
    if data[:2] == b"\xff\xd8":
        segments = list(_jpeg_segments(data))
        if not segments or segments[-1][0] != 0xDA:
            return "JPEG has no scan"
        start = segments[-1][2]
        if data[-2:] != b"\xff\xd9":
            return "JPEG does not end with its end-of-image marker"
        for m in re.finditer(b"\xff([^\x00\xd0-\xd7])", data[start:-2]):
            return "JPEG entropy-coded data holds a marker 0xff%02x" % m.group(1)[0]
        return None
    return "neither PNG nor JPEG"


def pg_bindir():
    if os.environ.get("PG_BINDIR"):
        return os.environ["PG_BINDIR"]
    found = None
    for d in sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: int(v) if v.isdigit() else 0) \
            if os.path.isdir("/usr/lib/postgresql") else []:
        if os.access("/usr/lib/postgresql/%s/bin/initdb" % d, os.X_OK):
            found = "/usr/lib/postgresql/%s/bin" % d
    return found


def child_env():
    """Our environment without IMG_* settings: only the config files count."""
    return {k: v for k, v in os.environ.items() if not k.startswith("IMG_")}


AUDIT_SQL = """
CREATE SCHEMA mh;
CREATE TABLE mh.audit (
  n bigserial PRIMARY KEY,
  at double precision NOT NULL DEFAULT extract(epoch FROM clock_timestamp()),
  op text NOT NULL, id text NOT NULL, old_status text, new_status text,
  dispatch integer, attempts integer, engine text, broker text,
  finished_at bigint, result text);
CREATE FUNCTION mh.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO mh.audit (op, id, new_status, dispatch, attempts, engine, broker, finished_at,
                          result)
    VALUES ('insert', NEW.id, NEW.status, NEW.dispatch, NEW.attempts, NEW.lease_engine,
            NEW.lease_broker, NEW.finished_at, NEW.result::text);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO mh.audit (op, id, old_status) VALUES ('delete', OLD.id, OLD.status);
  ELSIF OLD.status IS DISTINCT FROM NEW.status OR OLD.dispatch IS DISTINCT FROM NEW.dispatch
     OR OLD.attempts IS DISTINCT FROM NEW.attempts
     OR OLD.finished_at IS DISTINCT FROM NEW.finished_at
     OR OLD.result::text IS DISTINCT FROM NEW.result::text THEN
    INSERT INTO mh.audit (op, id, old_status, new_status, dispatch, attempts, engine, broker,
                          finished_at, result)
    VALUES ('update', NEW.id, OLD.status, NEW.status, NEW.dispatch, NEW.attempts,
            NEW.lease_engine, NEW.lease_broker, NEW.finished_at, NEW.result::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER mh_audit AFTER INSERT OR UPDATE OR DELETE ON jobs
  FOR EACH ROW EXECUTE FUNCTION mh.audit();
"""


class Run:
    """One run: the network, the processes, the submits and what they gave."""

    def __init__(self, fail):
        self.fail = fail
        self.dir = tempfile.mkdtemp(prefix="img-multihost-%d-" % os.getpid())
        self.data_dir = os.path.join(self.dir, "data")
        os.mkdir(self.data_dir)
        self.lab = netlab.Lab()
        self.procs = {}  # host -> netlab.Proc (the current one)
        self.old_procs = []  # killed or replaced ones (their logs count too)
        self.pg_state = os.path.join(self.dir, "pg")
        self.pg_started = False
        self.psql = None
        self.local_url = None
        self.photo = open(PHOTO, "rb").read()
        self.lock = threading.Lock()
        self.submits = {}  # request id -> record
        self.events = []  # the faults: dicts
        self.attempted = 0
        self.victim, self.survivor = REPLICAS[1], REPLICAS[0]  # chosen again before the burst

    # -- set-up -------------------------------------------------------------

    def build_network(self):
        self.lab.create()
        for host, octet in OCTETS.items():
            self.lab.add_host(host, octet)
        say("network: hub %s, %s", self.lab.hub_address,
            ", ".join("%s %s" % (h, self.lab.address(h)) for h in OCTETS))

    def start_postgres(self):
        env = dict(os.environ, PG_CLUSTER_LISTEN=self.lab.address("pg"),
                   PG_CLUSTER_TRUST=self.lab.subnet + ".0/24", PG_CLUSTER_PORT=str(PG_PORT))
        argv = self.lab.exec_argv("pg", ["sh", PG_CLUSTER, "start", self.pg_state])
        self.pg_started = True
        res = subprocess.run(argv, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("pg_cluster.sh start failed: %s" % res.stderr)
        with open(os.path.join(self.pg_state, "local_url")) as f:
            self.local_url = f.read().strip()
        self.psql = os.path.join(pg_bindir(), "psql")
        self.sql("CREATE DATABASE img", db="postgres")
        self.db_url = "postgresql://postgres@%s:%d/img" % (self.lab.address("pg"), PG_PORT)
        say("postgresql: %s", self.db_url)

    def sql(self, text, db="img"):
        """Runs SQL through the cluster's Unix socket; its output."""
        url = self.local_url.replace("/postgres?", "/%s?" % db, 1)
        res = subprocess.run([self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              "-d", url, "-c", text], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("psql: %s\n%s" % (res.stderr.strip(), text))
        return res.stdout

    def sql_json(self, query):
        out = self.sql("SELECT coalesce(json_agg(t), '[]'::json) FROM (%s) t" % query).strip()
        return json.loads(out)

    def make_keys(self):
        def pair(binary):
            out = subprocess.run([binary, "--curve-keypair"], capture_output=True, text=True,
                                 check=True).stdout
            return dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
        self.server_keys = pair(REST_BIN)
        self.engine_keys = {e: pair(ENGINE_BIN) for e in ENGINES}

    def write_configs(self):
        common = {"data_dir": self.data_dir, "log_level": "info", "heartbeat_ms": HEARTBEAT_MS,
                  "lease_ms": LEASE_MS, "max_attempts": MAX_ATTEMPTS,
                  "curve_server_public": self.server_keys["curve_server_public"]}
        self.configs = {}
        allowed = ",".join(self.engine_keys[e]["curve_client_public"] for e in ENGINES)
        for r in REPLICAS:
            a = self.lab.address(r)
            self.configs[r] = dict(common, **{
                "http_listen": "%s:%d" % (a, HTTP_PORT),
                "http_threads": 32,
                "broker_bind": "tcp://%s:%d" % (a, BROKER_PORT),
                "db_url": self.db_url,
                "docs_dir": os.path.join(SOURCE_DIR, "docs"),
                "retention_s": 0,
                "result_cache": 0,
                "curve_server_secret": self.server_keys["curve_server_secret"],
                "curve_allowed_clients": allowed})
        endpoints = ["tcp://%s:%d" % (self.lab.address(r), BROKER_PORT) for r in REPLICAS]
        for i, e in enumerate(ENGINES):
            order = endpoints if i % 2 == 0 else endpoints[::-1]
            self.configs[e] = dict(common, **{
                "broker_connect": ",".join(order),
                "engine_threads": 1,
                "job_timeout_s": 60,
                "curve_client_public": self.engine_keys[e]["curve_client_public"],
                "curve_client_secret": self.engine_keys[e]["curve_client_secret"]})
        for host, cfg in self.configs.items():
            with open(os.path.join(self.dir, host + ".conf"), "w") as f:
                for k, v in cfg.items():
                    f.write("%s = %s\n" % (k, v))

    def start(self, host):
        if host in self.procs:
            self.old_procs.append(self.procs[host])
        binary = REST_BIN if host in REPLICAS else ENGINE_BIN
        n = len(self.old_procs) + len(self.procs)
        log = os.path.join(self.dir, "%02d-%s.log" % (n, host))
        argv = self.lab.exec_argv(host, [binary, "-c", os.path.join(self.dir, host + ".conf")])
        self.procs[host] = netlab.Proc(host, argv, log, env=child_env())
        return self.procs[host]

    def wait_health(self, replica, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            proc = self.procs[replica]
            if not proc.alive():
                raise RuntimeError("%s exited with %s" % (replica, proc.popen.poll()))
            try:
                last = http_call(self.lab.address(replica), "GET", "/health", timeout=5)[0]
                if last == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError("%s: GET /health did not answer 200 in %ss (last: %s)"
                           % (replica, timeout, last))

    def engines_attached(self, replicas=REPLICAS):
        total = 0
        for r in replicas:
            try:
                _, body = http_json(self.lab.address(r), "/ready", timeout=5)
                total += int(body.get("workers", 0))
            except (OSError, ValueError, http.client.HTTPException):
                pass
        return total

    def wait_engines(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.engines_attached() == n:
                return
            time.sleep(0.1)
        raise RuntimeError("%d engine(s) attached after %ss, expected %d"
                           % (self.engines_attached(), timeout, n))

    # -- names in the logs ----------------------------------------------------

    def names_of(self, host):
        """Every instance name host's processes (restarts included) gave themselves."""
        pattern = r"rest: (\S+) serving on" if host in REPLICAS else \
            r"engine: (\S+) with \d+ thread\(s\) connected to"
        names = set()
        for p in self.old_procs + list(self.procs.values()):
            if p.name == host:
                names.update(re.findall(pattern, p.log_text()))
        return names

    def host_of_name(self):
        return {n: h for h in REPLICAS + ENGINES for n in self.names_of(h)}

    # -- submits --------------------------------------------------------------

    def submit(self, phase, index, replica, width, fmt):
        rid = "mh-%s-%04d" % (phase, index)
        rec = {"rid": rid, "phase": phase, "replica": replica, "width": width, "format": fmt,
               "t": time.time()}
        body, ctype = multipart({"file": ("photo.jpg", self.photo)}, {})
        try:
            status, _, data = http_call(self.lab.address(replica), "POST",
                                        "/resize?width=%d&format=%s" % (width, fmt), body,
                                        {"Content-Type": ctype, "X-Request-Id": rid})
        except ConnectionRefusedError:
            rec["outcome"] = "refused"
        except (OSError, http.client.HTTPException) as e:
            rec["outcome"] = "lost"
            rec["error"] = repr(e)
        else:
            rec["status"] = status
            if status == 202:
                rec["outcome"] = "accepted"
                rec["id"] = json.loads(data)["id"]
            else:
                rec["outcome"] = "answered %d" % status
                rec["error"] = data[:300].decode("utf-8", "replace")
        rec["t_end"] = time.time()
        with self.lock:
            self.submits[rid] = rec
        return rec

    def burst(self, phase, n, pace_s=0.0):
        """n submits from CLIENTS threads to the replicas in turn, one every
        pace_s at most. Returns their records in order."""
        plan = []
        for i in range(n):
            width = 96 + (i * 173) % 1385  # 96 .. 1480, varied
            plan.append((i, REPLICAS[i % 2], width, "png" if i % 4 == 0 else "jpeg"))
        start = time.monotonic()
        counter = iter(plan)
        counter_lock = threading.Lock()

        def client():
            out = []
            while True:
                with counter_lock:
                    item = next(counter, None)
                    if item is None:
                        return out
                    with self.lock:
                        self.attempted += 1
                due = start + item[0] * pace_s
                if time.monotonic() < due:
                    time.sleep(due - time.monotonic())
                out.append(self.submit(phase, *item))

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            recs = [r for f in [pool.submit(client) for _ in range(CLIENTS)] for r in f.result()]
        return sorted(recs, key=lambda r: r["rid"])

    def wait_complete(self, replica, ids, timeout):
        """Waits (?wait=) on replica until every id is complete or failed, or
        until timeout. Returns {id: status JSON} of the last answers."""
        deadline = time.monotonic() + timeout
        last = {}
        todo = list(ids)
        todo_lock = threading.Lock()

        def waiter():
            while time.monotonic() < deadline:
                with todo_lock:
                    if not todo:
                        return
                    job_id = todo.pop(0)
                try:
                    status, body = http_json(self.lab.address(replica),
                                             "/resize/status/%s?wait=20" % job_id, timeout=40)
                except (OSError, http.client.HTTPException) as e:
                    status, body = 0, {"error": repr(e)}
                last[job_id] = body
                if status != 200 or body.get("status") not in ("complete", "failed"):
                    with todo_lock:
                        todo.append(job_id)
                    time.sleep(0.2)

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            for f in [pool.submit(waiter) for _ in range(CLIENTS)]:
                f.result()
        return last

    # -- faults ---------------------------------------------------------------

    def _wait_attempted(self, n):
        while True:
            with self.lock:
                if self.attempted >= n:
                    return
            time.sleep(0.02)

    def held_by(self, host, column="lease_engine"):
        names = sorted(self.names_of(host))
        if not names:
            return []
        q = ", ".join("'%s'" % n.replace("'", "''") for n in names)
        return [r["id"] for r in self.sql_json(
            "SELECT id FROM jobs WHERE status = 'processing' AND %s IN (%s)" % (column, q))]

    def _wait_holding(self, host, column="lease_engine", timeout=15):
        """Waits (bounded) until host holds a lease, so that the fault hits a
        job. (What it held at the fault is read afterwards from the store's
        history: held_at().)"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.held_by(host, column):
                return
            time.sleep(0.05)

    def faults(self, n):
        """The three faults, each when a share of the burst's submits has started."""
        self._wait_attempted(int(n * 0.2))
        self._wait_holding(self.victim, "lease_broker")
        survivors = self.procs[self.victim].kill_hard()
        self.events.append({"fault": "SIGKILL %s (replica)" % self.victim, "host": self.victim,
                            "by": "broker", "t": self.procs[self.victim].killed_at,
                            "survivors": survivors})
        say("fault: %s killed (SIGKILL of its main process)", self.victim)

        self._wait_attempted(int(n * 0.4))
        self._wait_holding("eng2")
        survivors = self.procs["eng2"].kill_hard()
        self.events.append({"fault": "SIGKILL eng2 (engine)", "host": "eng2", "by": "engine",
                            "t": self.procs["eng2"].killed_at, "survivors": survivors})
        say("fault: eng2 killed (SIGKILL of its main process)")

        self._wait_attempted(int(n * 0.6))
        self._wait_holding("eng3")
        self.lab.link("eng3", up=False)
        t = time.time()  # the link is down from here on
        say("fault: eng3's link down")
        time.sleep(CUT_S)
        self.lab.link("eng3", up=True)
        self.events.append({"fault": "eng3 link cut %d s" % CUT_S, "host": "eng3",
                            "by": "engine", "t": t, "t_end": time.time(), "survivors": []})
        say("fault: eng3's link up again after %d s", CUT_S)

    # -- tear-down ------------------------------------------------------------

    def stop_all(self):
        procs = list(self.procs.values()) + self.old_procs
        with concurrent.futures.ThreadPoolExecutor(len(procs) or 1) as pool:
            for p, f in [(p, pool.submit(p.stop)) for p in procs]:
                try:
                    f.result()
                except Exception as e:  # keep stopping the others
                    say("stopping %s (pid %d): %r", p.name, p.pid, e)
        if self.pg_started:
            try:  # the server's log outlives the cluster
                with open(os.path.join(self.pg_state, "cluster")) as f:
                    shutil.copy(os.path.join(f.read().strip(), "server.log"),
                                os.path.join(self.dir, "postgresql.log"))
            except OSError:
                pass
            res = subprocess.run(["sh", PG_CLUSTER, "stop", self.pg_state], capture_output=True,
                                 text=True)
            if res.returncode != 0:
                say("pg_cluster.sh stop: %s", res.stderr.strip())
        self.lab.destroy()

    def print_logs(self, lines=30):
        for p in self.old_procs + list(self.procs.values()):
            text = p.log_text().splitlines()
            sys.stdout.write("\n----- %s (pid %d, exit %s): %s -----\n%s\n"
                             % (p.name, p.pid, p.popen.poll(), p.log_path,
                                "\n".join(text[-lines:])))


# -- the checks -------------------------------------------------------------

def throughput(run, phase, n, engines):
    recs = run.burst(phase, n)
    ids = [r["id"] for r in recs if r["outcome"] == "accepted"]
    run.fail.check(len(ids) == n, "%s: %d of %d submits accepted: %r", phase, len(ids), n,
                   [r for r in recs if r["outcome"] != "accepted"][:3])
    last = run.wait_complete(REPLICAS[0], ids, COMPLETE_TIMEOUT_S)
    done = [last[i] for i in ids if last.get(i, {}).get("status") == "complete"]
    run.fail.check(len(done) == len(ids), "%s: %d of %d jobs complete", phase, len(done),
                   len(ids))
    if not done:
        return None
    stamp = datetime.datetime.fromisoformat
    t0 = min(stamp(s["created_at"]).timestamp() for s in done)
    t1 = max(stamp(s["finished_at"]).timestamp() for s in done)
    rate = len(done) / (t1 - t0) if t1 > t0 else float("nan")
    say("throughput with %d engine(s): %d jobs in %.1f s (first created to last finished): "
        "%.2f jobs/s", engines, len(done), t1 - t0, rate)
    return rate, len(done), t1 - t0


def check_store(run, accepted, lost_rids):
    """One job per accepted submit, nothing else but lost answers' jobs."""
    fail = run.fail
    rows = run.sql_json("SELECT id, request_id, status FROM jobs")
    by_rid = {}
    for row in rows:
        by_rid.setdefault(row["request_id"], []).append(row["id"])
    for rid, ids in by_rid.items():
        fail.check(len(ids) == 1, "request %s made %d jobs: %s", rid, len(ids), ids)
    for rec in accepted:
        fail.check(by_rid.get(rec["rid"]) == [rec["id"]],
                   "accepted submit %s (job %s): the store has %r", rec["rid"], rec["id"],
                   by_rid.get(rec["rid"]))
    known = {r["rid"] for r in accepted}
    extra = {rid: ids for rid, ids in by_rid.items() if rid not in known}
    for rid, ids in extra.items():
        fail.check(rid in lost_rids, "job(s) %s of request %s, which was not a submit whose "
                   "answer was lost", ids, rid)
    return [ids[0] for rid, ids in extra.items() if rid in lost_rids]


def check_history(run, ids):
    """Exactly one transition into complete per job, nothing after it."""
    fail = run.fail
    rows = run.sql_json("SELECT n, at, op, id, old_status, new_status, dispatch, attempts, engine,"
                        " broker, finished_at, result FROM mh.audit ORDER BY n")
    history = {}
    for row in rows:
        history.setdefault(row["id"], []).append(row)
    for job_id in ids:
        h = history.get(job_id, [])
        into = [r for r in h if r["new_status"] == "complete" and r["old_status"] != "complete"]
        after = [r for r in h if r["old_status"] == "complete" or r["op"] == "delete"]
        fail.check(len(into) == 1, "job %s: %d transitions into complete: %r", job_id, len(into),
                   [(r["op"], r["old_status"], r["new_status"], r["dispatch"], r["engine"])
                    for r in h])
        fail.check(not after, "job %s changed after it completed: %r", job_id,
                   [(r["op"], r["old_status"], r["new_status"], r["dispatch"],
                     r["finished_at"]) for r in after])
        fail.check(not [r for r in h if r["new_status"] == "failed"],
                   "job %s went through failed", job_id)
    stray = set(history) - set(ids)
    fail.check(not stray, "the store's history names jobs nobody submitted: %s", sorted(stray)[:5])
    return history


def check_job(run, rec, job_id, decode):
    """Status equal from both replicas; the result whole from both (decoded
    by vips too when decode); the job's folder."""
    fail = run.fail
    statuses = {}
    for r in REPLICAS:
        status, body = http_json(run.lab.address(r), "/jobs/%s" % job_id)
        fail.check(status == 200, "GET /jobs/%s on %s: %s %r", job_id, r, status, body)
        statuses[r] = body
    s1, s2 = statuses["rest1"], statuses["rest2"]
    fail.check(s1 == s2, "job %s: the replicas disagree:\n  rest1 %r\n  rest2 %r", job_id, s1,
               s2)
    fail.check(s1.get("status") == "complete", "job %s is %s: %r", job_id, s1.get("status"),
               s1.get("error"))
    result = s1.get("result") or {}
    blobs = []
    for r in REPLICAS:
        status, headers, data = http_call(run.lab.address(r), "GET", "/resize/%s" % job_id)
        fail.check(status == 200, "GET /resize/%s on %s: %s", job_id, r, status)
        fail.check(headers.get("Content-Length") == str(len(data)),
                   "job %s on %s: Content-Length %s, %d bytes read", job_id, r,
                   headers.get("Content-Length"), len(data))
        blobs.append(data)
    fail.check(blobs[0] == blobs[1], "job %s: the replicas serve different result bytes", job_id)
    data = blobs[0]
    width = rec["width"] if rec else int(s1["params"]["width"])
    fmt = rec["format"] if rec else s1["params"]["format"]
    want = (width, expected_height(width))
    fail.check(result.get("bytes") == len(data), "job %s: result.bytes %r, %d bytes downloaded",
               job_id, result.get("bytes"), len(data))
    fail.check(sniff(data) == fmt and result.get("format") == fmt,
               "job %s: asked for %s, got %s (result.format %r)", job_id, fmt, sniff(data),
               result.get("format"))
    fail.check((result.get("width"), result.get("height")) == want
               and image_header_size(data) == want,
               "job %s: asked for %dx%d, result says %sx%s, header %r", job_id, want[0], want[1],
               result.get("width"), result.get("height"), image_header_size(data))
    folder = os.path.join(run.data_dir, "jobs", job_id)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    results = [n for n in names if n.startswith("result.")]
    fail.check(results == ["result." + ("jpg" if fmt == "jpeg" else fmt)]
               and "in_file" in names,
               "job %s: folder holds %r", job_id, names)
    temps = [n for n in names if n.startswith(".result-")]
    problem = whole_image_problem(data)
    fail.check(problem is None, "job %s: the result is not whole: %s", job_id, problem)
    if decode:
        path = os.path.join(run.dir, "check-%s.%s" % (job_id, fmt))
        with open(path, "wb") as f:
            f.write(data)
        res = subprocess.run(["vips", "avg", path + "[fail_on=warning]"], capture_output=True,
                             text=True)
        os.unlink(path)
        fail.check(res.returncode == 0, "job %s: the result does not decode whole: %s", job_id,
                   res.stderr.strip()[-300:])
    return s1, temps


def check_processes(run):
    """The processes meant to run still run, none restarted by its supervisor."""
    fail = run.fail
    for host, p in run.procs.items():
        if host == "eng2":
            continue  # killed by the test, not restarted
        fail.check(p.alive(), "%s (pid %d) is not running: exit %s", host, p.pid, p.popen.poll())
    for p in run.old_procs + list(run.procs.values()):
        text = p.log_text()
        restarts = re.findall(r".*supervisor: .* restarting it.*", text)
        fail.check(not restarts, "%s (pid %d) was restarted by its supervisor: %s", p.name, p.pid,
                   restarts[:3])
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            fail.check(marker not in text, "%s: %s in its log", p.name, marker)


def held_at(history, t, names, by):
    """The jobs processing at time t under a lease of one of names (their
    engine, or the broker that granted it), from the store's history."""
    held = []
    for job_id, rows in history.items():
        before = [r for r in rows if r["at"] < t and r["new_status"]]
        if before and before[-1]["new_status"] == "processing" and before[-1][by] in names:
            held.append(job_id)
    return held


def dispatched_between(history, t0, t1, names):
    """The jobs dispatched to one of names (engines) between t0 and t1."""
    return [job_id for job_id, rows in history.items()
            if any(t0 <= r["at"] < t1 and r["new_status"] == "processing"
                   and r["old_status"] == "queued" and r["engine"] in names for r in rows)]


def probe_engine(run, replica, keys, seconds):
    """A stand-in engine (a ZeroMQ DEALER) heartbeating replica's broker for
    up to `seconds`, with CURVE keys (server public, own public, own secret)
    or none. It offers no credit, so it is never given a job. True when the
    replica counted it among its engines (GET /ready: workers)."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    name = "mh-probe-" + uuid.uuid4().hex[:8]
    sock.setsockopt(zmq.IDENTITY, name.encode())
    sock.setsockopt(zmq.LINGER, 0)
    if keys:
        sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = \
            [k.encode() for k in keys]
    address = run.lab.address(replica)

    def workers():
        return int(http_json(address, "/ready", timeout=10)[1].get("workers", 0))

    before = workers()
    sock.connect("tcp://%s:%d" % (address, BROKER_PORT))
    beat = json.dumps({"v": 2, "type": "heartbeat", "engine": name, "free": 0,
                       "held": []}).encode()
    seen = False
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not seen:
            sock.send(beat, zmq.NOBLOCK)
            time.sleep(HEARTBEAT_MS / 1000.0)
            seen = workers() > before
    except zmq.Again:
        pass
    finally:
        sock.close()
    # the replica drops it after 3 silent heartbeats: wait until it has
    deadline = time.monotonic() + 30
    while seen and workers() > before and time.monotonic() < deadline:
        time.sleep(0.1)
    return seen


def check_curve(run):
    """Only the listed engine keys reach a replica's broker: a plaintext
    engine and one with an unknown key are not counted, while the same
    stand-in with a listed key (eng2's, whose engine is dead) is."""
    fail = run.fail
    if zmq is None:
        fail.check(False, "python3-zmq is missing: CURVE not verified")
        return
    server = run.server_keys["curve_server_public"]
    stranger = [k.decode() for k in zmq.curve_keypair()]
    listed = run.engine_keys["eng2"]
    for r in REPLICAS:
        plain = probe_engine(run, r, None, 3)
        unknown = probe_engine(run, r, [server, stranger[0], stranger[1]], 3)
        allowed = probe_engine(run, r, [server, listed["curve_client_public"],
                                        listed["curve_client_secret"]], 20)
        fail.check(not plain, "an engine without CURVE was taken by %s's broker", r)
        fail.check(not unknown, "an engine with an unlisted CURVE key was taken by %s's broker",
                   r)
        fail.check(allowed, "an engine with a listed CURVE key was not taken by %s's broker "
                   "within 20 s (the probe itself is broken)", r)
        say("CURVE, %s: plaintext engine taken: %s; unlisted key taken: %s; listed key taken: "
            "%s", r, plain, unknown, allowed)


def report(run, phase_recs, history, statuses, temps, speed, lost_jobs):
    say("== figures")
    host_of = run.host_of_name()
    events = sorted(run.events, key=lambda e: e["t"])
    cuts = [e["t"] for e in events]
    windows = [("before the faults", 0, cuts[0])]
    for i, e in enumerate(events):
        windows.append(("after: " + e["fault"], e["t"], cuts[i + 1] if i + 1 < len(cuts)
                        else float("inf")))
    for name, t0, t1 in windows:
        recs = [r for r in phase_recs if t0 <= r["t"] < t1]
        acc = [r for r in recs if r["outcome"] == "accepted"]
        done = [r for r in acc if statuses.get(r["id"], {}).get("status") == "complete"]
        by = {}
        for r in recs:
            by[r["outcome"]] = by.get(r["outcome"], 0) + 1
        say("  submits %-34s %3d: %s; completed %d of %d accepted", name, len(recs),
            ", ".join("%s %d" % kv for kv in sorted(by.items())), len(done), len(acc))
    for e in events:
        held = e["held"]
        done = [i for i in held if statuses.get(i, {}).get("status") == "complete"]
        finishers = {}
        for i in held:
            claims = [r for r in history.get(i, []) if r["new_status"] == "processing"]
            who = host_of.get(claims[-1]["engine"], claims[-1]["engine"]) if claims else "?"
            finishers[who] = finishers.get(who, 0) + 1
        say("  %-26s jobs it held %d, completed %d (last dispatched to: %s), attempts %s",
            e["fault"] + ":", len(held), len(done),
            ", ".join("%s %d" % kv for kv in sorted(finishers.items())) or "-",
            sorted(statuses.get(i, {}).get("attempts") for i in held))
        if e["by"] == "engine":
            gone = dispatched_between(history, e["t"], e.get("t_end", float("inf")),
                                      run.names_of(e["host"]))
            say("  %-26s jobs dispatched to it while it was gone %d, completed %d", "",
                len(gone), len([i for i in gone if statuses.get(i, {}).get("status")
                                == "complete"]))
    by_victim = [r for r in phase_recs if r["replica"] == run.victim
                 and r["outcome"] == "accepted"]
    say("  accepted by %s before it was killed: %d, completed %d; submits whose answer was "
        "lost: %d, of which the store holds %d (completed %d)", run.victim, len(by_victim),
        len([r for r in by_victim if statuses.get(r["id"], {}).get("status") == "complete"]),
        len([r for r in phase_recs if r["outcome"] == "lost"]), len(lost_jobs),
        len([i for i in lost_jobs if statuses.get(i, {}).get("status") == "complete"]))
    dispatches = {}
    for job_id in statuses:
        n = len([r for r in history.get(job_id, []) if r["new_status"] == "processing"
                 and r["old_status"] == "queued"])
        dispatches[n] = dispatches.get(n, 0) + 1
    attempts = {}
    for s in statuses.values():
        attempts[s.get("attempts")] = attempts.get(s.get("attempts"), 0) + 1
    say("  all jobs: %d complete; dispatches per job %s; attempts per job %s",
        len(statuses), dict(sorted(dispatches.items())), dict(sorted(attempts.items())))
    completed_by = {}
    for job_id in statuses:
        claims = [r for r in history.get(job_id, []) if r["new_status"] == "processing"]
        if claims:
            who = host_of.get(claims[-1]["engine"], "?")
            completed_by[who] = completed_by.get(who, 0) + 1
    say("  completed by engine: %s", dict(sorted(completed_by.items())))
    ignored = sum(len(re.findall(r"ignored a late or duplicate completion", p.log_text()))
                  for p in run.old_procs + list(run.procs.values()))
    resent = sum(int(n) for p in run.old_procs + list(run.procs.values())
                 for n in re.findall(r"engine: (\d+) completion\(s\) sent again", p.log_text()))
    say("  completions sent again after a move: %d; late/duplicate completions ignored: %d",
        resent, ignored)
    if temps:
        say("  unfinished result files left by killed engines: %d (%s)", len(temps),
            ", ".join(sorted(temps)[:5]))
    folders = os.listdir(os.path.join(run.data_dir, "jobs"))
    strays = sorted(set(folders) - set(statuses))
    if strays:
        say("  job folders without a job (uploads cut by the replica's death): %d", len(strays))
    for label, s in speed:
        if s:
            say("  throughput, %s: %.2f jobs/s (%d jobs, %.1f s)", label, s[0], s[1], s[2])


def main():
    reason = netlab.why_unavailable()
    if reason:
        print("SKIP: %s" % reason)
        return SKIP
    for path, what in ((REST_BIN, "img-rest (IMG_REST_BIN)"),
                       (ENGINE_BIN, "img-engine (IMG_ENGINE_BIN)"),
                       (PHOTO, "the photo (mate-backgrounds)")):
        if not os.path.exists(path):
            print("FAIL: no %s at %s" % (what, path))
            return 1
    if not pg_bindir() or not shutil.which("vips"):
        print("FAIL: needs PostgreSQL's server (postgresql) and vips (libvips-tools)")
        return 1
    for name in netlab.sweep_stale():
        say("removed the namespace %s of an earlier run that died", name)

    fail = Failures()
    run = Run(fail)
    ok = False

    def on_term(signum, frame):
        if signum == signal.SIGALRM:
            raise SystemExit("the run took longer than %d s: stopped" % RUN_LIMIT_S)
        raise SystemExit("stopped by signal %d" % signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGALRM, on_term)
    signal.alarm(RUN_LIMIT_S)
    try:
        say("run folder %s", run.dir)
        run.build_network()
        run.start_postgres()
        run.make_keys()
        run.write_configs()
        run.lab.enter_hub()  # from here on, this process's sockets are the client's
        for r in REPLICAS:
            run.start(r)
        for r in REPLICAS:
            run.wait_health(r)
        run.sql(AUDIT_SQL)
        say("replicas up: %s", ", ".join("%s %s" % (r, sorted(run.names_of(r)))
                                          for r in REPLICAS))

        speed = []
        run.start("eng1")
        run.wait_engines(1)
        speed.append(("1 engine", throughput(run, "one", SPEED_JOBS, 1)))
        run.start("eng2")
        run.start("eng3")
        run.wait_engines(3)
        for e in ENGINES:
            m = re.search(r"connected to (\S+)", run.procs[e].log_text())
            say("%s attached to %s", e, m.group(1) if m else "?")
        speed.append(("3 engines", throughput(run, "three", SPEED_JOBS, 3)))

        # the replica to kill: the one most engines are attached to
        attached = {r: run.engines_attached([r]) for r in REPLICAS}
        run.victim = max(REPLICAS[::-1], key=lambda r: attached[r])
        run.survivor = [r for r in REPLICAS if r != run.victim][0]
        say("engines attached: %s; the replica to kill: %s",
            ", ".join("%s %d" % kv for kv in attached.items()), run.victim)
        say("fault burst: %d jobs, %d clients, one submit per %.0f ms at most", JOBS, CLIENTS,
            SUBMIT_EVERY_S * 1000)
        faults = threading.Thread(target=run.faults, args=(JOBS,), daemon=True)
        faults.start()
        recs = run.burst("burst", JOBS, SUBMIT_EVERY_S)
        faults.join(120)
        fail.check(not faults.is_alive(), "the faults did not finish")
        for e in run.events:
            fail.check(not e["survivors"], "%s: processes outlived their killed parent: %s",
                       e["fault"], e["survivors"])
        accepted_all = [r for r in run.submits.values() if r["outcome"] == "accepted"]
        lost = {r["rid"] for r in run.submits.values() if r["outcome"] == "lost"}
        odd = [r for r in recs if r["outcome"].startswith("answered")]
        fail.check(not odd, "submits answered other than 202: %r", odd[:5])
        refused_live = [r for r in recs if r["outcome"] in ("refused", "lost")
                        and not (r["replica"] == run.victim
                                 and r["t_end"] >= run.events[0]["t"])]
        fail.check(not refused_live, "submits to a live replica failed: %r", refused_live[:5])
        say("burst submitted: %d accepted, %d refused, %d lost on the way",
            len([r for r in recs if r["outcome"] == "accepted"]),
            len([r for r in recs if r["outcome"] == "refused"]), len(lost))

        # jobs of submits whose answer was lost count as accepted from here on
        lost_jobs = check_store(run, accepted_all, lost)
        ids = [r["id"] for r in accepted_all] + lost_jobs
        say("waiting for %d job(s) on %s (at most %d s)", len(ids), run.survivor,
            COMPLETE_TIMEOUT_S)
        last = run.wait_complete(run.survivor, ids, COMPLETE_TIMEOUT_S)
        pending = [i for i in ids if last.get(i, {}).get("status") not in ("complete", "failed")]
        failed = [i for i in ids if last.get(i, {}).get("status") == "failed"]
        fail.check(not pending, "%d job(s) not finished after %d s: %s", len(pending),
                   COMPLETE_TIMEOUT_S, pending[:5])
        fail.check(not failed, "%d job(s) failed: %r", len(failed),
                   [last[i].get("error") for i in failed[:5]])
        say("all %d job(s) finished on %s", len(ids) - len(pending), run.survivor)

        run.start(run.victim)
        run.wait_health(run.victim)
        time.sleep(2 * LEASE_MS / 1000.0)  # room for any late completion to (wrongly) land
        say("%s started again; checking every job from both replicas", run.victim)
        check_store(run, accepted_all, lost)
        history = check_history(run, ids)
        for e in run.events:
            e["held"] = held_at(history, e["t"], run.names_of(e["host"]), e["by"])
        by_id = {r["id"]: r for r in accepted_all}
        # vips decodes the results of the jobs the faults touched, and a sample
        touched = {i for e in run.events for i in e["held"]}
        touched |= {i for e in run.events if e["by"] == "engine"
                    for i in dispatched_between(history, e["t"], e.get("t_end", float("inf")),
                                                run.names_of(e["host"]))}
        touched |= {i for i in ids if len([r for r in history.get(i, [])
                                           if r["new_status"] == "processing"]) > 1}
        decode = {i: i in touched or n % 10 == 0 for n, i in enumerate(ids)}
        statuses, temps = {}, []
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            for job_id, (s, t) in zip(ids, pool.map(
                    lambda i: check_job(run, by_id.get(i), i, decode[i]), ids)):
                statuses[job_id] = s
                temps += ["%s/%s" % (job_id, n) for n in t]
        say("checked %d job(s), %d of them decoded whole by vips", len(ids),
            sum(decode.values()))
        check_curve(run)
        check_processes(run)
        report(run, recs, history, statuses, temps, speed, lost_jobs)
        ok = not fail.items
    except SystemExit as e:
        fail.items.append(str(e))
    except Exception:
        fail.items.append("the test broke off:\n" + traceback.format_exc())
    finally:
        signal.alarm(0)
        if not ok:
            run.print_logs()
        run.stop_all()
        if ok and not KEEP:
            shutil.rmtree(run.dir, ignore_errors=True)
        else:
            if not KEEP:  # the logs stay; the images (hundreds of MB) go
                shutil.rmtree(run.data_dir, ignore_errors=True)
            say("run folder kept: %s", run.dir)
    if fail.items:
        say("== %d failure(s)", len(fail.items))
        for item in fail.items[:60]:
            print("FAIL: " + item)
        return 1
    say("== passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
