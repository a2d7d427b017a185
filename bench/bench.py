#!/usr/bin/env python3
"""bench.py — the measuring half of `make bench` (scripts/bench.sh drives it).

Python 3 standard library only, except `pillow`, which needs Pillow and is
run with whichever interpreter has it. Subcommands, each writing JSON:

  machine  OUT.json                      machine and tool versions
  pillow   RUNS OUT_DIR IMAGE... > JSON  the core resize done by Pillow
  service  --rest BIN --engine BIN ...   starts img-rest + img-engine on free
                                          127.0.0.1 ports (temporary config and
                                          data folder, like test/e2e/harness.py),
                                          measures operations, the core resize,
                                          throughput, memory and wrk; stops both
  report   DIR > results.md              the tables, from the JSON files in DIR

Times: "processing" is the job's finished_at - started_at from its status
JSON (millisecond resolution; from the dispatcher leasing the job to the
engine to the engine's `done` being committed); "end-to-end" is the client's
time from the first byte of the POST to the last byte of the result.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid


# -- small helpers -------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else None


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def parse_time(text):
    """RFC 3339 UTC ('...T..:..:..[.mmm]Z') to seconds since the epoch."""
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def loadavg():
    """The 1-minute load average (other work on the machine skews timings)."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(files, fields):
    boundary = "----img-bench-" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
                      % (boundary, name)).encode() + str(value).encode() + b"\r\n")
    for name, (filename, data) in files.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n"
                      % (boundary, name, filename)).encode() + data + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    return b"".join(parts), "multipart/form-data; boundary=" + boundary


# -- machine -------------------------------------------------------------------

def cmd_machine(args):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1048576.0, 1),
        "kernel": platform.release(),
        "os": run_out(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
        "libvips": run_out(["vips", "--version"]),
        "hyperfine": run_out(["hyperfine", "--version"]),
        "wrk": (run_out(["sh", "-c", "wrk -v 2>&1 | head -n 1"]) or "").split(" [")[0],
        "node": run_out(["node", "--version"]),
        "build_type": args.build_type,
        "loadavg_start": loadavg(),
    }
    with open(args.out, "w") as f:
        json.dump(info, f, indent=1)


# -- Pillow --------------------------------------------------------------------

def cmd_pillow(args):
    """Pillow as the Python originals used it: open, resize with LANCZOS,
    save JPEG q75. Two variants: with draft() (the JPEG decoder's DCT
    scaling, what Image.thumbnail does) and a full decode."""
    from PIL import Image  # only this subcommand needs Pillow
    import PIL

    def once(path, out, draft):
        with Image.open(path) as im:
            w, h = im.size
            size = (256, max(1, round(h * 256 / w)))
            if draft:
                im.draft("RGB", size)
            small = im.convert("RGB").resize(size, Image.LANCZOS)
            small.save(out, "JPEG", quality=75)
            return small.size

    result = {"pillow": PIL.__version__, "images": {}}
    for i, path in enumerate(args.images):
        out = os.path.join(args.out_dir, "pillow-%d.jpg" % i)
        entry = {}
        for variant, draft in (("draft", True), ("full", False)):
            for _ in range(2):
                once(path, out, draft)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                size = once(path, out, draft)
                times.append((time.perf_counter() - t0) * 1000.0)
            entry[variant] = {"runs": times, "median_ms": median(times), "size": list(size)}
        result["images"][path] = entry
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


# -- the service -----------------------------------------------------------------

class Service:
    """img-rest + one img-engine on free 127.0.0.1 ports, in a temp folder."""

    def __init__(self, rest_bin, engine_bin, docs_dir, config):
        self.dir = tempfile.mkdtemp(prefix="img-bench-")
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        self.port = free_port()
        broker = "tcp://127.0.0.1:%d" % free_port()
        settings = {
            "data_dir": data, "log_level": "info",
            "http_listen": "127.0.0.1:%d" % self.port,
            "broker_bind": broker, "broker_connect": broker,
            "docs_dir": docs_dir, "retention_s": 0,
        }
        settings.update(config)
        self.config = os.path.join(self.dir, "img.conf")
        with open(self.config, "w") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        self.procs = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMG_")}
        for name, binary in (("img-rest", rest_bin), ("img-engine", engine_bin)):
            log = open(os.path.join(self.dir, name + ".log"), "wb")
            p = subprocess.Popen([binary, "-c", self.config], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
            log.close()
            p.name = name
            self.procs.append(p)
        self.rest, self.engine = self.procs

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, name, lines=30):
        try:
            with open(os.path.join(self.dir, name + ".log"), "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def errors_in_logs(self):
        """Log lines at warn or error level (for the report)."""
        found = []
        for name in ("img-rest", "img-engine"):
            try:
                with open(os.path.join(self.dir, name + ".log"), "rb") as f:
                    for line in f.read().decode("utf-8", "replace").splitlines():
                        if re.search(r"\b(WARN|ERROR|warn|error)\b", line):
                            found.append("%s: %s" % (name, line.strip()[:300]))
            except OSError:
                pass
        return found

    # -- HTTP --

    def request(self, method, path, body=None, headers=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            headers = dict(headers or {})
            if body is not None:
                headers["Content-Length"] = str(len(body))
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body:
                conn.send(body)
            resp = conn.getresponse()
            data = resp.read()
            if resp.getheader("Content-Type", "").startswith("application/json") and data:
                data = json.loads(data)
            return resp.status, data
        finally:
            conn.close()

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("%s exited with %s:\n%s"
                                       % (p.name, p.returncode, self.log_tail(p.name)))
            try:
                if self.request("GET", "/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the service was not ready within %ss" % timeout)

    def post(self, op, body, ctype):
        status, data = self.request("POST", "/" + op, body=body, headers={"Content-Type": ctype})
        if status != 202:
            raise RuntimeError("POST /%s answered %s: %r" % (op, status, data))
        return data

    def wait_done(self, op, job_id, timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            status, st = self.request("GET", "/%s/status/%s?wait=30" % (op, job_id))
            if status != 200 or not isinstance(st, dict):
                raise RuntimeError("GET status of %s answered %s: %r" % (job_id, status, st))
            if st.get("status") in ("complete", "failed"):
                return st
            if time.monotonic() > deadline:
                raise RuntimeError("job %s still %s after %ss" % (job_id, st.get("status"), timeout))

    def run_job(self, op, body, ctype):
        """One job, timed: (status JSON, seconds POST, seconds end-to-end, result bytes)."""
        t0 = time.perf_counter()
        job = self.post(op, body, ctype)
        t_post = time.perf_counter() - t0
        st = self.wait_done(op, job["id"])
        if st["status"] != "complete":
            raise RuntimeError("%s job %s failed: %r" % (op, job["id"], st.get("error")))
        code, data = self.request("GET", "/%s/%s" % (op, job["id"]))
        t_e2e = time.perf_counter() - t0
        if code != 200:
            raise RuntimeError("GET /%s/%s answered %s" % (op, job["id"], code))
        size = len(data) if isinstance(data, bytes) else len(json.dumps(data))
        return st, t_post, t_e2e, size

    # -- memory --

    def engine_child(self):
        """The pid of img-engine's worker process (its supervisor's child)."""
        pid = self.engine.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = f.read().split()
        except OSError:
            kids = []
        return int(kids[0]) if kids else None

    @staticmethod
    def vm(pid, key):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])  # kB
        except (OSError, ValueError, TypeError):
            pass
        return None

    @staticmethod
    def reset_peak(pid):
        """Resets VmHWM to the current RSS (Linux >= 4.0, own processes)."""
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
            return True
        except (OSError, TypeError):
            return False

    def memory(self):
        child = self.engine_child()
        return {
            "rest_hwm_kb": self.vm(self.rest.pid, "VmHWM"),
            "rest_rss_kb": self.vm(self.rest.pid, "VmRSS"),
            "engine_child_hwm_kb": self.vm(child, "VmHWM") if child else None,
            "engine_child_rss_kb": self.vm(child, "VmRSS") if child else None,
            "engine_supervisor_hwm_kb": self.vm(self.engine.pid, "VmHWM"),
            "engine_child_pid": child,
        }

    def reset_peaks(self):
        ok = self.reset_peak(self.rest.pid)
        child = self.engine_child()
        return ok and child is not None and self.reset_peak(child)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def ops_phase(svc, args, log):
    """Part 1: each operation on the 4000x3000 photo, `runs` times."""
    photo, photo2 = read_bytes(args.photo), read_bytes(args.photo2)
    cases = [
        ("resize", "resize", {"file": photo}, {"width": 1024}, "width=1024"),
        ("thumbnail", "thumbnail", {"file": photo}, {"size": 256}, "size=256"),
        ("diff", "diff", {"image1": photo, "image2": photo2}, {}, "defaults (threshold 25, min_area 500)"),
        ("dither", "dither", {"file": photo}, {"levels": 2}, "levels=2"),
        ("info", "info", {"file": photo}, {}, ""),
        ("convert to webp", "resize", {"file": photo}, {"width": 4000, "format": "webp"},
         "resize width=4000 format=webp (q75)"),
        ("convert to avif", "resize", {"file": photo}, {"width": 4000, "format": "avif"},
         "resize width=4000 format=avif (q50)"),
    ]
    rows = []
    for label, op, files, fields, params in cases:
        body, ctype = multipart({k: ("photo.jpg", v) for k, v in files.items()}, fields)
        runs = args.avif_runs if "avif" in label else args.runs
        proc, e2e, post, size, result = [], [], [], None, None
        svc.reset_peaks()
        for _ in range(runs):
            st, t_post, t_e2e, size = svc.run_job(op, body, ctype)
            proc.append((parse_time(st["finished_at"]) - parse_time(st["started_at"])) * 1000.0)
            e2e.append(t_e2e * 1000.0)
            post.append(t_post * 1000.0)
            result = st.get("result") or {}
        row = {"label": label, "op": op, "params": params, "runs": runs,
               "upload_bytes": len(body), "processing_ms": proc, "e2e_ms": e2e, "post_ms": post,
               "result_bytes": size,
               "engine_peak_kb": svc.vm(svc.engine_child(), "VmHWM"),
               "rest_peak_kb": svc.vm(svc.rest.pid, "VmHWM"),
               "result_desc": describe_result(result)}
        log("  %-16s processing %7.0f ms   end-to-end %7.0f ms  (%d runs)"
            % (label, median(proc), median(e2e), runs))
        rows.append(row)
    return rows


def describe_result(result):
    if "boxes" in result:
        return "%d boxes, changed_ratio %.4f" % (len(result["boxes"]), result.get("changed_ratio", 0))
    if "width" in result and "format" in result and "bytes" in result:
        return "%dx%d %s" % (result["width"], result["height"], result["format"])
    if "width" in result:
        return "JSON (%dx%d)" % (result["width"], result["height"])
    return ""


def core_phase(svc, args, log):
    """Part 2, service side: resize to width 256, JPEG q75, per image."""
    out = {}
    for path in (args.dune, args.photo):
        body, ctype = multipart({"file": ("in.jpg", read_bytes(path))}, {"width": 256, "quality": 75})
        proc, e2e = [], []
        for _ in range(2):
            svc.run_job("resize", body, ctype)
        for _ in range(args.core_runs):
            st, _, t_e2e, _ = svc.run_job("resize", body, ctype)
            proc.append((parse_time(st["finished_at"]) - parse_time(st["started_at"])) * 1000.0)
            e2e.append(t_e2e * 1000.0)
        out[path] = {"processing_ms": proc, "e2e_ms": e2e, "result": st.get("result")}
        log("  service resize %s: processing %.0f ms, end-to-end %.0f ms"
            % (os.path.basename(path), median(proc), median(e2e)))
    return out


def throughput_phase(svc, args, log):
    """Part 3: N resize jobs (Dune.jpg -> width 256) from `clients` threads."""
    body, ctype = multipart({"file": ("Dune.jpg", read_bytes(args.dune))}, {"width": 256})
    n, clients = args.jobs, args.clients
    lock = threading.Lock()
    next_index = [0]
    posts = [None] * n  # (wall start, seconds to 202, id)
    finals = [None] * n
    errors = []

    def submitter():
        while True:
            with lock:
                i = next_index[0]
                if i >= n:
                    return
                next_index[0] += 1
            wall = time.time()
            t0 = time.perf_counter()
            try:
                job = svc.post("resize", body, ctype)
            except Exception as e:  # noqa: BLE001 — counted and reported
                with lock:
                    errors.append("POST %d: %s" % (i, e))
                continue
            posts[i] = (wall, time.perf_counter() - t0, job["id"])

    def waiter(indices):
        for i in indices:
            if posts[i] is None:
                continue
            try:
                finals[i] = svc.wait_done("resize", posts[i][2])
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append("wait %d: %s" % (i, e))

    t_start = time.time()
    threads = [threading.Thread(target=submitter) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_submitted = time.time()
    threads = [threading.Thread(target=waiter, args=(range(k, n, clients),)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_observed = time.time()

    done = [(posts[i], finals[i]) for i in range(n) if posts[i] and finals[i]]
    complete = [(p, f) for p, f in done if f["status"] == "complete"]
    failed = [f for _, f in done if f["status"] != "complete"]
    post_ms = [p[1] * 1000.0 for p in posts if p]
    # Completion latency: the job's finished_at (server clock, same machine)
    # minus the wall time its POST began.
    completion_ms = [(parse_time(f["finished_at"]) - p[0]) * 1000.0 for p, f in complete]
    processing_ms = [(parse_time(f["finished_at"]) - parse_time(f["started_at"])) * 1000.0
                     for _, f in complete]
    queue_ms = [(parse_time(f["started_at"]) - parse_time(f["created_at"])) * 1000.0
                for _, f in complete]
    last_finish = max(parse_time(f["finished_at"]) for _, f in complete) if complete else t_observed
    span = last_finish - t_start
    res = {
        "jobs": n, "clients": clients, "complete": len(complete), "failed": len(failed),
        "errors": errors[:10], "n_errors": len(errors),
        "failed_examples": [f.get("error") for f in failed[:5]],
        "span_s": span, "jobs_per_s": len(complete) / span if span > 0 else None,
        "submit_span_s": t_submitted - t_start,
        "post_ms": post_ms, "completion_ms": completion_ms,
        "processing_ms": processing_ms, "queue_ms": queue_ms,
    }
    log("  %d/%d complete in %.2f s: %.1f jobs/s; POST p50 %.1f ms p95 %.1f ms; "
        "completion p50 %.0f ms p95 %.0f ms"
        % (len(complete), n, span, res["jobs_per_s"] or 0, percentile(post_ms, 50) if post_ms else 0,
           percentile(post_ms, 95) if post_ms else 0,
           percentile(completion_ms, 50) if completion_ms else 0,
           percentile(completion_ms, 95) if completion_ms else 0))
    return res


WRK_LINE = re.compile(r"^\s*(Latency|Req/Sec)\s+(\S+)\s+(\S+)\s+(\S+)")


def wrk_phase(svc, args, job_id, log):
    if not shutil.which("wrk"):
        log("  wrk not found (apt-get install wrk): skipped")
        return None
    out = {}
    for label, path in (("GET /health", "/health"),
                        ("GET /resize/status/<id>", "/resize/status/%s" % job_id)):
        cmd = ["wrk", "-t2", "-c32", "-d%ds" % args.wrk_seconds, "--latency",
               "http://127.0.0.1:%d%s" % (svc.port, path)]
        text = subprocess.run(cmd, capture_output=True, text=True, timeout=args.wrk_seconds + 60).stdout
        row = {"cmd": " ".join(cmd), "raw": text}
        m = re.search(r"Requests/sec:\s+([\d.]+)", text)
        row["rps"] = float(m.group(1)) if m else None
        m = re.search(r"(\d+) requests in ([\d.]+\w+)", text)
        row["requests"] = int(m.group(1)) if m else None
        for line in text.splitlines():
            lm = WRK_LINE.match(line)
            if lm and lm.group(1) == "Latency":
                row["latency_avg"] = lm.group(2)
            pm = re.match(r"^\s+(50|99)%\s+(\S+)", line)
            if pm:
                row["latency_p" + pm.group(1)] = pm.group(2)
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        row["socket_errors"] = [int(x) for x in m.groups()] if m else [0, 0, 0, 0]
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        row["non_2xx"] = int(m.group(1)) if m else 0
        log("  wrk %s: %s req/s, p50 %s, p99 %s, socket errors %s, non-2xx %s"
            % (label, row["rps"], row.get("latency_p50"), row.get("latency_p99"),
               row["socket_errors"], row["non_2xx"]))
        out[label] = row
    return out


def cmd_service(args):
    def log(msg):
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()

    svc = Service(args.rest, args.engine, args.docs, {})
    # SIGTERM (the shell's trap) must stop our children too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = {"config": {"engine_threads": "0 (= cores)", "http_threads": 32, "log_level": "info"}}
    try:
        svc.wait_ready()
        result["memory_start"] = svc.memory()
        log("part 1: operations on the 4000x3000 photo (median of %d runs; avif %d)"
            % (args.runs, args.avif_runs))
        result["ops"] = ops_phase(svc, args, log)
        result["memory_ops"] = svc.memory()
        log("part 2: the core resize through the service (median of %d runs)" % args.core_runs)
        result["core"] = core_phase(svc, args, log)
        result["peak_reset"] = svc.reset_peaks()
        result["memory_before_throughput"] = svc.memory()
        log("part 3: %d resize jobs from %d client threads" % (args.jobs, args.clients))
        result["throughput"] = throughput_phase(svc, args, log)
        result["memory_throughput"] = svc.memory()
        body, ctype = multipart({"file": ("Dune.jpg", read_bytes(args.dune))}, {"width": 256})
        job_id = svc.post("resize", body, ctype)["id"]
        svc.wait_done("resize", job_id)
        result["wrk"] = wrk_phase(svc, args, job_id, log)
        result["memory_end"] = svc.memory()
        result["loadavg_end"] = loadavg()
        for p in svc.procs:
            if p.poll() is not None:
                result.setdefault("exited", []).append("%s exited with %s" % (p.name, p.returncode))
    except BaseException:
        for name in ("img-rest", "img-engine"):
            sys.stderr.write("----- %s log (tail) -----\n%s\n" % (name, svc.log_tail(name)))
        raise
    finally:
        svc.stop()
        result["log_warnings"] = svc.errors_in_logs()[:40]
        svc.remove()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


# -- report --------------------------------------------------------------------

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ms(v):
    if v is None:
        return "—"
    return "%.0f ms" % v if v >= 10 else "%.1f ms" % v


def mib(kb):
    return "—" if kb is None else "%.0f MiB" % (kb / 1024.0)


def cmd_report(args):
    d = args.dir
    machine = load(os.path.join(d, "machine.json")) or {}
    service = load(os.path.join(d, "service.json"))
    pillow = load(os.path.join(d, "pillow.json"))
    sharp = load(os.path.join(d, "sharp.json"))
    skipped = []
    try:
        with open(os.path.join(d, "skipped.txt")) as f:
            skipped = [line.strip() for line in f if line.strip()]
    except OSError:
        pass
    names = args.names  # "path=label" pairs
    labels = dict(x.split("=", 1) for x in names)
    w = sys.stdout.write

    w("## Machine\n\n")
    w("| | |\n|---|---|\n")
    w("| date | %s |\n" % machine.get("date", ""))
    w("| CPU | %s, %s cores (nproc), %s GiB RAM |\n"
      % (machine.get("cpu", "?"), machine.get("nproc", "?"), machine.get("memory_gib", "?")))
    w("| OS | %s, Linux %s |\n" % (machine.get("os", "?"), machine.get("kernel", "?")))
    w("| img build | CMAKE_BUILD_TYPE=%s |\n" % machine.get("build_type", "?"))
    w("| libvips (Debian, used by img-engine and vipsthumbnail) | %s |\n" % machine.get("libvips", "?"))
    w("| sharp | %s |\n" % ("%s (prebuilt libvips %s), Node %s"
                             % (sharp["sharp"], sharp["libvips"], machine.get("node", "?"))
                             if sharp else "not measured"))
    w("| Pillow | %s |\n" % (("%s (Debian python3-pil)" % pillow["pillow"]) if pillow else "not measured"))
    w("| hyperfine, wrk | %s, %s |\n" % (machine.get("hyperfine") or "—", machine.get("wrk") or "—"))
    w("| 1-minute load average, start / end | %s / %s (above ~0.3 means something else was running) |\n\n"
      % (machine.get("loadavg_start", "?"), (service or {}).get("loadavg_end", "?")))
    if skipped:
        w("Skipped: " + "; ".join(skipped) + "\n\n")

    if service:
        w("## 1. Operations on a 4000x3000 JPEG (12 MP, %.1f MB)\n\n"
          % (service["ops"][0]["upload_bytes"] / 1e6))
        w("One job at a time through img-rest + img-engine (2 engine threads). "
          "Processing = finished_at - started_at; end-to-end = client POST (upload) "
          "to result downloaded, waiting with `?wait=30`. Medians. The peak RSS "
          "of img-engine's worker process is over that operation's runs (VmHWM reset before "
          "each operation; memory kept by the allocator from earlier ones counts).\n\n")
        w("| operation | parameters | runs | processing | end-to-end | of which POST (202) "
          "| img-engine peak RSS | result |\n")
        w("|---|---|---:|---:|---:|---:|---:|---|\n")
        for r in service["ops"]:
            w("| %s | %s | %d | %s | %s | %s | %s | %s, %.0f kB |\n"
              % (r["label"], r["params"] or "—", r["runs"], ms(median(r["processing_ms"])),
                 ms(median(r["e2e_ms"])), ms(median(r["post_ms"])), mib(r.get("engine_peak_kb")),
                 r["result_desc"] or "JSON", r["result_bytes"] / 1000.0))
        w("\n")

    w("## 2. The core resize: decode JPEG, resize to 256 px wide, encode JPEG q75\n\n")
    w("Median milliseconds per image. vipsthumbnail is timed by hyperfine as a whole "
      "process (start-up and libvips initialisation included; the `vips --version` row "
      "is that start-up alone); sharp and Pillow are timed inside one process; the "
      "service row is the job's processing time, and the last row the client's "
      "end-to-end time.\n\n")
    paths = [x.split("=", 1)[0] for x in names]
    w("| implementation | " + " | ".join(labels[p] for p in paths) + " |\n")
    w("|---|" + "---:|" * len(paths) + "\n")

    def row(label, values):
        w("| %s | %s |\n" % (label, " | ".join(ms(v) for v in values)))

    hf = {}
    for i, p in enumerate(paths):
        hf[p] = load(os.path.join(d, "hyperfine-%d.json" % i))
    if all(hf.values()):
        row("libvips `vipsthumbnail` CLI (hyperfine)",
            [statistics.median(hf[p]["results"][0]["times"]) * 1000.0 for p in paths])
        row("  process start-up alone (`vips --version`)",
            [statistics.median(hf[p]["results"][1]["times"]) * 1000.0 for p in paths])
    else:
        row("libvips `vipsthumbnail` CLI (hyperfine)", [None] * len(paths))
    if sharp:
        row("sharp %s, in-process (libvips threads: %s)"
            % (sharp["sharp"], next(iter(sharp["images"].values()))["threads"]),
            [sharp["images"][p]["median_ms"] for p in paths])
    else:
        row("sharp", [None] * len(paths))
    if pillow:
        row("Pillow %s, draft() + LANCZOS" % pillow["pillow"],
            [pillow["images"][p]["draft"]["median_ms"] for p in paths])
        row("Pillow %s, full decode + LANCZOS" % pillow["pillow"],
            [pillow["images"][p]["full"]["median_ms"] for p in paths])
    else:
        row("Pillow", [None] * len(paths))
    if service:
        row("img service: job processing time",
            [median(service["core"][p]["processing_ms"]) for p in paths])
        row("img service: client end-to-end",
            [median(service["core"][p]["e2e_ms"]) for p in paths])
    w("\n")

    if service:
        t = service["throughput"]
        w("## 3. Throughput and memory\n\n")
        w("%d resize jobs (Dune.jpg 1680x1050 to width 256), submitted as fast as possible "
          "from %d client threads, then waited for.\n\n" % (t["jobs"], t["clients"]))
        w("| measure | value |\n|---|---:|\n")
        w("| jobs complete / failed / client errors | %d / %d / %d |\n"
          % (t["complete"], t["failed"], t["n_errors"]))
        w("| throughput (first POST to last finished_at) | **%.1f jobs/s** (%.2f s) |\n"
          % (t["jobs_per_s"] or 0, t["span_s"]))
        w("| all %d POSTs answered within | %.2f s |\n" % (t["jobs"], t["submit_span_s"]))
        for name, key in (("POST answered 202", "post_ms"),
                          ("job complete (from its POST)", "completion_ms"),
                          ("waiting in the queue (created to started)", "queue_ms"),
                          ("processing (started to finished)", "processing_ms")):
            v = t[key]
            if v:
                w("| %s p50 / p95 | %s / %s |\n" % (name, ms(percentile(v, 50)), ms(percentile(v, 95))))
        w("\n")
        mo, mt, me = service["memory_ops"], service["memory_throughput"], service["memory_end"]
        ms0 = service["memory_start"]
        w("| peak RSS (VmHWM) | img-rest | img-engine worker (child) |\n|---|---:|---:|\n")
        w("| idle, after start | %s | %s |\n" % (mib(ms0["rest_hwm_kb"]), mib(ms0["engine_child_hwm_kb"])))
        w("| peak during part 1 (4000x3000 operations) | %s | %s |\n"
          % (mib(max([r.get("rest_peak_kb") or 0 for r in service["ops"]] + [mo["rest_hwm_kb"] or 0])),
             mib(max([r.get("engine_peak_kb") or 0 for r in service["ops"]]
                     + [mo["engine_child_hwm_kb"] or 0]))))
        mb = service["memory_before_throughput"]
        w("| RSS before the %d jobs (kept from parts 1-2) | %s | %s |\n"
          % (t["jobs"], mib(mb["rest_rss_kb"]), mib(mb["engine_child_rss_kb"])))
        w("| peak during the %d jobs%s | %s | %s |\n"
          % (t["jobs"], "" if service.get("peak_reset") else " (peak not reset: whole run)",
             mib(mt["rest_hwm_kb"]), mib(mt["engine_child_hwm_kb"])))
        w("| RSS at the end | %s | %s |\n" % (mib(me["rest_rss_kb"]), mib(me["engine_child_rss_kb"])))
        w("\n(img-engine's supervisor parent: %s peak.)\n\n" % mib(me["engine_supervisor_hwm_kb"]))
        if service.get("wrk"):
            w("wrk, 2 threads, 32 connections, %s each. img-rest closes every connection "
              "after one request (keep-alive off on purpose), so this is "
              "connection-per-request. Every request shows as a socket read error: the "
              "answers do not say `Connection: close`, so wrk sends its next request on the "
              "closed connection and reconnects; the counted requests were all answered "
              "200.\n\n" % ("%ss" % args.wrk_seconds))
            w("| route | requests/s | latency p50 | p99 | socket errors (connect/read/write/timeout) | non-2xx |\n")
            w("|---|---:|---:|---:|---|---:|\n")
            for label, r in service["wrk"].items():
                w("| %s | %s | %s | %s | %s | %s |\n"
                  % (label, "%.0f" % r["rps"] if r["rps"] else "—", r.get("latency_p50", "—"),
                     r.get("latency_p99", "—"), "/".join(str(x) for x in r["socket_errors"]),
                     r["non_2xx"]))
            w("\n")
        notes = list(service.get("exited", []))
        if t["n_errors"]:
            notes += t["errors"]
        if t["failed"]:
            notes += ["failed job: %r" % e for e in t["failed_examples"]]
        if service.get("log_warnings"):
            notes += ["log: " + x for x in service["log_warnings"][:10]]
        if notes:
            w("Warnings and errors seen:\n\n" + "".join("- %s\n" % n for n in notes) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("machine")
    m.add_argument("out")
    m.add_argument("--build-type", default="?")
    p = sub.add_parser("pillow")
    p.add_argument("runs", type=int)
    p.add_argument("out_dir")
    p.add_argument("images", nargs="+")
    s = sub.add_parser("service")
    s.add_argument("--rest", required=True)
    s.add_argument("--engine", required=True)
    s.add_argument("--docs", required=True)
    s.add_argument("--photo", required=True, help="the 4000x3000 JPEG")
    s.add_argument("--photo2", required=True, help="the same with rectangles painted in")
    s.add_argument("--dune", required=True, help="the 1680x1050 JPEG")
    s.add_argument("--runs", type=int, default=5)
    s.add_argument("--avif-runs", type=int, default=5)
    s.add_argument("--core-runs", type=int, default=20)
    s.add_argument("--jobs", type=int, default=200)
    s.add_argument("--clients", type=int, default=4)
    s.add_argument("--wrk-seconds", type=int, default=10)
    s.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("dir")
    r.add_argument("names", nargs="+", help="IMAGE=LABEL, in column order")
    r.add_argument("--wrk-seconds", type=int, default=10)
    args = ap.parse_args()
    {"machine": cmd_machine, "pillow": cmd_pillow, "service": cmd_service,
     "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
