"""Notebook 01 in JupyterLab, in headless Chromium: clear, run all, drive the explorer, look.

    .venv/bin/python -m pytest tests/browser -p no:cacheprovider -s

Skips (with a message) when Chromium or Playwright is missing, unless K8SLAB_REQUIRE_BROWSER=1.
Screenshots go to $K8SLAB_SCREENSHOT_DIR, else a temp dir; their paths are printed.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest

NOTEBOOK = "01-who-is-calling.ipynb"


def decoded_svg(img_src: str) -> str:
    """JupyterLab shows SVG as <img src="data:image/svg+xml,...">: the SVG text inside."""
    assert img_src.startswith("data:image/svg+xml"), img_src[:60]
    head, _, body = img_src.partition(",")
    if head.endswith(";base64"):
        import base64
        return base64.b64decode(body).decode("utf-8")
    return urllib.parse.unquote(body)


def wait_idle(page, timeout=60_000):
    # The status bar, not the toolbar: the toolbar says idle while the kernel still starts.
    page.wait_for_function(
        """() => { const bar = document.querySelector('#jp-main-statusbar');
                   return bar && /\\|\\s*Idle/.test(bar.innerText); }""", timeout=timeout)


def menu(page, top: str, item: str):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()


def test_explorer_in_jupyterlab(jupyter_lab, browser, screenshot_dir):
    base, token, root = jupyter_lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(30_000)
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    page.locator(".jp-Notebook").first.wait_for()
    wait_idle(page)

    # Clear every saved output first, so nothing below can be satisfied by them.
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length === 0")
    assert page.locator(".k8slab-explorer").count() == 0

    menu(page, "Run", "Run All Cells")
    explorer = page.locator(".k8slab-explorer")
    explorer.wait_for(timeout=60_000)
    wait_idle(page)
    explorer.scroll_into_view_if_needed()

    headline = explorer.locator(".k8slab-headline")
    reason = explorer.locator(".k8slab-reason")
    diagram = explorer.locator(".k8slab-diagram img")
    yaml = explorer.locator(".k8slab-yaml pre")

    def picture() -> str:
        diagram.first.wait_for()
        return decoded_svg(diagram.first.get_attribute("src"))

    snapshot = ("() => { const r = document.querySelector('.k8slab-explorer .k8slab-reason');"
                " const i = document.querySelector('.k8slab-explorer .k8slab-diagram img');"
                " return [r ? r.innerText : '', i ? i.src : '']; }")

    def click(control: str, label: str):
        """Click a toggle button, then wait until both the reason and the picture are redrawn."""
        before = page.evaluate(snapshot)
        explorer.locator(f".k8slab-{control}").get_by_role("button", name=label, exact=True).click()
        page.wait_for_function(f"(old) => {{ const now = ({snapshot})();"
                               " return now[0] !== old[0] && now[1] !== old[1]; }", arg=before)

    # The explorer starts on the laptop and the ClusterIP Service: no way in.
    page.wait_for_function("() => { const h = document.querySelector('.k8slab-explorer .k8slab-headline');"
                           " return h && h.innerText.trim().length > 0; }")
    assert "Not reachable" in headline.inner_text()

    # A pod in the cluster gets in through the cluster IP.
    click("kind", "pod")
    assert "Reachable" in headline.inner_text() and "ClusterIP" in headline.inner_text()
    assert "cluster IP" in reason.inner_text()
    pod_svg = picture()
    assert "no way in" not in pod_svg

    # Back to the laptop: a ClusterIP Service is not reachable, and the picture says where it stops.
    click("kind", "laptop")
    assert "Not reachable" in headline.inner_text()
    assert "not-exposed" in headline.inner_text()
    assert "cannot reach it" in reason.inner_text()
    laptop_svg = picture()
    assert "no way in" in laptop_svg and laptop_svg != pod_svg

    # Switch the Service to NodePort: the laptop gets in, and the node port is in the picture.
    click("type", "NodePort")
    # Each widget syncs in its own message and the YAML comes last: wait for it too, not just
    # for the reason and the picture (CI once read the YAML one message too early).
    page.wait_for_function("() => { const y = document.querySelector('.k8slab-explorer .k8slab-yaml pre');"
                           " return y && /nodePort: \\d+/.test(y.innerText); }")
    assert "Reachable" in headline.inner_text() and "NodePort" in headline.inner_text()
    node_port = re.search(r"nodePort: (\d+)", yaml.inner_text()).group(1)
    assert 30000 <= int(node_port) <= 32767
    assert node_port in reason.inner_text()
    nodeport_svg = picture()
    assert node_port in nodeport_svg and "node port" in nodeport_svg
    assert "no way in" not in nodeport_svg

    # The YAML is selectable in one click (user-select: all), ready to copy.
    assert yaml.evaluate("e => getComputedStyle(e).userSelect") == "all"

    # The stable text check below the live view printed the starting state.
    assert "laptop -> default/web:80 (no way in)" in page.locator(".jp-Notebook").inner_text()

    page.screenshot(path=str(screenshot_dir / "notebook-01-viewport.png"))
    page.set_viewport_size({"width": 1400, "height": 2400})   # room for the whole explorer
    explorer.scroll_into_view_if_needed()
    shot = screenshot_dir / "explorer-laptop-nodeport.png"
    explorer.screenshot(path=str(shot))
    print(f"\nscreenshots: {shot} and {screenshot_dir / 'notebook-01-viewport.png'}")
    assert not [e for e in errors if "k8slab" in e or "widget" in e.lower()], errors
    page.close()
