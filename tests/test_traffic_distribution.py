"""trafficDistribution: PreferSameZone (PreferClose, its deprecated name) and PreferSameNode.

The EndpointSlice controller hints each ready endpoint for its own zone, and under
PreferSameNode also for its own node (staging/src/k8s.io/endpointslice/trafficdist); kube-proxy
keeps to this node's endpoints when every ready one has a node hint and one names this node,
else to its zone's under the same rule for zone hints, else uses all (pkg/proxy/topology.go,
topologyModeFromHints). The API server accepts exactly these three values (validation.go).
"""
from __future__ import annotations

import pytest

from k8slab import Cluster, K8slabError
from k8slab.manifests import validate_files
from k8slab.proxy import rules

NODES = """
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: z1}}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {topology.kubernetes.io/zone: z1}}
---
apiVersion: v1
kind: Node
metadata: {name: n3, labels: {topology.kubernetes.io/zone: z2}}
"""


def cluster(distribution: str, replicas: int = 3) -> Cluster:
    return Cluster.from_yaml(NODES + f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: c, image: nginx, ports: [{{containerPort: 80}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  trafficDistribution: {distribution}
  ports: [{{port: 80}}]
""")


def pods_answering(c: Cluster, client: str) -> set[str]:
    return {e.endpoint.node for e in c.route(client=client, service="web").endpoints}


def test_prefer_same_node_keeps_to_the_clients_node():
    c = cluster("PreferSameNode")
    assert pods_answering(c, "node/n1") == {"n1"}
    eps = c.endpoints(c.service("web"), c.service("web").ports[0])
    assert {e.hint_nodes for e in eps} == {("n1",), ("n2",), ("n3",)}
    assert all(e.hint_zones for e in eps)         # zone hints too, for older kube-proxies


def test_prefer_same_node_falls_back_to_the_zone_without_a_local_pod():
    c = cluster("PreferSameNode", replicas=2)      # pods on two of the three nodes
    nodes_with_pods = {e.node for e in c.endpoints(c.service("web"), c.service("web").ports[0])}
    empty = ({"n1", "n2", "n3"} - nodes_with_pods).pop()
    answering = pods_answering(c, f"node/{empty}")
    zone = c.node(empty).zone
    same_zone = {n for n in nodes_with_pods if c.node(n).zone == zone}
    assert answering == (same_zone or nodes_with_pods)


@pytest.mark.parametrize("value", ["PreferSameZone", "PreferClose"])
def test_prefer_same_zone_and_its_old_name_keep_to_the_zone(value):
    c = cluster(value)
    assert pods_answering(c, "node/n1") == {"n1", "n2"}
    assert pods_answering(c, "node/n3") == {"n3"}


def test_the_rules_agree_with_the_route_under_prefer_same_node():
    c = cluster("PreferSameNode")
    svc_lines = [line for line in rules(c, "n1").splitlines()
                 if line.startswith("-A KUBE-SVC-") and "-j KUBE-SEP-" in line]
    assert len(svc_lines) == 1


def test_the_api_server_refuses_other_values(tmp_path):
    bad = tmp_path / "svc.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
                   "  trafficDistribution: PreferNearby\n  ports: [{port: 80}]\n")
    problems = [str(p) for p in validate_files([str(bad)])]
    assert any('spec.trafficDistribution: Unsupported value: "PreferNearby": supported values: '
               '"PreferClose", "PreferSameNode", "PreferSameZone"' in p for p in problems), problems
    with pytest.raises(K8slabError):
        Cluster.from_yaml(bad.read_text())
