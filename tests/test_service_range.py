"""Issue 22: the cluster's Service range is learned, and stored objects are taken as they are."""

import textwrap

import pytest

from k8slab import dns
from k8slab.cli import run
from k8slab.errors import K8slabError
from k8slab.manifests import load_texts, validate_texts

STORED = 'uid: 0b1c, resourceVersion: "4711", creationTimestamp: "2025-05-01T10:00:00Z"'


def cluster(text, **kw):
    return load_texts([("snap.yaml", textwrap.dedent(text))], **kw)


def problems(text, **kw):
    return [str(p) for p in validate_texts([("snap.yaml", textwrap.dedent(text))], **kw)]


def k3s_service(meta_extra=STORED, ip="10.43.12.7", node_port=30080, name="web"):
    return f"""
    apiVersion: v1
    kind: Service
    metadata: {{name: {name}, namespace: default, {meta_extra}}}
    spec: {{type: NodePort, clusterIP: {ip}, clusterIPs: [{ip}], selector: {{app: web}},
           ports: [{{port: 80, targetPort: 8080, nodePort: {node_port}}}]}}
    status: {{loadBalancer: {{}}}}
    """


def test_a_stored_service_outside_kubeadms_range_is_taken_as_it_is():
    # k3s allocates from 10.43.0.0/16: a snapshot's Service is valid wherever its server put it.
    c = cluster(k3s_service())
    assert c.service("web").cluster_ip == "10.43.12.7"
    assert any("outside 10.96.0.0/12" in n and "--service-cidr" in n for n in c.notes)


@pytest.mark.parametrize("marks", ["uid: 0b1c", 'resourceVersion: "1"', 'creationTimestamp: "2025-05-01T10:00:00Z"'])
def test_each_mark_of_storage_is_enough(marks):
    text = k3s_service(meta_extra=marks).replace("status: {loadBalancer: {}}", "")
    assert problems(text) == []


def test_a_written_manifest_is_still_checked_as_kubectl_create():
    # pkg/registry/core/service/ipallocator: ErrNotInRange, as `kubectl create` prints it.
    text = k3s_service(meta_extra="labels: {}").replace("status: {loadBalancer: {}}", "")
    [p] = problems(text)
    assert ("spec.clusterIPs: Invalid value: [\"10.43.12.7\"]: failed to allocate IP 10.43.12.7: the provided "
            "IP (10.43.12.7) is not in the valid range. The range of valid IPs is 10.96.0.0/12") in p


def test_stored_node_ports_outside_the_default_range_are_kept():
    # --service-node-port-range is the server's: a stored 20080 was inside it.
    c = cluster(k3s_service(node_port=20080))
    assert c.service("web").ports[0].node_port == 20080
    written = k3s_service(meta_extra="labels: {}", ip="10.96.5.5", node_port=20080).replace(
        "status: {loadBalancer: {}}", "")
    assert any("nodePort: Invalid value: 20080: provided port is not in the valid range" in p
               for p in problems(written))


def test_two_stored_objects_claiming_one_ip_still_clash():
    text = k3s_service() + "---" + k3s_service(name="other", node_port=30081)
    [p] = problems(text)
    assert "Service/other" in p and "failed to allocate IP 10.43.12.7: provided IP is already allocated" in p


def test_servicecidr_objects_give_the_range():
    text = """
    apiVersion: networking.k8s.io/v1
    kind: ServiceCIDR
    metadata: {name: kubernetes, uid: a1, resourceVersion: "3"}
    spec: {cidrs: [10.43.0.0/16]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: plain}
    spec: {ports: [{port: 80}]}
    """
    c = cluster(text)
    r = c.facts.service_range
    assert (r.cidrs, r.source, r.exact) == (("10.43.0.0/16",), "ServiceCIDR", True)
    # What k8slab fills in comes from the learned range, and so do kubernetes and kube-dns.
    assert c.service("plain").cluster_ip == "10.43.0.11"
    keys = {s.key: s.cluster_ip for s in dns.cluster_services(c)}
    assert keys["default/kubernetes"] == "10.43.0.1" and keys["kube-system/kube-dns"] == "10.43.0.10"
    assert dns.cluster_dns_ip(c) == "10.43.0.10"
    # A written manifest outside it is refused in the server's words, naming the learned range.
    bad = textwrap.dedent(text) + "---\napiVersion: v1\nkind: Service\nmetadata: {name: far}\nspec: {clusterIP: 10.96.0.50, ports: [{port: 80}]}\n"
    assert any("The range of valid IPs is 10.43.0.0/16" in p for p in problems(bad))


def test_servicecidr_validation_in_the_servers_words():
    # pkg/apis/networking/validation/validation_test.go, TestValidateServiceCIDR: "bad-iprange-ipv6-bad-ipv4",
    # "three-ipranges" and an empty spec.
    base = "apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: {name: x}\nspec: {cidrs: %s}\n"
    assert any("spec.cidrs: Required value: at least one CIDR required" in p for p in problems(base % "[]"))
    assert any("may only hold up to 2 values" in p
               for p in problems(base % "[10.0.0.0/16, fd00::/64, 10.1.0.0/16]"))
    assert any("may specify no more than one IP for each IP family" in p
               for p in problems(base % "[10.0.0.0/16, 10.1.0.0/16]"))
    assert any("spec.cidrs[0]: Invalid value: \"10.0.0.0/33\"" in p for p in problems(base % "[10.0.0.0/33]"))


def test_default_kubernetes_gives_the_range_start():
    text = """
    apiVersion: v1
    kind: Service
    metadata: {name: kubernetes, namespace: default, uid: k}
    spec: {clusterIP: 172.30.0.1, ports: [{name: https, port: 443, targetPort: 6443}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: plain}
    spec: {ports: [{port: 80}]}
    """
    c = cluster(text)
    r = c.facts.service_range
    # OpenShift's 172.30.0.0/16: the start is known, the size is not (exact False).
    assert r.source == "default/kubernetes" and not r.exact and r.cidrs[0].startswith("172.30.0.0/")
    assert c.service("plain").cluster_ip == "172.30.0.11"
    assert dns.cluster_dns_ip(c) == "172.30.0.10"


def test_service_cidr_option_for_input_that_does_not_say_it():
    c = cluster(textwrap.dedent(k3s_service()) + "---\napiVersion: v1\nkind: Service\nmetadata: {name: plain}\nspec: {ports: [{port: 80}]}\n",
                service_cidr="10.43.0.0/16")
    assert c.service("plain").cluster_ip == "10.43.0.11" and dns.cluster_dns_ip(c) == "10.43.0.10"
    assert not any("outside" in n for n in c.notes)
    with pytest.raises(K8slabError, match="--service-cidr 'nonsense': give an IPv4 CIDR"):
        cluster(k3s_service(), service_cidr="nonsense")


def test_every_command_takes_service_cidr(tmp_path, capsys):
    f = tmp_path / "snap.yaml"
    f.write_text(textwrap.dedent(k3s_service()) + "---\napiVersion: v1\nkind: Service\nmetadata: {name: plain}\n"
                 "spec: {ports: [{port: 80}]}\n")
    assert run(["route", str(f), "--service", "plain", "--client", "node/node-a", "--service-cidr", "10.43.0.0/16",
                "--json"]) == 0
    assert '"10.43.0.11:80"' in capsys.readouterr().out
    assert run(["validate", str(f), "--service-cidr", "10.43.0.0/16"]) == 0
    capsys.readouterr()
    for argv in (["rules", "--node", "node-a"], ["dns", "--client", "node/node-a", "--name", "plain"],
                 ["trace", "--client", "node/node-a", "--dial", "10.43.0.11:80"],
                 ["diagnose", "--client", "node/node-a", "--dial", "10.43.0.11:80"],
                 ["simulate", "--service", "plain", "--client", "node/node-a", "--requests", "3"],
                 ["draw", "--service", "plain", "--client", "node/node-a", "-o", str(tmp_path / "x.dot")]):
        assert run([argv[0], str(f), *argv[1:], "--service-cidr", "10.43.0.0/16"]) == 0, argv
    assert "10.43.0.11" in capsys.readouterr().out


# -- defaults as the API server applies them (issue 22, item 3) ---------------------------------

def test_selectorless_headless_service_may_require_dual_stack_on_a_single_stack_cluster():
    # pkg/registry/core/service/storage/alloc.go, initIPFamilyFields: "headless + selectorless
    # defaults to dual", and may keep both families on a single-stack cluster; storage_test.go's
    # defaulting table, case "headless selectorless": RequireDualStack, [IPv4, IPv6].
    text = """
    apiVersion: v1
    kind: Service
    metadata: {name: peers}
    spec: {clusterIP: None, ipFamilyPolicy: RequireDualStack, ipFamilies: [IPv4, IPv6], ports: [{port: 80}]}
    """
    assert problems(text) == []
    # With a selector the special case is gone: the single-stack cluster refuses it.
    with_selector = text.replace("clusterIP: None,", "clusterIP: None, selector: {app: x},")
    assert any("this cluster is not configured for dual-stack services" in p for p in problems(with_selector))


IPV6 = """
apiVersion: v1
kind: Service
metadata: {name: six, uid: a}
spec: {clusterIP: "fd00:10:96::5", clusterIPs: ["fd00:10:96::5"], ipFamilies: [IPv6], selector: {app: web},
       ports: [{port: 80}]}
status: {loadBalancer: {}}
---
apiVersion: v1
kind: Service
metadata: {name: dual, uid: b}
spec: {clusterIP: "fd00:10:96::6", clusterIPs: ["fd00:10:96::6", 10.96.0.66], ipFamilies: [IPv6, IPv4],
       ipFamilyPolicy: PreferDualStack, selector: {app: web}, ports: [{port: 80}]}
status: {loadBalancer: {}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dual-v6, labels: {kubernetes.io/service-name: dual}, uid: c}
addressType: IPv6
endpoints: [{addresses: ["fd00:10:244::5"]}]
ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}, uid: p}
spec: {nodeName: node-a, containers: [{name: c, image: x}]}
status: {phase: Running, podIP: "fd00:10:244::5", podIPs: [{ip: "fd00:10:244::5"}, {ip: 10.244.1.5}],
         conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web}, uid: q}
spec: {nodeName: node-a, containers: [{name: c, image: x}]}
status: {phase: Running, podIP: "fd00:10:244::6", conditions: [{type: Ready, status: "True"}]}
"""


def test_ipv6_is_read_and_named_as_not_modelled_never_invalid():
    c = cluster(IPV6)
    assert c.service("six") is None                        # IPv6-only: left out, and said so
    assert c.service("dual").cluster_ip == "10.96.0.66"     # the IPv4 side of a dual-stack Service
    assert c.pod("web-1").ip == "10.244.1.5" and c.pod("web-2").ip is None
    notes = [n for n in c.notes if n.startswith("not modelled")]
    assert len(notes) == 4 and all(n.count("not modelled") == 1 for n in notes)
    assert any("IPv6-only Service(s) (default/six)" in n for n in notes)
    assert any("IPv6 EndpointSlice(s) (default/dual-v6)" in n for n in notes)
    # Other questions still get answers: the IPv4 side routes to the pod with an IPv4 address.
    r = c.route(client="pod/web-1", service="dual")
    assert r.reachable and [e["address"] for e in r.to_dict()["endpoints"]] == ["10.244.1.5:80"]


def test_externalname_to_a_cluster_name_is_followed_as_coredns_does():
    text = """
    apiVersion: v1
    kind: Service
    metadata: {name: db, namespace: shop}
    spec: {clusterIP: 10.96.0.40, selector: {app: db}, ports: [{port: 5432}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: alias}
    spec: {type: ExternalName, externalName: db.shop.svc.cluster.local}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: c}
    spec: {containers: [{name: c, image: x}]}
    """
    c = cluster(text)
    answer = dns.lookup(c, "pod/c", "alias").to_dict()["answer"]
    # plugin/kubernetes backend_lookup.go (A): the CNAME, then the target's own A record.
    assert [(a["type"], a["value"]) for a in answer] == [("CNAME", "db.shop.svc.cluster.local."),
                                                         ("A", "10.96.0.40")]
    r = c.route(client="pod/c", service="alias")
    assert r.reachable and "a name inside the cluster" in r.reason and "10.96.0.40" in r.reason


# -- everything a snapshot carries (issue 22, item 4) -------------------------------------------

ENDPOINTS_ONLY = """
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: default, uid: s1}
  spec: {clusterIP: 10.96.0.20, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
  status: {loadBalancer: {}}
- apiVersion: v1
  kind: Endpoints
  metadata: {name: web, namespace: default, uid: e1}
  subsets:
  - addresses: [{ip: 10.244.1.5, nodeName: node-a, targetRef: {kind: Pod, name: web-1, namespace: default}}]
    notReadyAddresses: [{ip: 10.244.2.6, nodeName: node-b, targetRef: {kind: Pod, name: web-2, namespace: default}}]
    ports: [{name: http, port: 8080, protocol: TCP}]
"""


def test_legacy_endpoints_are_read_when_no_endpointslice_exists():
    c = cluster(ENDPOINTS_ONLY)
    r = c.route(client="node/node-a", service="web").to_dict()
    assert [(e["pod"], e["address"]) for e in r["endpoints"]] == [("web-1", "10.244.1.5:8080")]
    assert any("v1 Endpoints" in n and "deprecated since Kubernetes 1.33" in n for n in c.notes)
    # With an EndpointSlice for the Service, the slice wins and the Endpoints are not read.
    sliced = textwrap.dedent(ENDPOINTS_ONLY) + textwrap.dedent("""\
    - apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata: {name: web-abcde, namespace: default, uid: x1,
                 labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}}
      addressType: IPv4
      endpoints: [{addresses: [10.244.3.9], conditions: {ready: true}}]
      ports: [{name: http, port: 8080}]
    """).replace("\n- ", "\n- ").replace("\n  ", "\n  ")
    c = cluster(sliced)
    assert [e["address"] for e in c.route(client="node/node-a", service="web").to_dict()["endpoints"]] == [
        "10.244.3.9:8080"]
    assert not any("v1 Endpoints" in n for n in c.notes)


def test_endpoints_validation_in_the_servers_words():
    # pkg/apis/core/validation/validation.go, validateEndpointSubsets / validateEndpointPort.
    text = """
    apiVersion: v1
    kind: Endpoints
    metadata: {name: web}
    subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{port: 0}]}]
    """
    found = problems(text)
    assert any("subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range" in p
               for p in found)
    assert any("subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive" in p
               for p in found)


def test_load_balancer_status_as_the_snapshot_says(tmp_path):
    text = """
    {"apiVersion": "v1", "kind": "List", "items": [
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "elb", "namespace": "default", "uid": "u1"},
      "spec": {"type": "LoadBalancer", "clusterIP": "172.20.44.7", "selector": {"app": "web"},
               "ports": [{"port": 80, "targetPort": 8080, "nodePort": 31380, "protocol": "TCP"}]},
      "status": {"loadBalancer": {"ingress": [{"hostname": "a1b2c3-123456.eu-west-1.elb.amazonaws.com"}]}}},
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pending", "namespace": "default", "uid": "u2"},
      "spec": {"type": "LoadBalancer", "clusterIP": "172.20.44.8", "selector": {"app": "web"},
               "ports": [{"port": 80, "nodePort": 31381}]},
      "status": {"loadBalancer": {}}},
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "proxied", "namespace": "default", "uid": "u3"},
      "spec": {"type": "LoadBalancer", "clusterIP": "172.20.44.9", "selector": {"app": "web"},
               "ports": [{"port": 80, "nodePort": 31382}]},
      "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.77", "ipMode": "Proxy"}]}}},
     {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}, "uid": "p1"},
      "spec": {"nodeName": "ip-10-0-1-5", "containers": [{"name": "c", "image": "x"}]},
      "status": {"phase": "Running", "podIP": "10.0.1.77", "conditions": [{"type": "Ready", "status": "True"}]}},
     {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-1-5", "uid": "n1"},
      "spec": {"providerID": "aws:///eu-west-1a/i-0abc"},
      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.1.5"}], "conditions": [{"type": "Ready", "status": "True"}]}}
    ]}
    """
    f = tmp_path / "eks.json"           # `kubectl get ... -o json`: a List in JSON
    f.write_text(textwrap.dedent(text))
    from k8slab.manifests import load
    c = load(str(f))
    elb = c.route(client="internet", service="elb").to_dict()
    assert elb["reachable"] and elb["hops"][1]["address"].startswith("a1b2c3-123456.eu-west-1.elb.amazonaws.com")
    assert elb["endpoints"][0]["address"] == "10.0.1.77:8080" and c.node("ip-10-0-1-5").address == "10.0.1.5"
    assert c.route(client="internet", service="pending").code == "lb-pending"
    proxied = c.route(client="internet", service="proxied").to_dict()
    # ipMode: Proxy (KEP-1860): the load balancer opens its own connection; under the Cluster
    # policy the node then masquerades, so the pod sees the node.
    assert "ipMode: Proxy" in proxied["reason"] and proxied["endpoints"][0]["source_seen"] == "node"


def test_kube_proxy_replacement_is_said():
    cilium = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: cilium-config, namespace: kube-system}
    data: {kube-proxy-replacement: "true"}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {ports: [{port: 80}]}
    """
    c = cluster(cilium)
    assert c.facts.proxy_replacement.startswith("Cilium's kube-proxy replacement")
    assert any("not what runs there" in n for n in c.notes)
    assert not any("skipped" in n and "ConfigMap" in n for n in c.notes)
    off = cluster(cilium.replace('"true"', '"false"'))
    assert off.facts.proxy_replacement is None and not any("not what runs there" in n for n in off.notes)


def test_kube_proxy_configmap_mode_is_read():
    text = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: kube-proxy, namespace: kube-system}
    data:
      config.conf: |
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        mode: nftables
        clusterCIDR: 10.42.0.0/16
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {ports: [{port: 80}]}
    """
    c = cluster(text)
    assert (c.proxy.mode, c.proxy.cluster_cidr) == ("nftables", "10.42.0.0/16")


# -- load speed: a large input is built once (issue 22, item 7) ---------------------------------

def big_text(n=700):
    docs = [f"apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, uid: u{i}, annotations: {{note: '{'x' * 1400}'}}}}\n"
            f"spec: {{clusterIP: 10.43.{i // 250}.{i % 250 + 2}, ports: [{{port: 80}}]}}\n" for i in range(n)]
    return "---\n".join(docs)


def test_a_large_input_is_cached_and_the_cache_follows_the_text(tmp_path, monkeypatch):
    from k8slab import manifests
    monkeypatch.setenv("K8SLAB_CACHE_DIR", str(tmp_path))
    text = big_text()
    assert len(text) >= manifests.CACHE_MIN_BYTES
    first = load_texts([("big.yaml", text)], service_cidr="10.43.0.0/16")
    assert len(list(tmp_path.glob("*.pickle"))) == 1
    again = load_texts([("big.yaml", text)], service_cidr="10.43.0.0/16")
    assert again is not first and [s.cluster_ip for s in again.services] == [s.cluster_ip for s in first.services]
    assert again.facts == first.facts and again.notes == first.notes
    # Another text, or other options, is another entry; a damaged entry is rebuilt, not trusted.
    load_texts([("big.yaml", text.replace("s0,", "t0,"))], service_cidr="10.43.0.0/16")
    assert len(list(tmp_path.glob("*.pickle"))) == 2
    for f in tmp_path.glob("*.pickle"):
        f.write_bytes(b"not a pickle")
    assert load_texts([("big.yaml", text)], service_cidr="10.43.0.0/16").service("s1").cluster_ip == "10.43.0.3"
    # Off, nothing is written; small inputs never are.
    monkeypatch.setenv("K8SLAB_CACHE", "0")
    for f in tmp_path.glob("*.pickle"):
        f.unlink()
    load_texts([("big.yaml", text)])
    load_texts([("small.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n")])
    assert list(tmp_path.glob("*.pickle")) == []


def test_the_fast_path_reads_what_the_slow_one_does():
    # A document already as kubectl sends it is taken without a copy; one that is not (a float
    # port, a non-string key) still goes through the conversion and gets the same values.
    from k8slab.manifests import _already_sent
    assert _already_sent({"a": [1, "x", None, True, {"b": "c"}]})
    assert not _already_sent({"a": 8080.0}) and not _already_sent({1: "x"})
    assert not _already_sent({"a": "\ud800"}) and not _already_sent({"a": 2**64})
    deep = {}
    cur = deep
    for _ in range(150):
        cur["a"] = {}
        cur = cur["a"]
    assert not _already_sent(deep)


def test_validate_after_a_load_needs_no_second_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("K8SLAB_CACHE_DIR", str(tmp_path))
    text = big_text()
    assert validate_texts([("big.yaml", text)], service_cidr="10.43.0.0/16") == []
    load_texts([("big.yaml", text)], service_cidr="10.43.0.0/16")
    from k8slab import manifests
    monkeypatch.setattr(manifests, "_read_all", lambda texts: (_ for _ in ()).throw(AssertionError("read")))
    assert validate_texts([("big.yaml", text)], service_cidr="10.43.0.0/16") == []
    # A text with a problem is never cached, so it is always read and reported.
    monkeypatch.undo()
    monkeypatch.setenv("K8SLAB_CACHE_DIR", str(tmp_path))
    bad = text.replace("ports: [{port: 80}]", "ports: [{port: 0}]", 1)
    assert validate_texts([("big.yaml", bad)], service_cidr="10.43.0.0/16") != []


def test_a_beta_servicecidr_from_a_1_31_cluster_is_read_too():
    text = """
    apiVersion: networking.k8s.io/v1beta1
    kind: ServiceCIDR
    metadata: {name: kubernetes, uid: a1}
    spec: {cidrs: [10.43.0.0/16]}
    """
    assert problems(text) == []
    assert cluster(text).facts.service_range.cidrs == ("10.43.0.0/16",)


def test_a_whole_clusters_list_is_no_alias_bomb(monkeypatch):
    # A List of a cluster at Kubernetes' limits holds more than MAX_EXPANDED_VALUES values; from
    # JSON (or the Rust parser) nothing is shared, so nothing is an alias (found with a
    # 150,000-pod snapshot, which was refused as "excessive aliasing").
    import json as _json
    from k8slab import manifests
    monkeypatch.setattr(manifests, "MAX_EXPANDED_VALUES", 50)
    items = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}", "uid": str(i)},
              "spec": {"clusterIP": f"10.96.0.{i + 20}", "ports": [{"port": 80}]}} for i in range(20)]
    text = _json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    assert len(load_texts([("big.json", text)]).services) == 20
    # A float makes the document go through the conversion: still no alias check for JSON.
    assert len(load_texts([("big.json", text.replace('"port": 80', '"port": 80.0'))]).services) == 20
    # YAML read by PyYAML can share values (anchors): there the bound stays.
    bomb = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b]\n"
    with pytest.raises(K8slabError, match="excessive aliasing"):
        load_texts([("bomb.yaml", bomb)])


def test_a_changed_copy_keeps_what_the_input_said():
    # variants (the explorer's replica slider) and replace_service copy the cluster: the learned
    # range, and so the cluster DNS address, must come along.
    from dataclasses import replace as _replace
    from k8slab.variants import with_replicas
    text = textwrap.dedent(k3s_service()) + textwrap.dedent("""\
    ---
    apiVersion: networking.k8s.io/v1
    kind: ServiceCIDR
    metadata: {name: kubernetes, uid: a1}
    spec: {cidrs: [10.43.0.0/16]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web-1, labels: {app: web}}
    spec: {containers: [{name: c, image: x}]}
    """)
    c = load_texts([("snap.yaml", text)])
    scaled = with_replicas(c, c.service("web"), 2)
    assert scaled.facts == c.facts and dns.cluster_dns_ip(scaled) == "10.43.0.10"
    changed = c.replace_service(_replace(c.service("web"), session_affinity="ClientIP"))
    assert changed.facts == c.facts


def test_an_ipv6_only_node_of_a_snapshot_is_named_not_refused():
    node = """
    apiVersion: v1
    kind: Node
    metadata: {name: six%s}
    status: {addresses: [{type: InternalIP, address: "fd00::12"}]}
    """
    c = cluster(node % ", uid: n1")
    assert c.node("six").address.startswith("192.0.2.")
    assert any("IPv6-only node(s)" in n and "six" in n for n in c.notes)
