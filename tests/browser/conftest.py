"""Fixtures for the browser test: Debian's Chromium (through Playwright) and a private JupyterLab.

Without Chromium or Playwright the browser test is skipped with a message, unless
K8SLAB_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.
Everything the server and the browser write goes under one temp dir: nothing lands in ~,
and the repository's notebooks are copied, never edited (JupyterLab autosaves). The server's
own JUPYTER_DATA_DIR holds its trust database, so no signature from an earlier run can make a
notebook trusted: the copy under `fresh/` is what a fresh clone shows, and is never run.
Screenshots go to $K8SLAB_ARTIFACTS (or $K8SLAB_SCREENSHOT_DIR), else tests/browser/artifacts.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing(what: str) -> None:
    message = (f"browser test needs {what}. On Debian/Ubuntu: sudo apt-get install chromium; "
               "pip install -r requirements-test.txt (Playwright).")
    if os.environ.get("K8SLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (K8SLAB_REQUIRE_BROWSER=1: a missing browser is a failure)",
                    pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    override = os.environ.get("K8SLAB_CHROMIUM")
    for candidate in ([override] if override else []) + list(CHROMIUM_CANDIDATES):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    _missing("Chromium (/usr/bin/chromium)")


@pytest.fixture(scope="session")
def browser_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("k8slab-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def jupyter_lab(browser_home, chromium_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebooks/: yields (base_url, token, root)."""
    root = browser_home / "lab"
    ignore = shutil.ignore_patterns(".ipynb_checkpoints")
    shutil.copytree(REPO / "notebooks", root, ignore=ignore)             # to run
    shutil.copytree(REPO / "notebooks", root / "fresh", ignore=ignore)   # to open, never run
    home = browser_home / "home"
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no news pop-up, no update check: both would cover the notebook
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell, not only those in view (JupyterLab 4's default windowing), so a test
    # can find every output without scrolling.
    tracker = home / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = dict(os.environ,
               HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"), JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
               XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
               PYTHONUNBUFFERED="1")
    token = secrets.token_hex(16)
    port = _free_port()
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--ServerApp.port_retries=0",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log = open(browser_home / "jupyterlab.log", "w")
    server = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("JupyterLab did not start:\n"
                                   + (browser_home / "jupyterlab.log").read_text()[-3000:])
            time.sleep(0.25)
        yield base, token, root
    finally:
        server.terminate()          # by its PID, the one we started
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()


@pytest.fixture(scope="session")
def browser(chromium_path, browser_home):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright (pip install playwright; never `playwright install`)")
    env = dict(os.environ, XDG_CONFIG_HOME=str(browser_home / "xdg-config"),
               XDG_CACHE_HOME=str(browser_home / "xdg-cache"), HOME=str(browser_home / "home"))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS, env=env)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    d = Path(os.environ.get("K8SLAB_ARTIFACTS") or os.environ.get("K8SLAB_SCREENSHOT_DIR")
             or REPO / "tests" / "browser" / "artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return d
