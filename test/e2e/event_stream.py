"""event_stream — a Server-Sent Events client for img-rest's GET .../events.

EventStream opens the request and, if it answers 200, reads the stream on a
thread of its own: every event (`event:`, `id:`, `data:` lines up to a
blank line) and every comment (a line starting with ':') is kept in order
with its arrival time, and `ended` is set when the server closes the
connection.
"""

import http.client
import json
import socket
import threading
import time


class Event:
    def __init__(self, kind, data, event_id, at):
        self.kind = kind  # "status", "progress", ... or "comment"
        self.data = data  # the data text (or the comment's text)
        self.id = event_id
        self.at = at  # time.monotonic() on arrival

    def json(self):
        return json.loads(self.data)

    def __repr__(self):
        return "Event(%s, %s)" % (self.kind, self.data[:120])


class EventStream:
    def __init__(self, port, path, headers=None, timeout=60):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers=dict(headers or {}))
        self._sock = self.conn.sock  # the response keeps reading it after conn lets go
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.msg
        self.events = []
        self.ended = threading.Event()
        self.error = None
        self._cond = threading.Condition()
        if self.status != 200:
            body = self.response.read()
            ctype = self.headers.get("Content-Type", "")
            self.body = json.loads(body) if ctype.startswith("application/json") and body else body
            self.conn.close()
            self.ended.set()
            return
        self.body = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _add(self, event):
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def _read(self):
        kind, data, event_id = None, [], None
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line.startswith(":"):
                    self._add(Event("comment", line[1:].strip(), None, time.monotonic()))
                elif line == "":
                    if data or kind:
                        self._add(Event(kind or "message", "\n".join(data), event_id,
                                        time.monotonic()))
                    kind, data, event_id = None, [], None
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        kind = value
                    elif field == "data":
                        data.append(value)
                    elif field == "id":
                        event_id = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException) as e:
            self.error = e
        finally:
            with self._cond:
                self.ended.set()
                self._cond.notify_all()

    def of_kind(self, kind):
        with self._cond:
            return [e for e in self.events if e.kind == kind]

    def wait_for(self, predicate, timeout=60):
        """The first event (in order) for which predicate(event) is true;
        AssertionError if none came within timeout or the stream ended first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self.events:
                    if predicate(e):
                        return e
                left = deadline - time.monotonic()
                if self.ended.is_set() or left <= 0:
                    raise AssertionError("no such event (%s); got %r"
                                         % ("stream ended" if self.ended.is_set() else "timed out",
                                            self.events[-20:]))
                self._cond.wait(left)

    def wait_ended(self, timeout=30):
        """True if the server closed the stream within timeout."""
        return self.ended.wait(timeout)

    def close(self):
        """Closes the connection (the reader thread sees its end)."""
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.ended.wait(10)
        self.conn.close()
        self.response.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def status_events(stream, job_id=None):
    """The status JSON objects of the stream's status events (of one job)."""
    out = []
    for e in stream.of_kind("status"):
        st = e.json()
        if job_id is None or st["id"] == job_id:
            out.append(st)
    return out
