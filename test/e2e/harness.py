"""harness — start the real img-rest and img-engine programs and talk HTTP to them.

A Service owns one temporary folder (config file, data_dir, logs), one
img-rest process and any number of img-engine processes. Tests create one
Service per TestCase class (ServiceTestCase) and the processes are always
stopped, even when a test fails or Python exits early.

Paths come from the environment CTest sets (IMG_REST_BIN, IMG_ENGINE_BIN,
IMG_SOURCE_DIR); the defaults let `python3 -m unittest -v test_core` run
by hand from test/e2e against /work/main/build.

FakeEngine and FakeBroker stand in for one side of the img-rest <-> img-engine
protocol (docs/protocol.md, version 2) with a real ZeroMQ socket (Debian's
python3-zmq), so that a test can say exactly what the other side hears.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

try:
    import zmq
except ImportError:  # a python3 other than Debian's: use Debian's python3-zmq
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import zmq
    except ImportError:
        zmq = None  # only FakeEngine and FakeBroker need it; they say so

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("IMG_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
REST_BIN = os.environ.get("IMG_REST_BIN", "/work/main/build/img-rest/img-rest")
ENGINE_BIN = os.environ.get("IMG_ENGINE_BIN", "/work/main/build/img-engine/img-engine")

# Real photos shipped by Debian packages (mate-backgrounds, libjxl-testdata).
JPEG_PHOTO = "/usr/share/backgrounds/mate/nature/Dune.jpg"  # 1680x1050
PNG_PHOTO = "/usr/share/backgrounds/mate/desktop/Ubuntu-Mate-Cold-no-logo.png"  # 1920x1280
PNG16_PHOTO = "/usr/share/libjxl-testdata/external/raw.pixls/HUAWEI-EVA-L09-16bit_709_g1_dt.png"  # 64x64, 16 bit

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")

# Every answer a Service's request() receives is recorded and, at the end of
# its test class (or of the test, for a test's own Service), checked against
# the OpenAPI document that img-rest serves (openapi_check.py): status,
# headers and body, so that the document cannot drift from the server.
# IMG_E2E_OPENAPI_CHECK=0 turns the check off (e.g. while changing both).
OPENAPI_CHECK = os.environ.get("IMG_E2E_OPENAPI_CHECK", "1") != "0"

_live_services = []


def _stop_all():
    for svc in list(_live_services):
        svc.stop()


_scratch_dir = None


def scratch_path(name):
    """A path for a file this test process makes once and reuses (test
    images); their folder is removed when the process exits."""
    global _scratch_dir
    if _scratch_dir is None:
        _scratch_dir = tempfile.mkdtemp(prefix="img-e2e-scratch-")
        atexit.register(shutil.rmtree, _scratch_dir, True)
    return os.path.join(_scratch_dir, name)

# Ports handed out by free_port(), claimed across the test processes that
# ctest runs at once: a port released by bind(0) is free for any later
# bind(0), so two calls (here or in a parallel test) could otherwise get the
# same port, and a client would reach the other program (seen: img-rest's
# HTTP port equal to its own ZeroMQ dispatcher port).
_PORT_CLAIMS = os.path.join(tempfile.gettempdir(), "img-test-ports")
_claimed_ports = []


def _claim_port(port):
    """True if this process now holds `port`: a file named after it holds our
    pid; a file left by a process that no longer runs is taken over."""
    path = os.path.join(_PORT_CLAIMS, str(port))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            with open(path) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            return False  # being written by its claimer right now
        stat = _proc_stat(owner)
        if owner == os.getpid() or (stat is not None and stat[0] != "Z"):
            return False
        os.unlink(path)
        return _claim_port(port)
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % os.getpid())
    _claimed_ports.append(path)
    return True


def _release_ports():
    for path in _claimed_ports:
        try:
            os.unlink(path)
        except OSError:
            pass


# atexit runs the last registered first: services stop, then ports are freed
atexit.register(_release_ports)
atexit.register(_stop_all)


def free_port():
    """A TCP port nobody listens on right now (bind to 0, read, close) and
    that no other free_port() call, in this process or another test process
    still running, has handed out."""
    os.makedirs(_PORT_CLAIMS, exist_ok=True)
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if _claim_port(port):
            return port


def _proc_stat(pid):
    """(state, parent pid, session id) of a process from /proc, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[3])


def _live_procs():
    """{pid: (state, parent pid, session id)} of every process but zombies."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _proc_stat(int(name))
            if stat and stat[0] != "Z":
                found[int(name)] = stat
    return found


def child_pids(pid):
    """The live children of process pid."""
    return sorted(k for k, stat in _live_procs().items() if stat[1] == pid)


def session_pids(sid):
    """The live processes of session sid (a process started with
    start_new_session=True and whatever it started): none may be left
    once it stopped."""
    return sorted(k for k, stat in _live_procs().items() if stat[2] == sid)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def _child_env(extra=None):
    """Our environment without IMG_* settings, so only the config file counts,
    plus `extra` (e.g. IMG_TEST_OPS=1 for the test-only operation)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMG_")}
    env.update(extra or {})
    return env


def _tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(no log: %s)" % e
    return "\n".join(data[-lines:])


class Service:
    """One img-rest plus `engines` img-engine processes on fresh ports."""

    host = "127.0.0.1"

    def __init__(self, engines=1, config=None, start=True, env=None):
        self.dir = tempfile.mkdtemp(prefix="img-e2e-")
        self.env = dict(env or {})
        self.data_dir = os.path.join(self.dir, "data")
        os.mkdir(self.data_dir)
        self.http_port = free_port()
        self.broker = "tcp://127.0.0.1:%d" % free_port()
        self.settings = {
            "data_dir": self.data_dir,
            "log_level": "debug",
            "http_listen": "127.0.0.1:%d" % self.http_port,
            "broker_bind": self.broker,
            "broker_connect": self.broker,
            "docs_dir": os.path.join(SOURCE_DIR, "docs"),
            "retention_s": 0,
            # equal jobs run as they are submitted (the cache has its own tests)
            "result_cache": 0,
        }
        self.settings.update({k: str(v) for k, v in (config or {}).items()})
        # a config may name the ports (replicas that list each other's brokers)
        self.http_port = int(self.settings["http_listen"].rsplit(":", 1)[-1])
        self.broker = self.settings["broker_bind"]
        self.config_path = os.path.join(self.dir, "img.conf")
        with open(self.config_path, "w") as f:
            for k, v in self.settings.items():
                f.write("%s = %s\n" % (k, v))
        self.rest = None
        self.engines = []  # Popen or None (killed), index = engine number
        self._n_logs = 0
        self.answers = []  # what request() received (record()), for the OpenAPI check
        _live_services.append(self)
        if start:
            try:
                self.start_rest()
                for _ in range(engines):
                    self.start_engine(wait=False)
                if engines:
                    self.wait_ready()
            except BaseException:
                self.print_logs()
                self.stop()
                raise

    # -- processes -----------------------------------------------------------

    def _spawn(self, binary, name):
        self._n_logs += 1
        log_path = os.path.join(self.dir, "%02d-%s.log" % (self._n_logs, name))
        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen([binary, "-c", self.config_path], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, env=_child_env(self.env),
                                    start_new_session=True)
        finally:
            log.close()
        proc.log_path = log_path
        return proc

    def change_config(self, **changes):
        """Changes settings in the config file; processes started after read them."""
        self.settings.update({k: str(v) for k, v in changes.items()})
        with open(self.config_path, "w") as f:
            for k, v in self.settings.items():
                f.write("%s = %s\n" % (k, v))

    def start_rest(self, timeout=15):
        assert self.rest is None or self.rest.poll() is not None, "img-rest already running"
        self.rest = self._spawn(REST_BIN, "img-rest")
        self.wait_health(timeout)

    def start_engine(self, wait=True, timeout=15):
        """Starts one more img-engine; returns its index."""
        self.engines.append(self._spawn(ENGINE_BIN, "img-engine%d" % len(self.engines)))
        if wait:
            self.wait_ready(timeout)
        return len(self.engines) - 1

    def kill_engine(self, i, sig=signal.SIGKILL, wait=True):
        self._signal(self.engines[i], sig, wait)

    def kill_rest(self, sig=signal.SIGKILL, wait=True):
        self._signal(self.rest, sig, wait)

    @staticmethod
    def _signal(proc, sig, wait):
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        if wait:
            proc.wait(timeout=30)

    @staticmethod
    def child_pid(proc, other_than=None, timeout=30):
        """The pid of the work process that proc's supervisor runs (its one
        child); with other_than, waits for a child with another pid (the
        supervisor's restart). Raises if proc exits or none comes."""
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError("pid %d exited with %s" % (proc.pid, proc.returncode))
            kids = [k for k in child_pids(proc.pid) if k != other_than]
            if kids:
                return kids[0]
            if time.monotonic() > deadline:
                raise AssertionError("pid %d has no child%s after %ss"
                                     % (proc.pid, " but %s" % other_than if other_than else "", timeout))
            time.sleep(0.05)

    def procs(self):
        return [p for p in [self.rest] + self.engines if p is not None]

    def stop(self, grace=5.0):
        """SIGTERM every process, SIGKILL what is left after `grace` seconds."""
        for p in self.procs():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in self.procs():
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self in _live_services:
            _live_services.remove(self)

    def cleanup(self):
        """Stops everything and removes the folder; raises if a sanitizer
        (ASan/UBSan builds) reported an error in any process's log."""
        try:
            self.check()
        finally:
            self.remove()

    def check(self):
        """Stops everything; raises if a sanitizer reported an error."""
        self.stop()
        reports = self.sanitizer_reports()
        if reports:
            raise AssertionError("sanitizer reports:\n" + "\n\n".join(reports))

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def sanitizer_reports(self):
        found = []
        for p in self.procs():
            text = read_file(p.log_path).decode("utf-8", "replace")
            for marker in SANITIZER_MARKERS:
                at = text.find(marker)
                if at >= 0:
                    found.append("%s:\n%s" % (p.log_path, text[at:at + 3000]))
                    break
        return found

    def print_logs(self, lines=40):
        for p in self.procs():
            sys.stderr.write("\n----- %s (exit %s) -----\n%s\n"
                             % (p.log_path, p.poll(), _tail(p.log_path, lines)))

    def _wait_route(self, path, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.rest.poll() is not None:
                raise RuntimeError("img-rest exited with %s while waiting for %s" % (self.rest.returncode, path))
            try:
                last = self.get(path)[0]
                if last == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("GET %s did not answer 200 within %ss (last: %s)" % (path, timeout, last))

    def wait_health(self, timeout=15):
        self._wait_route("/health", timeout)

    def wait_ready(self, timeout=15):
        self._wait_route("/ready", timeout)

    # -- HTTP ----------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=60):
        """Returns (status, headers, body): JSON bodies parsed, others bytes.

        The body is sent in pieces; if the server answers early and closes
        (413), the answer it already sent is still read."""
        conn = http.client.HTTPConnection(self.host, self.http_port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            headers = dict(headers or {})
            if body is not None:
                headers.setdefault("Content-Length", str(len(body)))
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body:
                try:
                    for i in range(0, len(body), 65536):
                        conn.send(body[i:i + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    pass
            resp = conn.getresponse()
            data = resp.read()
            self.record(method, path, resp.status, resp.getheaders(), data)
            ctype = resp.getheader("Content-Type", "")
            if ctype.startswith("application/json") and data:
                data = json.loads(data)
            return resp.status, resp.msg, data
        finally:
            conn.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def get_json(self, path):
        status, headers, body = self.get(path)
        if not isinstance(body, (dict, list)):
            raise AssertionError("GET %s: %s, expected JSON, got %r" % (path, status, body[:200]))
        return status, headers, body

    def delete(self, path):
        return self.request("DELETE", path)

    def post_job(self, op, files=None, fields=None, query=None, path=None, headers=None):
        """POST /<op> with a hand-built multipart/form-data body.

        files: {field: (filename, bytes)}; fields: {name: value}; query: {name: value};
        headers: more request headers."""
        body, ctype = multipart(files or {}, fields or {})
        path = path or "/" + op
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self.request("POST", path, body=body, headers=dict(headers or {}, **{"Content-Type": ctype}))

    # -- the OpenAPI check of every answer --------------------------------------

    def record(self, method, path, status, headers, body):
        """Keeps one answer for check_answers(): headers as (name, value)
        pairs, body as the bytes received. Tests that talk HTTP without
        request() (raw sockets, kept-alive connections) may record too.
        The answers of an img-rest process before its first 200 to
        GET /health are start-up probes (wait_health), not kept (an answer
        other than 200 there is test_http.Startup's business)."""
        pid = self.rest.pid if self.rest is not None else None
        if getattr(self, "_healthy_pid", None) != pid:
            if (method, path, status) == ("GET", "/health", 200):
                self._healthy_pid = pid
            return
        self.answers.append({"method": method, "path": path, "status": status,
                             "headers": list(headers), "body": bytes(body or b"")})

    def openapi_document(self):
        """The OpenAPI document as img-rest serves it (GET /openapi.json,
        not recorded), or, when img-rest is not running, as the same binary
        builds it from the same configuration (--print-openapi)."""
        if self.rest is not None and self.rest.poll() is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
            try:
                conn.request("GET", "/openapi.json")
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 200:
                    return json.loads(data)
            except OSError:
                pass
            finally:
                conn.close()
        out = subprocess.run([REST_BIN, "--print-openapi", "-c", self.config_path],
                             env=_child_env(self.env), check=True, capture_output=True)
        return json.loads(out.stdout)

    def check_answers(self):
        """Raises AssertionError naming every recorded answer that the
        OpenAPI document does not describe; forgets the answers checked."""
        answers, self.answers = self.answers, []
        if not answers:
            return
        import openapi_check  # here: python3-jsonschema is needed only for this check
        doc = openapi_check.Document(self.openapi_document())
        problems = []
        for a in answers:
            found = doc.check(a)
            if found:
                problems.append((a, found))
        if problems:
            raise AssertionError(openapi_check.report(problems))

    def metrics(self):
        """GET /metrics parsed: {'name{label="value"}': float}; raises on a
        line that is not Prometheus text."""
        code, headers, body = self.get("/metrics")
        if code != 200 or not headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"):
            raise AssertionError("GET /metrics answered %s (%s)" % (code, headers.get("Content-Type")))
        return parse_metrics(body.decode())

    def wait_metric(self, name, at_least, timeout=10):
        """Polls /metrics until `name` reaches at_least; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.metrics().get(name, 0)
            if value >= at_least or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def wait_status(self, op, job_id, timeout=60):
        """Polls /<op>/status/<id> until complete or failed; returns the status JSON."""
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = self.get_json("/%s/status/%s" % (op, job_id))
            if status != 200:
                raise AssertionError("GET /%s/status/%s answered %s: %r" % (op, job_id, status, body))
            if body.get("status") in ("complete", "failed"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError("job %s still %s after %ss" % (job_id, body.get("status"), timeout))
            time.sleep(0.05)

    def run_job(self, op, files, fields=None, query=None, timeout=60):
        """Submits, waits, and returns (status JSON, result bytes or None)."""
        status, _, body = self.post_job(op, files=files, fields=fields, query=query)
        if status != 202:
            raise AssertionError("POST /%s answered %s: %r" % (op, status, body))
        st = self.wait_status(op, body["id"], timeout)
        if st["status"] != "complete":
            raise AssertionError("job %s failed: %r" % (body["id"], st.get("error")))
        code, _, data = self.get("/%s/%s" % (op, body["id"]))
        if code != 200:
            raise AssertionError("GET /%s/%s answered %s: %r" % (op, body["id"], code, data))
        return st, data


_METRIC_LINE = re.compile(r'([a-z_]+(?:\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})?) (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)')


def parse_metrics(text):
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = _METRIC_LINE.fullmatch(line)
        if not m:
            raise AssertionError("not Prometheus text: %r" % line)
        values[m.group(1)] = float(m.group(2))
    return values


def multipart(files, fields):
    """(body bytes, Content-Type) of a multipart/form-data body."""
    boundary = "----img-e2e-" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, name)).encode()
                     + str(value).encode() + b"\r\n")
    for name, (filename, data) in files.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name, filename)).encode()
                     + data + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    return b"".join(parts), "multipart/form-data; boundary=" + boundary


# -- images -------------------------------------------------------------------

MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
        "tiff": "image/tiff", "avif": "image/avif"}


def sniff(data):
    """The format of image bytes from their magic numbers, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"\x89PNG":
        return "png"
    if data[:4] == b"GIF8":
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "avif"
    return None


def vips(*args):
    """Runs the vips command-line tool (libvips-tools); raises on failure."""
    subprocess.run(["vips"] + [str(a) for a in args], check=True, capture_output=True)


def header_field(path, field):
    out = subprocess.run(["vipsheader", "-f", field, path], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def image_size(data):
    """(width, height) of image bytes, read by vipsheader."""
    with tempfile.NamedTemporaryFile(suffix="." + (sniff(data) or "img")) as f:
        f.write(data)
        f.flush()
        return int(header_field(f.name, "width")), int(header_field(f.name, "height"))


# -- a service that runs elsewhere -------------------------------------------
# IMG_E2E_BASE_URL=http://HOST:PORT points every ServiceTestCase at a running
# service (e.g. the containers, test/containers/run.sh) instead of starting
# processes. IMG_E2E_DATA_DIR, when set, is its data_dir as seen from here.
# Test classes that need their own configuration or engine count, and tests
# that start or kill processes, are skipped.

BASE_URL = os.environ.get("IMG_E2E_BASE_URL", "")


class ExternalService(Service):
    """The running service at BASE_URL: HTTP only, no processes."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.http_port = parts.hostname, parts.port or 80
        self.rest, self.engines, self.env, self.settings = None, [], {}, {}
        self.answers = []  # checked against the service's own /openapi.json
        self._data_dir = os.environ.get("IMG_E2E_DATA_DIR") or None
        self.wait_ready(60)

    def openapi_document(self):
        conn = http.client.HTTPConnection(self.host, self.http_port, timeout=30)
        try:
            conn.request("GET", "/openapi.json")
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise AssertionError("GET /openapi.json answered %d" % resp.status)
            return json.loads(data)
        finally:
            conn.close()

    @property
    def data_dir(self):
        if self._data_dir is None:
            raise unittest.SkipTest("the service's data_dir is not visible here (IMG_E2E_DATA_DIR)")
        return self._data_dir

    def _skip(self, *args, **kwargs):
        raise unittest.SkipTest("the service at IMG_E2E_BASE_URL is not this test's to start or stop")

    start_rest = start_engine = kill_engine = kill_rest = _skip

    def stop(self, grace=5.0):
        pass

    def cleanup(self):
        pass

    def print_logs(self, lines=40):
        sys.stderr.write("\n(service at %s: its logs are its own)\n" % BASE_URL)

    def _wait_route(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                last = self.get(path)[0]
                if last == 200:
                    return
            except OSError as e:
                last = e
            if time.monotonic() > deadline:
                raise RuntimeError("GET %s did not answer 200 within %ss (last: %s)" % (path, timeout, last))
            time.sleep(0.2)


class ServiceTestCase(unittest.TestCase):
    """One Service per class; the logs' tails are printed when a test fails."""

    ENGINES = 1
    CONFIG = {}
    ENV = {}
    # Check every answer the class's Services received against the OpenAPI
    # document (see OPENAPI_CHECK); False in a class whose answers the
    # document cannot describe, saying why.
    OPENAPI_CHECK = True

    @classmethod
    def setUpClass(cls):
        if BASE_URL:
            if cls.CONFIG or cls.ENV or cls.ENGINES < 1:
                raise unittest.SkipTest("needs its own configuration or engines (IMG_E2E_BASE_URL is set)")
            cls.svc = ExternalService(BASE_URL)
            return
        cls.svc = Service(engines=cls.ENGINES, config=cls.CONFIG, env=cls.ENV)
        cls.addClassCleanup(cls.svc.cleanup)
        if OPENAPI_CHECK and cls.OPENAPI_CHECK:
            # a class clean-up: it runs before svc.cleanup, while img-rest serves
            cls.addClassCleanup(cls.svc.check_answers)

    def setUp(self):
        # A crash of img-rest in an earlier test must not fail every later one:
        # say so, and start a new img-rest (engines reconnect by themselves).
        rest = self.svc.rest
        if rest is not None and rest.poll() is not None:
            sys.stderr.write("\n!!! img-rest had exited with %s before %s; restarting it\n"
                             % (rest.returncode, self.id()))
            self.svc.print_logs()
            self.svc.start_rest()
            if any(p.poll() is None for p in self.svc.engines):
                self.svc.wait_ready()

    def service(self, **kwargs):
        """A Service of this test alone (Service's arguments): stopped and
        checked for sanitizer reports in the test's clean-up, its folder
        removed after its logs' tails are printed if the test failed."""
        svc = Service(**kwargs)
        self._own_services.append(svc)
        self.addCleanup(svc.check)
        if OPENAPI_CHECK and self.OPENAPI_CHECK:
            self.addCleanup(svc.check_answers)  # runs first, while img-rest serves
        return svc

    def run(self, result=None):
        self._own_services = []
        before = len(result.failures) + len(result.errors) if result else 0
        try:
            out = super().run(result)
            if result and len(result.failures) + len(result.errors) > before:
                svc = getattr(self, "svc", None)
                for s in [svc] if svc and svc not in self._own_services else []:
                    s.print_logs()
                for s in self._own_services:
                    s.print_logs()
            return out
        finally:
            for s in self._own_services:
                s.stop()
                s.remove()

    # -- shared assertions --

    def assertError(self, response, status, code, what=""):
        got_status, headers, body = response
        self.assertEqual(got_status, status, "%s: body %r" % (what, body))
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"),
                        "%s: Content-Type %r" % (what, headers.get("Content-Type")))
        self.assertIsInstance(body, dict, what)
        self.assertEqual(set(body), {"error"}, what)
        self.assertEqual(body["error"].get("code"), code, "%s: %r" % (what, body))
        msg = body["error"].get("message")
        self.assertIsInstance(msg, str, what)
        self.assertTrue(msg.strip(), "%s: empty message" % what)
        return body["error"]


# -- the img-rest <-> img-engine protocol (docs/protocol.md) --------------------

PROTOCOL_VERSION = 2
ENGINE_MESSAGES = ("ready", "heartbeat", "started", "progress", "done", "release", "bye")
BROKER_MESSAGES = ("job", "ping", "cancel")


def _need_zmq():
    if zmq is None:
        raise unittest.SkipTest("python3-zmq is not installed (Debian's python3-zmq)")


def encode_message(kind, version=PROTOCOL_VERSION, **fields):
    """One protocol frame: {"v": version, "type": kind, ...fields} as JSON.
    version=None leaves "v" out."""
    msg = {} if version is None else {"v": version}
    msg["type"] = kind
    msg.update(fields)
    return json.dumps(msg).encode()


def decode_message(frame):
    """A frame received from img-rest or img-engine: a JSON object of this
    protocol's version with a known type, or AssertionError."""
    msg = json.loads(frame)
    if not isinstance(msg, dict):
        raise AssertionError("not a JSON object: %r" % frame[:200])
    if msg.get("v") != PROTOCOL_VERSION:
        raise AssertionError("protocol version %r, expected %d: %r"
                             % (msg.get("v"), PROTOCOL_VERSION, frame[:200]))
    if msg.get("type") not in ENGINE_MESSAGES + BROKER_MESSAGES:
        raise AssertionError("unknown message type: %r" % frame[:200])
    return msg


class FakeEngine:
    """A ZeroMQ DEALER that speaks to img-rest's dispatcher as an img-engine
    would, one message at a time, as the test says.

    held: the jobs it holds ({id: dispatch}): a `job` received adds one,
    done/release remove it; heartbeats name them (renewing their leases).
    With heartbeat_ms, a heartbeat goes out every heartbeat_ms while the
    test waits in recv()/expect()/idle() (none after silence()), with
    `free` = self.free (0 unless set): so the first heartbeat, which
    img-rest takes as the engine's count of idle threads, comes before any
    `ready`, and credit is then exactly what ready() gives. Without
    heartbeat_ms, nothing is sent unless asked."""

    def __init__(self, endpoint, name=None, heartbeat_ms=None):
        _need_zmq()
        self.name = name or "fake-engine-" + uuid.uuid4().hex[:8]
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, self.name.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.held = {}
        self.free = 0
        self.inbox = []  # messages received and not yet taken by recv()
        self.heard = []  # every message received, in order
        self.heartbeat_s = heartbeat_ms / 1000.0 if heartbeat_ms else None
        self._next_beat = 0.0
        if self.heartbeat_s:
            self._beat()

    # -- sending --

    def send_raw(self, *frames):
        self.sock.send_multipart(list(frames))

    def send(self, kind, version=PROTOCOL_VERSION, **fields):
        self.send_raw(encode_message(kind, version, **fields))

    def ready(self, credit=1):
        self.send("ready", engine=self.name, credit=credit)

    def heartbeat(self, free=None, held=None):
        self.send("heartbeat", engine=self.name, free=self.free if free is None else free,
                  held=list(self.held if held is None else held))

    def started(self, job_id, dispatch):
        self.send("started", id=job_id, dispatch=dispatch)

    def progress(self, job_id, dispatch, percent):
        self.send("progress", id=job_id, dispatch=dispatch, percent=percent)

    def done(self, job_id, dispatch, result=None, error=None):
        """complete with `result`, or failed with `error` ({code, message})."""
        if (result is None) == (error is None):
            raise ValueError("done: give result or error")
        fields = {"status": "complete", "result": result} if result is not None else \
            {"status": "failed", "error": error}
        self.held.pop(job_id, None)
        self.send("done", id=job_id, dispatch=dispatch, **fields)

    def release(self, job_id, dispatch):
        self.held.pop(job_id, None)
        self.send("release", id=job_id, dispatch=dispatch)

    def bye(self):
        self.send("bye", engine=self.name)

    def silence(self):
        """No more automatic heartbeats: to img-rest, this engine is gone."""
        self.heartbeat_s = None

    # -- receiving --

    def _beat(self):
        self.heartbeat()
        self._next_beat = time.monotonic() + self.heartbeat_s

    def _pump(self, until):
        """Reads what arrives until the monotonic time `until` or the first
        message; heartbeats when due. True if a message was read."""
        while True:
            now = time.monotonic()
            if self.heartbeat_s and now >= self._next_beat:
                self._beat()
            wait = until - now
            if self.heartbeat_s:
                wait = min(wait, self._next_beat - now)
            if self.sock.poll(max(0, int(wait * 1000))):
                msg = decode_message(self.sock.recv())
                if msg["type"] == "job":
                    self.held[msg["id"]] = msg["dispatch"]
                self.heard.append(msg)
                self.inbox.append(msg)
                return True
            if time.monotonic() >= until:
                return False

    def recv(self, kind="job", timeout=5.0):
        """The next message of type `kind` (others stay in inbox), or None
        after timeout seconds."""
        until = time.monotonic() + timeout
        while True:
            for i, msg in enumerate(self.inbox):
                if msg["type"] == kind:
                    return self.inbox.pop(i)
            if not self._pump(until):
                return None

    def expect(self, kind="job", timeout=10.0):
        msg = self.recv(kind, timeout)
        if msg is None:
            raise AssertionError("%s: no '%s' message from img-rest within %ss (heard: %r)"
                                 % (self.name, kind, timeout, [m["type"] for m in self.heard]))
        return msg

    def idle(self, seconds):
        """Waits, reading and heartbeating as the engine would."""
        until = time.monotonic() + seconds
        while self._pump(until):
            pass

    def close(self):
        self.sock.close()


class FakeBroker:
    """A ZeroMQ ROUTER that img-engine connects to in place of img-rest.

    It learns the engine's identity from the first message it hears. While
    a test waits in recv()/expect()/idle() it pings the engine every
    ping_ms, as img-rest does, so that the engine stays connected."""

    def __init__(self, endpoint=None, ping_ms=100):
        _need_zmq()
        self.endpoint = endpoint or "tcp://127.0.0.1:%d" % free_port()
        self.sock = zmq.Context.instance().socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 1)  # as img-rest's broker
        self.sock.bind(self.endpoint)
        self.ping_s = ping_ms / 1000.0
        self.engine = None  # the identity of the engine last heard
        self.heard = []
        self.last_heard = None  # monotonic time of the last message
        self._next_ping = 0.0

    # -- sending --

    def send_raw(self, *frames):
        if self.engine is None:
            raise AssertionError("no engine has said anything yet")
        self.sock.send_multipart([self.engine] + list(frames))

    def send(self, kind, version=PROTOCOL_VERSION, **fields):
        self.send_raw(encode_message(kind, version, **fields))

    def job(self, job_id, operation, params, dispatch=1, timeout_ms=10000, request_id=None,
            input=None):
        fields = dict(id=job_id, operation=operation, params=params, dispatch=dispatch,
                      timeout_ms=timeout_ms)
        if request_id is not None:
            fields["request_id"] = request_id
        if input is not None:
            fields["input"] = input
        self.send("job", **fields)

    def ping(self):
        self.send("ping")

    def cancel(self, job_id):
        self.send("cancel", id=job_id)

    # -- receiving --

    def _pump(self, until):
        while True:
            now = time.monotonic()
            if self.engine is not None and now >= self._next_ping:
                self.ping()
                self._next_ping = now + self.ping_s
            wait = min(until, self._next_ping) - now if self.engine is not None else until - now
            if self.sock.poll(max(0, int(wait * 1000))):
                frames = self.sock.recv_multipart()
                self.engine = frames[0]
                self.last_heard = time.monotonic()
                if len(frames) != 2:
                    raise AssertionError("img-engine sent %d frames" % (len(frames) - 1))
                msg = decode_message(frames[1])
                self.heard.append(msg)
                return msg
            if time.monotonic() >= until:
                return None

    def recv(self, kind=None, timeout=10.0):
        """The next message (of type `kind`) from the engine, or None."""
        until = time.monotonic() + timeout
        while True:
            msg = self._pump(until)
            if msg is None or kind is None or msg["type"] == kind:
                return msg

    def expect(self, kind=None, timeout=10.0):
        msg = self.recv(kind, timeout)
        if msg is None:
            raise AssertionError("no '%s' message from img-engine within %ss (heard: %r)"
                                 % (kind, timeout, [m["type"] for m in self.heard[-20:]]))
        return msg

    def idle(self, seconds):
        """Reads and pings for `seconds`."""
        until = time.monotonic() + seconds
        while self._pump(until) is not None:
            pass

    def close(self):
        self.sock.close()
