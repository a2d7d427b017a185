"""End-to-end: every operation (thumbnail, diff, dither, info, rotate, flip,
crop, blur, sharpen, grayscale, convert, pipeline), animated GIF and WebP, and
every output format, against real img-rest and img-engine processes."""

import json
import os
import shutil
import tempfile
import unittest

import pngread
from harness import (JPEG_PHOTO, MIME, ServiceTestCase, header_field, image_size, read_file, sniff,
                     vips)

GDK_TESTS = "/usr/libexec/installed-tests/gdk-pixbuf"
ANIMATED_GIF = os.path.join(GDK_TESTS, "test-animation.gif")  # 17x17, 10 frames
ROTATED_JPEG = os.path.join(GDK_TESTS, "bug725582-testrotate.jpg")  # 640x428, EXIF orientation 6
# 660x666, 45 frames, delays from 30 to 670 ms
PARTY_GIF = os.path.join(GDK_TESTS, "1_partyanimsm2.gif")


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

    def test_exif_orientation_travels_to_the_engine(self):
        """The header img-rest stores and sends the engine carries the EXIF
        orientation (without it the engine would plan the image on its
        side): the upright image is 428x640, so half of it is 214x320."""
        st, data = self.svc.run_job("resize", {"file": ("r.jpg", read_file(ROTATED_JPEG))},
                                    fields={"width": 214})
        self.assertEqual((st["input"]["width"], st["input"]["height"], st["input"]["orientation"]),
                         (640, 428, 6))
        self.assertEqual((st["result"]["width"], st["result"]["height"]), (214, 320))
        self.assertEqual(image_size(data), (214, 320))

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



# -- rotate, flip, crop, blur, sharpen, grayscale, convert, pipeline ------------

def energy(width, height, channels, pixels):
    """Fine detail: the mean absolute Laplacian of the first three channels
    over the inner pixels."""
    total, n = 0, 0
    for y in range(1, height - 1):
        row = y * width
        for x in range(1, width - 1):
            p = pixels[row + x]
            l, r, u, d = pixels[row + x - 1], pixels[row + x + 1], pixels[row - width + x], pixels[row + width + x]
            for c in range(min(3, channels)):
                total += abs(4 * p[c] - l[c] - r[c] - u[c] - d[c])
                n += 1
    return total / n


class MoreOperationsTest(ServiceTestCase):
    """Each single-image operation and the pipeline on a real photo (a
    240x150 PNG of Dune.jpg): sizes, pixels read back, refusals."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        work = WorkDir(cls)
        vips("thumbnail", JPEG_PHOTO, work("dune.png"), 240)
        cls.png = read_file(work("dune.png"))
        cls.w, cls.h, cls.channels, cls.pixels = pngread.decode(cls.png)
        assert (cls.w, cls.h, cls.channels) == (240, 150, 3)

    def run_png(self, op, **fields):
        """Runs op on the photo with fields (a PNG result); returns the
        status JSON and the decoded result."""
        st, body = self.svc.run_job(op, {"file": ("dune.png", self.png)}, fields=fields)
        self.assertEqual(st["operation"], op)
        self.assertEqual(sniff(body), "png")
        self.assertEqual(st["result"]["format"], "png")
        w, h, channels, pixels = pngread.decode(body)
        self.assertEqual((st["result"]["width"], st["result"]["height"]), (w, h))
        return st, (w, h, channels, pixels)

    def at(self, x, y):
        return self.pixels[y * self.w + x]

    def some_points(self):
        return [(0, 0), (self.w - 1, 0), (0, self.h - 1), (self.w - 1, self.h - 1), (37, 101), (200, 12)]

    def test_rotate(self):
        where = {"90": lambda x, y: (self.h - 1 - y, x),
                 "180": lambda x, y: (self.w - 1 - x, self.h - 1 - y),
                 "270": lambda x, y: (y, self.w - 1 - x)}
        for angle, place in where.items():
            with self.subTest(angle=angle):
                _, (w, h, _, pixels) = self.run_png("rotate", angle=angle)
                self.assertEqual((w, h), (self.w, self.h) if angle == "180" else (self.h, self.w))
                for (x, y) in self.some_points():
                    ox, oy = place(x, y)
                    self.assertEqual(pixels[oy * w + ox], self.at(x, y), (angle, x, y))
        resp = self.svc.post_job("rotate", files={"file": ("dune.png", self.png)}, fields={"angle": "45"})
        self.assertIn("angle", self.assertError(resp, 400, "invalid_parameter")["message"])

    def test_flip(self):
        for direction, place in (("horizontal", lambda x, y: (self.w - 1 - x, y)),
                                 ("vertical", lambda x, y: (x, self.h - 1 - y))):
            with self.subTest(direction=direction):
                _, (w, h, _, pixels) = self.run_png("flip", direction=direction)
                self.assertEqual((w, h), (self.w, self.h))
                for (x, y) in self.some_points():
                    ox, oy = place(x, y)
                    self.assertEqual(pixels[oy * w + ox], self.at(x, y), (direction, x, y))

    def test_crop(self):
        _, (w, h, _, pixels) = self.run_png("crop", left=37, top=21, width=101, height=77)
        self.assertEqual((w, h), (101, 77))
        for y in range(77):
            for x in range(101):
                self.assertEqual(pixels[y * w + x], self.at(37 + x, 21 + y), (x, y))
        # the far corner exactly
        _, (w, h, _, pixels) = self.run_png("crop", left=self.w - 10, top=self.h - 5, width=10, height=5)
        self.assertEqual(pixels[-1], self.at(self.w - 1, self.h - 1))

    def test_crop_outside_the_image(self):
        for fields, box in (({"left": 150, "top": 21, "width": 91, "height": 77}, "91x77 at (150, 21)"),
                            ({"width": 240, "height": 151}, "240x151 at (0, 0)")):
            with self.subTest(fields=fields):
                resp = self.svc.post_job("crop", files={"file": ("dune.png", self.png)}, fields=fields)
                err = self.assertError(resp, 422, "invalid_parameter")
                self.assertIn(box, err["message"])
                self.assertIn("240x150", err["message"])

    def test_blur_and_sharpen(self):
        before = energy(self.w, self.h, self.channels, self.pixels)
        _, blurred = self.run_png("blur", sigma="2")
        _, sharpened = self.run_png("sharpen", sigma="1")
        self.assertEqual(blurred[:2], (self.w, self.h))
        self.assertEqual(sharpened[:2], (self.w, self.h))
        self.assertLess(energy(*blurred), 0.6 * before)
        self.assertGreater(energy(*sharpened), 1.3 * before)
        resp = self.svc.post_job("blur", files={"file": ("dune.png", self.png)})
        self.assertIn("sigma", self.assertError(resp, 400, "invalid_parameter")["message"])

    def test_grayscale(self):
        _, (w, h, channels, pixels) = self.run_png("grayscale")
        self.assertEqual((w, h, channels), (self.w, self.h, 1))
        # a grey between the darkest and the brightest channel of each pixel
        for (x, y) in self.some_points():
            p = self.at(x, y)
            self.assertTrue(min(p) - 2 <= pixels[y * w + x][0] <= max(p) + 2, (x, y))
        st, body = self.svc.run_job("grayscale", {"file": ("dune.jpg", read_file(JPEG_PHOTO))})
        self.assertEqual((sniff(body), image_size(body)), ("jpeg", (1680, 1050)))
        with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
            f.write(body)
            f.flush()
            self.assertEqual(header_field(f.name, "bands"), "1")

    def test_convert(self):
        _, (w, h, _, pixels) = self.run_png("convert", format="png")
        self.assertEqual(pixels, self.pixels)
        for fmt in ("jpeg", "webp", "gif", "tiff", "avif"):
            with self.subTest(format=fmt):
                st, body = self.svc.run_job("convert", {"file": ("dune.png", self.png)}, fields={"format": fmt})
                self.assertEqual((sniff(body), st["result"]["format"]), (fmt, fmt))
                self.assertEqual(image_size(body), (self.w, self.h))
        resp = self.svc.post_job("convert", files={"file": ("dune.png", self.png)})
        self.assertIn("format", self.assertError(resp, 400, "invalid_parameter")["message"])

    def test_pipeline_from_form_fields(self):
        steps = [{"op": "resize", "width": 120}, {"op": "rotate", "angle": 90},
                 {"op": "crop", "left": 10, "top": 20, "width": 50, "height": 60},
                 {"op": "sharpen"}, {"op": "convert", "format": "webp"}]
        st, body = self.svc.run_job("pipeline", {"file": ("dune.png", self.png)},
                                    fields={"steps": json.dumps(steps)})
        self.assertEqual(st["result"]["steps"],
                         [{"op": "resize", "width": 120, "height": 75}, {"op": "rotate", "width": 75, "height": 120},
                          {"op": "crop", "width": 50, "height": 60}, {"op": "sharpen", "width": 50, "height": 60},
                          {"op": "convert", "width": 50, "height": 60}])
        self.assertEqual((st["result"]["format"], sniff(body), image_size(body)), ("webp", "webp", (50, 60)))
        # the pipeline's own format wins; flip then crop moves the far corner
        # to the origin
        st, body = self.svc.run_job("pipeline", {"file": ("dune.png", self.png)},
                                    fields={"steps": json.dumps([{"op": "flip", "direction": "vertical"},
                                                                 {"op": "flip"},
                                                                 {"op": "convert", "format": "gif"},
                                                                 {"op": "crop", "width": 3, "height": 2}]),
                                            "format": "png"})
        w, h, _, pixels = pngread.decode(body)
        self.assertEqual((w, h), (3, 2))
        self.assertEqual(pixels[0], self.at(self.w - 1, self.h - 1))
        self.assertEqual(pixels[w + 2], self.at(self.w - 3, self.h - 2))

    def test_pipeline_bad_steps_named(self):
        big = {"op": "crop", "width": 240, "height": 2}
        cases = [
            ([{"op": "rotato"}], 400, "steps[0]: op must name"),
            ([{"angle": 90}], 400, "steps[0]: op must name"),
            ([{"op": "flip"}, {"op": "diff"}], 400, "steps[1]: op must name"),
            ([{"op": "info"}], 400, "steps[0]: op must name"),
            ([{"op": "flip"}, {"op": "flip"}, {"op": "pipeline", "steps": [{"op": "flip"}]}], 400,
             "steps[2]: op must name"),
            ([{"op": "rotate", "angle": 90, "sigma": 1}], 400, "steps[0] (rotate): unknown parameter 'sigma'"),
            ([{"op": "rotate"}], 400, "steps[0] (rotate): angle is required"),
            # the message quotes 64 bytes of the name, which cut an é in two
            ([{"op": "rotate", "angle": 90, "a" + "\u00e9" * 40: 1}], 400,
             "steps[0] (rotate): unknown parameter 'a" + "\u00e9" * 31 + "?'"),
            ([{"op": "flip"}, {"op": "blur", "sigma": 0}], 400, "steps[1] (blur): sigma must be a number"),
            ([{"op": "flip"}, {"op": "flip", "direction": "up"}], 400, "steps[1] (flip): direction must be one of"),
            ([{"op": "resize", "width": 100}, {"op": "crop", "left": 50, "width": 60, "height": 10}], 422,
             "steps[1] (crop): the box 60x10 at (50, 0) is not inside the 100x63 image"),
            ([big, {"op": "resize", "height": 2000}], 400,
             "steps[1] (resize): its result would be 240000x2000 pixels"),
        ]
        for steps, status, message in cases:
            with self.subTest(steps=steps):
                resp = self.svc.post_job("pipeline", files={"file": ("dune.png", self.png)},
                                         fields={"steps": json.dumps(steps)})
                err = self.assertError(resp, status, "invalid_parameter")
                self.assertIn(message, err["message"])
        for text in ("not json", "[]", json.dumps([{"op": "flip"}] * 11), '{"op": "flip"}', "[1]"):
            with self.subTest(steps=text):
                resp = self.svc.post_job("pipeline", files={"file": ("dune.png", self.png)}, fields={"steps": text})
                err = self.assertError(resp, 400, "invalid_parameter")
                self.assertIn("steps must be a JSON array of 1 to 10 objects", err["message"])


def delays_and_pages(data):
    """(n-pages, page height, delays) of animated image bytes, by vipsheader."""
    with tempfile.NamedTemporaryFile(suffix="." + sniff(data)) as f:
        f.write(data)
        f.flush()
        every = f.name + "[n=-1]"
        delays = [int(d) for d in header_field(every, "delay").split()]
        return int(header_field(every, "n-pages")), int(header_field(every, "page-height")), delays


def merged_runs(delays, written):
    """True if `written` is `delays` with runs of consecutive frames merged
    into one frame whose delay is their sum (what libwebp's encoder does to
    a frame equal to the one before, within its quality's tolerance)."""
    i = 0
    for d in written:
        total = 0
        while total < d and i < len(delays):
            total += delays[i]
            i += 1
        if total != d:
            return False
    return i == len(delays)


class AnimationTest(ServiceTestCase):
    """A real animated GIF (gdk-pixbuf's tests: 45 frames of 660x666, delays
    from 30 to 670 ms) through the service; the steps on a 159x160 copy
    made by `vips thumbnail`, which keeps its frames and delays."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        work = WorkDir(cls)
        cls.gif = read_file(PARTY_GIF)
        cls.delays = [int(d) for d in header_field(PARTY_GIF, "delay").split()]
        assert len(cls.delays) == 45 and len(set(cls.delays)) > 5
        vips("thumbnail", PARTY_GIF + "[n=-1]", work("small.gif"), 160)
        cls.small = read_file(work("small.gif"))
        assert delays_and_pages(cls.small) == (45, 160, cls.delays)

    def test_resize_to_animated_webp_keeps_frames_and_delays(self):
        # at quality 100 libwebp keeps every frame
        st, body = self.svc.run_job("resize", {"file": ("party.gif", self.gif)},
                                    fields={"width": 100, "format": "webp", "quality": 100})
        self.assertEqual(sniff(body), "webp")
        self.assertEqual((st["result"]["width"], st["result"]["height"], st["result"]["pages"]), (100, 101, 45))
        self.assertEqual(delays_and_pages(body), (45, 101, self.delays))
        # at its default quality it merges frames it finds equal, their
        # delays added: the result counts the frames written
        st, body = self.svc.run_job("resize", {"file": ("party.gif", self.gif)},
                                    fields={"width": 100, "format": "webp"})
        pages, height, delays = delays_and_pages(body)
        self.assertEqual((st["result"]["pages"], height), (pages, 101))
        self.assertTrue(merged_runs(self.delays, delays), delays)

    def test_steps_keep_frames(self):
        for op, fields, size in (("rotate", {"angle": 90}, (160, 159)),
                                 ("flip", {}, (159, 160)),
                                 ("crop", {"left": 20, "top": 30, "width": 100, "height": 50}, (100, 50)),
                                 ("convert", {"format": "webp", "quality": 100}, (159, 160)),
                                 ("pipeline", {"steps": json.dumps([{"op": "crop", "width": 120, "height": 90},
                                                                    {"op": "rotate", "angle": 270},
                                                                    {"op": "resize", "width": 60}])},
                                  (60, 80))):
            with self.subTest(op=op):
                st, body = self.svc.run_job(op, {"file": ("party.gif", self.small)}, fields=fields)
                self.assertEqual(sniff(body), fields.get("format", "gif"))
                self.assertEqual((st["result"]["width"], st["result"]["height"]), size)
                self.assertEqual(st["result"]["pages"], 45)
                self.assertEqual(delays_and_pages(body), (45, size[1], self.delays))

    def test_info_counts_pages(self):
        status, _, job = self.svc.post_job("info", files={"file": ("party.gif", self.gif)})
        self.assertEqual(status, 202, job)
        st = self.svc.wait_status("info", job["id"])
        self.assertEqual((st["result"]["pages"], st["result"]["width"], st["result"]["height"]), (45, 660, 666))

    def test_to_jpeg_is_the_first_frame(self):
        st, body = self.svc.run_job("convert", {"file": ("party.gif", self.small)}, fields={"format": "png"})
        self.assertEqual((sniff(body), image_size(body)), ("png", (159, 160)))
        self.assertNotIn("pages", st["result"])
        # the first frame, exactly (a png of the GIF's first frame's colours)
        work = WorkDir(self)
        with open(work("small.gif"), "wb") as f:
            f.write(self.small)
        vips("copy", work("small.gif"), work("first.png"))
        _, _, _, want = pngread.decode(read_file(work("first.png")))
        _, _, channels, got = pngread.decode(body)
        self.assertEqual([p[:3] for p in got], [p[:3] for p in want])
        st, body = self.svc.run_job("convert", {"file": ("party.gif", self.small)}, fields={"format": "jpeg"})
        self.assertEqual((sniff(body), image_size(body)), ("jpeg", (159, 160)))
        self.assertNotIn("pages", st["result"])

    def test_frame_and_pixel_limits_count_every_frame(self):
        svc = self.service(config={"max_frames": 44})
        resp = svc.post_job("resize", files={"file": ("party.gif", self.small)}, fields={"width": 100})
        err = self.assertError(resp, 422, "image_too_large")
        self.assertIn("45 frames", err["message"])
        svc = self.service(config={"max_pixels": 159 * 160 * 45 - 1})
        resp = svc.post_job("convert", files={"file": ("party.gif", self.small)}, fields={"format": "png"})
        err = self.assertError(resp, 422, "image_too_large")
        self.assertIn("45 page(s)", err["message"])

if __name__ == "__main__":
    unittest.main()
