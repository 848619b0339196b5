"""The Gateway API conformance suite's HTTPRoute tests, reproduced on k8slab.gateway.request.

Every test of kubernetes-sigs/gateway-api conformance/tests/ whose assertion is which backend
answers or which status the client gets, with its manifests unchanged (tests/fixtures/
gateway-conformance/, from commit 4564255a). Each case is the test's own request and
expectation; the test's ShortName and file are named beside it. The suite's Backend is the
Deployment whose pod echoes the request: here, the Service the winning rule sends to (all of
the traffic) and the pods behind it.

Tests that also assert headers, rewritten paths or mirrored copies are reproduced for the backend
that answers (FILTER_TESTS). Not reproduced: timeouts and retries (504s and retried 5xx from an
echo server that sleeps or fails on purpose), CORS preflights, WebSocket upgrades, status-only
tests (observed-generation-bump),
HTTPRouteHTTPSListenerDetectMisdirectedRequests (421 from SNI/Host disagreement: k8slab models
no TLS), and GRPCRoute/TLSRoute/ListenerSet tests.
"""

from __future__ import annotations

import functools
import pathlib
import urllib.parse

import pytest

from k8slab import gateway
from k8slab.manifests import load_texts

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "gateway-conformance"
INFRA = "gateway-conformance-infra"
WEB = "gateway-conformance-web-backend"
APP = "gateway-conformance-app-backend"
#: The conformance suite's {GATEWAY_CLASS_NAME} placeholder, and the class it names.
CLASS = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: k8slab}
spec: {controllerName: k8slab.example/gateway}
"""
GW_ADDRESS = "192.0.2.200"
BASE = (FIXTURES / "base-manifests.yaml").read_text().replace("{GATEWAY_CLASS_NAME}", "k8slab")      # the suite's gwAddr: the Host header when a case sets none


@functools.lru_cache(maxsize=None)
def cluster(*names: str, extra: str = ""):
    texts = [("base-manifests.yaml", BASE), ("class.yaml", CLASS)]
    for n in names:
        texts.append((n, (FIXTURES / n).read_text().replace("{GATEWAY_CLASS_NAME}", "k8slab")))
    if extra:
        texts.append(("extra.yaml", extra))
    return load_texts(texts)


def ask(c, gw: str, path: str = "/", host: str | None = None, method: str = "GET", headers=None,
        port: int | None = None, scheme: str = "http"):
    if port is None and host and ":" in host:
        port = int(host.rsplit(":", 1)[1])      # listener-port-matching dials the Host's port
    port = port or (443 if scheme == "https" else 80)
    hdrs = [("Host", host or GW_ADDRESS)] + list((headers or {}).items())
    return gateway.request(c, gw if "/" in gw else f"{INFRA}/{gw}", f"{scheme}://{GW_ADDRESS}:{port}{path}",
                           hdrs, method)


def check(answer, case: dict) -> None:
    """The suite's expectation: a status (200 unless given), and the Backend (Namespace) that answers."""
    want = case.get("status", 200)
    assert answer.status == want, answer.reason
    if "backend" in case:
        ns = case.get("ns", INFRA)
        answering = [b for b in answer.backends if b.status == 200 and b.probability > 0]
        assert [b.label for b in answering] == [f"{ns}/{case['backend']}"], answer.reason
        assert answering[0].probability == 1.0
        pods = [e["pod"] for e in answering[0].endpoints]
        assert pods and all(p.startswith(case["backend"]) for p in pods)
    if "redirect" in case:
        loc = urllib.parse.urlsplit(answer.location)
        r = case["redirect"]
        if "scheme" in r:
            assert loc.scheme == r["scheme"], answer.location
        if "host" in r:
            assert loc.hostname == r["host"], answer.location
        if "path" in r:
            assert loc.path == r["path"], answer.location
        if "port" in r:
            assert loc.port == int(r["port"]), answer.location
        else:       # no port expected: the scheme's well-known one, left out of Location
            assert loc.port is None, answer.location


def run(yaml, gw, cases, **kw):
    c = cluster(*([yaml] if isinstance(yaml, str) else yaml))
    for case in cases:
        req = {k: case[k] for k in ("path", "host", "method", "headers") if k in case}
        check(ask(c, case.get("gateway", gw), **req, **kw, port=case.get("port")), case)


# -- Matching ------------------------------------------------------------------------------

def test_simple_same_namespace():
    # HTTPRouteSimpleSameNamespace, conformance/tests/httproute-simple-same-namespace.go
    run("httproute-simple-same-namespace.yaml", "same-namespace", [{"path": "/", "backend": "infra-backend-v1"}])


def test_exact_path_matching():
    # HTTPRouteExactPathMatching, conformance/tests/httproute-exact-path-matching.go
    run("httproute-exact-path-matching.yaml", "same-namespace", [
        {"path": "/one", "backend": "infra-backend-v1"}, {"path": "/two", "backend": "infra-backend-v2"},
        {"path": "/", "status": 404}, {"path": "/one/example", "status": 404},
        {"path": "/two/", "status": 404}, {"path": "/Two", "status": 404}])


def test_header_matching():
    # HTTPRouteHeaderMatching, conformance/tests/httproute-header-matching.go
    run("httproute-header-matching.yaml", "same-namespace", [
        {"headers": {"Version": "one"}, "backend": "infra-backend-v1"},
        {"headers": {"Version": "two"}, "backend": "infra-backend-v2"},
        {"headers": {"Version": "two", "Color": "orange"}, "backend": "infra-backend-v1"},
        {"headers": {"Version": "two", "Color": "blue"}, "backend": "infra-backend-v2"},
        {"headers": {"Color": "orange"}, "status": 404},
        {"headers": {"Some-Other-Header": "one"}, "status": 404},
        {"headers": {"Color": "blue"}, "backend": "infra-backend-v1"},
        {"headers": {"Color": "green"}, "backend": "infra-backend-v1"},
        {"headers": {"Color": "red"}, "backend": "infra-backend-v2"},
        {"headers": {"Color": "yellow"}, "backend": "infra-backend-v2"},
        {"headers": {"Color": "purple"}, "status": 404}])


def test_matching():
    # HTTPRouteMatching, conformance/tests/httproute-matching.go (/v2example is not under /v2)
    run("httproute-matching.yaml", "same-namespace", [
        {"path": "/", "backend": "infra-backend-v1"}, {"path": "/example", "backend": "infra-backend-v1"},
        {"path": "/", "headers": {"Version": "one"}, "backend": "infra-backend-v1"},
        {"path": "/v2", "backend": "infra-backend-v2"}, {"path": "/v2/example", "backend": "infra-backend-v2"},
        {"path": "/", "headers": {"Version": "two"}, "backend": "infra-backend-v2"},
        {"path": "/v2/", "backend": "infra-backend-v2"}, {"path": "/v2example", "backend": "infra-backend-v1"},
        {"path": "/foo/v2/example", "backend": "infra-backend-v1"}])


def test_matching_across_routes():
    # HTTPRouteMatchingAcrossRoutes, conformance/tests/httproute-matching-across-routes.go
    run("httproute-matching-across-routes.yaml", "same-namespace", [
        {"host": "example.com", "path": "/", "backend": "infra-backend-v1"},
        {"host": "example.com", "path": "/example", "backend": "infra-backend-v1"},
        {"host": "example.net", "path": "/example", "backend": "infra-backend-v1"},
        {"host": "example.com", "path": "/example", "headers": {"Version": "one"}, "backend": "infra-backend-v1"},
        {"host": "example.com", "path": "/v2", "backend": "infra-backend-v2"},
        {"host": "example.net", "path": "/v2", "backend": "infra-backend-v1"},
        {"host": "example.com", "path": "/v2/example", "backend": "infra-backend-v2"},
        {"host": "example.com", "path": "/", "headers": {"Version": "two"}, "backend": "infra-backend-v2"}])


def test_method_matching():
    # HTTPRouteMethodMatching, conformance/tests/httproute-method-matching.go
    run("httproute-method-matching.yaml", "same-namespace", [
        {"method": "POST", "backend": "infra-backend-v1"}, {"method": "GET", "backend": "infra-backend-v2"},
        {"method": "HEAD", "status": 404},
        {"path": "/path1", "method": "GET", "backend": "infra-backend-v1"},
        {"method": "PUT", "headers": {"version": "one"}, "backend": "infra-backend-v2"},
        {"path": "/path2", "method": "POST", "headers": {"version": "two"}, "backend": "infra-backend-v3"},
        {"path": "/path3", "method": "PATCH", "backend": "infra-backend-v1"},
        {"path": "/path4", "method": "DELETE", "headers": {"version": "three"}, "backend": "infra-backend-v1"},
        {"method": "PUT", "status": 404}, {"path": "/path4", "method": "DELETE", "status": 404},
        {"path": "/path5", "method": "PATCH", "backend": "infra-backend-v1"},
        {"method": "PATCH", "headers": {"version": "four"}, "backend": "infra-backend-v2"}])


def test_path_match_order():
    # HTTPRoutePathMatchOrder, conformance/tests/httproute-path-match-order.go
    run("httproute-path-match-order.yaml", "same-namespace", [
        {"path": "/match/exact/one", "backend": "infra-backend-v3"},
        {"path": "/match/exact", "backend": "infra-backend-v2"},
        {"path": "/match", "backend": "infra-backend-v1"},
        {"path": "/match/prefix/one/any", "backend": "infra-backend-v2"},
        {"path": "/match/prefix/any", "backend": "infra-backend-v1"},
        {"path": "/match/any", "backend": "infra-backend-v3"}])


def test_query_param_matching():
    # HTTPRouteQueryParamMatching, conformance/tests/httproute-query-param-matching.go
    # (?ANIMAL=Whale reaches v3: query-parameter names are case-sensitive, so it is another name)
    run("httproute-query-param-matching.yaml", "same-namespace", [
        {"path": "/?animal=whale", "backend": "infra-backend-v1"},
        {"path": "/?animal=dolphin", "backend": "infra-backend-v2"},
        {"path": "/?animal=dolphin&color=blue", "backend": "infra-backend-v3"},
        {"path": "/?ANIMAL=Whale", "backend": "infra-backend-v3"},
        {"path": "/?animal=whale&otherparam=irrelevant", "backend": "infra-backend-v1"},
        {"path": "/?animal=dolphin&color=yellow", "backend": "infra-backend-v2"},
        {"path": "/?color=blue", "status": 404}, {"path": "/?animal=dog", "status": 404},
        {"path": "/?animal=whaledolphin", "status": 404}, {"path": "/", "status": 404},
        {"path": "/path1?animal=whale", "backend": "infra-backend-v1"},
        {"path": "/?animal=whale", "headers": {"version": "one"}, "backend": "infra-backend-v2"},
        {"path": "/path2?animal=whale", "headers": {"version": "two"}, "backend": "infra-backend-v3"},
        {"path": "/path3?animal=shark", "backend": "infra-backend-v1"},
        {"path": "/path4?animal=kraken", "headers": {"version": "three"}, "backend": "infra-backend-v1"},
        {"path": "/?animal=shark", "status": 404}, {"path": "/path4?animal=kraken", "status": 404},
        {"path": "/path5?animal=hydra", "backend": "infra-backend-v1"},
        {"path": "/?animal=hydra", "headers": {"version": "four"}, "backend": "infra-backend-v3"}])


def test_named_rule():
    # HTTPRouteNamedRule, conformance/tests/httproute-named-rule.go
    run("httproute-named-rule.yaml", "same-namespace", [{"path": "/named"}, {"path": "/unnamed"}])


# -- Hostnames and listeners ------------------------------------------------------------------

def test_hostname_intersection():
    # HTTPRouteHostnameIntersection, conformance/tests/httproute-hostname-intersection.go
    gw, gw_all = "httproute-hostname-intersection", "httproute-hostname-intersection-all"
    run("httproute-hostname-intersection.yaml", gw, [
        {"host": "very.specific.com", "path": "/s1", "backend": "infra-backend-v1"},
        {"host": "very.specific.com:1234", "path": "/s1", "backend": "infra-backend-v1", "port": 80},
        {"host": "non.matching.com", "path": "/s1", "status": 404},
        {"host": "foo.nonmatchingwildcard.io", "path": "/s1", "status": 404},
        {"host": "foo.wildcard.io", "path": "/s1", "status": 404},
        {"host": "very.specific.com", "path": "/non-matching-prefix", "status": 404},
        {"host": "foo.wildcard.io", "path": "/s2", "backend": "infra-backend-v2"},
        {"host": "bar.wildcard.io", "path": "/s2", "backend": "infra-backend-v2"},
        {"host": "foo.bar.wildcard.io", "path": "/s2", "backend": "infra-backend-v2"},
        {"host": "non.matching.com", "path": "/s2", "status": 404},
        {"host": "wildcard.io", "path": "/s2", "status": 404},
        {"host": "very.specific.com", "path": "/s2", "status": 404},
        {"host": "foo.wildcard.io", "path": "/non-matching-prefix", "status": 404},
        {"host": "very.specific.com", "path": "/s3", "backend": "infra-backend-v3"},
        {"host": "non.matching.com", "path": "/s3", "status": 404},
        {"host": "foo.specific.com", "path": "/s3", "status": 404},
        {"host": "foo.wildcard.io", "path": "/s3", "status": 404},
        {"host": "foo.anotherwildcard.io", "path": "/s4", "backend": "infra-backend-v1"},
        {"host": "bar.anotherwildcard.io", "path": "/s4", "backend": "infra-backend-v1"},
        {"host": "foo.bar.anotherwildcard.io", "path": "/s4", "backend": "infra-backend-v1"},
        {"host": "anotherwildcard.io", "path": "/s4", "status": 404},
        {"host": "foo.wildcard.io", "path": "/s4", "status": 404},
        {"host": "very.specific.com", "path": "/s4", "status": 404},
        {"host": "foo.anotherwildcard.io", "path": "/non-matching-prefix", "status": 404},
        {"host": "specific.but.wrong.com", "path": "/s5", "status": 404},
        {"host": "wildcard.io", "path": "/s5", "status": 404},
        {"host": "first.com", "backend": "infra-backend-v2", "gateway": gw_all},
        {"host": "sub.first.com", "backend": "infra-backend-v2", "gateway": gw_all},
        {"host": "second.com", "backend": "infra-backend-v2", "gateway": gw_all},
        {"host": "sub.second.com", "backend": "infra-backend-v2", "gateway": gw_all},
        {"host": "third.com", "status": 404, "gateway": gw_all},
        {"host": "sub.third.com", "status": 404, "gateway": gw_all}])


def test_listener_hostname_matching():
    # HTTPRouteListenerHostnameMatching, conformance/tests/httproute-listener-hostname-matching.go
    run("httproute-listener-hostname-matching.yaml", "httproute-listener-hostname-matching", [
        {"host": "bar.com", "backend": "infra-backend-v1"},
        {"host": "foo.bar.com", "backend": "infra-backend-v2"},
        {"host": "baz.bar.com", "backend": "infra-backend-v3"},
        {"host": "boo.bar.com", "backend": "infra-backend-v3"},
        {"host": "multiple.prefixes.bar.com", "backend": "infra-backend-v3"},
        {"host": "multiple.prefixes.foo.com", "backend": "infra-backend-v3"},
        {"host": "foo.com", "status": 404}, {"host": "no.matching.host", "status": 404}])


def test_listener_port_matching():
    # HTTPRouteListenerPortMatching, conformance/tests/httproute-listener-port-matching.go
    run("httproute-listener-port-matching.yaml", "httproute-listener-port-matching", [
        {"host": "foo.com", "backend": "infra-backend-v1"},
        {"host": "foo.com:8080", "backend": "infra-backend-v2"},
        {"host": "bar.com:8080", "backend": "infra-backend-v2"},
        {"host": "foo.com:8090", "backend": "infra-backend-v3"},
        {"host": "bar.com:8090", "status": 404}])


def test_http_listener_isolation():
    # GatewayHTTPListenerIsolation, conformance/tests/gateway-http-listener-isolation.go: a request
    # is served by the most specific listener only, even where a less specific one's route matches.
    paths = ("/empty-hostname", "/wildcard-example-com", "/wildcard-foo-example-com", "/abc-foo-example-com")
    served = {"bar.com": 0, "bar.example.com": 1, "bar.foo.example.com": 2, "abc.foo.example.com": 3}
    for yaml, gw in (("gateway-http-listener-isolation.yaml", "http-listener-isolation"),
                     ("gateway-http-listener-isolation-with-hostname-intersection.yaml",
                      "http-listener-isolation-with-hostname-intersection")):
        run(yaml, gw, [{"host": host, "path": p, **({"backend": "infra-backend-v1"} if i == served[host] else {"status": 404})}
                       for host in served for i, p in enumerate(paths)])


def test_multiple_gateways():
    # HTTPRouteMultipleGateways, conformance/tests/httproute-multiple-gateways.go
    run("httproute-multiple-gateways.yaml", "same-namespace", [
        {"path": "/shared", "backend": "infra-backend-v1"}, {"path": "/", "backend": "infra-backend-v2"},
        {"path": "/shared", "backend": "infra-backend-v1", "gateway": "all-namespaces"},
        {"path": "/", "backend": "infra-backend-v3", "gateway": "all-namespaces"}])


# -- Attachment: the route is not attached, so the Gateway has nothing for the request ------------

@pytest.mark.parametrize("yaml,gw,route", [
    # HTTPRouteInvalidCrossNamespaceParentRef, conformance/tests/httproute-invalid-cross-namespace-parent-ref.go
    ("httproute-invalid-cross-namespace-parent-ref.yaml", "same-namespace", f"{WEB}/invalid-cross-namespace-parent-ref"),
    # HTTPRouteInvalidParentRefNotMatchingListenerPort, ...-not-matching-listener-port.go
    ("httproute-invalid-parentref-not-matching-listener-port.yaml", "same-namespace",
     f"{INFRA}/httproute-listener-not-matching-route-port"),
    # HTTPRouteInvalidParentRefNotMatchingSectionName, ...-not-matching-section-name.go
    ("httproute-invalid-parentref-not-matching-section-name.yaml", "same-namespace",
     f"{INFRA}/httproute-listener-not-matching-section-name"),
    # HTTPRouteInvalidParentRefSectionNameNotMatchingPort, ...-section-name-not-matching-port.go
    ("httproute-invalid-parentref-section-name-not-matching-port.yaml",
     "gateway-with-one-not-matching-port-and-section-name-route",
     f"{INFRA}/httproute-listener-section-name-not-matching-port"),
])
def test_route_does_not_attach(yaml, gw, route):
    # These tests assert "Gateway should have 0 Routes attached"; the request then finds no route.
    c = cluster(yaml)
    for li in c.gateway_objects.gateway(f"{INFRA}/{gw}").listeners:
        a = ask(c, gw, port=li.port, scheme="https" if li.protocol == "HTTPS" else "http")
        assert route not in a.considered
        assert a.status in (404, None)


def test_disallowed_kind():
    # HTTPRouteDisallowedKind, conformance/tests/httproute-disallowed-kind.go: a TLS listener that
    # allows TLSRoutes only; the HTTPRoute does not attach and no HTTP is served on 443.
    a = ask(cluster("httproute-disallowed-kind.yaml"), "tlsroutes-only", port=443, scheme="https")
    assert a.status is None and not a.considered


# -- Backends -------------------------------------------------------------------------------------

def test_cross_namespace():
    # HTTPRouteCrossNamespace, conformance/tests/httproute-cross-namespace.go (allowedRoutes Selector)
    run("httproute-cross-namespace.yaml", "backend-namespaces", [{"backend": "web-backend", "ns": WEB}])


def test_reference_grant():
    # HTTPRouteReferenceGrant, conformance/tests/httproute-reference-grant.go
    run("httproute-reference-grant.yaml", "same-namespace", [{"backend": "web-backend", "ns": WEB}])


def test_reference_grant_deleted_gives_500():
    # HTTPRouteReferenceGrant, second part: after the ReferenceGrant is deleted, 500.
    text = (FIXTURES / "httproute-reference-grant.yaml").read_text()
    docs = [d for d in text.split("\n---\n") if "kind: ReferenceGrant" not in d]
    c = load_texts([("base", BASE), ("class", CLASS),
                                     ("route", "\n---\n".join(docs))])
    check(ask(c, "same-namespace"), {"status": 500})


def test_invalid_reference_grant():
    # HTTPRouteInvalidReferenceGrant, conformance/tests/httproute-invalid-reference-grant.go
    run("httproute-invalid-reference-grant.yaml", "same-namespace", [{"status": 500}])


def test_partially_invalid_via_invalid_reference_grant():
    # HTTPRoutePartiallyInvalidViaInvalidReferenceGrant, ...-partially-invalid-via-invalid-reference-grant.go
    run("httproute-partially-invalid-via-invalid-reference-grant.yaml", "same-namespace", [
        {"path": "/v2", "status": 500}, {"path": "/", "backend": "app-backend-v1", "ns": APP}])


def test_invalid_cross_namespace_backend_ref():
    # HTTPRouteInvalidCrossNamespaceBackendRef, conformance/tests/httproute-invalid-cross-namespace-backend-ref.go
    run("httproute-invalid-cross-namespace-backend-ref.yaml", "same-namespace", [{"status": 500}])


def test_invalid_backend_ref_unknown_kind():
    # HTTPRouteInvalidBackendRefUnknownKind, conformance/tests/httproute-invalid-backendref-unknown-kind.go
    run("httproute-invalid-backendref-unknown-kind.yaml", "same-namespace", [{"path": "/v2", "status": 500}])


def test_invalid_nonexistent_backend_ref():
    # HTTPRouteInvalidNonExistentBackendRef, conformance/tests/httproute-invalid-nonexistent-backendref.go
    run("httproute-invalid-nonexistent-backendref.yaml", "same-namespace", [{"status": 500}])


def test_omitted_backend_refs():
    # HTTPRouteNoBackendRefs, conformance/tests/httproute-omitted-backendrefs.go
    run("httproute-omitted-backendrefs.yaml", "same-namespace", [
        {"path": "/forward", "backend": "infra-backend-v1"},
        {"path": "/omitted-no-forward", "status": 500}, {"path": "/empty-no-forward", "status": 500}])


def test_weight():
    # HTTPRouteWeight, conformance/tests/httproute-weight.go: 0.7 / 0.3 / 0.0, each share spread
    # over the backend's pods.
    a = ask(cluster("httproute-weight.yaml"), "same-namespace")
    assert a.status == 200
    got = {b.label.split("/")[1]: b.probability for b in a.backends}
    assert got == pytest.approx({"infra-backend-v1": 0.7, "infra-backend-v2": 0.3, "infra-backend-v3": 0.0})
    for b in a.backends:
        assert sum(e["probability"] for e in b.endpoints) == pytest.approx(b.probability)


def test_service_types():
    # HTTPRouteServiceTypes, conformance/tests/httproute-service-types.go: the test fills the
    # manual EndpointSlices with infra-backend-v1's pods; so does this one.
    base = cluster()
    pods = [p for p in base.pods if p.namespace == INFRA and p.name.startswith("infra-backend-v1")]
    text = (FIXTURES / "httproute-service-types.yaml").read_text().replace("{GATEWAY_CLASS_NAME}", "k8slab")
    eps = "endpoints:\n" + "".join(
        f"- addresses: [{p.ip}]\n  conditions: {{ready: true}}\n  targetRef: {{kind: Pod, name: {p.name}, namespace: {INFRA}}}\n"
        for p in pods)
    text = text.replace("addressType: IPv4\n", "addressType: IPv4\n" + eps)
    c = load_texts([("base", BASE), ("class", CLASS),
                                     ("service-types", text)])
    for path in ("/manual-endpointslices", "/headless-manual-endpointslices", "/headless"):
        a = ask(c, "same-namespace", path)
        assert a.status == 200, a.reason
        assert {e["pod"] for e in a.backends[0].endpoints} == {p.name for p in pods}


# -- Redirects --------------------------------------------------------------------------------------

def test_redirect_status_codes():
    # HTTPRoute303Redirect / HTTPRoute307Redirect / HTTPRoute308Redirect,
    # conformance/tests/httproute-30{3,7,8}-redirect.go
    run("httproute-303-redirect.yaml", "same-namespace",
        [{"path": "/see-other", "method": "POST", "status": 303, "redirect": {"path": "/see-other"}}])
    run("httproute-307-redirect.yaml", "same-namespace",
        [{"path": "/temporary", "status": 307, "redirect": {"path": "/temporary"}}])
    run("httproute-308-redirect.yaml", "same-namespace",
        [{"path": "/permanent", "status": 308, "redirect": {"path": "/permanent"}}])


def test_redirect_host_and_status():
    # HTTPRouteRedirectHostAndStatus, conformance/tests/httproute-redirect-host-and-status.go
    run("httproute-redirect-host-and-status.yaml", "same-namespace", [
        {"path": "/hostname-redirect", "status": 302, "redirect": {"host": "example.org"}},
        {"path": "/host-and-status", "status": 301, "redirect": {"host": "example.org"}}])


def test_redirect_path():
    # HTTPRouteRedirectPath, conformance/tests/httproute-redirect-path.go
    run("httproute-redirect-path.yaml", "same-namespace", [
        {"path": "/original-prefix/lemon", "status": 302, "redirect": {"path": "/replacement-prefix/lemon"}},
        {"path": "/full/path/original", "status": 302, "redirect": {"path": "/full-path-replacement"}},
        {"path": "/path-and-host", "status": 302, "redirect": {"host": "example.org", "path": "/replacement-prefix"}},
        {"path": "/path-and-status", "status": 301, "redirect": {"path": "/replacement-prefix"}},
        {"path": "/full-path-and-host", "status": 302, "redirect": {"host": "example.org", "path": "/replacement-full"}},
        {"path": "/full-path-and-status", "status": 301, "redirect": {"path": "/replacement-full"}}])


def test_redirect_port():
    # HTTPRouteRedirectPort, conformance/tests/httproute-redirect-port.go
    run("httproute-redirect-port.yaml", "same-namespace", [
        {"path": "/port", "status": 302, "redirect": {"port": "8083"}},
        {"path": "/port-and-host", "status": 302, "redirect": {"host": "example.org", "port": "8083"}},
        {"path": "/port-and-status", "status": 301, "redirect": {"port": "8083"}},
        {"path": "/port-and-host-and-status", "status": 302, "redirect": {"port": "8083", "host": "example.org"}}])


def test_redirect_scheme():
    # HTTPRouteRedirectScheme, conformance/tests/httproute-redirect-scheme.go
    run("httproute-redirect-scheme.yaml", "same-namespace", [
        {"path": "/scheme", "status": 302, "redirect": {"scheme": "https"}},
        {"path": "/scheme-and-host", "status": 302, "redirect": {"host": "example.org", "scheme": "https"}},
        {"path": "/scheme-and-status", "status": 301, "redirect": {"scheme": "https"}},
        {"path": "/scheme-and-host-and-status", "status": 302, "redirect": {"scheme": "https", "host": "example.org"}}])


def test_redirect_port_and_scheme():
    # HTTPRouteRedirectPortAndScheme, conformance/tests/httproute-redirect-port-and-scheme.go:
    # an unset port is the scheme's well-known one when the filter sets a scheme, else the listener's.
    yaml = "httproute-redirect-port-and-scheme.yaml"
    run(yaml, "same-namespace", [
        {"path": "/scheme-nil-and-port-nil", "status": 302, "redirect": {"scheme": "http", "host": "example.org"}},
        {"path": "/scheme-nil-and-port-80", "status": 302, "redirect": {"scheme": "http", "host": "example.org"}},
        {"path": "/scheme-nil-and-port-8080", "status": 302,
         "redirect": {"scheme": "http", "port": "8080", "host": "example.org"}},
        {"path": "/scheme-https-and-port-nil", "status": 302, "redirect": {"scheme": "https", "host": "example.org"}},
        {"path": "/scheme-https-and-port-443", "status": 302, "redirect": {"scheme": "https", "host": "example.org"}},
        {"path": "/scheme-https-and-port-8443", "status": 302,
         "redirect": {"scheme": "https", "port": "8443", "host": "example.org"}}])
    run(yaml, "same-namespace-with-http-listener-on-8080", [
        {"port": 8080, "path": "/scheme-nil-and-port-nil", "status": 302, "redirect": {"scheme": "http", "port": "8080", "host": "example.org"}},
        {"port": 8080, "path": "/scheme-nil-and-port-80", "status": 302, "redirect": {"scheme": "http", "host": "example.org"}},
        {"port": 8080, "path": "/scheme-https-and-port-nil", "status": 302, "redirect": {"scheme": "https", "host": "example.org"}}])


def test_redirect_port_and_scheme_https_listener():
    # HTTPRouteRedirectPortAndScheme, its cases on the HTTPS listener (gateway same-namespace-with-https-listener)
    run("httproute-redirect-port-and-scheme.yaml", "same-namespace-with-https-listener", [
        {"host": "example.org", "path": "/scheme-nil-and-port-nil", "status": 302,
         "redirect": {"scheme": "https", "host": "example.org"}},
        {"host": "example.org", "path": "/scheme-nil-and-port-443", "status": 302,
         "redirect": {"scheme": "https", "host": "example.org"}},
        {"host": "example.org", "path": "/scheme-nil-and-port-8443", "status": 302,
         "redirect": {"scheme": "https", "port": "8443", "host": "example.org"}},
        {"host": "example.org", "path": "/scheme-http-and-port-nil", "status": 302,
         "redirect": {"scheme": "http", "host": "example.org"}},
        {"host": "example.org", "path": "/scheme-http-and-port-80", "status": 302,
         "redirect": {"scheme": "http", "host": "example.org"}},
        {"host": "example.org", "path": "/scheme-http-and-port-8080", "status": 302,
         "redirect": {"scheme": "http", "port": "8080", "host": "example.org"}}], scheme="https")


def test_https_listener():
    # HTTPRouteHTTPSListener, conformance/tests/httproute-https-listener.go (k8slab matches the Host
    # header; the test's TLS handshake and SNI are not modelled)
    run("httproute-https-listener.yaml", "same-namespace-with-https-listener", [
        {"host": "example.org", "backend": "infra-backend-v1"},
        {"host": "unknown-example.org", "status": 404},
        {"host": "second-example.org", "backend": "infra-backend-v2"}], scheme="https")


def test_backend_request_redirect():
    # HTTPRouteBackendRequestRedirect, conformance/tests/httproute-backend-request-redirect.go:
    # a RequestRedirect filter on the backendRef answers for that backend's share
    run("httproute-backend-request-redirect.yaml", "same-namespace", [
        {"path": "/full/original", "status": 302, "redirect": {"path": "/redirected-full"}},
        {"path": "/prefix/original", "status": 302, "redirect": {"path": "/redirected-prefix/original"}}])


def test_backend_url_rewrite_keeps_the_backend():
    # HTTPRouteBackendURLRewrite, conformance/tests/httproute-backend-url-rewrite.go: the rewrite
    # changes the path the pod sees (not modelled), not which backend answers
    run("httproute-backend-url-rewrite.yaml", "same-namespace", [
        {"path": "/full/original", "backend": "infra-backend-v1"},
        {"path": "/prefix/original", "backend": "infra-backend-v1"}])


# -- Filters: they change the request or the response, not which backend answers ------------------------

# Each test below also asserts headers, paths or mirrored copies, which k8slab does not model; the
# backend that answers (the part asserted here) is the one the rule sends to.
FILTER_TESTS = [
    # HTTPRouteRewriteHost, conformance/tests/httproute-rewrite-host.go
    (('httproute-rewrite-host.yaml',), [
        {'host': 'rewrite.example', 'path': '/one', 'backend': 'infra-backend-v1'},
        {'host': 'rewrite.example', 'path': '/two', 'backend': 'infra-backend-v2'},
        {'host': 'rewrite.example', 'path': '/rewrite-host-and-modify-headers', 'headers': {'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1'}, 'backend': 'infra-backend-v2'},
    ]),
    # HTTPRouteRewritePath, conformance/tests/httproute-rewrite-path.go
    (('httproute-rewrite-path.yaml',), [
        {'path': '/prefix/one/two', 'backend': 'infra-backend-v1'},
        {'path': '/strip-prefix/three', 'backend': 'infra-backend-v1'},
        {'path': '/strip-prefix', 'backend': 'infra-backend-v1'},
        {'path': '/full/one/two', 'backend': 'infra-backend-v1'},
        {'path': '/full/rewrite-path-and-modify-headers/test', 'headers': {'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val'}, 'backend': 'infra-backend-v1'},
        {'path': '/prefix/rewrite-path-and-modify-headers/one', 'headers': {'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val'}, 'backend': 'infra-backend-v1'},
    ]),
    # HTTPRouteBackendRequestHeaderModifier, conformance/tests/httproute-request-header-modifier.go
    (('httproute-request-header-modifier-backend.yaml', 'httproute-request-header-modifier.yaml'), [
        {'path': '/set', 'headers': {'Some-Other-Header': 'val'}, 'backend': 'infra-backend-v1'},
        {'path': '/set', 'headers': {'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value'}, 'backend': 'infra-backend-v1'},
        {'path': '/add', 'headers': {'Some-Other-Header': 'val'}, 'backend': 'infra-backend-v1'},
        {'path': '/add', 'headers': {'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value'}, 'backend': 'infra-backend-v1'},
        {'path': '/remove', 'headers': {'X-Header-Remove': 'val'}, 'backend': 'infra-backend-v1'},
        {'path': '/multiple', 'headers': {'X-Header-Set-2': 'set-val-2', 'X-Header-Add-2': 'add-val-2', 'X-Header-Remove-2': 'remove-val-2', 'Another-Header': 'another-header-val'}, 'backend': 'infra-backend-v1'},
        {'path': '/case-insensitivity', 'headers': {'x-header-set': 'original-val-set', 'x-header-add': 'original-val-add', 'x-header-remove': 'original-val-remove', 'Another-Header': 'another-header-val'}, 'backend': 'infra-backend-v1'},
    ]),
    # HTTPRouteResponseHeaderModifier, conformance/tests/httproute-response-header-modifier.go
    (('httproute-response-header-modifier.yaml',), [
        {'path': '/set', 'backend': 'infra-backend-v1'},
        {'path': '/add', 'backend': 'infra-backend-v1'},
        {'path': '/remove', 'backend': 'infra-backend-v1'},
        {'path': '/multiple', 'backend': 'infra-backend-v1'},
        {'path': '/case-insensitivity', 'backend': 'infra-backend-v1'},
        {'path': '/response-and-request-header-modifiers', 'headers': {'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Echo': 'echo'}, 'backend': 'infra-backend-v1'},
    ]),
    # HTTPRouteRequestMirror, conformance/tests/httproute-request-mirror.go
    (('httproute-request-mirror.yaml',), [
        {'path': '/mirror', 'backend': 'infra-backend-v1'},
        {'path': '/mirror-and-modify-headers', 'headers': {'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1'}, 'backend': 'infra-backend-v1'},
    ]),
    # HTTPRouteRequestMultipleMirrors, conformance/tests/httproute-request-multiple-mirrors.go
    (('httproute-request-multiple-mirrors.yaml',), [
        {'path': '/multi-mirror', 'backend': 'infra-backend-v1'},
        {'path': '/multi-mirror-and-modify-request-headers', 'headers': {'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1'}, 'backend': 'infra-backend-v1'},
    ]),
    # HTTPRouteRequestPercentageMirror, conformance/tests/httproute-request-percentage-mirror.go
    (('httproute-request-percentage-mirror.yaml',), [
        {'path': '/percent-mirror', 'backend': 'infra-backend-v1'},
        {'path': '/percent-mirror-fraction', 'backend': 'infra-backend-v1'},
        {'path': '/percent-mirror-and-modify-headers', 'headers': {'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1'}, 'backend': 'infra-backend-v1'},
    ]),
    # HTTPRouteBackendProtocolH2C, conformance/tests/httproute-backend-protocol-h2c.go
    (('httproute-backend-protocol-h2c.yaml',), [
        {'path': '/', 'backend': 'infra-backend-v1'},
    ]),
]


@pytest.mark.parametrize("yamls,cases", FILTER_TESTS, ids=[t[0][-1].removesuffix(".yaml") for t in FILTER_TESTS])
def test_filters_do_not_change_the_backend(yamls, cases):
    run(yamls, "same-namespace", cases)


def test_request_header_modifier_backend_weights():
    # HTTPRouteRequestHeaderModifierBackendWeights, ...-request-header-modifier-backend-weights.go:
    # 200, and each request reaches one of the two weighted backends (each backendRef's own filter
    # names it in a header, which k8slab does not model)
    a = ask(cluster("httproute-request-header-modifier-backend-weights.yaml"), "same-namespace")
    assert a.status == 200
    assert {b.label: b.probability for b in a.backends} == {f"{INFRA}/infra-backend-v1": 0.5,
                                                           f"{INFRA}/infra-backend-v2": 0.5}
    assert all(b.ref.filters == ("RequestHeaderModifier",) for b in a.backends)
