"""k8slab.dns: the kubelet's resolv.conf, glibc's search list and CoreDNS's kubernetes plugin.

Each test names the source file whose behaviour it checks:
  kubelet  kubernetes/kubernetes pkg/kubelet/network/dns/dns.go
  glibc    glibc resolv/res_query.c (__res_context_search)
  coredns  coredns/coredns plugin/kubernetes/{kubernetes,parse,reverse,handler}.go,
           plugin/backend_lookup.go, object/endpoint.go; handler_test.go is the spec
  epslice  kubernetes/kubernetes pkg/controller/util/endpoint/controller_utils.go and
           staging/src/k8s.io/endpointslice/ (reconciler.go, utils.go)
"""

import functools
import json

import pytest
from hypothesis import given, settings, strategies as st

import k8slab
from k8slab import dns
from k8slab.cli import main
import fuzzing
from support import cluster_from

SHOP = """
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec: {nodeName: node-a, containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Pod
metadata: {name: front, namespace: shop}
spec: {nodeName: node-a, containers: [{name: c, image: curl}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: 9090}
---
apiVersion: v1
kind: Service
metadata: {name: web-hl, namespace: shop}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432, targetPort: pg}]
---
apiVersion: v1
kind: Service
metadata: {name: pay, namespace: shop}
spec: {type: ExternalName, externalName: pay.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec: {type: ExternalName, externalName: 192.0.2.50}
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: shop}
spec: {type: ExternalName, externalName: web.shop.svc.cluster.local}
"""


@pytest.fixture(scope="module")
def shop():
    return cluster_from(SHOP)


def ask(cluster, name, qtype="A", client="pod/default/client"):
    return dns.lookup(cluster, client, name, qtype)


def values(result):
    return [r.value for r in result.answer]


def one(cluster, name, qtype="A"):
    """What the cluster DNS answers for one absolute name."""
    return dns.query(cluster, name, qtype)


# -- the kubelet's resolv.conf ------------------------------------------------------------

def test_cluster_first_search_list_and_ndots(shop):
    # kubelet dns.go generateSearchesForDNSClusterFirst, defaultDNSOptions = ndots:5
    r = dns.resolver(shop, "pod/shop/front")
    assert r.nameservers == ("10.96.0.10",)
    assert r.searches == ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local")
    assert r.ndots == 5
    assert r.resolv_conf() == ("nameserver 10.96.0.10\nsearch shop.svc.cluster.local "
                               "svc.cluster.local cluster.local\noptions ndots:5\n")


def test_host_network_pod_falls_back_to_the_node_resolver():
    # kubelet dns.go getPodDNSType: ClusterFirst on a hostNetwork pod falls through to Default
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: agent}
        spec: {nodeName: node-a, hostNetwork: true, containers: [{name: c, image: x}]}
        """)
    r = dns.resolver(c, "pod/agent")
    assert r.nameservers == (dns.NODE_RESOLVER,) and r.searches == () and r.ndots == 1
    got = ask(c, "kubernetes.default.svc.cluster.local", client="pod/agent")
    assert got.rcode == "NXDOMAIN" and got.answer == ()
    assert "ClusterFirstWithHostNet" in got.note


def test_cluster_first_with_host_net_uses_the_cluster_dns():
    # kubelet dns.go getPodDNSType: DNSClusterFirstWithHostNet -> podDNSCluster
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: agent}
        spec: {nodeName: node-a, hostNetwork: true, dnsPolicy: ClusterFirstWithHostNet,
               containers: [{name: c, image: x}]}
        """)
    assert dns.resolver(c, "pod/agent").asks_cluster_dns
    assert values(ask(c, "kubernetes", client="pod/agent")) == ["10.96.0.1"]


def test_dns_policy_default_uses_the_node_resolver_even_without_host_network():
    # kubelet dns.go: DNSDefault -> podDNSHost (the node's resolv.conf)
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec: {nodeName: node-a, dnsPolicy: Default, containers: [{name: c, image: x}]}
        """)
    assert not dns.resolver(c, "pod/p").asks_cluster_dns
    got = ask(c, "kubernetes", client="pod/p")
    # "kubernetes." as given, to the node's resolver: kubernetes is no TLD, so NXDOMAIN
    assert [t.name for t in got.tried] == ["kubernetes."] and got.rcode == "NXDOMAIN"


def test_dns_policy_none_takes_only_dns_config():
    # kubelet dns.go: DNSNone starts from an empty config; appendDNSConfig adds spec.dnsConfig
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: shop}
        spec:
          nodeName: node-a
          dnsPolicy: None
          dnsConfig:
            nameservers: [10.96.0.10]
            searches: [shop.svc.cluster.local]
            options: [{name: ndots, value: "2"}]
          containers: [{name: c, image: x}]
        """)
    r = dns.resolver(c, "pod/shop/p")
    assert r.nameservers == ("10.96.0.10",)
    assert r.searches == ("shop.svc.cluster.local",)
    assert r.options == ("ndots:2",) and r.ndots == 2
    assert r.resolv_conf() == "nameserver 10.96.0.10\nsearch shop.svc.cluster.local\noptions ndots:2\n"


def test_dns_config_is_merged_into_cluster_first():
    # kubelet dns.go appendDNSConfig: servers and searches appended without duplicates;
    # mergeDNSOptions: an option of the same name is replaced
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          nodeName: node-a
          dnsConfig:
            nameservers: [192.0.2.53, 10.96.0.10]
            searches: [corp.example, cluster.local]
            options: [{name: ndots, value: "1"}, {name: edns0}]
          containers: [{name: c, image: x}]
        """)
    r = dns.resolver(c, "pod/p")
    assert r.nameservers == ("10.96.0.10", "192.0.2.53")
    assert r.searches == ("default.svc.cluster.local", "svc.cluster.local", "cluster.local",
                          "corp.example")
    assert set(r.options) == {"ndots:1", "edns0"} and r.ndots == 1


def test_at_most_three_nameservers():
    # kubelet dns.go formDNSNameserversFitsLimits (validation.MaxDNSNameservers = 3)
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          nodeName: node-a
          dnsConfig: {nameservers: [192.0.2.1, 192.0.2.2, 192.0.2.3]}
          containers: [{name: c, image: x}]
        """)
    assert dns.resolver(c, "pod/p").nameservers == ("10.96.0.10", "192.0.2.1", "192.0.2.2")


def test_first_nameserver_not_the_cluster_dns_knows_no_cluster_names():
    # glibc asks the first nameserver; the next only when it does not answer at all
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          nodeName: node-a
          dnsPolicy: None
          dnsConfig: {nameservers: [192.0.2.53, 10.96.0.10]}
          containers: [{name: c, image: x}]
        """)
    got = ask(c, "kubernetes.default.svc.cluster.local.", client="pod/p")
    assert got.rcode == "NXDOMAIN" and "192.0.2.53" in got.note


def test_node_client_uses_the_node_resolver(shop):
    # DESIGN.md: a node's own resolver does not know cluster names
    got = ask(shop, "web.shop.svc.cluster.local", client="node/node-a")
    assert [t.name for t in got.tried] == ["web.shop.svc.cluster.local."]   # ndots 1, no search
    assert got.rcode == "NXDOMAIN" and "node's own resolver" in got.note


def test_statefulset_pods_get_hostname_and_subdomain(shop):
    # pkg/controller/statefulset/stateful_set_utils.go initIdentity
    pod = shop.pod("db-1", "shop")
    assert (pod.hostname, pod.subdomain) == ("db-1", "db")


# -- glibc's search -------------------------------------------------------------------------

def test_short_name_walks_the_search_list_first(shop):
    # glibc res_query.c: fewer than ndots dots -> search list first, as given last
    got = ask(shop, "web.shop")
    assert [t.to_dict() for t in got.tried] == [
        {"name": "web.shop.default.svc.cluster.local.", "rcode": "NXDOMAIN"},
        {"name": "web.shop.svc.cluster.local.", "rcode": "NOERROR"}]
    assert got.rcode == "NOERROR"
    assert [r.to_dict() for r in got.answer] == [
        {"name": "web.shop.svc.cluster.local.", "type": "A", "value": shop.service("web", "shop").cluster_ip,
         "ttl": 30}]


def test_bare_service_name_only_works_in_its_own_namespace(shop):
    got = ask(shop, "web")      # from default; web lives in shop
    assert [t.name for t in got.tried] == ["web.default.svc.cluster.local.", "web.svc.cluster.local.",
                                           "web.cluster.local.", "web."]
    assert got.rcode == "UPSTREAM" and got.answer == ()      # .web is a delegated TLD
    assert values(ask(shop, "web", client="pod/shop/front")) == [shop.service("web", "shop").cluster_ip]
    # issue 23.1: "db." is under no TLD (Public Suffix List), so the public DNS says NXDOMAIN
    # and, the search list spent, so does the lookup (glibc res_query.c)
    got = ask(shop, "db")
    assert [(t.name, t.rcode) for t in got.tried] == [
        ("db.default.svc.cluster.local.", "NXDOMAIN"), ("db.svc.cluster.local.", "NXDOMAIN"),
        ("db.cluster.local.", "NXDOMAIN"), ("db.", "NXDOMAIN")]
    assert got.rcode == "NXDOMAIN" and "no top-level domain" in got.note


def test_external_name_costs_every_search_domain_first(shop):
    # ndots:5: example.com has one dot, so three cluster names are tried before it
    got = ask(shop, "example.com")
    assert len(got.tried) == 4 and got.tried[-1].name == "example.com." and got.rcode == "UPSTREAM"


def test_name_with_ndots_dots_is_tried_as_given_first(shop):
    # glibc res_query.c: dots >= ndots -> as given first
    got = ask(shop, "a.b.c.d.e.example.com")
    assert [t.name for t in got.tried] == ["a.b.c.d.e.example.com."]
    assert got.rcode == "UPSTREAM"


def test_fqdn_without_trailing_dot_still_searches(shop):
    # four dots < ndots 5: the famous cost of ndots:5
    got = ask(shop, "web.shop.svc.cluster.local")
    assert [t.rcode for t in got.tried] == ["NXDOMAIN", "NXDOMAIN", "NXDOMAIN", "NOERROR"]
    assert got.tried[0].name == "web.shop.svc.cluster.local.default.svc.cluster.local."


def test_trailing_dot_is_absolute(shop):
    # glibc res_query.c: a trailing dot -> asked as is, never searched
    got = ask(shop, "web.shop.svc.cluster.local.")
    assert [t.name for t in got.tried] == ["web.shop.svc.cluster.local."]
    got = ask(shop, "web.")
    assert [t.name for t in got.tried] == ["web."] and got.rcode == "UPSTREAM"


def test_nodata_keeps_searching_and_is_the_final_answer(shop):
    # glibc res_query.c: NO_DATA -> got_nodata, keep trying; reported when nothing answers.
    # web.shop has no AAAA record (IPv4 only) but exists.
    got = ask(shop, "web.shop", "AAAA")
    assert [t.rcode for t in got.tried] == ["NXDOMAIN", "NOERROR", "NXDOMAIN", "UPSTREAM"]
    got = ask(shop, "web.shop.svc.cluster.local.", "AAAA")
    assert got.rcode == "NOERROR" and got.answer == ()


# -- CoreDNS: Services -----------------------------------------------------------------------

def test_cluster_ip_service_a_record(shop):
    # coredns kubernetes.go findServices, "ClusterIP service"; ttl 30 from the Corefile
    a = one(shop, "web.shop.svc.cluster.local.")
    assert [r.text() for r in a.records] == [
        f"web.shop.svc.cluster.local.\t30\tIN\tA\t{shop.service('web', 'shop').cluster_ip}"]


def test_missing_service_and_namespace_are_nxdomain(shop):
    # coredns handler_test.go: svc0.testns (no such Service) and svc0.svc-nons (no namespace)
    assert one(shop, "nope.shop.svc.cluster.local.").rcode == "NXDOMAIN"
    assert one(shop, "web.nowhere.svc.cluster.local.").rcode == "NXDOMAIN"


def test_zone_subtrees_and_namespaces_are_nodata(shop):
    # coredns handler_test.go: svc.cluster.local., pod.cluster.local., testns.svc.cluster.local.
    for name in ("cluster.local.", "svc.cluster.local.", "pod.cluster.local.", "shop.svc.cluster.local."):
        a = one(shop, name)
        assert (a.rcode, a.records) == ("NOERROR", ()), name


def test_names_outside_svc_and_pod_are_nxdomain(shop):
    # coredns parse.go: the label left of the zone must be svc or pod (errInvalidRequest)
    assert one(shop, "web.shop.cluster.local.").rcode == "NXDOMAIN"


def test_too_many_labels_is_nxdomain(shop):
    # coredns parse.go: three labels or more left of the Service: "query too long"
    assert one(shop, "a.b.c.web.shop.svc.cluster.local.").rcode == "NXDOMAIN"


def test_other_type_of_existing_name_is_nodata(shop):
    # coredns handler_test.go: "AAAA Service (with an existing A record, but no AAAA record)"
    a = one(shop, "web.shop.svc.cluster.local.", "AAAA")
    assert (a.rcode, a.records) == ("NOERROR", ())
    assert one(shop, "nope.shop.svc.cluster.local.", "AAAA").rcode == "NXDOMAIN"


def test_any_query_is_answered_empty(shop):
    # coredns handler.go: default case, "a fake A lookup" decides NOERROR or NXDOMAIN only
    a = one(shop, "web.shop.svc.cluster.local.", "ANY")
    assert (a.rcode, a.records) == ("NOERROR", ())
    assert one(shop, "nope.shop.svc.cluster.local.", "ANY").rcode == "NXDOMAIN"


def test_cname_query_for_cluster_ip_service_is_empty(shop):
    # backend_lookup.go CNAME: only a host that is a name makes a CNAME
    a = one(shop, "web.shop.svc.cluster.local.", "CNAME")
    assert (a.rcode, a.records) == ("NOERROR", ())


def test_headless_service_has_one_a_record_per_ready_endpoint(shop):
    # coredns handler_test.go "A Service (Headless)"
    a = one(shop, "web-hl.shop.svc.cluster.local.")
    pods = sorted(p.ip for p in shop.pods if p.labels.get("app") == "web")
    assert [r.value for r in a.records] == pods and {r.type for r in a.records} == {"A"}


def test_headless_service_leaves_out_pods_not_ready():
    # coredns object/endpoint.go: endpoints whose ready condition is false are skipped
    c = cluster_from(_one_pod_service(ready=False))
    assert one(c, "hl.default.svc.cluster.local.").rcode == "NXDOMAIN"


def test_publish_not_ready_addresses_publishes_them():
    # epslice utils.go podToEndpoint: ready = publishNotReadyAddresses || IsPodReady
    c = cluster_from(_one_pod_service(ready=False, publish=True))
    assert [r.value for r in one(c, "hl.default.svc.cluster.local.").records] == ["10.244.1.7"]


def test_terminating_pod_is_not_published():
    # epslice utils.go: a terminating pod is never ready unless publishNotReadyAddresses
    c = cluster_from(_one_pod_service(ready=True, terminating=True))
    assert one(c, "hl.default.svc.cluster.local.").rcode == "NXDOMAIN"


def _one_pod_service(ready, publish=False, terminating=False, ports="[{name: http, port: 80}]"):
    meta = "{name: p, labels: {app: x}" + (", deletionTimestamp: '2026-01-01T00:00:00Z'" if terminating else "") + "}"
    return f"""
        apiVersion: v1
        kind: Pod
        metadata: {meta}
        spec: {{nodeName: node-a, containers: [{{name: c, image: x, ports: [{{name: http, containerPort: 80}}]}}]}}
        status:
          phase: Running
          podIP: 10.244.1.7
          conditions: [{{type: Ready, status: "{'True' if ready else 'False'}"}}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: hl}}
        spec: {{clusterIP: None, publishNotReadyAddresses: {str(publish).lower()}, selector: {{app: x}}, ports: {ports}}}
        """


def test_headless_service_without_ports_still_has_a_records():
    # coredns object/endpoint.go: "Add sentinel if there are no ports" (port -1);
    # handler_test.go "A Service (Headless and Portless)"
    c = cluster_from(_one_pod_service(ready=True, ports="[]"))
    assert [r.value for r in one(c, "hl.default.svc.cluster.local.").records] == ["10.244.1.7"]
    # ... but no SRV record (backend_lookup.go SRV: port -1 is skipped)
    a = one(c, "hl.default.svc.cluster.local.", "SRV")
    assert (a.rcode, a.records) == ("NOERROR", ())


def test_pod_without_the_named_port_keeps_its_a_record():
    # epslice reconciler.go: getEndpointPorts skips the port only; the pod lands in a slice of
    # its own (no ports), and CoreDNS publishes its address (sentinel port -1)
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: a, labels: {app: x}}
        spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{name: http, containerPort: 80}]}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: b, labels: {app: x}}
        spec: {nodeName: node-b, containers: [{name: c, image: x}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: hl}
        spec: {clusterIP: None, selector: {app: x}, ports: [{name: http, port: 80, targetPort: http}]}
        """)
    a, b = c.pod("a").ip, c.pod("b").ip
    assert sorted(r.value for r in one(c, "hl.default.svc.cluster.local.").records) == sorted([a, b])
    target = f"{a.replace('.', '-')}.hl.default.svc.cluster.local."
    srv = one(c, "_http._tcp.hl.default.svc.cluster.local.", "SRV")
    assert [r.value for r in srv.records] == [f"0 100 80 {target}"]
    # The bare name matches every port, the portless sentinel too: it shares the weight but
    # makes no record (backend_lookup.go SRV counts before it drops port -1)
    srv = one(c, "hl.default.svc.cluster.local.", "SRV")
    assert [r.value for r in srv.records] == [f"0 50 80 {target}"]


def test_srv_for_a_named_port_of_a_cluster_ip_service_targets_the_service(shop):
    # coredns handler_test.go "SRV Service": 0 100 80 svc1.testns.svc.cluster.local.
    a = one(shop, "_http._tcp.web.shop.svc.cluster.local.", "SRV")
    assert [r.value for r in a.records] == ["0 100 80 web.shop.svc.cluster.local."]


def test_srv_for_the_bare_service_name_lists_every_port(shop):
    # coredns handler_test.go: "svc1.testns.svc.cluster.local." SRV; one item per port,
    # weight 100 / number of items (backend_lookup.go SRV)
    a = one(shop, "web.shop.svc.cluster.local.", "SRV")
    assert [r.value for r in a.records] == ["0 50 80 web.shop.svc.cluster.local.",
                                            "0 50 9090 web.shop.svc.cluster.local."]


def test_srv_port_and_protocol_must_match(shop):
    # coredns kubernetes.go matchPortAndProtocol
    assert one(shop, "_http._udp.web.shop.svc.cluster.local.", "SRV").rcode == "NXDOMAIN"
    assert one(shop, "_nope._tcp.web.shop.svc.cluster.local.", "SRV").rcode == "NXDOMAIN"


def test_srv_for_headless_service_one_per_endpoint(shop):
    # coredns handler_test.go "SRV Service (Headless)": priority 0, weight 100/n, the
    # endpoint port, the target named by the address with dashes
    a = one(shop, "_http._tcp.web-hl.shop.svc.cluster.local.", "SRV")
    ips = sorted(p.ip for p in shop.pods if p.labels.get("app") == "web")
    assert [r.value for r in a.records] == [
        f"0 50 8080 {ip.replace('.', '-')}.web-hl.shop.svc.cluster.local." for ip in ips]


def test_statefulset_pod_names(shop):
    # StatefulSet hostname/subdomain -> the EndpointSlice hostname (controller_utils.go
    # ShouldSetHostname) -> CoreDNS's endpoint name (kubernetes.go endpointHostname)
    ip = shop.pod("db-0", "shop").ip
    assert [r.value for r in one(shop, "db-0.db.shop.svc.cluster.local.").records] == [ip]
    srv = one(shop, "_pg._tcp.db.shop.svc.cluster.local.", "SRV")
    assert [r.value for r in srv.records] == ["0 50 5432 db-0.db.shop.svc.cluster.local.",
                                              "0 50 5432 db-1.db.shop.svc.cluster.local."]
    assert values(ask(shop, "db-1.db", client="pod/shop/front")) == [shop.pod("db-1", "shop").ip]


def test_endpoint_names_by_dashed_address(shop):
    # coredns handler_test.go "An Endpoint ip": 172-0-0-2.hdls1.testns...
    ip = shop.pod("db-0", "shop").ip
    # with a hostname the endpoint is named by it, not by its address
    assert one(shop, f"{ip.replace('.', '-')}.db.shop.svc.cluster.local.").rcode == "NXDOMAIN"
    web = sorted(p.ip for p in shop.pods if p.labels.get("app") == "web")[0]
    assert [r.value for r in one(shop, f"{web.replace('.', '-')}.web-hl.shop.svc.cluster.local.").records] == [web]
    # endpoint names work under a ClusterIP Service too ("Endpoint query or headless service")
    assert [r.value for r in one(shop, f"{web.replace('.', '-')}.web.shop.svc.cluster.local.").records] == [web]
    assert one(shop, "bogus.web-hl.shop.svc.cluster.local.").rcode == "NXDOMAIN"


def test_hostname_and_subdomain_need_a_service_named_like_the_subdomain():
    # epslice controller_utils.go ShouldSetHostname: pod.Spec.Subdomain == svc.Name
    text = """
        apiVersion: v1
        kind: Pod
        metadata: {name: p, labels: {app: x}}
        spec: {nodeName: node-a, hostname: box, subdomain: team, containers: [{name: c, image: x}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: %s}
        spec: {clusterIP: None, selector: {app: x}}
        """
    named = cluster_from(text % "team")
    assert [r.value for r in one(named, "box.team.default.svc.cluster.local.").records] == [named.pod("p").ip]
    other = cluster_from(text % "crew")
    assert one(other, "box.team.default.svc.cluster.local.").rcode == "NXDOMAIN"
    ip = other.pod("p").ip.replace(".", "-")
    assert one(other, f"{ip}.crew.default.svc.cluster.local.").rcode == "NOERROR"


def test_same_hostname_on_two_pods_gives_two_addresses():
    # coredns handler_test.go "An Endpoint by name": dup-name -> 172.0.0.4 and 172.0.0.5
    pods = "".join(f"""
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: p{i}, labels: {{app: x}}}}
        spec: {{nodeName: node-a, hostname: dup, subdomain: hl, containers: [{{name: c, image: x}}]}}""" for i in (1, 2))
    c = cluster_from("""
        apiVersion: v1
        kind: Service
        metadata: {name: hl}
        spec: {clusterIP: None, selector: {app: x}}""" + pods)
    assert len(one(c, "dup.hl.default.svc.cluster.local.").records) == 2


def test_endpoint_slices_as_written_give_hostnames():
    # coredns object/endpoint.go: hostname from endpoints[].hostname; ready unset means ready
    c = cluster_from("""
        apiVersion: v1
        kind: Service
        metadata: {name: ext}
        spec: {clusterIP: None, ports: [{name: sql, port: 3306}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: ext-1, labels: {kubernetes.io/service-name: ext}}
        addressType: IPv4
        ports: [{name: sql, port: 3306, protocol: TCP}]
        endpoints:
        - addresses: [192.0.2.80]
          hostname: primary
        - addresses: [192.0.2.81]
          conditions: {ready: false}
        """)
    assert [r.value for r in one(c, "ext.default.svc.cluster.local.").records] == ["192.0.2.80"]
    assert [r.value for r in one(c, "_sql._tcp.ext.default.svc.cluster.local.", "SRV").records] == [
        "0 100 3306 primary.ext.default.svc.cluster.local."]


def test_headless_with_no_ready_endpoint_is_nxdomain():
    # coredns kubernetes.go findServices: err stays errNoItems when nothing is added
    c = cluster_from("""
        apiVersion: v1
        kind: Service
        metadata: {name: hl}
        spec: {clusterIP: None, selector: {app: nobody}, ports: [{port: 80}]}
        """)
    assert one(c, "hl.default.svc.cluster.local.").rcode == "NXDOMAIN"


# -- ExternalName -----------------------------------------------------------------------------

def test_external_name_is_a_cname(shop):
    # coredns handler_test.go "CNAME External"
    a = one(shop, "pay.shop.svc.cluster.local.", "CNAME")
    assert [r.text() for r in a.records] == ["pay.shop.svc.cluster.local.\t30\tIN\tCNAME\tpay.example.com."]
    got = ask(shop, "pay", client="pod/shop/front")
    assert [(r.type, r.value) for r in got.answer] == [("CNAME", "pay.example.com.")]
    assert "upstream" in got.note


def test_external_name_to_a_cluster_name_is_followed(shop):
    # coredns handler_test.go "CNAME External To Internal Service"
    a = one(shop, "alias.shop.svc.cluster.local.")
    assert [(r.name, r.type, r.value) for r in a.records] == [
        ("alias.shop.svc.cluster.local.", "CNAME", "web.shop.svc.cluster.local."),
        ("web.shop.svc.cluster.local.", "A", shop.service("web", "shop").cluster_ip)]


def test_external_name_that_is_an_ip_answers_nothing(shop, tmp_path):
    # The API server accepts 192.0.2.50 (a valid DNS-1123 subdomain), but CoreDNS's
    # findServices keeps an ExternalName only when msg.Service.HostType is CNAME: NXDOMAIN
    from k8slab.manifests import validate_files
    f = tmp_path / "legacy.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: legacy}\n"
                 "spec: {type: ExternalName, externalName: 192.0.2.50}\n")
    assert validate_files([str(f)]) == []
    for qtype in ("A", "CNAME"):
        a = one(shop, "legacy.shop.svc.cluster.local.", qtype)
        assert a.rcode == "NXDOMAIN" and "IP address" in a.note


def test_no_srv_and_no_subnames_for_external_name(shop):
    # coredns kubernetes.go Services: "SRV for external services is not yet implemented";
    # findServices skips an ExternalName when an endpoint or port is asked for
    a = one(shop, "pay.shop.svc.cluster.local.", "SRV")
    assert (a.rcode, a.records) == ("NOERROR", ())
    assert one(shop, "_https._tcp.pay.shop.svc.cluster.local.", "SRV").rcode == "NXDOMAIN"
    assert one(shop, "endpoint.pay.shop.svc.cluster.local.", "CNAME").rcode == "NXDOMAIN"


# -- pods insecure, PTR, the implicit Services, upstream ------------------------------------------

def test_pods_insecure_answers_any_dashed_address(shop):
    # coredns kubernetes.go findPods, podModeInsecure: no pod needs to have the address
    assert [r.value for r in one(shop, "10-244-1-5.shop.pod.cluster.local.").records] == ["10.244.1.5"]
    assert [r.value for r in one(shop, "192-0-2-200.default.pod.cluster.local.").records] == ["192.0.2.200"]
    assert one(shop, "not-an-ip.shop.pod.cluster.local.").rcode == "NXDOMAIN"
    assert one(shop, "10-244-1-5.nowhere.pod.cluster.local.").rcode == "NXDOMAIN"


def test_ptr_for_a_cluster_ip_names_the_service(shop):
    # coredns reverse.go serviceRecordForIP: cluster IPs first
    ip = shop.service("web", "shop").cluster_ip
    got = ask(shop, ip, "PTR")
    assert got.tried[0].name == ".".join(reversed(ip.split("."))) + ".in-addr.arpa."
    assert values(got) == ["web.shop.svc.cluster.local."]
    assert values(ask(shop, "10.96.0.10", "PTR")) == ["kube-dns.kube-system.svc.cluster.local."]


def test_ptr_for_an_endpoint_ip_names_it_under_each_service(shop):
    # coredns reverse.go: "If no cluster ips match, search endpoints" (every Service's)
    ip = shop.pod("db-0", "shop").ip
    assert values(ask(shop, ip, "PTR")) == ["db-0.db.shop.svc.cluster.local."]
    web = sorted(p.ip for p in shop.pods if p.labels.get("app") == "web")[0]
    dashed = web.replace(".", "-")
    assert values(ask(shop, web, "PTR")) == [f"{dashed}.web.shop.svc.cluster.local.",
                                              f"{dashed}.web-hl.shop.svc.cluster.local."]


def test_ptr_for_an_unknown_address_falls_through_upstream(shop):
    # kubeadm Corefile: fallthrough in-addr.arpa ip6.arpa -> forward
    assert ask(shop, "198.51.100.7", "PTR").rcode == "UPSTREAM"
    assert ask(shop, "7.100.51.198.in-addr.arpa.", "PTR").rcode == "UPSTREAM"


def test_ptr_type_on_a_forward_name(shop):
    # coredns reverse.go: no address in the name -> Records decides NOERROR or NXDOMAIN
    assert one(shop, "web.shop.svc.cluster.local.", "PTR").records == ()
    assert one(shop, "web.shop.svc.cluster.local.", "PTR").rcode == "NOERROR"


def test_kubernetes_and_kube_dns_services_are_always_there(shop):
    # DESIGN.md: default/kubernetes at 10.96.0.1 and kube-system/kube-dns at 10.96.0.10
    assert values(ask(shop, "kubernetes.default")) == ["10.96.0.1"]
    assert values(ask(shop, "kube-dns.kube-system")) == ["10.96.0.10"]
    srv = one(shop, "_dns._udp.kube-dns.kube-system.svc.cluster.local.", "SRV")
    assert [r.value for r in srv.records] == ["0 100 53 kube-dns.kube-system.svc.cluster.local."]
    # ... without changing the cluster's own list of Services (routes stay as they were)
    assert all(s.name not in ("kubernetes", "kube-dns") for s in shop.services)


def test_input_kube_dns_service_moves_the_nameserver():
    c = cluster_from("""
        apiVersion: v1
        kind: Service
        metadata: {name: kube-dns, namespace: kube-system}
        spec: {clusterIP: 10.96.0.53, selector: {k8s-app: kube-dns}, ports: [{name: dns, port: 53, protocol: UDP}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec: {nodeName: node-a, containers: [{name: c, image: x}]}
        """)
    assert dns.resolver(c, "pod/p").nameservers == ("10.96.0.53",)
    assert values(ask(c, "kube-dns.kube-system", client="pod/p")) == ["10.96.0.53"]


def test_names_outside_the_cluster_domain_go_upstream(shop):
    # kubeadm Corefile: forward . /etc/resolv.conf
    assert one(shop, "example.com.").rcode == "UPSTREAM"
    # not under cluster.local., and local is no delegated TLD: the public DNS says NXDOMAIN
    assert one(shop, "foocluster.local.").rcode == "NXDOMAIN"
    assert one(shop, "db.team-a.").rcode == "NXDOMAIN"
    assert one(shop, "web.").rcode == "UPSTREAM"          # .web is delegated (VeriSign)


def test_names_compare_without_case(shop):
    # coredns kubernetes.go match: strings.EqualFold
    assert one(shop, "WEB.Shop.svc.cluster.local.").records[0].name == "WEB.Shop.svc.cluster.local."
    assert one(shop, "WEB.Shop.svc.cluster.local.").rcode == "NOERROR"


# -- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, words", [
    ("", "give a DNS name"),
    ("web..shop", "empty label"),
    (".web", "empty label"),
    ("a" * 64 + ".shop", "at most 63"),
    (".".join(["abcdefghi"] * 26), "at most 253"),
    ("we b", "characters other than"),
    ("web/x", "characters other than"),
    (".", "root"),
])
def test_bad_names_are_refused(shop, name, words):
    with pytest.raises(k8slab.K8slabError, match=words):
        ask(shop, name)


def test_unsupported_type_is_refused(shop):
    with pytest.raises(k8slab.K8slabError, match="MX"):
        ask(shop, "web", "MX")


def test_outside_clients_are_refused(shop):
    with pytest.raises(k8slab.K8slabError, match="only pods and nodes"):
        ask(shop, "web", client="laptop")
    with pytest.raises(k8slab.K8slabError, match="no pod"):
        ask(shop, "web", client="pod/ghost")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="abc-_.9XY \t/", max_size=80), st.sampled_from(dns.TYPES))
def test_any_text_gives_an_answer_or_a_clear_error(name, qtype):
    c = _demo()
    try:
        got = dns.lookup(c, "pod/client", name, qtype)
    except k8slab.K8slabError as e:
        assert str(e)
        return
    assert got.rcode in dns.RCODES and got.tried
    assert all(t.name.endswith(".") for t in got.tried)
    assert all(r.name.endswith(".") for r in got.answer)
    if got.answer:
        assert got.rcode == "NOERROR"


_DEMO = []


def _demo():
    if not _DEMO:
        _DEMO.append(k8slab.demo_cluster())
    return _DEMO[0]


# -- the command line --------------------------------------------------------------------------

def test_cli_json_is_the_design_contract(tmp_path, capsys):
    f = tmp_path / "shop.yaml"
    f.write_text(SHOP)
    assert main(["dns", str(f), "--client", "pod/default/client", "--name", "web.shop", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["client", "query", "type", "tried", "rcode", "answer"]
    assert out["client"] == "pod/default/client" and out["query"] == "web.shop" and out["type"] == "A"
    assert out["tried"][0] == {"name": "web.shop.default.svc.cluster.local.", "rcode": "NXDOMAIN"}
    assert out["answer"][0]["ttl"] == 30 and out["rcode"] == "NOERROR"


def test_cli_text_and_bad_input(tmp_path, capsys):
    f = tmp_path / "shop.yaml"
    f.write_text(SHOP)
    assert main(["dns", str(f), "--client", "pod/shop/front", "--name", "db-0.db", "--type", "a"]) == 0
    assert "db-0.db.shop.svc.cluster.local." in capsys.readouterr().out
    assert main(["dns", str(f), "--client", "pod/shop/front", "--name", "web", "--type", "TXT"]) == 1
    assert "TXT" in capsys.readouterr().err
    assert main(["dns", str(f), "--client", "pod/shop/front", "--name", "x" * 300]) == 1
    assert "253" in capsys.readouterr().err


def test_shop_manifest_in_the_notebooks_is_the_package_copy():
    import os
    from importlib.resources import files
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "notebooks/manifests/shop.yaml"), encoding="utf-8") as f:
        assert f.read() == files("k8slab").joinpath("data/shop.yaml").read_text(encoding="utf-8")




def test_an_upstream_try_ends_what_k8slab_can_follow():
    # glibc res_query.c: an answer ends the search, a failure goes on; k8slab cannot know the
    # upstream's answer, so it stops there and names the rest of the list
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          nodeName: node-a
          dnsConfig: {options: [{name: ndots, value: "1"}]}
          containers: [{name: c, image: x}]
        """)
    # shop is a delegated TLD (Public Suffix List): what the public DNS says is not modelled
    got = ask(c, "kubernetes.shop", client="pod/p")
    assert [t.name for t in got.tried] == ["kubernetes.shop."] and got.rcode == "UPSTREAM"
    assert "kubernetes.shop.default.svc.cluster.local." in got.note


def test_a_name_under_no_tld_gets_nxdomain_upstream_and_the_search_goes_on():
    # issue 23.1. glibc resolv/res_query.c __res_context_search: with dots >= ndots the name is
    # asked as given first; its NXDOMAIN (the root zone delegates no "default" TLD: the Public
    # Suffix List's ICANN section) sends the resolver on down the search list.
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          nodeName: node-a
          dnsConfig: {options: [{name: ndots, value: "1"}]}
          containers: [{name: c, image: x}]
        """)
    got = ask(c, "kubernetes.default", client="pod/p")
    assert [(t.name, t.rcode) for t in got.tried] == [
        ("kubernetes.default.", "NXDOMAIN"),
        ("kubernetes.default.default.svc.cluster.local.", "NXDOMAIN"),
        ("kubernetes.default.svc.cluster.local.", "NOERROR")]
    assert got.rcode == "NOERROR" and values(got) == ["10.96.0.1"]


# -- the route reads the lookup ----------------------------------------------------------------

def test_route_by_name_carries_the_a_answer():
    # DESIGN.md route JSON: a pod or node that dials a proxied Service by name -> the A answer;
    # dialed by address (a forced entry) -> null
    from k8slab.routing import route
    c = _demo()
    by_name = route(c, "pod/client", "web").to_dict()["dns"]
    assert by_name == {"name": "web.default.svc.cluster.local",
                       "records": [{"type": "A", "value": c.service("web").cluster_ip}]}
    assert route(c, "node/node-a", "web").dns == by_name
    assert route(c, "pod/client", "web", entry="ClusterIP").dns is None
    assert route(c, "laptop", "web-nodeport").dns is None


def test_headless_route_lists_every_published_address(shop):
    # the route's dns and endpoints are CoreDNS's A answer: one per ready pod, no probability
    from k8slab.routing import route
    r = route(shop, "pod/shop/front", "db", namespace="shop")
    answer = one(shop, "db.shop.svc.cluster.local.")
    assert [x["value"] for x in r.dns["records"]] == [x.value for x in answer.records]
    assert [e.endpoint.address for e in r.endpoints] == [x.value for x in answer.records]
    assert all(e.probability is None for e in r.endpoints)


def test_headless_route_keeps_a_pod_without_the_named_port():
    # epslice reconciler.go: such a pod is published (a slice without the port), so a client
    # may pick it: the route lists it and says why it may find nothing listening
    from k8slab.routing import route
    c = cluster_from("""
        apiVersion: v1
        kind: Pod
        metadata: {name: a, labels: {app: x}}
        spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: b, labels: {app: x}}
        spec: {nodeName: node-b, containers: [{name: c, image: x}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: hl}
        spec: {clusterIP: None, selector: {app: x}, ports: [{name: http, port: 80, targetPort: http}]}
        """)
    r = route(c, "pod/a", "hl")
    assert sorted(e.endpoint.pod for e in r.endpoints) == ["a", "b"]
    assert {e.endpoint.pod: e.endpoint.port for e in r.endpoints} == {"a": 8080, "b": 80}
    assert len(r.dns["records"]) == 2 and "no container port named 'http'" in r.reason


def test_external_name_route_to_an_ip_is_nxdomain(shop):
    # coredns kubernetes.go findServices: no record for an externalName that is an IP
    from k8slab.routing import route
    r = route(shop, "pod/shop/front", "legacy", namespace="shop")
    assert (r.reachable, r.code, r.dns["records"]) == (False, "nxdomain", [])
    ok = route(shop, "pod/shop/front", "pay", namespace="shop")
    assert ok.dns["records"] == [{"type": "CNAME", "value": "pay.example.com"}]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_every_service_answers_its_name_from_every_pod(data):
    # invariants over the shop cluster: the complete name always resolves the same way from any
    # cluster-DNS pod, and a short name from the Service's own namespace costs exactly one try
    c = cluster_from(SHOP)
    svc = data.draw(st.sampled_from([s for s in c.services if s.type != "ExternalName"
                                     or not s.external_name[0].isdigit()]))
    pod = data.draw(st.sampled_from([p for p in c.pods if p.ip]))
    full = dns.lookup(c, f"pod/{pod.namespace}/{pod.name}", svc.dns_name + ".")
    assert len(full.tried) == 1
    expected = one(c, svc.dns_name + ".")
    assert (full.rcode, full.answer) == (expected.rcode, expected.records)
    same_ns = [p for p in c.pods if p.namespace == svc.namespace and p.ip]
    if same_ns:
        short = dns.lookup(c, f"pod/{svc.namespace}/{same_ns[0].name}", svc.name)
        assert [t.name for t in short.tried] == [svc.dns_name + "."]


@settings(max_examples=150, deadline=None)
@given(name=fuzzing.dns_names, ndots=st.integers(1, 5))
def test_only_a_name_under_a_real_tld_stops_the_search_upstream(name, ndots):
    # issue 23.1. glibc resolv/res_query.c: only an answer ends the search; the public DNS
    # answers NXDOMAIN for a name under no delegated TLD (Public Suffix List, ICANN section),
    # so a try outside cluster.local stops the walk only when its TLD is real.
    from k8slab.public_names import public_suffix
    c = _ndots_cluster(ndots)
    got = ask(c, name, client="pod/p")
    for i, t in enumerate(got.tried):
        lower = t.name.lower()
        if lower.endswith(".cluster.local."):
            continue
        if public_suffix(lower) is None:
            assert t.rcode == "NXDOMAIN"
        else:
            assert t.rcode == "UPSTREAM" and i == len(got.tried) - 1
    assert (got.rcode == "UPSTREAM") == (got.tried[-1].rcode == "UPSTREAM")


@functools.lru_cache(maxsize=None)
def _ndots_cluster(ndots):
    return cluster_from(f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: p}}
        spec:
          nodeName: node-a
          dnsConfig: {{options: [{{name: ndots, value: "{ndots}"}}]}}
          containers: [{{name: c, image: x}}]
        """)
