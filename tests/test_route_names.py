"""Route with the name the client types (issue 12): the lookup, every search-list try, comes first."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import k8slab
from k8slab import K8slabError, dns
from k8slab.draw import draw

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "notebooks" / "manifests" / "demo.yaml"
SHOP = ROOT / "notebooks" / "manifests" / "shop.yaml"


@pytest.fixture(scope="module")
def two():
    """default (demo: pod client, web, web-headless, db) and shop (pod front, cart, db, payments)."""
    return k8slab.load(str(DEMO), str(SHOP))


def tried(route) -> list[tuple[str, str]]:
    return [(t["name"], t["rcode"]) for t in route.dns["tried"]]


def test_a_short_name_in_the_pods_own_namespace_is_found_on_the_first_try(two):
    r = two.route(client="pod/client", service="web", name="web")
    assert r.reachable and r.entry == "ClusterIP"
    assert r.dns["query"] == "web" and r.dns["name"] == "web.default.svc.cluster.local"
    assert tried(r) == [("web.default.svc.cluster.local", "NOERROR")]
    assert r.dns["records"] == [{"type": "A", "value": two.service("web").cluster_ip}]
    # The rest of the route is the one the Service's name always gets.
    plain = two.route(client="pod/client", service="web")
    assert [e.to_dict() for e in r.endpoints] == [e.to_dict() for e in plain.endpoints]
    assert r.hops == plain.hops


def test_a_short_name_from_another_namespace_fails_and_says_what_to_type(two):
    # kubelet's search list begins with the pod's own namespace (pkg/kubelet/network/dns/dns.go).
    r = two.route(client="pod/shop/front", service="web", namespace="default", name="web")
    assert not r.reachable and r.code == "nxdomain" and r.entry is None
    assert [h["kind"] for h in r.hops] == ["client"] and r.stopped_at == 0
    assert tried(r)[:3] == [("web.shop.svc.cluster.local", "NXDOMAIN"),
                            ("web.svc.cluster.local", "NXDOMAIN"),
                            ("web.cluster.local", "NXDOMAIN")]
    assert "type web.default or web.default.svc.cluster.local" in r.reason
    assert r.endpoints == () and r.dns["records"] == []
    fixed = two.route(client="pod/shop/front", service="web", namespace="default", name="web.default")
    assert fixed.reachable
    assert tried(fixed) == [("web.default.shop.svc.cluster.local", "NXDOMAIN"),
                            ("web.default.svc.cluster.local", "NOERROR")]


def test_the_full_name_without_its_dot_goes_down_the_search_list_first(two):
    # Four dots, fewer than ndots:5, so glibc tries the search domains before the name as given
    # (resolv/res_query.c); with the trailing dot it is absolute and asked once.
    r = two.route(client="pod/client", service="web", name="web.default.svc.cluster.local")
    assert r.reachable and len(r.dns["tried"]) == 4
    assert tried(r)[-1] == ("web.default.svc.cluster.local", "NOERROR")
    absolute = two.route(client="pod/client", service="web", name="web.default.svc.cluster.local.")
    assert tried(absolute) == [("web.default.svc.cluster.local", "NOERROR")]


def test_a_node_asks_its_own_resolver_which_knows_no_cluster_names(two):
    node = two.nodes[0].name
    r = two.route(client=f"node/{node}", service="web", name="web.default.svc.cluster.local")
    assert r.code == "nxdomain" and "node's own resolver" in r.reason


def test_headless_and_externalname_names(two):
    r = two.route(client="pod/client", service="web-headless", name="web-headless")
    assert r.reachable and r.entry == "DNS"
    addresses = sorted(rec["value"] for rec in r.dns["records"])
    assert addresses == sorted(dns.lookup(two, "pod/client", "web-headless").addresses)
    assert {e.endpoint.address for e in r.endpoints} == set(addresses)
    e = two.route(client="pod/shop/front", service="payments", namespace="shop", name="payments")
    assert e.reachable and e.dns["records"][0]["type"] == "CNAME"


@pytest.mark.parametrize("client, kwargs, message", [
    ("laptop", {}, "only a pod or a node asks the cluster DNS"),
    ("pod/client", {"entry": "NodePort"}, "never to a node port"),
    ("pod/client", {"service": "web", "name": "db"}, "not to Service default/web"),
    ("pod/client", {"name": "web..default"}, "web..default"),
    ("pod/client", {"name": "x" * 64}, "63"),
])
def test_names_that_cannot_be_routed_are_clear_errors(two, client, kwargs, message):
    args = {"service": "web", "name": "web"} | kwargs
    with pytest.raises(K8slabError, match=message):
        two.route(client=client, **args)


def test_without_a_name_the_route_is_as_before(two):
    r = two.route(client="pod/client", service="web")
    assert r.dns == {"name": "web.default.svc.cluster.local",
                     "records": [{"type": "A", "value": two.service("web").cluster_ip}]}


# -- what the learner reads: the text, the picture, the command line ------------------------------
def test_route_text_lists_each_try_before_the_hops(two):
    text = two.route(client="pod/shop/front", service="web", name="web.default").text()
    lookup, hops = text.index("looks up web.default:"), text.index("client")
    assert lookup < hops
    assert "web.default.shop.svc.cluster.local  NXDOMAIN" in text
    assert "web.default.svc.cluster.local       NOERROR -> 10.96.0.11" in text
    failed = two.route(client="pod/shop/front", service="web", name="web").text()
    assert "(name not found): NOT reachable (nxdomain)" in failed


def svg_text(svg: str) -> str:
    root = ET.fromstring(svg)
    return " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_the_picture_draws_each_miss_and_the_answer(two):
    ok = svg_text(draw(two.route(client="pod/shop/front", service="web", name="web.default")).svg())
    assert "1. looks up web.default" in ok
    assert "NXDOMAIN" in ok and "= 10.96.0.11 (cluster DNS)" in ok and "2. dials 10.96.0.11:80" in ok
    failed = svg_text(draw(two.route(client="pod/shop/front", service="web", name="web")).svg())
    assert "name not found" in failed and "1. looks up web" in failed
    assert failed.count("NXDOMAIN") >= 3          # each miss of the search list
    headless = svg_text(draw(two.route(client="pod/client", service="web-headless",
                                       name="web-headless.default")).svg())
    assert "1. looks up web-headless.default" in headless and "NXDOMAIN" in headless


def test_the_name_option_on_the_command_line():
    run = [sys.executable, "-m", "k8slab"]
    p = subprocess.run([*run, "route", str(DEMO), str(SHOP), "--service", "web", "--client", "pod/shop/front",
                        "--name", "web", "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr          # an unreachable route is an answer
    out = json.loads(p.stdout)
    assert out["code"] == "nxdomain" and out["dns"]["query"] == "web" and len(out["dns"]["tried"]) == 4
    p = subprocess.run([*run, "route", str(DEMO), "--service", "web", "--client", "laptop", "--name", "web"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "only a pod or a node" in p.stderr


# -- the invariant: a name that resolves to the Service routes as the Service does -----------------
@settings(max_examples=60, deadline=None)
@given(client=st.sampled_from(["pod/client", "pod/shop/front"]),
       service=st.sampled_from([("web", "default"), ("web-headless", "default"), ("cart", "shop"),
                                ("db", "shop"), ("payments", "shop")]),
       suffix=st.sampled_from(["", ".{ns}", ".{ns}.svc", ".{ns}.svc.cluster.local",
                               ".{ns}.svc.cluster.local.", ".nope"]))
def test_route_by_name_agrees_with_the_lookup_and_with_route(two, client, service, suffix):
    name, ns = service
    typed = name + suffix.format(ns=ns)
    found = dns.lookup(two, client, typed, "A", ns)
    owners = {rec.name.rstrip(".") for rec in found.answer}
    fqdn = f"{name}.{ns}.svc.cluster.local"
    try:
        r = two.route(client=client, service=name, namespace=ns, name=typed)
    except K8slabError:
        # Only a name that resolves to something else is refused.
        assert found.answer and fqdn not in owners
        return
    assert [t["name"] for t in r.dns["tried"]] == [t.name.rstrip(".") for t in found.tried]
    if r.code == "nxdomain" and r.entry is None:
        assert not found.answer or found.rcode != "NOERROR"
        return
    assert fqdn in owners
    plain = two.route(client=client, service=name, namespace=ns)
    assert (r.reachable, r.code, r.entry) == (plain.reachable, plain.code, plain.entry)
    assert [e.to_dict() for e in r.endpoints] == [e.to_dict() for e in plain.endpoints]


def test_a_node_clients_picture_draws_no_cluster_dns_lookup(two):
    # A node's resolver knows no cluster names (the dns model's NODE_RESOLVER): a process there
    # reaches the Service by its cluster IP, so its picture shows the dial, not a lookup.
    node = two.nodes[0].name
    text = svg_text(draw(two.route(client=f"node/{node}", service="web")).svg())
    assert "looks up" not in text and "dials 10.96.0.11:80" in text
    assert "1. looks up" in svg_text(draw(two.route(client="pod/client", service="web")).svg())
