"""The console as a user meets it: ``fraudwatch demo --serve`` in a subprocess (the
simulator's traffic sent through the running service, on a free port, in a temp data dir),
and a real Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium,
with every address but the server's unreachable.

Screenshots of each page at 1440x900 are taken on every run; with
``FW_TEST_SCREENSHOTS=docs/console`` they replace the README's pictures, so those show what
the current code draws from the simulator's data.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# a small month: enough for every attack scenario, quick to load on a busy machine
DEMO = ["--cardholders", "600", "--days", "14", "--seed", "7"]


class Demo:
    def __init__(self, proc: subprocess.Popen, url: str, admin: str, analyst: str, data_dir: Path):
        self.proc = proc
        self.console = url
        self.base = url.removesuffix("/console")
        self.admin_key = admin
        self.analyst_key = analyst
        self.data_dir = data_dir

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    data_dir = tmp_path_factory.mktemp("console-demo")
    # a fresh install's environment (env: production by default, no secret set): the demo runs as is
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fraudwatch.cli", "demo", "--serve", *DEMO, "--port", "0", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    found: dict[str, str] = {}
    deadline = time.monotonic() + 240
    while len(found) < 3 and time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        for name, pattern in (
            ("url", r"fraudwatch console: (http://\S+)"),
            ("admin", r"admin key:\s+(\S+)"),
            ("analyst", r"analyst key:\s+(\S+)"),
        ):
            if m := re.search(pattern, line):
                found[name] = m.group(1)
    if len(found) < 3:
        proc.kill()
        pytest.fail("fraudwatch demo --serve did not print its URL and keys:\n" + "".join(log[-40:]))
    yield Demo(proc, found["url"], found["admin"], found["analyst"], data_dir)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail(
            "the console tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"fraudwatch-chromium-{os.getpid()}-{time.time_ns()}"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
        "--window-size=1440,900",
        "--lang=en-US",
        f"--user-data-dir={profile}",
        # nothing but the server (on the loopback, never proxied) can be reached
        "--proxy-server=http://127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_window_size(1440, 900)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(chrome, demo):
    """The shared Chromium, signed out (cookies gone), on the demo's origin."""
    chrome.get(demo.console + "/signin")
    chrome.delete_all_cookies()
    return chrome
