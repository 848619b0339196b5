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


#: The site's axes: its short name (the page's form fields) -> the explore.State field.
#: Every other field in explore.CHOICES becomes an axis under its own name, so a control
#: added to the explorer's state reaches the site without an edit here.
AXES = {"kind": "client", "type": "service_type", "policy": "external_traffic_policy",
        "dial": "entry", "via": "via_node", "mode": "mode", "affinity": "session_affinity",
        "pods": "pods"}
#: With other pod counts, only these axes vary (the rest stay at their starting values, and
#: the page disables them): every combination would be ten times the states.
VARY_WITH_PODS = ("kind", "type", "policy", "via")


def site_axes(subject) -> tuple[dict, dict]:
    """({axis: [(label, value)]}, {axis: State field}) for the site's explorer."""
    from k8slab import explore
    choices = dict(explore.CHOICES)
    choices["mode"] = tuple((m, m) for m in explore.SITE_MODES)     # only modelled modes
    pods = [(f"{n} pods, {r} ready", f"{n}:{r}") for n in range(SITE_MAX_PODS + 1)
            for r in range(n, -1, -1)]
    fields = dict(AXES)
    fields.update({name: name for name in choices if name not in AXES.values()})
    axes = {}
    for axis, name in fields.items():
        if axis == "kind":
            axes[axis] = list(explore.CLIENT_CHOICES)
        elif axis == "via":
            axes[axis] = [(n, n) for n in subject.nodes]
        elif axis == "pods":
            axes[axis] = pods
        else:
            axes[axis] = [(label, "usual" if value is None else value)
                          for label, value in choices[name]]
    return axes, fields


def site_state(subject, values: dict, fields: dict):
    """The explore.State a combination of the site's axis values stands for."""
    from k8slab import explore
    kind = values["kind"]
    first_pod = next((f"pod/{p.name}" if p.namespace == "default" else f"pod/{p.namespace}/{p.name}"
                      for p in subject.cluster.pods if p.node and p.ip), "pod")
    client = {"pod": first_pod, "node": f"node/{subject.nodes[0]}"}.get(kind, kind)
    settings = {}
    for axis, value in values.items():
        name = fields[axis]
        if axis == "kind":
            continue
        if axis == "pods":
            n, r = map(int, value.split(":"))
            value = (n, r, 0)
        elif value == "usual":
            value = None
        settings[name] = value
    return subject.start(**settings).with_(client=client)


def explorer_states() -> tuple[dict, dict[str, dict]]:
    """(the main bundle, {pods value: chunk}): every combination of every control at the
    demo's own pods, and client x type x policy x via-node for each other pod count (the
    remaining controls at their starting values), one chunk per pod count, loaded on demand.
    Each state is explore.explore's View, the very call the notebook's explorer renders."""
    import k8slab
    from k8slab.explore import Subject, explore

    _memoize_graphviz()
    subject = Subject(k8slab.demo_cluster(), "web")
    axes, fields = site_axes(subject)
    first = subject.start()
    base_n, base_ready, _ = subject.base_pods
    start = {"kind": "laptop", "type": first.service_type, "policy": "Cluster", "dial": "usual",
             "via": subject.nodes[0], "mode": first.mode, "affinity": first.session_affinity,
             "pods": f"{base_n}:{base_ready}"}
    for axis in axes:
        start.setdefault(axis, axes[axis][0][1])
    fixed_with_pods = tuple(a for a in axes if a not in VARY_WITH_PODS and a != "pods")
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
            view = explore(subject, site_state(subject, dict(zip(names, combo)), fields))
            info = state_info(view, fields)
            svg = view.diagram.svg() if view.diagram is not None else ""
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
    from k8slab.explore import LABELS
    main.update({"axes": axes, "order": names, "start": start, "service": subject.service.key,
                 "labels": {a: LABELS.get(fields[a], a) for a in names},
                 "fixed_with_pods": list(fixed_with_pods),
                 "chunks": {v: chunk_file(v) for v in chunks}})
    return main, chunks


def _memoize_graphviz() -> None:
    """Graphviz's SVG is a pure function of the DOT it is given, and the site's 3,870 states
    draw under a thousand distinct pictures: render each DOT once for this build (half the
    build's time went to rendering the same pictures again)."""
    import functools
    draw_module = sys.modules["k8slab.draw"]           # `k8slab.draw` is the function
    if not hasattr(draw_module.render_svg, "cache_info"):
        draw_module.render_svg = functools.lru_cache(maxsize=4096)(draw_module.render_svg)


def chunk_file(pod_value: str) -> str:
    return "explorer-pods-" + pod_value.replace(":", "-") + ".js"


def state_info(view, fields: dict) -> dict:
    """What the site's page shows for one View (the widget renders the same View's parts)."""
    r, svc = view.route, view.service
    axis_of = {name: axis for axis, name in fields.items()}
    disabled = sorted(axis_of[name] for name in view.disabled if name in axis_of)
    info = {"client": view.state.client, "service": svc.key, "type": view.data()["type"],
            "disabled": disabled, "yaml": view.yaml}
    if r is None:
        return {**info, "reachable": False, "error": view.text().split("\n\n")[-1]}
    sim = view.data()["simulated"] or {}
    pods = [[e.endpoint.pod or "-", e.endpoint.node or "-", e.endpoint.ip_port,
             None if e.probability is None else round(e.probability, 6),
             sim.get(e.endpoint.pod) if e.endpoint.pod else None] for e in r.endpoints]
    excluded = [[ep.pod or ep.address, ep.node or "-", ep.ip_port, why] for ep, why in r.excluded]
    return {**info, "reachable": r.reachable, "entry": r.entry, "code": r.code,
            "reason": r.reason, "hops": view.hops, "pods": pods, "excluded": excluded,
            "simulated": bool(sim), "choice": view.choice, "route_text": r.text()}


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
