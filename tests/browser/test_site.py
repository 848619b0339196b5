"""The static site (`make site`): built offline, its explorer clicked through in Chromium and
compared with what `k8slab route` prints, at a phone's and a laptop's width.

    .venv/bin/python -m pytest tests/browser/test_site.py -p no:cacheprovider -s

The build and the offline checks run everywhere; the browser checks skip without Chromium or
Playwright (fail with K8SLAB_REQUIRE_BROWSER=1, as in CI). Screenshots go to
$K8SLAB_SCREENSHOT_DIR, else a temp dir; their paths are printed.
"""

from __future__ import annotations

import base64
import html.parser
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import build_site  # noqa: E402

DEMO = REPO / "notebooks" / "manifests" / "demo.yaml"
WIDTHS = {"phone": (375, 812), "laptop": (1366, 768)}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("k8slab-site") / "site"
    figures = build_site.build(str(out))
    print(f"\nsite: {figures}")
    return out, figures


def bundle(site_dir: Path) -> dict:
    text = (site_dir / "explorer-states.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("=") + 1:].strip().rstrip(";"))


def pages(site_dir: Path) -> list[Path]:
    return sorted(site_dir.rglob("*.html"))


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(path: Path) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tags


# -- offline: no browser needed ------------------------------------------------------------
def test_site_has_every_notebook_and_nothing_from_outside(site):
    site_dir, figures = site
    names = {p.name for p in (site_dir / "notebooks").glob("*.html")}
    assert names == {p.stem + ".html" for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb")}
    for page in pages(site_dir):
        for tag, attrs in tags(page):
            for attr in ("src", "href"):
                ref = attrs.get(attr) or ""
                if tag in ("script", "link", "img", "iframe", "source") and ref:
                    assert not re.match(r"(https?:)?//", ref), f"{page.name}: <{tag} {attr}={ref}>"
                    if not ref.startswith(("data:", "#")):
                        assert (page.parent / ref).exists(), f"{page.name}: {ref} missing"
            if tag == "img":
                assert (attrs.get("alt") or "").strip(), f"{page.name}: an <img> has no alt text"
    assert figures["bytes"] <= 30e6, figures


def pods_chunk(site_dir: Path, b: dict, pods: str) -> dict:
    text = (site_dir / b["chunks"][pods]).read_text(encoding="utf-8")
    return json.loads(text[text.index("] = ") + 4:].strip().rstrip(";"))


def test_bundle_has_every_combination_of_the_controls(site):
    site_dir, _ = site
    b = bundle(site_dir)
    values = {n: [v for _, v in b["axes"][n]] for n in b["order"]}
    assert {"kind", "type", "policy", "via", "pods"} <= set(b["order"])
    # The demo's own pods: every control, every value.
    combos = list(itertools.product(*[values[n] if n != "pods" else [b["start"]["pods"]]
                                      for n in b["order"]]))
    assert len(b["states"]) == len(combos) and all("|".join(c) in b["states"] for c in combos)
    # Every other pod count, from 0 pods up, ready or not: every control but the fixed ones.
    assert "0:0" in values["pods"] and set(b["chunks"]) == set(values["pods"]) - {b["start"]["pods"]}
    for pods in b["chunks"]:
        part = pods_chunk(site_dir, b, pods)
        combos = list(itertools.product(*[
            [pods] if n == "pods" else [b["start"][n]] if n in b["fixed_with_pods"] else values[n]
            for n in b["order"]]))
        assert len(part["states"]) == len(combos)
        assert all("|".join(c) in part["states"] for c in combos), pods


def test_notebook_pages_keep_the_saved_outputs(site):
    nb = json.loads((REPO / "notebooks" / "01-who-is-calling.ipynb").read_text(encoding="utf-8"))
    page = (site[0] / "notebooks" / "01-who-is-calling.html").read_text(encoding="utf-8")
    # Every saved picture (an SVG, bare or as k8slab's <img>) is on the page, byte for byte.
    pictures = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/svg+xml" in data:
                pictures.append(base64.b64encode("".join(data["image/svg+xml"]).encode()).decode())
            pictures += re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)",
                                   "".join(data.get("text/html", "")))
    assert pictures and all(p in page for p in pictures)
    assert "explorer.html" in page


# -- in the browser ------------------------------------------------------------------------
def k8slab_route(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "k8slab", "route", *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout.rstrip("\n")


def pick(page, **values):
    for axis, value in values.items():
        if page.locator(f"select[name='{axis}']").count():
            page.select_option(f"select[name='{axis}']", value)
        else:
            page.check(f"input[name='{axis}'][value='{value}']")


def shown(page) -> dict:
    return {"route_text": page.inner_text("#route-text"), "reason": page.inner_text("#reason"),
            "alt": page.get_attribute("#diagram", "alt"), "headline": page.inner_text("#headline"),
            "ms": float(page.evaluate("document.body.dataset.switchMs"))}


def test_explorer_shows_what_k8slab_route_says(site, browser, tmp_path, screenshot_dir):
    site_dir, _ = site
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((site_dir / "explorer.html").as_uri())
    page.locator("details").evaluate("d => d.open = true")

    # web as the demo cluster has it (ClusterIP): the CLI reads the same manifest.
    # A pod dials by the name the explorer's box holds (web): the CLI's --name.
    for client, entry, args in (("laptop", "usual", []), ("pod", "usual", ["--name", "web"]),
                                ("internet", "usual", []),
                                ("laptop", "NodePort", ["--entry", "NodePort"])):
        pick(page, kind=client, type="ClusterIP", dial=entry)
        got = shown(page)
        cli_client = {"pod": "pod/client"}.get(client, client)
        expected = k8slab_route(str(DEMO), "--service", "web", "--client", cli_client, *args)
        assert got["route_text"] == expected, (client, entry)
        assert got["reason"] == "Why: " + expected.split("\nWhy: ")[1].split("\n")[0]
        assert got["alt"].endswith(got["reason"][len("Why: "):])
        assert got["ms"] <= 50, got["ms"]

    # web turned into a NodePort Service with externalTrafficPolicy: Local, dialled at node-c.
    # The CLI reads a manifest saying so; the explorer changed a running Service, so the API
    # server gave it the next free node port (web-lb holds the first): only that number differs.
    text = DEMO.read_text(encoding="utf-8")
    head = "kind: Service\nmetadata:\n  name: web\nspec:\n"
    assert text.count(head) == 1
    changed = text.replace(head, head + "  type: NodePort\n  externalTrafficPolicy: Local\n")
    manifest = tmp_path / "web-nodeport-local.yaml"
    manifest.write_text(changed, encoding="utf-8")
    for via, reachable in (("node-c", False), ("node-a", True)):
        pick(page, kind="laptop", type="NodePort", policy="Local", dial="usual", via=via)
        got = shown(page)
        assert ("Not reachable" not in got["headline"]) == reachable, got["headline"]
        expected = k8slab_route(str(manifest), "--service", "web", "--client", "laptop",
                                "--via-node", via)
        ports = re.compile(r":3\d{4}\b")
        assert ports.sub(":NODEPORT", got["route_text"]) == ports.sub(":NODEPORT", expected), via
        assert got["ms"] <= 50
    # No pod left (the Deployment scaled to 0): the CLI reads a manifest saying replicas: 0.
    scaled = tmp_path / "web-no-pods.yaml"
    assert text.count("\n  replicas: 3\n") == 1
    scaled.write_text(text.replace("\n  replicas: 3\n", "\n  replicas: 0\n"), encoding="utf-8")
    pick(page, kind="pod", type="ClusterIP", pods="0:0")
    page.wait_for_function("document.body.dataset.state.endsWith('|0:0')")
    assert shown(page)["route_text"] == k8slab_route(str(scaled), "--service", "web", "--client",
                                                     "pod/client", "--name", "web")
    assert page.locator("input[name='mode']").first.is_disabled()   # fixed with other pods
    path = screenshot_dir / "site-explorer-1366.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"\nscreenshot: {path}")
    assert not errors, errors


@pytest.mark.parametrize("width", list(WIDTHS))
def test_pages_fit_a_phone_and_a_laptop(site, browser, width, screenshot_dir):
    w, h = WIDTHS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    for path in pages(site[0]):
        page.goto(path.as_uri())
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= w, f"{path.name} at {w} px: the page is {scroll} px wide"
        if path.name in ("explorer.html", "index.html", "01-who-is-calling.html"):
            shot = screenshot_dir / f"site-{path.stem}-{w}.png"
            page.screenshot(path=str(shot))
            print(f"\nscreenshot: {shot}")


_CUT = """() => {
  const cut = [];
  for (const id of ['hops', 'choice', 'yaml', 'route-text', 'pods']) {
    const e = document.getElementById(id);
    if (e.scrollWidth > e.clientWidth + 1) cut.push(`${id}: ${e.scrollWidth} px in ${e.clientWidth}`);
    if (e.getBoundingClientRect().right > innerWidth) cut.push(`${id} ends past the window`);
  }
  const img = document.getElementById('diagram');
  if (img.getBoundingClientRect().right > innerWidth) cut.push(`picture ${img.width} px wide`);
  const chance = [...document.querySelectorAll('table.pods th')].find(x => x.textContent == 'chance');
  if (chance && chance.getBoundingClientRect().right > innerWidth) cut.push('chance column hidden');
  const table = document.querySelector('table.pods');
  if (table && table.scrollWidth > table.parentElement.clientWidth + 1) cut.push('pod table scrolls');
  if (document.documentElement.scrollWidth > innerWidth) cut.push('the page scrolls sideways');
  return cut; }"""


@pytest.mark.parametrize("width", list(WIDTHS))
def test_explorer_panels_are_not_cut(site, browser, width):
    # Issue 24.6: at 1366 px the hop chain and "How kube-proxy picks" were cut at the right; at
    # 375 px the picture was 736 px wide and the pod table's chance column out of view.
    w, h = WIDTHS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto((site[0] / "explorer.html").as_uri())
    page.locator("details").evaluate("d => d.open = true")
    for kind, service_type, policy in itertools.product(
            ("pod", "node", "laptop", "internet"), ("ClusterIP", "NodePort", "LoadBalancer"),
            ("Cluster", "Local")):
        if service_type == "ClusterIP" and policy == "Local":
            continue                       # a ClusterIP Service has no external traffic policy
        pick(page, kind=kind, type=service_type, **({} if service_type == "ClusterIP" else
                                                    {"policy": policy}))
        assert page.evaluate(_CUT) == [], (w, kind, service_type, policy)
    pick(page, kind="pod", type="LoadBalancer", policy="Cluster", affinity="ClientIP", mode="ipvs")
    assert page.evaluate(_CUT) == [], (w, "ipvs, ClientIP")
    pick(page, kind="internet", mode="iptables", affinity="None", pods="6:6")
    page.wait_for_function("document.body.dataset.state.endsWith('|6:6')")
    assert page.evaluate(_CUT) == [], (w, "six pods")


def test_the_picture_opens_at_full_size(site, browser):
    page = browser.new_page(viewport={"width": 375, "height": 812})
    page.goto((site[0] / "explorer.html").as_uri())
    pick(page, kind="internet", type="LoadBalancer")
    with page.expect_popup() as popup:
        page.click("#diagram-full")
    tab = popup.value
    assert tab.url.startswith("blob:")
    tab.wait_for_load_state()
    assert tab.locator("svg").count() >= 1


def test_the_explorer_offers_only_modelled_modes(site):
    from k8slab.explore import SITE_MODES
    b = bundle(site[0])
    assert [v for _, v in b["axes"]["mode"]] == list(SITE_MODES)
    assert "nftables" not in SITE_MODES or "nftables" in [v for _, v in b["axes"]["mode"]]


def _contrast(fg: str, bg: str) -> float:
    def lum(css: str) -> float:
        r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_explorer_basic_accessibility(site, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    for path in (site[0] / "explorer.html", site[0] / "index.html"):
        page.goto(path.as_uri())
        levels = [int(t[1]) for t in page.evaluate(
            "[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => h.tagName)")]
        assert levels[0] == 1 and levels.count(1) == 1, levels
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), f"{path.name}: {levels}"
    page.goto((site[0] / "explorer.html").as_uri())
    unlabelled = page.evaluate("""[...document.querySelectorAll('input, select')].filter(e =>
        !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length""")
    assert unlabelled == 0
    # Keyboard only: Tab into the first group, arrows move the choice, the state follows.
    before = page.evaluate("document.body.dataset.state")
    page.focus("input[name='kind']:checked")
    page.keyboard.press("ArrowRight")
    after = page.evaluate("document.body.dataset.state")
    assert after != before and page.evaluate("document.activeElement.name") == "kind"
    # Text colours against the page's white: WCAG AA (4.5:1) for every kind of text shown.
    pick(page, kind="laptop", type="ClusterIP")          # a red headline
    colours = page.evaluate("""[...document.querySelectorAll(
        'p, a, legend, label, strong, .note, code, pre, th, td, summary')].filter(e =>
        e.offsetParent !== null && !e.closest('fieldset:disabled')).map(e =>
        getComputedStyle(e).color)""")
    for colour in set(colours):
        assert _contrast(colour, "rgb(255, 255, 255)") >= 4.5, colour
