"""webhook_receiver — a small threaded HTTP server on 127.0.0.1 that plays the
client's callback endpoint for img-rest's webhooks.

Every request is recorded (arrival time on the monotonic clock, method,
path, headers, body) before it is answered. How each call is answered is a
script: a list whose n-th item says what to do with the n-th call, the last
item repeating:
    200, 500, ...        answer with that status at once
    ("sleep", seconds)   answer 200 only after `seconds` (a caller that
                         gives up sooner never hears it)
"""

import hashlib
import hmac
import http.server
import json
import threading
import time


class Call:
    """One request received."""

    def __init__(self, at, method, path, headers, body):
        self.at = at  # time.monotonic() on arrival
        self.method = method
        self.path = path
        self.headers = headers  # email.message.Message: case-insensitive get()
        self.body = body  # bytes

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Call(%s %s at %.3f, %s)" % (self.method, self.path, self.at,
                                             self.headers.get("X-Img-Event"))


class Receiver:
    """The server; use as a context manager or call close()."""

    def __init__(self, script=(200,)):
        self.script = list(script)
        self.calls = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                call = Call(time.monotonic(), "POST", self.path, self.headers, body)
                with receiver._cond:
                    n = len(receiver.calls)
                    receiver.calls.append(call)
                    receiver._cond.notify_all()
                action = receiver.script[min(n, len(receiver.script) - 1)]
                status = 200
                if isinstance(action, tuple) and action[0] == "sleep":
                    time.sleep(action[1])
                else:
                    status = action
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the caller gave up (its time-out)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass  # a caller killed with its connection open (a test's SIGKILL)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, host="127.0.0.1", path="/hook"):
        return "http://%s:%d%s" % (host, self.port, path)

    def count(self):
        with self._cond:
            return len(self.calls)

    def wait_calls(self, n, timeout):
        """Waits until at least n calls arrived; returns the calls (raises
        AssertionError after timeout seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.calls) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%d webhook calls within %ss, expected %d: %r"
                                         % (len(self.calls), timeout, n, self.calls))
                self._cond.wait(left)
            return list(self.calls)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def parse_signature(header):
    """'t=<unix>,v1=<hex>' -> (t as int, hex); raises AssertionError when the
    header is not of that form."""
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    if set(parts) != {"t", "v1"} or not parts["t"].isdigit():
        raise AssertionError("X-Img-Signature is not t=<unix>,v1=<hex>: %r" % header)
    return int(parts["t"]), parts["v1"]


def expected_signature(secret, t, body):
    """The hex HMAC-SHA256 of "<t>.<body>" keyed with secret (the API's definition)."""
    return hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
