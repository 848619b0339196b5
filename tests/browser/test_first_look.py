"""What a learner sees first, in JupyterLab 4 and headless Chromium at a 1366x768 window.

1. Every notebook of a fresh copy, opened and not run (so untrusted): every saved picture is a
   rendered image (not the text repr, not "Cannot display an untrusted SVG"), no wider than its
   output area, with no text below 10 CSS px; the explorer cells show their still picture; no
   output scrolls sideways.
2. Notebooks 01 and 03 run from a clean slate: the same for their live pictures, and the live
   explorer replaces the still picture, fits, and its panels do not scroll sideways.

    K8SLAB_REQUIRE_BROWSER=1 .venv/bin/python -m pytest tests/browser -p no:cacheprovider -s

Screenshots go to $K8SLAB_ARTIFACTS (default tests/browser/artifacts/).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from test_explorer_in_lab import decoded_svg, menu, wait_idle

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))   # 04 and 06 too, once they land
RUN = ["01-who-is-calling.ipynb", "03-traffic-policies.ipynb"]
WINDOW = {"width": 1366, "height": 768}
MIN_TEXT_PX = 10


def saved_pictures(name: str) -> tuple[int, int]:
    """(pictures, explorer still pictures) saved in the repository's copy of a notebook."""
    nb = json.loads((REPO / "notebooks" / name).read_text())
    pictures = explorers = 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            pictures += html.count('src="data:image/svg+xml')
            explorers += "k8slab-explorer-static" in html
            assert "image/svg+xml" not in out.get("data", {}), \
                f"{name}: a saved image/svg+xml output, which JupyterLab hides when untrusted"
    return pictures, explorers


# Every <img> of an SVG inside an output area: its size, its area's width, its smallest text.
MEASURE = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))
  .filter(i => i.src.startsWith('data:image/svg+xml'))
  .map(i => { const area = i.closest('.jp-OutputArea-output'); const r = i.getBoundingClientRect();
              return {src: i.src, complete: i.complete, natural: i.naturalWidth, width: r.width,
                      height: r.height, area: area.clientWidth,
                      visible: r.width > 0 && r.height > 0 && getComputedStyle(i).visibility !== 'hidden',
                      explorer: !!i.closest('.k8slab-explorer, .k8slab-explorer-static')}; })"""
OVERFLOW = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
  .filter(o => o.scrollWidth > o.clientWidth + 1)
  .map(o => ({text: o.innerText.slice(0, 80), scroll: o.scrollWidth, client: o.clientWidth}))"""


def smallest_text_px(svg: str, rendered_width: float) -> float:
    """The smallest font-size in a Graphviz or matplotlib SVG, in CSS px as drawn."""
    head = re.search(r"<svg[^>]*>", svg).group(0)
    width_pt = float(re.search(r'width="([\d.]+)pt"', head).group(1))
    scale = rendered_width / (width_pt * 4 / 3)
    sizes = [float(x) for x in re.findall(r'font-size="([\d.]+)"', svg)]
    return min(sizes) * 4 / 3 * scale if sizes else float("inf")   # matplotlib: glyphs are paths


def check_pictures(page, name: str, expected: int | None = None) -> list[dict]:
    if expected:
        page.wait_for_function(
            f"() => ({MEASURE})().filter(i => i.complete && i.natural > 0).length >= {expected}",
            timeout=60_000)
    pictures = page.evaluate(MEASURE)
    if expected is not None:
        assert len(pictures) == expected, f"{name}: {len(pictures)} pictures shown, {expected} saved"
    for n, p in enumerate(pictures):
        where = f"{name}, picture {n + 1}"
        assert p["visible"] and p["complete"] and p["natural"] > 0, f"{where} is not rendered: {p}"
        assert p["width"] <= p["area"] + 0.5, f"{where}: {p['width']} px wide in a {p['area']} px area"
        assert p["width"] <= p["natural"] + 0.5, f"{where} is upscaled past its natural size"
        text_px = smallest_text_px(decoded_svg(p["src"]), p["width"])
        assert text_px >= MIN_TEXT_PX - 0.05, f"{where}: text at {text_px:.1f} px"
        p["text_px"] = text_px
    return pictures


def open_page(browser, base, token, path):
    context = browser.new_context(viewport=WINDOW)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/lab/tree/{path}?token={token}&reset")
    page.locator(".jp-Notebook").first.wait_for()
    return context, page


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_saved_outputs_show_untrusted(name, jupyter_lab, browser, screenshot_dir):
    base, token, _root = jupyter_lab
    expected, explorers = saved_pictures(name)
    context, page = open_page(browser, base, token, f"fresh/{name}")
    try:
        trust = page.locator(".jp-StatusItem-trust")
        trust.wait_for()
        # While the cells are still loading the indicator counts 0 of 0 cells and says
        # "trusted": wait (bounded) for the loaded notebook's own answer before judging it.
        try:
            page.wait_for_function(
                "() => { const t = document.querySelector('.jp-StatusItem-trust');"
                " return document.querySelectorAll('.jp-Notebook .jp-Cell').length > 0 &&"
                " t && (t.getAttribute('title') || '').includes('not trusted'); }",
                timeout=15_000)
        except Exception:
            pass
        assert "not trusted" in (trust.get_attribute("title") or ""), "the fresh copy is trusted"
        pictures = check_pictures(page, name, expected)
        text = page.locator(".jp-Notebook").inner_text()
        assert "Cannot display an untrusted SVG" not in text
        assert "<Diagram:" not in text and "<Chart:" not in text, "a picture shows as its text repr"
        assert page.locator(".k8slab-explorer-static").count() == explorers
        if explorers:
            still = page.locator(".k8slab-explorer-static").first
            assert still.locator("img").first.is_visible()
        assert page.evaluate(OVERFLOW) == []
        stem = name.removesuffix(".ipynb")
        if pictures:
            first = page.locator(".jp-OutputArea-output img[src^='data:image/svg+xml']").first
            first.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot_dir / f"untrusted-{stem}-first-picture.png"))
            print(f"\n{name}: {len(pictures)} pictures; first {pictures[0]['width']:.0f} px of "
                  f"{pictures[0]['area']} px, smallest text "
                  f"{min(p['text_px'] for p in pictures):.1f} px")
        if explorers:       # the whole still picture: same width, a taller window
            page.set_viewport_size({"width": WINDOW["width"], "height": 2400})
            still.scroll_into_view_if_needed()
            still.screenshot(path=str(screenshot_dir / f"untrusted-{stem}-explorer.png"))
    finally:
        context.close()


@pytest.mark.parametrize("name", RUN)
def test_live_pictures_and_explorer_fit(name, jupyter_lab, browser, screenshot_dir):
    base, token, _root = jupyter_lab
    expected, _ = saved_pictures(name)
    context, page = open_page(browser, base, token, name)
    try:
        wait_idle(page)
        menu(page, "Edit", "Clear Outputs of All Cells")
        page.wait_for_function(
            "() => document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length === 0")
        menu(page, "Run", "Run All Cells")
        explorer = page.locator(".k8slab-explorer")
        explorer.wait_for(timeout=90_000)
        wait_idle(page, timeout=90_000)
        pictures = check_pictures(page, name, expected)
        live = [p for p in pictures if p["explorer"]]
        assert live, f"{name}: the explorer shows no picture"
        # The live view replaced the still picture the saved notebook carried.
        assert page.locator(".k8slab-explorer-static").count() == 0
        box = explorer.bounding_box()
        area = explorer.evaluate("e => e.closest('.jp-OutputArea-output').clientWidth")
        assert box["width"] <= area + 0.5
        # The explorer's panels wrap: none of its pieces scrolls sideways.
        clipped = explorer.evaluate("""e => Array.from(e.querySelectorAll('pre, .widget-box, .widget-html-content'))
            .filter(x => x.scrollWidth > x.clientWidth + 1).map(x => x.className + ' ' + x.scrollWidth + '>' + x.clientWidth)""")
        assert clipped == []
        assert page.evaluate(OVERFLOW) == []
        stem = name.removesuffix(".ipynb")
        page.locator(".jp-OutputArea-output img[src^='data:image/svg+xml']").first.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"live-{stem}-first-picture.png"))
        page.set_viewport_size({"width": WINDOW["width"], "height": 2400})   # the whole explorer
        explorer.scroll_into_view_if_needed()
        explorer.screenshot(path=str(screenshot_dir / f"live-{stem}-explorer.png"))
        print(f"\n{name} live: {len(pictures)} pictures, smallest text "
              f"{min(p['text_px'] for p in pictures):.1f} px; explorer {box['width']:.0f} px of {area} px")
    finally:
        context.close()
