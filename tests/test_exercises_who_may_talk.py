"""Notebook 06's checks: right answers pass, each misconception gets its own feedback."""
import pytest

from k8slab.exercises import check, solution
from k8slab.exercises import who_may_talk as w

RIGHT = {
    "np-isolated": [{"ingress": {"frontend", "web", "db"}, "egress": {"db"}},
                    {"ingress": ["frontend", "web-1", "db"], "egress": "db"}],
    "np-dns-trap": ["b", " B "],
    "np-and-or": [{"A": {"prometheus"}, "B": {"prometheus", "grafana"}},
                  {"A": ["monitoring/prometheus"], "B": "grafana, prometheus"}],
    "np-port": [{"works": False, "port": 8080}, {"works": False, "port": "http"}, {"works": False, "port": "8080"}],
    "np-snat": [{"Cluster": 1 / 3, "Local": 1}, {"Cluster": "33%", "Local": "100%"}, {"Cluster": "1/3", "Local": 1.0}],
}
WRONG = {
    "np-isolated": [
        ({"ingress": {"db"}, "egress": {"db"}}, "empty-selector-selects-nothing"),
        ({"ingress": {"frontend", "web", "db"}, "egress": {"frontend", "web", "db"}}, "deny-ingress-isolates-egress"),
        ({"ingress": {"frontend", "web", "db"}, "egress": set()}, "no-rules-no-policy"),
        ({"ingress": {"frontend", "web"}, "egress": {"db"}}, "one-policy-per-pod"),
        ({"ingress": 3, "egress": {"db"}}, "format"),
    ],
    "np-dns-trap": [("a", "policy-refuses"), ("c", "nxdomain"), ("d", "dns-is-not-egress"), ("e", "format")],
    "np-and-or": [
        ({"A": {"prometheus", "grafana"}, "B": {"prometheus"}}, "and-or-swapped"),
        ({"A": {"prometheus"}, "B": {"prometheus"}}, "or-still-and"),
        ({"A": {"prometheus", "frontend"}, "B": {"prometheus", "grafana", "frontend"}}, "selector-scope"),
        ({"A": {"alertmanager"}, "B": set()}, "format"),
    ],
    "np-port": [({"works": True, "port": 80}, "service-port"), ({"works": False, "port": 30080}, "node-port"),
                ({"works": False, "port": 443}, "other"), ({"works": "no", "port": 8080}, "format")],
    "np-snat": [({"Cluster": 1, "Local": 1}, "snat-keeps-source"), ({"Cluster": 0, "Local": 1}, "own-node-rule"),
                ({"Cluster": 1 / 3, "Local": 1 / 3}, "local-loses-source"), ({"Cluster": 2, "Local": 1}, "format")],
}


@pytest.mark.parametrize("ex,answer", [(e, a) for e, answers in RIGHT.items() for a in answers])
def test_right_answers(ex, answer):
    fb = check(ex, answer)
    assert fb.correct, str(fb)


@pytest.mark.parametrize("ex,answer,misconception", [(e, a, m) for e, cases in WRONG.items() for a, m in cases])
def test_each_misconception_is_named(ex, answer, misconception):
    fb = check(ex, answer)
    assert not fb.correct and fb.misconception == misconception, str(fb)
    assert fb.hint


def test_the_keys_come_from_the_model():
    assert w._isolated_key() == {"ingress": {"frontend", "web", "db"}, "egress": {"db"}}
    assert w._snat_key() == pytest.approx({"Cluster": 1 / 3, "Local": 1.0})
    assert w._port_key() == {"works": False, "port": 8080}


@pytest.mark.parametrize("ex", list(RIGHT))
def test_each_solution_passes_its_own_check(ex):
    text = str(solution(ex))
    code = text.split("    answer_")[-1]
    namespace = {}
    exec("answer_" + code.strip(), namespace)
    answer = next(v for k, v in namespace.items() if k.startswith("answer_"))
    assert check(ex, answer).correct


def test_notebook_06_frames_the_lesson_and_checks_its_exercises():
    import json
    import pathlib
    import re
    path = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "06-who-may-talk.ipynb"
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cells = nb["cells"]
    first, last = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert cells[0]["cell_type"] == "markdown" and "you will be able to" in first.lower() and "*Time:" in first
    assert cells[-1]["cell_type"] == "markdown" and "## Summary" in last
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    checked = {m for s in code for m in re.findall(r'exercises\.check\("([\w-]+)"', s)}
    solved = {m for s in code for m in re.findall(r'exercises\.solution\("([\w-]+)"\)', s)}
    assert checked == solved == set(RIGHT)
    assert nb["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    assert " at 0x" not in text and "widgets" not in nb.get("metadata", {})


def test_the_notebooks_manifest_is_the_packaged_one():
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    assert (root / "notebooks" / "manifests" / "policy" / "who-may-talk.yaml").read_text() == w.lesson_text()
