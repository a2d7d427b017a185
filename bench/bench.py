#!/usr/bin/env python3
"""bench.py — the orchestrating half of `make bench` (scripts/bench.sh drives it).

Python 3 standard library only. It starts the systems compared, runs the
measuring tools against them in interleaved rounds, and writes the report:

  run     starts img-rest + img-engine (temporary config and data folder on
          free 127.0.0.1 ports, defaults otherwise), the sharp server and the
          Pillow server; runs ROUNDS rounds, each of which measures every
          system once per workload and client count (raw libvips with
          bench/raw_vips, the HTTP systems with bench/loadgen), the order of
          the systems rotated from round to round; then the floor under an
          upload (bench/bare_receiver, against the service at 1 client); then
          the memory measures on a fresh service, and a pipeline job against
          the same steps as separate jobs on another; writes the raw JSON
          under OUT and the report
          (OUT/results.md, and --results, normally bench/RESULTS.md)
  report  writes the report again from the JSON files in OUT

Throughput is the median of the rounds; a ratio is the median of the
per-round ratios (both systems measured in the same round, so noise from
other work on the machine mostly cancels).
"""

import argparse
import datetime
import glob
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

WORKLOADS = {
    # name: (input key, output width, description)
    "W1": ("w1", 256, "4000x3000 photo JPEG q90 (5 MB) to 256 px wide, JPEG q80"),
    "W2": ("w2", 128, "640x480 JPEG q90 to 128 px wide, JPEG q80"),
}
SYSTEMS = ("raw", "service", "sharp", "pillow")
LABELS = {"raw": "raw libvips", "service": "this service", "sharp": "sharp server",
          "pillow": "Pillow server"}

# The goals the service is measured against (reported, never enforced).
GOAL_W1_RAW = 0.95
GOAL_W1_SHARP = 1.0
GOAL_REST_CPU_MS = 3.0
GOAL_SUBMIT_P99_MS = 20.0
GOAL_W2_RAW = 0.8
GOAL_ENGINE_PNG_BYTES = 200e6


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def run_out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


_given_ports = set()


def free_port():
    """A port nobody listens on now, never the same twice in this run (a port
    released by bind(0) may come back from the next bind(0))."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def http_get(port, path, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def proc_status(pid, key):
    """A kB value (VmRSS, VmHWM, ...) from /proc/<pid>/status, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, TypeError):
        pass
    return None


def reset_peak(pid):
    """Sets VmHWM back to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except (OSError, TypeError):
        return False


def children(pid):
    kids = []
    for task in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(task) as f:
                kids += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            pass
    return kids


def image_size(path):
    w = run_out(["vipsheader", "-f", "width", path])
    h = run_out(["vipsheader", "-f", "height", path])
    return int(w), int(h)


# -- the systems -------------------------------------------------------------------

class Proc:
    """A server process, its output in a log file.

    It gets a process group of its own (a Ctrl-C reaches bench.py, which
    stops the servers in order) but stays in bench.py's session: with the
    kernel's autogroup scheduling a session is one scheduling group, so every
    system measured (servers, load generator, raw_vips) competes as one group
    against other work on the machine, whatever its number of processes."""

    def __init__(self, name, cmd, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        with open(log_path, "wb") as logf:
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                      stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                      preexec_fn=os.setpgrp)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, grace=15):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()

    def tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_http(port, path, procs, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if not p.alive():
                raise RuntimeError("%s exited with %s:\n%s" % (p.name, p.p.returncode, p.tail()))
        try:
            status, body = http_get(port, path, timeout=2)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("GET %s on port %d did not answer 200 within %ss" % (path, port, timeout))


class Service:
    """img-rest + one img-engine from a temporary config on free ports."""

    def __init__(self, args, label, extra=None):
        self.dir = tempfile.mkdtemp(prefix="img-bench-%s-" % label)
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        self.port = free_port()
        broker = "tcp://127.0.0.1:%d" % free_port()
        self.settings = {
            "data_dir": data,
            "http_listen": "127.0.0.1:%d" % self.port,
            "broker_bind": broker,
            "broker_connect": broker,
            "docs_dir": os.path.join(args.root, "docs"),
        }
        self.settings.update(extra or {})
        conf = os.path.join(self.dir, "img.conf")
        with open(conf, "w") as f:
            for k, v in self.settings.items():
                f.write("%s = %s\n" % (k, v))
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMG_")}
        self.rest = Proc("img-rest", [args.rest, "-c", conf],
                         os.path.join(self.dir, "img-rest.log"), env)
        self.engine = Proc("img-engine", [args.engine, "-c", conf],
                           os.path.join(self.dir, "img-engine.log"), env)
        self.procs = [self.rest, self.engine]
        wait_http(self.port, "/ready", self.procs)

    def engine_child(self):
        kids = children(self.engine.pid)
        return kids[0] if kids else None

    def stop(self):
        for p in self.procs:
            p.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SyncServer:
    """The sharp or Pillow server: one process answering the image."""

    def __init__(self, name, cmd, out_dir, cwd=None):
        self.port = free_port()
        self.proc = Proc(name, cmd + [str(self.port)], os.path.join(out_dir, name + ".log"),
                         cwd=cwd)
        self.procs = [self.proc]
        self.info = json.loads(wait_http(self.port, "/", self.procs))

    def stop(self):
        self.proc.stop()


# -- one measured run ------------------------------------------------------------------

def run_tool(cmd, out_path, timeout):
    """Runs a measuring tool, keeps its JSON (with the command) in out_path."""
    la = loadavg()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        sys.stderr.write(p.stderr)
        if p.returncode not in (0, 1):
            raise RuntimeError("exit %d" % p.returncode)
        result = json.loads(p.stdout)
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as e:
        result = {"failed": "%s: %s" % (os.path.basename(cmd[0]), e)}
    result["cmd"] = cmd
    result["loadavg_before"] = la
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    return result


def loadgen_cmd(args, mode, url, wl, clients, pids, warmup=None, duration=None, jobs=None,
                file=None, size=None):
    key, width, _ = WORKLOADS[wl] if wl in WORKLOADS else (None, 256, None)
    path = file or args.inputs[key]
    iw, ih = size or args.sizes[key]
    cmd = [os.path.join(args.tools, "loadgen"), "--mode", mode, "--url", url, "--file", path,
           "--param", "width=%d" % width, "--param", "format=jpeg", "--param", "quality=80",
           "--expect-width", str(width), "--expect-height", str(max(1, round(ih * width / iw))),
           "--clients", str(clients)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    else:
        cmd += ["--warmup", str(warmup if warmup is not None else args.warmup),
                "--duration", str(duration if duration is not None else args.duration)]
    for name, pid in pids:
        cmd += ["--pid", "%s=%d" % (name, pid)]
    return cmd


def describe(result):
    if "failed" in result:
        return "FAILED (%s)" % result["failed"]
    text = "%.1f jobs/s" % result["jobs_per_s"]
    if "e2e_ms" in result:
        text += ", e2e p50 %.0f ms" % result["e2e_ms"].get("p50", 0)
    if "submit_ms" in result:
        text += ", submit p99 %.0f ms" % result["submit_ms"].get("p99", 0)
    if result.get("errors"):
        text += ", %d ERRORS" % result["errors"]
    return text


def measure_round(args, r, systems, runs_dir):
    order = list(SYSTEMS[r % len(SYSTEMS):] + SYSTEMS[:r % len(SYSTEMS)])
    for name in order:
        if name == "raw":
            for wl in WORKLOADS:
                key, width, _ = WORKLOADS[wl]
                for conc in args.raw_concurrency:
                    cmd = [os.path.join(args.tools, "raw_vips"), "--file", args.inputs[key],
                           "--width", str(width), "--quality", "80", "--threads", str(args.nproc),
                           "--concurrency", str(conc), "--warmup", str(args.raw_warmup),
                           "--duration", str(args.duration)]
                    res = run_tool(cmd, os.path.join(runs_dir, "r%d-raw-%s-conc%d.json"
                                                     % (r + 1, wl, conc)),
                                   args.duration + args.raw_warmup + 120)
                    log("  round %d  raw libvips  %s  concurrency %d: %s"
                        % (r + 1, wl, conc, describe(res)))
            continue
        server = systems.get(name)
        if server is None:
            continue
        for wl in WORKLOADS:
            for clients in args.clients:
                out = os.path.join(runs_dir, "r%d-%s-%s-c%d.json" % (r + 1, name, wl, clients))
                dead = [p.name for p in server.procs if not p.alive()]
                if dead:
                    res = {"failed": "%s is not running" % ", ".join(dead)}
                    with open(out, "w") as f:
                        json.dump(res, f)
                else:
                    if name == "service":
                        cmd = loadgen_cmd(args, "service", "http://127.0.0.1:%d" % server.port, wl,
                                          clients, [("img-rest", server.rest.pid),
                                                    ("img-engine", server.engine.pid)])
                    else:
                        cmd = loadgen_cmd(args, "sync", "http://127.0.0.1:%d/resize" % server.port,
                                          wl, clients, [(name, server.proc.pid)])
                    res = run_tool(cmd, out, args.duration + args.warmup + 180)
                log("  round %d  %-13s %s  %d clients: %s"
                    % (r + 1, LABELS[name], wl, clients, describe(res)))


def uploads_phase(args, svc, runs_dir, out_dir):
    """img-rest's RSS after --mem-uploads uploads of the 5 MB photo: the
    rounds' service has taken the W1 uploads of its runs (and the W2 ones); a
    top-up run brings the W1 count to --mem-uploads if needed, but starts no
    upload after --mem-seconds (on a busy machine the count stays lower)."""
    counts = {}
    for wl in WORKLOADS:
        for path in glob.glob(os.path.join(runs_dir, "r*-service-%s-c*.json" % wl)):
            res = load(path) or {}
            counts[wl] = counts.get(wl, 0) + (res.get("jobs_all") or 0) + (res.get("errors") or 0)
    up = {"w1_uploads_in_rounds": counts.get("W1", 0), "w2_uploads_in_rounds": counts.get("W2", 0)}
    missing = args.mem_uploads - counts.get("W1", 0)
    if missing > 0 and svc.rest.alive():
        log("memory: %d more uploads of %s (the rounds made %d)"
            % (missing, os.path.basename(args.inputs["w1"]), counts.get("W1", 0)))
        cmd = loadgen_cmd(args, "service", "http://127.0.0.1:%d" % svc.port, "W1", 4,
                          [("img-rest", svc.rest.pid), ("img-engine", svc.engine.pid)],
                          jobs=missing) + ["--max-seconds", str(args.mem_seconds)]
        res = run_tool(cmd, os.path.join(out_dir, "memory-uploads.json"),
                       args.mem_seconds + 300)
        up["top_up"] = {"jobs": res.get("jobs"), "errors": res.get("errors"),
                        "failed": res.get("failed")}
        up["w1_uploads"] = counts.get("W1", 0) + (res.get("jobs_all") or 0) + \
            (res.get("errors") or 0)
    else:
        up["w1_uploads"] = counts.get("W1", 0)
    up["rest_rss_kb"] = proc_status(svc.rest.pid, "VmRSS")
    up["rest_hwm_kb"] = proc_status(svc.rest.pid, "VmHWM")
    log("memory: img-rest RSS %s kB (peak %s kB) after %d uploads of the 5 MB photo and %d of "
        "the small one" % (up["rest_rss_kb"], up["rest_hwm_kb"], up["w1_uploads"],
                           up["w2_uploads_in_rounds"]))
    return up


FLOOR_CLIENTS = (1, 4)


def floor_phase(args, svc, out_dir):
    """The floor under accepting an upload: bench/bare_receiver (the body
    written to a file, the file and its folder synced, nothing else) at 1 and
    4 clients, and the service at 1 client in between (its 4-client figures
    are the rounds'), for each workload. Only CPU per upload is compared:
    the bare receiver resizes nothing."""
    floor = {}
    folder = tempfile.mkdtemp(prefix="img-bench-bare-")
    port = free_port()
    bare = None
    try:
        bare = Proc("bare_receiver", [os.path.join(args.tools, "bare_receiver"), "--port",
                                      str(port), "--dir", folder],
                    os.path.join(out_dir, "bare_receiver.log"))
        wait_http(port, "/health", [bare])
        url = "http://127.0.0.1:%d/" % port
        for wl in WORKLOADS:
            for c in FLOOR_CLIENTS:
                cmd = loadgen_cmd(args, "upload", url, wl, c, [("bare", bare.pid)])
                res = run_tool(cmd, os.path.join(out_dir, "floor-bare-%s-c%d.json" % (wl, c)),
                               args.duration * 4 + 60)
                floor[(wl, "bare", c)] = res
                log("floor: bare receiver, %s, %d client(s): %s, %s ms CPU per upload"
                    % (wl, c, describe(res), fmt(((res.get("cpu") or {}).get("bare") or {})
                                                 .get("ms_per_job"))))
                if c == 1 and svc.rest.alive():
                    cmd = loadgen_cmd(args, "service", "http://127.0.0.1:%d" % svc.port, wl, 1,
                                      [("img-rest", svc.rest.pid),
                                       ("img-engine", svc.engine.pid)])
                    res = run_tool(cmd, os.path.join(out_dir, "floor-service-%s-c1.json" % wl),
                                   args.duration * 4 + 60)
                    floor[(wl, "service", 1)] = res
                    log("floor: the service, %s, 1 client: %s, img-rest %s ms CPU per job"
                        % (wl, describe(res), fmt(((res.get("cpu") or {}).get("img-rest") or {})
                                                  .get("ms_per_job"))))
                for name in os.listdir(folder):  # the receiver keeps the folder open
                    os.remove(os.path.join(folder, name))
    except (OSError, RuntimeError) as e:
        log("floor: skipped: %s" % e)
    finally:
        if bare:
            bare.stop()
        shutil.rmtree(folder, ignore_errors=True)
    with open(os.path.join(out_dir, "floor.json"), "w") as f:
        json.dump({"%s-%s-c%d" % k: v for k, v in floor.items()}, f, indent=1)


def memory_phase(args, out_dir):
    """A fresh service: img-engine's peak RSS on the 100 MP inputs."""
    log("memory: a fresh service; 100 MP JPEG and PNG to 256 px")
    svc = Service(args, "memory")
    mem = {"config": svc.settings}
    try:
        time.sleep(1.0)
        child = svc.engine_child()
        mem["idle"] = {"rest_rss_kb": proc_status(svc.rest.pid, "VmRSS"),
                       "engine_child_rss_kb": proc_status(child, "VmRSS") if child else None,
                       "engine_supervisor_rss_kb": proc_status(svc.engine.pid, "VmRSS")}
        for key, label in (("big_jpeg", "100 MP JPEG"), ("big_png", "100 MP PNG")):
            child = svc.engine_child()
            before = proc_status(child, "VmRSS") if child else None
            reset = reset_peak(child) if child else False
            cmd = loadgen_cmd(args, "service", "http://127.0.0.1:%d" % svc.port, "big", 1, [],
                              jobs=1, file=args.inputs[key], size=args.sizes[key])
            res = run_tool(cmd, os.path.join(out_dir, "memory-%s.json" % key), 300)
            child_after = svc.engine_child()
            entry = {"label": label, "file": args.inputs[key],
                     "bytes": os.path.getsize(args.inputs[key]),
                     "size": list(args.sizes[key]), "engine_child_pid": child,
                     "engine_restarted": child_after != child, "rss_before_kb": before,
                     "peak_reset": reset,
                     "engine_child_hwm_kb": proc_status(child, "VmHWM") if child else None,
                     "rest_hwm_kb": proc_status(svc.rest.pid, "VmHWM"),
                     "errors": res.get("errors"), "failed": res.get("failed"),
                     "e2e_ms": (res.get("e2e_ms") or {}).get("p50")}
            mem[key] = entry
            log("  %s (%.0f MB): img-engine child peak %s kB (RSS before %s kB), %s"
                % (label, entry["bytes"] / 1e6, entry["engine_child_hwm_kb"], before,
                   describe(res)))
    finally:
        svc.stop()
    return mem



# -- a pipeline against the same steps as separate jobs ---------------------------

PIPELINE_STEPS = [{"op": "resize", "width": 1024}, {"op": "rotate", "angle": 90},
                  {"op": "sharpen", "sigma": 1}, {"op": "grayscale"}]


def submit(port, op, fields, data):
    """POST /op with data as the file field and fields as form fields; the
    202's JSON."""
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                      % (boundary, k, v)).encode())
    parts.append(('--%s\r\nContent-Disposition: form-data; name="file"; filename="in"\r\n'
                  'Content-Type: application/octet-stream\r\n\r\n' % boundary).encode())
    body = b"".join(parts) + data + ("\r\n--%s--\r\n" % boundary).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/%s" % (port, op), data=body, method="POST",
                                 headers={"Content-Type": "multipart/form-data; boundary=" +
                                          boundary})
    with urllib.request.urlopen(req, timeout=60) as r:
        if r.status != 202:
            raise RuntimeError("POST /%s answered %d" % (op, r.status))
        return json.loads(r.read())


def result_of(port, op, job_id):
    """Waits for the job and answers its result's bytes."""
    while True:
        st = json.loads(http_get(port, "/%s/status/%s?wait=30" % (op, job_id), 60)[1])
        if st["status"] == "failed":
            raise RuntimeError("%s job failed: %s" % (op, st.get("error")))
        if st["status"] == "complete":
            return http_get(port, "/%s/%s" % (op, job_id), 60)[1]


def cpu_s(pids):
    """utime + stime of the processes pids, in seconds."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def pipeline_phase(args, out_dir):
    """One client, one image at a time: the W1 photo through the steps of
    PIPELINE_STEPS as one pipeline job, then as separate jobs (each uploads
    the result of the one before), alternately; the wall time and the CPU of
    both programs per image. A fresh service with result_cache off."""
    log("pipeline: %d steps as one job against separate jobs, %d images each"
        % (len(PIPELINE_STEPS), args.pipeline_images))
    svc = Service(args, "pipeline", {"result_cache": 0})
    res = {"steps": PIPELINE_STEPS, "images": args.pipeline_images,
           "pipeline": {"s": [], "cpu_s": []}, "separate": {"s": [], "cpu_s": []}}
    with open(args.inputs["w1"], "rb") as f:
        photo = f.read()
    try:
        pids = [svc.rest.pid, svc.engine_child()]

        def one(kind):
            t0, c0 = time.monotonic(), cpu_s(pids)
            if kind == "pipeline":
                job = submit(svc.port, "pipeline", {"steps": json.dumps(PIPELINE_STEPS),
                                                    "quality": 80}, photo)
                out = result_of(svc.port, "pipeline", job["id"])
            else:
                out = photo
                for i, step in enumerate(PIPELINE_STEPS):
                    fields = {k: v for k, v in step.items() if k != "op"}
                    if i == len(PIPELINE_STEPS) - 1:
                        fields["quality"] = 80
                    job = submit(svc.port, step["op"], fields, out)
                    out = result_of(svc.port, step["op"], job["id"])
            res[kind]["s"].append(time.monotonic() - t0)
            res[kind]["cpu_s"].append(cpu_s(pids) - c0)
            return out

        one("pipeline")  # warm-up
        one("separate")
        for i in range(args.pipeline_images):
            for kind in (("pipeline", "separate") if i % 2 == 0 else ("separate", "pipeline")):
                one(kind)
        for kind in ("pipeline", "separate"):
            res[kind]["s"] = res[kind]["s"][1:]
            res[kind]["cpu_s"] = res[kind]["cpu_s"][1:]
            log("  %s: %.0f ms per image (median), CPU %.0f ms"
                % (kind, median(res[kind]["s"]) * 1000, median(res[kind]["cpu_s"]) * 1000))
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        res["error"] = str(e)
        log("pipeline: FAILED: %s" % e)
    finally:
        svc.stop()
    return res


def machine_info(args):
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
    debian = ""
    try:
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "nproc": os.cpu_count(), "memory_gib": round(mem_kb / 1048576.0, 1),
        "kernel": platform.release(),
        "os": run_out(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
        "debian_version": debian,
        "libvips": run_out(["vips", "--version"]),
        "node": run_out([args.node, "--version"]) if args.node else "",
        "curl": run_out(["curl-config", "--version"]),
        "build_type": args.build_type,
        "command": args.command,
        "loadavg_start": loadavg(),
    }


def cmd_run(args):
    args.clients = [int(x) for x in args.clients.split(",")]
    args.raw_concurrency = sorted({1, args.nproc})
    args.inputs = {"w1": args.w1, "w2": args.w2, "big_jpeg": args.big_jpeg, "big_png": args.big_png}
    args.sizes = {k: image_size(v) for k, v in args.inputs.items()}
    runs_dir = os.path.join(args.out, "runs")
    os.makedirs(runs_dir, exist_ok=True)
    for old in glob.glob(os.path.join(runs_dir, "*.json")) + \
            glob.glob(os.path.join(args.out, "memory*.json")):
        os.remove(old)
    machine = machine_info(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    systems = {}
    skipped = []
    t_start = time.monotonic()
    try:
        log("starting the systems: the service (img-rest + img-engine), the sharp server, "
            "the Pillow server")
        systems["service"] = Service(args, "rounds")
        if args.node and os.path.isdir(os.path.join(args.root, "bench", "node_modules", "sharp")):
            try:
                systems["sharp"] = SyncServer(
                    "sharp-server", [args.node, os.path.join(args.root, "bench", "sharp-server.mjs")],
                    args.out, cwd=os.path.join(args.root, "bench"))
            except RuntimeError as e:
                skipped.append("sharp server: %s" % e)
        else:
            skipped.append("sharp server: sharp is not installed (cd bench && npm ci)")
        if args.pillow_python:
            try:
                systems["pillow"] = SyncServer(
                    "pillow-server",
                    [args.pillow_python, os.path.join(args.root, "bench", "pillow-server.py")],
                    args.out)
            except RuntimeError as e:
                skipped.append("Pillow server: %s" % e)
        else:
            skipped.append("Pillow server: no python3 with PIL (apt-get install python3-pil)")
        for s in skipped:
            log("skipped: " + s)
        machine["sharp"] = systems["sharp"].info if "sharp" in systems else None
        machine["pillow"] = systems["pillow"].info if "pillow" in systems else None
        machine["service_config"] = systems["service"].settings

        for r in range(args.rounds):
            log("round %d of %d (%.0f s so far)" % (r + 1, args.rounds, time.monotonic() - t_start))
            measure_round(args, r, systems, runs_dir)
        uploads = uploads_phase(args, systems["service"], runs_dir, args.out)
        floor_phase(args, systems["service"], args.out)
    finally:
        for s in systems.values():
            s.stop()
    memory = memory_phase(args, args.out)
    memory["uploads"] = uploads
    pipeline = pipeline_phase(args, args.out)
    with open(os.path.join(args.out, "pipeline.json"), "w") as f:
        json.dump(pipeline, f, indent=1)
    machine["loadavg_end"] = loadavg()
    machine["seconds"] = round(time.monotonic() - t_start)
    machine["skipped"] = skipped
    machine["rounds"] = args.rounds
    machine["duration_s"] = args.duration
    machine["warmup_s"] = args.warmup
    machine["raw_warmup_s"] = args.raw_warmup
    machine["mem_seconds"] = args.mem_seconds
    machine["clients"] = args.clients
    machine["inputs"] = {k: {"file": os.path.basename(v), "bytes": os.path.getsize(v),
                             "size": list(args.sizes[k])} for k, v in args.inputs.items()}
    with open(os.path.join(args.out, "machine.json"), "w") as f:
        json.dump(machine, f, indent=1)
    with open(os.path.join(args.out, "memory.json"), "w") as f:
        json.dump(memory, f, indent=1)
    write_report(args.out, args.results)


# -- the report --------------------------------------------------------------------------

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Runs:
    """The per-round results: runs[(system, workload, clients_or_conc)][round] = JSON."""

    def __init__(self, out):
        self.by = {}
        self.rounds = 0
        for path in glob.glob(os.path.join(out, "runs", "r*.json")):
            name = os.path.basename(path)[1:-5]  # "1-service-W1-c4"
            rnd, system, wl, var = name.split("-", 3)
            self.rounds = max(self.rounds, int(rnd))
            self.by.setdefault((system, wl, var), {})[int(rnd)] = load(path) or {"failed": "?"}

    def get(self, system, wl, var, rnd):
        res = self.by.get((system, wl, var), {}).get(rnd)
        return None if res is None or "failed" in res else res

    def values(self, system, wl, var, fn):
        out = []
        for rnd in range(1, self.rounds + 1):
            res = self.get(system, wl, var, rnd)
            if res is not None:
                try:
                    out.append(fn(res))
                except (KeyError, TypeError):
                    pass
        return out

    def med(self, system, wl, var, fn):
        return median(self.values(system, wl, var, fn))

    def raw_var(self, wl):
        """The raw libvips concurrency with the higher median throughput."""
        best, best_v = None, None
        for (system, w, var) in self.by:
            if system == "raw" and w == wl:
                v = self.med("raw", wl, var, lambda x: x["jobs_per_s"])
                if v is not None and (best_v is None or v > best_v):
                    best, best_v = var, v
        return best

    def ratio(self, wl, clients, other):
        """Median over rounds of service / other, both from the same round."""
        var_other = self.raw_var(wl) if other == "raw" else "c%d" % clients
        ratios = []
        for rnd in range(1, self.rounds + 1):
            s = self.get("service", wl, "c%d" % clients, rnd)
            o = self.get(other, wl, var_other, rnd) if var_other else None
            if s and o and o["jobs_per_s"] > 0:
                ratios.append(s["jobs_per_s"] / o["jobs_per_s"])
        return median(ratios)

    def errors(self):
        total, examples = 0, []
        for key, rounds in sorted(self.by.items()):
            for rnd, res in sorted(rounds.items()):
                if "failed" in res:
                    examples.append("round %d %s %s %s: %s" % (rnd, key[0], key[1], key[2],
                                                               res["failed"]))
                    total += 1
                elif res.get("errors"):
                    total += res["errors"]
                    examples += ["round %d %s %s %s: %s" % (rnd, key[0], key[1], key[2], e)
                                 for e in res.get("error_examples", [])[:2]]
        return total, examples


def fmt(v, digits=1, unit=""):
    if v is None:
        return "—"
    return ("%." + str(digits) + "f%s") % (v, unit)


def mark(ok):
    return "—" if ok is None else ("PASS" if ok else "MISS")


def write_report(out, results_path):
    machine = load(os.path.join(out, "machine.json")) or {}
    memory = load(os.path.join(out, "memory.json")) or {}
    runs = Runs(out)
    clients = machine.get("clients", [4, 8])
    lines = []
    w = lines.append
    jps = (lambda x: x["jobs_per_s"])

    def cpu(name):
        return lambda x: x["cpu"][name]["ms_per_job"]

    w("# Benchmark results: this service against raw libvips, sharp and Pillow\n")
    w("Written by `%s` (scripts/bench.sh, bench/bench.py) on %s; the raw JSON of every run "
      "is under the build folder (`BUILD/bench/`). %d interleaved rounds: each round measures "
      "every system once per workload and client count, the order of the systems rotated "
      "from round to round; throughput is the median of the rounds, a ratio the median of "
      "the per-round ratios. Each HTTP run is %s s of warm-up then %s s measured; raw "
      "libvips %s s + %s s. Measuring took %s s. All programs run in the bench's own "
      "session (one scheduling group for the kernel's autogroup), so every system competes "
      "alike with other work on the machine.\n"
      % (machine.get("command", "make bench"), machine.get("date", "?"), runs.rounds,
         machine.get("warmup_s"), machine.get("duration_s"), machine.get("raw_warmup_s"),
         machine.get("duration_s"), machine.get("seconds")))

    # -- machine
    sharp = machine.get("sharp") or {}
    pillow = machine.get("pillow") or {}
    w("## Machine\n")
    w("| | |\n|---|---|")
    w("| CPU | %s, %s cores (nproc), %s GiB RAM |" % (machine.get("cpu", "?"),
                                                     machine.get("nproc", "?"),
                                                     machine.get("memory_gib", "?")))
    w("| OS | %s (Debian %s), Linux %s |" % (machine.get("os", "?"),
                                             machine.get("debian_version", "?"),
                                             machine.get("kernel", "?")))
    w("| libvips (Debian; the service and raw_vips) | %s |" % machine.get("libvips", "?"))
    w("| sharp | %s |" % ("%s with its own libvips %s; Node %s; sharp.concurrency() %s, "
                          "libuv pool %s" % (sharp.get("sharp"), sharp.get("libvips"),
                                             sharp.get("node"), sharp.get("concurrency"),
                                             sharp.get("uv_threadpool_size"))
                          if sharp else "not measured"))
    w("| Pillow | %s |" % ("%s (Debian python3-pil), Python %s" % (pillow.get("pillow"),
                                                                   pillow.get("python"))
                           if pillow else "not measured"))
    w("| load generator | bench/loadgen (%s) |" % machine.get("curl", "libcurl"))
    w("| service build | CMAKE_BUILD_TYPE=%s; config: free 127.0.0.1 ports, temporary "
      "data_dir, defaults otherwise (engine_threads = cores, http_threads 32, log_level info) |"
      % machine.get("build_type", "?"))
    w("| 1-minute load average, start / end | %s / %s (above ~0.3 before the start means "
      "other work was running) |\n" % (machine.get("loadavg_start"), machine.get("loadavg_end")))
    if machine.get("skipped"):
        w("Skipped: " + "; ".join(machine["skipped"]) + "\n")

    inputs = machine.get("inputs", {})
    w("Workloads (inputs made with `vips` from mate-backgrounds' Elephants_5640x3172.jpg, "
      "camera EXIF kept):\n")
    for wl, (key, width, desc) in WORKLOADS.items():
        size = inputs.get(key, {})
        w("- **%s**: %s; input %s bytes." % (wl, desc, size.get("bytes", "?")))
    w("")

    # -- throughput
    raw_var = {wl: runs.raw_var(wl) for wl in WORKLOADS}
    w("## Throughput (jobs/s, median of %d rounds) and the service's ratios\n" % runs.rounds)
    w("| workload | clients | raw libvips | sharp | Pillow | **service** | service / raw | "
      "service / sharp | service / Pillow |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for wl in WORKLOADS:
        raw = runs.med("raw", wl, raw_var[wl], jps) if raw_var[wl] else None
        for c in clients:
            var = "c%d" % c
            row = [runs.med(s, wl, var, jps) for s in ("sharp", "pillow", "service")]
            rs = [runs.ratio(wl, c, o) for o in ("raw", "sharp", "pillow")]
            ratios[(wl, c)] = rs
            w("| %s | %d | %s | %s | %s | **%s** | %s | %s | %s |"
              % (wl, c, fmt(raw), fmt(row[0]), fmt(row[1]), fmt(row[2]),
                 fmt(rs[0], 2, "x"), fmt(rs[1], 2, "x"), fmt(rs[2], 2, "x")))
    w("")
    conc = {wl: (raw_var[wl] or "?").replace("conc", "") for wl in WORKLOADS}
    w("Raw libvips: bench/raw_vips, %s threads (= cores), each looping vips_thumbnail from "
      "the file and vips_jpegsave_buffer (Q 80, strip), cache off, no HTTP and no client, "
      "linked with the service's orc lock (shared/image/orc_lock.c: without it libvips 8.14 "
      "with orc 0.4.33 can corrupt the heap when threads free and compile orc code at once); "
      "run with libvips concurrency %s per image, the better one used (W1: %s, W2: %s; "
      "both in the per-round table). The HTTP systems are driven by bench/loadgen on the same "
      "2 cores (its CPU per job is in the CPU table). Every upload carries a unique JPEG "
      "comment, so no result cache can answer.\n"
      % (machine.get("nproc", "?"), " and ".join(sorted({v.replace("conc", "") for k in runs.by
                                                          if k[0] == "raw"
                                                          for v in [k[2]]})),
         conc["W1"], conc["W2"]))

    # -- goals
    w("## Goals\n")
    w("| goal | measured | target | |")
    w("|---|---:|---:|---|")
    for c in clients:
        r = ratios.get(("W1", c), [None] * 3)[0]
        w("| W1 jobs/s vs raw libvips, %d clients | %s | >= %.2fx | %s |"
          % (c, fmt(r, 2, "x"), GOAL_W1_RAW, mark(None if r is None else r >= GOAL_W1_RAW)))
    for c in clients:
        r = ratios.get(("W1", c), [None] * 3)[1]
        w("| W1 jobs/s vs sharp, %d clients | %s | >= %.2fx | %s |"
          % (c, fmt(r, 2, "x"), GOAL_W1_SHARP, mark(None if r is None else r >= GOAL_W1_SHARP)))
    floor = load(os.path.join(out, "floor.json")) or {}
    floor_ms = [(((floor.get("W1-bare-c%d" % c) or {}).get("cpu") or {}).get("bare") or {})
                .get("ms_per_job") for c in FLOOR_CLIENTS]
    for c in clients:
        v = runs.med("service", "W1", "c%d" % c, cpu("img-rest"))
        w("| img-rest CPU per 5 MB upload (W1), %d clients (the floor, bench/bare_receiver: %s) "
          "| %s | <= %.0f ms | %s |"
          % (c, ", ".join("%s at %d client%s" % (fmt(ms, 1, " ms"), n, "s" if n > 1 else "")
                          for ms, n in zip(floor_ms, FLOOR_CLIENTS)),
             fmt(v, 1, " ms"), GOAL_REST_CPU_MS,
             mark(None if v is None else v <= GOAL_REST_CPU_MS)))
    c_hi, c_lo = max(clients), min(clients)
    sat_lo = runs.med("service", "W1", "c%d" % c_lo, jps)
    sat_hi = runs.med("service", "W1", "c%d" % c_hi, jps)
    p99 = runs.med("service", "W1", "c%d" % c_hi, lambda x: x["submit_ms"]["p99"])
    saturated = sat_lo is not None and sat_hi is not None and sat_hi <= 1.1 * sat_lo
    bare_p99 = ((floor.get("W1-bare-c1") or {}).get("e2e_ms") or {}).get("p99")
    w("| submit (POST to 202) p99 at twice the saturating load: W1 at %d clients (%d clients %s: "
      "%s jobs/s at %d, %s at %d; the floor, bench/bare_receiver's POST to 200 at 1 client: "
      "p99 %s) | %s | <= %.0f ms | %s |"
      % (c_hi, c_lo, "saturate" if saturated else "did not quite saturate this time",
         fmt(sat_lo), c_lo, fmt(sat_hi), c_hi, fmt(bare_p99, 1, " ms"), fmt(p99, 0, " ms"),
         GOAL_SUBMIT_P99_MS, mark(None if p99 is None else p99 <= GOAL_SUBMIT_P99_MS)))
    for c in clients:
        r = ratios.get(("W2", c), [None] * 3)[0]
        w("| W2 jobs/s vs raw libvips, %d clients | %s | >= %.2fx | %s |"
          % (c, fmt(r, 2, "x"), GOAL_W2_RAW, mark(None if r is None else r >= GOAL_W2_RAW)))
    png = memory.get("big_png") or {}
    hwm = png.get("engine_child_hwm_kb")
    w("| img-engine peak RSS, 100 MP PNG to 256 px | %s | <= 200 MB | %s |\n"
      % ("%.0f MB (%.0f MiB)" % (hwm * 1024 / 1e6, hwm / 1024.0) if hwm else "—",
         mark(None if hwm is None or png.get("errors") else hwm * 1024 <= GOAL_ENGINE_PNG_BYTES)))
    w("A goal marked MISS is reported, not enforced: the bench never fails because of one.\n")

    # -- CPU
    w("## CPU time per job (ms, user + system, median of rounds)\n")
    w("Read from /proc/<pid>/stat (utime + stime) of each program and all its descendants "
      "(img-engine's supervisor and the engine process it forks) at the start and the end of "
      "the measured window, divided by the jobs finished in it.\n")
    w("| workload | clients | service: img-rest | service: img-engine | service: both | "
      "sharp (node) | Pillow (python) | raw libvips | load generator: service / sharp / Pillow |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for wl in WORKLOADS:
        raw_cpu = runs.med("raw", wl, raw_var[wl], lambda x: x["cpu_ms_per_job"]) \
            if raw_var[wl] else None
        for c in clients:
            var = "c%d" % c
            rest = runs.med("service", wl, var, cpu("img-rest"))
            eng = runs.med("service", wl, var, cpu("img-engine"))
            both = runs.med("service", wl, var, lambda x: x["cpu"]["img-rest"]["ms_per_job"] +
                            x["cpu"]["img-engine"]["ms_per_job"])
            lg = [runs.med(s, wl, var, lambda x: x["client_cpu_ms_per_job"])
                  for s in ("service", "sharp", "pillow")]
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s |"
              % (wl, c, fmt(rest), fmt(eng), fmt(both),
                 fmt(runs.med("sharp", wl, var, cpu("sharp"))),
                 fmt(runs.med("pillow", wl, var, cpu("pillow"))), fmt(raw_cpu),
                 " / ".join(fmt(x) for x in lg)))
    w("")

    write_floor(w, out, runs)

    # -- latency
    w("## Latency (ms, median of the rounds' percentiles)\n")
    w("End to end: first byte of the POST to the last byte of the resized image (for the "
      "service: upload, 202, `GET /resize/status/<id>?wait=30` until complete, download). "
      "Submit: POST to its 202.\n")
    w("| workload | clients | system | jobs/round | e2e p50 | e2e p95 | e2e p99 | submit p50 | "
      "submit p95 | submit p99 |")
    w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for wl in WORKLOADS:
        for c in clients:
            var = "c%d" % c
            for s in ("service", "sharp", "pillow"):
                if not runs.values(s, wl, var, jps):
                    continue
                e = [runs.med(s, wl, var, lambda x, p=p: x["e2e_ms"][p])
                     for p in ("p50", "p95", "p99")]
                sub = [runs.med(s, wl, var, lambda x, p=p: x["submit_ms"][p])
                       for p in ("p50", "p95", "p99")] if s == "service" else [None] * 3
                n = runs.med(s, wl, var, lambda x: x["jobs"])
                w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |"
                  % (wl, c, LABELS[s], fmt(n, 0), *(fmt(x, 0) for x in e),
                     *(fmt(x, 0) for x in sub)))
    w("")
    spj = runs.med("service", "W1", "c%d" % c_lo, lambda x: x["status_requests_per_job"])
    cpj = runs.med("service", "W1", "c%d" % c_lo, lambda x: x["connections_per_job"])
    cps = runs.med("sharp", "W1", "c%d" % c_lo, lambda x: x["connections_per_job"])
    w("Per service job the client made %s status request(s) and opened %s new TCP "
      "connection(s) (sharp server: %s per job, keep-alive).\n"
      % (fmt(spj, 2), fmt(cpj, 2), fmt(cps, 2)))

    # -- memory
    w("## Memory\n")
    w("img-engine's peaks on a fresh service (same configuration): the VmHWM of the engine "
      "process (the supervisor's child), reset (clear_refs) before each job. img-rest's RSS "
      "on the service of the rounds, after all their uploads.\n")
    w("| measure | value |")
    w("|---|---:|")
    idle = memory.get("idle") or {}
    w("| img-rest RSS, idle | %s |" % kib(idle.get("rest_rss_kb")))
    w("| img-engine engine process RSS, idle | %s |" % kib(idle.get("engine_child_rss_kb")))
    for key in ("big_jpeg", "big_png"):
        m = memory.get(key)
        if not m:
            continue
        size = m.get("size") or [0, 0]
        note = ""
        if m.get("errors") or m.get("failed"):
            note = " (the job FAILED: %s)" % (m.get("failed") or "%d errors" % m["errors"])
        w("| img-engine peak RSS, %s (%dx%d, %.0f MB) to 256 px | %s%s |"
          % (m["label"], size[0], size[1], m["bytes"] / 1e6, kib(m.get("engine_child_hwm_kb")),
             note))
    up = memory.get("uploads") or {}
    if up:
        w("| img-rest RSS after %s uploads of the 5 MB photo and %s of the 640x480 one "
          "(the rounds' service%s) / its peak | %s / %s |"
          % (up.get("w1_uploads"), up.get("w2_uploads_in_rounds"),
             ", with a top-up run of W1 jobs at 4 clients, at most %.0f s" % machine.get(
                 "mem_seconds", 0) if up.get("top_up") else "",
             kib(up.get("rest_rss_kb")), kib(up.get("rest_hwm_kb"))))
    w("")

    # -- pipeline
    pl = load(os.path.join(out, "pipeline.json"))
    if pl:
        w("## A pipeline against the same steps as separate jobs\n")
        w("The 4000x3000 photo through %s, one client, one image at a time, %d images each "
          "way, alternately (a fresh service, result_cache 0). Separate jobs upload the "
          "result of the job before (an encode and a decode per step); the pipeline runs "
          "the steps as one libvips pipeline with one encode.\n"
          % (" -> ".join("%s(%s)" % (st["op"], ", ".join("%s=%s" % (k, v) for k, v in st.items()
                                                        if k != "op"))
                         for st in pl["steps"]), pl["images"]))
        if pl.get("error"):
            w("The phase FAILED: %s\n" % pl["error"])
        elif pl["pipeline"]["s"] and pl["separate"]["s"]:
            p_s, s_s = median(pl["pipeline"]["s"]), median(pl["separate"]["s"])
            p_c, s_c = median(pl["pipeline"]["cpu_s"]), median(pl["separate"]["cpu_s"])
            w("| per image (median) | one pipeline job | %d separate jobs | separate / pipeline |"
              % len(pl["steps"]))
            w("|---|---:|---:|---:|")
            w("| wall time, submit to result | %.0f ms | %.0f ms | %.2fx |"
              % (p_s * 1000, s_s * 1000, s_s / p_s))
            w("| CPU of img-rest + img-engine | %.0f ms | %.0f ms | %.2fx |"
              % (p_c * 1000, s_c * 1000, s_c / p_c if p_c else float("nan")))
            w("")

    # -- per round
    w("## Every round (jobs/s)\n")
    w("| system | workload | clients / libvips concurrency | " +
      " | ".join("round %d" % (i + 1) for i in range(runs.rounds)) + " | load avg before |")
    w("|---|---|---|" + "---:|" * runs.rounds + "---|")
    for (system, wl, var) in sorted(runs.by, key=lambda k: (SYSTEMS.index(k[0]), k[1], k[2])):
        vals, las = [], []
        for rnd in range(1, runs.rounds + 1):
            res = runs.by[(system, wl, var)].get(rnd)
            if res is None:
                vals.append("—")
            elif "failed" in res:
                vals.append("failed")
            else:
                vals.append(fmt(res["jobs_per_s"]) + (" (%d err)" % res["errors"]
                                                       if res.get("errors") else ""))
            las.append(fmt((res or {}).get("loadavg_before")))
        label = ("concurrency " + var[4:]) if var.startswith("conc") else var[1:]
        w("| %s | %s | %s | %s | %s |" % (LABELS[system], wl, label, " | ".join(vals),
                                          " ".join(las)))
    w("")
    total, examples = runs.errors()
    w("Errors (non-2xx answers, failed jobs, wrong images, transport errors): **%d**." % total)
    for e in examples[:10]:
        w("- %s" % e)
    w("")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    if results_path:
        with open(results_path, "w") as f:
            f.write(text)
    sys.stdout.write(text)


def write_floor(w, out, runs):
    """The floor under accepting an upload (floor_phase), beside img-rest."""
    floor = load(os.path.join(out, "floor.json"))
    if not floor:
        return

    def per_job(res, name):
        return None if not res or "failed" in res else \
            ((res.get("cpu") or {}).get(name) or {}).get("ms_per_job")

    def latency(res, which, q):
        return None if not res or "failed" in res else (res.get(which) or {}).get(q)

    w("## The floor under accepting an upload\n")
    w("bench/bare_receiver does only what any service must to accept an upload durably: it "
      "reads the POST body from the socket in 256 KiB pieces, writes it to a new file, starts "
      "its write-out, syncs the file and its folder, and answers 200. No multipart parsing, "
      "no hash, no image check, no database: its CPU is the kernel's work of moving the bytes "
      "(socket to page cache to disk) plus a minimal HTTP exchange. It is driven by the same "
      "load generator with the same uploads. img-rest does more per job (the contract's "
      "checks, a job row, the engine's messages, the status and result requests); at 1 "
      "client it was measured right after the bare receiver, at 4 clients it is the rounds' "
      "median.\n")
    w("| workload | clients | bare receiver: uploads/s | bare receiver: CPU per upload | "
      "img-rest: CPU per job | load generator: CPU per upload (bare) | "
      "bare receiver: POST to 200, p50 / p99 | service: POST to 202, p50 / p99 |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for wl in WORKLOADS:
        for c in FLOOR_CLIENTS:
            bare = floor.get("%s-bare-c%d" % (wl, c))
            if c == 1:
                service = floor.get("%s-service-c1" % wl)
                rest = per_job(service, "img-rest")
                submit = [latency(service, "submit_ms", q) for q in ("p50", "p99")]
            else:
                rest = runs.med("service", wl, "c%d" % c,
                                lambda x: x["cpu"]["img-rest"]["ms_per_job"])
                submit = [runs.med("service", wl, "c%d" % c,
                                   lambda x, q=q: x["submit_ms"][q]) for q in ("p50", "p99")]
            ok = bare and "failed" not in bare
            w("| %s | %d | %s | %s | %s | %s | %s / %s | %s / %s |"
              % (wl, c, fmt(bare.get("jobs_per_s")) if ok else "failed" if bare else "—",
                 fmt(per_job(bare, "bare"), 2, " ms"), fmt(rest, 2, " ms"),
                 fmt(bare.get("client_cpu_ms_per_job") if ok else None, 2, " ms"),
                 fmt(latency(bare, "e2e_ms", "p50"), 1, " ms"),
                 fmt(latency(bare, "e2e_ms", "p99"), 1, " ms"),
                 fmt(submit[0], 1, " ms"), fmt(submit[1], 1, " ms")))
    w("")
    w("The bare receiver's POST to 200 is the floor under the service's POST to 202: the "
      "same bytes made durable, with nothing else to do and no engine on the cores. At 4 "
      "clients it uploads without pause and the disk is its limit; the service's clients "
      "also wait for their jobs.\n")


def kib(kb):
    return "—" if kb is None else "%.0f MiB" % (kb / 1024.0)


def cmd_report(args):
    write_report(args.out, args.results)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--root", required=True, help="the source tree")
    r.add_argument("--rest", required=True)
    r.add_argument("--engine", required=True)
    r.add_argument("--tools", required=True, help="folder with loadgen and raw_vips")
    r.add_argument("--out", required=True, help="folder for the raw JSON")
    r.add_argument("--results", help="also write the report here (bench/RESULTS.md)")
    r.add_argument("--w1", required=True)
    r.add_argument("--w2", required=True)
    r.add_argument("--big-jpeg", required=True)
    r.add_argument("--big-png", required=True)
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--duration", type=float, default=6)
    r.add_argument("--warmup", type=float, default=2)
    r.add_argument("--raw-warmup", type=float, default=1)
    r.add_argument("--clients", default="4,8")
    r.add_argument("--mem-uploads", type=int, default=300)
    r.add_argument("--mem-seconds", type=float, default=90,
                   help="the top-up of uploads starts none after this many seconds")
    r.add_argument("--pipeline-images", type=int, default=8,
                   help="images through the pipeline and through separate jobs, each")
    r.add_argument("--nproc", type=int, default=os.cpu_count())
    r.add_argument("--node", default=shutil.which("node"))
    r.add_argument("--pillow-python", default="")
    r.add_argument("--build-type", default="?")
    r.add_argument("--command", default="make bench")
    r.set_defaults(fn=cmd_run)
    p = sub.add_parser("report")
    p.add_argument("--out", required=True)
    p.add_argument("--results")
    p.set_defaults(fn=cmd_report)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
