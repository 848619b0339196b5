"""Issue 23, item 6 (and 7's pods bound to no Node): what the EndpointSlice controller writes.

staging/src/k8s.io/endpointslice: reconciler.go (reconcileByAddressType: pods grouped by the
port set getEndpointPorts finds; a pod whose Node is not found is left out) and utils.go
(getEndpointPorts: a Service port whose named targetPort podutil.FindPort cannot resolve is
skipped, the pod stays). kubectl pkg/printers/internalversion/printers.go prints a slice
without ports as PORTS <unset>.
"""

import yaml

from k8slab import diagnose, listing, routing, trace
from support import cluster_from

DEPLOY = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.0.2.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend}
spec: {nodeName: node-a, containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{name: PORT1, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{name: PORT2, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}
"""


def test_unresolvable_named_port_lists_the_pods_without_ports():
    c = cluster_from(DEPLOY.replace("PORT1", "web").replace("PORT2", "web"))
    slices = listing.controller_slices(c, c.service("web"))
    assert len(slices) == 1 and slices[0]["ports"] is None
    assert [e["targetRef"]["name"] for e in slices[0]["endpoints"]] == ["web-1", "web-2"]
    table = listing.endpointslices_table(c, "web").splitlines()
    assert table[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS"]
    assert table[1].split()[1:] == ["IPv4", "<unset>", ",".join(p.ip for p in c.pods if p.name.startswith("web"))]
    doc = yaml.safe_load(listing.endpoint_slice_yaml(c, "web"))
    assert doc["ports"] is None and len(doc["endpoints"]) == 2
    # kube-proxy takes no endpoint from a slice without ports: refused, and route says why.
    r = routing.route(c, "pod/frontend", "web")
    assert r.code == "no-endpoints" and "PORTS <unset>" in r.reason
    rep = diagnose.diagnose(c, "pod/frontend", "web:80")
    assert "named-port-missing" in rep.codes and rep.symptom == "connection refused"
    assert "PORTS <unset>" in next(p.message for p in rep.problems if p.code == "named-port-missing")


def test_some_pods_resolve_the_name_and_get_their_own_slice():
    c = cluster_from(DEPLOY.replace("PORT1", "http").replace("PORT2", "web"))
    slices = listing.controller_slices(c, c.service("web"))
    assert sorted(str(s["ports"]) for s in slices) == sorted(
        ["None", "[{'name': 'http', 'port': 8080, 'protocol': 'TCP'}]"])
    docs = list(yaml.safe_load_all(listing.endpoint_slice_yaml(c, "web")))
    assert [d["ports"] is None for d in docs] == [False, True]
    r = routing.route(c, "pod/frontend", "web")
    assert [e.endpoint.pod for e in r.endpoints] == ["web-1"]


def test_a_pod_bound_to_no_node_is_pending_and_no_endpoint():
    # reconciler.go: "If the Node specified by the Pod doesn't exist ... update the
    # EndpointSlice without the problematic Pod"; a route from it is refused with a message.
    text = DEPLOY.replace("PORT1", "http").replace("PORT2", "http").replace(
        "metadata: {name: web-2, labels: {app: web}}\nspec: {nodeName: node-a",
        "metadata: {name: web-2, labels: {app: web}}\nspec: {nodeName: node-zz")
    text = text.replace("containerPort: 8080}]}]}\n---\napiVersion: v1\nkind: Service",
                        "containerPort: 8080}]}]}\nstatus: {phase: Running, podIP: 10.244.9.9}\n"
                        "---\napiVersion: v1\nkind: Service")
    c = cluster_from(text)
    assert c.pod("web-2").phase == "Pending" and c.pod("web-2").ip is None
    assert any("spec.nodeName: 'node-zz' names no Node" in n for n in c.notes)
    r = routing.route(c, "pod/frontend", "web")
    assert [e.endpoint.pod for e in r.endpoints] == ["web-1"]
    t = trace.trace(c, "pod/frontend", f"{c.service('web').cluster_ip}:80")
    assert {b.pod for b in t.branches} == {"web-1"}


def test_empty_node_name_is_no_node():
    # The API server's nodeName is an omitempty string: "" is unset, not a node called "".
    text = DEPLOY.replace("PORT1", "http").replace("PORT2", "http").replace("nodeName: node-a", "nodeName: ''")
    text = text.replace("type: InternalIP, address: 192.0.2.11", "type: InternalIP, address: 192.0.2.11")
    c = cluster_from(text.replace("{name: web}\nspec: {selector", "{name: web}\nspec: {type: NodePort, selector"))
    assert "" not in [n.name for n in c.nodes]
    r = routing.route(c, "laptop", "web")
    assert all(h.get("node") != "" for h in r.hops) and r.text()


from hypothesis import given, settings, strategies as st  # noqa: E402

NAMES = st.lists(st.sampled_from(["http", "web", None]), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(names=NAMES, second=st.booleans())
def test_every_pod_is_in_one_slice_of_the_ports_it_resolves(names, second):
    # reconciler.go: one slice per port set; getEndpointPorts: only the Service ports FindPort
    # resolves on that pod. kube-proxy (and route) use only pods whose slice has the port.
    docs = [DEPLOY.split("---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-1")[0]]
    for i, name in enumerate(names):
        port = f"{{name: {name}, containerPort: 8080}}" if name else "{containerPort: 8080}"
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i}, labels: {{app: web}}}}\n"
                    f"spec: {{nodeName: node-a, containers: [{{name: c, image: x, ports: [{port}]}}]}}\n")
    ports = "[{name: http, port: 80, targetPort: http}" + (", {name: raw, port: 81, targetPort: 9090}]" if second else "]")
    docs.append(f"apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{selector: {{app: web}}, ports: {ports}}}\n")
    c = cluster_from("---\n".join(docs))
    slices = listing.controller_slices(c, c.service("web"))
    listed = [e["targetRef"]["name"] for s in slices for e in s["endpoints"]]
    assert sorted(listed) == sorted(f"web-{i}" for i in range(len(names)))
    for s in slices:
        has_http = any(p["name"] == "http" for p in s["ports"] or [])
        for e in s["endpoints"]:
            i = int(e["targetRef"]["name"].split("-")[1])
            assert has_http == (names[i] == "http")
        assert (s["ports"] is None) == (not second and not has_http)
    r = routing.route(c, "pod/frontend", "web", port=80)
    assert sorted(e.endpoint.pod for e in r.endpoints) == sorted(
        f"web-{i}" for i, n in enumerate(names) if n == "http")
