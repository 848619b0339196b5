"""diagnose: every problem code has a broken setup it names, fixes clear it, and it agrees with route."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import k8slab
from k8slab import diagnose as dg
from k8slab import manifests, routing, trace
from k8slab.cli import main

from test_route_trace_agree import clusters

ROOT = pathlib.Path(__file__).resolve().parents[1]
BROKEN = ROOT / "notebooks" / "manifests" / "broken"
FIXED = ROOT / "tests" / "fixtures" / "fixed"
CASES = json.loads((ROOT / "tests" / "fixtures" / "broken_cases.json").read_text())
DEMO = str(ROOT / "notebooks" / "manifests" / "demo.yaml")
EXAMPLES = int(os.environ.get("K8SLAB_PROPERTY_EXAMPLES", "150"))


def run(path, client, dial, protocol="tcp"):
    return dg.diagnose_files([str(path)], client, dial, protocol)


# -- the library of broken setups --------------------------------------------------------

def test_every_code_has_a_broken_setup():
    covered = {c["code"] for c in CASES}
    assert set(dg.CODES) <= covered, sorted(set(dg.CODES) - covered)
    assert len(list(BROKEN.glob("*.yaml"))) >= 15
    assert {c["file"] for c in CASES} == {p.name for p in BROKEN.glob("*.yaml")}


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_broken_setup_is_named(case):
    text = (BROKEN / case["file"]).read_text()
    first = text.splitlines()[0]
    # One comment line: what the learner reports; nothing that names the cause.
    assert first.startswith("# ") and ":" in first
    assert case["code"] not in text and "fix" not in text.lower()
    r = run(BROKEN / case["file"], case["client"], case["dial"], case["protocol"])
    assert case["code"] in r.codes, r.text()
    wanted = [p for p in r.problems if p.code == case["code"]][0]
    assert wanted.object and wanted.field and wanted.message and wanted.fix
    if wanted.severity == "error":
        assert not r.works
        assert r.symptom != "ok"
    else:
        assert r.works and not r.errors, r.text()


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_fixed_version_works(case):
    r = run(FIXED / case["file"], case["client"], case["fixed_dial"], case["protocol"])
    assert not r.errors and case["code"] not in r.codes, r.text()
    assert r.works and r.symptom == "ok"
    outside = not case["fixed_dial"].split(":")[0].endswith((".com",))
    if outside:
        # The route, asked directly, reaches a pod.
        assert r.route is not None and r.route.reachable, r.text()
        assert r.route.endpoints or r.route.entry == "DNS"


def test_symptoms_by_kind_of_failure():
    by = {c["code"]: run(BROKEN / c["file"], c["client"], c["dial"], c["protocol"]).symptom for c in CASES}
    assert by["name-not-found"] == "name not found"
    assert by["headless-no-ready-pods"] == "name not found"
    assert by["lb-pending"] == "no address yet"
    assert by["selector-matches-nothing"] == "connection refused"      # kube-proxy's REJECT
    assert by["pods-not-ready"] == "connection refused"
    assert by["dialed-target-port"] == "timeout"                        # unrouted cluster IP port
    assert by["no-local-endpoints"] == "timeout"                        # DROP
    assert by["source-range-blocked"] == "timeout"
    assert by["dialed-service-port-on-node"] == "connection refused"   # the node's own stack


# -- the contract ------------------------------------------------------------------------

def test_json_contract_on_the_demo():
    out = dg.diagnose(k8slab.demo_cluster(), "pod/client", "web:80").to_dict()
    assert list(out) == ["client", "dial", "protocol", "works", "symptom", "checks", "problems", "kubectl"]
    assert out["works"] is True and out["symptom"] == "ok" and out["problems"] == []
    ids = [c["id"] for c in out["checks"]]
    assert ids == sorted(ids, key=dg.CHECKS.index)                   # the guide's order
    assert out["checks"][0]["detail"] == "web -> web.default.svc.cluster.local -> 10.96.0.11"
    assert any(k.startswith("kubectl get endpointslices") for k in out["kubectl"])


def test_checks_stop_where_the_problem_is():
    r = dg.diagnose(k8slab.demo_cluster(), "pod/client", "web:8080")
    assert [c.id for c in r.checks] == ["dns", "service", "port"]
    assert r.checks[-1].ok is False
    p = r.problems[0]
    assert (p.code, p.object, p.field) == ("dialed-target-port", "Service/web", "spec.ports[0].targetPort")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), st.integers(1, 65535), st.sampled_from(["tcp", "udp"]))
def test_a_port_the_cluster_ip_lacks_times_out_as_the_trace_says(text, port, protocol):
    cluster = manifests.load_texts([("generated.yaml", text)])
    client = next((f"pod/{p.name}" for p in cluster.pods if p.ip and p.node and not p.host_network),
                  f"node/{cluster.nodes[0].name}")
    for svc in cluster.services:
        if not svc.proxied:
            continue                  # headless or ExternalName: no cluster IP to dial
        if any(p.port == port and p.protocol == protocol.upper() for p in svc.ports):
            continue
        d = dg.diagnose(cluster, client, f"{svc.cluster_ip}:{port}", protocol)
        t = trace.trace(cluster, client, f"{svc.cluster_ip}:{port}", protocol=protocol)
        assert d.symptom == "timeout" and t.verdict in ("unrouted", "dropped"), (d.text(), t.verdict)


def test_node_client_uses_the_node_resolver():
    r = dg.diagnose(k8slab.demo_cluster(), "node/node-a", "web:80")
    assert r.codes == ["name-not-found"] and "10.96.0.11:80" in r.problems[0].fix
    assert dg.diagnose(k8slab.demo_cluster(), "node/node-a", "10.96.0.11:80").works


def test_outside_client_by_name_means_the_published_address():
    c = k8slab.demo_cluster()
    assert dg.diagnose(c, "internet", "web-lb:80").works
    r = dg.diagnose(c, "laptop", "web:80")
    assert r.codes == ["not-exposed"] and not r.works


def test_validation_problems_come_first():
    r = run(BROKEN / "21-refused.yaml", "pod/frontend", "web:80")
    assert r.codes[0] == "invalid" and r.checks[0].id == "valid" and not r.checks[0].ok
    assert r.problems[0].object == "Service/web" and "targetPort" in r.problems[0].field
    assert "name-not-found" in r.codes          # the refused Service does not exist


@pytest.mark.parametrize("dial", ["web", "web:", "web:0", "web:65536", "web:http", "we$b:80",
                                  "10.96.0:80", "300.1.1.1:80", ":80"])
def test_bad_dial_is_a_usage_error(dial, capsys):
    with pytest.raises(SystemExit) as exit:          # argparse's usage error
        main(["diagnose", DEMO, "--client", "pod/client", "--dial", dial])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "HOST:PORT" in err and "Traceback" not in err


def test_cli_json_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["diagnose", DEMO, "--client", "pod/client", "--dial", "web:8080", "--protocol", "icmp"])
    assert exit.value.code == 2
    capsys.readouterr()
    assert main(["diagnose", DEMO, "--client", "pod/client", "--dial", "web:8080", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["works"] is False and out["symptom"] == "timeout"
    assert out["problems"][0]["code"] == "dialed-target-port"
    assert main(["diagnose", DEMO, "--client", "pod/nobody", "--dial", "web:80"]) == 1
    assert main(["diagnose", str(BROKEN), "--client", "pod/frontend", "--dial", "web:80"]) in (0, 1)


def test_explain_text():
    r = dg.diagnose(k8slab.demo_cluster(), "pod/client", "web:8080")
    text = dg.explain_text(r)
    assert text.splitlines()[0] == "fails: timeout  (web:8080)"
    assert "dialed-target-port" in text
    h = dg.explain_text(r, html_output=True)
    assert h.startswith("<div>") and "<script" not in h and "dialed-target-port" in h


def test_whole_process_runs():
    out = subprocess.run([sys.executable, "-m", "k8slab", "diagnose", DEMO, "--client", "laptop",
                          "--dial", "192.0.2.11:80"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "dialed-service-port-on-node" in out.stdout


# -- the property: diagnose and route never disagree -----------------------------------------

def _combos(cluster):
    first = cluster.nodes[0]
    for client in [f"pod/{p.name}" for p in cluster.pods if p.ip and p.node] + \
            [f"node/{n.name}" for n in cluster.nodes] + ["laptop", "other-cluster", "internet"]:
        for svc in cluster.services:
            for sp in svc.ports:
                for entry in (None,) + routing.ENTRIES:
                    vias = [first] if entry == "ExternalIP" else sorted({first.name, cluster.nodes[-1].name})
                    for via in vias:
                        yield client, svc, sp, entry, cluster.node(via) if isinstance(via, str) else via


def _dial(svc, sp, way, via):
    if not svc.proxied:
        return None                   # headless or ExternalName: only a name, no address to dial
    if way == "ClusterIP":
        return f"{svc.cluster_ip}:{sp.port}"
    if way == "NodePort":
        return f"{via.address}:{sp.node_port}" if sp.node_port else None
    if way == "LoadBalancer":
        return f"{svc.load_balancer_ingress[0]}:{sp.port}" if svc.load_balancer_ingress else None
    return f"{svc.external_ips[0]}:{sp.port}" if svc.external_ips else None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), st.data())
def test_diagnose_agrees_with_route(text, data):
    cluster = manifests.load_texts([("generated.yaml", text)])
    combos = list(_combos(cluster))
    if not combos:
        return
    picks = data.draw(st.lists(st.integers(0, len(combos) - 1), min_size=1, max_size=10, unique=True))
    for i in picks:
        client, svc, sp, entry, via = combos[i]
        r = routing.route(cluster, client, svc.name, svc.namespace, port=sp.port, entry=entry,
                          via_node=via.name)
        way = r.entry or entry          # a forced way in that this client cannot use: dial it anyway
        if way is None or way == "DNS" or r.code in ("lb-pending", "no-such-port"):
            continue
        if way == "ExternalIP" and via.name != cluster.nodes[0].name:
            # An external IP reaches the node the network routes it to; diagnose, given only
            # the address, takes the first node by name (route's default too). Another via node
            # can change who a NetworkPolicy sees after SNAT (the pod's own node is allowed).
            continue
        dial = _dial(svc, sp, way, via)
        if dial is None:
            continue
        d = dg.diagnose(cluster, client, dial, protocol=sp.protocol.lower())
        where = f"{client} -> {dial} ({svc.name}, route {r.code})\n{d.text()}"
        if r.reachable:
            assert d.works and not d.errors, where
        else:
            assert not d.works and d.errors, where
        assert d.symptom in dg.SYMPTOMS
        assert d.works == (d.symptom == "ok"), where
        # What the client sees is what the packet walked through the rules meets.
        t = trace.trace(cluster, client, dial, protocol=sp.protocol.lower(),
                        via_node=via.name if way in ("NodePort", "ExternalIP") else None)
        seen = {"delivered": "ok", "rejected": "connection refused"}.get(t.verdict, "timeout")
        if r.code == "ok" or len({b.verdict for b in t.branches}) == 1:
            assert d.symptom == seen, f"{where}\ntrace: {t.verdict}"
