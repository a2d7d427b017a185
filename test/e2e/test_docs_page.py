"""The docs page in a real browser: headless Chromium, driven by
test/browser/docs_page.test.mjs (playwright-core), against real programs."""

import os
import subprocess
import unittest

from harness import SOURCE_DIR, ServiceTestCase

SCRIPT = os.path.join(SOURCE_DIR, "test", "browser", "docs_page.test.mjs")


class DocsPage(ServiceTestCase):
    def test_every_operation_from_the_page(self):
        self.assertTrue(os.path.exists("/usr/bin/chromium"),
                        "Debian's chromium is needed (scripts/install-deps.sh test installs it)")
        env = dict(os.environ, IMG_BASE_URL="http://127.0.0.1:%d" % self.svc.http_port,
                   IMG_SCREENSHOT=os.path.join(self.svc.dir, "docs.png"))
        run = subprocess.run(["node", SCRIPT], env=env, capture_output=True, text=True,
                             timeout=600)
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:])
        self.assertEqual(run.returncode, 0, "browser test failed")
        self.assertIn(" passed, 0 failed", run.stdout)
        self.assertTrue(os.path.getsize(env["IMG_SCREENSHOT"]) > 10000, "no screenshot")


if __name__ == "__main__":
    unittest.main()
