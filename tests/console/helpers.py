"""Helpers of the console tests: signing in (browser and HTTP), screenshots."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to a temporary folder, or where FW_TEST_SCREENSHOTS says: the README's
# pictures are refreshed with `FW_TEST_SCREENSHOTS=docs/console python -m pytest tests/console`
# (written by default, they would leave every developer's checkout changed after a test run).
SHOTS = Path(os.environ.get("FW_TEST_SCREENSHOTS") or Path(tempfile.gettempdir()) / "fraudwatch-console-screenshots")
if not SHOTS.is_absolute():
    SHOTS = ROOT / SHOTS


def sign_in(driver, demo, key: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(demo.console + "/signin")
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.ID, "signin").click()
    WebDriverWait(driver, 30).until(
        lambda d: "/signin" not in d.current_url or d.find_elements(By.CSS_SELECTOR, ".error")
    )
    assert "/signin" not in driver.current_url, driver.find_element(By.TAG_NAME, "main").text


def screenshot(driver, name: str) -> None:
    """A 1440x900 picture of the current page for docs/console/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def session_client(demo, key: str) -> tuple[httpx.Client, str]:
    """An HTTP client signed in through the sign-in form; returns it and the session's CSRF token."""
    client = httpx.Client(base_url=demo.base, timeout=30, follow_redirects=False)
    page = client.get("/console/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post("/console/signin", data={"key": key, "csrf": token, "next": "/console/rules"})
    assert done.status_code == 303, done.text
    rules = client.get("/console/rules")
    csrf = re.search(r'name="csrf" value="([^"]+)"', rules.text).group(1)
    return client, csrf
