"""Shared pieces for browser tests: serve the page on 127.0.0.1 and drive Debian's Chromium.

Without Chromium (or Playwright) the browser tests skip with the reason, except under CI=true, where a
missing browser is a failure. Servers listen on 127.0.0.1 only and are stopped by the fixture.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def require_browser():
    """Skip (or, under CI, fail) when the browser or Playwright is missing."""
    reason = None
    if chromium_path() is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -r requirements-dev.txt)"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(script: str = "app.py", timeout: float = 60.0):
    """Start `streamlit run script` on 127.0.0.1 and yield its base URL; stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless=true",
           "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
           "--server.fileWatcherType=none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: {proc.stdout.read().decode(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("streamlit did not start in time")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_for_app(page, timeout=60_000):
    """Wait until the script has finished running and a chart is drawn."""
    page.wait_for_selector('.main-svg', timeout=timeout)
    wait_idle(page, timeout)


def wait_idle(page, timeout=60_000):
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    page.wait_for_timeout(300)
