"""End-to-end: hostile input through the real API. Every corrupt, crafted or
refused file, every broken upload and every made-up id gets a clear answer
(a 4xx JSON error, or a `failed` job with a message), never a crash or a
hang, and the services go on serving."""

import glob
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import uuid
import zlib

from harness import JPEG_PHOTO, PNG_PHOTO, ServiceTestCase, header_field, read_file, vips

GDK_IMAGES = "/usr/libexec/installed-tests/gdk-pixbuf/test-images"
FAIL_SET = sorted(glob.glob(os.path.join(GDK_IMAGES, "fail", "*")))
MODIFIED_SET = sorted(glob.glob(os.path.join(GDK_IMAGES, "randomly-modified", "*")))
# Two corrupt files that libvips 8.14 opens and cannot decode ("Invalid frame
# data", "Unsupported marker type"). With several workers in a libvips
# threadpool it sometimes lost the error of the last tile and wrote a partly
# blank result; the engine runs one worker per pool, so they always fail.
RACY_IN_LIBVIPS = (os.path.join(GDK_IMAGES, "fail", "hang_114.gif"),
                   os.path.join(GDK_IMAGES, "fail", "CVE-2017-2862.jpg"))
# Files of the randomly-modified set that libvips decodes as whole images.
MODIFIED_VALID = {"valid.1.gif", "valid.1.jpeg", "valid.2.jpeg", "valid.1.png", "valid.1.tiff"}
OPS = ("resize", "thumbnail", "diff", "dither", "info", "rotate", "flip", "crop", "blur", "sharpen",
       "grayscale", "convert", "pipeline")
# Parameters an operation cannot go without (any image of 1x1 or more).
OP_FIELDS = {"rotate": {"angle": 90}, "crop": {"width": 1, "height": 1}, "blur": {"sigma": 1},
             "convert": {"format": "png"},
             "pipeline": {"steps": '[{"op": "resize", "width": 16}, {"op": "rotate", "angle": 90}]'}}
REFUSED_CODES = {"unsupported_media_type", "image_too_large", "empty_file", "bad_request"}
MAX_UPLOAD = 3 * 1024 * 1024
READ_PIECE = 256 * 1024  # UPLOAD_READ_SIZE: img-rest reads a body in pieces of this size


# -- crafted files -----------------------------------------------------------

def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width, height, rows):
    """An 8-bit greyscale PNG; rows: the raw scanlines (filter byte included)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(rows)) + _png_chunk(b"IEND", b""))


def one_pixel_png():
    return png_bytes(1, 1, b"\x00\x80")


def huge_width_png():
    """A 4x4 PNG whose IHDR says 2^31-1 pixels wide, with a valid CRC."""
    data = bytearray(png_bytes(4, 4, b"\x00\x10\x20\x30\x40" * 4))
    ihdr_at = 8 + 4  # signature, chunk length
    data[ihdr_at + 4:ihdr_at + 8] = struct.pack(">I", 2 ** 31 - 1)
    kind_and_data = bytes(data[ihdr_at:ihdr_at + 4 + 13])
    data[ihdr_at + 17:ihdr_at + 21] = struct.pack(">I", zlib.crc32(kind_and_data))
    return bytes(data)


MINIMAL_PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >> endobj
trailer << /Root 1 0 R >>
%%EOF
"""

SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
       b'<rect width="64" height="64" fill="red"/></svg>\n')

PPM = b"P6\n4 4\n255\n" + bytes(range(48))


class HostileFiles(ServiceTestCase):
    """The corpus: gdk-pixbuf's corrupt files and crafted ones."""

    ENGINES = 1
    CONFIG = {"max_upload_bytes": MAX_UPLOAD, "job_timeout_s": 20}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="img-hostile-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.jpeg = read_file(JPEG_PHOTO)
        bomb = os.path.join(cls.tmp, "bomb.png")
        vips("black", bomb + "[compression=9]", 30000, 30000)
        cls.bomb = read_file(bomb)

    def outcome(self, name, data, op="resize", fields=None):
        """Submits; returns ("refused", error) or (job status, status JSON)."""
        files = {"file": (name, data)} if op != "diff" else {"image1": (name, data),
                                                             "image2": (name, data)}
        fields = OP_FIELDS.get(op, {}) if fields is None else fields
        status, headers, body = self.svc.post_job(op, files=files, fields=fields)
        if status != 202:
            self.assertTrue(400 <= status < 500, "%s: %s %r" % (name, status, body))
            self.assertTrue(headers.get("Content-Type", "").startswith("application/json"), name)
            err = body["error"]
            self.assertIn(err["code"], REFUSED_CODES, "%s: %r" % (name, body))
            self.assertTrue(err["message"].strip(), name)
            return "refused", err
        st = self.svc.wait_status(op, body["id"], timeout=60)
        if st["status"] == "failed":
            self.assertTrue(st["error"]["code"], name)
            self.assertTrue(st["error"]["message"].strip(), "%s: empty message" % name)
            code, _, res = self.svc.get("/%s/%s" % (op, body["id"]))
            self.assertEqual(code, 409, name)
            self.assertEqual(res["error"]["code"], "job_failed", name)
        return st["status"], st

    def assertAlive(self):
        """Both programs still run, and still serve: a real job completes."""
        for p in self.svc.procs():
            self.assertIsNone(p.poll(), "%s exited" % p.log_path)
        self.assertEqual(self.svc.get("/health")[0], 200)
        self.assertEqual(self.svc.get("/ready")[0], 200)
        st, data = self.svc.run_job("resize", {"file": ("Dune.jpg", self.jpeg)}, {"width": 64})
        self.assertEqual(st["result"]["width"], 64)

    def test_gdk_pixbuf_fail_set_never_completes(self):
        self.assertGreater(len(FAIL_SET), 30)
        for path in FAIL_SET:
            with self.subTest(file=os.path.basename(path)):
                name = os.path.basename(path)
                kind, detail = self.outcome(name, read_file(path))
                self.assertIn(kind, ("refused", "failed"), "%s: %r" % (path, detail))
        self.assertAlive()

    def test_gdk_pixbuf_randomly_modified_set(self):
        self.assertGreater(len(MODIFIED_SET), 20)
        for path in MODIFIED_SET:
            name = os.path.basename(path)
            with self.subTest(file=name):
                kind, detail = self.outcome(name, read_file(path))
                if name in MODIFIED_VALID:
                    self.assertEqual(kind, "complete", "%s: %r" % (name, detail))
                else:
                    self.assertIn(kind, ("refused", "failed", "complete"), name)
        self.assertAlive()

    def test_corrupt_files_through_every_operation(self):
        picks = [p for p in FAIL_SET if p.endswith((".gif", ".png", ".jpg", ".tif", ".tiff"))]
        self.assertTrue(set(RACY_IN_LIBVIPS) <= set(picks))
        self.assertTrue(picks)
        for op in OPS:
            for path in picks:
                with self.subTest(op=op, file=os.path.basename(path)):
                    kind, detail = self.outcome(os.path.basename(path), read_file(path), op=op,
                                                fields=self.last_row(path) if op == "crop" else None)
                    self.assertIn(kind, ("refused", "failed"), "%s %s: %r" % (op, path, detail))
        self.assertAlive()

    @staticmethod
    def last_row(path):
        """crop's fields for the image's last row, which reads the whole file
        (a box at the top of a file damaged further down never reaches the
        damage, and rightly completes), or None if its header cannot be read."""
        try:
            width, height = int(header_field(path, "width")), int(header_field(path, "height"))
        except subprocess.CalledProcessError:
            return None
        return {"top": height - 1, "width": width, "height": 1}

    def test_truncated_jpeg_fails_with_a_message(self):
        half = self.jpeg[:len(self.jpeg) // 2]
        for op in OPS:
            with self.subTest(op=op):
                # (a crop of the top would not read the missing half)
                fields = {"top": 1040, "width": 16, "height": 10} if op == "crop" else None
                kind, st = self.outcome("photo.jpg", half, op=op, fields=fields)
                self.assertEqual(kind, "failed", "%s gave %r, not a failure" % (op, st))
                self.assertEqual(st["error"]["code"], "processing_failed")
                self.assertIn("premature end", st["error"]["message"].lower())
                self.assertNotIn(self.svc.data_dir, st["error"]["message"])

    def test_truncated_png_and_gif_fail(self):
        png = read_file(PNG_PHOTO)
        gif_path = os.path.join(self.tmp, "photo.gif")
        vips("thumbnail", JPEG_PHOTO, gif_path, 400)
        gif = read_file(gif_path)
        for name, data in (("cut.png", png[:len(png) // 2]), ("cut.gif", gif[:len(gif) // 2])):
            with self.subTest(file=name):
                kind, st = self.outcome(name, data)
                self.assertEqual(kind, "failed", "%s: %r" % (name, st))
                self.assertEqual(st["error"]["code"], "processing_failed")

    def test_png_bomb_refused_from_its_header_fast(self):
        self.assertLess(len(self.bomb), MAX_UPLOAD)
        t0 = time.monotonic()
        err = self.assertError(self.svc.post_job("resize", files={"file": ("bomb.png", self.bomb)}),
                               422, "image_too_large")
        # from the header: decoding its 900 megapixels would take minutes
        # (the margin is for an ASan build on a busy machine)
        self.assertLess(time.monotonic() - t0, 10.0)
        self.assertIn("30000", err["message"])

    def test_untrusted_and_unknown_formats_refused(self):
        # (plain text named .jpg: test_core.ErrorTest.test_text_file_named_jpg)
        for name, data in (("drawing.svg", SVG), ("doc.pdf", MINIMAL_PDF), ("pic.ppm", PPM),
                           ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)):
            with self.subTest(file=name):
                self.assertError(self.svc.post_job("resize", files={"file": (name, data)}),
                                 415, "unsupported_media_type", name)

    def test_one_pixel_image_completes(self):
        for op in OPS:
            with self.subTest(op=op):
                kind, st = self.outcome("dot.png", one_pixel_png(), op=op)
                self.assertEqual(kind, "complete", st)

    def test_huge_declared_width(self):
        kind, err = self.outcome("wide.png", huge_width_png())
        self.assertEqual(kind, "refused", err)
        self.assertIn(err["code"], ("unsupported_media_type", "image_too_large"))


class CorruptInputsRepeated(ServiceTestCase):
    """The two files libvips 8.14 used to decode "successfully" now and then
    (RACY_IN_LIBVIPS): 50 attempts of each through every operation, submitted
    at once to an engine running two jobs at a time, and 50 failures."""

    ENGINES = 1
    CONFIG = {"engine_threads": 2, "max_queued": 5000}
    RUNS = 50

    def submit(self, op, name, data):
        files = {"file": (name, data)} if op != "diff" else {"image1": (name, data), "image2": (name, data)}
        status, _, body = self.svc.post_job(op, files=files, fields=OP_FIELDS.get(op, {}))
        self.assertEqual(status, 202, "%s %s: %r" % (op, name, body))
        return body["id"]

    def test_fifty_attempts_fifty_failures(self):
        from concurrent.futures import ThreadPoolExecutor
        inputs = [(os.path.basename(p), read_file(p)) for p in RACY_IN_LIBVIPS]
        attempts = [(op, name, data) for op in OPS for (name, data) in inputs for _ in range(self.RUNS)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(lambda a: self.submit(*a), attempts))
            states = list(pool.map(lambda a: self.svc.wait_status(a[0][0], a[1], timeout=600),
                                   zip(attempts, ids)))
        failed = {}
        for (op, name, _), st in zip(attempts, states):
            if st["status"] == "failed":
                self.assertEqual(st["error"]["code"], "processing_failed", st)
                failed[(op, name)] = failed.get((op, name), 0) + 1
        for op in OPS:
            for name, _ in inputs:
                with self.subTest(op=op, file=name):
                    self.assertEqual(failed.get((op, name), 0), self.RUNS)


# -- raw HTTP -----------------------------------------------------------------

def raw_request(port, head, body_parts=(), delay=0.0, timeout=15.0):
    """Sends head (str) then each part of body_parts (bytes) with delay
    seconds between them; returns (status or None, raw answer bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(head.encode())
        for part in body_parts:
            if delay:
                time.sleep(delay)
            try:
                s.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
        chunks = []
        while True:
            try:
                got = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not got:
                break
            chunks.append(got)
        answer = b"".join(chunks)
    finally:
        s.close()
    status = None
    if answer.startswith(b"HTTP/1."):
        status = int(answer.split(b" ", 2)[1])
    return status, answer


def multipart_head(path, boundary, length=None, chunked=False, extra=""):
    head = "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % path
    head += "Content-Type: multipart/form-data; boundary=%s\r\n" % boundary
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    if length is not None:
        head += "Content-Length: %d\r\n" % length
    return head + extra + "\r\n"


def file_part(boundary, data, name="file"):
    return (("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"x.jpg\"\r\n"
             "Content-Type: image/jpeg\r\n\r\n" % (boundary, name)).encode() + data + b"\r\n")


def chunks(data, size=65536):
    out = []
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    out.append(b"0\r\n\r\n")
    return out


class HostileRequests(ServiceTestCase):
    """Uploads, multipart bodies, parameters and ids."""

    ENGINES = 1
    CONFIG = {"max_upload_bytes": MAX_UPLOAD, "http_timeout_ms": 2000, "http_threads": 4}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jpeg = read_file(JPEG_PHOTO)

    def json_error(self, answer):
        import json
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertIn(b"application/json", head.lower(), head)
        return json.loads(body)["error"]

    def test_oversized_declared_in_content_length(self):
        """Answered from the header, before any byte of body. (A body sent
        whole past the limit: test_core.LimitsTest.test_body_too_large.)"""
        status, answer = raw_request(self.svc.http_port,
                                     multipart_head("/resize", "bnd", length=10 ** 12))
        self.assertEqual(status, 413, answer[:300])
        self.assertEqual(self.json_error(answer)["code"], "payload_too_large")

    def test_oversized_chunked(self):
        body = file_part("bnd", b"\x00" * (MAX_UPLOAD + 10)) + b"--bnd--\r\n"
        status, answer = raw_request(self.svc.http_port, multipart_head("/resize", "bnd", chunked=True),
                                     chunks(body))
        self.assertEqual(status, 413, answer[:300])
        self.assertEqual(self.json_error(answer)["code"], "payload_too_large")

    def test_chunked_upload_within_the_limit_is_accepted(self):
        body = file_part("bnd", self.jpeg) + b"--bnd--\r\n"
        status, answer = raw_request(self.svc.http_port, multipart_head("/resize", "bnd", chunked=True),
                                     chunks(body, 100000))
        self.assertEqual(status, 202, answer[:300])

    def test_part_data_opening_with_a_dash_at_a_read_boundary(self):
        """img-rest reads a body in pieces of 256 KiB: a piece that ends just
        after a part's blank line and the first "-" of its data. The CRLF
        closing the part's headers is not the start of a boundary. The parser
        once passed on a piece of a negative length here: a field was refused
        as too long, a file crashed img-rest. Now the value is read as sent
        (and refused for what it says), and the file for its first bytes."""
        angle = b'--bnd\r\nContent-Disposition: form-data; name="angle"\r\n\r\n%s\r\n'
        cases = {"field": (file_part("bnd", self.jpeg) + angle % b"-90", 400, "invalid_parameter",
                           "angle must be one of"),
                 "file": (angle % b"90" + file_part("bnd", b"-" + self.jpeg), 415,
                          "unsupported_media_type", "")}
        for what, (parts, want, code, message) in cases.items():
            # the preamble (ignored) puts the "-" last in a piece
            cut = parts.index(b"\r\n\r\n-") + 5
            preamble = b"p" * ((-cut - 2) % READ_PIECE) + b"\r\n"
            body = preamble + parts + b"--bnd--\r\n"
            self.assertEqual((len(preamble) + cut) % READ_PIECE, 0)
            for kind, head, pieces in (
                    ("length", multipart_head("/rotate", "bnd", length=len(body)), [body]),
                    ("chunked", multipart_head("/rotate", "bnd", chunked=True), chunks(body))):
                with self.subTest(part=what, body=kind):
                    status, answer = raw_request(self.svc.http_port, head, pieces)
                    self.assertEqual(status, want, answer[:300])
                    error = self.json_error(answer)
                    self.assertEqual(error["code"], code, error)
                    self.assertIn(message, error["message"])
        self.assertEqual(self.svc.get("/health")[0], 200)
        st, _ = self.svc.run_job("rotate", {"file": ("Dune.jpg", self.jpeg)}, {"angle": 90})
        self.assertEqual(st["status"], "complete")

    def test_slow_upload_is_cut_off_and_others_are_served(self):
        body = file_part("bnd", self.jpeg[:4000]) + b"--bnd--\r\n"
        s = socket.create_connection(("127.0.0.1", self.svc.http_port), timeout=20)
        try:
            s.sendall(multipart_head("/resize", "bnd", length=len(body)).encode() + body[:100])
            t0 = time.monotonic()
            # Meanwhile the server answers others.
            self.assertEqual(self.svc.get("/health")[0], 200)
            time.sleep(3.0)  # longer than http_timeout_ms = 2000 without a byte
            try:
                s.sendall(body[100:200])
                answer = s.recv(65536)
                while answer and b"\r\n\r\n" not in answer:
                    more = s.recv(65536)
                    if not more:
                        break
                    answer += more
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
            # Cut off: the connection is closed, or answered with an error.
            if answer:
                status = int(answer.split(b" ", 2)[1])
                self.assertTrue(400 <= status < 500, answer[:300])
            self.assertLess(time.monotonic() - t0, 15)
        finally:
            s.close()
        self.assertEqual(self.svc.get("/health")[0], 200)
        st, _ = self.svc.run_job("resize", {"file": ("Dune.jpg", self.jpeg)}, {"width": 32})
        self.assertEqual(st["status"], "complete")

    def test_malformed_multipart(self):
        part = file_part("bnd", self.jpeg[:2000])
        cases = {
            "no closing boundary": ("multipart/form-data; boundary=bnd", part),
            "garbage": ("multipart/form-data; boundary=bnd", os.urandom(3000)),
            "missing boundary parameter": ("multipart/form-data", part + b"--bnd--\r\n"),
            "empty boundary": ("multipart/form-data; boundary=", part + b"--bnd--\r\n"),
            "other boundary": ("multipart/form-data; boundary=zzz", part + b"--bnd--\r\n"),
            "header without end": ("multipart/form-data; boundary=bnd",
                                   b"--bnd\r\nContent-Disposition: form-data; name=\"file\""),
            "empty body": ("multipart/form-data; boundary=bnd", b""),
        }
        for what, (ctype, body) in cases.items():
            with self.subTest(case=what):
                status, _, resp = self.svc.request("POST", "/resize", body=body,
                                                   headers={"Content-Type": ctype})
                self.assertIn(status, (400,), "%s: %r" % (what, resp))
                self.assertIn(resp["error"]["code"], ("bad_request", "missing_file"), what)
                self.assertTrue(resp["error"]["message"].strip())
        self.assertEqual(self.svc.get("/health")[0], 200)

    def test_bad_ids_are_not_found(self):
        """Anything but a lowercase canonical UUIDv4 in an id position answers
        404 not_found on every job route, and touches no file. (An unknown
        well-formed id: test_core.ErrorTest.test_unknown_id.)"""
        # ("/resize/.." alone is a dot segment, normalised away like any
        # HTTP client would: it names /, not an id.) civetweb decodes %2f and
        # %00 before routing: /resize/..%2f must not turn into / (the docs
        # page) nor /jobs/%00 into /jobs (the list).
        ids = ["abc", "*", "jobs.db", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd",
               "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2e%2e%2fjobs.db", "..%2f", "%2e%2e%2f", "%00",
               "00000000-0000-0000-0000-000000000000",
               "6F9619FF-8B86-4011-B42D-00CF4FC964FF",  # upper case
               "6f9619ff-8b86-1011-b42d-00cf4fc964ff",  # not v4
               str(uuid.uuid1()),  # not v4
               "6f9619ff-8b86-4011-b42d-00cf4fc964ff%00", str(uuid.uuid4()) + "x", "a" * 5000]
        for raw in ids:
            paths = ["/jobs/" + raw]
            for op in OPS:
                paths += ["/%s/%s" % (op, raw), "/%s/status/%s" % (op, raw)]
            for path in paths:
                with self.subTest(path=path[:80]):
                    self.assertError(self.svc.get(path), 404, "not_found", path[:80])
            with self.subTest(delete=raw[:80]):
                self.assertError(self.svc.delete("/jobs/" + raw), 404, "not_found", raw[:80])
        self.assertTrue(os.path.exists("/etc/passwd"))
        self.assertTrue(os.path.exists(os.path.join(self.svc.data_dir, "jobs.db")))
        self.assertEqual(self.svc.get("/health")[0], 200)


class TimeLimit(ServiceTestCase):
    """A job slower than job_timeout_s is stopped: `failed` with code
    timeout soon after the limit, and the same engine goes on working."""

    ENGINES = 1
    CONFIG = {"job_timeout_s": 1, "max_attempts": 1}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="img-hostile-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        # 10000 x 10000 16-bit RGBA, all black: 0.8 MB of PNG, about 2 s of
        # decoding (no shrink-on-load for PNG).
        v = os.path.join(cls.tmp, "b.v")
        slow = os.path.join(cls.tmp, "slow.png")
        vips("black", v, 10000, 10000, "--bands", 4)
        vips("cast", v, v + "2.v", "ushort")
        vips("copy", v + "2.v", slow + "[compression=9]", "--interpretation", "rgb16")
        cls.slow = read_file(slow)

    def test_slow_jobs_stop_at_the_limit(self):
        engine = self.svc.engines[0]
        for op, fields in (("resize", {"width": 256, "height": 256, "fit": "cover"}),
                           ("thumbnail", {"crop": "attention"}),
                           ("dither", {}), ("info", {})):
            with self.subTest(op=op):
                status, _, body = self.svc.post_job(op, files={"file": ("slow.png", self.slow)},
                                                    fields=fields)
                self.assertEqual(status, 202, body)
                t0 = time.monotonic()
                st = self.svc.wait_status(op, body["id"], timeout=30)
                elapsed = time.monotonic() - t0
                self.assertEqual(st["status"], "failed", st)
                self.assertEqual(st["error"]["code"], "timeout", st)
                # soon after the 1 s limit (with room for a slow ASan engine)
                self.assertLess(elapsed, 8.0, "%s took %.1f s to stop" % (op, elapsed))
        self.assertIsNone(engine.poll())
        st, _ = self.svc.run_job("resize", {"file": ("Dune.jpg", read_file(JPEG_PHOTO))},
                                 {"width": 50})
        self.assertEqual(st["status"], "complete")
        self.assertIs(self.svc.engines[0], engine)
        self.assertIsNone(engine.poll())


if __name__ == "__main__":
    unittest.main()
