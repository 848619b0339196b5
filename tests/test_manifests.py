"""Reading YAML into a cluster: kinds, Lists, controllers, fill-in, and every kind of bad input."""

import os
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import k8slab
from k8slab.errors import K8slabError
from k8slab.manifests import INTERNAL, load, load_texts, service_to_yaml, validate_files



def load_one(text: str, name="bad.yaml"):
    return load_texts([(name, textwrap.dedent(text))])


def problems_of(text: str, name="bad.yaml") -> list[str]:
    with pytest.raises(K8slabError) as info:
        load_one(text, name)
    lines = [str(p) for p in info.value.problems]
    assert lines, "a K8slabError must list its problems"
    assert not any(INTERNAL in line for line in lines), lines
    return lines


# -- kinds and containers ------------------------------------------------------------------

def test_demo_yaml_shipped_for_learners_is_the_packaged_one():
    root = os.path.dirname(os.path.dirname(__file__))
    with open(os.path.join(root, "notebooks/manifests/demo.yaml")) as a, \
            open(os.path.join(root, "k8slab/data/demo.yaml")) as b:
        assert a.read() == b.read()


def test_demo_cluster_spreads_web_unevenly(demo):
    web = [p for p in demo.pods if p.labels.get("app") == "web"]
    by_node = {}
    for p in web:
        by_node[p.node] = by_node.get(p.node, 0) + 1
    assert by_node == {"node-a": 2, "node-b": 1}
    kinds = sorted("headless" if s.headless else s.type for s in demo.services)
    assert kinds == ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort", "headless"]


def test_kubectl_list_and_multi_document_files_are_read():
    text = """
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: Service
      metadata: {name: a}
      spec: {selector: {app: a}, ports: [{port: 80}]}
    - apiVersion: v1
      kind: List
      items:
      - apiVersion: v1
        kind: Service
        metadata: {name: b}
        spec: {selector: {app: b}, ports: [{port: 80}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: c}
    spec: {selector: {app: c}, ports: [{port: 80}]}
    ---
    """
    c = load_one(text)
    assert [s.name for s in c.services] == ["a", "b", "c"]


def test_json_from_kubectl_is_read():
    c = load_one('{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service",'
                 ' "metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}]}')
    assert c.service("a").ports[0].port == 80


def test_unknown_kinds_are_skipped_with_a_note():
    # (Ingress was the example here until issue 21 made k8slab read it.)
    c = load_one("""
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: x}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: y}
    """)
    assert c.services == ()
    assert c.notes[0] == "skipped 1 ConfigMap object: k8slab does not read that kind"
    assert "CronJob" in c.notes[1]


def test_kube_proxy_configuration_is_read():
    c = load_one("""
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
    mode: ipvs
    clusterCIDR: 10.0.0.0/8
    iptables: {masqueradeAll: true}
    """)
    assert (c.proxy.mode, c.proxy.cluster_cidr, c.proxy.masquerade_all) == ("ipvs", "10.0.0.0/8", True)


def test_kubeadm_kube_proxy_configmap_is_read():
    c = load_one("""
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: kube-proxy, namespace: kube-system}
    data:
      config.conf: |
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        mode: nftables
        clusterCIDR: 192.168.0.0/16
    """)
    assert (c.proxy.mode, c.proxy.cluster_cidr) == ("nftables", "192.168.0.0/16")


# -- controllers, named and labelled as Kubernetes does --------------------------------------

TEMPLATE = """
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres}]}
"""


def test_statefulset_pods_are_numbered():
    c = load_one("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: 3\n"
                 "  serviceName: db" + TEMPLATE)
    assert [p.name for p in c.pods] == ["db-0", "db-1", "db-2"]
    assert c.pods[1].labels["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert c.pods[1].labels["apps.kubernetes.io/pod-index"] == "1"


def test_deployment_pods_carry_the_replicaset_hash():
    c = load_one("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db}\nspec:\n  replicas: 2" + TEMPLATE)
    h = c.pods[0].labels["pod-template-hash"]
    assert len(h) == 10 and all(p.name.startswith(f"db-{h}-") for p in c.pods)
    assert len({p.name for p in c.pods}) == 2 and c.pods[0].owner == "Deployment/db"


def test_daemonset_puts_one_pod_on_every_node():
    c = load_one("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: db}\nspec:" + TEMPLATE)
    assert sorted(p.node for p in c.pods) == ["node-a", "node-b", "node-c"]


def test_replication_controller_selector_defaults_to_template_labels():
    c = load_one("apiVersion: v1\nkind: ReplicationController\nmetadata: {name: db}\nspec:\n  replicas: 2\n"
                 "  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: x}]}\n")
    assert len(c.pods) == 2 and all(p.name.startswith("db-") for p in c.pods)


def test_snapshot_pods_are_not_made_twice():
    c = load_one("""
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: db}
    spec:
      replicas: 3
      selector: {matchLabels: {app: db}}
      template:
        metadata: {labels: {app: db}}
        spec: {containers: [{name: db, image: x}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: db-abc-12345, labels: {app: db}}
    spec: {nodeName: n1, containers: [{name: db, image: x}]}
    status: {phase: Running, podIP: 10.0.0.5, conditions: [{type: Ready, status: "True"}]}
    """)
    assert [p.name for p in c.pods] == ["db-abc-12345"]
    assert c.pods[0].ip == "10.0.0.5"


# -- fill-in -------------------------------------------------------------------------------

def test_fill_in_is_deterministic_and_in_documentation_ranges():
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db}\nspec:\n  replicas: 4" + TEMPLATE
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  type: LoadBalancer\n"
              "  selector: {app: db}\n  ports: [{port: 5432}]\n")
    a, b = load_one(text), load_one(text)
    assert [(p.name, p.node, p.ip) for p in a.pods] == [(p.name, p.node, p.ip) for p in b.pods]
    assert [n.address for n in a.nodes] == ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
    assert all(p.ip.startswith("10.244.") for p in a.pods)
    s = a.service("db")
    assert s.cluster_ip.startswith("10.96.") and 30000 <= s.ports[0].node_port <= 32767
    assert s.load_balancer_ingress[0].startswith("203.0.113.")
    assert s.ports[0].target_port == 5432 and s.ports[0].protocol == "TCP"


def test_values_given_are_kept_even_outside_default_ranges():
    c = load_one("""
    apiVersion: v1
    kind: Node
    metadata: {name: w1}
    status: {addresses: [{type: InternalIP, address: 172.18.0.2}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: kubernetes}
    spec: {clusterIP: 172.20.0.1, ports: [{name: https, port: 443, targetPort: 6443}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: s}
    spec: {clusterIP: 172.20.0.9, ports: [{port: 80}]}
    """)
    # A snapshot's default/kubernetes outside 10.96.0.0/12 says the cluster's service range
    # is another one (issue 11: a cluster IP outside kubeadm's range is refused otherwise).
    assert c.node("w1").address == "172.18.0.2" and c.service("s").cluster_ip == "172.20.0.9"


def test_pods_without_nodes_are_scheduled_and_nodes_named_by_pods_exist():
    c = load_one("""
    apiVersion: v1
    kind: Pod
    metadata: {name: a}
    spec: {nodeName: worker-7, containers: [{name: c, image: x}]}
    """)
    assert [n.name for n in c.nodes] == ["worker-7"] and c.pods[0].ip.startswith("10.244.1.")


def test_a_pod_no_node_fits_stays_pending_with_a_note():
    c = load_one("""
    apiVersion: v1
    kind: Pod
    metadata: {name: a}
    spec: {nodeSelector: {gpu: "yes"}, containers: [{name: c, image: x}]}
    """)
    assert c.pods[0].node is None and c.pods[0].ip is None
    assert any("Pending" in n for n in c.notes)


def test_service_to_yaml_round_trips(demo):
    text = service_to_yaml(demo.service("web-lb"))
    again = load_one(text).service("web-lb")
    assert (again.type, again.ports[0].port, again.ports[0].target_port) == ("LoadBalancer", 80, "http")


# -- bad input: a clear message naming the file and field, never a traceback ----------------------

def test_yaml_syntax_error_names_file_line_and_column():
    lines = problems_of("apiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n")
    assert len(lines) == 1 and lines[0].startswith("bad.yaml: YAML syntax error at line ")
    assert "column" in lines[0]


def test_bad_indentation_is_reported_with_its_line():
    lines = problems_of("a:\n  b: 1\n c: 2\n")
    assert "line 3" in lines[0]


def test_document_that_is_not_a_mapping():
    lines = problems_of("- just\n- a list\n")
    assert lines == ["bad.yaml: document 1: a Kubernetes object must be a mapping (key: value), not a list"]


def test_missing_kind_and_missing_required_fields():
    assert "kind: Required value" in problems_of("apiVersion: v1\nmetadata: {name: x}\n")[0]
    lines = problems_of("apiVersion: v1\nkind: Service\nmetadata: {}\nspec: {ports: [{port: 80}]}\n")
    assert any("metadata.name: Required value" in line for line in lines)


def test_wrong_types_name_the_field():
    lines = problems_of("""
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {ports: [{port: eighty}]}
    """)
    assert any(line.startswith("bad.yaml: Service/web: spec.ports[0].port:") for line in lines), lines


def test_impossible_port_in_the_api_servers_words():
    lines = problems_of("""
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {ports: [{port: 70000}]}
    """)
    assert "bad.yaml: Service/web: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive" in lines


def test_duplicate_object_names_are_refused():
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
    lines = problems_of(svc + "---\n" + svc)
    assert any("web" in line and ("already exists" in line or "Duplicate" in line) for line in lines), lines


def test_alias_bomb_is_refused_fast():
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        bomb += f"{cur}: &{cur} [{','.join(['*' + prev] * 10)}]\n"
    t = time.perf_counter()
    lines = problems_of(bomb)
    assert time.perf_counter() - t < 2
    assert "alias" in lines[0]


def test_absurd_nesting_is_refused_fast():
    t = time.perf_counter()
    lines = problems_of("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert time.perf_counter() - t < 2 and "bad.yaml" in lines[0]


def test_huge_file_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(300 * 2**20)          # sparse: no time or disk spent
    with pytest.raises(K8slabError, match="k8slab reads files up to 256 MiB"):
        load(str(big))


def test_fifty_megabyte_file_loads_within_bounded_time(tmp_path):
    # 50 MB of ConfigMaps (skipped kind) takes the fast parser's path.
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {k: '" + "x" * 2000 + "'}\n---\n"
    path = tmp_path / "fifty.yaml"
    with open(path, "w") as f:
        n = 50 * 2**20 // len(doc)
        f.write("".join(doc % i for i in range(n)))
    t = time.perf_counter()
    c = load(str(path))
    elapsed = time.perf_counter() - t
    assert c.notes and "ConfigMap" in c.notes[0]
    assert elapsed < 30, elapsed


def test_not_utf8_and_missing_files(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"kind: \xff\xfe\n")
    with pytest.raises(K8slabError, match="not UTF-8"):
        load(str(bad))
    with pytest.raises(K8slabError, match="No such file"):
        load(str(tmp_path / "missing.yaml"))


def test_a_cluster_with_problems_is_never_half_loaded():
    good = "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\nspec: {ports: [{port: 80}]}\n"
    with pytest.raises(K8slabError):
        load_texts([("good.yaml", good), ("bad.yaml", "kind: [\n")])


def test_validate_files_reports_each_problem_with_file_and_path(tmp_path):
    f = tmp_path / "svc.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: Web}\nspec:\n  ports: [{port: 80, nodePort: 30080}]\n")
    lines = [str(p) for p in validate_files([str(f)])]
    assert any(line.startswith(f"{f}: Service/Web: metadata.name: Invalid value: \"Web\"") for line in lines), lines
    assert any("spec.ports[0].nodePort: Forbidden" in line for line in lines), lines


# -- the Rust parser below FAST_PARSER_BYTES: only where it reads what PyYAML reads ----------

def _pyyaml_reading(text):
    """What the PyYAML path gives (documents as kubectl sends them), or its error message."""
    import json
    from k8slab import manifests
    try:
        return json.dumps([manifests._as_sent("f.yaml", i, d)
                           for i, d in enumerate(manifests._pyyaml_documents("f.yaml", text))])
    except K8slabError as e:
        return str(e.problems[0])


def _assert_fast_reads_alike(text):
    import json
    from k8slab import manifests
    try:
        got = json.dumps(manifests._yaml_documents("f.yaml", text))
    except K8slabError as e:
        got = str(e.problems[0])
    text = text.removeprefix("\ufeff")     # as _yaml_documents does before either parser reads
    fast = manifests._exact_fast_documents(text)
    if fast is not None:
        assert json.dumps(fast) == _pyyaml_reading(text), text
    assert got == _pyyaml_reading(text), text
    return fast is not None


# Each found reading differently by the two parsers when compared (yaml_rs 0.1.6, PyYAML 6.0.4):
# YAML 1.1 bools, octal and 0o numbers, `=`, base-60 floats, 1e3 (a string to PyYAML), integers
# past 64 bits, a bare document after `...`, duplicate keys (PyYAML keeps the last), complex keys,
# tabs, NEL and control characters, %YAML directives, aliases, explicit tags.
_READ_DIFFERENTLY = [
    "a: yes\n", "a: On\n", "NO: a\n", "a: [off, y]\n", "a: =\n", "a: 017\n", "a: 09\n", "a: 0o17\n",
    "a: 1:20.5\n", "a: 1e3\n", "a: +.5\n", "a: .NaN\n", "a: +.inf\n", "a: -9223372036854775809\n",
    "a: 1\n...\nb: 2\n", "a: 1\na: 2\n", "? [a]\n: 1\n", "[1, 2]: x\n", "a:\tb\n", "a: x\x85y\n",
    "a: \x07\n", "%YAML 1.1\n---\na: yes\n", "a: &x 1\nb: *x\n", "a: !!bool maybe\n",
    "a: !!float x\n", "<<: {a: 1}\n", "a: 1_000\n", "a: 0b1_0\n", "- " * 3000 + "x\n",
    "a: " + "[" * 300 + "]" * 300 + "\n", "a: 'x\n", "a: b: c\n", "a: -\n", "a: \"\\ud800\"\n",
]


@pytest.mark.parametrize("text", _READ_DIFFERENTLY)
def test_the_rust_parser_reads_only_what_pyyaml_reads_alike(text):
    assert not _assert_fast_reads_alike(text)


def test_the_rust_parser_reads_ordinary_manifests():
    # It must be used, or the speed it buys (k8slab request: benchmarks/request.py) is gone.
    root = os.path.dirname(os.path.dirname(__file__))
    for name in ("demo.yaml", "gateway.yaml", "shop.yaml"):
        with open(os.path.join(root, "notebooks", "manifests", name)) as f:
            assert _assert_fast_reads_alike(f.read()), name
    for text in ("", "# nothing\n", "---\n", "- 1\n- 2\n", "# c\n---\n- 1\n- 2\n", "a: 1\n---\n",
                 "a: 1\r\nb:\r\n  - x\r\n", "a: |+\n  x\n\n", "a: [true, Null, ~, +12, 1:20, '017']\n"):
        assert _assert_fast_reads_alike(text), text


def test_deep_block_nesting_never_reaches_the_rust_parser(monkeypatch):
    # yaml_rs 0.1.6 overflows its stack on `- - - ...` 20,000 deep (a segmentation fault, no
    # exception): above FAST_PARSER_BYTES too, PyYAML reads it and says it is too deep.
    from k8slab import manifests
    monkeypatch.setattr(manifests, "FAST_PARSER_BYTES", 0)
    lines = problems_of("- " * 20_000 + "x\n")
    assert "nesting depth" in lines[0] and "bad.yaml" in lines[0]


_YAML_PIECES = ["a", "b", "yes", "no", "On", "017", "09", "0o7", "0x1F", "1_0", "1:20", "1:20.5", "1e3",
                "1.5", "-1", "~", "null", "true", "=", ".inf", ".NaN", "'x'", '"y"', '"\\t"', "'yes'",
                ": ", ":", " ", "  ", "\n", "\n  ", "- ", "[", "]", "{", "}", ", ", "#c", " #c", "---\n",
                "...\n", "\t", "|\n  ", ">\n  ", "? ", "&x ", "*x", "!!str ", "!!bool ", "<<: ",
                "%YAML 1.1\n", "\x85", "\r\n", "\x07", "\ufeff", "é"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_YAML_PIECES), max_size=24))
def test_the_rust_parser_never_reads_a_text_otherwise_than_pyyaml(pieces):
    _assert_fast_reads_alike("".join(pieces) + "\n")


def test_loading_leaves_the_cycle_collector_as_it_found_it():
    # Loads pause it (a snapshot's million new containers); a failed load, or one in a program
    # that had turned it off itself, must not change it.
    import gc
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n"
    assert gc.isenabled()
    load_texts([("a.yaml", text)])
    assert gc.isenabled()
    with pytest.raises(K8slabError):
        load_texts([("a.yaml", text.replace("80", "0"))])
    assert gc.isenabled()
    gc.disable()
    try:
        load_texts([("a.yaml", text)])
        assert not gc.isenabled()
    finally:
        gc.enable()
