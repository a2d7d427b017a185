"""End-to-end: the core pipeline (POST /resize -> queue -> engine -> result) and
the contract's error answers, against real img-rest and img-engine processes."""

import os
import shutil
import tempfile
import unittest
import urllib.parse
import uuid
from datetime import datetime

import pngread
from harness import (JPEG_PHOTO, MIME, PNG16_PHOTO, PNG_PHOTO, RFC3339_RE, UUID4_RE,
                     ServiceTestCase, image_size, read_file, sniff, vips)


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ResizeTest(ServiceTestCase):
    ENGINES = 1

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jpeg = read_file(JPEG_PHOTO)
        cls.png = read_file(PNG_PHOTO)
        cls.png16 = read_file(PNG16_PHOTO)

    def submit(self, op="resize", files=None, fields=None, query=None):
        """POST, check the 202 answer in full, return its body."""
        status, headers, body = self.svc.post_job(op, files=files, fields=fields, query=query)
        self.assertEqual(status, 202, body)
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))
        self.assertRegex(body["id"], UUID4_RE)
        self.assertEqual(body["guid"], body["id"])
        self.assertEqual(body["operation"], op)
        self.assertEqual(body["status"], "queued")
        self.assertEqual(urllib.parse.urlsplit(body["status_url"]).path, "/%s/status/%s" % (op, body["id"]))
        self.assertEqual(urllib.parse.urlsplit(body["result_url"]).path, "/%s/%s" % (op, body["id"]))
        self.assertEqual(headers.get("Location"), body["status_url"])
        return body

    def assertInput(self, st, expected):
        """The contract's input fields (extra fields are allowed)."""
        self.assertEqual({k: st["input"].get(k) for k in expected}, expected)

    def resize(self, data, fields=None, query=None, filename="photo"):
        """Submits, waits for completion, downloads; checks the status and
        result routes against each other. Returns (status JSON, result bytes)."""
        job = self.submit(files={"file": (filename, data)}, fields=fields, query=query)
        st = self.svc.wait_status("resize", job["id"])
        self.assertEqual(st["status"], "complete", st.get("error"))
        code, headers, body = self.svc.get("/resize/" + job["id"])
        self.assertEqual(code, 200, body)
        fmt = st["result"]["format"]
        self.assertEqual(headers.get("Content-Type"), MIME[fmt])
        self.assertEqual(int(headers.get("Content-Length")), len(body))
        self.assertTrue(headers.get("ETag"), "no ETag")
        self.assertEqual(sniff(body), fmt)
        self.assertEqual(st["result"]["bytes"], len(body))
        self.assertEqual(image_size(body), (st["result"]["width"], st["result"]["height"]))
        return st, body

    def test_jpeg_width_256_full_contract(self):
        job = self.submit(files={"file": ("Dune.jpg", self.jpeg)}, fields={"width": "256"})
        st = self.svc.wait_status("resize", job["id"])
        self.assertEqual(st["status"], "complete", st.get("error"))
        self.assertEqual(st["id"], job["id"])
        self.assertEqual(st["guid"], job["id"])
        self.assertEqual(st["operation"], "resize")
        for key in ("created_at", "started_at", "finished_at"):
            self.assertRegex(st[key], RFC3339_RE, key)
        self.assertLessEqual(parse_time(st["created_at"]), parse_time(st["started_at"]))
        self.assertLessEqual(parse_time(st["started_at"]), parse_time(st["finished_at"]))
        self.assertEqual(st["params"]["width"], 256)
        self.assertInput(st, {"width": 1680, "height": 1050, "format": "jpeg",
                                       "bytes": len(self.jpeg)})
        self.assertNotIn("error", st)
        res = st["result"]
        self.assertEqual((res["width"], res["height"], res["format"]), (256, 160, "jpeg"))

        code, headers, body = self.svc.get("/resize/" + job["id"])
        self.assertEqual(code, 200)
        self.assertEqual(headers.get("Content-Type"), "image/jpeg")
        self.assertEqual(int(headers.get("Content-Length")), len(body))
        self.assertTrue(headers.get("ETag"))
        self.assertEqual(res["bytes"], len(body))
        self.assertEqual(sniff(body), "jpeg")
        self.assertEqual(image_size(body), (256, 160))

        code, _, same = self.svc.get_json("/jobs/" + job["id"])
        self.assertEqual(code, 200)
        self.assertEqual(same, st)

    def test_png_stays_png(self):
        st, body = self.resize(self.png, fields={"width": "256"}, filename="cold.png")
        self.assertInput(st, {"width": 1920, "height": 1280, "format": "png", "bytes": len(self.png)})
        self.assertEqual(st["result"]["format"], "png")
        self.assertEqual(st["result"]["width"], 256)
        self.assertAlmostEqual(st["result"]["height"], 1280 * 256 / 1920, delta=1)

    def test_16bit_png(self):
        st, body = self.resize(self.png16, fields={"width": "32"}, filename="huawei.png")
        self.assertInput(st, {"width": 64, "height": 64, "format": "png", "bytes": len(self.png16)})
        self.assertEqual((st["result"]["width"], st["result"]["height"], st["result"]["format"]),
                         (32, 32, "png"))

    def test_name_and_declared_type_are_ignored(self):
        # A PNG named .jpg is a PNG: the format comes from the bytes.
        st, body = self.resize(self.png16, fields={"width": "32"}, filename="really-a-png.jpg")
        self.assertEqual(st["input"]["format"], "png")
        self.assertEqual(sniff(body), "png")

    def test_field_image_alias(self):
        job = self.submit(files={"image": ("a.jpg", self.jpeg)}, fields={"width": "64"})
        st = self.svc.wait_status("resize", job["id"])
        self.assertEqual(st["status"], "complete", st.get("error"))
        self.assertEqual(st["result"]["width"], 64)

    def test_params_in_query(self):
        st, body = self.resize(self.jpeg, query={"width": "128", "format": "png"})
        self.assertEqual((st["result"]["width"], st["result"]["height"], st["result"]["format"]),
                         (128, 80, "png"))

    def test_height_only(self):
        st, _ = self.resize(self.jpeg, fields={"height": "105"})
        self.assertEqual((st["result"]["width"], st["result"]["height"]), (168, 105))

    def test_default_box(self):
        st, _ = self.resize(self.jpeg)
        self.assertEqual(st["result"]["width"], 100)
        self.assertAlmostEqual(st["result"]["height"], 62.5, delta=1)

    def test_fit_modes(self):
        box = {"width": "200", "height": "200", "format": "png"}
        sizes, pixels = {}, {}
        for fit in ("inside", "cover", "fill", "outside"):
            st, body = self.resize(self.jpeg, fields=dict(box, fit=fit))
            sizes[fit] = (st["result"]["width"], st["result"]["height"])
            pixels[fit] = pngread.decode(body)[3]
        self.assertEqual(sizes["inside"], (200, 125))
        self.assertEqual(sizes["cover"], (200, 200))
        self.assertEqual(sizes["fill"], (200, 200))
        w, h = sizes["outside"]
        self.assertEqual(h, 200)
        self.assertAlmostEqual(w, 320, delta=1)
        # cover crops, fill stretches: each must look like its own reference.
        refs = self.references()
        for fit, other in (("cover", "fill"), ("fill", "cover")):
            self.assertLess(mean_abs_diff(pixels[fit], refs[fit]), mean_abs_diff(pixels[fit], refs[other]),
                            "fit=%s looks like fit=%s" % (fit, other))

    def references(self):
        tmp = tempfile.mkdtemp()
        try:
            cover, fill = os.path.join(tmp, "cover.png"), os.path.join(tmp, "fill.png")
            vips("thumbnail", JPEG_PHOTO, cover, 200, "--height", 200, "--crop", "centre")
            vips("thumbnail", JPEG_PHOTO, fill, 200, "--height", 200, "--size", "force")
            return {"cover": pngread.decode(read_file(cover))[3], "fill": pngread.decode(read_file(fill))[3]}
        finally:
            shutil.rmtree(tmp)

    def test_quality_changes_size(self):
        low, _ = self.resize(self.jpeg, fields={"width": "256", "quality": "5"})
        high, _ = self.resize(self.jpeg, fields={"width": "256", "quality": "95"})
        self.assertLess(low["result"]["bytes"], high["result"]["bytes"])


def mean_abs_diff(a, b):
    assert len(a) == len(b)
    total = sum(abs(x - y) for p, q in zip(a, b) for x, y in zip(p, q))
    return total / (len(a) * len(a[0]))


class ErrorTest(ServiceTestCase):
    ENGINES = 1

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jpeg = read_file(JPEG_PHOTO)
        cls.small = read_file(PNG16_PHOTO)

    def post(self, fields=None, files="default", query=None, op="resize"):
        if files == "default":
            files = {"file": ("photo.png", self.small)}
        return self.svc.post_job(op, files=files, fields=fields, query=query)

    def test_missing_file(self):
        self.assertError(self.post(fields={"width": "256"}, files={}), 400, "missing_file")

    def test_wrong_field_name(self):
        # No `file` field: either missing_file, or invalid_parameter naming the stray field.
        resp = self.post(files={"picture": ("a.png", self.small)})
        code = resp[2].get("error", {}).get("code") if isinstance(resp[2], dict) else None
        err = self.assertError(resp, 400, code if code in ("missing_file", "invalid_parameter") else "missing_file")
        if code == "invalid_parameter":
            self.assertIn("picture", err["message"])

    def test_empty_file(self):
        self.assertError(self.post(files={"file": ("photo.jpg", b"")}), 400, "empty_file")

    def test_text_file_named_jpg(self):
        self.assertError(self.post(files={"file": ("photo.jpg", b"hello, I am plain text\n" * 20)}),
                         415, "unsupported_media_type")

    def test_truncated_jpeg_header_only(self):
        self.assertError(self.post(files={"file": ("photo.jpg", self.jpeg[:3])}), 415, "unsupported_media_type")

    def test_bad_widths(self):
        for value in ("abc", "0", "-5", "99999999", "1.5", ""):
            with self.subTest(width=value):
                err = self.assertError(self.post(fields={"width": value}), 400, "invalid_parameter", value)
                self.assertIn("width", err["message"])

    def test_bad_width_in_query(self):
        self.assertError(self.post(query={"width": "abc"}), 400, "invalid_parameter")

    def test_unknown_parameter(self):
        err = self.assertError(self.post(fields={"foo": "1"}), 400, "invalid_parameter")
        self.assertIn("foo", err["message"])
        err = self.assertError(self.post(query={"bar": "1"}), 400, "invalid_parameter")
        self.assertIn("bar", err["message"])

    def test_bad_fit_and_format(self):
        self.assertError(self.post(fields={"fit": "sideways"}), 400, "invalid_parameter")
        self.assertError(self.post(fields={"format": "bmp"}), 400, "invalid_parameter")
        self.assertError(self.post(fields={"quality": "101"}), 400, "invalid_parameter")
        self.assertError(self.post(fields={"quality": "0"}), 400, "invalid_parameter")

    def test_unknown_id(self):
        job_id = str(uuid.uuid4())
        for path in ("/resize/status/", "/resize/", "/jobs/"):
            with self.subTest(path=path):
                self.assertError(self.svc.get(path + job_id), 404, "not_found", path)
        self.assertError(self.svc.delete("/jobs/" + job_id), 404, "not_found")

    def test_job_thumbnail(self):
        st, _ = self.svc.run_job("resize", {"file": ("a.jpg", read_file(JPEG_PHOTO))},
                                 fields={"width": "600"})
        code, headers, data = self.svc.get("/jobs/%s/thumbnail" % st["id"])
        self.assertEqual(code, 200)
        self.assertEqual(headers.get("Content-Type"), "image/webp")
        self.assertEqual(sniff(data), "webp")
        width, height = image_size(data)
        self.assertEqual(max(width, height), 256)
        self.assertAlmostEqual(width / height, st["result"]["width"] / st["result"]["height"],
                               delta=0.02)
        # a JSON result has no image to show
        st, _ = self.svc.run_job("info", {"file": ("a.jpg", read_file(JPEG_PHOTO))})
        self.assertError(self.svc.get("/jobs/%s/thumbnail" % st["id"]), 404, "not_found")

    def test_other_operations_id(self):
        code, _, job = self.post(fields={"width": "16"})
        self.assertEqual(code, 202, job)
        self.assertError(self.svc.get("/thumbnail/status/" + job["id"]), 404, "not_found")
        self.assertError(self.svc.get("/thumbnail/" + job["id"]), 404, "not_found")
        code, _, st = self.svc.get_json("/resize/status/" + job["id"])
        self.assertEqual(code, 200)

    def test_method_not_allowed(self):
        job_id = str(uuid.uuid4())
        cases = [("GET", "/resize", "POST"), ("PUT", "/resize", "POST"), ("POST", "/health", "GET"),
                 ("POST", "/resize/status/" + job_id, "GET"), ("DELETE", "/resize", "POST")]
        for method, path, allowed in cases:
            with self.subTest(method=method, path=path):
                resp = self.svc.request(method, path, body=b"" if method in ("POST", "PUT") else None)
                self.assertError(resp, 405, "method_not_allowed", "%s %s" % (method, path))
                allow = [m.strip() for m in resp[1].get("Allow", "").split(",")]
                self.assertIn(allowed, allow)
                self.assertNotIn(method, allow)

    def test_unknown_path(self):
        for path in ("/nope", "/resize/status", "/resizes", "/resize/a/b/c"):
            with self.subTest(path=path):
                self.assertError(self.svc.get(path), 404, "not_found", path)

    def test_not_multipart(self):
        resp = self.svc.request("POST", "/resize", body=b'{"width": 5}', headers={"Content-Type": "application/json"})
        self.assertIn(resp[0], (400, 415), resp[2])
        self.assertError(resp, resp[0], "bad_request" if resp[0] == 400 else "unsupported_media_type")

    def test_health(self):
        # (readiness, 503 without an engine and 200 with one: test_lifecycle.NoEngine)
        code, headers, body = self.svc.get_json("/health")
        self.assertEqual(code, 200)
        self.assertEqual(body["status"], "ok")


class LimitsTest(ServiceTestCase):
    ENGINES = 1
    CONFIG = {"max_upload_bytes": 200000, "max_pixels": 500000}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.tmp)
        big = os.path.join(cls.tmp, "big.png")
        vips("black", big, 1000, 1000)  # a few KB, 1e6 pixels
        cls.big_pixels = read_file(big)
        assert len(cls.big_pixels) < 200000

    def test_body_too_large(self):
        resp = self.svc.post_job("resize", files={"file": ("Dune.jpg", read_file(JPEG_PHOTO))})
        self.assertError(resp, 413, "payload_too_large")

    def test_too_many_pixels(self):
        resp = self.svc.post_job("resize", files={"file": ("big.png", self.big_pixels)}, fields={"width": "10"})
        self.assertError(resp, 422, "image_too_large")

    def test_small_image_still_accepted(self):
        code, _, job = self.svc.post_job("resize", files={"file": ("s.png", read_file(PNG16_PHOTO))},
                                         fields={"width": "10"})
        self.assertEqual(code, 202, job)
        st = self.svc.wait_status("resize", job["id"])
        self.assertEqual(st["status"], "complete", st.get("error"))


if __name__ == "__main__":
    unittest.main()
