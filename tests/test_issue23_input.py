"""Issue 23, item 7: bad input that escaped or misled, each with the API server's words (or a
message naming the file or option), never a traceback."""

import pytest
from hypothesis import given, settings, strategies as st

import fuzzing
import k8slab
from k8slab import routing, trace
from k8slab.manifests import validate_texts
from support import cluster_from

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: web-1, labels: {{app: web}}}}
spec: {{nodeName: node-a, containers: [{{name: c, image: x}}]}}
status: {{phase: Running, podIP: {ip}, conditions: [{{type: Ready, status: "True"}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{type: NodePort, selector: {{app: web}}, ports: [{{port: 80}}]}}
"""


@settings(max_examples=60, deadline=None)
@given(ip=fuzzing.leading_zero_ipv4)
def test_a_pod_ip_with_leading_zeros_is_refused_in_the_api_servers_words(ip):
    # apimachinery/pkg/api/validation/ip.go parseIP (StrictIPCIDRValidation, on by default):
    # ParseIPSloppy reads it, netip.ParseAddr does not: "must not have leading 0s".
    problems = validate_texts([("pod.yaml", POD.format(ip=ip))])
    assert [str(p) for p in problems] == [
        f'pod.yaml: Pod/web-1: status.podIP: Invalid value: "{ip}": must not have leading 0s']
    with pytest.raises(k8slab.K8slabError, match="must not have leading 0s"):
        k8slab.Cluster.from_yaml(POD.format(ip=ip))


@pytest.mark.parametrize("field,text", [
    ("spec.clusterIPs[0]", "clusterIP: 10.96.0.011, "),
    ("spec.externalIPs[0]", "externalIPs: [192.0.2.0100], "),
])
def test_service_addresses_with_leading_zeros_are_refused(field, text):
    svc = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
           f"spec: {{{text}selector: {{app: web}}, ports: [{{port: 80}}]}}\n")
    problems = [str(p) for p in validate_texts([("svc.yaml", svc)])]
    assert any(p.startswith(f"svc.yaml: Service/web: {field}: Invalid value") and
               p.endswith("must not have leading 0s") for p in problems), problems


def test_a_node_address_with_leading_zeros_is_read_as_kube_proxy_reads_it():
    # The API server stores any text in status.addresses; kube-proxy parses the node IP with
    # netutils.ParseIPSloppy, which reads "192.0.2.011" as 192.0.2.11 (decimal).
    c = cluster_from("apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\n"
                     "status: {addresses: [{type: InternalIP, address: 192.0.2.011}]}\n---\n"
                     + POD.format(ip="10.244.1.5"))
    assert c.node("node-a").address == "192.0.2.11"
    r = routing.route(c, "laptop", "web")
    assert r.reachable and r.hops[1]["address"].startswith("192.0.2.11:")
    assert trace.trace(c, "laptop", r.hops[1]["address"]).verdict == "delivered"


@settings(max_examples=80, deadline=None)
@given(spec=fuzzing.json_values)
def test_the_kubernetes_service_with_any_spec_gets_a_message_not_a_bug(spec):
    # default/kubernetes is read first (it fixes the Service range); a spec of the wrong JSON
    # type is the decoder's error, as for any Service.
    import json
    text = json.dumps({"apiVersion": "v1", "kind": "Service",
                       "metadata": {"name": "kubernetes", "namespace": "default"}, "spec": spec})
    for p in validate_texts([("k.json", text)]):
        assert "a bug in k8slab" not in str(p) and str(p).startswith("k.json")


@settings(max_examples=80, deadline=None)
@given(text=fuzzing.yaml_bool_texts)
def test_an_explicit_bool_tag_reads_as_go_yaml_or_names_the_line(text):
    # go-yaml v2 resolve.go: `!!bool X` decodes only its bool spellings; otherwise
    # "cannot decode !!str `X` as a !!bool". Never a KeyError.
    doc = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
           f"spec: {{ports: [{{port: 80}}], publishNotReadyAddresses: !!bool {text}}}\n")
    problems = [str(p) for p in validate_texts([("b.yaml", doc)])]
    if text in "y Y yes Yes YES on On ON true True TRUE n N no No NO off Off OFF false False FALSE".split():
        assert problems == []
    else:
        assert problems == [f"b.yaml: YAML syntax error at line 4, column 55: cannot decode !!str "
                            f"`{text}` as a !!bool"]


def test_generated_pod_names_are_unique_like_the_replicaset_controllers():
    # apiserver generateName: base + 5 letters of "bcdfghjklmnpqrstvwxz2456789"
    # (apimachinery/pkg/util/rand); a collision is AlreadyExists and the ReplicaSet controller
    # creates again with a new suffix. 27^5 suffixes: 30,000 pods would repeat ~31 by chance.
    from k8slab.manifests import load_texts
    deploy = ("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\nspec:\n  replicas: 30000\n"
              "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
              "    spec: {containers: [{name: c, image: x}]}\n")
    c = load_texts([("rs.yaml", deploy)])
    names = [p.name for p in c.pods]
    assert len(names) == len(set(names)) == 30000
    alphabet = set("bcdfghjklmnpqrstvwxz2456789")
    assert all(n.startswith("web-") and len(n) == 9 and set(n[4:]) <= alphabet for n in names)


def test_a_generated_name_never_takes_a_given_pods_name():
    from k8slab.manifests import load_texts
    rs = ("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\nspec:\n  replicas: 1\n"
          "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
          "    spec: {containers: [{name: c, image: x}]}\n")
    first = load_texts([("rs.yaml", rs)]).pods[0].name
    given = (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {first}}}\n"
             "spec: {containers: [{name: c, image: x}]}\n")
    c = load_texts([("rs.yaml", rs + "---\n" + given)])
    assert sorted(p.name for p in c.pods) == sorted({p.name for p in c.pods}) and len(c.pods) == 2


# -- the command line's options --------------------------------------------------------------

DEMO = "notebooks/manifests/demo.yaml"


def cli(capsys, *argv):
    from k8slab.cli import main
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    argv = [os.path.join(root, a) if a == DEMO else a for a in argv]
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out + out.err


@settings(max_examples=50, deadline=None)
@given(digits=fuzzing.non_ascii_digits)
def test_dial_ports_take_ascii_digits_only(digits):
    # A socket's port is ASCII digits; str.isdigit and int() also read "٨٠" and "８٠".
    with pytest.raises(trace.DialError, match="the port must be a number from 1 to 65535"):
        trace.parse_dial(f"web:{digits}")
    with pytest.raises(k8slab.K8slabError):
        trace.parse_dial(f"10.96.0.11:{digits}")


def test_fullwidth_port_on_the_command_line(capsys):
    code, text = cli(capsys, "trace", DEMO, "--client", "pod/client", "--dial", "web:８０")
    assert code == 2 and "argument --dial" in text and "the port must be a number" in text


def test_a_5000_digit_port_is_a_usage_error_that_names_the_option(capsys):
    for command in ("trace", "diagnose"):
        code, text = cli(capsys, command, DEMO, "--client", "pod/client", "--dial", "web:" + "9" * 5000)
        assert code == 2 and "argument --dial" in text and "_dial" not in text and len(text) < 1000
    code, text = cli(capsys, "route", DEMO, "--client", "pod/client", "--service", "web", "--port", "9" * 5000)
    assert code in (0, 1) and "Traceback" not in text and "no port" in text


@pytest.mark.parametrize("client", ["pod//client", "pod/default/client/x", "pod/default/"])
def test_a_pod_client_has_one_slash_at_most(client, capsys):
    code, text = cli(capsys, "route", DEMO, "--client", client, "--service", "web")
    assert code == 1 and "give pod/NAME or pod/NAMESPACE/NAME" in text


@settings(max_examples=30, deadline=None)
@given(name=fuzzing.any_case("web.default"))
def test_a_typed_name_matches_its_service_whatever_the_case(name, demo):
    # RFC 4343: DNS names compare without case; CoreDNS answers WEB.default as web.default
    r = routing.route(demo, "pod/client", "web", name=name)
    assert r.reachable and r.dns["rcode"] == "NOERROR"


def test_a_typed_address_is_not_looked_up(demo):
    # glibc getaddrinfo: a numeric host is the address; no DNS query is sent.
    ip = demo.service("web").cluster_ip
    r = routing.route(demo, "pod/client", "web", name=ip)
    assert r.reachable and r.entry == "ClusterIP" and r.dns is None
    with pytest.raises(k8slab.K8slabError, match="an address, not a name"):
        routing.route(demo, "pod/client", "web", name="10.96.0.99")
    with pytest.raises(k8slab.K8slabError, match="leading zeros"):
        routing.route(demo, "pod/client", "web", name="010.96.0.11")


# -- the Python API's inputs and the outputs ------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(path=fuzzing.unusable_paths)
def test_load_refuses_unusable_file_names_by_name(path):
    with pytest.raises(k8slab.K8slabError, match="not a usable file name") as e:
        k8slab.load(path)
    str(e.value).encode("utf-8")               # printable: no NUL, no lone surrogate in it


def test_load_given_yaml_text_points_to_from_yaml():
    with pytest.raises(k8slab.K8slabError, match=r"looks like YAML text.*Cluster\.from_yaml"):
        k8slab.load("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")


@settings(max_examples=50, deadline=None)
@given(value=fuzzing.not_yaml_text)
def test_from_yaml_names_what_it_was_given(value):
    with pytest.raises(k8slab.K8slabError, match="takes YAML text"):
        k8slab.Cluster.from_yaml(value)


def test_from_yaml_reads_utf8_bytes_and_names_other_bytes():
    c = k8slab.Cluster.from_yaml(b"apiVersion: v1\nkind: Node\nmetadata: {name: n}\n")
    assert [n.name for n in c.nodes] == ["n"]
    with pytest.raises(k8slab.K8slabError, match="not UTF-8 text"):
        k8slab.Cluster.from_yaml(b"\xff\xfe")


def test_draw_output_gets_the_inputs_guard(tmp_path, capsys):
    # manifests.read_text refuses a FIFO before opening it; -o does the same, and never blocks.
    import os
    fifo = tmp_path / "out.svg"
    os.mkfifo(fifo)
    code, text = cli(capsys, "draw", DEMO, "--client", "laptop", "--service", "web-nodeport", "-o", str(fifo))
    assert code == 1 and "named pipe (FIFO)" in text and str(fifo) in text
    (tmp_path / "d.svg").mkdir()
    code, text = cli(capsys, "draw", DEMO, "--client", "laptop", "--service", "web-nodeport",
                     "-o", str(tmp_path / "d.svg"))
    assert code == 1 and "is a directory" in text
