#!/usr/bin/python3
"""pillow-server.py — the Python originals' stack as a plain HTTP server.

A ThreadingHTTPServer (one thread per connection, HTTP/1.1 keep-alive) that
resizes synchronously with Pillow: POST a multipart upload (field `file`,
fields `width`, `quality`, `format`=jpeg) to any path and get the resized
JPEG back in the answer. The resize is Pillow's usual fast path: draft()
(the JPEG decoder's DCT scaling, what Image.thumbnail uses), then LANCZOS to
the exact width, then JPEG at the given quality.

    /usr/bin/python3 bench/pillow-server.py PORT [HOST]

Prints "listening HOST:PORT" once it accepts connections. GET / answers the
Pillow version as JSON. Needs Debian's python3-pil.
"""

import io
import json
import re
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import PIL
from PIL import Image

MAX_BODY = 64 * 1024 * 1024


def parse_multipart(body, content_type):
    """{name: bytes} of a multipart/form-data body."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or "", re.I)
    if not m:
        raise ValueError("not multipart/form-data")
    delimiter = b"\r\n--" + (m.group(1) or m.group(2)).encode("latin-1")
    if not body.startswith(delimiter[2:]):
        raise ValueError("no first boundary")
    parts = {}
    at = len(delimiter) - 2
    while True:
        if body[at:at + 2] == b"--":
            return parts
        if body[at:at + 2] != b"\r\n":
            raise ValueError("bad boundary line")
        header_end = body.find(b"\r\n\r\n", at + 2)
        if header_end < 0:
            raise ValueError("part without a header end")
        headers = body[at + 2:header_end].decode("latin-1")
        nxt = body.find(delimiter, header_end + 4)
        if nxt < 0:
            raise ValueError("part without a closing boundary")
        name = re.search(r'name="([^"]*)"', headers, re.I)
        if name:
            parts[name.group(1)] = body[header_end + 4:nxt]
        at = nxt + len(delimiter)


def resize_jpeg(data, width, quality):
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
        size = (width, max(1, round(h * width / w)))
        im.draft("RGB", size)
        small = im.convert("RGB").resize(size, Image.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=quality)
    return out.getvalue()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle's
        # algorithm holds the body until the client's delayed ACK (40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 — the base class's name
        pass

    def answer(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def fail(self, status, message):
        self.answer(status, "application/json", json.dumps({"error": message}).encode())

    def do_GET(self):  # noqa: N802 — http.server's naming
        self.answer(200, "application/json",
                    json.dumps({"pillow": PIL.__version__, "python": sys.version.split()[0]}).encode())

    def do_POST(self):  # noqa: N802
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            return self.fail(411, "Content-Length required")
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return self.fail(413, "body too large")
        body = self.rfile.read(length)
        try:
            parts = parse_multipart(body, self.headers.get("Content-Type"))
            data = parts.get("file") or parts.get("image")
            width = int(parts.get("width", b""))
            quality = int(parts.get("quality", b"80"))
            if not data or width < 1:
                raise ValueError("missing file or bad width")
        except ValueError as e:
            return self.fail(400, str(e))
        try:
            out = resize_jpeg(data, width, quality)
        except Exception as e:  # noqa: BLE001 — any decode failure is the client's
            return self.fail(422, str(e))
        self.answer(200, "image/jpeg", out)


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write("usage: pillow-server.py PORT [HOST]\n")
        sys.exit(2)
    host = sys.argv[2] if len(sys.argv) == 3 else "127.0.0.1"
    server = ThreadingHTTPServer((host, int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("listening %s:%d" % (host, server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
