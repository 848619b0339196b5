"""Build the static site (`make site` -> site/): every notebook with its saved outputs, and the
explorer working without a kernel, from states k8slab precomputes. Fully offline: no CDN.

Run: .venv/bin/python scripts/build_site.py [--out DIR]

- Notebook pages: nbconvert's lab template, with the saved outputs as they are. Its links to
  CDNs (require.js, MathJax, mermaid) are removed; a page that still names a script or style
  outside the site fails the build. Diagrams are <img> with alt text (as k8slab saves them;
  a bare SVG output gets its summary as alt), and the live explorer's output keeps its still
  picture and points to the site's explorer.
- The explorer (explorer.html): k8slab's own Explorer is driven through every combination of
  client kind x Service type x externalTrafficPolicy x how the client dials x the node it
  dials x kube-proxy mode x sessionAffinity with the demo's own pods (explorer-states.js), and
  through client kind x type x policy x node for every other pod count from 0 to
  SITE_MAX_PODS, ready or not (one explorer-pods-N-R.js each, loaded when picked). What it
  shows (picture, reason, hop chain, pods, how kube-proxy picks, the route as `k8slab route`
  prints it) is stored once per distinct value. A small script (scripts/site/explorer.js)
  switches between them.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import html
import itertools
import json
import os
import re
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "scripts", "site")
NOTEBOOKS = os.path.join(ROOT, "notebooks")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

# Script or stylesheet references that leave the site (what the build refuses to ship).
EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
                      re.I)


# -- the explorer's states -----------------------------------------------------------------
#: The pod counts the site offers (replicas, ready; none terminating): the live explorer's
#: sliders go to 8 with terminating pods too, which would be ten times the states.
SITE_MAX_PODS = 6


def explorer_states() -> tuple[dict, dict[str, dict]]:
    """(the main bundle, {pods value: chunk}): every combination of every control at the
    demo's own pods, and client x type x policy x via-node for each other pod count (the
    remaining controls at their starting values), one chunk per pod count, loaded on demand."""
    import k8slab
    from k8slab import manifests
    from k8slab.widgets import (AFFINITIES, CLIENT_CHOICES, DIALS, MODES, POLICIES, TYPES,
                                explorer, hop_chain)

    ex = explorer(k8slab.demo_cluster(), "web")
    via_nodes = list(ex.controls["via"].options)
    base_n, base_ready, _ = ex.pods
    pods = [(f"{n}:{r}", f"{n} pods, {r} ready") for n in range(SITE_MAX_PODS + 1)
            for r in range(n, -1, -1)]
    axes = {
        "kind": [(label, kind) for label, kind in CLIENT_CHOICES],
        "type": [(t, t) for t in TYPES],
        "policy": [(p, p) for p in POLICIES],
        "dial": [(label, entry or "usual") for label, entry in DIALS],
        "via": [(n, n) for n in via_nodes],
        "mode": [(m, m) for m in MODES],
        "affinity": [(a, a) for a in AFFINITIES],
        "pods": [(label, value) for value, label in pods],
    }
    start = {"kind": "laptop", "type": "ClusterIP", "policy": "Cluster", "dial": "usual",
             "via": via_nodes[0], "mode": ex.cluster.proxy.mode, "affinity": "None",
             "pods": f"{base_n}:{base_ready}"}
    # With other pod counts, these stay at their starting values (the page disables them).
    fixed_with_pods = ("dial", "mode", "affinity")
    names = list(axes)

    def chunk(combos) -> dict:
        svgs: list[str] = []
        infos: list[dict] = []
        seen: dict[str, int] = {}
        states: dict[str, list[int]] = {}

        def intern(items: list, value, text: str) -> int:
            key = hashlib.sha256(text.encode()).hexdigest()
            if key not in seen:
                seen[key] = len(items)
                items.append(value)
            return seen[key]

        for combo in combos:
            v = dict(zip(names, combo))
            n, r = map(int, v["pods"].split(":"))
            ex.set(client=v["kind"], service_type=v["type"], external_traffic_policy=v["policy"],
                   entry=None if v["dial"] == "usual" else v["dial"], via_node=v["via"],
                   mode=v["mode"], session_affinity=v["affinity"], replicas=n, ready=r,
                   terminating=0)
            info = _state_info(ex, manifests, hop_chain)
            svg = ex.diagram.svg() if ex.diagram is not None else ""
            states["|".join(combo)] = [intern(svgs, svg, "svg" + svg) if svg else -1,
                                       intern(infos, info, json.dumps(info, sort_keys=True))]
        return {"svgs": svgs, "infos": infos, "states": states}

    values = {n: [v for _, v in axes[n]] for n in names}
    main = chunk(itertools.product(*[values[n] if n != "pods" else [start["pods"]]
                                     for n in names]))
    chunks = {}
    for pod_value in values["pods"]:
        if pod_value != start["pods"]:
            chunks[pod_value] = chunk(itertools.product(
                *[[start[n]] if n in fixed_with_pods else [pod_value] if n == "pods"
                  else values[n] for n in names]))
    main.update({"axes": axes, "order": names, "start": start, "service": ex.service.key,
                 "fixed_with_pods": list(fixed_with_pods),
                 "chunks": {v: chunk_file(v) for v in chunks}})
    return main, chunks


def chunk_file(pod_value: str) -> str:
    return "explorer-pods-" + pod_value.replace(":", "-") + ".js"


def _state_info(ex, manifests, hop_chain) -> dict:
    r, svc, state = ex.route, ex.service, ex.state
    disabled = sorted(n for n in ("policy", "via", "mode", "affinity", "type")
                      if ex.controls[n].disabled)
    info = {"client": state["client"], "service": svc.key, "type": state["type"],
            "disabled": disabled, "yaml": manifests.service_to_yaml(svc)}
    if r is None:
        return {**info, "reachable": False, "error": ex.text().split("\n\n")[-1]}
    sim = state["simulated"] or {}
    pods = [[e.endpoint.pod or "-", e.endpoint.node or "-", e.endpoint.ip_port,
             None if e.probability is None else round(e.probability, 6),
             sim.get(e.endpoint.pod) if e.endpoint.pod else None] for e in r.endpoints]
    excluded = [[ep.pod or ep.address, ep.node or "-", ep.ip_port, why] for ep, why in r.excluded]
    return {**info, "reachable": r.reachable, "entry": r.entry, "code": r.code,
            "reason": r.reason, "hops": hop_chain(r), "pods": pods, "excluded": excluded,
            "simulated": bool(sim), "choice": ex.choice_text(), "route_text": r.text()}


# -- the notebook pages --------------------------------------------------------------------
def _nav(prefix: str, current: str) -> str:
    return (f"<nav class='k8slab-site-nav' aria-label='site'><a href='{prefix}index.html'>k8slab</a>"
            f" &middot; <a href='{prefix}explorer.html'>explorer</a>"
            f"<span class='k8slab-site-here'> &middot; {html.escape(current)}</span></nav>")


_EXPLORER_NOTE = ("<div class='k8slab-site-explorer-note'>Here the notebook runs the live "
                  "explorer (it needs a kernel). On this site, <a href='../explorer.html'>the "
                  "explorer page</a> has the same controls, precomputed.{still}</div>")


def _prepare(nb):
    """Saved outputs as the page shows them: diagrams as <img> with alt text, the explorer's
    still picture with a pointer to the site's explorer."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            summary = "".join(data.get("text/plain", ""))
            still = "".join(data.get("text/html", ""))
            if "application/vnd.jupyter.widget-view+json" in data:
                # k8slab's explorer carries a still picture of its first view (text/html).
                note = _EXPLORER_NOTE.format(
                    still=" Below, its first view." if still else
                    f" Its first view: <code>{html.escape(summary)}</code>")
                out["data"] = {"text/html": note + still, "text/plain": summary}
            elif "image/svg+xml" in data:
                # Older outputs: a bare SVG, which nbconvert shows without alt text.
                svg = "".join(data["image/svg+xml"])
                alt = summary.strip("<>") or "diagram"
                out["data"] = {"text/html": (
                    f"<img class='k8slab-site-diagram' alt='{html.escape(alt, quote=True)}' "
                    "src='data:image/svg+xml;base64,"
                    f"{base64.b64encode(svg.encode('utf-8')).decode('ascii')}'>"),
                    "text/plain": summary}
    nb.metadata.pop("widgets", None)
    return nb


def _strip_cdn(page: str) -> str:
    page = re.sub(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", page)
    # MathJax's configuration block and the mermaid loader (an ES module imported from a CDN).
    page = re.sub(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", "", page,
                  flags=re.S)
    page = re.sub(r"<script type=\"module\">(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>",
                  "", page, flags=re.S)
    return page


def notebook_pages(out_dir: str, nbs: list[dict]) -> None:
    import nbformat
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab")
    with open(os.path.join(TEMPLATE, "notebook.css"), encoding="utf-8") as f:
        extra_css = f.read()
    os.makedirs(os.path.join(out_dir, "notebooks"), exist_ok=True)
    for nb_info in nbs:
        nb = nbformat.read(os.path.join(NOTEBOOKS, nb_info["stem"] + ".ipynb"), as_version=4)
        body, _ = exporter.from_notebook_node(_prepare(nb))
        body = _strip_cdn(body)
        body = body.replace("<html>", "<html lang='en'>", 1)
        body = body.replace("</head>", f"<style>{extra_css}</style>\n</head>", 1)
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav("../", nb_info["stem"]), body,
                      count=1)
        with open(os.path.join(out_dir, "notebooks", nb_info["stem"] + ".html"), "w",
                  encoding="utf-8") as f:
            f.write(body)


def index_page(out_dir: str, nbs: list[dict]) -> None:
    with open(os.path.join(TEMPLATE, "index.html"), encoding="utf-8") as f:
        template = f.read()
    items = []
    for nb in nbs:
        goals = "".join(f"<li>{_inline(g)}</li>" for g in nb["objectives"])
        items.append(f"<li><h3><a href='notebooks/{nb['stem']}.html'>{html.escape(nb['stem'])}: "
                     f"{html.escape(nb['title'])}</a></h3><p>About {nb['stated']} minutes. "
                     f"You will be able to:</p><ul>{goals}</ul></li>")
    with open(os.path.join(out_dir, "index.html"), "w", encoding="utf-8") as f:
        f.write(template.replace("{{lessons}}", "\n".join(items)))


def _inline(text: str) -> str:
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def build(out_dir: str) -> dict:
    """Build the site into out_dir (replaced); returns figures (seconds, states, bytes)."""
    from instructor_guide import notebooks
    started = time.perf_counter()
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    nbs = notebooks()
    bundle, chunks = explorer_states()
    t_states = time.perf_counter() - started
    head = "// Generated by scripts/build_site.py from k8slab's Explorer: do not edit.\n"
    with open(os.path.join(out_dir, "explorer-states.js"), "w", encoding="utf-8") as f:
        f.write(head + "window.K8SLAB_EXPLORER = ")
        json.dump(bundle, f, separators=(",", ":"), sort_keys=True)
        f.write(";\n")
    for pod_value, part in chunks.items():
        with open(os.path.join(out_dir, chunk_file(pod_value)), "w", encoding="utf-8") as f:
            f.write(head + "window.K8SLAB_EXPLORER_PODS = window.K8SLAB_EXPLORER_PODS || {};\n")
            f.write(f"window.K8SLAB_EXPLORER_PODS[{json.dumps(pod_value)}] = ")
            json.dump(part, f, separators=(",", ":"), sort_keys=True)
            f.write(";\n")
    for name in ("explorer.html", "explorer.js", "site.css"):
        shutil.copy(os.path.join(TEMPLATE, name), os.path.join(out_dir, name))
    index_page(out_dir, nbs)
    notebook_pages(out_dir, nbs)
    for dirpath, _, files in os.walk(out_dir):
        for name in files:
            if name.endswith(".html"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    hit = EXTERNAL.search(f.read())
                if hit:
                    raise SystemExit(f"{name}: refers outside the site: {hit.group(0)[:120]}")
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, fs in os.walk(out_dir) for n in fs)
    parts = [bundle, *chunks.values()]
    return {"seconds": time.perf_counter() - started, "states_seconds": t_states,
            "states": sum(len(p["states"]) for p in parts),
            "pictures": sum(len(p["svgs"]) for p in parts),
            "views": sum(len(p["infos"]) for p in parts), "bytes": size,
            "bundle_bytes": os.path.getsize(os.path.join(out_dir, "explorer-states.js"))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "site"))
    args = parser.parse_args()
    fig = build(args.out)
    print(f"site built in {fig['seconds']:.1f} s ({fig['states_seconds']:.1f} s for the explorer): "
          f"{fig['states']} explorer states, {fig['pictures']} distinct pictures, "
          f"{fig['views']} distinct views; explorer-states.js (loaded first) "
          f"{fig['bundle_bytes'] / 1e6:.1f} MB, "
          f"whole site {fig['bytes'] / 1e6:.1f} MB -> {args.out}")
