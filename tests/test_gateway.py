"""k8slab.gateway and the Gateway API / Ingress manifests: validation, matching rules, Ingress, CLI, picture."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from k8slab import gateway
from k8slab.cli import run
from k8slab.errors import K8slabError
from k8slab.manifests import load_texts, validate_texts
from k8slab.model import HTTPRouteMatch

APP = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: eg
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v1, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, version: v1}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v2, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web, version: v2}}
  template:
    metadata: {labels: {app: web, version: v2}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-v1, namespace: shop}
spec: {selector: {app: web, version: v1}, ports: [{port: 80, targetPort: 8080}], sessionAffinity: ClientIP}
---
apiVersion: v1
kind: Service
metadata: {name: web-v2, namespace: shop}
spec: {selector: {app: web, version: v2}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: shop}
spec: {selector: {app: nothing}, ports: [{port: 80}]}
"""


def load(*more: str):
    return load_texts([("app.yaml", APP)] + [(f"more{i}.yaml", textwrap.dedent(t)) for i, t in enumerate(more)])


def route(spec: str, name: str = "web", ns: str = "shop") -> str:
    return (f"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  parentRefs: [{{name: gw, namespace: infra}}]\n" + textwrap.indent(textwrap.dedent(spec), "  "))


def ask(cluster, url="http://shop.example/", headers=(), method="GET", gw="infra/gw"):
    return gateway.request(cluster, gw, url, headers, method)


# -- Validation (CRD schema and CEL rules, apis/v1/*_types.go) ----------------------------------------

def problems(text: str) -> list[str]:
    return [str(p) for p in validate_texts([("x.yaml", textwrap.dedent(text))])]


def test_httproute_path_cel_rules_and_enums():
    found = problems(route("""
        hostnames: ["*.ok.example", "Bad_Host"]
        rules:
        - matches: [{path: {type: PathPrefix, value: "v2"}}, {path: {type: Exact, value: "/a//b"}}, {method: FETCH}]
          backendRefs: [{name: web-v1}]
        - matches: [{path: {type: Prefix, value: /a}, headers: [{name: "a:b", value: x}]}]
          backendRefs: [{name: web-v1, port: 80, weight: 1000001}]
    """))
    expected = [
        "spec.hostnames[1]: Invalid value: \"Bad_Host\": spec.hostnames[1] in body should match",
        "spec.rules[0].matches[0].path: Invalid value: \"object\": value must be an absolute path and start "
        "with '/' when type one of ['Exact', 'PathPrefix']",
        "spec.rules[0].matches[1].path: Invalid value: \"object\": must not contain '//' when type one of "
        "['Exact', 'PathPrefix']",
        "spec.rules[0].matches[2].method: Unsupported value: \"FETCH\"",
        "spec.rules[0].backendRefs[0]: Invalid value: \"object\": Must have port for Service reference",
        "spec.rules[1].matches[0].path.type: Unsupported value: \"Prefix\": supported values: \"Exact\", "
        "\"PathPrefix\", \"RegularExpression\"",
        "spec.rules[1].matches[0].headers[0].name: Invalid value: \"a:b\"",
        "spec.rules[1].backendRefs[0].weight: Invalid value: 1000001: spec.rules[1].backendRefs[0].weight in "
        "body should be less than or equal to 1000000",
    ]
    assert len(found) == len(expected), found
    for line, want in zip(found, expected):
        assert want in line and line.startswith("x.yaml: HTTPRoute/web: ")


def test_gateway_listener_cel_rules():
    found = problems("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          gatewayClassName: eg
          listeners:
          - {name: a, port: 80, protocol: HTTP, tls: {mode: Terminate}}
          - {name: a, port: 80, protocol: HTTP}
          - {name: t, port: 9000, protocol: TCP, hostname: x.example}
          - {name: s, port: 0, protocol: HTTP, allowedRoutes: {namespaces: {from: Everywhere}}}
    """)
    text = "\n".join(found)
    for want in ("spec.listeners[0].tls: Invalid value: \"object\": certificateRefs or options must be specified when mode is Terminate",
                 "spec.listeners[3].port: Invalid value: 0: spec.listeners[3].port in body should be greater than or equal to 1",
                 "spec.listeners[3].allowedRoutes.namespaces.from: Unsupported value: \"Everywhere\": supported values: \"All\", \"Selector\", \"Same\"",
                 "spec.listeners: Invalid value: \"array\": tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
                 "spec.listeners: Invalid value: \"array\": hostname must not be specified for protocols ['TCP', 'UDP']",
                 "spec.listeners: Invalid value: \"array\": Listener name must be unique within the Gateway",
                 "spec.listeners: Invalid value: \"array\": Combination of port, protocol and hostname must be unique for each listener"):
        assert want in text
    assert len(found) == 7


def test_gateway_needs_listeners_and_class():
    found = problems("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec: {listeners: []}
    """)
    assert found == ["x.yaml: Gateway/gw: spec.gatewayClassName: Required value",
                     "x.yaml: Gateway/gw: spec.listeners: Invalid value: 0: spec.listeners in body should have at least 1 items"]


def test_reference_grant_versions_and_required_fields():
    base = "kind: ReferenceGrant\nmetadata: {name: g}\nspec: {from: [{kind: HTTPRoute, namespace: a}], to: []}\n"
    assert problems("apiVersion: gateway.networking.k8s.io/v1beta1\n" + base) == [
        "x.yaml: ReferenceGrant/g: spec.from[0].group: Required value",
        "x.yaml: ReferenceGrant/g: spec.to: Invalid value: 0: spec.to in body should have at least 1 items"]
    assert len(problems("apiVersion: gateway.networking.k8s.io/v1\n" + base)) == 2     # v1 is served too
    assert problems("apiVersion: gateway.networking.k8s.io/v1alpha2\n" + base) == [
        'x.yaml: ReferenceGrant/g: apiVersion: Unsupported value: "gateway.networking.k8s.io/v1alpha2": '
        'supported values: "gateway.networking.k8s.io/v1beta1", "gateway.networking.k8s.io/v1"']


def test_ingress_validation_messages():
    # kubernetes pkg/apis/networking/validation/validation.go
    found = problems("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: ing}
        spec:
          rules:
          - host: "*.*.example"
            http:
              paths:
              - {path: foo, pathType: Prefix, backend: {service: {name: web}}}
              - {path: /x, backend: {service: {name: web, port: {number: 80}}}}
    """)
    assert found == [
        'x.yaml: Ingress/ing: spec.rules[0].host: Invalid value: "*.*.example": a wildcard DNS-1123 subdomain must '
        "start with '*.', followed by a valid DNS subdomain",
        'x.yaml: Ingress/ing: spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path',
        'x.yaml: Ingress/ing: spec.rules[0].http.paths[0].backend.service.port: Invalid value: "": port name or number is required',
        "x.yaml: Ingress/ing: spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified"]
    assert problems("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {}\n") == [
        'x.yaml: Ingress/i: spec: Invalid value: "": either `defaultBackend` or `rules` must be specified']


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(
                        ["spec", "listeners", "rules", "matches", "path", "name", "port", "backendRefs", "from",
                         "to", "hostnames", "parentRefs", "http", "paths", "type", "value"]), c, max_size=4),
                    max_leaves=12))
def test_any_shape_gets_messages_not_tracebacks(spec):
    for kind, api in (("Gateway", "gateway.networking.k8s.io/v1"), ("HTTPRoute", "gateway.networking.k8s.io/v1"),
                      ("ReferenceGrant", "gateway.networking.k8s.io/v1beta1"), ("Ingress", "networking.k8s.io/v1"),
                      ("GatewayClass", "gateway.networking.k8s.io/v1")):
        text = json.dumps({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}, "spec": spec})
        for p in validate_texts([("x.json", text)]):
            assert "could not check" not in p.message, p      # INTERNAL: a checker bug


# -- Hostnames (gateway_types.go Listener.Hostname; httproute_types.go Hostnames) ----------------------

def test_wildcard_hostnames_are_suffix_matches_never_the_bare_domain():
    assert gateway.host_matches("*.example.com", "foo.example.com")
    assert gateway.host_matches("*.example.com", "foo.bar.example.com")
    assert not gateway.host_matches("*.example.com", "example.com")
    assert not gateway.host_matches("*.example.com", "fooexample.com")
    assert gateway.host_matches(None, "anything.at.all")


def test_listener_order_exact_then_most_specific_wildcard_then_none():
    from k8slab.model import Listener
    ls = [Listener("any", 80, "HTTP"), Listener("w", 80, "HTTP", "*.example.com"),
          Listener("ww", 80, "HTTP", "*.foo.example.com"), Listener("x", 80, "HTTP", "foo.example.com")]
    assert [li.name for li in gateway.listener_order(ls)] == ["x", "ww", "w", "any"]


def test_hostname_intersection_examples_from_the_spec():
    # httproute_types.go, HTTPRouteSpec.Hostnames
    assert gateway.intersect_hostnames("test.example.com", ("test.example.com",)) == ("test.example.com",)
    assert gateway.intersect_hostnames("test.example.com", ("*.example.com",)) == ("test.example.com",)
    assert gateway.intersect_hostnames("*.example.com", ("*.example.com", "test.example.com", "foo.test.example.com")) \
        == ("*.example.com", "test.example.com", "foo.test.example.com")
    assert gateway.intersect_hostnames("*.example.com", ("example.com", "test.example.net")) == ()
    assert gateway.intersect_hostnames("*.example.com", ("test.example.com", "test.example.net")) == ("test.example.com",)
    assert gateway.intersect_hostnames(None, ()) is None


_LABEL = st.text("abcxyz", min_size=1, max_size=3)
_HOST = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)
_PATTERN = _HOST | _HOST.map(lambda h: "*." + h)


@settings(max_examples=300, deadline=None)
@given(_PATTERN, _PATTERN, _HOST)
def test_a_host_served_by_the_intersection_is_served_by_both(listener, route_host, host):
    both = gateway.intersect_hostnames(listener, (route_host,))
    if any(gateway.host_matches(h, host) for h in both):
        assert gateway.host_matches(listener, host) and gateway.host_matches(route_host, host)
    if gateway.host_matches(listener, host) and gateway.host_matches(route_host, host):
        assert any(gateway.host_matches(h, host) for h in both)


# -- Paths, headers, query parameters ----------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "ab", "b", "A"]), max_size=3), st.lists(st.sampled_from(["a", "ab", "b", "A"]), max_size=4),
       st.booleans())
def test_path_prefix_matches_whole_segments(prefix_parts, path_parts, slash):
    prefix = "/" + "/".join(prefix_parts) + ("/" if slash and prefix_parts else "")
    path = "/" + "/".join(path_parts)
    matched = gateway.path_matches(HTTPRouteMatch("PathPrefix", prefix), path)
    assert matched == (path_parts[:len(prefix_parts)] == prefix_parts)


def test_header_names_case_insensitive_query_names_not():
    c = load(route("""
        rules:
        - matches: [{headers: [{name: X-Canary, value: "yes"}]}]
          backendRefs: [{name: web-v2, port: 80}]
        - matches: [{queryParams: [{name: canary, value: "yes"}]}]
          backendRefs: [{name: web-v2, port: 80}]
        - backendRefs: [{name: web-v1, port: 80}]
    """))
    assert ask(c, headers=["x-canary:yes"]).rule == 0
    assert ask(c, headers=["X-CANARY:yes"]).rule == 0
    assert ask(c, headers=["x-canary:YES"]).rule == 2          # values are case-sensitive
    assert ask(c, "http://shop.example/?canary=yes").rule == 1
    assert ask(c, "http://shop.example/?Canary=yes").rule == 2


def test_precedence_hostname_before_path_then_route_name():
    c = load(route("""
        hostnames: ["*.example"]
        rules: [{matches: [{path: {type: Exact, value: /a}}], backendRefs: [{name: web-v1, port: 80}]}]
    """, "wild"), route("""
        hostnames: [shop.example]
        rules: [{backendRefs: [{name: web-v2, port: 80}]}]
    """, "exact"), route("""
        rules: [{matches: [{path: {type: PathPrefix, value: /a}}], backendRefs: [{name: web-v1, port: 80}]}]
    """, "a-any"), route("""
        rules: [{matches: [{path: {type: PathPrefix, value: /a}}], backendRefs: [{name: web-v2, port: 80}]}]
    """, "b-any"))
    a = ask(c, "http://shop.example/a")
    assert a.route == "shop/exact" and "a more specific exact hostname" in a.reason
    b = ask(c, "http://other.example/a")
    assert b.route == "shop/wild"             # a wildcard hostname beats none, before path types count
    d = ask(c, "http://10.0.0.1/a")
    assert d.route == "shop/a-any" and "namespace/name sorts first" in d.reason


def test_oldest_route_wins_a_tie():
    older = route("rules: [{backendRefs: [{name: web-v2, port: 80}]}]", "zz")
    older = older.replace("namespace: shop}", "namespace: shop, creationTimestamp: '2024-01-01T00:00:00Z'}")
    newer = route("rules: [{backendRefs: [{name: web-v1, port: 80}]}]", "aa")
    newer = newer.replace("namespace: shop}", "namespace: shop, creationTimestamp: '2025-01-01T00:00:00Z'}")
    assert ask(load(older, newer)).route == "shop/zz"


# -- Statuses, weights and pods ------------------------------------------------------------------------

def test_null_when_nothing_listens_404_when_no_route():
    c = load(route("rules: [{matches: [{path: {type: Exact, value: /only}}], backendRefs: [{name: web-v1, port: 80}]}]"))
    assert ask(c, "http://shop.example:8080/").status is None
    assert ask(c, "https://shop.example/").status is None
    nothing = ask(c, "http://shop.example/other")
    assert nothing.status == 404 and nothing.listener == "http" and nothing.route is None


def test_invalid_backend_share_gets_500_not_spread():
    c = load(route("""
        rules:
        - backendRefs: [{name: web-v1, port: 80, weight: 3}, {name: missing, port: 80, weight: 1}]
    """))
    a = ask(c)
    assert a.status == 200 and a.error_share == pytest.approx(0.25)
    by = {b.label: b for b in a.backends}
    assert by["shop/missing"].status == 500 and "does not exist" in by["shop/missing"].problem
    assert sum(e["probability"] for e in by["shop/web-v1"].endpoints) == pytest.approx(0.75)
    assert "25% of requests get 500" in a.reason


def test_no_ready_endpoint_is_503_and_affinity_does_not_apply():
    c = load(route("rules: [{backendRefs: [{name: empty, port: 80}]}]", "e"),
             route("rules: [{matches: [{path: {value: /v1}}], backendRefs: [{name: web-v1, port: 80}]}]", "v1"))
    assert ask(c).status == 503
    a = ask(c, "http://shop.example/v1")
    assert a.status == 200 and len(a.backends[0].endpoints) == 2
    assert all(e["probability"] == pytest.approx(0.5) for e in a.backends[0].endpoints)
    assert "session affinity" in a.reason       # ClientIP affinity of web-v1 is kube-proxy's, not Envoy's


def test_cross_namespace_backend_needs_a_reference_grant():
    r = route("rules: [{backendRefs: [{name: web-v1, namespace: shop, port: 80}]}]", "web", "front")
    grant = """
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: ReferenceGrant
        metadata: {name: front-to-shop, namespace: shop}
        spec:
          from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: front}]
          to: [{group: "", kind: Service, name: web-v1}]
    """
    denied = ask(load(r))
    assert denied.status == 500 and "RefNotPermitted" in denied.reason
    assert ask(load(r, grant)).status == 200
    assert ask(load(r, grant.replace("name: web-v1}", "name: web-v2}"))).status == 500


def test_allowed_routes_selector_reads_namespace_labels():
    gw = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: sel, namespace: infra}
        spec:
          gatewayClassName: eg
          listeners:
          - name: http
            port: 80
            protocol: HTTP
            allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {expose: "yes"}}}}
    """
    r = route("rules: [{backendRefs: [{name: web-v1, port: 80}]}]").replace("name: gw,", "name: sel,")
    ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {expose: 'yes'}}\n"
    assert ask(load(gw, r), gw="infra/sel").status == 404
    assert ask(load(gw, r, ns), gw="infra/sel").status == 200


def test_missing_gateway_class_means_nothing_listens():
    c = load(route("rules: [{backendRefs: [{name: web-v1, port: 80}]}]") + "\n---\n" + APP.split("---")[1].replace("name: gw", "name: gw2").replace(
                 "gatewayClassName: eg", "gatewayClassName: nope"))
    a = ask(c, gw="infra/gw2")
    assert a.status is None and "No GatewayClass named nope" in a.reason


def test_unknown_gateway_is_an_error():
    with pytest.raises(K8slabError, match="no Gateway infra/nope"):
        ask(load(), gw="infra/nope")


@pytest.mark.parametrize("url,headers,method,words", [
    ("example.com/", (), "GET", "give a whole URL"), ("ftp://x/", (), "GET", "http or https"),
    ("http://x:0/", (), "GET", "1 to 65535"), ("http://x/", ("novalue",), "GET", "NAME:VALUE"),
    ("http://x/", ("a b:c",), "GET", "not a valid HTTP header name"), ("http://x/", (), "G T", "not an HTTP method")])
def test_bad_requests_say_what_is_wrong(url, headers, method, words):
    with pytest.raises(gateway.RequestError, match=words):
        gateway.parse_request(url, headers, method)


# -- Ingress: the frozen predecessor (kubernetes.io/docs/concepts/services-networking/ingress/) ----------

def _ingress(paths: str, default: str = "") -> str:
    return textwrap.dedent(f"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {{name: ing, namespace: shop}}
        spec:
          ingressClassName: nginx
    """) + (f"  defaultBackend: {{service: {{name: {default}, port: {{number: 80}}}}}}\n" if default else "") + \
        "  rules:\n  - http:\n      paths:\n" + paths


def _paths(*entries) -> str:
    return "".join(f"      - {{path: {p}, pathType: {t}, backend: {{service: {{name: {s}, port: {{number: 80}}}}}}}}\n"
                   for p, t, s in entries)


# The "Examples" table of the Ingress concept page (path types, trailing slashes, element-wise prefixes).
@pytest.mark.parametrize("paths,request_path,backend", [
    ([("/", "Prefix")], "/anything", 0),
    ([("/foo", "Exact")], "/foo", 0), ([("/foo", "Exact")], "/bar", None),
    ([("/foo", "Exact")], "/foo/", None), ([("/foo/", "Exact")], "/foo", None),
    ([("/foo", "Prefix")], "/foo/", 0), ([("/foo/", "Prefix")], "/foo", 0),
    ([("/aaa/bb", "Prefix")], "/aaa/bbb", None), ([("/aaa/bbb", "Prefix")], "/aaa/bbb", 0),
    ([("/aaa/bbb/", "Prefix")], "/aaa/bbb", 0), ([("/aaa/bbb", "Prefix")], "/aaa/bbb/", 0),
    ([("/aaa/bbb", "Prefix")], "/aaa/bbb/ccc", 0), ([("/aaa/bbb", "Prefix")], "/aaa/bbbxyz", None),
    ([("/", "Prefix"), ("/aaa", "Prefix")], "/aaa/ccc", 1),
    ([("/", "Prefix"), ("/aaa", "Prefix"), ("/aaa/bbb", "Prefix")], "/aaa/bbb", 2),
    ([("/", "Prefix"), ("/aaa", "Prefix"), ("/aaa/bbb", "Prefix")], "/ccc", 0),
    ([("/aaa", "Prefix")], "/ccc", None),
    ([("/foo", "Prefix"), ("/foo", "Exact")], "/foo", 1),
])
def test_ingress_path_examples(paths, request_path, backend):
    names = ["web-v1", "web-v2", "empty"]
    c = load(_ingress(_paths(*[(p, t, names[i]) for i, (p, t) in enumerate(paths)])))
    a = gateway.ingress_request(c, f"http://shop.example{request_path}")
    if backend is None:
        assert a.status == 404 and a.route is None
    else:
        assert a.backends[0].label == f"shop/{names[backend]}"


def test_ingress_wildcard_host_is_one_label_and_default_backend():
    text = _ingress(_paths(("/", "Prefix", "web-v2")), default="web-v1").replace("  - http:", "  - host: '*.foo.com'\n    http:")
    c = load(text)
    assert gateway.ingress_request(c, "http://bar.foo.com/").backends[0].label == "shop/web-v2"
    for host in ("baz.bar.foo.com", "foo.com"):
        a = gateway.ingress_request(c, f"http://{host}/")
        assert a.route == "shop/ing" and a.rule is None and a.backends[0].label == "shop/web-v1"


def test_ingress_class_filters():
    c = load(_ingress(_paths(("/", "Prefix", "web-v1"))))
    assert gateway.ingress_request(c, "http://x/", ingress_class="nginx").status == 200
    with pytest.raises(K8slabError, match="no Ingress of class traefik"):
        gateway.ingress_request(c, "http://x/", ingress_class="traefik")


# -- The command and the picture -------------------------------------------------------------------------

def test_cli_request_json_and_text(tmp_path, capsys):
    f = tmp_path / "app.yaml"
    f.write_text(APP + "\n---\n" + route("""
        rules:
        - backendRefs: [{name: web-v1, port: 80, weight: 90}, {name: web-v2, port: 80, weight: 10}]
    """))
    assert run(["request", str(f), "--gateway", "infra/gw", "--url", "http://shop.example/", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d) == ["gateway", "listener", "status", "route", "rule", "match", "backends", "reason"]
    assert d["status"] == 200 and d["match"] == {"path": {"type": "PathPrefix", "value": "/"}}
    assert [(b["service"], b["weight"], b["probability"]) for b in d["backends"]] == [
        ("shop/web-v1", 90, 0.9), ("shop/web-v2", 10, 0.1)]
    assert [e["probability"] for e in d["backends"][0]["endpoints"]] == [0.45, 0.45]
    out = tmp_path / "r.svg"
    assert run(["request", str(f), "--gateway", "infra/gw", "--url", "http://shop.example/", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("GET http://shop.example/ -> Gateway infra/gw\n  listener  http (HTTP 80, any host)")
    assert out.read_text().startswith("<?xml") or "<svg" in out.read_text()[:400]
    assert run(["request", str(f), "--gateway", "infra/gw", "--url", "nope", "--json"]) == 2


def test_picture_draws_the_stop_where_it_happens():
    import k8slab
    c = load(route("rules: [{matches: [{path: {type: Exact, value: /x}}], backendRefs: [{name: web-v1, port: 80}]}]"))
    assert "no route matches" in k8slab.draw(ask(c, "http://shop.example/y")).source
    assert "nothing listens on 81" in k8slab.draw(ask(c, "http://shop.example:81/")).source
    ok = k8slab.draw(ask(c, "http://shop.example/x"))
    assert "listener http" in ok.source and ok.source.count("pod") >= 2
    assert repr(ok) == "<Diagram: GET http://shop.example/x via infra/gw, HTTP 200>"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.lists(st.text(max_size=12), max_size=3), st.text(max_size=8))
def test_parse_request_answers_or_says_why(url, headers, method):
    for u in (url, "http://" + url, "https://shop.example/" + url):
        try:
            req = gateway.parse_request(u, headers, method)
        except gateway.RequestError:
            continue
        assert 1 <= req.port <= 65535 and req.host == req.host.lower()
        assert req.method.isupper() and req.path


def test_all_zero_weights_is_500():
    c = load(route("rules: [{backendRefs: [{name: web-v1, port: 80, weight: 0}]}]"))
    a = ask(c)
    assert a.status == 500 and "weight 0" in a.reason


def test_ingress_json_and_picture():
    import k8slab
    c = load(_ingress(_paths(("/api", "Prefix", "web-v2")), default="web-v1"))
    a = gateway.ingress_request(c, "http://shop.example/api/x", ingress_class="nginx")
    d = a.to_dict()
    assert list(d) == ["ingress_class", "status", "ingress", "rule", "path", "backends", "reason"]
    assert d["ingress"] == "shop/ing" and d["path"] == {"type": "Prefix", "value": "/api"}
    assert "Ingress" in k8slab.draw(a).source
    fallback = gateway.ingress_request(c, "http://shop.example/other").to_dict()
    assert fallback["rule"] is None and fallback["backends"][0]["service"] == "shop/web-v1"


def test_parent_refs_cel_rules_and_gateway_class_pattern():
    # shared_types.go CommonRouteSpec.ParentRefs (standard channel) and GatewayController's pattern
    two = route("rules: [{backendRefs: [{name: web-v1, port: 80}]}]").replace(
        "parentRefs: [{name: gw, namespace: infra}]",
        "parentRefs: [{name: gw, namespace: infra}, {name: gw, namespace: infra, sectionName: http}]")
    assert problems(two) == ['x.yaml: HTTPRoute/web: spec.parentRefs: Invalid value: "array": sectionName must be '
                             'specified when parentRefs includes 2 or more references to the same parent']
    same = two.replace("{name: gw, namespace: infra}, ", "{name: gw, namespace: infra, sectionName: http}, ")
    assert problems(same) == ['x.yaml: HTTPRoute/web: spec.parentRefs: Invalid value: "array": sectionName must be '
                              'unique when parentRefs includes 2 or more references to the same parent']
    found = problems("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\n"
                     "spec: {controllerName: envoy}\n")
    assert len(found) == 1 and found[0].startswith(
        'x.yaml: GatewayClass/c: spec.controllerName: Invalid value: "envoy": spec.controllerName in body should match')


def test_k8slab_draw_takes_a_request(tmp_path, capsys):
    f = tmp_path / "app.yaml"
    f.write_text(APP + "\n---\n" + route("rules: [{backendRefs: [{name: web-v1, port: 80}]}]"))
    out = tmp_path / "req.dot"
    assert run(["draw", str(f), "--gateway", "infra/gw", "--url", "http://shop.example/", "-o", str(out)]) == 0
    assert "listener http" in out.read_text()
    with pytest.raises(SystemExit) as e:
        run(["draw", str(f), "-o", str(out)])
    assert e.value.code == 2 and "--gateway and --url" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["draw", str(f), "--gateway", "infra/gw", "-o", str(out)])


def test_an_httproute_needs_a_spec_an_empty_one_is_valid():
    head = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
    assert problems(head) == ["x.yaml: HTTPRoute/r: spec: Required value"]
    assert problems(head + "spec: {}\n") == []


def test_an_empty_gateway_spec_names_its_required_fields():
    found = problems("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {}\n")
    assert found == ["x.yaml: Gateway/g: spec.gatewayClassName: Required value",
                     "x.yaml: Gateway/g: spec.listeners: Required value"]
