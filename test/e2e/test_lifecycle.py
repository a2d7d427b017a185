"""No job lost: crash recovery, backpressure, waiting, history, deletion,
retention, readiness and graceful shutdown — each with real processes."""

import os
import signal
import subprocess
import time
import unittest

from harness import JPEG_PHOTO, ServiceTestCase, image_size, read_file, scratch_path, sniff

# Quick failure detection so the tests run in seconds, not minutes.
FAST = {"heartbeat_ms": 200, "lease_ms": 2000, "max_queued": 10000, "max_attempts": 3,
        "engine_threads": 2, "log_level": "info"}


def small_jpeg():
    """A 320x200 JPEG made from a real photo (quick jobs)."""
    path = scratch_path("small.jpg")
    if not os.path.exists(path):
        subprocess.run(["vipsthumbnail", JPEG_PHOTO, "--size", "320x", "-o", path],
                       check=True, capture_output=True)
    return read_file(path)


def photo_png():
    """The 1680x1050 photo as PNG: no shrink-on-load, so each job takes a
    few tens of milliseconds and a burst is still running when a test
    kills something."""
    path = scratch_path("photo.png")
    if not os.path.exists(path):
        subprocess.run(["vips", "copy", JPEG_PHOTO, path], check=True, capture_output=True)
    return read_file(path)


class Burst:
    """Submits n resize jobs and checks each one's outcome."""

    def __init__(self, test, svc, n, width=64, heavy=False):
        self.test, self.svc, self.width = test, svc, width
        self.format = "png" if heavy else "jpeg"
        self.ids = []
        data = photo_png() if heavy else small_jpeg()
        for i in range(n):
            st, _, body = svc.post_job("resize", files={"file": ("p", data)},
                                       fields={"width": width})
            test.assertEqual(st, 202, body)
            self.ids.append(body["id"])

    def count(self, status):
        """How many of this burst's jobs are in `status` (from GET /jobs pages)."""
        mine, n, cursor = set(self.ids), 0, ""
        while True:
            st, _, page = self.svc.get_json("/jobs?limit=100&status=%s%s" % (status, cursor))
            self.test.assertEqual(st, 200, page)
            n += sum(j["id"] in mine for j in page["jobs"])
            if not page["next_cursor"]:
                return n
            cursor = "&cursor=" + page["next_cursor"]

    def wait_some_complete(self, k, timeout=60):
        deadline = time.monotonic() + timeout
        while self.count("complete") < k:
            self.test.assertLess(time.monotonic(), deadline, "fewer than %d jobs completed" % k)
            time.sleep(0.2)

    def assert_all_complete(self, timeout=120):
        for job_id in self.ids:
            st = self.svc.wait_status("resize", job_id, timeout)
            self.test.assertEqual(st["status"], "complete", st)
            self.test.assertEqual(st["result"]["width"], self.width)
            code, headers, data = self.svc.get("/resize/" + job_id)
            self.test.assertEqual(code, 200)
            self.test.assertEqual(sniff(data), self.format)
            self.test.assertEqual(len(data), st["result"]["bytes"])
        # and every result really is a 64-pixel-wide JPEG (a sample, vipsheader is slow)
        for job_id in self.ids[:: max(1, len(self.ids) // 10)]:
            self.test.assertEqual(image_size(self.svc.get("/resize/" + job_id)[2])[0], self.width)


class EngineCrash(ServiceTestCase):
    ENGINES = 0
    CONFIG = FAST

    def test_engine_killed_mid_burst_then_restarted(self):
        # The burst is queued before the engine starts, so the engine has
        # work in hand when it dies however fast this build runs the jobs
        # (a burst submitted to a running engine could finish first).
        burst = Burst(self, self.svc, 100, heavy=True)
        engine = self.svc.start_engine()
        burst.wait_some_complete(10)
        self.svc.kill_engine(engine, signal.SIGKILL)
        time.sleep(0.5)  # a result already on the wire may still land
        done_at_kill = burst.count("complete")
        self.assertLess(done_at_kill, 100, "the burst finished before the kill; test proves nothing")
        # jobs submitted while no engine runs are accepted and wait
        late = Burst(self, self.svc, 10, heavy=True)
        time.sleep(1.0)
        self.assertEqual(burst.count("complete"), done_at_kill, "jobs completed with no engine")
        self.assertEqual(late.count("queued"), 10)
        self.svc.start_engine()
        burst.assert_all_complete()
        late.assert_all_complete()


class RestCrash(ServiceTestCase):
    ENGINES = 0
    CONFIG = FAST

    def test_rest_killed_mid_burst_then_restarted(self):
        # queued first, as in EngineCrash, so the engine is busy at the kill
        burst = Burst(self, self.svc, 100, heavy=True)
        self.svc.start_engine()
        burst.wait_some_complete(10)
        self.assertLess(burst.count("complete"), 100, "the burst finished before the kill")
        self.svc.kill_rest(signal.SIGKILL)
        time.sleep(1.0)
        self.svc.start_rest()
        # the engine was not restarted: it reconnects by itself
        self.svc.wait_ready()
        burst.assert_all_complete()
        # and new work still flows over the restored link
        Burst(self, self.svc, 5).assert_all_complete()


class LinkDrop(ServiceTestCase):
    """The link goes silent (a process frozen with SIGSTOP, as in a network
    partition) and comes back: work resumes with no restart."""
    CONFIG = FAST

    def test_rest_frozen_then_resumed(self):
        burst = Burst(self, self.svc, 60, heavy=True)
        burst.wait_some_complete(5)
        self.svc.rest.send_signal(signal.SIGSTOP)
        time.sleep(2.0)  # 10 heartbeats: the engine reconnects, leases lapse
        self.svc.rest.send_signal(signal.SIGCONT)
        burst.assert_all_complete()
        self.assertIsNone(self.svc.engines[0].poll(), "the engine exited")

    def test_engine_frozen_then_resumed(self):
        burst = Burst(self, self.svc, 60, heavy=True)
        burst.wait_some_complete(5)
        # freeze the engine process itself (the supervisor's child)
        child = int(subprocess.run(["pgrep", "-P", str(self.svc.engines[0].pid)],
                                   capture_output=True, text=True, check=True).stdout.split()[0])
        os.kill(child, signal.SIGSTOP)
        # img-rest drops it as silent (3 heartbeats) and requeues its jobs
        deadline = time.monotonic() + 30
        while self.svc.get_json("/ready")[0] != 503:
            self.assertLess(time.monotonic(), deadline, "the frozen engine was never dropped")
            time.sleep(0.1)
        os.kill(child, signal.SIGCONT)
        self.svc.wait_ready()
        burst.assert_all_complete()


class TwoEngines(ServiceTestCase):
    ENGINES = 2
    CONFIG = FAST

    def _jobs_started_by(self, i):
        with open(self.svc.engines[i].log_path, "rb") as f:
            return f.read().count(b") dispatch ")

    def test_both_work_then_one_killed(self):
        status, _, ready = self.svc.get_json("/ready")
        deadline = time.monotonic() + 10
        while ready["workers"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            status, _, ready = self.svc.get_json("/ready")
        self.assertEqual(ready["workers"], 2, ready)
        burst = Burst(self, self.svc, 120, heavy=True)
        burst.wait_some_complete(30)
        self.assertGreater(self._jobs_started_by(0), 0, "engine 0 got no work")
        self.assertGreater(self._jobs_started_by(1), 0, "engine 1 got no work")
        self.svc.kill_engine(0, signal.SIGKILL)
        burst.assert_all_complete()


def thread_niceness(pid):
    """{thread id: niceness} of every thread of process pid, from /proc."""
    found = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            text = f.read()
        found[int(tid)] = int(text[text.rindex(")") + 2:].split()[16])
    return found


class Niceness(ServiceTestCase):
    """img-engine runs its work (every thread of it: workers, libvips',
    ZeroMQ's) at engine_nice, 10 by default, so that image work gives way to
    img-rest; img-rest and the engine's supervisor keep the niceness they
    were started with."""
    CONFIG = dict(FAST, engine_nice=7)

    def check(self, svc, nice):
        own = os.getpriority(os.PRIO_PROCESS, 0)
        svc.run_job("resize", {"file": ("p", photo_png())}, fields={"width": 64})
        engine = svc.child_pid(svc.engines[0])
        threads = thread_niceness(engine)
        self.assertGreater(len(threads), 3, threads)  # main, ZeroMQ, workers, libvips
        self.assertEqual(set(threads.values()), {max(nice, own)}, threads)
        self.assertEqual(set(thread_niceness(svc.engines[0].pid).values()), {own})
        rest = svc.child_pid(svc.rest)
        self.assertEqual(set(thread_niceness(rest).values()), {own})

    def test_configured(self):
        self.check(self.svc, 7)

    def test_default(self):
        self.check(self.service(engines=1, config=FAST), 10)


class NoEngine(ServiceTestCase):
    """No engine at first: not ready, jobs wait in the queue, the queue has
    a bound; an engine that connects runs them all."""
    ENGINES = 0
    CONFIG = dict(FAST, max_queued=5)

    def test_queue_waits_for_an_engine_and_caps(self):
        st, headers, body = self.svc.get_json("/ready")
        self.assertEqual(st, 503)
        self.assertEqual(body["workers"], 0)
        self.assertEqual(body["status"], "not_ready")
        self.assertEqual(body["error"]["code"], "not_ready")
        burst = Burst(self, self.svc, 5)
        self.assertEqual(burst.count("queued"), 5)
        # a queued job: its result route says "not yet", with Retry-After
        job_id = burst.ids[0]
        code, headers, body = self.svc.get("/resize/" + job_id)
        self.assertEqual(code, 202, body)
        self.assertTrue(headers.get("Retry-After", "").isdigit(), headers)
        self.assertEqual((body["id"], body["status"]), (job_id, "queued"))
        code, _, st = self.svc.get_json("/resize/status/" + job_id)
        self.assertEqual((code, st["status"]), (200, "queued"))
        self.assertNotIn("result", st)
        self.assertNotIn("error", st)
        # the cap: the sixth is refused, with Retry-After; nothing accepted is dropped
        refused = self.svc.post_job("resize", files={"file": ("p.jpg", small_jpeg())},
                                    fields={"width": 64})
        self.assertError(refused, 503, "queue_full")
        self.assertTrue(refused[1].get("Retry-After", "").isdigit(), refused[1])
        self.assertGreaterEqual(int(refused[1]["Retry-After"]), 1)
        time.sleep(1.0)
        self.assertEqual(burst.count("queued"), 5, "queued jobs changed without an engine")
        st, _, body = self.svc.get_json("/ready")
        self.assertEqual((st, body["queued"]), (503, 5))
        self.svc.start_engine()
        burst.assert_all_complete()
        st, _, body = self.svc.get_json("/ready")
        self.assertEqual((st, body["workers"], body["queued"]), (200, 1, 0), body)
        # room again
        code, _, body = self.svc.post_job("resize", files={"file": ("p.jpg", small_jpeg())},
                                          fields={"width": 64})
        self.assertEqual(code, 202, body)


class Faults(ServiceTestCase):
    """A job that crashes or hangs its worker fails after its attempts; others complete."""
    CONFIG = dict(FAST, max_attempts=2, job_timeout_s=1, lease_ms=1000, heartbeat_ms=300)
    ENV = {"IMG_TEST_OPS": "1"}

    def _fault(self, mode):
        st, _, body = self.svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                        fields={"mode": mode})
        self.assertEqual(st, 202, body)
        return body["id"]

    def test_crashing_job_fails_after_attempts_others_complete(self):
        bad = self._fault("crash")
        burst = Burst(self, self.svc, 10)
        st = self.svc.wait_status("test_fault", bad, timeout=60)
        self.assertEqual(st["status"], "failed")
        self.assertEqual(st["error"]["code"], "worker_lost")
        self.assertIn("2 times", st["error"]["message"])
        self.assertEqual(st["attempts"], 2)
        burst.assert_all_complete()
        self.assertError(self.svc.get("/test_fault/" + bad), 409, "job_failed")

    def test_hanging_job_fails_after_attempts_others_complete(self):
        bad = self._fault("hang")
        burst = Burst(self, self.svc, 10)
        st = self.svc.wait_status("test_fault", bad, timeout=90)
        self.assertEqual(st["status"], "failed")
        self.assertEqual(st["attempts"], 2)
        burst.assert_all_complete()


class Waiting(ServiceTestCase):
    CONFIG = dict(FAST, max_wait_s=5)
    ENV = {"IMG_TEST_OPS": "1"}

    def test_wait_answers_at_completion(self):
        st, _, body = self.svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                        fields={"mode": "sleep", "ms": 500})
        self.assertEqual(st, 202)
        t0 = time.monotonic()
        st, _, job = self.svc.get_json("/test_fault/status/%s?wait=5" % body["id"])
        elapsed = time.monotonic() - t0
        self.assertEqual((st, job["status"]), (200, "complete"))
        self.assertGreater(elapsed, 0.3, "answered before the job could have finished")
        # a missed wake-up answers at the 5 s time-out: the margin is for
        # a slow (ASan) engine on a busy machine
        self.assertLess(elapsed, 4.5, "did not answer at completion")

    def test_wait_times_out_with_current_status(self):
        st, _, body = self.svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                        fields={"mode": "sleep", "ms": 8000})
        t0 = time.monotonic()
        st, _, job = self.svc.get_json("/test_fault/status/%s?wait=1" % body["id"])
        elapsed = time.monotonic() - t0
        self.assertEqual(st, 200)
        self.assertIn(job["status"], ("queued", "processing"))
        self.assertGreater(elapsed, 0.9)
        self.assertLess(elapsed, 5.0)
        # (the result route of an unfinished job: NoEngine)

    def test_bad_wait_values(self):
        st, _, body = self.svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                        fields={"mode": "sleep", "ms": 0})
        for bad in ("6", "-1", "abc", "1.5", ""):
            self.assertError(self.svc.get("/test_fault/status/%s?wait=%s" % (body["id"], bad)),
                             400, "invalid_parameter", "wait=%s" % bad)
        self.assertError(self.svc.get("/test_fault/status/%s?bogus=1" % body["id"]), 400,
                         "invalid_parameter")


class History(ServiceTestCase):
    CONFIG = FAST

    def test_pagination_newest_first_stable_while_adding(self):
        first = Burst(self, self.svc, 7)
        first.assert_all_complete()
        st, _, page1 = self.svc.get_json("/jobs?limit=3&operation=resize")
        self.assertEqual(st, 200)
        self.assertEqual([j["id"] for j in page1["jobs"]], first.ids[::-1][:3])
        self.assertIsInstance(page1["next_cursor"], str)
        # jobs added between pages do not shift the next pages
        Burst(self, self.svc, 2)
        seen = [j["id"] for j in page1["jobs"]]
        cursor = page1["next_cursor"]
        while cursor:
            st, _, page = self.svc.get_json("/jobs?limit=3&operation=resize&cursor=" + cursor)
            self.assertEqual(st, 200)
            seen += [j["id"] for j in page["jobs"]]
            cursor = page["next_cursor"]
        self.assertEqual(seen, first.ids[::-1])
        # filters
        st, _, done = self.svc.get_json("/jobs?status=complete&limit=100")
        self.assertTrue(all(j["status"] == "complete" for j in done["jobs"]))
        self.assertTrue(set(first.ids) <= {j["id"] for j in done["jobs"]})
        st, _, none = self.svc.get_json("/jobs?operation=dither")
        self.assertEqual(none["jobs"], [])
        self.assertIsNone(none["next_cursor"])

    def test_bad_list_parameters(self):
        for q in ("limit=0", "limit=101", "limit=x", "status=done", "operation=nope",
                  "cursor=abc", "cursor=-5", "color=red"):
            self.assertError(self.svc.get("/jobs?" + q), 400, "invalid_parameter", q)


class Deletion(ServiceTestCase):
    CONFIG = FAST

    def test_delete_complete_job_and_files(self):
        burst = Burst(self, self.svc, 1)
        burst.assert_all_complete()
        job_id = burst.ids[0]
        folder = os.path.join(self.svc.data_dir, "jobs", job_id)
        self.assertTrue(os.path.isdir(folder))
        st, _, body = self.svc.delete("/jobs/" + job_id)
        self.assertEqual(st, 204)
        self.assertFalse(os.path.exists(folder), "files left behind")
        self.assertFalse(any(job_id in f for _, dirs, files in os.walk(self.svc.data_dir)
                             for f in dirs + files), "job files left in data_dir")
        for path in ("/jobs/", "/resize/status/", "/resize/"):
            self.assertError(self.svc.get(path + job_id), 404, "not_found", path)
        self.assertError(self.svc.delete("/jobs/" + job_id), 404, "not_found")
        self.assertError(self.svc.delete("/jobs/not-an-id"), 404, "not_found")

    def test_delete_queued_job_is_never_run(self):
        self.svc.kill_engine(0, signal.SIGTERM)
        time.sleep(1.0)
        burst = Burst(self, self.svc, 3)
        st, _, _ = self.svc.delete("/jobs/" + burst.ids[1])
        self.assertEqual(st, 204)
        self.svc.start_engine()
        for kept in (burst.ids[0], burst.ids[2]):
            self.assertEqual(self.svc.wait_status("resize", kept)["status"], "complete")
        self.assertError(self.svc.get("/jobs/" + burst.ids[1]), 404, "not_found")
        self.assertFalse(os.path.exists(os.path.join(self.svc.data_dir, "jobs", burst.ids[1])))


class Restart(ServiceTestCase):
    CONFIG = FAST

    def test_orphan_folder_of_an_unfinished_upload_is_swept(self):
        """img-rest killed mid-upload leaves a folder no job owns: once nothing
        touched it for an hour it is removed; the folders of real jobs, and a
        fresh one (an upload another replica is receiving), stay."""
        burst = Burst(self, self.svc, 1)
        burst.assert_all_complete()
        jobs = os.path.join(self.svc.data_dir, "jobs")
        orphan = os.path.join(jobs, "0b8e5d7a-3c1f-4e2a-9d6b-5f4a3e2d1c0b")
        fresh = os.path.join(jobs, "1c9f6e8b-4d2a-4f3b-8e7c-6a5b4f3e2d1c")
        for folder in (orphan, fresh):
            os.makedirs(folder)
            with open(os.path.join(folder, "in_file"), "wb") as f:
                f.write(b"half an upload")
        two_hours_ago = time.time() - 7200
        os.utime(os.path.join(orphan, "in_file"), (two_hours_ago, two_hours_ago))
        os.utime(orphan, (two_hours_ago, two_hours_ago))
        self.svc.kill_rest(signal.SIGKILL)
        self.svc.start_rest()
        deadline = time.monotonic() + 30
        while os.path.exists(orphan) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(os.path.exists(orphan))
        self.assertTrue(os.path.isdir(fresh))
        self.assertTrue(os.path.isdir(os.path.join(jobs, burst.ids[0])))
        self.assertEqual(self.svc.wait_status("resize", burst.ids[0])["status"], "complete")


class Waiters(ServiceTestCase):
    """Waiting requests may hold at most half the HTTP threads."""
    CONFIG = dict(FAST, http_threads=4, max_wait_s=5)
    ENV = {"IMG_TEST_OPS": "1"}

    def test_waiters_beyond_the_cap_answer_at_once(self):
        import threading
        st, _, body = self.svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                        fields={"mode": "sleep", "ms": 4000})
        self.assertEqual(st, 202)
        path = "/test_fault/status/%s?wait=5" % body["id"]
        times = []

        def waiter():
            t0 = time.monotonic()
            self.svc.get_json(path)
            times.append(time.monotonic() - t0)

        threads = [threading.Thread(target=waiter) for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            t.join()
        times.sort()
        # the two held wait for the job (4 s); the third does not
        self.assertLess(times[0], 2.0, "the third waiter was not answered at once: %r" % times)
        self.assertGreater(times[1], 2.5, "the first two should have waited: %r" % times)
        self.assertEqual(self.svc.get("/health")[0], 200)


class Metrics(ServiceTestCase):
    CONFIG = FAST

    def test_counters_follow_the_work(self):
        before = self.svc.metrics()  # Prometheus text, or it raises
        Burst(self, self.svc, 3).assert_all_complete()
        finished = 'img_jobs_finished_total{operation="resize",outcome="complete"}'

        def delta(key):
            return after[key] - before.get(key, 0)

        # a counter moves just after the state a client saw is stored: read
        # until the work is counted (a wrong count stays wrong)
        deadline = time.monotonic() + 15
        while True:
            after = self.svc.metrics()
            if (delta(finished) == 3 and after["img_jobs_in_flight"] == 0) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)

        self.assertEqual(delta('img_jobs_submitted_total{operation="resize"}'), 3)
        self.assertEqual(delta('img_jobs_finished_total{operation="resize",outcome="complete"}'), 3)
        self.assertEqual(delta('img_jobs_finished_total{operation="resize",outcome="failed"}'), 0)
        # (at least: a lease lapsing on a loaded machine hands a job out again)
        self.assertGreaterEqual(delta('img_dispatch_total{event="dispatched"}'), 3)
        # gauges, read at scrape time: the one engine, nothing left to do
        self.assertEqual(after["img_engines_connected"], 1)
        self.assertEqual(after["img_queue_depth"], 0)
        self.assertEqual(after["img_jobs_in_flight"], 0)
        # HTTP: the three submits, by route, method and code
        submit = 'route="/{op}",method="POST",code="202"'
        self.assertEqual(delta("img_http_requests_total{%s}" % submit), 3)
        self.assertEqual(after['img_http_request_duration_seconds_bucket{%s,le="+Inf"}' % submit],
                         after["img_http_request_duration_seconds_count{%s}" % submit])
        self.assertEqual(delta("img_http_request_duration_seconds_count{%s}" % submit), 3)


class Retention(ServiceTestCase):
    CONFIG = dict(FAST, retention_s=2)

    def test_finished_jobs_are_removed_after_retention(self):
        burst = Burst(self, self.svc, 2)
        # (not assert_all_complete: downloading and measuring every result
        # may outlast the retention on a busy machine)
        for job_id in burst.ids:
            self.assertEqual(self.svc.wait_status("resize", job_id)["status"], "complete")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(self.svc.get("/jobs/" + i)[0] == 404 for i in burst.ids):
                break
            time.sleep(0.2)
        for job_id in burst.ids:
            self.assertError(self.svc.get("/jobs/" + job_id), 404, "not_found")
            self.assertFalse(os.path.exists(os.path.join(self.svc.data_dir, "jobs", job_id)))


class GracefulShutdown(ServiceTestCase):
    CONFIG = dict(FAST, shutdown_grace_s=10)
    ENV = {"IMG_TEST_OPS": "1"}

    def _wait_started(self, engine, job_id, timeout=10):
        """Until engine's log says a worker thread started the job (the
        dispatcher's `processing` comes a moment earlier)."""
        needle = ("job %s (test_fault) dispatch" % job_id).encode()
        deadline = time.monotonic() + timeout
        while needle not in read_file(self.svc.engines[engine].log_path):
            self.assertLess(time.monotonic(), deadline, "the engine never started the job")
            time.sleep(0.05)

    def test_sigterm_engine_finishes_running_job_and_exits_0(self):
        st, _, body = self.svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                        fields={"mode": "sleep", "ms": 1500})
        self.assertEqual(st, 202)
        self._wait_started(0, body["id"])
        engine = self.svc.engines[0]
        engine.send_signal(signal.SIGTERM)
        self.assertEqual(engine.wait(timeout=15), 0)
        st = self.svc.wait_status("test_fault", body["id"], timeout=5)
        self.assertEqual(st["status"], "complete")
        self.assertEqual(st["attempts"], 1, "the job was run again instead of finished")

    def test_sigterm_engine_hands_back_what_it_cannot_finish(self):
        self.svc.start_engine()
        st, _, body = self.svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                        fields={"mode": "sleep", "ms": 30000})
        self.assertEqual(st, 202)
        self._wait_started(len(self.svc.engines) - 1, body["id"])
        t0 = time.monotonic()
        for p in self.svc.engines:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.svc.engines:
            self.assertEqual(p.wait(timeout=30), 0)
        # (the grace, 10 s, and an ASan exit's leak check on a busy machine)
        self.assertLess(time.monotonic() - t0, 10 + 15, "did not respect shutdown_grace_s")
        # handed back: queued again, for the next engine (img-rest reads the
        # engine's `release` on its own time)
        deadline = time.monotonic() + 30
        while self.svc.get_json("/jobs/" + body["id"])[2]["status"] != "queued":
            self.assertLess(time.monotonic(), deadline, "the job was never handed back")
            time.sleep(0.05)

    def test_head_has_headers_and_no_body(self):
        import socket
        with socket.create_connection(("127.0.0.1", self.svc.http_port), timeout=10) as sock:
            sock.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:  # the server closes the connection after the answer
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"Content-Length: ", head)
        self.assertEqual(body, b"", "a HEAD answer carried a body")

    def test_sigterm_rest_exits_0(self):
        rest = self.svc.rest
        rest.send_signal(signal.SIGTERM)
        self.assertEqual(rest.wait(timeout=15), 0)
        self.svc.start_rest()


if __name__ == "__main__":
    unittest.main()
