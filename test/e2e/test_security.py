"""End-to-end: API keys, rate limits, malformed ZeroMQ messages sent straight
to img-rest and to img-engine, and CURVE between them."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

try:
    import zmq
except ImportError:  # a python3 other than Debian's: use Debian's python3-zmq
    import sys
    sys.path.append("/usr/lib/python3/dist-packages")
    import zmq

from harness import (ENGINE_BIN, JPEG_PHOTO, REST_BIN, Service, ServiceTestCase, _child_env,
                     free_port, read_file)

KEYS = ("key-one-0123456789", "key-two-abcdefghij")


def bearer(key):
    return {"Authorization": "Bearer " + key}


class ApiKeys(ServiceTestCase):
    CONFIG = {"api_keys": ",".join(KEYS)}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jpeg = read_file(JPEG_PHOTO)

    def post(self, headers):
        from harness import multipart
        body, ctype = multipart({"file": ("a.jpg", self.jpeg)}, {"width": 40})
        return self.svc.request("POST", "/resize", body=body,
                                headers=dict(headers, **{"Content-Type": ctype}))

    def test_refused_without_a_valid_key(self):
        for what, headers in (("no key", {}), ("wrong bearer", bearer("key-one")),
                              ("wrong x-api-key", {"X-API-Key": KEYS[0] + "x"}),
                              ("empty bearer", {"Authorization": "Bearer "}),
                              ("basic auth", {"Authorization": "Basic " + KEYS[0]}),
                              ("key as query", {})):
            with self.subTest(case=what):
                resp = self.post(headers)
                self.assertError(resp, 401, "unauthorized", what)
        for path in ("/jobs", "/metrics", "/resize/status/" + str(uuid.uuid4()),
                     "/jobs?api_key=" + KEYS[0]):
            with self.subTest(path=path):
                self.assertError(self.svc.get(path), 401, "unauthorized", path)

    def test_right_key_both_ways(self):
        for headers in (bearer(KEYS[0]), {"X-API-Key": KEYS[1]}):
            with self.subTest(headers=list(headers)[0]):
                status, _, body = self.post(headers)
                self.assertEqual(status, 202, body)
                deadline = time.monotonic() + 30
                while True:
                    code, _, st = self.svc.get("/resize/status/" + body["id"], headers=headers)
                    self.assertEqual(code, 200, st)
                    if st["status"] in ("complete", "failed") or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                self.assertEqual(st["status"], "complete", st)
                code, _, _ = self.svc.get("/resize/" + body["id"], headers=headers)
                self.assertEqual(code, 200)
        self.assertEqual(self.svc.get("/jobs", headers=bearer(KEYS[1]))[0], 200)

    def test_open_routes(self):
        for path in ("/", "/openapi.json", "/health", "/ready"):
            with self.subTest(path=path):
                self.assertEqual(self.svc.get(path)[0], 200, path)


class RateLimit(ServiceTestCase):
    CONFIG = {"api_keys": KEYS[0], "rate_limit_per_min": 5}

    def test_sixth_request_in_a_burst_is_429(self):
        for i in range(5):
            status, _, body = self.svc.get("/jobs", headers=bearer(KEYS[0]))
            self.assertEqual(status, 200, "request %d: %r" % (i + 1, body))
        resp = self.svc.get("/jobs", headers=bearer(KEYS[0]))
        self.assertError(resp, 429, "rate_limited")
        retry = resp[1].get("Retry-After")
        self.assertIsNotNone(retry)
        self.assertTrue(retry.isdigit() and 1 <= int(retry) <= 12, retry)
        # Open routes are not counted and still answer.
        for _ in range(10):
            self.assertEqual(self.svc.get("/health")[0], 200)
        # A request without a key is 401, not 429.
        self.assertError(self.svc.get("/jobs"), 401, "unauthorized")


# -- ZeroMQ --------------------------------------------------------------------

def garbage_frames(max_bytes):
    """Malformed messages: (description, list of frames)."""
    good_id = str(uuid.uuid4())
    return [
        ("empty frame", [b""]),
        ("binary", [b"\xff\xfe\x00\x01" * 10]),
        ("not json", [b"{"]),
        ("json array", [b"[1, 2, 3]"]),
        ("json string", [b'"ready"']),
        ("no version", [json.dumps({"type": "ready", "worker": "x", "credit": 1}).encode()]),
        ("wrong version", [json.dumps({"v": 2, "type": "ready", "worker": "x", "credit": 1}).encode()]),
        ("unknown type", [json.dumps({"v": 1, "type": "explode"}).encode()]),
        ("type not a string", [json.dumps({"v": 1, "type": 7}).encode()]),
        ("credit out of range", [json.dumps({"v": 1, "type": "ready", "worker": "x",
                                             "credit": 10 ** 9}).encode()]),
        ("worker with control bytes", [json.dumps({"v": 1, "type": "ready",
                                                   "worker": "a\nb", "credit": 1}).encode()]),
        ("done for an unknown job", [json.dumps({"v": 1, "type": "done", "id": good_id,
                                                 "attempt": 1, "status": "complete",
                                                 "result": {"width": 1}}).encode()]),
        ("done with a bad id", [json.dumps({"v": 1, "type": "done", "id": "../../etc/passwd",
                                            "attempt": 1, "status": "failed",
                                            "error": {"code": "x", "message": "y"}}).encode()]),
        ("heartbeat with bad held", [json.dumps({"v": 1, "type": "heartbeat", "worker": "x",
                                                 "free": 1, "held": ["nope", 3, None]}).encode()]),
        ("heartbeat with huge held", [json.dumps({"v": 1, "type": "heartbeat", "worker": "x",
                                                  "free": 1, "held": [good_id] * 5000}).encode()]),
        ("deep nesting", [b'{"v": 1, "type": "done", "result": ' + b"[" * 5000 + b"]" * 5000 + b"}"]),
        ("oversized frame", [b'{"v": 1, "type": "ready", "worker": "' + b"x" * (max_bytes * 3)
                             + b'", "credit": 1}']),
        ("multi-frame", [b'{"v": 1, "type": "ready", "worker": "x", "credit": 1}', b"second"]),
        ("many frames", [b"x"] * 50),
        ("nul inside", [b'{"v": 1, "type": "bye", "worker": "a\x00b"}']),
    ]


class BrokerGarbage(ServiceTestCase):
    """Malformed messages straight to img-rest's ROUTER."""

    CONFIG = {"max_message_bytes": 65536}

    def test_garbage_then_service_still_works(self):
        ctx = zmq.Context.instance()
        for i, (what, frames) in enumerate(garbage_frames(65536)):
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.IDENTITY, ("evil-%d" % i).encode())
            sock.setsockopt(zmq.LINGER, 500)
            sock.connect(self.svc.broker)
            sock.send_multipart(frames)
            time.sleep(0.05)
            self.assertIsNone(self.svc.rest.poll(), "img-rest died after: %s" % what)
            sock.close()
        # Several senders at once, in a burst.
        socks = []
        for i in range(5):
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 500)
            s.connect(self.svc.broker)
            socks.append(s)
        for _ in range(20):
            for s in socks:
                s.send_multipart(garbage_frames(65536)[_ % 10][1])
        time.sleep(0.5)
        for s in socks:
            s.close()
        self.assertIsNone(self.svc.rest.poll())
        self.assertEqual(self.svc.get("/health")[0], 200)
        self.assertEqual(self.svc.get("/ready")[0], 200)
        st, _ = self.svc.run_job("resize", {"file": ("a.jpg", read_file(JPEG_PHOTO))},
                                 {"width": 30})
        self.assertEqual(st["result"]["width"], 30)
        for p in self.svc.procs():
            self.assertIsNone(p.poll(), p.log_path)


class EngineGarbage(unittest.TestCase):
    """Malformed messages straight to an img-engine connected to our ROUTER."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="img-sec-")
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(os.path.join(self.data_dir, "jobs"))
        port = free_port()
        self.ctx = zmq.Context.instance()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.setsockopt(zmq.ROUTER_HANDOVER, 1)  # as img-rest's broker
        self.router.bind("tcp://127.0.0.1:%d" % port)
        conf = os.path.join(self.dir, "img.conf")
        with open(conf, "w") as f:
            f.write("data_dir = %s\nbroker_connect = tcp://127.0.0.1:%d\nengine_threads = 2\n"
                    "heartbeat_ms = 200\nmax_message_bytes = 65536\nlog_level = debug\n"
                    % (self.data_dir, port))
        self.log_path = os.path.join(self.dir, "engine.log")
        with open(self.log_path, "wb") as log:
            self.engine = subprocess.Popen([ENGINE_BIN, "-c", conf], stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           env=_child_env(), start_new_session=True)

    def tearDown(self):
        if self.engine.poll() is None:
            self.engine.terminate()
            try:
                self.engine.wait(10)
            except subprocess.TimeoutExpired:
                self.engine.kill()
                self.engine.wait()
        self.router.close()
        text = read_file(self.log_path).decode("utf-8", "replace")
        shutil.rmtree(self.dir, ignore_errors=True)
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            self.assertNotIn(marker, text)

    def recv(self, want_type=None, timeout=10.0):
        """(identity, message) of the next message (of want_type); pings the
        engine meanwhile, as img-rest does, so that it stays connected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if getattr(self, "ident", None):
                self.send(self.ident, {"v": 1, "type": "ping"})
            if self.router.poll(100):
                ident, payload = self.router.recv_multipart()[:2]
                self.ident = ident
                msg = json.loads(payload)
                if want_type is None or msg.get("type") == want_type:
                    return ident, msg
        self.fail("no %s message from img-engine within %ss; log:\n%s"
                  % (want_type, timeout, read_file(self.log_path).decode()[-3000:]))

    def send(self, ident, obj_or_frames):
        frames = obj_or_frames if isinstance(obj_or_frames, list) else [json.dumps(obj_or_frames).encode()]
        self.router.send_multipart([ident] + frames)

    def test_garbage_and_bad_jobs_then_a_real_job(self):
        ident, ready = self.recv("ready")
        self.assertEqual(ready["v"], 1)
        for what, frames in garbage_frames(65536):
            self.send(ident, frames)
        # The oversized frames make libzmq drop the connection (max message
        # size): the engine notices the silence and reconnects. Keep pinging
        # until it has been heard from again for a while.
        end = time.monotonic() + 3.0
        last_heard = 0.0
        while time.monotonic() < end:
            self.send(ident, {"v": 1, "type": "ping"})
            while self.router.poll(50):
                ident = self.ident = self.router.recv_multipart()[0]
                last_heard = time.monotonic()
        self.assertGreater(last_heard, end - 1.0, "img-engine went silent")
        job_id = str(uuid.uuid4())
        bad_jobs = [
            {"v": 1, "type": "job", "id": "../../etc/passwd", "operation": "resize",
             "params": {}, "attempt": 1, "timeout_ms": 1000},
            {"v": 1, "type": "job", "id": job_id.upper(), "operation": "resize",
             "params": {}, "attempt": 1, "timeout_ms": 1000},
            {"v": 1, "type": "job", "id": job_id, "operation": "../resize",
             "params": {}, "attempt": 1, "timeout_ms": 1000},
            {"v": 1, "type": "job", "id": job_id, "operation": "resize",
             "params": [], "attempt": 1, "timeout_ms": 1000},
            {"v": 1, "type": "job", "id": job_id, "operation": "resize",
             "params": {}, "attempt": 0, "timeout_ms": 1000},
            {"v": 1, "type": "job", "id": job_id, "operation": "resize",
             "params": {}, "attempt": 1, "timeout_ms": -5},
            {"v": 1, "type": "job", "id": job_id, "operation": "resize"},
            {"v": 1, "type": "cancel", "id": "nope"},
        ]
        for msg in bad_jobs:
            self.send(ident, msg)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            self.send(ident, {"v": 1, "type": "ping"})
            while self.router.poll(50):
                self.router.recv_multipart()
        self.assertIsNone(self.engine.poll(), "img-engine died")
        # Well-formed jobs the engine must answer with a failure, not a crash.
        missing = str(uuid.uuid4())
        self.send(ident, {"v": 1, "type": "job", "id": missing, "operation": "resize",
                          "params": {"width": 10}, "attempt": 1, "timeout_ms": 5000})
        _, done = self.recv("done")
        self.assertEqual(done["id"], missing)
        self.assertEqual(done["status"], "failed")
        self.assertTrue(done["error"]["message"])
        unknown_op = str(uuid.uuid4())
        os.mkdir(os.path.join(self.data_dir, "jobs", unknown_op))
        self.send(ident, {"v": 1, "type": "job", "id": unknown_op, "operation": "explode",
                          "params": {}, "attempt": 1, "timeout_ms": 5000})
        _, done = self.recv("done")
        self.assertEqual((done["id"], done["status"]), (unknown_op, "failed"))
        bad_params = str(uuid.uuid4())
        folder = os.path.join(self.data_dir, "jobs", bad_params)
        os.mkdir(folder)
        shutil.copy(JPEG_PHOTO, os.path.join(folder, "in_file"))
        self.send(ident, {"v": 1, "type": "job", "id": bad_params, "operation": "resize",
                          "params": {"width": "a lot", "evil": True}, "attempt": 1,
                          "timeout_ms": 5000})
        _, done = self.recv("done")
        self.assertEqual((done["id"], done["status"]), (bad_params, "failed"))
        # A valid job gets a proper done.
        good = str(uuid.uuid4())
        folder = os.path.join(self.data_dir, "jobs", good)
        os.mkdir(folder)
        shutil.copy(JPEG_PHOTO, os.path.join(folder, "in_file"))
        self.send(ident, {"v": 1, "type": "job", "id": good, "operation": "resize",
                          "params": {"width": 64, "fit": "inside", "format": "png"},
                          "attempt": 1, "timeout_ms": 10000})
        _, done = self.recv("done")
        self.assertEqual(done["id"], good)
        self.assertEqual(done["status"], "complete", done)
        self.assertEqual(done["result"]["width"], 64)
        self.assertTrue(os.path.exists(os.path.join(folder, "result.png")))
        self.assertIsNone(self.engine.poll())


# -- CURVE -----------------------------------------------------------------------

def keypair(binary):
    out = subprocess.run([binary, "--curve-keypair"], check=True, capture_output=True, text=True)
    pairs = {}
    for line in out.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            pairs[k.strip()] = v.strip()
    return pairs


class Curve(unittest.TestCase):
    def setUp(self):
        self.server = keypair(REST_BIN)
        self.client = keypair(ENGINE_BIN)
        self.assertEqual(len(self.server["curve_server_public"]), 40)
        self.assertEqual(len(self.client["curve_client_public"]), 40)

    def service(self, allowed, engines=1):
        config = dict(self.server, **self.client)
        config["curve_allowed_clients"] = allowed
        config["heartbeat_ms"] = 200
        svc = Service(engines=engines, config=config, start=False)
        self.addCleanup(svc.cleanup)
        svc.start_rest()
        for _ in range(engines):
            svc.start_engine(wait=False)
        return svc

    def test_allowed_engine_completes_a_job(self):
        svc = self.service(self.client["curve_client_public"])
        svc.wait_ready(20)
        st, _ = svc.run_job("resize", {"file": ("a.jpg", read_file(JPEG_PHOTO))}, {"width": 20})
        self.assertEqual(st["result"]["width"], 20)

    def test_unknown_engine_never_gets_a_job(self):
        other = keypair(ENGINE_BIN)["curve_client_public"]
        svc = self.service(other)
        from harness import multipart
        status, _, body = svc.post_job("resize", files={"file": ("a.jpg", read_file(JPEG_PHOTO))},
                                       fields={"width": 20})
        self.assertEqual(status, 202, body)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            self.assertEqual(svc.get("/ready")[0], 503)
            time.sleep(0.2)
        st = svc.get_json("/resize/status/" + body["id"])[2]
        self.assertEqual(st["status"], "queued", st)
        self.assertIsNone(svc.rest.poll())
        self.assertIsNone(svc.engines[0].poll())

    def test_plain_engine_cannot_talk_to_a_curve_broker(self):
        svc = self.service(self.client["curve_client_public"], engines=0)
        # An engine without keys (its own config without curve settings).
        conf = os.path.join(svc.dir, "plain.conf")
        with open(conf, "w") as f:
            f.write("data_dir = %s\nbroker_connect = %s\n" % (svc.data_dir, svc.broker))
        with open(os.path.join(svc.dir, "plain.log"), "wb") as log:
            plain = subprocess.Popen([ENGINE_BIN, "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, env=_child_env(),
                                     start_new_session=True)
        try:
            time.sleep(2.0)
            self.assertEqual(svc.get("/ready")[0], 503)
            self.assertIsNone(svc.rest.poll())
        finally:
            plain.terminate()
            plain.wait(10)


if __name__ == "__main__":
    unittest.main()
