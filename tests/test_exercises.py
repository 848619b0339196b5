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
    "hops": [["client", "node-port", "cluster-ip", "pod"], "client -> node-port -> cluster-ip -> pod",
             ("client", "node port", "cluster_ip", "pod")],
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
        (["client", "cluster-ip", "pod"], "cluster-ip-is-the-door"),
        (["client", "node-port", "pod"], "node-port-goes-straight-to-a-pod"),
        (["client", "load-balancer", "node-port", "cluster-ip", "pod"], "node-port-has-load-balancer"),
        (["client", "cluster-ip", "node-port", "pod"], "order"),
        (["client", "node-port", "cluster-ip"], "no-pod"),
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
    from k8slab.exercises import _ports_key, _smallest_types
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
