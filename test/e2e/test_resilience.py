"""Past one machine, with real processes: the supervisors heal a crash of
either program on one host (and scripts/run.sh, what `make run` starts,
leaves that to them); a full data volume answers 507 and recovers by
itself; replicas of img-rest over one PostgreSQL serve the same jobs and
take over each other's engines.

Needs root for the full-volume test (a tmpfs is mounted) and the CTest
fixture pg_cluster for the replicas (IMG_TEST_PG_URL_FILE, or
IMG_TEST_PG_URL): each is skipped without."""

import errno
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

from harness import (BASE_URL, ENGINE_BIN, JPEG_PHOTO, REST_BIN, SANITIZER_MARKERS,
                     SOURCE_DIR, ServiceTestCase, _child_env, child_pids, free_port, image_size,
                     read_file, scratch_path, session_pids, sniff)

# Quick failure detection, so that a lost engine or broker is noticed in
# about a second; waits below are generous (a loaded machine), never asserted.
FAST = {"heartbeat_ms": 200, "lease_ms": 2000, "max_queued": 10000, "max_attempts": 3,
        "engine_threads": 2, "log_level": "info", "max_wait_s": 60}
LONG = 240  # seconds a job may take to complete on a loaded machine
TEST_OPS = {"IMG_TEST_OPS": "1"}  # the test-only operation test_fault


def _cached(name, make):
    path = scratch_path(name)
    if not os.path.exists(path):
        make(path + ".tmp" + os.path.splitext(path)[1])
        os.rename(path + ".tmp" + os.path.splitext(path)[1], path)
    return read_file(path)


def small_jpeg():
    """A 320x200 JPEG made from a real photo (quick jobs)."""
    return _cached("small.jpg", lambda p: subprocess.run(
        ["vipsthumbnail", JPEG_PHOTO, "--size", "320x", "-o", p], check=True, capture_output=True))


def photo_png():
    """The 1680x1050 photo as PNG: about 3 MB, and as much again when a job
    writes it back (more than the room the full-volume test leaves)."""
    return _cached("photo.png", lambda p: subprocess.run(
        ["vips", "copy", JPEG_PHOTO, p], check=True, capture_output=True))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:  # a zombie is not alive
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids, timeout=30):
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


class Jobs:
    """Jobs submitted to one service and read back from any: resizes of a
    small JPEG to 64 pixels wide, or with sleep_ms, the test-only operation
    that sleeps that long, then writes its input back as PNG (the services
    need IMG_TEST_OPS=1): a burst of those is surely still running when a
    test kills something."""

    def __init__(self, test, svc, n, sleep_ms=None):
        self.test = test
        if sleep_ms is None:
            self.op, fields, self.format, self.width = "resize", {"width": 64}, "jpeg", 64
        else:
            self.op, fields, self.format = "test_fault", {"mode": "sleep", "ms": sleep_ms}, "png"
            self.width = image_size(small_jpeg())[0]
        self.ids = []
        for _ in range(n):
            st, _, body = svc.post_job(self.op, files={"file": ("p.jpg", small_jpeg())}, fields=fields)
            test.assertEqual(st, 202, body)
            self.ids.append(body["id"])

    def count_complete(self, svc):
        done, cursor = 0, ""
        mine = set(self.ids)
        while True:
            st, _, page = svc.get_json("/jobs?limit=100&status=complete" + cursor)
            self.test.assertEqual(st, 200, page)
            done += sum(j["id"] in mine for j in page["jobs"])
            if not page["next_cursor"]:
                return done
            cursor = "&cursor=" + page["next_cursor"]

    def wait_some_complete(self, svc, k, timeout=LONG):
        deadline = time.monotonic() + timeout
        while self.count_complete(svc) < k:
            self.test.assertLess(time.monotonic(), deadline, "fewer than %d jobs completed" % k)
            time.sleep(0.1)

    def assert_all_complete(self, svc, timeout=LONG):
        """Every job complete as read on svc, with its result."""
        for job_id in self.ids:
            st = svc.wait_status(self.op, job_id, timeout)
            self.test.assertEqual(st["status"], "complete", st)
            self.test.assertEqual(st["result"]["width"], self.width, st)
            code, _, data = svc.get("/%s/%s" % (self.op, job_id))
            self.test.assertEqual(code, 200, job_id)
            self.test.assertEqual(sniff(data), self.format)
            self.test.assertEqual(len(data), st["result"]["bytes"])
        for job_id in self.ids[:: max(1, len(self.ids) // 5)]:  # vipsheader is slow
            self.test.assertEqual(image_size(svc.get("/%s/%s" % (self.op, job_id))[2])[0], self.width)


class OwnServices(ServiceTestCase):
    """Each test starts the processes it needs (self.service)."""

    @classmethod
    def setUpClass(cls):
        if BASE_URL:
            raise unittest.SkipTest("starts and kills its own processes (IMG_E2E_BASE_URL is set)")
        cls.svc = None

    def setUp(self):
        pass

    def assertLogSays(self, proc, text, timeout=30):
        deadline = time.monotonic() + timeout
        while text.encode() not in read_file(proc.log_path):
            self.assertLess(time.monotonic(), deadline, "%s never logged %r" % (proc.log_path, text))
            time.sleep(0.1)


# ---- 1. self-healing on one host ----------------------------------------------


class SelfHealing(OwnServices):
    """A crash of the work process of either program: its supervisor starts
    a new one; the other program is not disturbed."""

    def test_rest_child_killed_is_restarted_engine_goes_on(self):
        svc = self.service(engines=1, config=FAST, env=TEST_OPS)
        rest_child = svc.child_pid(svc.rest)
        engine_child = svc.child_pid(svc.engines[0])
        before = Jobs(self, svc, 30, sleep_ms=300)
        before.wait_some_complete(svc, 3)
        self.assertLess(before.count_complete(svc), 30, "the burst ended before the kill")
        os.kill(rest_child, signal.SIGKILL)
        new_child = svc.child_pid(svc.rest, other_than=rest_child)
        self.assertNotEqual(new_child, rest_child)
        svc.wait_health(60)
        self.assertLogSays(svc.rest, "supervisor: img-rest died of signal 9; restarting it")
        self.assertIsNone(svc.rest.poll(), "img-rest's main process exited")
        svc.wait_ready(60)  # the engine found the new img-rest by itself
        after = Jobs(self, svc, 10)
        before.assert_all_complete(svc)
        after.assert_all_complete(svc)
        # the engine was never restarted: same main process, same work process
        self.assertIsNone(svc.engines[0].poll())
        self.assertEqual(svc.child_pid(svc.engines[0]), engine_child)
        self.assertNotIn(b"restarting", read_file(svc.engines[0].log_path))
        self.assertEqual(svc.child_pid(svc.rest), new_child)

    def test_engine_child_killed_is_restarted_rest_goes_on(self):
        svc = self.service(engines=1, config=FAST, env=TEST_OPS)
        rest_child = svc.child_pid(svc.rest)
        engine_child = svc.child_pid(svc.engines[0])
        burst = Jobs(self, svc, 30, sleep_ms=300)
        burst.wait_some_complete(svc, 3)
        self.assertLess(burst.count_complete(svc), 30, "the burst ended before the kill")
        os.kill(engine_child, signal.SIGKILL)
        # img-rest goes on serving while the engine is away
        self.assertEqual(svc.get("/health")[0], 200)
        during = Jobs(self, svc, 5)
        new_child = svc.child_pid(svc.engines[0], other_than=engine_child)
        self.assertNotEqual(new_child, engine_child)
        self.assertLogSays(svc.engines[0], "supervisor: engine died of signal 9; restarting it")
        burst.assert_all_complete(svc)
        during.assert_all_complete(svc)
        Jobs(self, svc, 5).assert_all_complete(svc)
        self.assertIsNone(svc.engines[0].poll(), "img-engine's main process exited")
        self.assertEqual(svc.child_pid(svc.engines[0]), new_child)
        # img-rest was never restarted
        self.assertEqual(svc.child_pid(svc.rest), rest_child)
        self.assertNotIn(b"restarting", read_file(svc.rest.log_path))

    def test_configuration_errors_are_not_retried(self):
        # errors found by the work process once started, not by the command
        # line: the supervisor exits with code 2 instead of restarting it
        cases = (("img-engine", ENGINE_BIN, "broker_connect", "tcp://127.0.0.1:%d,," % free_port()),
                 ("img-rest", REST_BIN, "cors_origins", "not-an-origin"))
        for name, binary, key, value in cases:
            svc = self.service(engines=0, start=False, config=dict(FAST, **{key: value}))
            proc = svc.rest = svc._spawn(binary, name)  # the Service's: stopped whatever happens
            self.assertEqual(proc.wait(timeout=60), 2, read_file(proc.log_path).decode())
            log = read_file(proc.log_path)
            self.assertIn(key.encode(), log)
            self.assertNotIn(b"restarting", log)
            self.assertEqual(wait_gone(session_pids(proc.pid)), [])

    def test_sigterm_stops_each_supervisor_and_its_child(self):
        svc = self.service(engines=1, config=FAST)
        Jobs(self, svc, 2).assert_all_complete(svc)
        for proc in (svc.engines[0], svc.rest):
            child = svc.child_pid(proc)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=60), 0, proc.log_path)
            self.assertEqual(wait_gone([child]), [], "%s: its child is left" % proc.log_path)
            # started in a session of its own: nothing of it may be left
            self.assertEqual(wait_gone(session_pids(proc.pid)), [], proc.log_path)
            self.assertNotIn(b"restarting", read_file(proc.log_path))


# ---- scripts/run.sh (make run) --------------------------------------------------


class RunScript(OwnServices):
    """scripts/run.sh BUILD_DIR CONFIG against a temporary configuration:
    a crash of either program is healed by its own supervisor with nothing
    done by the script; a stop (Ctrl-C, SIGTERM) or a program that cannot
    start stops both and ends the script."""

    SCRIPT = os.path.join(SOURCE_DIR, "scripts", "run.sh")

    def setUp(self):
        self.build = os.path.dirname(os.path.dirname(os.path.abspath(REST_BIN)))
        for rel, binary in (("img-rest/img-rest", REST_BIN), ("img-engine/img-engine", ENGINE_BIN)):
            path = os.path.join(self.build, rel)
            if not os.path.exists(path) or not os.path.samefile(path, binary):
                self.skipTest("the programs are not in one build folder's layout (%s)" % path)

    def start_script(self, config=None, rest_delay=0):
        """The script on a Service's configuration (its processes are the
        script's, not the Service's); returns (svc, Popen). rest_delay > 0:
        the script runs on a build folder of the Service's own whose img-rest
        waits that many seconds before it becomes the real one (a slow start:
        a SIGTERM kills it while it waits)."""
        svc = self.service(engines=0, start=False, config=dict(FAST, **(config or {})))
        build = self.slow_rest_build(svc, rest_delay) if rest_delay else self.build
        log_path = os.path.join(svc.dir, "run.sh.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([self.SCRIPT, build, svc.config_path], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, env=_child_env(),
                                    start_new_session=True)
        proc.log_path = log_path

        def stop():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            for pid in session_pids(proc.pid):
                os.kill(pid, signal.SIGKILL)
        self.addCleanup(stop)
        self.addCleanup(lambda: self._print_log_if_failed(proc))
        return svc, proc

    @staticmethod
    def slow_rest_build(svc, delay):
        build = os.path.join(svc.dir, "slow-build")
        for name in ("img-rest", "img-engine"):
            os.makedirs(os.path.join(build, name))
        os.symlink(ENGINE_BIN, os.path.join(build, "img-engine", "img-engine"))
        wrapper = os.path.join(build, "img-rest", "img-rest")
        with open(wrapper, "w") as f:
            f.write("#!%s\nimport os, sys, time\ntime.sleep(%d)\nos.execv(%r, [%r] + sys.argv[1:])\n"
                    % (sys.executable, delay, REST_BIN, REST_BIN))
        os.chmod(wrapper, 0o755)
        return build

    def _print_log_if_failed(self, proc):
        outcome = getattr(self, "_outcome", None)
        if outcome is not None and not getattr(outcome, "success", True):
            sys.stderr.write("\n----- %s -----\n%s\n" % (proc.log_path, read_file(proc.log_path).decode()))

    def program(self, proc, binary, timeout=60):
        """The pid of the script's child running `binary` (its supervisor)."""
        deadline = time.monotonic() + timeout
        while True:
            for pid in child_pids(proc.pid):
                try:
                    if os.path.samefile("/proc/%d/exe" % pid, binary):
                        return pid
                except OSError:
                    pass
            self.assertIsNone(proc.poll(), "run.sh exited with %s" % proc.returncode)
            self.assertLess(time.monotonic(), deadline, "run.sh started no %s" % binary)
            time.sleep(0.05)

    def child_of(self, pid, other_than=None, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            kids = [k for k in child_pids(pid) if k != other_than]
            if kids:
                return kids[0]
            self.assertTrue(alive(pid), "process %d exited" % pid)
            self.assertLess(time.monotonic(), deadline, "process %d has no (new) child" % pid)
            time.sleep(0.05)

    def wait_route(self, svc, proc, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            self.assertIsNone(proc.poll(), "run.sh exited with %s" % proc.returncode)
            try:
                if svc.get(path)[0] == 200:
                    return
            except OSError:
                pass
            self.assertLess(time.monotonic(), deadline, "GET %s never answered 200" % path)
            time.sleep(0.1)

    def assert_all_stopped(self, proc, rc):
        self.assertEqual(proc.wait(timeout=90), rc, read_file(proc.log_path).decode())
        self.assertEqual(wait_gone(session_pids(proc.pid)), [], "processes of run.sh are left")
        log = read_file(proc.log_path).decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:  # ASan/UBSan builds: both programs log here
            self.assertNotIn(marker, log, log[log.find(marker):][:3000])

    def test_crashes_healed_then_ctrl_c_stops_both(self):
        svc, proc = self.start_script()
        self.wait_route(svc, proc, "/ready")
        rest = self.program(proc, REST_BIN)
        engine = self.program(proc, ENGINE_BIN)
        rest_child, engine_child = self.child_of(rest), self.child_of(engine)
        # img-rest's work process crashes: its supervisor starts another
        os.kill(rest_child, signal.SIGKILL)
        self.child_of(rest, other_than=rest_child)
        self.wait_route(svc, proc, "/health")
        Jobs(self, svc, 3).assert_all_complete(svc)
        # the engine's too
        os.kill(engine_child, signal.SIGKILL)
        self.child_of(engine, other_than=engine_child)
        Jobs(self, svc, 3).assert_all_complete(svc)
        # nothing was restarted by the script: same two programs
        self.assertEqual((self.program(proc, REST_BIN), self.program(proc, ENGINE_BIN)), (rest, engine))
        self.assertIsNone(proc.poll())
        # Ctrl-C: SIGINT to the terminal's process group, the script and both programs
        os.killpg(proc.pid, signal.SIGINT)
        self.assert_all_stopped(proc, 0)
        self.assertIn(b"img-rest and img-engine stopped (exit status 0 and 0)", read_file(proc.log_path))

    def test_ctrl_c_while_img_rest_starts_stops_both(self):
        # Ctrl-C while the script waits for img-rest to answer: the script
        # still waits for both programs and says how they ended. img-rest,
        # still starting, dies of a signal: the Ctrl-C's (130) or the
        # script's TERM (143), whichever ends it first.
        svc, proc = self.start_script(rest_delay=30)
        self.child_of(proc.pid)  # the programs are started
        time.sleep(1)  # the script is in its wait for img-rest's answer
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=90)
        self.assertIn(rc, (130, 143))
        self.assert_all_stopped(proc, rc)
        log = read_file(proc.log_path)
        self.assertIn(b"img-rest and img-engine stopped (exit status %d and 0)" % rc, log)
        self.assertNotIn(b"exited by itself", log)

    def test_sigterm_to_the_script_alone_stops_both(self):
        svc, proc = self.start_script()
        self.wait_route(svc, proc, "/ready")
        Jobs(self, svc, 2).assert_all_complete(svc)
        proc.send_signal(signal.SIGTERM)
        self.assert_all_stopped(proc, 0)

    def test_img_rest_configuration_error_stops_the_engine(self):
        # a setting only img-rest reads and finds wrong once started: its
        # supervisor exits with the configuration error code (2, not
        # retried); the script stops the engine and fails with that code
        svc, proc = self.start_script({"cors_origins": "not-an-origin"})
        self.assert_all_stopped(proc, 2)
        log = read_file(proc.log_path)
        self.assertIn(b"cors_origins", log)
        self.assertIn(b"img-rest exited by itself: stopping img-engine", log)
        self.assertNotIn(b"restarting", log)

    def test_engine_configuration_error_stops_img_rest(self):
        # likewise for the engine: a broker list with an empty entry
        svc, proc = self.start_script({"broker_connect": "tcp://127.0.0.1:%d,," % free_port()})
        self.assert_all_stopped(proc, 2)
        log = read_file(proc.log_path)
        self.assertIn(b"broker_connect", log)
        self.assertIn(b"img-engine exited by itself: stopping img-rest", log)
        self.assertNotIn(b"restarting", log)

    def test_engine_configuration_error_while_img_rest_starts(self):
        # the engine fails at once while img-rest is still starting: the
        # script's TERM kills img-rest before it handles signals (143), and
        # the script still ends with the engine's configuration error
        svc, proc = self.start_script({"broker_connect": "tcp://127.0.0.1:%d,," % free_port()}, rest_delay=30)
        self.assert_all_stopped(proc, 2)
        log = read_file(proc.log_path)
        self.assertIn(b"img-engine exited by itself: stopping img-rest", log)
        self.assertIn(b"(exit status 143 and 2)", log)


# ---- 2. a full data volume ----------------------------------------------------------


def fill_volume(path, leave=0):
    """Writes the file `path` until its volume is full (ENOSPC), then gives
    `leave` bytes back. Returns the bytes still free."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = b"\xa5" * (1 << 20)
        while True:
            try:
                if os.write(fd, chunk) == 0:
                    break
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        if leave:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    vfs = os.statvfs(path)
    return vfs.f_bavail * vfs.f_frsize


class FullVolume(OwnServices):
    """The data folder (or the job store alone) on a small tmpfs that a
    test fills. Mounted before the service starts, so unmounted after its
    processes stop (clean-ups run last first), even when the test fails."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")

    def mount_tmpfs(self, size):
        mnt = tempfile.mkdtemp(prefix="img-e2e-full-")
        self.addCleanup(os.rmdir, mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0750" % size, "tmpfs", mnt],
                       check=True, capture_output=True)
        self.addCleanup(self._unmount, mnt)
        return mnt

    @staticmethod
    def _unmount(mnt):
        if subprocess.run(["umount", mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mnt], check=True)

    @staticmethod
    def job_folders(data_dir):
        jobs = os.path.join(data_dir, "jobs")
        return set(os.listdir(jobs)) if os.path.isdir(jobs) else set()

    def listed_ids(self, svc):
        st, _, page = svc.get_json("/jobs?limit=100")
        self.assertEqual(st, 200, page)
        return [j["id"] for j in page["jobs"]]

    def test_full_volume_answers_507_fails_a_result_and_recovers(self):
        self.mnt = self.mount_tmpfs("24m")
        svc = self.service(engines=1, config=dict(FAST, data_dir=self.mnt), env=TEST_OPS)
        rest_child, engine_child = svc.child_pid(svc.rest), svc.child_pid(svc.engines[0])
        first = Jobs(self, svc, 1)
        first.assert_all_complete(svc)
        filler = os.path.join(self.mnt, "filler")

        # -- a submit on a full volume: 507, nothing half-written --
        folders, listed = self.job_folders(self.mnt), self.listed_ids(svc)
        self.assertEqual(fill_volume(filler), 0)
        refused = svc.post_job("resize", files={"file": ("p.jpg", small_jpeg())}, fields={"width": 64})
        err = self.assertError(refused, 507, "insufficient_storage", "submit on a full volume")
        self.assertNotIn("/", err["message"], "a path in the message: %r" % err["message"])
        self.assertEqual(self.job_folders(self.mnt), folders, "a job folder was left")
        self.assertEqual(self.listed_ids(svc), listed, "GET /jobs lists a new job")
        # reading still works
        self.assertEqual(svc.get("/health")[0], 200)
        self.assertEqual(svc.get("/ready")[0], 200)
        st = svc.get_json("/resize/status/" + first.ids[0])[2]
        self.assertEqual(st["status"], "complete")
        code, _, data = svc.get("/resize/" + first.ids[0])
        self.assertEqual((code, len(data)), (200, st["result"]["bytes"]))
        os.unlink(filler)

        # -- a running job whose result cannot be written --
        st, _, body = svc.post_job("test_fault", files={"file": ("p.png", photo_png())},
                                   fields={"mode": "sleep", "ms": 5000})
        self.assertEqual(st, 202, body)
        job_id = body["id"]
        deadline = time.monotonic() + LONG
        while svc.get_json("/jobs/" + job_id)[2]["status"] == "queued":
            self.assertLess(time.monotonic(), deadline, "the job never started")
            time.sleep(0.05)
        # room for the job store to record the outcome, not for the result
        self.assertLess(fill_volume(filler, leave=1 << 20), 2 << 20)
        self.assertEqual(svc.get_json("/jobs/" + job_id)[2]["status"], "processing",
                         "the job ended before the volume was full; the test proves nothing")
        st = svc.wait_status("test_fault", job_id, LONG)
        self.assertEqual(st["status"], "failed", st)
        self.assertEqual(st["error"]["code"], "insufficient_storage", st)
        self.assertIn("data volume is full", st["error"]["message"])
        self.assertEqual(st["attempts"], 1, st)
        left = os.listdir(os.path.join(self.mnt, "jobs", job_id))
        self.assertFalse([f for f in left if "result" in f], "a result file was left: %r" % left)
        self.assertError(svc.get("/test_fault/" + job_id), 409, "job_failed")

        # -- space returns: work goes on, nothing was restarted --
        os.unlink(filler)
        after = Jobs(self, svc, 3)
        after.assert_all_complete(svc)
        st, _, body = svc.post_job("test_fault", files={"file": ("p.png", photo_png())},
                                   fields={"mode": "sleep", "ms": 0})
        self.assertEqual(st, 202, body)
        self.assertEqual(svc.wait_status("test_fault", body["id"], LONG)["status"], "complete")
        self.assertEqual((svc.child_pid(svc.rest), svc.child_pid(svc.engines[0])),
                         (rest_child, engine_child), "a program was restarted")
        for proc in svc.procs():
            self.assertNotIn(b"restarting", read_file(proc.log_path))


    def test_full_job_store_answers_507_and_removes_the_upload(self):
        # the upload is written, then the job store cannot record the job
        # (SQLite: SQLITE_FULL): the job folder must go with it
        db = self.mount_tmpfs("2m")
        svc = self.service(engines=1, config=dict(FAST, db_url=os.path.join(db, "jobs.db")))
        first = Jobs(self, svc, 1)
        first.assert_all_complete(svc)
        folders, listed = self.job_folders(svc.data_dir), self.listed_ids(svc)
        filler = os.path.join(db, "filler")
        self.assertEqual(fill_volume(filler), 0)
        for _ in range(3):
            refused = svc.post_job("resize", files={"file": ("p.jpg", small_jpeg())},
                                   fields={"width": 64})
            self.assertError(refused, 507, "insufficient_storage", "submit with a full job store")
        self.assertEqual(self.job_folders(svc.data_dir), folders, "a job folder was left")
        self.assertEqual(self.listed_ids(svc), listed, "GET /jobs lists a new job")
        self.assertEqual(svc.get_json("/resize/status/" + first.ids[0])[2]["status"], "complete")
        os.unlink(filler)
        Jobs(self, svc, 3).assert_all_complete(svc)
        for proc in svc.procs():
            self.assertNotIn(b"restarting", read_file(proc.log_path))


# ---- 3. replicas over one PostgreSQL ------------------------------------------------


def pg_base_url():
    url = os.environ.get("IMG_TEST_PG_URL", "")
    path = os.environ.get("IMG_TEST_PG_URL_FILE", "")
    if not url and path and os.path.exists(path):
        url = read_file(path).decode().strip()
    return url


def pg_admin(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, capture_output=True)


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class Replicas(OwnServices):
    """Two img-rest replicas A and B on one data folder and one PostgreSQL
    database (a fresh one per test), engines listing both brokers."""

    def setUp(self):
        base = pg_base_url()
        if not base:
            self.skipTest("no PostgreSQL: the CTest fixture pg_cluster (IMG_TEST_PG_URL_FILE) "
                          "or IMG_TEST_PG_URL")
        if not shutil.which("psql"):
            self.skipTest("psql is missing")
        name = "img_e2e_%d_%s" % (os.getpid(), uuid.uuid4().hex[:8])
        pg_admin(base, "CREATE DATABASE %s" % name)
        self.addCleanup(pg_admin, base, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        data_dir = tempfile.mkdtemp(prefix="img-e2e-shared-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        brokers = ["tcp://127.0.0.1:%d" % free_port() for _ in range(2)]
        common = dict(FAST, data_dir=data_dir, db_url=with_database(base, name),
                      broker_connect=",".join(brokers))
        self.data_dir = data_dir
        self.a, self.b = [
            self.service(engines=0, start=False, env=TEST_OPS,
                         config=dict(common, http_listen="127.0.0.1:%d" % free_port(),
                                     broker_bind=broker))
            for broker in brokers]
        self.a.start_rest(60)
        self.b.start_rest(60)

    def workers(self, svc):
        return svc.get_json("/ready")[2]["workers"]

    def start_engines(self, n):
        """n engines (run from A's folder; their list names both brokers)."""
        for _ in range(n):
            self.a.start_engine(wait=False)
        self.wait_workers(lambda a, b: a + b == len(self.a.engines))

    def wait_workers(self, ok, timeout=LONG):
        deadline = time.monotonic() + timeout
        while True:
            counts = self.workers(self.a), self.workers(self.b)
            if ok(*counts):
                return counts
            self.assertLess(time.monotonic(), deadline, "engines attached (A, B): %r" % (counts,))
            time.sleep(0.1)

    def submit_sleep(self, svc, ms):
        st, _, body = svc.post_job("test_fault", files={"file": ("p.jpg", small_jpeg())},
                                   fields={"mode": "sleep", "ms": ms})
        self.assertEqual(st, 202, body)
        return body["id"]

    def events(self, svc, job_id, timeout=LONG):
        """The (event, data) pairs of GET /jobs/<id>/events until the stream ends."""
        conn = http.client.HTTPConnection(svc.host, svc.http_port, timeout=timeout)
        try:
            conn.request("GET", "/jobs/%s/events" % job_id)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.getheader("Content-Type", "").startswith("text/event-stream"))
            found, event = [], None
            while True:
                line = resp.readline()
                if not line:
                    return found
                line = line.decode().rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    found.append((event, json.loads(line[6:])))
        finally:
            conn.close()

    def test_a_job_submitted_to_one_replica_is_served_by_the_other(self):
        a, b = self.a, self.b
        # one engine, attached to A alone: B learns of every change through
        # the job store only
        a.env = dict(TEST_OPS, IMG_BROKER_CONNECT=a.broker)
        self.start_engines(1)
        self.assertEqual((self.workers(a), self.workers(b)), (1, 0))
        # status, and ?wait on B wakes when the job completes (whichever
        # replica recorded it): a wait that timed out would say processing
        job_id = self.submit_sleep(a, 3000)
        st, _, job = b.get_json("/test_fault/status/%s?wait=60" % job_id)
        self.assertEqual((st, job["id"], job["status"]), (200, job_id, "complete"), job)
        # events on B: statuses up to the terminal one, then the stream ends
        job_id = self.submit_sleep(a, 4000)
        seen = self.events(b, job_id)
        self.assertTrue(all(data["id"] == job_id for _, data in seen), seen)
        statuses = [data["status"] for event, data in seen if event == "status"]
        self.assertEqual(statuses[-1], "complete", seen)
        self.assertIn("processing", statuses, "B streamed no change before the end: %r" % seen)
        # the result, downloaded from B, as A describes it
        st_a = a.get_json("/test_fault/status/" + job_id)[2]
        code, headers, data = b.get("/test_fault/" + job_id)
        self.assertEqual(code, 200)
        self.assertEqual((sniff(data), len(data)), ("png", st_a["result"]["bytes"]))
        self.assertEqual(image_size(data), image_size(small_jpeg()))
        # deleted on B: gone on A, files too
        self.assertEqual(b.delete("/jobs/" + job_id)[0], 204)
        self.assertError(a.get("/jobs/" + job_id), 404, "not_found")
        self.assertError(a.get("/test_fault/" + job_id), 404, "not_found")
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "jobs", job_id)))
        # and the other way round: listed on A, a job submitted to B
        job_id = self.submit_sleep(b, 0)
        self.assertIn(job_id, [j["id"] for j in a.get_json("/jobs?limit=100")[2]["jobs"]])
        self.assertEqual(a.wait_status("test_fault", job_id, LONG)["status"], "complete")

    def test_replica_killed_mid_burst_its_engines_move_and_no_job_is_lost(self):
        a, b = self.a, self.b
        # two engines, one on each replica: each engine's name (a new one
        # for each process) picks where it starts, so while both are on one
        # side the second is replaced (20 draws: all on one side 1 in 10^6)
        self.start_engines(2)
        for _ in range(20):
            if min(self.workers(a), self.workers(b)) > 0:
                break
            a.kill_engine(len(a.engines) - 1, signal.SIGTERM)
            a.engines.pop()
            self.wait_workers(lambda on_a, on_b: on_a + on_b == len(a.engines))
            self.start_engines(1)
        self.assertEqual(min(self.workers(a), self.workers(b)), 1, "every engine on one replica")
        n_engines = len(a.engines)
        engine_children = [a.child_pid(p) for p in a.engines]
        burst = Jobs(self, a, 60, sleep_ms=300)
        burst.wait_some_complete(b, 5)
        a_child = a.child_pid(a.rest)
        a.kill_rest(signal.SIGKILL)  # the main process: its child dies with it
        self.assertEqual(wait_gone([a_child]), [], "replica A's work process survived its supervisor")
        self.assertLess(burst.count_complete(b), 60, "the burst ended before the kill")
        # A's engines move to B
        self.wait_workers_b(n_engines)
        burst.assert_all_complete(b)
        # the engines were not restarted
        self.assertEqual([a.child_pid(p) for p in a.engines], engine_children)
        # A again: it serves the same jobs, and work submitted to it runs
        a.start_rest(60)
        burst.assert_all_complete(a)
        more = Jobs(self, a, 5)
        more.assert_all_complete(a)

    def wait_workers_b(self, n):
        deadline = time.monotonic() + LONG
        while self.workers(self.b) != n:
            self.assertLess(time.monotonic(), deadline, "B has %d of %d engines"
                            % (self.workers(self.b), n))
            time.sleep(0.1)


if __name__ == "__main__":
    unittest.main()
