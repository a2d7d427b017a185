"""End-to-end: API keys, rate limits, malformed ZeroMQ messages sent straight
to img-rest and to img-engine, and CURVE between them."""

import json
import os
import shutil
import subprocess
import time
import unittest
import uuid

from harness import (ENGINE_BIN, JPEG_PHOTO, REST_BIN, FakeBroker, FakeEngine, Service,
                     ServiceTestCase, _child_env, encode_message, read_file)

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

    def test_a_key_sees_only_its_own_jobs(self):
        mine, other = bearer(KEYS[0]), bearer(KEYS[1])
        status, _, body = self.post(mine)
        self.assertEqual(status, 202, body)
        job = body["id"]
        code, _, st = self.svc.get("/resize/status/%s?wait=30" % job, headers=mine)
        self.assertEqual((code, st["status"]), (200, "complete"), st)
        for path in ("/resize/status/" + job, "/resize/" + job, "/jobs/" + job,
                     "/jobs/%s/thumbnail" % job):
            with self.subTest(path=path):
                self.assertError(self.svc.get(path, headers=other), 404, "not_found", path)
        listed = self.svc.get("/jobs?limit=100", headers=other)[2]
        self.assertNotIn(job, [j["id"] for j in listed["jobs"]])
        listed = self.svc.get("/jobs?limit=100", headers=mine)[2]
        self.assertIn(job, [j["id"] for j in listed["jobs"]])
        self.assertError(self.svc.request("DELETE", "/jobs/" + job, headers=other), 404,
                         "not_found", "another key's delete")
        self.assertEqual(self.svc.get("/jobs/" + job, headers=mine)[0], 200)
        self.assertEqual(self.svc.request("DELETE", "/jobs/" + job, headers=mine)[0], 204)

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
    """Malformed messages: (description, list of frames, whether img-rest's
    dispatcher counts it as dropped when an engine sends it). Not counted:
    the well-formed messages about jobs nobody holds (handled, and ignored),
    and the oversized frame (libzmq closes the connection before the
    dispatcher sees it)."""
    good_id = str(uuid.uuid4())
    msg = encode_message
    return [
        ("empty frame", [b""], True),
        ("binary", [b"\xff\xfe\x00\x01" * 10], True),
        ("not json", [b"{"], True),
        ("json array", [b"[1, 2, 3]"], True),
        ("json string", [b'"ready"'], True),
        ("no version", [msg("ready", None, engine="x", credit=1)], True),
        ("version 1", [msg("ready", 1, worker="x", credit=1)], True),
        ("version 3", [msg("ready", 3, engine="x", credit=1)], True),
        ("version as a string", [msg("ready", "2", engine="x", credit=1)], True),
        ("unknown type", [msg("explode")], True),
        ("type not a string", [json.dumps({"v": 2, "type": 7}).encode()], True),
        ("credit out of range", [msg("ready", engine="x", credit=10 ** 9)], True),
        ("credit 0", [msg("ready", engine="x", credit=0)], True),
        ("engine with control bytes", [msg("ready", engine="a\nb", credit=1)], True),
        ("a message only img-rest sends", [msg("ping")], True),
        ("old field name", [msg("started", id=good_id, attempt=1)], True),
        ("done for an unknown job", [msg("done", id=good_id, dispatch=1, status="complete",
                                         result={"width": 1})], False),
        ("done with a bad id", [msg("done", id="../../etc/passwd", dispatch=1, status="failed",
                                    error={"code": "x", "message": "y"})], True),
        ("done complete with an error", [msg("done", id=good_id, dispatch=1, status="complete",
                                             error={"code": "x", "message": "y"})], True),
        ("heartbeat with bad held", [msg("heartbeat", engine="x", free=1,
                                         held=["nope", 3, None])], True),
        ("heartbeat holding too many", [msg("heartbeat", engine="x", free=1,
                                            held=[good_id] * 1025)], True),
        ("progress out of range", [msg("progress", id=good_id, dispatch=1, percent=101)], True),
        ("progress for an unknown job", [msg("progress", id=good_id, dispatch=1, percent=5)], False),
        ("deep nesting", [b'{"v": 2, "type": "done", "result": ' + b"[" * 5000 + b"]" * 5000 + b"}"],
         True),
        ("oversized frame", [b'{"v": 2, "type": "ready", "engine": "' + b"x" * (max_bytes * 3)
                             + b'", "credit": 1}'], False),
        ("multi-frame", [msg("ready", engine="x", credit=1), b"second"], True),
        ("many frames", [b"x"] * 50, True),
        ("nul inside", [b'{"v": 2, "type": "bye", "engine": "a\x00b"}'], True),
    ]


DROPPED = 'img_dispatch_total{event="message_dropped"}'


class BrokerGarbage(ServiceTestCase):
    """Malformed messages straight to img-rest's ROUTER."""

    CONFIG = {"max_message_bytes": 65536}

    def test_garbage_then_service_still_works(self):
        before = self.svc.metrics()[DROPPED]
        garbage = garbage_frames(65536)
        senders = []
        for i, (what, frames, _) in enumerate(garbage):
            senders.append(FakeEngine(self.svc.broker, name="evil-%d" % i))
            self.addCleanup(senders[-1].close)
            senders[-1].send_raw(*frames)
            time.sleep(0.05)
            self.assertIsNone(self.svc.rest.poll(), "img-rest died after: %s" % what)
        dropped = before + sum(counted for _, _, counted in garbage)
        self.assertEqual(self.svc.wait_metric(DROPPED, dropped), dropped)
        # Several senders at once, in a burst.
        burst = [FakeEngine(self.svc.broker) for _ in range(5)]
        for e in burst:
            self.addCleanup(e.close)
        for k in range(20):
            for e in burst:
                e.send_raw(*garbage[k % 10][1])
        self.assertEqual(self.svc.wait_metric(DROPPED, dropped + 100), dropped + 100)
        self.assertIsNone(self.svc.rest.poll())
        self.assertEqual(self.svc.get("/health")[0], 200)
        self.assertEqual(self.svc.get("/ready")[0], 200)
        st, _ = self.svc.run_job("resize", {"file": ("a.jpg", read_file(JPEG_PHOTO))},
                                 {"width": 30})
        self.assertEqual(st["result"]["width"], 30)
        for p in self.svc.procs():
            self.assertIsNone(p.poll(), p.log_path)


class EngineGarbage(ServiceTestCase):
    """Malformed messages straight to an img-engine connected to a fake
    broker (harness.FakeBroker) instead of img-rest."""

    ENGINES = 0

    @classmethod
    def setUpClass(cls):
        pass  # no img-rest: one engine per test, set up below

    def setUp(self):
        self.svc = self.service(engines=0, start=False,
                                config={"engine_threads": 2, "heartbeat_ms": 200,
                                        "max_message_bytes": 65536})
        os.makedirs(os.path.join(self.svc.data_dir, "jobs"))
        self.broker = FakeBroker(self.svc.broker)
        self.addCleanup(self.broker.close)
        self.svc.start_engine(wait=False)

    def job_folder(self, job_id, input_path=None):
        folder = os.path.join(self.svc.data_dir, "jobs", job_id)
        os.mkdir(folder)
        if input_path:
            shutil.copy(input_path, os.path.join(folder, "in_file"))
        return folder

    def expect_done(self, job_id):
        done = self.broker.expect("done")
        self.assertEqual(done["id"], job_id)
        return done

    def test_garbage_and_bad_jobs_then_a_real_job(self):
        broker = self.broker
        ready = broker.expect("ready")
        self.assertEqual((ready["v"], ready["credit"]), (2, 2))
        for what, frames, _ in garbage_frames(65536):
            broker.send_raw(*frames)
        # The oversized frames make libzmq drop the connection (max message
        # size): the engine notices the silence and reconnects. Keep pinging
        # until it has been heard from again for a while.
        broker.idle(3.0)
        deadline = time.monotonic() + 30
        while broker.last_heard < time.monotonic() - 1.0:
            self.assertLess(time.monotonic(), deadline, "img-engine went silent")
            broker.idle(0.5)
        job_id = str(uuid.uuid4())
        job = dict(id=job_id, operation="resize", params={}, dispatch=1, timeout_ms=1000)
        bad_jobs = [
            dict(job, id="../../etc/passwd"),
            dict(job, id=job_id.upper()),
            dict(job, operation="../resize"),
            dict(job, params=[]),
            dict(job, input=[]),
            dict(job, dispatch=0),
            dict(job, timeout_ms=-5),
            dict(job, request_id="a b"),
            dict(job, request_id="x" * 200),
            {k: v for k, v in job.items() if k != "dispatch"},
            dict({k: v for k, v in job.items() if k != "dispatch"}, attempt=1),  # version 1's name
            {"id": job_id, "operation": "resize"},
        ]
        for fields in bad_jobs:
            broker.send("job", **fields)
        broker.send("job", version=1, id=job_id, operation="resize", params={}, attempt=1,
                    timeout_ms=1000)
        broker.send("cancel", id="nope")
        broker.idle(0.5)
        self.assertNotIn("started", [m["type"] for m in broker.heard], "a bad job was started")
        self.assertIsNone(self.svc.engines[0].poll(), "img-engine died")
        # Well-formed jobs the engine must answer with a failure, not a crash.
        missing = str(uuid.uuid4())
        broker.job(missing, "resize", {"width": 10}, timeout_ms=5000)
        done = self.expect_done(missing)
        self.assertEqual((done["dispatch"], done["status"]), (1, "failed"))
        self.assertTrue(done["error"]["message"])
        unknown_op = str(uuid.uuid4())
        self.job_folder(unknown_op)
        broker.job(unknown_op, "explode", {}, timeout_ms=5000)
        self.assertEqual(self.expect_done(unknown_op)["status"], "failed")
        bad_params = str(uuid.uuid4())
        self.job_folder(bad_params, JPEG_PHOTO)
        broker.job(bad_params, "resize", {"width": "a lot", "evil": True}, timeout_ms=5000)
        self.assertEqual(self.expect_done(bad_params)["status"], "failed")
        # A valid job (with a request id, which is optional) gets a proper done.
        good = str(uuid.uuid4())
        folder = self.job_folder(good, JPEG_PHOTO)
        broker.job(good, "resize", {"width": 64, "fit": "inside", "format": "png"}, dispatch=7,
                   request_id="e2e-" + uuid.uuid4().hex)
        done = self.expect_done(good)
        self.assertEqual((done["dispatch"], done["status"]), (7, "complete"), done)
        self.assertEqual(done["result"]["width"], 64)
        # the done came after the commit: the whole result is under its name
        self.assertEqual(os.path.getsize(os.path.join(folder, "result.png")),
                         done["result"]["bytes"])
        self.assertEqual([n for n in os.listdir(folder) if n.startswith(".result-")], [])
        self.assertIsNone(self.svc.engines[0].poll())

    def test_the_inputs_header_in_a_job_is_checked(self):
        """The engine plans with the header the job message carries, and
        refuses the job when the file no longer matches it or the header
        names what this engine does not read."""
        self.broker.expect("ready")
        header = {"width": 1680, "height": 1050, "format": "jpeg", "pages": 1, "orientation": 1,
                  "bytes": os.path.getsize(JPEG_PHOTO)}
        cases = [("true", header, "complete", None),
                 ("narrower", dict(header, width=1000), "failed",
                  "the input changed after it was accepted"),
                 ("other size", dict(header, bytes=header["bytes"] - 1), "failed",
                  "the file changed after it was accepted"),
                 ("svg", dict(header, format="svg"), "failed", "'svg' is not an image format"),
                 ("too large", dict(header, width=100000, height=100000), "failed",
                  "pixels; the limit is"),
                 # not whole: the engine reads the file's own header
                 ("no orientation", {k: v for k, v in dict(header, width=1).items()
                                     if k != "orientation"}, "complete", None)]
        for what, input_header, status, message in cases:
            with self.subTest(header=what):
                job_id = str(uuid.uuid4())
                self.job_folder(job_id, JPEG_PHOTO)
                self.broker.job(job_id, "resize", {"width": 64, "fit": "inside", "format": "png"},
                                input=input_header)
                done = self.expect_done(job_id)
                self.assertEqual(done["status"], status, done)
                if message:
                    self.assertEqual(done["error"]["code"], "unsupported_media_type"
                                     if what != "too large" else "image_too_large")
                    self.assertIn(message, done["error"]["message"])
                else:
                    self.assertEqual(done["result"]["width"], 64)


class ChangedOnTheVolume(ServiceTestCase):
    """An upload replaced on the shared volume after img-rest accepted it
    fails its job; the engine does not run what img-rest never checked."""

    ENGINES = 0

    def test_a_replaced_input_fails_its_job(self):
        st, _, body = self.svc.post_job("resize", files={"file": ("p.jpg", read_file(JPEG_PHOTO))},
                                        fields={"width": 64})
        self.assertEqual(st, 202, body)
        self.assertEqual(body["status"], "queued")
        path = os.path.join(self.svc.data_dir, "jobs", body["id"], "in_file")
        with open(path, "ab") as f:
            f.write(b"\0" * 100)
        self.svc.start_engine()
        st = self.svc.wait_status("resize", body["id"], 60)
        self.assertEqual(st["status"], "failed", st)
        self.assertEqual(st["error"]["code"], "unsupported_media_type")
        self.assertIn("the file changed after it was accepted", st["error"]["message"])


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
        svc.env["TMPDIR"] = svc.dir  # where img-rest puts the allowed keys' certificates
        svc.start_rest()
        for _ in range(engines):
            svc.start_engine(wait=False)
        return svc

    def test_allowed_engine_completes_a_job(self):
        svc = self.service(self.client["curve_client_public"])
        svc.wait_ready(20)
        st, _ = svc.run_job("resize", {"file": ("a.jpg", read_file(JPEG_PHOTO))}, {"width": 20})
        self.assertEqual(st["result"]["width"], 20)
        # the allowed key's certificate is in a folder under $TMPDIR, removed at the stop
        certs = [d for d in os.listdir(svc.dir) if d.startswith("img-curve-")]
        self.assertEqual(len(certs), 1, os.listdir(svc.dir))
        with open(os.path.join(svc.dir, certs[0], "client-0.key")) as f:
            self.assertIn(self.client["curve_client_public"], f.read())
        svc.stop()
        self.assertEqual(svc.rest.returncode, 0)
        self.assertEqual([d for d in os.listdir(svc.dir) if d.startswith("img-curve-")], [])

    def test_unknown_engine_never_gets_a_job(self):
        other = keypair(ENGINE_BIN)["curve_client_public"]
        svc = self.service(other)
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
