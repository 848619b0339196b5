"""docs/instructor.md: its generated sections are current, complete, and say what the checkers do."""

import os
import re
import sys

import pytest

from k8slab import exercises

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import instructor_guide  # noqa: E402


@pytest.fixture(scope="module")
def guide() -> str:
    with open(instructor_guide.GUIDE, encoding="utf-8") as f:
        return f.read()


def answer_key_entry(guide: str, ex_id: str) -> str:
    start, end = instructor_guide.marker("answer-key")
    key = guide[guide.index(start):guide.index(end)]
    entries = re.split(r"(?m)^#### ", key)
    found = [e for e in entries if e.startswith(f"`{ex_id}`:")]
    assert len(found) == 1, f"{ex_id}: {len(found)} entries in the answer key"
    return found[0]


def test_guide_is_generated_from_k8slab_and_the_notebooks(guide):
    assert instructor_guide.render(guide) == guide, "run: .venv/bin/python scripts/instructor_guide.py"


def test_every_exercise_has_one_entry_with_its_solution_and_hint(guide):
    for ex_id, ex in exercises.EXERCISES.items():
        entry = answer_key_entry(guide, ex_id)
        assert " ".join(ex.hint.split()) in entry
        first_line = ex.solution.split("\n\n")[0]
        if not first_line.startswith("    "):
            assert " ".join(first_line.split()) in entry


def test_every_exercise_a_notebook_checks_is_filed_under_that_notebook(guide):
    for nb in instructor_guide.notebooks():
        assert nb["objectives"], f"{nb['stem']}: no objectives found in its opening cell"
        section = guide.split(f"### `{nb['stem']}`")[-1]   # the answer key's section comes last
        for ex_id in nb["exercises"]:
            assert ex_id in exercises.EXERCISES
            assert f"#### `{ex_id}`:" in section.split("\n### ")[0]


def test_every_exercise_lists_the_misconceptions_its_checker_names():
    for ex in exercises.EXERCISES.values():
        assert instructor_guide.misconceptions(ex), f"{ex.id}: no misconception found in its checker"


@pytest.mark.parametrize("ex_id, wrong", [
    ("reach", {"pod", "node", "laptop"}),
    ("warm-up", {"node-a": 1, "node-b": 1, "node-c": 1}),
    ("hops", ["client", "cluster-ip", "pod"]),
    ("rules-cascade", [0.25, 0.25, 0.25, None]),
])
def test_a_wrong_answer_gets_a_misconception_the_guide_lists(guide, ex_id, wrong):
    feedback = exercises.check(ex_id, wrong)
    assert not feedback.correct and feedback.misconception not in instructor_guide.NOT_MISCONCEPTIONS
    assert f"- `{feedback.misconception}`:" in answer_key_entry(guide, ex_id)


def test_timings_cover_every_notebook(guide):
    for nb in instructor_guide.notebooks():
        assert nb["stem"][:2] in instructor_guide.READER_MINUTES, f"{nb['stem']}: no measured time"


def _stated_cases():
    out = []
    for nb in instructor_guide.notebooks():
        marks = []
        if nb["stem"].startswith("05-") and nb["stated"] == "50":
            # 05 belongs to the nft developer, who is trimming it: it must state 60 minutes
            # (READER_MINUTES). Strict: this fails as soon as 05 is right, and the mark goes.
            marks = [pytest.mark.xfail(strict=True, reason="notebook 05 still states 50 minutes")]
        out.append(pytest.param(nb, id=nb["stem"], marks=marks))
    return out


@pytest.mark.parametrize("nb", _stated_cases())
def test_each_notebook_states_its_reader_time_and_none_runs_past_an_hour(nb):
    # Issue 24: the stated times summed to about 4 h where a learner took 7.5 h. A notebook
    # states what a careful reader takes (READER_MINUTES), and no notebook takes more than 60.
    assert nb["stated"] != "?", f"{nb['stem']}: no '*Time: about N minutes' line in its opening"
    budget = instructor_guide.READER_MINUTES[nb["stem"][:2]]
    assert nb["stated"] == budget, f"{nb['stem']} states {nb['stated']} min; a reader takes {budget}"
    assert int(nb["stated"]) <= 60
