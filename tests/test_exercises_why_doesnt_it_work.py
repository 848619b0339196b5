"""Notebook 08's checks: the broken setup fails, the fix passes end to end, wrong fixes are named."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings, strategies as st

from k8slab import exercises
from k8slab.exercises.why_doesnt_it_work import FIX_CASES, WHERE_TO_LOOK

ROOT = pathlib.Path(__file__).resolve().parents[1]
BROKEN = ROOT / "notebooks" / "manifests" / "broken"
FIXED = ROOT / "tests" / "fixtures" / "fixed"
FILES = {"fix-selector": "10-labels.yaml", "fix-port": "04-web.yaml", "fix-named-port": "13-named.yaml",
         "fix-local": "15-local.yaml", "fix-protocol": "07-resolver.yaml", "fix-https": "03-https.yaml",
         "fix-source-range": "16-firewall.yaml", "fix-namespace": "11-two-teams.yaml",
         "fix-two-api": "22-api.yaml", "fix-two-edge": "23-edge.yaml"}


def test_every_case_has_a_file():
    assert {c.id for c in FIX_CASES} == set(FILES) and len(FIX_CASES) >= 8


@pytest.mark.parametrize("ex", sorted(FILES))
def test_the_setup_as_given_fails(ex):
    fb = exercises.check(ex, (BROKEN / FILES[ex]).read_text())
    assert not fb and fb.misconception not in ("format", "other", "moved")


@pytest.mark.parametrize("ex", sorted(set(FILES) - {"fix-namespace"}))
def test_the_fixed_version_passes(ex):
    assert exercises.check(ex, (FIXED / FILES[ex]).read_text())


@pytest.mark.parametrize("n,case", list(enumerate(FIX_CASES, 1)), ids=[c.id for c in FIX_CASES])
def test_the_solution_code_passes(n, case):
    # The solution's lines, run as the learner would run them on the unedited case string.
    code = exercises.solution(case.id).text.split("\n\n")[-1]
    scope = {f"case_{n}": (BROKEN / FILES[case.id]).read_text()}
    exec("\n".join(line[4:] for line in code.splitlines()), scope)
    assert scope[f"case_{n}"] == case.fixed((BROKEN / FILES[case.id]).read_text())
    assert exercises.check(case.id, scope[f"case_{n}"])


def test_namespace_fix_and_the_move_that_moves_the_name():
    text = (BROKEN / FILES["fix-namespace"]).read_text()
    pods_moved = text.replace("  name: web\n  namespace: shop\n", "  name: web\n", 1)
    assert exercises.check("fix-namespace", pods_moved)
    service_moved = text.replace("kind: Service\nmetadata:\n  name: web\n",
                                 "kind: Service\nmetadata:\n  name: web\n  namespace: shop\n")
    assert exercises.check("fix-namespace", service_moved).misconception == "moved-the-name"


def test_half_fixes_of_the_combined_cases():
    api = (BROKEN / FILES["fix-two-api"]).read_text().replace("port: 80\n", "port: 8080\n")
    assert exercises.check("fix-two-api", api).misconception == "one-fix-at-a-time"
    edge = (BROKEN / FILES["fix-two-edge"]).read_text().replace("- name: web\n          containerPort", "- name: http\n          containerPort")
    assert exercises.check("fix-two-edge", edge).misconception == "one-fix-at-a-time"


def test_wrong_fixes_are_named():
    web = (BROKEN / FILES["fix-port"]).read_text()
    assert exercises.check("fix-port", web.replace("targetPort: 8080", "targetPort: 80")).misconception \
        == "moved-the-target"
    refused = web.replace("targetPort: 8080", "targetPort: 99999")
    assert exercises.check("fix-port", refused).misconception == "refused"
    assert exercises.check("fix-port", "").misconception == "format"
    assert exercises.check("fix-port", ...).misconception == "unanswered"


def test_symptoms():
    assert exercises.check("symptoms", dict(WHERE_TO_LOOK))
    swapped = dict(WHERE_TO_LOOK, **{"connection refused": "port", "timeout": "endpoints"})
    assert exercises.check("symptoms", swapped).misconception == "refused-means-port"
    assert exercises.check("symptoms", {"timeout": "port"}).misconception == "format"


@pytest.mark.parametrize("case", FIX_CASES, ids=[c.id for c in FIX_CASES])
def test_the_setup_as_given_says_only_the_symptom(case):
    from k8slab.exercises.why_doesnt_it_work import fingerprint
    text = (BROKEN / FILES[case.id]).read_text()
    assert fingerprint(text) == case.original          # the notebook's case is the library's file
    fb = exercises.check(case.id, text + "\n# a comment changes nothing\n")
    assert fb.misconception == "unchanged"
    assert not any(code in fb.message for code in case.broken)


# -- notebook 08 ---------------------------------------------------------------------------
NB08 = ROOT / "notebooks" / "08-why-doesnt-it-work.ipynb"


def _cells():
    import json
    return json.loads(NB08.read_text(encoding="utf-8"))["cells"]


def test_notebook_opens_with_objectives_and_closes_with_a_summary():
    cs = _cells()
    assert cs[0]["cell_type"] == "markdown" and "you will be able to" in "".join(cs[0]["source"]).lower()
    assert "minutes" in "".join(cs[0]["source"])
    assert cs[-1]["cell_type"] == "markdown" and "## Summary" in "".join(cs[-1]["source"])


def test_notebook_cases_are_the_library_and_every_check_has_a_solution():
    import re
    sources = ["".join(c["source"]) for c in _cells() if c["cell_type"] == "code"]
    checked = [m for s in sources for m in re.findall(r'exercises\.check\("([\w-]+)"', s)]
    solved = [m for s in sources for m in re.findall(r'exercises\.solution\("([\w-]+)"\)', s)]
    assert set(checked) == {c.id for c in FIX_CASES} | {"symptoms"} and set(checked) <= set(solved)
    for n, case in enumerate(FIX_CASES, 1):
        cell = next(s for s in sources if s.startswith(f"case_{n} = "))
        scope = {}
        exec(cell.split("\nexercises.check", 1)[0], scope)
        assert scope[f"case_{n}"] == (BROKEN / FILES[case.id]).read_text()


def test_notebook_saved_outputs_carry_no_addresses_or_widget_state():
    import json
    import re
    text = NB08.read_text(encoding="utf-8")
    assert not re.search(r" at 0x[0-9a-f]{6,}", text)
    assert "widgets" not in json.loads(text).get("metadata", {})


# -- the whole fix (issue 24, item 2): every dial of the case, before and after ---------------
def _outcome(text, d):
    from k8slab import diagnose
    from k8slab.exercises.why_doesnt_it_work import dial_outcome
    report = diagnose.diagnose_texts([("case.yaml", text)], d.client, d.dial, d.protocol)
    return report, dial_outcome(report, d.lands)[0]


@pytest.mark.parametrize("case", FIX_CASES, ids=[c.id for c in FIX_CASES])
def test_the_case_dials_before_and_after_the_solution(case):
    from k8slab.exercises.why_doesnt_it_work import Dial
    broken = (BROKEN / FILES[case.id]).read_text()
    own = Dial(case.client, case.dial, case.protocol, lands=case.lands)
    # Before: the broken dial fails with the symptom the case states, the others are as declared.
    report, ok = _outcome(broken, own)
    assert not ok and report.symptom == case.symptom
    for d in case.others:
        report, ok = _outcome(broken, d)
        assert ok if d.expect == "works" else not report.works, (d, report.codes)
    # After the solution: the broken dial reaches the right port, the rest unchanged.
    fixed = case.fixed(broken)
    assert _outcome(fixed, own)[1]
    for d in case.others:
        report, ok = _outcome(fixed, d)
        assert ok if d.expect == "works" else not report.works, (d, report.codes)
    fb = exercises.check(case.id, fixed)
    assert fb and all(d.says in fb.message for d in case.others)


def test_switching_the_dns_port_to_tcp_breaks_udp_lookups():
    text = (BROKEN / FILES["fix-protocol"]).read_text()
    tcp_only = text.replace("    protocol: UDP\n    targetPort: dns\n", "    protocol: TCP\n    targetPort: dns-tcp\n")
    assert tcp_only != text
    fb = exercises.check("fix-protocol", tcp_only)
    assert not fb and fb.misconception == "replaced-not-added" and "UDP" in fb.message


def test_replacing_80_by_443_breaks_http():
    text = (BROKEN / FILES["fix-https"]).read_text()
    swapped = text.replace("  - name: http\n    port: 80\n    targetPort: http\n",
                           "  - name: https\n    port: 443\n    targetPort: https\n")
    assert swapped != text
    fb = exercises.check("fix-https", swapped)
    assert not fb and fb.misconception == "replaced-not-added" and "web:80" in fb.message


def test_https_sent_to_the_http_port_is_not_a_fix():
    text = (BROKEN / FILES["fix-https"]).read_text()
    to_http = text.replace("    targetPort: http\n",
                           "    targetPort: http\n  - name: https\n    port: 443\n    targetPort: http\n")
    fb = exercises.check("fix-https", to_http)
    assert not fb and fb.misconception == "https-to-the-http-port" and "8443" in fb.message
    by_number = to_http.replace("port: 443\n    targetPort: http\n", "port: 443\n    targetPort: 8443\n")
    assert exercises.check("fix-https", by_number)


def test_replacing_the_service_port_breaks_whoever_dials_it():
    text = (BROKEN / FILES["fix-port"]).read_text()
    fb = exercises.check("fix-port", text.replace("  - port: 80\n", "  - port: 8080\n"))
    assert not fb and fb.misconception == "replaced-not-added"


@pytest.mark.parametrize("edit", [
    ("  loadBalancerSourceRanges:\n  - 10.0.0.0/8\n", ""),            # the firewall deleted
    ("  - 10.0.0.0/8\n", "  - 0.0.0.0/0\n"),                            # open to everyone
    ("  - 10.0.0.0/8\n", "  - 10.0.0.0/8\n  - 198.51.100.0/24\n"),      # wider than the office
], ids=["deleted", "0.0.0.0/0", "a /24"])
def test_opening_the_load_balancer_wider_than_asked_is_not_a_fix(edit):
    text = (BROKEN / FILES["fix-source-range"]).read_text()
    assert edit[0] in text
    fb = exercises.check("fix-source-range", text.replace(*edit))
    assert not fb and fb.misconception == "opened-to-everyone" and "198.51.100.30" in fb.message


def test_the_office_address_alone_is_the_fix():
    text = (BROKEN / FILES["fix-source-range"]).read_text()
    assert exercises.check("fix-source-range", text.replace("  - 10.0.0.0/8\n", "  - 10.0.0.0/8\n  - 198.51.100.10/32\n"))
    # Other clients that are not the office stay out: the other cluster is 198.51.100.20.
    both = text.replace("  - 10.0.0.0/8\n", "  - 198.51.100.10/32\n  - 198.51.100.20/32\n")
    fb = exercises.check("fix-source-range", both)
    assert not fb and fb.misconception == "opened-too-wide" and "198.51.100.20" in fb.message


def test_moved_is_said_only_when_the_symptom_moved():
    text = (BROKEN / FILES["fix-selector"]).read_text()
    selector = text.replace("    app: web\n  ports", "    app: webapp\n  ports")
    # The selector fixed, and the targetPort broken: still "connection refused", another cause.
    same = exercises.check("fix-selector", selector.replace("targetPort: http", "targetPort: web"))
    assert not same and same.misconception == "same-symptom" and "moved" not in same.message
    assert "connection refused" in same.message
    # The selector fixed, and the port renumbered: refused became a timeout, the problem moved.
    moved = exercises.check("fix-selector", selector.replace("port: 80\n", "port: 81\n"))
    assert not moved and moved.misconception == "moved" and "timeout" in moved.message


@pytest.mark.parametrize("ex", ["fix-local", "fix-two-edge"])
def test_a_fix_that_depends_on_the_scheduler_is_not_accepted(ex):
    text = (BROKEN / FILES[ex]).read_text().replace("replicas: 1", "replicas: 2")
    text = text.replace("- name: web\n          containerPort", "- name: http\n          containerPort")
    fb = exercises.check(ex, text)
    assert not fb and fb.misconception == "depends-on-the-scheduler" and "node-a" in fb.message


def test_a_pod_on_every_node_by_rule_is_accepted():
    text = (BROKEN / FILES["fix-local"]).read_text()
    daemonset = text.replace("kind: Deployment", "kind: DaemonSet").replace("  replicas: 1\n", "")
    assert exercises.check("fix-local", daemonset)
    anti = text.replace("replicas: 1", "replicas: 2").replace(
        "    spec:\n      containers:",
        "    spec:\n      affinity:\n        podAntiAffinity:\n"
        "          requiredDuringSchedulingIgnoredDuringExecution:\n"
        "          - labelSelector:\n              matchLabels:\n                app: web\n"
        "            topologyKey: kubernetes.io/hostname\n      containers:")
    assert anti.count("podAntiAffinity") == 1
    assert exercises.check("fix-local", anti)


def test_placements_move_only_what_the_scheduler_places_and_only_where_it_fits():
    from k8slab.exercises.why_doesnt_it_work import placements
    text = (BROKEN / FILES["fix-local"]).read_text().replace("replicas: 1", "replicas: 2")
    assert [w for w, _ in placements(text)] == ["every pod of Deployment/web on node-a",
                                                "every pod of Deployment/web on node-b"]
    pinned = text.replace("    spec:\n      containers:", "    spec:\n      nodeName: node-a\n      containers:")
    assert placements(pinned) == []
    tainted = text.replace("  name: node-b\n", "  name: node-b\nspec:\n  taints:\n"
                           "  - key: dedicated\n    value: batch\n    effect: NoSchedule\n", 1)
    assert [w for w, _ in placements(tainted)] == []      # all already on node-a; node-b refuses them
    assert placements("kind: [") == []


@pytest.mark.parametrize("case", FIX_CASES, ids=[c.id for c in FIX_CASES])
def test_where_it_breaks_draws_the_stop_then_the_path(case):
    from k8slab.draw import Diagram
    from k8slab.exercises.why_doesnt_it_work import where_it_breaks
    broken = (BROKEN / FILES[case.id]).read_text()
    before = where_it_breaks(broken, case.client, case.dial, case.protocol)
    after = where_it_breaks(case.fixed(broken), case.client, case.dial, case.protocol)
    assert isinstance(before, Diagram) and isinstance(after, Diagram)
    assert "unreachable" in repr(before) and ", reachable" in repr(after)
    assert "name not found" not in before.source or case.broken == ("name-not-found",)


def _placement_setup(nodes: int, tainted: int, replicas: int, bare_pod: bool) -> str:
    docs = []
    for i in range(nodes):
        taint = ("spec:\n  taints:\n  - key: dedicated\n    value: batch\n    effect: NoSchedule\n"
                 if i == tainted else "")
        docs.append(f"apiVersion: v1\nkind: Node\nmetadata:\n  name: n{i}\n{taint}"
                    f"status:\n  addresses:\n  - type: InternalIP\n    address: 192.0.2.{11 + i}\n")
    docs.append("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
                f"  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: web\n  template:\n"
                "    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n"
                "      - name: web\n        image: nginx\n")
    if bare_pod:
        docs.append("apiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\nspec:\n  containers:\n"
                    "  - name: c\n    image: busybox\n")
    return "---\n".join(docs)


@settings(max_examples=40, deadline=None)
@given(nodes=st.integers(1, 3), tainted=st.integers(-1, 2), replicas=st.integers(1, 4),
       bare_pod=st.booleans())
def test_placements_are_exactly_the_other_nodes_a_scheduler_may_choose(nodes, tainted, replicas,
                                                                       bare_pod):
    from k8slab import manifests
    from k8slab.exercises.why_doesnt_it_work import placements
    text = _placement_setup(nodes, tainted, replicas, bare_pod)
    model = manifests.load_texts([("x.yaml", text)])
    fits = {f"n{i}" for i in range(nodes) if i != tainted}
    expected = set()
    for who, pods in (("every pod of Deployment/web", [p for p in model.pods if p.owner == "Deployment/web"]),
                      ("pod solo", [p for p in model.pods if p.name == "solo"])):
        if pods:
            expected |= {f"{who} on {n}" for n in fits if {p.node for p in pods} != {n}}
    found = placements(text)
    assert {w for w, _ in found} == expected
    for what, variant in found:
        node = what.rsplit(" on ", 1)[1]
        moved = manifests.load_texts([("x.yaml", variant)]).pods
        owner = "Deployment/web" if "Deployment" in what else None
        mine = [p for p in moved if (p.owner == owner if owner else p.name == "solo")]
        assert mine and {p.node for p in mine} == {node}
