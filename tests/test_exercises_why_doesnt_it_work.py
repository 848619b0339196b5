"""Notebook 08's checks: the broken setup fails, the fix passes end to end, wrong fixes are named."""

from __future__ import annotations

import pathlib

import pytest

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
