"""The web app at /app in a real browser: headless Chromium, driven by
test/browser/web_app.test.mjs (playwright-core), against real programs.

Three services: one with an engine for every flow (main scenario), one with
a fake engine that this file drives so that the page's live status and
progress are seen step by step (progress scenario), one with API keys (keys
scenario). The browser script's screenshots go to
<build>/test-output/web_app/<scenario>/ (printed). The app's page-free
modules have unit tests too (web_app_units.test.mjs, node --test)."""

import os
import queue
import shutil
import struct
import subprocess
import threading
import time
import unittest
import zlib

import harness
from harness import SOURCE_DIR, FakeEngine, ServiceTestCase

BROWSER_DIR = os.path.join(SOURCE_DIR, "test", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "web_app.test.mjs")
UNITS = os.path.join(BROWSER_DIR, "web_app_units.test.mjs")
APP_DIR = os.path.join(SOURCE_DIR, "app")
CONFIG = {"app_dir": APP_DIR, "docs_dir": os.path.join(SOURCE_DIR, "docs")}

# Rectangles (x, y, width, height) changed between the two diff images.
DIFF_SIZE = (480, 320)
DIFF_RECTS = [(40, 30, 60, 40), (300, 60, 80, 50), (150, 220, 120, 60)]
FAIL_MESSAGE = "the fake engine gives up on purpose"
API_KEY = "webapp-test-key-5f0c2a9e41d7"


def png(width, height, pixel):
    """An 8-bit RGB PNG; pixel(x, y) -> (r, g, b)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows.extend(pixel(x, y))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


def diff_pair():
    """A smooth dark background, and the same with DIFF_RECTS brightened by
    140 on every channel (far above the default threshold of 25)."""
    w, h = DIFF_SIZE

    def base(x, y):
        return (x * 100 // w, 80 + y * 60 // h, 60)

    def changed(x, y):
        r, g, b = base(x, y)
        if any(rx <= x < rx + rw and ry <= y < ry + rh for rx, ry, rw, rh in DIFF_RECTS):
            return (min(255, r + 140), min(255, g + 140), min(255, b + 140))
        return (r, g, b)
    return png(w, h, base), png(w, h, changed)


def output_dir(scenario):
    """<build>/test-output/web_app/<scenario>, emptied."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(harness.REST_BIN)))
    path = os.path.join(build, "test-output", "web_app", scenario)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    print("\nscreenshots of the %s scenario: %s" % (scenario, path))
    return path


def need_browser(test):
    test.assertTrue(os.path.exists("/usr/bin/chromium"),
                    "Debian's chromium is needed (scripts/install-deps.sh test installs it)")
    test.assertTrue(os.path.isdir(os.path.join(SOURCE_DIR, "docs", "node_modules", "axe-core")),
                    "docs/node_modules is needed (scripts/docs-deps.sh)")


class BrowserCase(ServiceTestCase):
    CONFIG = CONFIG

    def env(self, scenario, **extra):
        env = dict(os.environ, IMG_BASE_URL="http://127.0.0.1:%d" % self.svc.http_port,
                   IMG_APP_SCENARIO=scenario, IMG_OUT_DIR=output_dir(scenario))
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def assertPassed(self, returncode, out):
        if returncode != 0 or " passed, 0 failed" not in out:
            print(out[-6000:])
        self.assertEqual(returncode, 0, "browser test failed")
        self.assertIn(" passed, 0 failed", out)


class WebApp(BrowserCase):
    def test_every_flow_in_the_browser(self):
        need_browser(self)
        work = os.path.join(self.svc.dir, "images")
        os.mkdir(work)
        a, b = diff_pair()
        paths = {}
        for name, data in (("a.png", a), ("b.png", b),
                           ("small.png", png(64, 48, lambda x, y: (x * 4, y * 5, 128)))):
            paths[name] = os.path.join(work, name)
            with open(paths[name], "wb") as f:
                f.write(data)
        env = self.env("main", IMG_DIFF_A=paths["a.png"], IMG_DIFF_B=paths["b.png"],
                       IMG_DIFF_RECTS=str([list(r) for r in DIFF_RECTS]),
                       IMG_SMALL_PNG=paths["small.png"])
        run = subprocess.run(["node", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
        print(run.stdout[-3000:] if run.returncode == 0 else "")
        self.assertPassed(run.returncode, run.stdout + run.stderr)
        shots = os.listdir(env["IMG_OUT_DIR"])
        for view in ("submit", "submit-refused", "job-resize", "job-diff", "job-pipeline",
                     "history", "phone-history", "phone-job-diff"):
            self.assertIn(view + ".png", shots)

    def test_modules_without_a_page(self):
        env = dict(os.environ, IMG_BASE_URL="http://127.0.0.1:%d" % self.svc.http_port)
        run = subprocess.run(["node", "--test", UNITS], env=env, capture_output=True, text=True,
                             timeout=120)
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-2000:])
        self.assertEqual(run.returncode, 0, "unit tests of the app's modules failed")
        self.assertIn("# fail 0", run.stdout)
        self.assertIn("# skipped 0", run.stdout)


class WebAppProgress(BrowserCase):
    """The page follows a job that a fake engine moves step by step."""
    ENGINES = 0

    def test_live_status_and_progress(self):
        need_browser(self)
        engine = FakeEngine(self.svc.broker, heartbeat_ms=200)
        self.addCleanup(engine.close)
        env = self.env("progress", IMG_FAIL_MESSAGE=FAIL_MESSAGE)
        proc = subprocess.Popen(["node", SCRIPT], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines = queue.Queue()
        out = []

        def pump():
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)
        threading.Thread(target=pump, daemon=True).start()

        def wait_line(prefixes, timeout=90):
            """The next line starting with one of prefixes; the engine beats meanwhile."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                engine.idle(0.05)
                try:
                    line = lines.get_nowait()
                except queue.Empty:
                    continue
                if line is None:
                    self.fail("the browser script ended early:\n" + "".join(out))
                out.append(line)
                if line.startswith(prefixes):
                    return line.strip()
            self.fail("no %r line from the browser script within %ss:\n%s" % (prefixes, timeout, "".join(out)))

        def expect(status, percent=None):
            proc.stdin.write("expect %s %s\n" % (status, percent or ""))
            proc.stdin.flush()
            got = wait_line(("seen ", "missed "))
            self.assertTrue(got.startswith("seen "), "the page missed %s %s:\n%s" % (status, percent, "".join(out)))

        job_id = wait_line(("JOB ",)).split()[1]
        expect("queued")
        engine.ready(1)
        job = engine.expect("job", timeout=30)
        self.assertEqual(job["id"], job_id)
        dispatch = job["dispatch"]
        engine.started(job_id, dispatch)
        expect("processing")
        engine.progress(job_id, dispatch, 40)
        expect("processing", 40)
        engine.progress(job_id, dispatch, 75)
        expect("processing", 75)
        engine.done(job_id, dispatch, error={"code": "processing_failed", "message": FAIL_MESSAGE})
        expect("failed")
        proc.stdin.write("end\n")
        proc.stdin.close()
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            engine.idle(0.1)
        while True:
            line = lines.get(timeout=10)
            if line is None:
                break
            out.append(line)
        self.assertPassed(proc.wait(timeout=10), "".join(out))


class WebAppWithKeys(BrowserCase):
    CONFIG = dict(CONFIG, api_keys=API_KEY)

    def test_api_key_from_the_page(self):
        need_browser(self)
        env = self.env("keys", IMG_API_KEY=API_KEY)
        run = subprocess.run(["node", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
        self.assertPassed(run.returncode, run.stdout + run.stderr)


if __name__ == "__main__":
    unittest.main()
