"""The dispatcher's side of the protocol (docs/protocol.md), driven by a
fake engine — a ZeroMQ DEALER in this test — against the real img-rest:
credit from `ready` and from heartbeats, the `job` message, `started`,
`done` for the dispatch holding the lease only, `release` not charged."""

import json
import time

try:
    import zmq
except ImportError:  # a python3 other than Debian's: use Debian's python3-zmq
    import sys
    sys.path.append("/usr/lib/python3/dist-packages")
    import zmq

from harness import JPEG_PHOTO, Service, ServiceTestCase, read_file


class FakeEngine:
    def __init__(self, endpoint, name):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, name.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.name = name

    def send(self, **msg):
        msg.setdefault("v", 1)
        self.sock.send(json.dumps(msg).encode())

    def heartbeat(self, free, held=()):
        self.send(type="heartbeat", worker=self.name, free=free, held=list(held))

    def recv_job(self, timeout=5.0):
        """The next `job` message (pings skipped), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sock.poll(100):
                msg = json.loads(self.sock.recv())
                if msg["type"] == "job":
                    return msg
        return None

    def close(self):
        self.sock.close()


class Protocol(ServiceTestCase):
    ENGINES = 0
    CONFIG = {"heartbeat_ms": 200, "lease_ms": 3000, "max_attempts": 3, "job_timeout_s": 7}

    @classmethod
    def setUpClass(cls):
        pass  # a fresh img-rest per test: each starts from an empty queue

    def setUp(self):
        self.svc = Service(engines=0, config=self.CONFIG)
        self.addCleanup(self.svc.cleanup)
        self.engines = []

    def tearDown(self):
        for e in self.engines:
            e.close()

    def _engine(self, name):
        e = FakeEngine(self.svc.broker, name)
        self.engines.append(e)
        return e

    def _submit(self, width=64):
        st, _, body = self.svc.post_job("resize", files={"file": ("p.jpg", read_file(JPEG_PHOTO))},
                                        fields={"width": width})
        self.assertEqual(st, 202, body)
        return body["id"]

    def _job(self, job_id):
        return self.svc.get_json("/jobs/" + job_id)[2]

    def test_ready_credit_and_the_job_message(self):
        job_id = self._submit()
        e = self._engine("fake-ready")
        self.assertIsNone(e.recv_job(0.5), "a job was sent before any credit")
        e.send(type="ready", worker=e.name, credit=1)
        job = e.recv_job()
        self.assertIsNotNone(job)
        self.assertEqual((job["id"], job["operation"], job["attempt"]), (job_id, "resize", 1))
        self.assertEqual(job["params"], {"width": 64, "fit": "inside", "format": "same"})
        self.assertEqual(job["timeout_ms"], 7000)
        self.assertEqual(self._job(job_id)["status"], "processing")
        self.assertIsNone(self._job(job_id)["started_at"], "started before `started`")
        # one credit, one job: the second waits
        second = self._submit()
        self.assertIsNone(e.recv_job(0.5))
        e.send(type="started", id=job_id, attempt=1)
        e.send(type="done", id=job_id, attempt=1, status="complete",
               result={"width": 64, "height": 40, "format": "jpeg", "bytes": 10})
        st = self.svc.wait_status("resize", job_id, 5)
        self.assertEqual(st["status"], "complete")
        self.assertEqual(st["result"]["height"], 40)
        self.assertIsNotNone(st["started_at"])
        # a duplicate completion changes nothing
        e.send(type="done", id=job_id, attempt=1, status="failed",
               error={"code": "processing_failed", "message": "late"})
        time.sleep(0.3)
        self.assertEqual(self._job(job_id)["status"], "complete")
        e.send(type="ready", worker=e.name, credit=1)
        self.assertEqual(e.recv_job()["id"], second)

    def test_unknown_worker_gets_credit_from_its_heartbeat(self):
        """A worker first heard through `started`/`done` (img-rest restarted
        while it worked) is credited from its next heartbeat's `free`."""
        job_id = self._submit()
        e = self._engine("fake-known-late")
        e.send(type="started", id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", attempt=1)
        time.sleep(0.3)
        self.assertIsNone(e.recv_job(0.3))
        e.heartbeat(free=1)
        job = e.recv_job()
        self.assertIsNotNone(job, "the idle thread was never credited")
        self.assertEqual(job["id"], job_id)

    def test_release_is_not_charged_and_late_done_ignored(self):
        job_id = self._submit()
        e = self._engine("fake-release")
        e.send(type="ready", worker=e.name, credit=1)
        job = e.recv_job()
        e.send(type="started", id=job_id, attempt=job["attempt"])
        time.sleep(0.2)
        self.assertEqual(self._job(job_id)["attempts"], 1)
        e.send(type="release", id=job_id, attempt=job["attempt"])
        time.sleep(0.3)
        st = self._job(job_id)
        self.assertEqual((st["status"], st["attempts"]), ("queued", 0))
        e.send(type="ready", worker=e.name, credit=1)
        again = e.recv_job()
        self.assertEqual(again["id"], job_id)
        self.assertEqual(again["attempt"], job["attempt"] + 1, "dispatch numbers must not repeat")
        # the released dispatch reports late: ignored; the current one counts
        e.send(type="done", id=job_id, attempt=job["attempt"], status="failed",
               error={"code": "processing_failed", "message": "stale"})
        time.sleep(0.3)
        self.assertEqual(self._job(job_id)["status"], "processing")
        e.send(type="done", id=job_id, attempt=again["attempt"], status="failed",
               error={"code": "processing_failed", "message": "real"})
        st = self.svc.wait_status("resize", job_id, 5)
        self.assertEqual((st["status"], st["error"]["message"]), ("failed", "real"))

    def test_silent_worker_loses_its_jobs_to_another(self):
        job_id = self._submit()
        a = self._engine("fake-silent")
        a.send(type="ready", worker=a.name, credit=1)
        job = a.recv_job()
        a.send(type="started", id=job_id, attempt=job["attempt"])
        b = self._engine("fake-alive")
        b.send(type="ready", worker=b.name, credit=1)
        # a says nothing more: after 3 heartbeats it is dropped, the job requeued
        for _ in range(20):
            b.heartbeat(free=1)
            got = b.recv_job(0.2)
            if got:
                break
        self.assertIsNotNone(got, "the lost worker's job never moved")
        self.assertEqual(got["id"], job_id)
        self.assertEqual(self._job(job_id)["attempts"], 2, "a started dispatch lost is charged")
        st, _, ready = self.svc.get_json("/ready")
        self.assertEqual(ready["workers"], 1)


if __name__ == "__main__":
    import unittest
    unittest.main()
