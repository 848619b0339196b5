"""Issue 23, item 5: diagnose warns `target-port-not-declared` for each pod that declares
container ports but not the targetPort (with the Service port's protocol).

Source: the Kubernetes "Debug Services" task (kubernetes/website content/en/docs/tasks/debug/
debug-application/debug-service.md): check the Service's port list, then that the pods'
containerPort is the Service's targetPort; a pod that listens elsewhere refuses the connection.
"""

from hypothesis import given, settings, strategies as st

from k8slab import diagnose
from support import cluster_from

PORTS = st.lists(st.tuples(st.sampled_from([8080, 9090, 80]), st.sampled_from(["TCP", "UDP"])),
                 max_size=3, unique=True)


def cluster(pod_ports, target=8080):
    docs = ["apiVersion: v1\nkind: Pod\nmetadata: {name: client}\n"
            "spec: {nodeName: node-a, containers: [{name: c, image: curl}]}\n"]
    for i, ports in enumerate(pod_ports):
        declared = ", ".join(f"{{containerPort: {p}, protocol: {proto}}}" for p, proto in ports)
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i}, labels: {{app: web}}}}\n"
                    f"spec: {{nodeName: node-a, containers: [{{name: c, image: x, ports: [{declared}]}}]}}\n"
                    f"status: {{phase: Running, podIP: 10.244.1.{10 + i}, "
                    "conditions: [{type: Ready, status: 'True'}]}\n")
    docs.append("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                f"spec: {{selector: {{app: web}}, ports: [{{port: 80, targetPort: {target}}}]}}\n")
    return cluster_from("---\n".join(docs))


def test_one_pod_declaring_the_port_does_not_vouch_for_another():
    rep = diagnose.diagnose(cluster([[(8080, "TCP")], [(9090, "TCP")]]), "pod/client", "web:80")
    assert rep.works and "target-port-not-declared" in rep.codes
    p = next(p for p in rep.problems if p.code == "target-port-not-declared")
    assert p.severity == "warning" and "web-1" in p.message and "web-0" not in p.message
    assert p.object == "Service/web" and p.field == "spec.ports[0].targetPort"


def test_the_same_number_with_another_protocol_is_not_the_port():
    rep = diagnose.diagnose(cluster([[(8080, "UDP")]]), "pod/client", "web:80")
    assert "target-port-not-declared" in rep.codes
    assert "8080/UDP" in next(p for p in rep.problems if p.code == "target-port-not-declared").message


def test_pods_that_declare_no_ports_are_not_suspected():
    # containerPort is informational: a pod that declares none may listen anywhere.
    rep = diagnose.diagnose(cluster([[], [(8080, "TCP")]]), "pod/client", "web:80")
    assert rep.works and "target-port-not-declared" not in rep.codes


@settings(max_examples=60, deadline=None)
@given(pods=st.lists(PORTS, min_size=1, max_size=3), target=st.sampled_from([8080, 9090, 80]))
def test_warned_exactly_when_some_pod_declares_other_ports(pods, target):
    rep = diagnose.diagnose(cluster(pods, target), "pod/client", "web:80")
    odd = [ports for ports in pods if ports and (target, "TCP") not in ports]
    assert ("target-port-not-declared" in rep.codes) == bool(odd), rep.text()
    assert rep.works                                    # a warning: the route still works


def test_diagnose_follows_the_lookup_for_names_outside_the_cluster():
    # issue 23.1: the same decision as dns.lookup (public_names.public_suffix): a name under a
    # delegated TLD leaves the cluster; one under none gets NXDOMAIN upstream too.
    c = cluster([[(8080, "TCP")]])
    assert diagnose.diagnose(c, "pod/client", "example.com:443").works
    rep = diagnose.diagnose(c, "pod/client", "db.internal:5432")
    assert not rep.works and rep.symptom == "name not found" and "name-not-found" in rep.codes
    assert "no public top-level domain" in rep.problems[0].message
    # and route --name and k8slab dns agree with it
    from k8slab import dns
    assert dns.lookup(c, "pod/client", "db.internal").rcode == "NXDOMAIN"
    assert dns.lookup(c, "pod/client", "example.com").rcode == "UPSTREAM"
