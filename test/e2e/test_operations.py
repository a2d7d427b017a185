"""End-to-end: every operation (thumbnail, diff, dither, info) and every output
format, against real img-rest and img-engine processes."""

import os
import shutil
import tempfile
import unittest

import pngread
from harness import (JPEG_PHOTO, MIME, ServiceTestCase, image_size, read_file, sniff, vips)

GDK_TESTS = "/usr/libexec/installed-tests/gdk-pixbuf"
ANIMATED_GIF = os.path.join(GDK_TESTS, "test-animation.gif")  # 17x17, 10 frames
ROTATED_JPEG = os.path.join(GDK_TESTS, "bug725582-testrotate.jpg")  # 640x428, EXIF orientation 6


class WorkDir:
    """A temporary folder for images made with the vips command-line tool."""

    def __init__(self, case):
        self.path = tempfile.mkdtemp(prefix="img-e2e-img-")
        case.addClassCleanup(shutil.rmtree, self.path)

    def __call__(self, name):
        return os.path.join(self.path, name)


def band_means(path):
    """Per-band means as computed by `vips stats` (row 0 is all bands; column 4 is the mean)."""
    csv = path + ".stats.csv"
    vips("stats", path, csv)
    rows = read_file(csv).decode().splitlines()[1:]
    return [float(r.split("\t")[4]) for r in rows]


class ThumbnailTest(ServiceTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jpeg = read_file(JPEG_PHOTO)

    def thumb(self, **fields):
        st, body = self.svc.run_job("thumbnail", {"file": ("Dune.jpg", self.jpeg)}, fields=fields)
        self.assertEqual(st["operation"], "thumbnail")
        self.assertEqual(sniff(body), st["result"]["format"])
        size = image_size(body)
        self.assertEqual(size, (st["result"]["width"], st["result"]["height"]))
        return st, size

    def test_crops_give_exact_size(self):
        for crop in ("centre", "attention", "entropy"):
            with self.subTest(crop=crop):
                st, size = self.thumb(size="100", crop=crop)
                self.assertEqual(size, (100, 100))
                self.assertEqual(st["result"]["format"], "jpeg")

    def test_default_crop_is_centre(self):
        _, size = self.thumb(size="90")
        self.assertEqual(size, (90, 90))

    def test_crop_none_stays_inside(self):
        _, (w, h) = self.thumb(size="100", crop="none")
        self.assertEqual(w, 100)
        self.assertAlmostEqual(h, 62.5, delta=1)

    def test_width_height_box(self):
        _, size = self.thumb(width="120", height="80", crop="centre")
        self.assertEqual(size, (120, 80))

    def test_format(self):
        st, size = self.thumb(size="64", format="webp")
        self.assertEqual(st["result"]["format"], "webp")
        self.assertEqual(size, (64, 64))

    def test_bad_params(self):
        files = {"file": ("Dune.jpg", self.jpeg)}
        for fields in ({"crop": "middle"}, {"size": "0"}, {"size": "x"}, {"levels": "2"}):
            with self.subTest(fields=fields):
                self.assertError(self.svc.post_job("thumbnail", files=files, fields=fields), 400,
                                 "invalid_parameter")


class DiffTest(ServiceTestCase):
    # Two changed rectangles (x, y, width, height) in a 600x375 image.
    SMALL = (80, 60, 40, 25)     # 1000 pixels
    LARGE = (380, 250, 100, 60)  # 6000 pixels
    MARGIN = 12

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        work = WorkDir(cls)
        # A darkened photo (every sample 0..102) so that adding 140 to a
        # rectangle changes every pixel in it by 140 on every channel.
        vips("thumbnail", JPEG_PHOTO, work("t.v"), 600, "--height", 375, "--size", "force")
        vips("linear", work("t.v"), work("base.png"), 0.4, 0, "--uchar")
        current = work("base.png")
        for i, (x, y, w, h) in enumerate((cls.SMALL, cls.LARGE)):
            vips("extract_area", current, work("p%d.v" % i), x, y, w, h)
            vips("linear", work("p%d.v" % i), work("q%d.v" % i), 1, 140, "--uchar")
            vips("insert", current, work("q%d.v" % i), work("c%d.v" % i), x, y)
            current = work("c%d.v" % i)
        vips("copy", current, work("changed.png"))
        vips("thumbnail", work("base.png"), work("other.png"), 500)
        cls.base = read_file(work("base.png"))
        cls.changed = read_file(work("changed.png"))
        cls.other_size = read_file(work("other.png"))
        assert image_size(cls.base) == (600, 375) and image_size(cls.changed) == (600, 375)

    def diff(self, a, b, **fields):
        return self.svc.run_job("diff", {"image1": ("a.png", a), "image2": ("b.png", b)}, fields=fields)

    def assertBoxesMatch(self, boxes, rects):
        self.assertEqual(len(boxes), len(rects), boxes)
        for (x, y, w, h) in rects:
            inside = [b for b in boxes if b["x"] <= x and b["y"] <= y
                      and b["x"] + b["width"] >= x + w and b["y"] + b["height"] >= y + h]
            self.assertEqual(len(inside), 1, "rectangle %r not inside exactly one of %r" % ((x, y, w, h), boxes))
            b, m = inside[0], self.MARGIN
            self.assertGreaterEqual(b["x"], x - m, b)
            self.assertGreaterEqual(b["y"], y - m, b)
            self.assertLessEqual(b["x"] + b["width"], x + w + m, b)
            self.assertLessEqual(b["y"] + b["height"], y + h + m, b)

    def test_two_rectangles(self):
        st, body = self.diff(self.base, self.changed)
        res = st["result"]
        self.assertBoxesMatch(res["boxes"], [self.SMALL, self.LARGE])
        self.assertGreaterEqual(res["changed_ratio"], 0.025)
        self.assertLessEqual(res["changed_ratio"], 0.07)
        self.assertEqual((res["format"], res["width"], res["height"]), ("png", 600, 375))
        self.assertEqual(sniff(body), "png")
        code, headers, _ = self.svc.get("/diff/" + st["id"])
        self.assertEqual(headers.get("Content-Type"), "image/png")
        # The result is image2 with outlines: every changed pixel is near a box,
        # and some pixels did change.
        w, h, _, out = pngread.decode(body)
        _, _, _, ref = pngread.decode(self.changed)
        self.assertEqual((w, h), (600, 375))
        changed = [(i % w, i // w) for i, (p, q) in enumerate(zip(out, ref)) if p[:3] != q[:3]]
        self.assertTrue(changed, "no outline drawn")
        m = self.MARGIN
        for (px, py) in changed:
            near = any(b["x"] - m <= px < b["x"] + b["width"] + m and b["y"] - m <= py < b["y"] + b["height"] + m
                       for b in res["boxes"])
            self.assertTrue(near, "pixel %d,%d changed far from every box" % (px, py))

    def test_min_area_drops_small_region(self):
        st, _ = self.diff(self.base, self.changed, min_area="3000")
        self.assertBoxesMatch(st["result"]["boxes"], [self.LARGE])

    def test_high_threshold_sees_nothing(self):
        st, _ = self.diff(self.base, self.changed, threshold="200")
        self.assertEqual(st["result"]["boxes"], [])

    def test_identical(self):
        st, body = self.diff(self.base, self.base)
        self.assertEqual(st["result"]["boxes"], [])
        self.assertEqual(st["result"]["changed_ratio"], 0)
        self.assertEqual(image_size(body), (600, 375))

    def test_dimension_mismatch(self):
        resp = self.svc.post_job("diff", files={"image1": ("a.png", self.base), "image2": ("b.png", self.other_size)})
        self.assertError(resp, 422, "dimension_mismatch")

    def test_missing_second_image(self):
        resp = self.svc.post_job("diff", files={"image1": ("a.png", self.base)})
        self.assertError(resp, 400, "missing_file")

    def test_bad_threshold(self):
        files = {"image1": ("a.png", self.base), "image2": ("b.png", self.changed)}
        for fields in ({"threshold": "256"}, {"threshold": "-1"}, {"min_area": "x"}):
            with self.subTest(fields=fields):
                self.assertError(self.svc.post_job("diff", files=files, fields=fields), 400, "invalid_parameter")


class DitherTest(ServiceTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        work = WorkDir(cls)
        vips("thumbnail", JPEG_PHOTO, work("small.png"), 300)
        cls.small = read_file(work("small.png"))
        cls.means = band_means(work("small.png"))
        cls.size = image_size(cls.small)

    def dither(self, **fields):
        st, body = self.svc.run_job("dither", {"file": ("small.png", self.small)}, fields=fields)
        self.assertEqual(sniff(body), "png")
        self.assertEqual(st["result"]["format"], "png")
        w, h, channels, pixels = pngread.decode(body)
        self.assertEqual((w, h), self.size)
        self.assertEqual((st["result"]["width"], st["result"]["height"]), self.size)
        return channels, pixels

    def assertLevels(self, channels, pixels, levels):
        self.assertGreaterEqual(channels, 3)
        for c in range(3):
            values = {p[c] for p in pixels}
            self.assertLessEqual(len(values), levels, "channel %d has %d values" % (c, len(values)))
            self.assertGreaterEqual(len(values), 2, "channel %d is flat" % c)
        self.assertLessEqual(len({p[:3] for p in pixels}), levels ** 3)
        # Error diffusion keeps the average colour (a plain threshold would not).
        for c in range(3):
            mean = sum(p[c] for p in pixels) / len(pixels)
            self.assertAlmostEqual(mean, self.means[c], delta=8, msg="channel %d mean" % c)

    def test_two_levels(self):
        channels, pixels = self.dither(levels="2")
        self.assertLevels(channels, pixels, 2)
        self.assertEqual({p[0] for p in pixels}, {0, 255})

    def test_default_is_two_levels(self):
        channels, pixels = self.dither()
        self.assertLevels(channels, pixels, 2)

    def test_four_levels_and_channels_alias(self):
        channels, pixels = self.dither(channels="4")
        self.assertLevels(channels, pixels, 4)

    def test_bad_levels(self):
        files = {"file": ("small.png", self.small)}
        for fields in ({"levels": "1"}, {"levels": "257"}, {"levels": "abc"}, {"channels": "0"},
                       {"levels": "2", "channels": "2"}):
            with self.subTest(fields=fields):
                self.assertError(self.svc.post_job("dither", files=files, fields=fields), 400, "invalid_parameter")


class InfoTest(ServiceTestCase):
    KEYS = {"width", "height", "bands", "format", "has_alpha", "orientation", "pages", "mean"}

    def info(self, path, name="in"):
        data = read_file(path) if isinstance(path, str) else path
        status, _, job = self.svc.post_job("info", files={"file": (name, data)})
        self.assertEqual(status, 202, job)
        st = self.svc.wait_status("info", job["id"])
        self.assertEqual(st["status"], "complete", st.get("error"))
        code, headers, body = self.svc.get_json("/info/" + job["id"])
        self.assertEqual(code, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))
        # like image results, the JSON result has an ETag and revalidates
        etag = headers.get("ETag")
        self.assertTrue(etag and etag.startswith('"'), headers)
        self.assertEqual(self.svc.get("/info/" + job["id"], headers={"If-None-Match": etag})[0], 304)
        self.assertLessEqual(self.KEYS, set(body), body)
        for k in self.KEYS:
            self.assertEqual(st["result"][k], body[k], k)
        return body

    def test_jpeg(self):
        info = self.info(JPEG_PHOTO)
        self.assertEqual({k: info[k] for k in self.KEYS - {"mean"}},
                         {"width": 1680, "height": 1050, "bands": 3, "format": "jpeg", "has_alpha": False,
                          "orientation": 1, "pages": 1})
        expected = band_means(JPEG_PHOTO)
        self.assertEqual(len(info["mean"]), 3)
        for got, want in zip(info["mean"], expected):
            self.assertAlmostEqual(got, want, delta=1.0)

    def test_png_with_alpha(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "alpha.png")
        vips("thumbnail", JPEG_PHOTO, os.path.join(tmp, "t.v"), 120)
        vips("bandjoin_const", os.path.join(tmp, "t.v"), path, 200)
        info = self.info(path)
        self.assertEqual((info["format"], info["bands"], info["has_alpha"], info["width"]), ("png", 4, True, 120))
        self.assertEqual(len(info["mean"]), 4)
        self.assertAlmostEqual(info["mean"][3], 200, delta=0.5)

    def test_animated_gif_pages(self):
        info = self.info(ANIMATED_GIF, "a.gif")
        self.assertEqual((info["format"], info["width"], info["height"], info["pages"]), ("gif", 17, 17, 10))

    def test_exif_orientation(self):
        info = self.info(ROTATED_JPEG, "r.jpg")
        self.assertEqual(info["orientation"], 6)
        self.assertEqual({info["width"], info["height"]}, {640, 428})

    def test_takes_no_parameter(self):
        # (an unknown parameter of resize, in a field or the query: test_core.ErrorTest)
        resp = self.svc.post_job("info", files={"file": ("a.jpg", read_file(ROTATED_JPEG))}, fields={"width": "5"})
        err = self.assertError(resp, 400, "invalid_parameter")
        self.assertIn("width", err["message"])


class FormatTest(ServiceTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jpeg = read_file(JPEG_PHOTO)

    def test_every_output_format(self):
        for fmt in ("jpeg", "png", "webp", "avif", "tiff", "gif"):
            with self.subTest(format=fmt):
                st, body = self.svc.run_job("resize", {"file": ("Dune.jpg", self.jpeg)},
                                            fields={"width": "128", "format": fmt})
                self.assertEqual(st["result"]["format"], fmt)
                self.assertEqual(sniff(body), fmt)
                self.assertEqual(image_size(body), (128, 80))
                self.assertEqual(st["result"]["bytes"], len(body))
                _, headers, _ = self.svc.get("/resize/" + st["id"])
                self.assertEqual(headers.get("Content-Type"), MIME[fmt])

    def test_gif_input_same(self):
        st, body = self.svc.run_job("resize", {"file": ("a.gif", read_file(ANIMATED_GIF))}, fields={"width": "8"})
        self.assertEqual(st["input"]["format"], "gif")
        self.assertEqual(sniff(body), "gif")


if __name__ == "__main__":
    unittest.main()
