"""Graphviz pictures of a cluster and of a route: what each shows, its DOT, and the Diagram that renders it."""

# `import k8slab` must stay fast, and so must `k8slab draw`: the DOT is written by .dot, not the
# graphviz package (imported only when a learner asks for `Diagram.graph`), and the renderer
# imports wasmtime on the first render.
from __future__ import annotations

import functools
import re
from pathlib import Path

from .dot import Digraph
from .errors import K8slabError
from .model import Cluster
from .renderer import render_svg

__all__ = ["draw", "Diagram", "HOP_COLOURS", "render_svg"]

#: One colour per hop kind, the same in every picture k8slab draws (routes, the cluster,
#: the explorer): (line and text colour, fill tint). Distinct for colour-blind readers too.
HOP_COLOURS: dict[str, tuple[str, str]] = {
    "client": ("#4d4d4d", "#ececec"),
    "load-balancer": ("#d95f02", "#fde4cf"),
    "node-port": ("#1b9e77", "#d3efe6"),
    "external-ip": ("#2166ac", "#d8e6f4"),
    "service": ("#2166ac", "#d8e6f4"),
    "pod": ("#762a83", "#ecdcf0"),
    "dns": ("#8c6d1f", "#f4ebcf"),
}
_LEGEND_NAMES = {
    "client": "client",
    "load-balancer": "cloud load balancer",
    "node-port": "node port",
    "service": "Service (kube-proxy rules)",
    "pod": "pod that can answer",
    "dns": "cluster DNS answer",
}
_STOP = "#c1121f"
_FAINT = "#b0b0b0"
_GREY_TEXT = "#767676"
_BOUNDARY = "#555555"
# The wasm Graphviz has no fonts: it sizes text with built-in metrics, which it has for
# Helvetica/Arial but not for bold faces (it would measure them as Times, too narrow). So
# emphasis is by size and colour, never bold; the SVG says "Helvetica,sans-Serif".
_FONT = "Helvetica"

# What the stop mark says, by route code: the kind of failure at a glance.
_STOP_WORDS = {
    "not-exposed": "no way in",
    "no-endpoints": "refused: no pod",
    "no-local-endpoints": "dropped",
    "nxdomain": "NXDOMAIN",
    "lb-pending": "pending: no address",
    "no-such-port": "no such port",
    "node-port-closed": "refused: port not open here",
    "policy-denied": "dropped by NetworkPolicy",
}
_OUTSIDE_CLIENTS = {
    "laptop": "a machine outside the cluster",
    "other-cluster": "a pod in another cluster",
    "internet": "a client on the internet",
}
_MAX_NODES = 8            # beyond this, a route picture shows only the nodes it involves
_MAX_PODS_PER_NODE = 12   # beyond this, the cluster picture counts the rest
# Widest route picture (points) drawn left to right; a wider one is laid out top to bottom
# when that is narrower. Measured: JupyterLab 4 at a 1366x768 window, file browser open, gives
# an output area 934 CSS px wide; the smallest text is 9 pt (12 px at natural size), so a
# picture up to 9 * 934 / 10 = 840 pt wide keeps all its text at 10 px or more when scaled.
MAX_WIDTH_PT = 840

_INVISIBLE = {"style": "invis"}
_EXCLUDED_STYLE = {"style": "rounded,dashed,filled", "color": _FAINT,
                   "fillcolor": "#f4f4f4", "fontcolor": _GREY_TEXT, "penwidth": "1"}
_STOP_STYLE = {"shape": "octagon", "style": "filled", "fillcolor": _STOP, "color": _STOP,
               "fontcolor": "white"}


# -- text: clean, shorten, wrap, escape ---------------------------------------------------------
# Names and reasons can hold any character. The wasm Graphviz is built without expat, so it has
# no HTML-like labels (it silently shows the node id instead): every label is a DOT escString,
# backslashes doubled, lines joined by \n or \l, and characters XML forbids replaced so the
# SVG always parses.
# What XML 1.0 forbids (Char, https://www.w3.org/TR/xml/#charsets), spelled as the few small
# ranges it is: the same set as [^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff], which
# takes `re` ~4 ms to compile, a tenth of a whole `k8slab draw`.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BREAK_AFTER = re.compile(r"(?<=[-./_:,=])")


def _clean(value) -> str:
    text = str(value).encode("utf-8", "replace").decode("utf-8")   # lone surrogates -> "?"
    return " ".join(_NOT_XML.sub("\ufffd", text).split())


def _shorten(text: str, limit: int) -> str:
    # Middle ellipsis: a pod name's ending (the ReplicaSet and pod hashes) tells pods apart.
    if len(text) <= limit:
        return text
    head = limit // 2
    return text[:head] + "\u2026" + text[len(text) - (limit - 1 - head):]


def _wrap(value, width: int, max_lines: int = 3) -> list[str]:
    """Lines of at most `width` characters, broken at spaces, else after - . / _ : , =."""
    text = _shorten(_clean(value), width * max_lines)
    pieces: list[str] = []
    for word in text.split(" "):
        # A DNS name or a long pod name breaks after its punctuation, not mid-word.
        parts = [p for p in _BREAK_AFTER.split(word) if p] if len(word) > width else [word]
        for part in parts:
            while len(part) > width:
                pieces.append(part[:width])
                part = part[width:]
            pieces.append(part)
        pieces.append(" ")
    lines, line = [], ""
    for piece in pieces[:-1]:
        if piece == " ":
            line += " " if line else ""
        elif line and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = piece
        else:
            line += piece
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [_shorten(" ".join(lines[max_lines - 1:]), width)]
    return lines


def _label(*lines: str, left: bool = False) -> str:
    """An escString from cleaned lines; left-justified lines each end with \\l.

    Empty lines are left out: a cluster label that starts with one makes this Graphviz
    overrun memory (a wasm trap), for example a node whose name is only spaces.
    """
    escaped = [line.replace("\\", "\\\\") for line in lines if line.strip()]
    if left:
        return "".join(line + "\\l" for line in escaped)
    return "\\n".join(escaped)


def _percent(p: float) -> str:
    if p >= 0.995 or p <= 0:
        return f"{p:.0%}"
    if p >= 0.095:
        return f"{p * 100:.0f}%"
    return f"{p * 100:.1f}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- styles --------------------------------------------------------------------------------------
# Every node is a filled rounded box unless it says otherwise (the graph's node defaults).
_NODE_DEFAULTS = {"shape": "box", "style": "filled,rounded", "penwidth": "1.6",
                  "fontname": _FONT, "fontsize": "11", "margin": "0.16,0.06"}
_PLAIN = {"shape": "plaintext", "style": "solid", "fontcolor": _GREY_TEXT}


def _hop_style(kind: str, **extra) -> dict[str, str]:
    line, fill = HOP_COLOURS.get(kind, (_BOUNDARY, "#ffffff"))
    return {"color": line, "fillcolor": fill} | extra


def _path_edge(kind: str, label: str | None = None) -> dict[str, str]:
    colour = HOP_COLOURS.get(kind, (_BOUNDARY, ""))[0]
    attrs = {"color": colour, "fontcolor": colour, "penwidth": "2.6", "fontsize": "11"}
    if label:
        attrs["label"] = _label(*_wrap(label, 30, 2))
    return attrs


def _faint_edge(label: str | None = None) -> dict[str, str]:
    attrs = {"color": _FAINT, "fontcolor": _GREY_TEXT, "style": "dashed", "penwidth": "1",
             "arrowhead": "empty"}
    if label:
        attrs["label"] = _label(*_wrap(label, 30, 2))
    return attrs


def _new_graph(name: str, caption: list[str], rankdir: str = "LR"):
    g = Digraph(name)
    g.defaults({"rankdir": rankdir, "newrank": "true", "fontname": _FONT, "fontsize": "12",
                     "nodesep": "0.22", "ranksep": "0.55", "pad": "0.2", "bgcolor": "white",
                     "labelloc": "t", "labeljust": "l", "label": _label(*caption, left=True)})
    # Generous side margins: a browser without Helvetica/Arial draws text up to ~15% wider.
    g.defaults(_NODE_DEFAULTS, "node")
    g.defaults({"fontname": _FONT, "fontsize": "10", "arrowsize": "0.8"}, "edge")
    return g


def _box(sub, lines: list[str], **attrs) -> None:
    """Style a cluster subgraph (the cluster boundary, a node, the legend)."""
    sub.defaults({"label": _label(*lines, left=True), "labeljust": "l", "fontname": _FONT,
                       "fontsize": "11", "style": "rounded", "margin": "10"} | attrs)


def _legend(g, which: str, rankdir: str = "LR") -> None:
    """The key, the same in every picture of a kind: a copy of lines built once."""
    g.body.extend(_legend_lines(which, rankdir))


def _legend_entries(which: str):
    if which == "route":
        # An external IP is drawn in the Service's colours: one legend entry covers both.
        entries = [(_LEGEND_NAMES[k], _hop_style(k)) for k in HOP_COLOURS if k in _LEGEND_NAMES] + [
            ("cannot answer", _EXCLUDED_STYLE), ("\u2715 stopped", _STOP_STYLE)]
        notes = ["bold arrow: the path taken", "dashed grey arrow: not taken"]
    else:
        entries = [("Service", _hop_style("service")), ("Service, DNS only", _hop_style("dns")),
                   ("pod", _hop_style("pod")), ("pod, not ready", _EXCLUDED_STYLE)]
        notes = ["arrow: a Service's selector", "and the pods it matches"]
    return entries, notes


def _legend_cluster(holder, which: str, reverse: bool) -> None:
    entries, notes = _legend_entries(which)
    small = {"fontsize": "9", "margin": "0.06,0.02", "height": "0.26", "width": "1.7"}
    with holder.subgraph("cluster_legend") as lg:
        # What the arrows mean is text: arrow samples would cost a tenth of the render time.
        _box(lg, ["legend", *notes], color="#cccccc", fontcolor=_GREY_TEXT, fontsize="9")
        ids = [f"legend{i}" for i in range(len(entries))]
        pairs = list(zip(ids, entries))
        for node_id, (text, style) in reversed(pairs) if reverse else pairs:
            lg.node(node_id, style | small | {"label": _label(text)})
        if reverse:
            lg.same_rank(ids)
            return
        # A strip of rows of four, each entry above the one of the next row.
        rows = [ids[i:i + 4] for i in range(0, len(ids), 4)]
        for row in rows:
            lg.same_rank(row)
        for upper, lower in zip(rows, rows[1:]):
            for a, b in zip(upper, lower):
                lg.edge(a, b, {"style": "invis"})


@functools.lru_cache(maxsize=None)
def _legend_lines(which: str, rankdir: str = "LR") -> tuple[str, ...]:
    """The legend inside the picture's DOT (for `.source`, `dot` and PNG/PDF): a column
    left to right, a strip top to bottom."""
    holder = Digraph()
    # dot stacks a rank bottom-up when rankdir=LR: emit the column in reverse order.
    _legend_cluster(holder, which, reverse=rankdir == "LR")
    return tuple(holder.body)


@functools.lru_cache(maxsize=None)
def _legend_svg(which: str) -> tuple[float, float, str]:
    """The legend as a strip, rendered once per process: (width, height, SVG body)."""
    g = Digraph("legend")
    g.defaults({"rankdir": "TB", "newrank": "true", "pad": "0.2", "bgcolor": "white",
                     "nodesep": "0.12", "ranksep": "0.12"})
    g.defaults(_NODE_DEFAULTS, "node")
    _legend_cluster(g, which, reverse=False)
    width, height, body = _svg_parts(render_svg(g.source))
    # Its ids must not clash with the picture's (both start at graph0, node1, clust1).
    return width, height, body.replace(' id="', ' id="legend_')


def _svg_parts(svg: str) -> tuple[float, float, str]:
    """Width and height in points of a Graphviz SVG, and what its root <svg> element holds."""
    start = svg.index("<svg ")
    head_end = svg.index(">", start) + 1
    head = svg[start:head_end]
    width = float(head.split('width="', 1)[1].split("pt", 1)[0])
    height = float(head.split('height="', 1)[1].split("pt", 1)[0])
    return width, height, svg[head_end:svg.rindex("</svg>")]


def _with_legend(svg: str, which: str) -> str:
    """The picture with its legend strip below: the legend is rendered once, not every time
    (it is a third of a route picture's layout work)."""
    width, height, body = _svg_parts(svg)
    lw, lh, legend = _legend_svg(which)
    total_w, total_h = max(width, lw), height + lh
    return (svg[:svg.index("<svg ")]
            + f'<svg width="{total_w:g}pt" height="{total_h:g}pt" viewBox="0 0 {total_w:g} {total_h:g}" '
            'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">\n'
            f'<rect width="{total_w:g}" height="{total_h:g}" fill="white"/>\n'
            f'<svg x="0" y="0" width="{width:g}" height="{height:g}" viewBox="0 0 {width:g} {height:g}">'
            f"{body}</svg>\n"
            f'<svg x="0" y="{height:g}" width="{lw:g}" height="{lh:g}" viewBox="0 0 {lw:g} {lh:g}">'
            f"{legend}</svg>\n</svg>\n")


# -- the Diagram ---------------------------------------------------------------------------------
class Diagram:
    """A picture: `.source` (DOT), `.graph` (a graphviz.Digraph), `.svg()`, `.save(path)`.

    In Jupyter it displays itself as an <img> of SVG rendered in-process (no system Graphviz
    needed), which JupyterLab shows even in an untrusted notebook; `.alt` is its text.
    `narrower`, if given, builds the same picture top to bottom: it replaces the graph when
    the left-to-right layout is wider than MAX_WIDTH_PT and the other one is narrower.
    """

    def __init__(self, graph, summary: str, legend: str | None = None, *,
                 alt: str | None = None, narrower=None):
        self._graph = graph
        self.summary = summary
        self.alt = alt or summary
        self.legend = legend            # "route" or "cluster": which key the picture carries
        self._narrower = narrower
        self._rendered: tuple[str, str] | None = None   # (source, svg): redone if graph changes

    @property
    def graph(self):
        """The picture as a graphviz.Digraph, to change or to render with another tool."""
        self._settle()
        if isinstance(self._graph, Digraph):
            # The same lines in the graphviz package's own object: equal source, and edits
            # to it show in the next .svg().
            import graphviz
            self._graph = graphviz.Digraph(self._graph.name, body=list(self._graph.body))
        return self._graph

    @graph.setter
    def graph(self, value) -> None:
        self._narrower = None
        self._graph = value

    @property
    def source(self) -> str:
        self._settle()
        return self._graph.source

    @property
    def rankdir(self) -> str:
        """"LR" (left to right) or "TB" (top to bottom): how the picture is laid out."""
        return "TB" if 'rankdir="TB"' in self.source else "LR"

    def _settle(self) -> None:
        # The layout is chosen by measuring it: the width comes from Graphviz, not a guess.
        if self._narrower is None:
            return
        narrower, self._narrower = self._narrower, None
        wide = self._render(self._graph.source)
        width = _svg_parts(wide)[0]
        if width > MAX_WIDTH_PT:
            other = narrower()
            svg = self._render(other.source)
            if _svg_parts(svg)[0] < width:
                self._graph, self._rendered = other, (other.source, svg)
                return
        self._rendered = (self._graph.source, wide)

    def _render(self, source: str) -> str:
        for rankdir in ("LR", "TB"):
            block = "".join(_legend_lines(self.legend, rankdir)) if self.legend else ""
            if block and block in source:
                return _with_legend(render_svg(source.replace(block, "", 1)), self.legend)
        return render_svg(source)

    def svg(self) -> str:
        """The picture as SVG text, the same bytes on every machine."""
        source = self.source
        if self._rendered is None or self._rendered[0] != source:
            self._rendered = (source, self._render(source))
        return self._rendered[1]

    def save(self, path) -> Path:
        """Write to `path` by its suffix: .svg or .dot (nothing extra), .png or .pdf (`dot`)."""
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt == "svg":
            data = self.svg().encode("utf-8")
        elif fmt in ("dot", "gv"):
            data = self.source.encode("utf-8")
        elif fmt in ("png", "pdf"):
            data = _system_dot(self.source, fmt, path)
        else:
            raise K8slabError(f"cannot save a diagram as {path.name!r}: name it .svg or .dot "
                              "(or .png or .pdf, with Graphviz's `dot` program installed)")
        try:
            # The inputs' guard (manifests.read_text), for the output: only a regular file (or a
            # new one) is written; a FIFO or a device is refused, never waited on.
            import os
            import stat
            if path.exists() and not stat.S_ISREG(os.stat(path).st_mode):
                mode = os.stat(path).st_mode
                what = ("a directory" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
                        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
                raise K8slabError(f"cannot write {path}: it is {what}; name a file for the diagram")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o666)
            with open(fd, "wb", closefd=True) as f:
                f.write(data)
        except OSError as exc:
            raise K8slabError(f"cannot write {path}: {exc.strerror or exc}") from None
        return path

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .inline_image import mimebundle      # Jupyter only: not on the command line's path
        return mimebundle(self.svg(), self.summary, self.alt, include, exclude)

    def __repr__(self) -> str:
        return self.summary


def _system_dot(source: str, fmt: str, path: Path) -> bytes:
    # The wasm build writes SVG and text formats only; Debian's dot can write PNG and PDF
    # (with the machine's own fonts, so those files differ from machine to machine).
    import shutil
    if shutil.which("dot") is None:
        raise K8slabError(
            f"cannot write {path}: {fmt.upper()} needs Graphviz's `dot` program, which is not "
            "installed. Install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: "
            "brew install graphviz; Windows: winget install graphviz), or save as .svg, which "
            "needs nothing extra.")
    import graphviz
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise K8slabError(f"cannot write {path}: dot failed: {detail}") from None


# -- draw ----------------------------------------------------------------------------------------
def draw(obj, *, caption: bool = True) -> Diagram:
    """A Diagram of a route (`cluster.route(...)`), of a Gateway's answer to an HTTP request
    (`k8slab.gateway.request(...)`) or of a whole Cluster.

    `caption=False` leaves out a route's headline and reason, for a page that prints them
    already (the explorer).
    """
    if isinstance(obj, Cluster):
        return _ClusterPicture(obj).diagram()
    if all(hasattr(obj, a) for a in ("hops", "service", "cluster", "client", "endpoints")):
        return _RoutePicture(obj, caption).diagram()
    if all(hasattr(obj, a) for a in ("gateway", "listener", "backends", "request")):
        return _RequestPicture(obj, caption).diagram()    # k8slab.gateway's Answer
    raise TypeError("draw() takes a route (cluster.route(client=..., service=...)) or a "
                    f"Cluster, not {type(obj).__name__}")


def _names(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [n for n in (value or ()) if isinstance(n, str)]


class _RoutePicture:
    """The DOT for one route: the path it takes, drawn inside a picture of the cluster.

    Columns left to right: the client, the load balancer, the node ports, the Service, the
    nodes with their pods. The route's hops decide what is on the path; the rest is context.
    """

    def __init__(self, route, caption: bool = True):
        self.r = route
        self.with_caption = caption
        self.cluster = route.cluster
        self.service = route.service
        self.hops = [h for h in route.hops if isinstance(h, dict)]
        self.stop = None
        if not route.reachable:
            at = route.stopped_at
            self.stop = at if isinstance(at, int) and 0 <= at < len(self.hops) else len(self.hops) - 1
        self.via_dns = not self.service.proxied or route.entry == "DNS" or \
            any(h.get("kind") == "dns" for h in self.hops)
        self.outside: list[tuple[str, dict]] = []       # left of the cluster
        self.beyond: list[tuple[str, dict]] = []        # right of it (an ExternalName's target)
        self.loose: list[tuple[str, dict]] = []         # in the cluster, outside any node
        self.boxed: dict[str, list[tuple[str, dict]]] = {}   # node name -> what it holds
        self.marks: dict[str, list[str]] = {}           # node name -> extra lines for its box
        self.edges: list[tuple[str, str, dict]] = []
        self.endpoint_ids: dict[tuple[str, int], str] = {}
        self.node_of: dict[str, str] = {}               # entry id -> the node it is on
        self.drawn: set[str] = set()

    # -- bookkeeping
    def _add(self, node_id: str, attrs: dict, node: str | None = None, where: str = "loose"):
        self.drawn.add(node_id)
        if node is not None and self.cluster.node(node) is not None:
            self.boxed.setdefault(node, []).append((node_id, attrs))
        else:
            getattr(self, where).append((node_id, attrs))

    def _edges(self, sources, target, attrs):
        for s in sources:
            self.edges.append((s, target, dict(attrs)))

    def _mark(self, node: str | None, line: str):
        if node and line not in self.marks.setdefault(node, []):
            self.marks[node].append(line)

    # -- the picture
    def diagram(self) -> Diagram:
        frontier = self._client()
        for index, hop in enumerate(self.hops):
            taken = self.stop is None or index <= self.stop
            if hop.get("kind") != "client":
                frontier = self._hop(hop, frontier, taken)
            if index == self.stop:
                self._stop_mark(hop, frontier)
        self._context()
        caption = self._caption() if self.with_caption else []

        def layout(rankdir: str):
            g = _new_graph("route", caption, rankdir)
            self._assemble(g, rankdir)
            return g
        return Diagram(layout("LR"), self._summary(), legend="route", alt=self._alt(),
                       narrower=lambda: layout("TB"))

    def _client(self) -> list[str]:
        r = self.r
        kind = getattr(r, "client_kind", None)
        pod, node = getattr(r, "client_pod", None), getattr(r, "client_node", None)
        if kind == "pod" and pod is not None:
            lines = ["client pod", *_wrap(pod.name, 24, 2), _clean(pod.ip or "no IP")]
            self._add("client", _hop_style("client", label=_label(*lines)), pod.node)
        elif kind == "node" and node is not None:
            lines = ["a process on", *_wrap(node.name, 24, 2), "(host network)",
                     _clean(node.address)]
            self._add("client", _hop_style("client", label=_label(*lines)), node.name)
        else:
            lines = [*_wrap(r.client, 24, 2), _OUTSIDE_CLIENTS.get(kind or "", "client")]
            self._add("client", _hop_style("client", label=_label(*lines), fontsize="12"),
                      where="outside")
        return ["client"]

    def _hop(self, hop: dict, frontier: list[str], taken: bool) -> list[str]:
        kind = hop.get("kind")
        if kind == "load-balancer":
            return self._load_balancer(hop, frontier, taken)
        if kind == "node-port":
            return self._node_port(hop, frontier, taken)
        if kind == "external-ip":
            return self._external_ip(hop, frontier, taken)
        if kind == "service":
            if str(hop.get("chain", "")).startswith(("KUBE-SVL", "local-")) and frontier and \
                    all(f in self.node_of for f in frontier):
                # A Local policy's rules on each receiving node pick only that node's pods:
                # drawn as node port -> own pods, which says it better than one shared box.
                return frontier
            return self._service(hop, frontier, taken)
        if kind == "pod":
            return self._pods(frontier, taken)
        if kind == "dns":
            return self._dns(hop, frontier, taken)
        # A hop kind this module does not know: drawn plainly rather than dropped.
        node_id = f"hop{len(self.drawn)}"
        detail = hop.get("address") or hop.get("name") or ""
        self._add(node_id, _hop_style(str(kind), label=_label(
            *_wrap(kind, 24, 1), *_wrap(detail, 24, 2))))
        self._edges(frontier, node_id, _path_edge(str(kind)) if taken else _faint_edge())
        return [node_id]

    def _load_balancer(self, hop, frontier, taken):
        address = hop.get("address")
        caught_on = hop.get("node")
        if caught_on:
            # A pod or node dialing the LB's IP: kube-proxy on its own node catches the packet.
            lines = ["load balancer's address", *_wrap(address or "", 26, 1),
                     "caught here by kube-proxy", "(never leaves the node)"]
            self._add("lb", _hop_style("load-balancer", label=_label(*lines)), caught_on)
            self.node_of["lb"] = caught_on
            self._edges(frontier, "lb", _path_edge("load-balancer", f"dials {address}")
                        if taken else _faint_edge())
            return ["lb"]
        lines = ["cloud load balancer", *(_wrap(address, 26, 2) if address else ["no address"])]
        self._add("lb", _hop_style("load-balancer", label=_label(*lines)), where="outside")
        self._edges(frontier, "lb", _path_edge("load-balancer", f"dials {address}" if address
                                               else None) if taken else _faint_edge())
        targets = _names(hop.get("nodes"))
        if targets:
            for node in self.cluster.nodes:
                if node.name not in targets:
                    self._mark(node.name, "gets nothing from the load balancer")
        return ["lb"]

    def _node_port(self, hop, frontier, taken):
        # The hop may carry its port; DESIGN.md's JSON gives only the address.
        port = hop.get("port") or getattr(self.r.port, "node_port", None)
        if not port and isinstance(hop.get("address"), str):
            port = hop["address"].rpartition(":")[2] or None
        names = _names(hop.get("node")) or _names(hop.get("nodes")) or [None]
        share = _percent(1 / len(names)) if len(names) > 1 else None
        ids = []
        for i, name in enumerate(names):
            node_id = f"np{i}"
            lines = [f"node port {port}" if port else "node port",
                     *(_wrap(f"on {name}", 24, 2) if name else [])]
            self._add(node_id, _hop_style("node-port", label=_label(*lines)))
            if name:
                self.node_of[node_id] = name
                self._mark(name, f"receives the packet on port {port}" if port
                           else "receives the packet")
            address = hop.get("address") if len(names) == 1 else None
            label = share if frontier == ["lb"] else (f"dials {address}" if address else None)
            self._edges(frontier, node_id, _path_edge("node-port", label) if taken
                        else _faint_edge(label))
            ids.append(node_id)
        return ids

    def _external_ip(self, hop, frontier, taken):
        node = hop.get("node")
        lines = ["external IP", *_wrap(hop.get("address") or "", 26, 1),
                 *(_wrap(f"routed to {node}", 26, 2) if node else [])]
        self._add("xip", _hop_style("service", label=_label(*lines)))
        if node:
            self.node_of["xip"] = node
            self._mark(node, "receives the packet (external IP)")
        label = f"dials {hop['address']}" if hop.get("address") else None
        self._edges(frontier, "xip", _path_edge("service", label) if taken
                    else _faint_edge(label))
        return ["xip"]

    def _service_lines(self, hop: dict | None = None) -> list[str]:
        s, port, entry = self.service, self.r.port, self.r.entry
        lines = [*_wrap(f"Service {s.name}", 28, 2), f"type {_clean(s.type)}"]
        if s.cluster_ip and not s.headless:
            lines.append(_clean(f"{s.cluster_ip}:{port.port}" if port else s.cluster_ip))
        if port is not None:
            target = f"{port.target_port}"
            numbers = {e.port for e in self.cluster.endpoints(s, port)}
            if isinstance(port.target_port, str) and len(numbers) == 1:
                target += f" ({numbers.pop()})"       # a named port, as the pods resolve it
            lines.append(_clean(f"port {port.port} \u2192 pod port {target}"))
        if s.external_traffic_policy == "Local" and entry in ("NodePort", "LoadBalancer",
                                                               "ExternalIP"):
            lines += ["externalTrafficPolicy: Local:", "a node sends to its own pods only"]
        if s.internal_traffic_policy == "Local" and entry == "ClusterIP":
            lines += ["internalTrafficPolicy: Local:", "only pods on the client's node"]
        if s.session_affinity == "ClientIP":
            lines.append("sessionAffinity: ClientIP")
        if hop and hop.get("node"):
            lines += _wrap(f"rules applied by kube-proxy on {hop['node']}", 28, 2)
        return lines

    def _service(self, hop, frontier, taken):
        if "svc" not in self.drawn:
            self._add("svc", _hop_style("service", label=_label(*self._service_lines(hop))))
        label = None
        if frontier == ["client"] and hop.get("address"):
            label = f"dials {hop['address']}"
        attrs = _path_edge("service", label) if taken else _faint_edge(label)
        name_step = self._name_step(hop) if frontier == ["client"] else None
        if name_step and taken:
            attrs["label"] = _label(*name_step)
        self._edges([f for f in frontier if f != "svc"], "svc", attrs)
        return ["svc"]

    def _name_step(self, hop) -> list[str] | None:
        """A pod or node that names the Service: the lookup before the packet (route's `dns`)."""
        dns = getattr(self.r, "dns", None) or {}
        records = [rec for rec in dns.get("records") or () if isinstance(rec, dict)
                   and rec.get("type") == "A"]
        if not dns.get("name") or not records or not hop.get("address"):
            return None
        if getattr(self.r, "client_kind", None) == "node" and not self._tries():
            # A node's own resolver knows no cluster names (k8slab.dns, NODE_RESOLVER): a process
            # there dials the cluster IP, as the route's reason says, so no lookup is drawn.
            return None
        # With the name the client typed: that name and its misses first, then the answer.
        head = self._lookup_lines(answered=True) if self._tries() else ["1. looks up"]
        return [*head, *_wrap(str(dns["name"]), 30, 2),
                _clean(f"= {records[0].get('value')} (cluster DNS)"),
                _clean(f"2. dials {hop['address']}")]

    # Misses drawn one by one; more are counted (a pod's default search list makes up to four
    # tries, a dnsConfig with more search domains more).
    _MAX_TRIES = 4

    def _tries(self) -> list[dict]:
        """Each name the resolver tried, when the route knows what the client typed."""
        dns = getattr(self.r, "dns", None) or {}
        return [t for t in dns.get("tried") or () if isinstance(t, dict) and t.get("name")]

    def _lookup_lines(self, answered: bool) -> list[str]:
        """"1. looks up web.shop" and the search-list tries that missed (all of them when
        nothing answered), as the explorer's Name lookup panel lists them."""
        tries = self._tries()
        misses = tries[:-1] if answered else tries
        query = (getattr(self.r, "dns", None) or {}).get("query") or ""
        lines = _wrap(f"1. looks up {query}", 30, 2)
        for t in misses[:self._MAX_TRIES]:
            lines += _wrap(f"{t['name']}: {t.get('rcode', '?')}", 30, 2)
        if len(misses) > self._MAX_TRIES:
            more = len(misses) - self._MAX_TRIES
            lines.append(f"\u2026 and {more} more {'miss' if more == 1 else 'misses'}")
        return lines

    def _pods(self, frontier, taken):
        # A pod a NetworkPolicy shields is drawn as one that cannot answer, naming the policy.
        ids = [self._endpoint(e.endpoint, e.probability,
                              why=("\u2715 dropped by NetworkPolicy " + ", ".join(e.blocked_by))
                              if getattr(e, "blocked_by", ()) else None) for e in self.r.endpoints]
        for ep, node_id in zip(self.r.endpoints, ids):
            sources = frontier
            # An entry bound to a node, followed straight by pods (no Service rules between),
            # is a Local traffic policy: each node forwards to its own pods only.
            local = [f for f in frontier if self.node_of.get(f) == ep.endpoint.node]
            if local and all(f in self.node_of for f in frontier):
                sources = local
            # The chance is written in the pod; a DNS answer's pod is picked by the client.
            label = "2. connects to one" if ep.probability is None and node_id == ids[0] else None
            if getattr(ep, "blocked_by", ()):
                self._edges(sources, node_id, {"color": _STOP, "style": "dashed", "penwidth": "1.6"})
                continue
            self._edges(sources, node_id, _path_edge("pod", label) if taken
                        else _faint_edge(label))
        return ids or frontier

    def _dns_lines(self, hop: dict | None) -> list[str]:
        s = self.service
        dns = getattr(self.r, "dns", None) or {}
        records = [rec for rec in dns.get("records") or () if isinstance(rec, dict)]
        name = dns.get("name") or (hop or {}).get("name") or s.dns_name
        what = "ExternalName" if s.type == "ExternalName" else "headless"
        lines = ["cluster DNS", *_wrap(f"{what} Service {s.name}", 30, 2), *_wrap(name, 30, 2)]
        if hop is None:
            lines.append("(not reached)")
            return lines
        if records:
            lines.append(f"answers {_plural(len(records), 'record')}:")
            for rec in records[:6]:
                lines += _wrap(f"{rec.get('type', '?')} {rec.get('value', '')}", 30, 2)
            if len(records) > 6:
                lines.append(f"\u2026 and {len(records) - 6} more")
        else:
            lines.append("answers NXDOMAIN: no records")
        lines.append("no proxy: the client connects itself")
        return lines

    def _dns(self, hop, frontier, taken):
        self._add("dns", _hop_style("dns", label=_label(*self._dns_lines(hop))))
        attrs = _path_edge("dns", "1. looks up") if taken else _faint_edge("1. looks up")
        if taken and self._tries():      # the typed name's misses before this answer
            attrs["label"] = _label(*self._lookup_lines(answered=True))
        self._edges(frontier, "dns", attrs)
        if not taken or (self.stop is not None and self.hops.index(hop) >= self.stop):
            return ["dns"]
        records = (getattr(self.r, "dns", None) or {}).get("records") or ()
        cname = [rec.get("value") for rec in records
                 if isinstance(rec, dict) and rec.get("type") == "CNAME"]
        if cname or self.service.type == "ExternalName":
            target = cname[0] if cname else self.service.external_name or "?"
            self._add("ext", _hop_style("client", style="filled,rounded,dashed", label=_label(
                *_wrap(target, 26, 2), "outside the cluster")), where="beyond")
            self._edges(frontier, "ext", _path_edge("dns", "2. connects to it"))
            self.edges.append(("dns", "ext", _INVISIBLE | {"weight": "3"}))
            return ["ext"]
        return frontier      # a headless answer: the client itself dials one of the pods

    def _endpoint(self, ep, probability=None, why=None, context=False) -> str:
        key = (ep.address, ep.port)
        if key in self.endpoint_ids:
            return self.endpoint_ids[key]
        node_id = f"ep{len(self.endpoint_ids)}"
        self.endpoint_ids[key] = node_id
        lines = [*_wrap(ep.pod or "endpoint (no pod)", 22, 2), _clean(ep.ip_port)]
        if why is not None or (context and not ep.ready):
            lines += ["cannot answer:", *_wrap(why or "not ready", 24, 4)]
            attrs = dict(_EXCLUDED_STYLE)
        elif context:
            attrs = _hop_style("pod", fillcolor="white")   # a healthy pod, just not reached
        else:
            attrs = _hop_style("pod")
            lines.append(f"answers {_percent(probability)}" if probability is not None
                         else "in the DNS answer")
        attrs["label"] = _label(*lines)
        self._add(node_id, attrs, ep.node)
        return node_id

    def _stop_mark(self, hop: dict, frontier: list[str]):
        words = _STOP_WORDS.get(getattr(self.r, "code", None) or "", "stopped")
        named = hop.get("kind") == "client" and self._tries()
        if getattr(self.r, "code", None) == "policy-denied":
            if hop.get("kind") == "pod":
                return          # each pod is marked with the policy that drops the packet
            if hop.get("kind") == "client":
                # The pod's DNS queries are dropped: the lookup times out before any packet.
                named = False
                words = "DNS lookup times out: NetworkPolicy drops it"
        if named:
            words = "name not found"    # the typed name: NXDOMAIN, or it left the cluster
        attrs = _STOP_STYLE | {"fontsize": "12", "label": _label(f"\u2715 {words}")}
        outside = all(any(f == n for n, _ in self.outside) for f in frontier)
        # Dropped or refused by kube-proxy on the node that received it: draw it on that node.
        on_node = {self.node_of.get(f) for f in frontier}
        node = on_node.pop() if len(on_node) == 1 else None
        self._add("stop", attrs, node, where="outside" if outside else "loose")
        edge = {"color": _STOP, "penwidth": "2.6"}
        if named:
            edge |= {"fontcolor": _STOP, "fontsize": "11",
                     "label": _label(*self._lookup_lines(answered=False))}
        self._edges(frontier, "stop", edge)

    def _context(self):
        """What the route did not reach but a learner needs to see: the Service and its pods."""
        last = "stop" if "stop" in self.drawn else "client"
        hub = "dns" if self.via_dns else "svc"
        hub_was_drawn = hub in self.drawn
        if not hub_was_drawn:
            lines = self._dns_lines(None) if self.via_dns else self._service_lines()
            self._add(hub, _hop_style("dns" if self.via_dns else "service",
                                      style="filled,rounded,dashed", label=_label(*lines)))
            # Layout only: the Service sits right of where the packet went (or stopped), and
            # left of the pods (a Local policy's path skips it: node port straight to pods).
            entries = [n for n in self.node_of if n != "lb"] or [last]
            self._edges(entries, hub, _INVISIBLE)
            for ep in self.r.endpoints:
                self.edges.append((hub, self._endpoint(ep.endpoint, ep.probability),
                                   _INVISIBLE))
        reached = bool(self.r.endpoints)
        for ep, why in getattr(self.r, "excluded", ()) or ():
            if (ep.address, ep.port) not in self.endpoint_ids:
                node_id = self._endpoint(ep, why=why)
                self.edges.append((hub, node_id, _faint_edge() if hub == "svc" else _INVISIBLE))
        if self.r.port is not None and not reached:
            # Unreachable: the Service's pods are still there, drawn unconnected.
            for ep in self.cluster.endpoints(self.service, self.r.port):
                if (ep.address, ep.port) not in self.endpoint_ids:
                    node_id = self._endpoint(ep, context=True)
                    self.edges.append((hub, node_id, _faint_edge() if hub == "svc"
                                       else _INVISIBLE))
        for ep in self.r.endpoints:
            if (ep.endpoint.address, ep.endpoint.port) not in self.endpoint_ids:
                # Pods the route lists but its hops never reached (a stand-in route): faint.
                self.edges.append((hub, self._endpoint(ep.endpoint, ep.probability),
                                   _faint_edge()))
            elif self.via_dns and hub_was_drawn:   # headless: pods right of the DNS box
                self.edges.append(("dns", self.endpoint_ids[(ep.endpoint.address,
                                                             ep.endpoint.port)], _INVISIBLE))

    def _shown_pods(self) -> set[tuple[str, str]]:
        ns = self.service.namespace
        shown = {(ns, e.endpoint.pod) for e in self.r.endpoints if e.endpoint.pod}
        shown |= {(ns, e.pod) for e, _ in getattr(self.r, "excluded", ()) or () if e.pod}
        if self.r.port is not None and not self.r.endpoints:
            shown |= {(ns, e.pod) for e in self.cluster.endpoints(self.service, self.r.port)
                      if e.pod}
        client_pod = getattr(self.r, "client_pod", None)
        if client_pod is not None:
            shown.add((client_pod.namespace, client_pod.name))
        return shown

    def _assemble(self, g, rankdir: str = "LR"):
        # dot stacks a rank bottom-up when rankdir=LR: emit in reverse there to read top-down;
        # top to bottom, a rank reads left to right in the order given.
        order = reversed if rankdir == "LR" else list
        edges = list(self.edges)
        _legend(g, "route", rankdir)
        for node_id, attrs in self.outside:
            g.node(node_id, attrs)
        nodes = self.cluster.nodes
        if len(nodes) > _MAX_NODES:
            nodes = tuple(n for n in nodes if n.name in self.boxed or n.name in self.marks
                          and any(not m.startswith("gets nothing") for m in self.marks[n.name]))
        hidden = len(self.cluster.nodes) - len(nodes)
        shown = self._shown_pods()
        hub = "dns" if self.via_dns else "svc"
        endpoints = set(self.endpoint_ids.values())
        column = list(self.endpoint_ids.values())   # pods, and what stands for them: a column
        with g.subgraph("cluster_k8s") as k8s:
            _box(k8s, ["Kubernetes cluster"], color=_BOUNDARY, penwidth="1.4",
                 fontcolor=_BOUNDARY, fontsize="12")
            for node_id, attrs in self.loose:
                k8s.node(node_id, attrs)
            for i in order(range(len(nodes))):
                node = nodes[i]
                items = self.boxed.get(node.name, [])
                lines = [*_wrap(node.name, 28, 2), _clean(node.address)]
                if not node.ready:
                    lines.append("NotReady")
                others = sum(1 for p in self.cluster.pods
                             if p.node == node.name and (p.namespace, p.name) not in shown)
                if others:
                    lines.append(f"+{_plural(others, 'other pod')}")
                attrs = {"color": "#8c8c8c", "fontcolor": "#333333", "bgcolor": "#fafafa"}
                marks = self.marks.get(node.name, [])
                if any(m.startswith("receives") for m in marks):
                    attrs = {"color": HOP_COLOURS["node-port"][0], "penwidth": "2.4",
                             "fontcolor": HOP_COLOURS["node-port"][0], "bgcolor": "#f3faf7"}
                lines += [w for m in marks for w in _wrap(m, 34, 2)]
                no_pods = not any(node_id in endpoints for node_id, _ in items)
                if no_pods and items:
                    lines += _wrap(f"no {self.service.name} pods here", 34, 2)
                with k8s.subgraph(f"cluster_node{i}") as box:
                    _box(box, lines, **attrs)
                    for node_id, a in order(items):
                        box.node(node_id, a)
                    if not items:   # dot draws no empty cluster: say why this one is empty
                        box.node(f"empty{i}", _PLAIN | {"label": _label(
                            *_wrap(f"no {self.service.name} pods", 22, 2))})
                        column.append(f"empty{i}")
            for name, items in self.boxed.items():   # on nodes left out of a big cluster
                if not any(n.name == name for n in nodes):
                    for node_id, a in items:
                        k8s.node(node_id, a)
            if hidden:
                k8s.node("hidden", _PLAIN | {"label": _label(
                    f"+{_plural(hidden, 'other node')}, not on this route")})
                column.append("hidden")
            k8s.same_rank(column)
            if not endpoints and column:
                edges.append((hub, column[0], _INVISIBLE))
        for node_id, attrs in self.beyond:
            g.node(node_id, attrs)
        for a, b, attrs in edges:
            g.edge(a, b, attrs)

    def _caption(self) -> list[str]:
        r = self.r
        port = f":{r.port.port}" if r.port is not None else ""
        head = f"{_clean(r.client)} \u2192 Service {_clean(self.service.key)}{port}"
        head += f" via {r.entry}" if r.entry else ""
        head += ": reachable" if r.reachable else f": NOT reachable ({_clean(r.code)})"
        # The reason already says whose address the pod sees, when it matters.
        return _wrap(head, 110, 2) + _wrap(r.reason or "", 110, 8)

    def _alt(self) -> str:
        """The picture in words, for an <img>'s alt text: the headline and the reason."""
        r = self.r
        port = f":{r.port.port}" if r.port is not None else ""
        head = f"Route from {_clean(r.client)} to Service {_clean(self.service.key)}{port}"
        head += f" via {r.entry}" if r.entry else ""
        head += ": reachable." if r.reachable else f": not reachable ({_clean(r.code)})."
        return f"{head} {_clean(r.reason or '')}".strip()

    def _summary(self) -> str:
        r = self.r
        text = f"<Diagram: {_clean(r.client)} -> {_clean(self.service.key)}"
        text += f" via {r.entry}" if r.entry else ""
        if r.reachable:
            return text + f", reachable, {_plural(len(r.endpoints), 'pod')}>"
        return text + f", unreachable ({_clean(r.code)})>"


class _ClusterPicture:
    """The DOT for a whole cluster: Services on the left, nodes and their pods on the right."""

    def __init__(self, cluster: Cluster):
        self.c = cluster

    def diagram(self) -> Diagram:
        c = self.c
        caption = (f"Cluster: {_plural(len(c.nodes), 'node')}, {_plural(len(c.pods), 'pod')}, "
                   f"{_plural(len(c.services), 'Service')}. A Service points at its selector, the "
                   "selector at the pods it matches.")
        # Services that share a selector share one selector box: one arrow per Service and one
        # per pod, where an arrow from every Service to every pod crossed (issue 24: four
        # Services over three pods drew twelve crossing arrows over a node's label). It is
        # also the lesson: a Service owns no pods, it names labels.
        hubs: dict[tuple, str] = {}
        for s in c.services:
            if s.selector:
                hubs.setdefault((s.namespace, tuple(sorted(s.selector.items()))), f"sel{len(hubs)}")
        g = _new_graph("cluster", [caption])
        _legend(g, "cluster")
        pod_ids: dict[str, str] = {}
        with g.subgraph("cluster_k8s") as k8s:
            _box(k8s, ["Kubernetes cluster"], color=_BOUNDARY, penwidth="1.4",
                 fontcolor=_BOUNDARY, fontsize="12")
            for i in reversed(range(len(c.services))):
                s = c.services[i]
                k8s.node(f"svc{i}", _hop_style("service" if s.proxied else "dns",
                                                 label=_label(*self._service_lines(s))))
            for (ns, pairs), hub in reversed(list(hubs.items())):
                lines = _wrap("selector " + ",".join(f"{k}={v}" for k, v in pairs), 24, 3)
                if ns != "default":
                    lines += _wrap(f"in namespace {ns}", 24, 1)
                k8s.node(hub, {"shape": "box", "style": "rounded,filled", "fillcolor": "white",
                               "color": "#8c8c8c", "fontcolor": "#333333", "fontsize": "10",
                               "penwidth": "1", "margin": "0.08,0.04", "label": _label(*lines)})
            names = [n.name for n in c.nodes]
            groups: dict[str | None, list] = {name: [] for name in names}
            for p in c.pods:
                groups.setdefault(p.node if p.node in groups else None, []).append(p)
            boxes = [(n.name, [*_wrap(n.name, 28, 2), _clean(n.address)]
                      + ([] if n.ready else ["NotReady"])) for n in c.nodes]
            if groups.get(None):
                boxes.append((None, ["not on a node (Pending)"]))
            column = []
            for b in reversed(range(len(boxes))):
                name, lines = boxes[b]
                pods = groups.get(name, [])
                with k8s.subgraph(f"cluster_node{b}") as box:
                    _box(box, lines, color="#8c8c8c", fontcolor="#333333", bgcolor="#fafafa")
                    for j in reversed(range(min(len(pods), _MAX_PODS_PER_NODE))):
                        p = pods[j]
                        node_id = f"pod{b}_{j}"
                        pod_ids.setdefault(p.key, node_id)
                        style = _hop_style("pod") if p.ready and not p.terminating \
                            else dict(_EXCLUDED_STYLE)
                        box.node(node_id, style | {"label": _label(*self._pod_lines(p))})
                        column.append(node_id)
                    extra = len(pods) - _MAX_PODS_PER_NODE
                    if extra > 0 or not pods:
                        node_id = f"more{b}"
                        box.node(node_id, _PLAIN | {"label": _label(
                            f"+{_plural(extra, 'more pod')}" if pods else "no pods")})
                        column.append(node_id)
            k8s.same_rank(column)      # all pods in one column, right of the Services
        if c.services and column:
            g.edge("svc0", column[0], _INVISIBLE)
        drawn: set[str] = set()
        for i, s in enumerate(c.services):
            if not s.selector:
                continue
            colour = HOP_COLOURS["service" if s.proxied else "dns"][0]
            hub = hubs[(s.namespace, tuple(sorted(s.selector.items())))]
            g.edge(f"svc{i}", hub, {"color": colour, "penwidth": "1.3"})
            if hub in drawn:
                continue
            drawn.add(hub)
            for p in c.selected_pods(s):
                if p.key in pod_ids:
                    ready = p.ready and not p.terminating
                    # Into the pod's left side: from above, the arrow crossed the node's label.
                    g.edge(hub, pod_ids[p.key], {
                        "tailport": "e", "headport": "w",
                        "color": HOP_COLOURS["pod"][0] if ready else _FAINT,
                        "style": "solid" if ready else "dashed", "penwidth": "1.3"})
        summary = (f"<Diagram: cluster, {_plural(len(c.nodes), 'node')}, "
                   f"{_plural(len(c.pods), 'pod')}, {_plural(len(c.services), 'service')}>")
        alt = caption + " " + "; ".join(
            f"Service {s.name} selects " + (", ".join(p.name for p in c.selected_pods(s)) or "no pod")
            for s in c.services[:12]) + "."
        return Diagram(g, summary, legend="cluster", alt=_clean(alt))

    @staticmethod
    def _service_lines(s) -> list[str]:
        lines = _wrap(f"Service {s.name}", 26, 2)
        if s.namespace != "default":
            lines += _wrap(f"namespace {s.namespace}", 26, 1)
        if s.type == "ExternalName":
            return lines + ["ExternalName", *_wrap(f"CNAME {s.external_name or '?'}", 28, 2)]
        lines.append("headless (DNS only)" if s.headless
                     else _clean(f"{s.type} {s.cluster_ip or ''}"))
        for p in s.ports[:4]:
            text = f"port {p.port}\u2192{p.target_port}"
            text += f", node port {p.node_port}" if p.node_port else ""
            lines += _wrap(text, 30, 1)
        if len(s.ports) > 4:
            lines.append(f"+{_plural(len(s.ports) - 4, 'more port')}")
        if s.type == "LoadBalancer":
            lb = ", ".join(s.load_balancer_ingress) or "pending"
            lines += _wrap(f"load balancer {lb}", 30, 2)
        if s.external_traffic_policy == "Local":
            lines.append("externalTrafficPolicy: Local")
        if not s.selector:
            lines.append("no selector")
        return lines

    @staticmethod
    def _pod_lines(p) -> list[str]:
        lines = [*_wrap(p.name, 22, 2), _clean(p.ip or "no IP yet")]
        if p.terminating:
            lines.append("terminating")
        elif not p.ready:
            lines.append("not ready")
        return lines


class _RequestPicture:
    """An HTTP request through a Gateway (or an Ingress controller): client, load balancer,
    listener, the route rule that won, the Services by weight, their pods; a 404, 500 or
    redirect drawn where the Gateway answers it (k8slab.gateway.Answer)."""

    _GATEWAY = ("#e7298a", "#fbe0ef")        # the Gateway's own hops: listener and route rule
    _MAX_PODS = 6                            # per backend; the rest are counted

    def __init__(self, answer, caption: bool = True):
        self.a = answer
        self.caption = caption

    def diagram(self) -> Diagram:
        a = self.a
        status = "no answer" if a.status is None else f"HTTP {a.status}"
        summary = f"<Diagram: {_clean(a.request.method)} {_clean(a.request.url)} via {_clean(a.gateway)}, {status}>"
        return Diagram(self._graph("LR"), summary, alt=f"{self._caption()[0]} {_clean(a.reason)}",
                       narrower=lambda: self._graph("TB"))

    def _graph(self, rankdir: str):
        a = self.a
        g = _new_graph("request", self._caption() if self.caption else [], rankdir)
        line, fill = self._GATEWAY
        gw_style = {"color": line, "fillcolor": fill}
        req = a.request
        g.node("client", _hop_style("client") | {"label": _label(
            "client", f"{_clean(req.method)} {_shorten(_clean(req.url), 48)}")})
        where = f"{a.address}:{req.port}" if a.address else f"port {req.port}"
        front = "the ingress controller's load balancer" if a.kind == "Ingress" else "the Gateway's load balancer"
        g.node("lb", _hop_style("load-balancer") | {"label": _label(
            front, _clean(where), "to the proxy pods" if a.kind == "Ingress" else "to the Gateway's proxy pods")})
        g.edge("client", "lb", _path_edge("load-balancer"))
        if a.status is None:
            self._stop(g, "lb", f"nothing listens on {req.port}")
            return g
        if a.kind == "Ingress":
            last = "lb"
        elif a.listener is None:
            self._stop(g, "lb", f"404: no listener for {req.host}")
            return g
        else:
            host = a.listener_hostname or "any host"
            g.node("listener", gw_style | {"label": _label(
                "Gateway", *_wrap(a.gateway, 28, 2), f"listener {_clean(a.listener)}",
                f"{_clean(a.listener_protocol)} :{a.listener_port}, {_clean(host)}")})
            g.edge("lb", "listener", {"color": line, "penwidth": "2.6"})
            last = "listener"
        if a.route is None:
            self._stop(g, last, f"{a.status}: no route matches")
            return g
        what = "Ingress" if a.kind == "Ingress" else "HTTPRoute"
        lines = [what, *_wrap(a.route, 28, 2), f"rule {a.rule}" if a.rule is not None else "defaultBackend"]
        if a.match is not None:
            lines += _wrap(self._match_text(a.match), 40, 3)
        g.node("rule", gw_style | {"label": _label(*lines)})
        g.edge(last, "rule", {"color": line, "penwidth": "2.6"})
        if a.location is not None:
            self._stop(g, "rule", f"{a.status} redirect", f"Location: {_shorten(_clean(a.location), 40)}",
                       colour="#1b7837")
            return g
        if not a.backends:
            self._stop(g, "rule", f"{a.status}: no backendRefs")
            return g
        for i, b in enumerate(a.backends):
            share = _percent(b.probability)
            edge = _path_edge("service", f"weight {b.weight} ({share})") if b.probability > 0 else \
                _faint_edge(f"weight {b.weight} (0%)")
            if b.location:
                sid = f"stop{i}"
                g.node(sid, _STOP_STYLE | {"fontsize": "11", "fillcolor": "#1b7837", "color": "#1b7837",
                                           "label": _label(f"{b.status} redirect", *_wrap(_clean(b.location), 34, 2))})
                g.edge("rule", sid, edge | {"color": "#1b7837", "fontcolor": "#1b7837"})
                continue
            if b.status != 200:
                sid = f"stop{i}"
                g.node(sid, _STOP_STYLE | {"fontsize": "11", "label": _label(
                    f"\u2715 {b.status}", *_wrap(_clean(b.label), 34, 1), *_wrap(_clean(b.short_problem or ""), 34, 2))})
                g.edge("rule", sid, edge | {"color": _STOP, "fontcolor": _STOP})
                continue
            sid = f"svc{i}"
            g.node(sid, _hop_style("service") | {"label": _label(
                "Service", *_wrap(b.label, 28, 2), f"port {b.ref.port}")})
            g.edge("rule", sid, edge)
            for j, e in enumerate(b.endpoints[:self._MAX_PODS]):
                pid = f"pod{i}_{j}"
                g.node(pid, _hop_style("pod") | {"label": _label(
                    *_wrap(e['pod'] or e['address'], 24, 2), _clean(e["address"]),
                    f"on {_clean(e['node'])}" if e.get("node") else "")})
                g.edge(sid, pid, _path_edge("pod", _percent(e["probability"])) if b.probability > 0
                       else _faint_edge())
            more = len(b.endpoints) - self._MAX_PODS
            if more > 0:
                g.node(f"more{i}", _PLAIN | {"label": f"+ {_plural(more, 'more pod')}"})
                g.edge(sid, f"more{i}", _faint_edge())
        return g

    @staticmethod
    def _match_text(m) -> str:
        parts = [f"{m.path_type} {m.path}"]
        if m.method:
            parts.append(m.method)
        parts += [f"{h.name}: {h.value}" for h in m.headers]
        parts += [f"?{q.name}={q.value}" for q in m.query_params]
        return ", ".join(_clean(p) for p in parts)

    def _stop(self, g, after: str, *words: str, colour: str = _STOP) -> None:
        attrs = _STOP_STYLE | {"fontsize": "12", "fillcolor": colour, "color": colour,
                               "label": _label(f"\u2715 {words[0]}" if colour == _STOP else words[0],
                                               *words[1:])}
        g.node("stop", attrs)
        g.edge(after, "stop", {"color": colour, "penwidth": "2.6"})

    def _caption(self) -> list[str]:
        a = self.a
        status = "no answer (nothing listens)" if a.status is None else f"HTTP {a.status}"
        head = f"{_clean(a.request.method)} {_clean(a.request.url)} \u2192 {_clean(a.gateway)}: {status}"
        return _wrap(head, 110, 2) + _wrap(_clean(a.reason or ""), 110, 8)
