"""examples/dashboard.py: the live page in a real headless Chromium, and its feed with the websockets client.

The browser test starts Debian's ``chromium`` with a DevTools port, loads the
page, and reads the DOM through the DevTools protocol (``Runtime.evaluate``)
until at least three server-side changes have appeared, in order, over one
WebSocket. Without chromium the test is skipped, except under CI=true, where
``.ci/browser`` installs it and a missing browser is a failure; where CI runs
without a browser on purpose (``.ci/matrix``'s chroot), ``GREENLANE_NO_BROWSER``
holds the reason and the test skips with it, CI or not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httptools", reason="greenlane.wsgi needs the optional httptools (greenlane[wsgi])")
pytest.importorskip("wsproto", reason="greenlane.websocket needs the optional wsproto (greenlane[wsgi])")
websockets_client = pytest.importorskip(
    "websockets.sync.client", reason="the websockets package (test extra)"
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dashboard.py"
# Bounds waits that should end quickly: reached only if something hangs.
HANG_GUARD = 60.0
STEP = 0.2  # seconds between the node's changes
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture
def dashboard() -> Iterator[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", "0", "--step", str(STEP)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"serving on (http://\S+)", line)
        assert match, line + proc.stdout.read()
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(HANG_GUARD)
        if proc.stdout is not None:
            proc.stdout.close()


def _stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "stats", timeout=HANG_GUARD) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _changes(texts: list[str]) -> list[int]:
    return [int(text.split()[0][1:]) for text in texts]


class DevTools:
    """The smallest DevTools-protocol client: evaluate JavaScript in one page."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    def evaluate(self, expression: str) -> Any:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": "Runtime.evaluate", "params": {
            "expression": expression, "returnByValue": True,
        }}))  # fmt: skip
        while True:
            reply = json.loads(self.ws.recv(timeout=HANG_GUARD))
            if reply.get("id") == self.next_id:
                return reply["result"]["result"].get("value")


def _page_target(profile: Path, page_url: str) -> str:
    """The DevTools WebSocket URL of the tab showing ``page_url``."""
    deadline = time.monotonic() + HANG_GUARD
    port_file = profile / "DevToolsActivePort"
    while not port_file.exists():
        assert time.monotonic() < deadline, "chromium did not open its DevTools port"
        time.sleep(0.05)
    port = port_file.read_text().split()[0]
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=HANG_GUARD) as response:
            targets = json.loads(response.read())
        for target in targets:
            if target.get("type") == "page" and target.get("url", "").startswith(page_url):
                return str(target["webSocketDebuggerUrl"])
        assert time.monotonic() < deadline, f"no page target for {page_url}: {targets}"
        time.sleep(0.05)


def test_the_page_shows_live_changes_in_a_real_browser(dashboard: str, tmp_path: Path) -> None:
    no_browser = os.environ.get("GREENLANE_NO_BROWSER")
    if no_browser:
        pytest.skip(f"GREENLANE_NO_BROWSER: {no_browser}")
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing under CI: .ci/browser should have installed it")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/browser does it in CI)")
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", dashboard],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        target = _page_target(profile, dashboard)
        with websockets_client.connect(
            target, open_timeout=HANG_GUARD, max_size=None, compression=None
        ) as ws:
            devtools = DevTools(ws)
            deadline = time.monotonic() + HANG_GUARD
            first_seen: list[int] | None = None
            while True:
                texts = devtools.evaluate(
                    "[...document.querySelectorAll('#events li')].map(li => li.textContent)"
                )
                seqs = _changes(texts or [])
                if seqs and first_seen is None:
                    first_seen = seqs
                # At least three changes made by the server after the page had loaded.
                if first_seen is not None and len(seqs) >= len(first_seen) + 3:
                    break
                assert time.monotonic() < deadline, f"the page did not update: {texts}"
                time.sleep(STEP / 2)
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"changes out of order or lost: {seqs}"
            assert all(": " in text for text in texts)
            assert devtools.evaluate("document.getElementById('sockets').textContent") == "1"
            status = devtools.evaluate("document.getElementById('status').textContent")
            assert status in {text.split(" ", 1)[1] for text in texts} or status.startswith("instance-")
        assert _stats(dashboard)["sockets_opened"] == 1  # one WebSocket for the whole page
    finally:
        browser.terminate()
        try:
            browser.wait(HANG_GUARD)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()


def test_the_feed_with_the_websockets_client(dashboard: str) -> None:
    url = dashboard.replace("http://", "ws://") + "ws"
    with websockets_client.connect(url, open_timeout=HANG_GUARD, compression=None) as ws:
        changes = [json.loads(ws.recv(timeout=HANG_GUARD)) for _ in range(6)]
    seqs = [change["seq"] for change in changes]
    assert seqs == list(range(seqs[0], seqs[0] + 6))
    assert all(change["text"].startswith("instance-") for change in changes)
