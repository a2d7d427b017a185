"""The dispatcher's side of the protocol (docs/protocol.md, version 2), driven
by fake engines (harness.FakeEngine, a ZeroMQ DEALER) against the real
img-rest: credit from `ready` and from heartbeats, the `job` message,
`started`, `progress`, `done` for the dispatch holding the lease only,
`release` not charged, a silent engine's jobs moving to another, and
messages of protocol version 1 refused."""

import time
import unittest
import uuid

from harness import JPEG_PHOTO, FakeEngine, ServiceTestCase, read_file

DROPPED = 'img_dispatch_total{event="message_dropped"}'
RESULT = {"width": 64, "height": 40, "format": "jpeg", "bytes": 10}


class Protocol(ServiceTestCase):
    ENGINES = 0
    # img-rest drops an engine silent for 3 heartbeats (3 s); fake engines
    # beat every 0.2 s, but only while a test waits on them: the margin
    # covers the HTTP calls (an upload under ASan, on a busy machine) a test
    # makes while an engine holds a job. Leases outlast them too.
    CONFIG = {"heartbeat_ms": 1000, "lease_ms": 10000, "max_attempts": 3, "job_timeout_s": 7}

    @classmethod
    def setUpClass(cls):
        pass  # a fresh img-rest per test: each starts from an empty queue

    def setUp(self):
        self.svc = self.service(engines=0, config=self.CONFIG)

    def _engine(self, beating=True):
        """A fake engine; beating: heartbeats by itself while the test waits
        (its first one, free 0, is sent at once: credit comes from ready())."""
        e = FakeEngine(self.svc.broker, heartbeat_ms=200 if beating else None)
        self.addCleanup(e.close)
        return e

    def _submit(self, width=64, headers=None):
        st, _, body = self.svc.post_job("resize", files={"file": ("p.jpg", read_file(JPEG_PHOTO))},
                                        fields={"width": width}, headers=headers)
        self.assertEqual(st, 202, body)
        return body["id"]

    def _job(self, job_id):
        code, _, body = self.svc.get_json("/jobs/" + job_id)
        self.assertEqual(code, 200, body)
        return body

    def _wait_job(self, job_id, engine, until, what, timeout=5.0):
        """GET /jobs/<id> until until(status JSON) holds, the engine
        heartbeating meanwhile; returns that status JSON."""
        deadline = time.monotonic() + timeout
        while True:
            st = self._job(job_id)
            if until(st):
                return st
            if time.monotonic() > deadline:
                raise AssertionError("job %s: %s not seen within %ss: %r" % (job_id, what, timeout, st))
            engine.idle(0.05)

    def test_ready_credit_and_the_job_message(self):
        job_id = self._submit()
        e = self._engine()
        self.assertIsNone(e.recv("job", 0.5), "a job was sent before any credit")
        e.ready(1)
        job = e.expect("job")
        self.assertEqual((job["v"], job["id"], job["operation"], job["dispatch"]), (2, job_id, "resize", 1))
        self.assertNotIn("attempt", job, "a version 1 field name")
        self.assertEqual(job["params"], {"width": 64, "fit": "inside", "format": "same"})
        self.assertEqual(job["timeout_ms"], 7000)
        st = self._job(job_id)
        # the header img-rest probed, as the status shows it (the engine plans with it)
        self.assertEqual(job["input"], st["input"])
        self.assertEqual((job["input"]["width"], job["input"]["height"], job["input"]["orientation"]),
                         (1680, 1050, 1))
        self.assertEqual(st["status"], "processing")
        self.assertIsNone(st["started_at"], "started before `started`")
        # one credit, one job: the second waits
        second = self._submit()
        self.assertIsNone(e.recv("job", 0.5))
        e.started(job_id, 1)
        e.done(job_id, 1, result=RESULT)
        st = self.svc.wait_status("resize", job_id, 5)
        self.assertEqual(st["status"], "complete")
        self.assertEqual(st["result"]["height"], 40)
        self.assertIsNotNone(st["started_at"])
        self.assertEqual(st["attempts"], 1)
        # a duplicate completion changes nothing; the `ready` after it is
        # read after it (one connection keeps its order), so once the second
        # job has come, the duplicate has been handled
        e.done(job_id, 1, error={"code": "processing_failed", "message": "late"})
        e.ready(1)
        self.assertEqual(e.expect("job")["id"], second)
        st = self._job(job_id)
        self.assertEqual((st["status"], st["attempts"]), ("complete", 1))
        self.assertNotIn("error", st)

    def test_unknown_engine_gets_credit_from_its_heartbeat(self):
        """An engine first heard through `started`/`done` (img-rest restarted
        while it worked) is credited from its next heartbeat's `free`."""
        job_id = self._submit()
        e = self._engine(beating=False)
        e.started(str(uuid.uuid4()), 1)
        self.assertIsNone(e.recv("job", 0.4), "credit for an engine that never said it had any")
        e.heartbeat(free=1)
        job = e.recv("job")
        self.assertIsNotNone(job, "the idle thread was never credited")
        self.assertEqual(job["id"], job_id)

    def test_release_is_not_charged_and_late_done_ignored(self):
        job_id = self._submit()
        e = self._engine()
        e.ready(1)
        first = e.expect("job")["dispatch"]
        e.started(job_id, first)
        self._wait_job(job_id, e, lambda st: st["started_at"], "started_at")
        e.release(job_id, first)
        st = self._wait_job(job_id, e, lambda st: st["status"] == "queued", "queued again")
        self.assertEqual(st["attempts"], 0)
        e.ready(1)
        again = e.expect("job")
        self.assertEqual(again["id"], job_id)
        self.assertEqual(again["dispatch"], first + 1, "dispatch numbers must not repeat")
        # the released dispatch reports late: ignored; the current one counts
        e.done(job_id, first, error={"code": "processing_failed", "message": "stale"})
        e.done(job_id, again["dispatch"], error={"code": "processing_failed", "message": "real"})
        st = self.svc.wait_status("resize", job_id, 5)
        self.assertEqual((st["status"], st["error"]["message"]), ("failed", "real"))
        self.assertEqual(st["attempts"], 1, "the released dispatch was charged")

    def test_silent_engine_loses_its_jobs_to_another(self):
        job_id = self._submit()
        a = self._engine()
        a.ready(1)
        job = a.expect("job")
        a.started(job_id, job["dispatch"])
        self._wait_job(job_id, a, lambda st: st["started_at"], "started_at")
        b = self._engine()
        b.ready(1)
        # a says nothing more: after 3 heartbeats it is dropped, the job requeued
        a.silence()
        got = b.recv("job", 10)
        self.assertIsNotNone(got, "the lost engine's job never moved")
        self.assertEqual((got["id"], got["dispatch"]), (job_id, job["dispatch"] + 1))
        self.assertEqual(self._job(job_id)["attempts"], 1, "a started dispatch lost is charged")
        st, _, ready = self.svc.get_json("/ready")
        self.assertEqual(ready["workers"], 1)

    def test_version_1_messages_are_refused_and_counted(self):
        job_id = self._submit()
        before = self.svc.metrics()[DROPPED]
        # an engine of the old protocol: its `ready` and heartbeat are dropped,
        # so it is not known and gets nothing
        old = self._engine(beating=False)
        old.send("ready", version=1, worker=old.name, credit=1)
        old.send("heartbeat", version=1, worker=old.name, free=1, held=[])
        # version 2 with the old field names is no better
        old.send("ready", worker=old.name, credit=1)
        self.assertEqual(self.svc.wait_metric(DROPPED, before + 3), before + 3)
        self.assertIsNone(old.recv("job", 0.3))
        self.assertEqual(self._job(job_id)["status"], "queued")
        code, _, ready = self.svc.get_json("/ready")
        self.assertEqual((code, ready["workers"]), (503, 0), ready)
        # a version 2 engine gets the job; old-style reports of it are dropped
        e = self._engine()
        e.ready(1)
        job = e.expect("job")
        e.started(job_id, job["dispatch"])
        e.send("done", version=1, id=job_id, attempt=job["dispatch"], status="complete", result=RESULT)
        e.send("done", id=job_id, attempt=job["dispatch"], status="complete", result=RESULT)
        self.assertEqual(self.svc.wait_metric(DROPPED, before + 5), before + 5)
        self.assertEqual(self._job(job_id)["status"], "processing")
        # and the service goes on
        e.done(job_id, job["dispatch"], result=RESULT)
        st = self.svc.wait_status("resize", job_id, 5)
        self.assertEqual((st["status"], st["result"]), ("complete", RESULT))
        self.assertIsNone(self.svc.rest.poll())
        self.assertEqual(self.svc.metrics()[DROPPED], before + 5)

    def test_progress_shows_while_processing(self):
        """img-rest keeps the last `progress` of a running job in memory and
        shows it in the job's status until the job ends."""
        job_id = self._submit()
        e = self._engine()
        e.ready(1)
        dispatch = e.expect("job")["dispatch"]
        e.started(job_id, dispatch)
        st = self._wait_job(job_id, e, lambda st: st["started_at"], "started_at")
        self.assertNotIn("progress", st, "progress before any `progress` message")
        e.progress(job_id, dispatch, 40)
        st = self._wait_job(job_id, e, lambda st: "progress" in st, "progress")
        self.assertEqual((st["status"], st["progress"]), ("processing", 40))
        self.assertEqual(self.svc.get_json("/resize/status/" + job_id)[2]["progress"], 40)
        e.progress(job_id, dispatch, 75)
        st = self._wait_job(job_id, e, lambda st: st.get("progress") != 40, "the second progress")
        self.assertEqual(st["progress"], 75)
        e.done(job_id, dispatch, result=RESULT)
        st = self.svc.wait_status("resize", job_id, 5)
        self.assertEqual(st["status"], "complete")
        self.assertNotIn("progress", st)
        self.assertNotIn("progress", self._job(job_id))

    def test_job_message_carries_the_request_id(self):
        request_id = "e2e-" + uuid.uuid4().hex
        job_id = self._submit(headers={"X-Request-Id": request_id})
        e = self._engine()
        e.ready(1)
        job = e.expect("job")
        self.assertEqual(job["id"], job_id)
        self.assertEqual(job.get("request_id"), request_id)


if __name__ == "__main__":
    unittest.main()
