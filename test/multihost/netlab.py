"""netlab — a small network of Linux network namespaces for one test run.

    hub namespace:  bridge br0, address <subnet>.1/24 (the test's own HTTP
                    client speaks from here: enter_hub())
    one namespace per host, joined to the bridge by a veth pair: eth0 in the
                    host's namespace (<subnet>.<octet>/24), v-<host> in the hub

Nothing is added to the namespace the test was started in: the bridge and
its address live in the hub, so the machine's own addresses, routes and
firewall (e.g. a FORWARD policy of DROP on the host's bridges) play no part,
and every run may use the same subnet. Namespace names carry the test's pid
(imgmh<pid>-<host>), so runs side by side do not meet; destroy() stops what
is left in them (by pid) and deletes them, and sweep_stale() does the same
for the namespaces of runs that died without cleaning up (a test killed by a
CTest timeout). Needs root.

Proc runs one program inside a namespace (`ip netns exec` replaces itself
with the program, so the Popen's pid is the program's main process) and
stops it by pid, with its descendants.
"""

import ctypes
import os
import re
import shutil
import signal
import subprocess
import time

CLONE_NEWNET = 0x40000000
PREFIX = "imgmh"
NETNS_DIR = "/run/netns"


def sh(*argv, check=True):
    """Runs a command; its stdout. Raises with its stderr when it fails."""
    res = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(map(str, argv)), res.returncode,
                                               res.stderr.strip()))
    return res.stdout


def why_unavailable():
    """None when namespaces can be made here, else the reason."""
    if os.geteuid() != 0:
        return "needs root (ip netns, veth pairs, a bridge)"
    if not shutil.which("ip"):
        return "no `ip` command (Debian package iproute2)"
    probe = "%s%d-probe" % (PREFIX, os.getpid())
    try:
        sh("ip", "netns", "add", probe)
    except (RuntimeError, OSError) as e:
        return "cannot create a network namespace: %s" % e
    try:
        sh("ip", "-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1")
    except (RuntimeError, OSError) as e:
        return "cannot create a veth pair in a network namespace: %s" % e
    finally:
        sh("ip", "netns", "del", probe, check=False)
    return None


def _setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (path, os.strerror(err)))
    finally:
        os.close(fd)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: fields follow the last ")"
    return int(stat[stat.rindex(")") + 2:].split()[1])


def descendants(pid):
    """The pids of pid's children, grandchildren, ... (a /proc scan)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pp = _ppid(int(entry))
            if pp is not None:
                parents.setdefault(pp, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while any(_pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _pid_alive(p)]


class Lab:
    def __init__(self, subnet="10.99.0"):
        self.tag = "%s%d" % (PREFIX, os.getpid())
        self.subnet = subnet
        self.hub = self.tag + "-hub"
        self.hub_address = subnet + ".1"
        self.hosts = {}  # name -> (namespace, address)
        self._made = []  # namespaces created, in order
        self._home = None  # fd of the namespace the test started in

    def ns(self, host):
        return self.hosts[host][0]

    def address(self, host):
        return self.hosts[host][1]

    def _add_netns(self, name):
        sh("ip", "netns", "add", name)
        self._made.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def create(self):
        self._add_netns(self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "addr", "add", self.hub_address + "/24", "dev", "br0")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")

    def add_host(self, host, octet):
        """A namespace for host, at <subnet>.<octet>, on the hub's bridge."""
        ns, address, veth = self.tag + "-" + host, "%s.%d" % (self.subnet, octet), "v-" + host
        self._add_netns(ns)
        sh("ip", "-n", self.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
           "netns", ns)
        sh("ip", "-n", self.hub, "link", "set", veth, "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        self.hosts[host] = (ns, address)
        return address

    def link(self, host, up):
        """Brings host's eth0 down or up, inside its namespace."""
        sh("ip", "-n", self.ns(host), "link", "set", "eth0", "up" if up else "down")

    def enter_hub(self):
        """Moves the calling thread (and the threads it starts later) into the
        hub: its sockets are the client's, at hub_address."""
        if self._home is None:
            self._home = os.open("/proc/self/ns/net", os.O_RDONLY)
        _setns(os.path.join(NETNS_DIR, self.hub))

    def leave_hub(self):
        if self._home is not None:
            _setns("/proc/self/fd/%d" % self._home)
            os.close(self._home)
            self._home = None

    def exec_argv(self, host, argv):
        return ["ip", "netns", "exec", self.ns(host)] + [str(a) for a in argv]

    def destroy(self):
        """Stops every process still in the namespaces (by pid) and deletes them."""
        self.leave_hub()
        for ns in reversed(self._made):
            _kill_netns(ns)
        self._made = []


def _kill_netns(ns):
    pids = [int(p) for p in sh("ip", "netns", "pids", ns, check=False).split()]
    for pid in pids:
        _kill(pid, signal.SIGKILL)
    _wait_gone(pids, 10)
    sh("ip", "netns", "del", ns, check=False)


def sweep_stale():
    """Deletes the namespaces (and stops their processes) of earlier runs
    whose test process is gone. Returns their names."""
    swept = []
    for line in sh("ip", "netns", "list", check=False).splitlines():
        m = re.match(r"(%s(\d+)-\S+)" % PREFIX, line)
        if not m:
            continue
        pid = int(m.group(2))
        if pid == os.getpid():
            continue
        if _pid_alive(pid):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"multihost" in f.read():
                        continue  # a run in progress
            except OSError:
                pass
        _kill_netns(m.group(1))
        swept.append(m.group(1))
    return swept


class Proc:
    """One program run in a namespace, its output in log_path."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True)
        self.pid = self.popen.pid
        self.killed_at = None

    def alive(self):
        return self.popen.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kill_hard(self, timeout=15):
        """SIGKILL of the main process alone (what the test's faults do); waits
        for it and returns the descendants that outlived it after timeout
        seconds (none expected: they die with their parent). killed_at: the
        time.time() of the signal."""
        children = descendants(self.pid)
        self.killed_at = time.time()
        _kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=timeout)
        return _wait_gone(children, timeout)

    def stop(self, grace=10):
        """SIGTERM, then SIGKILL after grace seconds, the main process and
        every descendant, by pid. Returns the exit status."""
        if self.alive():
            family = descendants(self.pid)
            _kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                family = descendants(self.pid) + family
                _kill(self.pid, signal.SIGKILL)
                self.popen.wait()
            for pid in _wait_gone(family, 2):
                _kill(pid, signal.SIGKILL)
        return self.popen.returncode
