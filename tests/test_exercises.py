"""Checked exercises: the right answer passes; each typical wrong answer names its own misconception."""

import json
import re
from pathlib import Path

import pytest

from k8slab import exercises
from k8slab.exercises import BROKEN_SERVICE, EXERCISES, Feedback, Solution, check

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def right_choose_type(client):
    return {"pod": "ClusterIP", "node": "ClusterIP", "laptop": "NodePort",
            "other-cluster": "NodePort", "internet": "LoadBalancer"}[client]


def with_type(t, extra=""):
    return BROKEN_SERVICE.replace("spec:\n", f"spec:\n  type: {t}\n") + extra


RIGHT = {
    "warm-up": [{"node-a": 2, "node-b": 1, "node-c": 0}, {"node-a": "2", "node-b": 1, "node-c": 0}],
    "reach": [{"pod", "node"}, ["pod/client", "node/node-a"], ("node", "pod")],
    "hops": [["client", "node-port", "service", "pod"], "client -> node-port -> service -> pod",
             ("client", "node port", "Service", "pod")],
    "choose-type": [right_choose_type, {"pod": "ClusterIP", "node": "ClusterIP", "laptop": "NodePort",
                                        "other-cluster": "NodePort", "internet": "LoadBalancer"}],
    "ports": [{"laptop": 30080, "pod": 80, "container": 8080},
              {"laptop": "30080", "pod": "80", "container": "8080"}],
    "fix": [with_type("NodePort"), with_type("LoadBalancer"),
            with_type("NodePort").replace("targetPort: http", "targetPort: http\n    nodePort: 30080"),
            with_type("NodePort").replace("targetPort: http", "targetPort: 8080")],
    "pending": [{"pod/client": "ClusterIP", "laptop": "NodePort", "internet": None}],
}

# exercise -> [(wrong answer, the misconception it must be diagnosed as)]
WRONG = {
    "warm-up": [
        ({"node-a": 2, "node-b": 1, "node-c": 1}, "every-pod-is-a-backend"),
        ({"node-a": 1, "node-b": 1, "node-c": 1}, "one-replica-per-node"),
        ({"node-a": 1, "node-b": 1, "node-c": 2}, "taint-ignored"),
    ],
    "reach": [
        ({"pod", "node", "laptop"}, "cluster-ip-is-public"),
        ({"pod", "node", "internet", "other-cluster", "laptop"}, "cluster-ip-is-public"),
        ({"node"}, "cluster-ip-needs-more"),
        (set(), "cluster-ip-needs-more"),
        ({"pod"}, "only-pods"),
    ],
    "hops": [
        (["client", "service", "pod"], "cluster-ip-is-the-door"),
        (["client", "cluster-ip", "pod"], "cluster-ip-is-the-door"),
        (["client", "node-port", "cluster-ip", "pod"], "node-port-forwards-to-cluster-ip"),
        (["client", "node-port", "pod"], "node-port-goes-straight-to-a-pod"),
        (["client", "load-balancer", "node-port", "service", "pod"], "node-port-has-load-balancer"),
        (["client", "service", "node-port", "pod"], "order"),
        (["client", "node-port", "service"], "no-pod"),
    ],
    "choose-type": [
        (lambda c: "ClusterIP", "cluster-ip-is-public"),
        (lambda c: {"internet": "NodePort"}.get(c) or right_choose_type(c), "node-ips-are-public"),
        (lambda c: "LoadBalancer", "over-exposed"),
        (lambda c: "NodePort" if c != "internet" else "LoadBalancer", "over-exposed"),
        (lambda c: "ExternalName", "external-name-proxies"),
        (lambda c: right_choose_type(c).lower(), "format"),
        (lambda c: 1 / 0, "format"),
    ],
    "ports": [
        ({"laptop": 80, "pod": 80, "container": 8080}, "service-port-on-nodes"),
        ({"laptop": 8080, "pod": 80, "container": 8080}, "pod-port-from-outside"),
        ({"laptop": 30080, "pod": 8080, "container": 8080}, "target-port-on-cluster-ip"),
        ({"laptop": 30080, "pod": 30080, "container": 8080}, "node-port-on-cluster-ip"),
        ({"laptop": 30080, "pod": 80, "container": 80}, "port-is-container-port"),
        ({"laptop": 30080, "pod": 80, "container": 30080}, "node-port-in-container"),
        ({"laptop": 30080, "pod": 80, "container": "http"}, "named-target-port"),
    ],
    "fix": [
        (BROKEN_SERVICE, "still-cluster-ip"),
        (with_type("ClusterIP"), "still-cluster-ip"),
        (with_type("nodeport"), "type-spelling"),
        (with_type("ExternalName"), "external-name-proxies"),
        (BROKEN_SERVICE.replace("targetPort: http", "targetPort: http\n    nodePort: 30080"),
         "node-port-without-type"),
        (with_type("NodePort").replace("targetPort: http", "targetPort: http\n    nodePort: 8080"),
         "node-port-range"),
        (with_type("NodePort").replace("app: web", "app: shop"), "selector"),
        (with_type("NodePort").replace("targetPort: http", "targetPort: 80"), "target-port"),
        ("spec: [unclosed", "yaml"),
    ],
    "pending": [
        ({"pod/client": "ClusterIP", "laptop": None, "internet": None}, "pending-means-nothing-works"),
        ({"pod/client": "ClusterIP", "laptop": "LoadBalancer", "internet": None}, "pending-has-an-address"),
        ({"pod/client": "ClusterIP", "laptop": "NodePort", "internet": "NodePort"}, "node-ips-are-public"),
        ({"pod/client": None, "laptop": "NodePort", "internet": None}, "pending-breaks-inside"),
        ({"pod/client": "ClusterIP", "laptop": "ClusterIP", "internet": None}, "cluster-ip-is-public"),
    ],
}


RIGHT_CASES = [pytest.param(ex, answer, id=f"{ex}-{i}")
               for ex, answers in RIGHT.items() for i, answer in enumerate(answers)]
WRONG_CASES = [pytest.param(ex, answer, misconception, id=f"{ex}-{misconception}-{i}")
               for ex, rows in WRONG.items() for i, (answer, misconception) in enumerate(rows)]


@pytest.mark.parametrize("ex,answer", RIGHT_CASES)
def test_right_answers_pass(ex, answer):
    fb = check(ex, answer)
    assert fb.correct, str(fb)
    assert fb.misconception is None and bool(fb)
    assert str(fb).startswith("Right.")


@pytest.mark.parametrize("ex,answer,misconception", WRONG_CASES)
def test_each_typical_wrong_answer_names_its_misconception(ex, answer, misconception):
    fb = check(ex, answer)
    assert not fb.correct
    assert fb.misconception == misconception, str(fb)
    assert fb.hint, "every wrong answer comes with a hint"
    assert str(fb).startswith("Not yet.") and "Hint: " in str(fb)


@pytest.mark.parametrize("ex", list(WRONG))
def test_different_misconceptions_get_different_feedback(ex):
    by_kind = {}
    for answer, misconception in WRONG[ex]:
        by_kind.setdefault(misconception, set()).add(check(ex, answer).message)
    messages = [m for ms in by_kind.values() for m in ms]
    firsts = {min(ms) for ms in by_kind.values()}
    assert len(firsts) == len(by_kind), "two misconceptions share one message"
    assert len(messages) >= len(by_kind)


@pytest.mark.parametrize("ex", list(EXERCISES))
@pytest.mark.parametrize("answer", [..., None, {"a": ...}, [...]])
def test_unanswered_is_not_a_wrong_answer(ex, answer):
    fb = check(ex, answer)
    assert not fb.correct and fb.misconception in ("unanswered", "format")
    if answer is ... or answer is None:
        assert fb.misconception == "unanswered"
        assert str(fb).startswith("Not answered yet.")


def test_a_function_still_returning_ellipsis_is_unanswered():
    def choose_type(client):
        return ...
    assert check("choose-type", choose_type).misconception == "unanswered"


JUNK = [0, 1.5, "", "nonsense", object(), {"x": 1}, [1, 2], {1, 2}, b"bytes", True,
        lambda: None, {"laptop": [], "pod": {}, "container": None}, "---\n- a\n- b\n", "kind: Pod\n"]


@pytest.mark.parametrize("ex", list(EXERCISES))
@pytest.mark.parametrize("answer", JUNK, ids=range(len(JUNK)))
def test_no_answer_ever_raises(ex, answer):
    fb = check(ex, answer)
    assert isinstance(fb, Feedback) and not fb.correct
    assert fb.message


def test_the_notebook_placeholders_are_unanswered():
    assert check("ports", {"laptop": ..., "pod": ..., "container": ...}).misconception == "unanswered"
    assert check("pending", {"pod/client": ..., "laptop": ..., "internet": ...}).misconception == "unanswered"


@pytest.mark.parametrize("ex", list(EXERCISES))
def test_solutions_are_hidden_until_asked_and_then_correct(ex):
    sol = exercises.solution(ex)
    assert isinstance(sol, Solution)
    bundle = sol._repr_mimebundle_()
    assert "<details" in bundle["text/html"] and "<details open" not in bundle["text/html"]
    assert "hidden" in bundle["text/plain"]
    assert str(sol).startswith(f"Solution to exercise {ex!r}:")
    assert exercises.hint(ex).startswith("Hint: ")


SOLUTION_ANSWERS = {"choose-type": None, "fix": None}
# Notebook 08's fix cases show their solution as edits to the case's YAML string
# (tests/test_exercises_why_doesnt_it_work.py runs them).
SOLUTION_ANSWERS.update(dict.fromkeys(e for e in EXERCISES if e.startswith("fix-")))


@pytest.mark.parametrize("ex", [e for e in EXERCISES if e not in SOLUTION_ANSWERS])
def test_the_solution_text_states_an_answer_that_passes(ex):
    # each solution ends with a code line "answer... = <python literal>"; it must pass the check
    text = exercises.solution(ex).text
    line = [ln.strip() for ln in text.splitlines() if re.match(r"\s+answer(_\d)? = ", ln)][-1]
    value = eval(line.split(" = ", 1)[1])          # the literal the solution shows
    assert check(ex, value).correct


def test_the_fix_solution_manifest_passes():
    text = exercises.solution("fix").text
    block = text.split("\n\n")[1]
    manifest = "\n".join(ln[4:] for ln in block.splitlines())
    assert check("fix", manifest).correct


def test_the_choose_type_solution_passes():
    block = exercises.solution("choose-type").text.split("\n\n")[0]
    namespace = {}
    exec("\n".join(ln[4:] for ln in block.splitlines()), namespace)
    assert check("choose-type", namespace["choose_type"]).correct


def test_feedback_renders_as_html_and_text():
    fb = check("reach", {"laptop"})
    bundle = fb._repr_mimebundle_()
    assert "Not yet." in bundle["text/html"] and "<code>" in bundle["text/html"]
    assert bundle["text/plain"] == str(fb)
    assert "<" not in fb.message.replace("<pending>", "")


def test_unknown_exercise_is_a_clear_error():
    from k8slab.errors import K8slabError
    with pytest.raises(K8slabError, match="no exercise"):
        check("nope", 1)


def test_answer_keys_come_from_the_model():
    # Changing the demo would change the keys: they are computed, never typed in.
    from k8slab.exercises.who_is_calling import _ports_key, _smallest_types
    assert _ports_key()["laptop"] == 30080 and _ports_key()["container"] == 8080
    assert _smallest_types() == {"pod": "ClusterIP", "node": "ClusterIP", "laptop": "NodePort",
                                 "other-cluster": "NodePort", "internet": "LoadBalancer"}


# -- the lesson around the exercises ---------------------------------------------------------
def cells(name):
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    return nb["cells"]


def test_notebook_01_checks_at_least_five_exercises_each_with_a_solution():
    sources = ["".join(c["source"]) for c in cells("01-who-is-calling.ipynb") if c["cell_type"] == "code"]
    checked = [m for s in sources for m in re.findall(r'exercises\.check\("([\w-]+)"', s)]
    solved = [m for s in sources for m in re.findall(r'exercises\.solution\("([\w-]+)"\)', s)]
    assert len(set(checked)) >= 5
    assert {"reach", "hops", "choose-type", "ports", "fix"} <= set(checked)
    assert set(checked) <= set(solved)
    assert all(ex in EXERCISES for ex in checked)


@pytest.mark.parametrize("name", ["00-start-here.ipynb", "01-who-is-calling.ipynb"])
def test_notebooks_open_with_objectives_and_close_with_a_summary(name):
    cs = cells(name)
    first, last = "".join(cs[0]["source"]), "".join(cs[-1]["source"])
    assert cs[0]["cell_type"] == "markdown" and "you will be able to" in first.lower()
    assert cs[-1]["cell_type"] == "markdown" and "## Summary" in last


@pytest.mark.parametrize("name", ["00-start-here.ipynb", "01-who-is-calling.ipynb"])
def test_saved_outputs_carry_no_memory_addresses_or_widget_state(name):
    text = (NOTEBOOKS / name).read_text(encoding="utf-8")
    assert not re.search(r" at 0x[0-9a-f]{6,}", text)
    nb = json.loads(text)
    assert "widgets" not in nb.get("metadata", {})


# -- Notebook 05: what kube-proxy writes ------------------------------------------------------
NB05 = "05-what-kube-proxy-writes.ipynb"
PATH_KEY = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXT", "KUBE-SVC", "KUBE-SEP"]

RULES_RIGHT = {
    "rules-cascade": [[0.25, 0.3333333333, 0.5, None], ("1/4", "1/3", "0.5", 1), [0.25, 0.333, 0.5, "none"]],
    "rules-path": [PATH_KEY, " -> ".join(PATH_KEY),
                   "PREROUTING -> KUBE-SERVICES -> KUBE-NODEPORTS -> KUBE-EXT-IWCJJAMV7TQADP7P -> "
                   "KUBE-MARK-MASQ -> KUBE-SVC-IWCJJAMV7TQADP7P -> KUBE-SEP-XXXX -> KUBE-POSTROUTING",
                   ["services", "nodeports", "ext", "svc", "sep"]],
    "rules-local": [{"laptop": "dropped", "pod/client": "forwarded"},
                    {"laptop": "drop", "pod": "Forwarded"}],
    "rules-no-endpoints": [{"client_sees": "refused", "table": "filter"},
                           {"client_sees": "Connection refused", "table": "*filter"}],
    "rules-affinity": [{"checks": 3, "seconds": 10800, "recorded_in": "KUBE-SEP"},
                       {"checks": "3", "seconds": "10800", "recorded_in": "KUBE-SEP-UIQK3OSOSTRHRPBX"}],
    "nft-hops": [{"services": "node-port", "external": "node-port", "service": "service", "endpoint": "pod"},
                 {"services": "Node-Port", "external-GCGJYZ2R-default/web-nodeport/tcp/http": "node-port",
                  "service-GCGJYZ2R-default/web-nodeport/tcp/http": "service", "endpoint": " pod "}],
}

RULES_WRONG = {
    "rules-cascade": [
        ([0.25, 0.25, 0.25, 0.25], "share-not-rule-probability"),
        ([0.25, 0.25, 0.25, None], "share-not-rule-probability"),
        ([0.5, 0.3333333333, 0.25, None], "cascade-upside-down"),
        ([0.25, 0.3333333333, 0.5, 0.25], "last-rule"),
        ([0.3333333333, 0.5, None], "format"),
        ([0.1, 0.2, 0.3, None], "other"),
    ],
    "rules-path": [
        (PATH_KEY[1:], "nodeports-first"),
        (["KUBE-SERVICES", "KUBE-EXT", "KUBE-SVC", "KUBE-SEP"], "node-port-in-services"),
        (["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-SVC", "KUBE-SEP"], "node-port-straight-to-svc"),
        (["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXT", "KUBE-SEP"], "ext-picks-the-pod"),
        (["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXT", "KUBE-SVL", "KUBE-SEP"], "svl-under-cluster-policy"),
        (["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-FW", "KUBE-EXT", "KUBE-SVC", "KUBE-SEP"], "firewall-chain"),
        (PATH_KEY[:-1], "no-dnat"),
        (["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-SVC", "KUBE-EXT", "KUBE-SEP"], "order"),
        (["KUBE-SERVICES", "KUBE-BOGUS"], "format"),
    ],
    "rules-local": [
        ({"laptop": "forwarded", "pod/client": "forwarded"}, "local-forwards"),
        ({"laptop": "rejected", "pod/client": "forwarded"}, "drop-vs-reject"),
        ({"laptop": "dropped", "pod/client": "dropped"}, "pods-obey-local"),
        ({"laptop": "dropped", "pod/client": "rejected"}, "pods-obey-local"),
        ({"laptop": "lost", "pod/client": "forwarded"}, "format"),
    ],
    "rules-no-endpoints": [
        ({"client_sees": "timeout", "table": "filter"}, "reject-is-drop"),
        ({"client_sees": "refused", "table": "nat"}, "reject-in-nat"),
        ({"client_sees": "answer", "table": "nat"}, "no-endpoints-still-answers"),
        ({"client_sees": "maybe", "table": "filter"}, "format"),
    ],
    "rules-affinity": [
        ({"checks": 1, "seconds": 10800, "recorded_in": "KUBE-SEP"}, "one-affinity-list"),
        ({"checks": 2, "seconds": 10800, "recorded_in": "KUBE-SEP"}, "checks"),
        ({"checks": 3, "seconds": 10800, "recorded_in": "KUBE-SVC"}, "recorded-in-svc"),
        ({"checks": 3, "seconds": 3600, "recorded_in": "KUBE-SEP"}, "affinity-timeout"),
        ({"checks": 3, "seconds": 10800, "recorded_in": "somewhere"}, "format"),
    ],
    "nft-hops": [
        ({"services": "service", "external": "node-port", "service": "service", "endpoint": "pod"},
         "services-is-the-service"),
        ({"services": "node-port", "external": "service", "service": "service", "endpoint": "pod"},
         "external-picks"),
        ({"services": "node-port", "external": "node-port", "service": "pod", "endpoint": "pod"},
         "service-chain-dnats"),
        ({"services": "node-port", "external": "node-port", "service": "service", "endpoint": "service"},
         "endpoint-is-service"),
        ({"services": "node-port", "external": "node-port"}, "format"),
        ({"services": "node-port", "external": "node-port", "service": "service", "endpoint": "nowhere"},
         "format"),
    ],
}


@pytest.mark.parametrize("ex,answer", [pytest.param(ex, a, id=f"{ex}-{i}")
                                       for ex, answers in RULES_RIGHT.items()
                                       for i, a in enumerate(answers)])
def test_notebook_05_right_answers_pass(ex, answer):
    fb = check(ex, answer)
    assert fb.correct and fb.misconception is None, str(fb)
    assert str(fb).startswith("Right.")


@pytest.mark.parametrize("ex,answer,misconception",
                         [pytest.param(ex, a, m, id=f"{ex}-{m}-{i}")
                          for ex, rows in RULES_WRONG.items() for i, (a, m) in enumerate(rows)])
def test_notebook_05_wrong_answers_name_their_misconception(ex, answer, misconception):
    fb = check(ex, answer)
    assert not fb.correct
    assert fb.misconception == misconception, str(fb)
    assert fb.hint and str(fb).startswith("Not yet.") and "Hint: " in str(fb)


@pytest.mark.parametrize("ex", list(RULES_WRONG))
def test_notebook_05_misconceptions_get_different_feedback(ex):
    by_kind = {}
    for answer, misconception in RULES_WRONG[ex]:
        by_kind.setdefault(misconception, set()).add(check(ex, answer).message)
    firsts = {min(ms) for ms in by_kind.values()}
    assert len(firsts) == len(by_kind), "two misconceptions share one message"


def test_notebook_05_answer_keys_are_read_off_the_rules():
    # Each key comes from k8slab's own rules or routes for the demo cluster, never typed in.
    from k8slab.exercises.what_kube_proxy_writes import (_affinity_key, _cascade_key, _local_key,
                                                         _no_endpoints_key, _path_key)
    assert _cascade_key() == (0.25, 0.3333333333, 0.5, None)
    assert list(_path_key()) == PATH_KEY
    assert _local_key() == {"laptop": "dropped", "pod/client": "forwarded"}
    assert _no_endpoints_key() == {"client_sees": "refused", "table": "filter"}
    assert _affinity_key() == {"checks": 3, "seconds": 10800, "recorded_in": "KUBE-SEP"}
    from k8slab.exercises.what_kube_proxy_writes import _nft_hops_key
    assert _nft_hops_key() == {"services": "node-port", "external": "node-port", "service": "service",
                               "endpoint": "pod"}


def test_notebook_05_placeholders_are_unanswered():
    assert check("rules-cascade", [..., ..., ..., ...]).misconception == "unanswered"
    assert check("rules-path", [...]).misconception == "unanswered"
    assert check("rules-local", {"laptop": ..., "pod/client": ...}).misconception == "unanswered"
    assert check("rules-no-endpoints", {"client_sees": ..., "table": ...}).misconception == "unanswered"
    assert check("rules-affinity", {"checks": ..., "seconds": ..., "recorded_in": ...}).misconception == "unanswered"
    assert check("nft-hops", {"services": ..., "external": ..., "service": ..., "endpoint": ...}).misconception \
        == "unanswered"


def test_notebook_05_checks_its_exercises_and_frames_the_lesson():
    cs = cells(NB05)
    sources = ["".join(c["source"]) for c in cs if c["cell_type"] == "code"]
    checked = [m for s in sources for m in re.findall(r'exercises\.check\("([\w-]+)"', s)]
    solved = [m for s in sources for m in re.findall(r'exercises\.solution\("([\w-]+)"\)', s)]
    assert set(checked) == set(RULES_RIGHT) and set(checked) <= set(solved)
    first, last = "".join(cs[0]["source"]), "".join(cs[-1]["source"])
    assert cs[0]["cell_type"] == "markdown" and "you will be able to" in first.lower()
    assert cs[-1]["cell_type"] == "markdown" and "## Summary" in last
    text = (NOTEBOOKS / NB05).read_text(encoding="utf-8")
    assert not re.search(r" at 0x[0-9a-f]{6,}", text)
    assert "widgets" not in json.loads(text).get("metadata", {})


# -- Notebooks 02 and 03: which pod answers, traffic policies ---------------------------------
NB02, NB03 = "02-which-pod-answers.ipynb", "03-traffic-policies.ipynb"

POD_RIGHT = {
    "cascade": [[1 / 3, 2 / 9, 4 / 9], ["1/3", "2/9", "4/9"], (0.333, 0.222, 0.444), ["33.3%", "22.2%", "44.4%"]],
    "readiness": [{"pods": 3, "chance": 1 / 3}, {"pods": "3", "chance": "1/3"}, {"pods": 3, "chance": 0.333}],
    "nat": [1, "1"],
    "keepalive": [{"pods_used": 1, "busiest": 9000}, {"pods_used": "1", "busiest": "9000"}],
    "spread": [{"c", "d", "e"}, ["C", "d", "e"], "c, d, e"],
    "source-ip": [{"Cluster": "node", "Local": "client"}, {"Cluster": "node-a", "Local": "laptop"}],
    "health-check": [{"node-a": 503, "node-b": 200, "node-c": 503},
                     {"node-a": "503", "node-b": "200", "node-c": "503"}],
    "local-share": [{"node-a": 1 / 6, "node-b": 1 / 4}, {"node-a": "1/6", "node-b": "25%"}],
    "internal-local": [{"pod/client": 0, "node/node-a": 2, "node/node-b": 1}],
    "rolling-update": [{"terminating": 0, "ready": 1 / 2, "starting": 0},
                       {"terminating": "0", "ready": "50%", "starting": 0.0}],
    "all-terminating": [{"answered": True, "pods": 3}],
}

POD_WRONG = {
    "cascade": [
        ([1 / 3, 1 / 3, 1 / 3], "rule-probability-is-share"),
        ([1 / 3, 1 / 9, 5 / 9], "multiplied-the-wrong-part"),
        ([1 / 3, 1 / 3, 1], "shares-add-up"),
        ([0.2, 0.3, 0.5], "other"),
        ([1 / 3, 2 / 9], "format"),
        ([1 / 3, "lots", 4 / 9], "format"),
    ],
    "readiness": [
        ({"pods": 4, "chance": 1 / 4}, "not-ready-gets-traffic"),
        ({"pods": 3, "chance": 1 / 4}, "chance-not-renormalised"),
        ({"pods": 2, "chance": 1 / 2}, "other"),
        ({"pods": 3}, "format"),
    ],
    "nat": [
        (3, "affinity-per-person"),
        (200, "affinity-per-person"),
        (0, "affinity-blocks"),
        (7, "more-pods-than-exist"),
        (2, "other"),
        ("one", "format"),
    ],
    "keepalive": [
        ({"pods_used": 3, "busiest": 3000}, "requests-balanced"),
        ({"pods_used": 1, "busiest": 3000}, "busiest"),
        ({"pods_used": 2, "busiest": 4500}, "other"),
        ({"pods_used": 1}, "format"),
    ],
    "spread": [
        ({"a", "c", "d", "e"}, "affinity-spreads"),
        ({"f"}, "rr-per-request"),
        ({"b", "c"}, "more-replicas"),
        ({"c", "d"}, "missed-fix"),
        ({"z"}, "format"),
    ],
    "source-ip": [
        ({"Cluster": "client", "Local": "node"}, "swapped"),
        ({"Cluster": "client", "Local": "client"}, "snat-only-when-forwarding"),
        ({"Cluster": "node", "Local": "node"}, "local-still-snats"),
        ({"Cluster": "node", "Local": "dropped"}, "other"),
        ({"Cluster": "the moon", "Local": "client"}, "format"),
    ],
    "health-check": [
        ({"node-a": 200, "node-b": 200, "node-c": 200}, "health-is-node-health"),
        ({"node-a": 200, "node-b": 200, "node-c": 503}, "any-pod-counts"),
        ({"node-a": 503, "node-b": 503, "node-c": 503}, "healthy-node-fails"),
        ({"node-a": 503, "node-b": 200, "node-c": 200}, "other"),
        ({"node-a": 200, "node-b": 200}, "format"),
        ({"node-a": 200, "node-b": 200, "node-c": 404}, "format"),
    ],
    "local-share": [
        ({"node-a": 1 / 5, "node-b": 1 / 5}, "local-is-even-per-pod"),
        ({"node-a": 1 / 3, "node-b": 1 / 2}, "forgot-lb-split"),
        ({"node-a": 1 / 2, "node-b": 1 / 2}, "share-per-node"),
        ({"node-a": 0.1, "node-b": 0.35}, "other"),
        ({"node-a": 1 / 6, "node-b": 1 / 4, "node-c": 0}, "format"),
    ],
    "internal-local": [
        ({"pod/client": 3, "node/node-a": 3, "node/node-b": 3}, "itp-ignored"),
        ({"pod/client": 3, "node/node-a": 2, "node/node-b": 1}, "local-falls-back"),
        ({"pod/client": 0, "node/node-a": 1, "node/node-b": 2}, "other"),
        ({"pod/client": "none", "node/node-a": 2, "node/node-b": 1}, "format"),
    ],
    "rolling-update": [
        ({"terminating": 1 / 4, "ready": 1 / 4, "starting": 1 / 4}, "terminating-gets-new-connections"),
        ({"terminating": 0, "ready": 1 / 3, "starting": 1 / 3}, "not-ready-gets-traffic"),
        ({"terminating": 0, "ready": 1 / 4, "starting": 0}, "other"),
        ({"ready": 1 / 2}, "format"),
    ],
    "all-terminating": [
        ({"answered": False, "pods": 0}, "terminating-never-used"),
        ({"answered": True, "pods": 1}, "other"),
        ({"answered": "yes", "pods": 3}, "format"),
    ],
}


@pytest.mark.parametrize("ex,answer", [pytest.param(ex, a, id=f"{ex}-{i}")
                                       for ex, answers in POD_RIGHT.items()
                                       for i, a in enumerate(answers)])
def test_notebooks_02_03_right_answers_pass(ex, answer):
    fb = check(ex, answer)
    assert fb.correct and fb.misconception is None, str(fb)
    assert str(fb).startswith("Right.")


@pytest.mark.parametrize("ex,answer,misconception",
                         [pytest.param(ex, a, m, id=f"{ex}-{m}-{i}")
                          for ex, rows in POD_WRONG.items() for i, (a, m) in enumerate(rows)])
def test_notebooks_02_03_wrong_answers_name_their_misconception(ex, answer, misconception):
    fb = check(ex, answer)
    assert not fb.correct
    assert fb.misconception == misconception, str(fb)
    assert fb.hint and str(fb).startswith("Not yet.") and "Hint: " in str(fb)


@pytest.mark.parametrize("ex", list(POD_WRONG))
def test_notebooks_02_03_misconceptions_get_different_feedback(ex):
    by_kind = {}
    for answer, misconception in POD_WRONG[ex]:
        by_kind.setdefault(misconception, set()).add(check(ex, answer).message)
    firsts = {min(ms) for ms in by_kind.values()}
    assert len(firsts) == len(by_kind), "two misconceptions share one message"


def test_notebooks_02_03_every_exercise_has_fixtures():
    assert set(POD_RIGHT) == set(POD_WRONG)
    assert set(POD_RIGHT) <= set(EXERCISES)


def test_notebooks_02_03_answer_keys_come_from_the_model():
    from fractions import Fraction
    from k8slab.exercises.traffic_policies import (_all_terminating_key, _health_key, _itp_key,
                                                   _local_share_key, _rolling_key, _source_key)
    from k8slab.exercises.which_pod_answers import (_hand_shares, _keepalive_key, _nat_key,
                                                    _readiness_key)
    assert _hand_shares() == [Fraction(1, 3), Fraction(2, 9), Fraction(4, 9)]
    assert _readiness_key()["pods"] == 3 and _readiness_key()["chance"] == pytest.approx(1 / 3)
    assert _nat_key() == {"pods": 1, "of": 3}
    assert _keepalive_key() == {"pods_used": 1, "busiest": 9000, "pods": 3}
    assert _source_key() == {"Cluster": "node", "Local": "client"}
    assert _health_key() == {"node-a": 503, "node-b": 200, "node-c": 503}
    assert _local_share_key()["pods"] == {"node-a": 3, "node-b": 2}
    assert _local_share_key()["shares"] == pytest.approx({"node-a": 1 / 6, "node-b": 1 / 4})
    assert _itp_key() == {"pod/client": 0, "node/node-a": 2, "node/node-b": 1}
    assert _rolling_key() == pytest.approx({"terminating": 0, "ready": 0.5, "starting": 0})
    assert _all_terminating_key() == {"answered": True, "pods": 3}


def test_notebooks_02_03_placeholders_are_unanswered():
    placeholders = {
        "cascade": [..., ..., ...], "readiness": {"pods": ..., "chance": ...}, "nat": ...,
        "keepalive": {"pods_used": ..., "busiest": ...}, "spread": {...},
        "source-ip": {"Cluster": ..., "Local": ...},
        "health-check": {"node-a": ..., "node-b": ..., "node-c": ...},
        "local-share": {"node-a": ..., "node-b": ...},
        "internal-local": {"pod/client": ..., "node/node-a": ..., "node/node-b": ...},
        "rolling-update": {"terminating": ..., "ready": ..., "starting": ...},
        "all-terminating": {"answered": ..., "pods": ...},
    }
    assert set(placeholders) == set(POD_RIGHT)
    for ex, answer in placeholders.items():
        assert check(ex, answer).misconception == "unanswered", ex


def test_the_spread_choices_are_shown_to_the_learner():
    from k8slab.exercises import SPREAD_FIXES
    assert list(SPREAD_FIXES) == ["a", "b", "c", "d", "e", "f"]
    assert check("spread", set(SPREAD_FIXES)).misconception == "affinity-spreads"


@pytest.mark.parametrize("name,expected", [
    (NB02, {"cascade", "readiness", "nat", "keepalive", "spread"}),
    (NB03, {"source-ip", "health-check", "local-share", "internal-local", "rolling-update",
            "all-terminating"}),
])
def test_notebooks_02_03_check_their_exercises_and_frame_the_lesson(name, expected):
    cs = cells(name)
    sources = ["".join(c["source"]) for c in cs if c["cell_type"] == "code"]
    checked = [m for s in sources for m in re.findall(r'exercises\.check\("([\w-]+)"', s)]
    solved = [m for s in sources for m in re.findall(r'exercises\.solution\("([\w-]+)"\)', s)]
    assert set(checked) == expected and set(checked) <= set(solved)
    first, last = "".join(cs[0]["source"]), "".join(cs[-1]["source"])
    assert cs[0]["cell_type"] == "markdown" and "you will be able to" in first.lower()
    assert cs[-1]["cell_type"] == "markdown" and "## Summary" in last
    text = (NOTEBOOKS / name).read_text(encoding="utf-8")
    assert not re.search(r" at 0x[0-9a-f]{6,}", text)
    assert "widgets" not in json.loads(text).get("metadata", {})


def test_the_fix_accepts_external_ips_on_a_cluster_ip_service_and_says_what_they_cost():
    # externalIPs work with any Service type (kube-proxy accepts those addresses on every
    # node), and k8slab's router agrees: the check must not mark that answer wrong.
    answer = BROKEN_SERVICE.replace("spec:\n", "spec:\n  externalIPs:\n  - 192.0.2.50\n")
    fb = check("fix", answer)
    assert fb.correct, fb
    assert "192.0.2.50:80" in fb.message and "DenyServiceExternalIPs" in fb.message
    assert "any Service type" in fb.message
    # An empty list is still a ClusterIP Service with no way in; a bad address is the API's error.
    assert check("fix", BROKEN_SERVICE.replace("spec:\n", "spec:\n  externalIPs: []\n")).misconception \
        == "still-cluster-ip"
    bad = check("fix", BROKEN_SERVICE.replace("spec:\n", "spec:\n  externalIPs:\n  - nope\n"))
    assert not bad.correct and "must be a valid IP address" in bad.message
