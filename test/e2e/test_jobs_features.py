"""The job options and events of API v1.1, with real processes over real HTTP:
webhooks (callback_url: signature, retries, time-outs, durability across a
SIGKILL of img-rest, no repeats, refused targets), progress, Server-Sent
Events (one job, every job, bounds, API keys), Idempotency-Key and result
reuse."""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest
import uuid

from event_stream import EventStream, status_events
from harness import JPEG_PHOTO, PNG_PHOTO, ServiceTestCase, free_port, read_file, scratch_path, sniff
from webhook_receiver import Receiver, expected_signature, parse_signature

SECRET = "e2e-webhook-secret-0123456789abcdef"
FAST = {"heartbeat_ms": 200, "lease_ms": 2000, "log_level": "info", "result_cache": 1}


def _made(name, *command):
    """A file made once per test process by command (with {out} in it)."""
    path = scratch_path(name)
    if not os.path.exists(path):
        subprocess.run([c.format(out=path) for c in command], check=True, capture_output=True)
    return read_file(path)


def small_jpeg():
    """A 320x200 JPEG of a real photo: jobs of a few milliseconds."""
    return _made("small.jpg", "vipsthumbnail", JPEG_PHOTO, "--size", "320x", "-o", "{out}")


def other_small_jpeg():
    """Another 320-pixel-wide JPEG (other bytes than small_jpeg)."""
    return _made("other.jpg", "vipsthumbnail", PNG_PHOTO, "--size", "320x", "-o", "{out}")


def big_jpeg():
    """The photo 5 times larger (8400x5250): a dither of it takes seconds
    (several progress messages, one each PROGRESS_EVERY_MS of the engine)."""
    return _made("big5.jpg", "vips", "resize", JPEG_PHOTO, "{out}", "5")


def uuid4():
    return str(uuid.uuid4())


class JobsTestCase(ServiceTestCase):
    """Helpers shared by this file's classes."""

    _width = 40

    def unique_width(self):
        """A resize width no other job of this process asked for, so that
        result reuse (on in these classes) does not answer it from another
        test's job."""
        JobsTestCase._width += 1
        return JobsTestCase._width

    def submit(self, svc=None, op="resize", data=None, fields=None, query=None, headers=None,
               expect=202):
        svc = svc or self.svc
        fields = dict(fields or {})
        if op == "resize":
            fields.setdefault("width", self.unique_width())
        code, hdrs, body = svc.post_job(op, files={"file": ("p.jpg", data or small_jpeg())},
                                        fields=fields, query=query, headers=headers)
        self.assertEqual(code, expect, body)
        return body, hdrs

    def job_status(self, job_id, svc=None, headers=None):
        code, _, body = (svc or self.svc).get("/jobs/" + job_id, headers=headers)
        self.assertEqual(code, 200, body)
        return body

    def wait_until(self, what, fn, timeout=30, every=0.05):
        """Polls fn() until it returns something true; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            value = fn()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("not within %ss: %s" % (timeout, what))
            time.sleep(every)

    def wait_callback(self, job_id, state, svc=None, timeout=60):
        """The job's status once its callback is in `state`."""
        def check():
            st = self.job_status(job_id, svc)
            self.assertIn("callback", st)
            return st if st["callback"]["state"] == state else None
        return self.wait_until("callback of %s %s" % (job_id, state), check, timeout)

    def wait_attempts(self, job_id, n, timeout=60):
        """The job's status once its callback has recorded at least n calls."""
        def check():
            st = self.job_status(job_id)
            return st if st["callback"]["attempts"] >= n else None
        return self.wait_until("%d calls of %s recorded" % (n, job_id), check, timeout)

    def job_ids(self, svc=None, headers=None):
        """Every job's id, from GET /jobs pages."""
        ids, cursor = [], ""
        while True:
            code, _, page = (svc or self.svc).request("GET", "/jobs?limit=100" + cursor,
                                                      headers=headers)
            self.assertEqual(code, 200, page)
            ids += [j["id"] for j in page["jobs"]]
            if not page["next_cursor"]:
                return ids
            cursor = "&cursor=" + page["next_cursor"]

    def job_folders(self, svc=None):
        """The job folders in the data folder (made with the first job)."""
        path = os.path.join((svc or self.svc).data_dir, "jobs")
        return sorted(os.listdir(path)) if os.path.isdir(path) else []


# -- webhooks -------------------------------------------------------------------

class Webhooks(JobsTestCase):
    CONFIG = dict(FAST, webhook_allow="127.0.0.1", webhook_secret=SECRET, webhook_max_attempts=4)

    def assert_signed(self, call, secret=SECRET):
        t, v1 = parse_signature(call.headers.get("X-Img-Signature"))
        self.assertEqual(v1, expected_signature(secret, t, call.body), "bad signature")
        self.assertNotEqual(v1, expected_signature(secret + "x", t, call.body))
        # t is the Unix time in seconds of the call (not milliseconds, not 0)
        self.assertLess(abs(t - time.time()), 600, t)

    def gaps(self, calls):
        return [b.at - a.at for a, b in zip(calls, calls[1:])]

    # Each gap between two calls holds the back-off (1 s, 2 s, 4 s, ... each
    # +-20 %) plus the time of the call before and of the next connect: at
    # least 0.8 times the back-off, and on a busy machine a few seconds more
    # than 1.2 times it. (Ratios between two gaps would add their delays.)
    def assert_backoff(self, gaps, extra=0.0):
        """gaps[i] holds a back-off of 2**i s, after extra s (a time-out)."""
        for i, gap in enumerate(gaps):
            base = 2.0 ** i
            self.assertGreaterEqual(gap, extra + 0.8 * base - 0.2,
                                    "gap %d shorter than its back-off: %r" % (i, gaps))
            self.assertLess(gap, extra + 1.2 * base + 4.0,
                            "gap %d far longer than its back-off: %r" % (i, gaps))

    def test_delivery_is_signed_and_made_once(self):
        with Receiver() as hook:
            body, _ = self.submit(fields={"callback_url": hook.url()},
                                  headers={"X-Request-Id": "e2e-hook-1"})
            self.assertNotIn("callback", body)  # the 202 keeps its documented keys
            call = hook.wait_calls(1, 30)[0]
            self.assertEqual((call.method, call.path), ("POST", "/hook"))
            self.assertTrue(call.headers.get("Content-Type", "").startswith("application/json"))
            self.assertEqual(call.headers.get("X-Img-Event"), "job.complete")
            self.assertEqual(call.headers.get("X-Request-Id"), "e2e-hook-1")
            self.assert_signed(call)
            sent = call.json()
            self.assertEqual((sent["id"], sent["status"]), (body["id"], "complete"))
            self.assertEqual(sent["result"]["format"], "jpeg")
            self.assertEqual(sent["request_id"], "e2e-hook-1")
            st = self.wait_callback(body["id"], "delivered")
            self.assertEqual(st["callback"], {"url": hook.url(), "state": "delivered",
                                              "attempts": 1, "last_status": 200})
            # the status sent is the job's status
            self.assertEqual(sent["result"], st["result"])
            # no second delivery: not after a few retry periods (1 s, 2 s, ...),
            # nor after img-rest is killed and restarted
            time.sleep(4)
            self.assertEqual(hook.count(), 1, hook.calls)
            self.svc.kill_rest()
            self.svc.start_rest()
            time.sleep(3)
            self.assertEqual(hook.count(), 1, hook.calls)
            self.assertEqual(self.job_status(body["id"])["callback"]["state"], "delivered")

    def test_callback_url_as_query_parameter(self):
        with Receiver() as hook:
            body, _ = self.submit(query={"callback_url": hook.url(path="/q?a=1")})
            call = hook.wait_calls(1, 30)[0]
            self.assertEqual(call.path, "/q?a=1")
            self.assertEqual(call.json()["id"], body["id"])
            self.assert_signed(call)

    def test_failed_job_calls_back_job_failed(self):
        with Receiver() as hook:
            # a PNG cut in half: its header reads, its pixels do not
            png = read_file(PNG_PHOTO)
            body, _ = self.submit(data=png[:len(png) // 2], fields={"callback_url": hook.url()})
            call = hook.wait_calls(1, 60)[0]
            self.assertEqual(call.headers.get("X-Img-Event"), "job.failed")
            self.assert_signed(call)
            sent = call.json()
            self.assertEqual((sent["id"], sent["status"]), (body["id"], "failed"))
            self.assertEqual(sent["error"]["code"], "processing_failed")
            self.assertEqual(self.wait_callback(body["id"], "delivered")["status"], "failed")

    def test_retries_after_500_then_delivered(self):
        with Receiver([500, 500, 200]) as hook:
            body, _ = self.submit(fields={"callback_url": hook.url()})
            # while it is retried the status says so
            st = self.wait_attempts(body["id"], 1)
            if st["callback"]["state"] == "pending":  # (not if all three were seen meanwhile)
                self.assertEqual(st["callback"]["last_status"], 500, st)
            calls = hook.wait_calls(3, 30)
            for call in calls:
                self.assert_signed(call)
                self.assertEqual(call.json()["id"], body["id"])
            st = self.wait_callback(body["id"], "delivered")
            self.assertEqual(st["callback"]["attempts"], 3)
            self.assertEqual(st["callback"]["last_status"], 200)
            self.assert_backoff(self.gaps(calls))
            time.sleep(5)  # longer than the next retry would have waited (4 s + 20 %)
            self.assertEqual(hook.count(), 3, hook.calls)

    def test_gives_up_after_max_attempts_with_growing_gaps(self):
        # a few deliveries at once, each refused every time: each one's
        # back-off grows (1 s, 2 s, 4 s, each +-20 %)
        hooks = [Receiver([500]) for _ in range(4)]
        try:
            jobs = [self.submit(fields={"callback_url": h.url()})[0] for h in hooks]
            for hook, job in zip(hooks, jobs):
                calls = hook.wait_calls(4, 60)
                self.assertEqual({c.json()["id"] for c in calls}, {job["id"]})
                self.assert_backoff(self.gaps(calls))
            for job in jobs:
                st = self.wait_callback(job["id"], "failed")
                self.assertEqual((st["callback"]["attempts"], st["callback"]["last_status"]),
                                 (4, 500))
            time.sleep(10)  # longer than a fifth try would have waited (8 s + 20 %)
            self.assertEqual([h.count() for h in hooks], [4] * len(hooks))
            for job in jobs:
                self.assertEqual(self.job_status(job["id"])["callback"]["state"], "failed")
        finally:
            for h in hooks:
                h.close()

    def test_retries_after_time_outs(self):
        # the first two calls are answered after 12 s, after the caller's 10 s
        with Receiver([("sleep", 12), ("sleep", 12), 200]) as hook:
            body, _ = self.submit(fields={"callback_url": hook.url()})
            hook.wait_calls(1, 30)
            st = self.wait_attempts(body["id"], 1, timeout=30)
            self.assertEqual(st["callback"]["state"], "pending")
            self.assertNotIn(st["callback"]["last_status"], range(200, 300), st)
            calls = hook.wait_calls(3, 60)
            st = self.wait_callback(body["id"], "delivered")
            self.assertEqual((st["callback"]["attempts"], st["callback"]["last_status"]), (3, 200))
            # each gap is the 10 s time-out plus the back-off (1 s, then 2 s, +-20 %)
            self.assert_backoff(self.gaps(calls), extra=10.0)

    def test_delivery_survives_sigkill_of_img_rest(self):
        with Receiver([500, 500, 500, 200]) as hook:
            body, _ = self.submit(fields={"callback_url": hook.url()})
            hook.wait_calls(3, 30)
            # the third failure recorded: the fourth call is due 4 s (+-20 %) later
            self.assertEqual(self.wait_attempts(body["id"], 3)["callback"]["attempts"], 3)
            self.svc.kill_rest()
            self.assertEqual(hook.count(), 3, "called again before the kill: the test proves nothing")
            time.sleep(1)
            self.svc.start_rest()
            calls = hook.wait_calls(4, 60)
            self.assert_signed(calls[3])
            self.assertEqual(calls[3].json()["id"], body["id"])
            st = self.wait_callback(body["id"], "delivered")
            self.assertEqual((st["callback"]["attempts"], st["callback"]["last_status"]), (4, 200))
            # delivered is durable: another SIGKILL and restart call nothing again
            self.svc.kill_rest()
            self.svc.start_rest()
            time.sleep(3)
            self.assertEqual(hook.count(), 4, hook.calls)

    def test_refused_targets(self):
        before = self.job_ids()
        folders = self.job_folders()
        port = free_port()
        for url in ("http://10.0.0.1/hook", "http://192.168.1.1/", "http://172.16.0.1/",
                    "http://169.254.169.254/latest/meta-data/", "http://[::1]:%d/" % port,
                    "http://127.0.0.2:%d/" % port, "http://0.0.0.0:%d/" % port,
                    "http://[::ffff:10.0.0.1]/", "http://224.0.0.1/",
                    "ftp://127.0.0.1/", "http://user:pw@127.0.0.1:%d/" % port, "not a url",
                    "http://no-such-host.invalid/",
                    # the message quotes a bounded part of the host: cut
                    # inside a character, it must still be a JSON error
                    "http://a" + "\u00e9" * 120 + "/"):
            for where in ("fields", "query"):
                code, _, body = self.svc.post_job(
                    "resize", files={"file": ("p.jpg", small_jpeg())},
                    **{where: {"width": 50, "callback_url": url}})
                self.assertError((code, _, body), 400, "invalid_parameter", url)
                self.assertIn("callback_url", body["error"]["message"], url)
        self.assertEqual(self.job_ids(), before)  # nothing was created
        self.assertEqual(self.job_folders(), folders)

    def test_name_of_an_allowed_address(self):
        # localhost resolves to 127.0.0.1 (allowed here); every address a
        # name has must be allowed
        addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)}
        with Receiver() as hook:
            url = hook.url(host="localhost")
            if addrs != {"127.0.0.1"}:
                code, _, body = self.svc.post_job("resize", files={"file": ("p.jpg", small_jpeg())},
                                                  fields={"width": 50, "callback_url": url})
                self.assertError((code, _, body), 400, "invalid_parameter")
                return
            body, _ = self.submit(fields={"callback_url": url})
            call = hook.wait_calls(1, 30)[0]
            self.assertEqual(call.headers.get("Host"), "localhost:%d" % hook.port)
            self.assertEqual(call.json()["id"], body["id"])

    def test_reused_result_calls_back_at_once(self):
        width = self.unique_width()
        first, _ = self.submit(fields={"width": width})
        self.assertEqual(self.svc.wait_status("resize", first["id"])["status"], "complete")
        with Receiver() as hook:
            body, _ = self.submit(fields={"width": width, "callback_url": hook.url()})
            self.assertEqual(body["status"], "complete")
            sent = hook.wait_calls(1, 30)[0].json()
            self.assertEqual((sent["id"], sent["status"]), (body["id"], "complete"))
            self.assertIs(sent["result"]["cached"], True)


class WebhookDefaults(JobsTestCase):
    """No webhook_allow, no webhook_secret."""
    CONFIG = dict(FAST)

    def test_loopback_refused_without_allow(self):
        with Receiver() as hook:
            for host in ("127.0.0.1", "localhost", "127.1", "2130706433"):
                code, _, body = self.svc.post_job(
                    "resize", files={"file": ("p.jpg", small_jpeg())},
                    fields={"width": 50, "callback_url": hook.url(host=host)})
                self.assertError((code, _, body), 400, "invalid_parameter", host)
                self.assertIn("callback_url", body["error"]["message"])
            self.assertEqual(self.job_ids(), [])
        self.assertEqual(hook.count(), 0)

    def test_address_checked_again_at_connect_time(self):
        # accepted at submit while 127.0.0.1 was allowed; by the time the
        # job ends img-rest runs without webhook_allow: the address it would
        # connect to is refused then, and nothing reaches the receiver
        svc = self.service(engines=0, config=dict(FAST, webhook_allow="127.0.0.1",
                                                  webhook_max_attempts=2))
        with Receiver() as hook:
            body, _ = self.submit(svc, fields={"callback_url": hook.url()})
            svc.kill_rest(signal.SIGTERM)
            svc.change_config(webhook_allow="")
            svc.start_rest()
            svc.start_engine()
            self.assertEqual(svc.wait_status("resize", body["id"])["status"], "complete")
            st = self.wait_callback(body["id"], "failed", svc=svc)
            self.assertEqual(st["callback"]["attempts"], 2)
            self.assertNotIn(st["callback"]["last_status"], range(200, 300))
            self.assertEqual(hook.count(), 0, hook.calls)

    def test_random_secret_kept_in_data_dir(self):
        # a service of its own that may call 127.0.0.1, without a secret set
        svc = self.service(config=dict(FAST, webhook_allow="127.0.0.0/8"))
        path = os.path.join(svc.data_dir, "webhook_secret")
        secret = read_file(path).decode().strip()
        self.assertRegex(secret, "^[0-9a-f]{64}$")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with Receiver() as hook:
            body, _ = self.submit(svc, fields={"callback_url": hook.url()})
            call = hook.wait_calls(1, 30)[0]
            t, v1 = parse_signature(call.headers.get("X-Img-Signature"))
            self.assertEqual(v1, expected_signature(secret, t, call.body))
            # the same secret after a restart
            svc.kill_rest()
            svc.start_rest()
            self.assertEqual(read_file(path).decode().strip(), secret)
            body, _ = self.submit(svc, fields={"callback_url": hook.url()})
            call = hook.wait_calls(2, 30)[1]
            self.assertEqual(call.json()["id"], body["id"])
            t, v1 = parse_signature(call.headers.get("X-Img-Signature"))
            self.assertEqual(v1, expected_signature(secret, t, call.body))


# -- progress and events ----------------------------------------------------------

class Events(JobsTestCase):
    CONFIG = dict(FAST, engine_threads=1, job_timeout_s=600)

    _levels = 2

    def long_job(self):
        """A dither of an 8400x5250 photo (seconds), with levels no other job had."""
        Events._levels += 1
        body, _ = self.submit(op="dither", data=big_jpeg(), fields={"levels": Events._levels})
        return body

    def test_progress_rises_in_status(self):
        body = self.long_job()
        seen = []  # progress values while processing, in order
        while True:
            st = self.job_status(body["id"])
            if st["status"] == "processing" and "progress" in st:
                seen.append(st["progress"])
            if st["status"] == "queued":
                self.assertNotIn("progress", st)
            if st["status"] not in ("queued", "processing"):
                break
            time.sleep(0.05)
        self.assertEqual(st["status"], "complete", st)
        self.assertNotIn("progress", st)
        for p in seen:
            self.assertIsInstance(p, int)
            self.assertTrue(0 <= p < 100, seen)
        self.assertEqual(seen, sorted(seen), "progress went down")
        self.assertGreaterEqual(len(set(seen)), 2, "fewer than two progress values: %r" % seen)

    def test_job_stream_from_queued_to_complete(self):
        body = self.long_job()
        with EventStream(self.svc.http_port, "/jobs/%s/events" % body["id"]) as stream:
            self.assertEqual(stream.status, 200)
            self.assertTrue(stream.headers.get("Content-Type").startswith("text/event-stream"))
            self.assertTrue(stream.wait_ended(300), "the stream did not end after the job")
            self.assertIsNone(stream.error)
            events = [e for e in stream.events if e.kind != "comment"]
        statuses = [e.json() for e in events if e.kind == "status"]
        self.assertEqual({s["id"] for s in statuses}, {body["id"]})
        self.assertIn(statuses[0]["status"], ("queued", "processing"))
        self.assertEqual(statuses[-1]["status"], "complete")
        self.assertIsInstance(statuses[-1]["result"], dict)
        self.assertIn("processing", [s["status"] for s in statuses])
        # nothing after the terminal status; every status is a full status
        self.assertEqual(events[-1].kind, "status")
        self.assertEqual(events[-1].json()["status"], "complete")
        for s in statuses:
            self.assertEqual(s["operation"], "dither")
        progress = [e.json() for e in events if e.kind == "progress"]
        for p in progress:
            self.assertEqual(p["id"], body["id"])
            self.assertTrue(0 <= p["progress"] < 100, progress)
        values = [p["progress"] for p in progress]
        self.assertEqual(values, sorted(values), "progress went down")
        self.assertGreaterEqual(len(set(values)), 2, "fewer than two progress values: %r" % values)
        # progress comes while processing: after a processing status, before complete
        kinds = [(e.kind, e.json().get("status")) for e in events]
        first_processing = kinds.index(("status", "processing"))
        first_progress = kinds.index(("progress", None))
        self.assertLess(first_processing, first_progress)
        # the event ids rise
        ids = [int(e.id) for e in events]
        self.assertEqual(ids, sorted(ids))

    def test_stream_of_a_finished_job_ends_at_once(self):
        body, _ = self.submit()
        self.assertEqual(self.svc.wait_status("resize", body["id"])["status"], "complete")
        with EventStream(self.svc.http_port, "/jobs/%s/events" % body["id"]) as stream:
            self.assertEqual(stream.status, 200)
            self.assertTrue(stream.wait_ended(10))
            statuses = status_events(stream)
        self.assertEqual([s["status"] for s in statuses], ["complete"])
        self.assertEqual(statuses[0]["id"], body["id"])

    def test_stream_ends_when_the_job_is_deleted(self):
        body = self.long_job()
        with EventStream(self.svc.http_port, "/jobs/%s/events" % body["id"]) as stream:
            stream.wait_for(lambda e: e.kind == "status")
            self.assertEqual(self.svc.delete("/jobs/" + body["id"])[0], 204)
            self.assertTrue(stream.wait_ended(30), "the stream of a deleted job stays open")
            self.assertNotIn("complete", [s["status"] for s in status_events(stream)])

    def test_quiet_stream_has_heartbeats(self):
        with EventStream(self.svc.http_port, "/jobs/events") as stream:
            self.assertEqual(stream.status, 200)
            stream.wait_for(lambda e: e.kind == "comment" and e.data == "heartbeat", timeout=40)
            self.assertFalse(stream.ended.is_set())
            # nothing but comments on a quiet stream
            self.assertEqual([e for e in stream.events if e.kind != "comment"], [])

    def test_streams_end_when_img_rest_stops(self):
        svc = self.service(engines=0, config=FAST)  # no engine: its job stays queued
        body, _ = self.submit(svc)
        with EventStream(svc.http_port, "/jobs/events") as every, \
                EventStream(svc.http_port, "/jobs/%s/events" % body["id"]) as one:
            every.wait_for(lambda e: e.kind == "comment")
            self.assertEqual(one.wait_for(lambda e: e.kind == "status").json()["status"], "queued")
            svc.kill_rest(signal.SIGTERM, wait=False)
            self.assertTrue(every.wait_ended(30), "the every-job stream outlived img-rest")
            self.assertTrue(one.wait_ended(30), "the job's stream outlived img-rest")
            self.assertEqual(svc.rest.wait(30), 0)

    def test_stream_of_unknown_job(self):
        for path in ("/jobs/%s/events" % uuid4(), "/jobs/not-a-job/events"):
            stream = EventStream(self.svc.http_port, path)
            self.assertError((stream.status, stream.headers, stream.body), 404, "not_found", path)


    def test_all_jobs_stream_sees_other_jobs(self):
        with EventStream(self.svc.http_port, "/jobs/events") as stream:
            self.assertEqual(stream.status, 200, stream.body)
            self.assertTrue(stream.headers.get("Content-Type").startswith("text/event-stream"))
            stream.wait_for(lambda e: e.kind == "comment")  # open and counted
            a, _ = self.submit()
            b, _ = self.submit(data=other_small_jpeg())
            for job in (a, b):
                stream.wait_for(lambda e: e.kind == "status" and e.json()["id"] == job["id"]
                                and e.json()["status"] == "complete")
                seen = [s["status"] for s in status_events(stream, job["id"])]
                # each notice sends the job's status as it is when sent: a
                # queued job may already be processing then
                self.assertIn(seen[0], ("queued", "processing"), seen)
                self.assertEqual(seen.index("complete"), len(seen) - 1, seen)
            self.assertFalse(stream.ended.is_set())  # every-job streams stay open


class EventStreams(JobsTestCase):
    """200 streams open at once on few HTTP threads."""
    STREAMS = 200
    CONFIG = dict(FAST, max_event_streams=STREAMS, http_threads=4)

    def open_all_jobs_stream(self):
        stream = EventStream(self.svc.http_port, "/jobs/events", timeout=120)
        self.assertEqual(stream.status, 200, stream.body)
        return stream

    def test_many_streams_do_not_stop_other_requests(self):
        streams = []
        try:
            for _ in range(self.STREAMS):
                streams.append(self.open_all_jobs_stream())
            for s in streams:
                s.wait_for(lambda e: e.kind == "comment", timeout=60)
            # while they are open: health, submit, status, list, result
            self.assertEqual(self.svc.get("/health")[0], 200)
            body, _ = self.submit()
            st = self.svc.wait_status("resize", body["id"])
            self.assertEqual(st["status"], "complete")
            self.assertIn(body["id"], self.job_ids())
            code, _, data = self.svc.get("/resize/" + body["id"])
            self.assertEqual((code, sniff(data)), (200, "jpeg"))
            # every stream heard of it
            for s in streams:
                s.wait_for(lambda e: e.kind == "status" and e.json()["id"] == body["id"]
                           and e.json()["status"] == "complete", timeout=60)
            # one more is refused
            extra = EventStream(self.svc.http_port, "/jobs/events")
            self.assertError((extra.status, extra.headers, extra.body), 503, "too_many_streams")
            self.assertGreater(int(extra.headers.get("Retry-After")), 0)
            extra = EventStream(self.svc.http_port, "/jobs/%s/events" % body["id"])
            self.assertEqual(extra.status, 503)
            # a stream whose client went frees its place (noticed at the next event)
            streams.pop().close()

            def reopened():
                self.submit()
                s = EventStream(self.svc.http_port, "/jobs/events")
                if s.status == 200:
                    streams.append(s)
                    return True
                self.assertEqual(s.status, 503)
                time.sleep(0.2)
                return False
            self.wait_until("a place freed", reopened, timeout=30)
            self.assertEqual(self.svc.get("/health")[0], 200)
        finally:
            for s in streams:
                s.close()


KEY_A = "key-a-0123456789abcdef"
KEY_B = "key-b-0123456789abcdef"


def auth(key):
    return {"Authorization": "Bearer " + key}


class WithApiKeys(JobsTestCase):
    CONFIG = dict(FAST, api_keys=KEY_A + "," + KEY_B)

    def test_all_jobs_stream_shows_only_the_keys_jobs(self):
        self.assertEqual(EventStream(self.svc.http_port, "/jobs/events").status, 401)
        with EventStream(self.svc.http_port, "/jobs/events", headers=auth(KEY_A)) as sa, \
                EventStream(self.svc.http_port, "/jobs/events",
                            headers={"X-API-Key": KEY_B}) as sb:
            for s in (sa, sb):
                self.assertEqual(s.status, 200)
                s.wait_for(lambda e: e.kind == "comment")
            b, _ = self.submit(headers=auth(KEY_B))
            sb.wait_for(lambda e: e.kind == "status" and e.json()["id"] == b["id"]
                        and e.json()["status"] == "complete")
            a, _ = self.submit(headers=auth(KEY_A))
            sa.wait_for(lambda e: e.kind == "status" and e.json()["id"] == a["id"]
                        and e.json()["status"] == "complete")
            sb.wait_for(lambda e: e.kind == "status" and e.json()["id"] == b["id"]
                        and e.json()["status"] == "complete")
            # events are in order: had A's stream been sent B's job, it would
            # have been before A's job ended
            self.assertEqual([e for e in sa.events if b["id"] in e.data], [])
            self.assertEqual([e for e in sb.events if a["id"] in e.data], [])

    def test_idempotency_keys_are_per_client(self):
        key = "per-client-" + uuid4()
        width = self.unique_width()
        a, ha = self.submit(fields={"width": width}, headers=dict(auth(KEY_A), **{"Idempotency-Key": key}))
        b, hb = self.submit(fields={"width": width}, headers=dict(auth(KEY_B), **{"Idempotency-Key": key}))
        self.assertNotEqual(a["id"], b["id"])
        self.assertIsNone(ha.get("Idempotent-Replayed"))
        self.assertIsNone(hb.get("Idempotent-Replayed"))
        # and each client's repeat answers its own job
        a2, h = self.submit(fields={"width": width}, headers=dict(auth(KEY_A), **{"Idempotency-Key": key}))
        self.assertEqual((a2["id"], h.get("Idempotent-Replayed")), (a["id"], "true"))
        b2, h = self.submit(fields={"width": width}, headers=dict(auth(KEY_B), **{"Idempotency-Key": key}))
        self.assertEqual((b2["id"], h.get("Idempotent-Replayed")), (b["id"], "true"))


# -- Idempotency-Key ---------------------------------------------------------------

class Idempotency(JobsTestCase):
    CONFIG = dict(FAST)

    def test_concurrent_posts_make_one_job(self):
        key = "concurrent-" + uuid4()
        data = read_file(PNG_PHOTO)  # a few MB: the two uploads overlap
        before = set(self.job_ids())
        folders = len(self.job_folders())
        barrier = threading.Barrier(2)
        answers = [None, None]

        def post(i):
            barrier.wait()
            answers[i] = self.svc.post_job("resize", files={"file": ("p.png", data)},
                                           fields={"width": 77}, headers={"Idempotency-Key": key})
        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual([a[0] for a in answers], [202, 202], answers)
        ids = {a[2]["id"] for a in answers}
        self.assertEqual(len(ids), 1, answers)
        replayed = [a[1].get("Idempotent-Replayed") for a in answers]
        self.assertEqual(sorted(map(str, replayed)), ["None", "true"], replayed)
        self.assertEqual(set(self.job_ids()) - before, ids)
        self.assertEqual(len(self.job_folders()), folders + 1)
        # a later repeat answers the same job, with its current status
        job_id = ids.pop()
        self.assertEqual(self.svc.wait_status("resize", job_id)["status"], "complete")
        code, hdrs, body = self.svc.post_job("resize", files={"file": ("p.png", data)},
                                             fields={"width": 77}, headers={"Idempotency-Key": key})
        self.assertEqual((code, body["id"], hdrs.get("Idempotent-Replayed")), (202, job_id, "true"))
        self.assertEqual(body["status"], "complete")
        self.assertEqual(hdrs.get("Location"), "/resize/status/" + job_id)
        self.assertEqual(len(self.job_folders()), folders + 1)

    def test_same_key_other_request_is_refused(self):
        key = "mismatch-" + uuid4()
        width = self.unique_width()
        first, h = self.submit(fields={"width": width}, headers={"Idempotency-Key": key})
        self.assertIsNone(h.get("Idempotent-Replayed"))
        before = self.job_ids()
        folders = self.job_folders()
        for what, data, fields in (("other parameters", small_jpeg(), {"width": width + 1}),
                                   ("other file bytes", other_small_jpeg(), {"width": width}),
                                   ("another option", small_jpeg(),
                                    {"width": width, "format": "png"})):
            code, hdrs, body = self.svc.post_job("resize", files={"file": ("p.jpg", data)},
                                                 fields=fields, headers={"Idempotency-Key": key})
            self.assertError((code, hdrs, body), 422, "idempotency_mismatch", what)
        self.assertEqual(self.job_ids(), before)
        self.assertEqual(self.job_folders(), folders)
        # the first request itself still replays
        again, h = self.submit(fields={"width": width}, headers={"Idempotency-Key": key})
        self.assertEqual((again["id"], h.get("Idempotent-Replayed")), (first["id"], "true"))

    def test_key_of_another_operation(self):
        key = "op-" + uuid4()
        self.submit(fields={"width": 60}, headers={"Idempotency-Key": key})
        code, hdrs, body = self.svc.post_job("grayscale", files={"file": ("p.jpg", small_jpeg())},
                                             headers={"Idempotency-Key": key})
        self.assertError((code, hdrs, body), 422, "idempotency_mismatch")

    def test_bad_keys(self):
        before = self.job_ids()
        for key in ("a" * 256, "with space", "caf\xe9", "\x7f", "", "tab\there"):
            code, hdrs, body = self.svc.post_job("resize", files={"file": ("p.jpg", small_jpeg())},
                                                 fields={"width": 50}, headers={"Idempotency-Key": key})
            self.assertError((code, hdrs, body), 400, "bad_request", repr(key))
            if key.isprintable():  # civetweb itself refuses control characters in a header
                self.assertIn("Idempotency-Key", body["error"]["message"], repr(key))
        self.assertEqual(self.job_ids(), before)
        # 255 visible characters are fine
        body, h = self.submit(headers={"Idempotency-Key": "~" * 250 + uuid4()[:5]})
        self.assertIsNone(h.get("Idempotent-Replayed"))


# -- result reuse -----------------------------------------------------------------

class ResultReuse(JobsTestCase):
    CONFIG = dict(FAST)

    def test_equal_job_reuses_the_result(self):
        width = self.unique_width()
        first, _ = self.submit(fields={"width": width, "format": "webp"})
        self.assertEqual(first["status"], "queued")
        st = self.svc.wait_status("resize", first["id"])
        self.assertEqual(st["status"], "complete")
        self.assertNotIn("cached", st["result"])
        code, _, original = self.svc.get("/resize/" + first["id"])
        self.assertEqual((code, sniff(original)), (200, "webp"))

        second, _ = self.submit(fields={"width": width, "format": "webp"})
        self.assertNotEqual(second["id"], first["id"])
        self.assertEqual(second["status"], "complete")  # at once, in the 202
        st2 = self.job_status(second["id"])
        self.assertEqual(st2["status"], "complete")
        self.assertIs(st2["result"]["cached"], True)
        self.assertEqual({k: v for k, v in st2["result"].items() if k != "cached"}, st["result"])
        code, hdrs, data = self.svc.get("/resize/" + second["id"])
        self.assertEqual(code, 200)
        self.assertEqual(data, original)
        self.assertEqual(hdrs.get("Content-Type"), "image/webp")

        third, _ = self.submit(fields={"width": width, "format": "webp"})
        self.assertEqual(third["status"], "complete")
        # deleting either leaves the others whole
        self.assertEqual(self.svc.delete("/jobs/" + first["id"])[0], 204)
        self.assertEqual(self.svc.get("/resize/" + first["id"])[0], 404)
        code, _, data = self.svc.get("/resize/" + second["id"])
        self.assertEqual((code, data), (200, original))
        self.assertEqual(self.svc.delete("/jobs/" + second["id"])[0], 204)
        code, _, data = self.svc.get("/resize/" + third["id"])
        self.assertEqual((code, data), (200, original))
        self.assertIs(self.job_status(third["id"])["result"]["cached"], True)
        # with every equal job deleted the next one runs again
        self.assertEqual(self.svc.delete("/jobs/" + third["id"])[0], 204)
        fourth, _ = self.submit(fields={"width": width, "format": "webp"})
        self.assertEqual(fourth["status"], "queued")
        st4 = self.svc.wait_status("resize", fourth["id"])
        self.assertNotIn("cached", st4["result"])

    def test_other_parameters_bytes_or_operation_run(self):
        width = self.unique_width()
        first, _ = self.submit(fields={"width": width})
        self.assertEqual(self.svc.wait_status("resize", first["id"])["status"], "complete")
        for what, op, data, fields in (
                ("other width", "resize", small_jpeg(), {"width": width + 1000}),
                ("other format", "resize", small_jpeg(), {"width": width, "format": "png"}),
                ("other bytes", "resize", other_small_jpeg(), {"width": width}),
                ("other operation", "grayscale", small_jpeg(), {})):
            body, _ = self.submit(op=op, data=data, fields=fields)
            self.assertEqual(body["status"], "queued", what)
            st = self.svc.wait_status(op, body["id"])
            self.assertEqual(st["status"], "complete", what)
            self.assertNotIn("cached", st["result"], what)

    def test_info_result_reused(self):
        first, _ = self.submit(op="info", data=other_small_jpeg())
        st = self.svc.wait_status("info", first["id"])
        second, _ = self.submit(op="info", data=other_small_jpeg())
        self.assertEqual(second["status"], "complete")
        st2 = self.job_status(second["id"])
        self.assertIs(st2["result"]["cached"], True)
        self.assertEqual({k: v for k, v in st2["result"].items() if k != "cached"}, st["result"])


if __name__ == "__main__":
    unittest.main()
