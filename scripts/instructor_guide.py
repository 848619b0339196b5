"""Regenerate docs/instructor.md's generated sections: the lessons table and the answer key.

Run: .venv/bin/python scripts/instructor_guide.py   (tests/test_instructor_guide.py checks it
is current). Everything between the guide's `<!-- generated:NAME:start/end -->` markers comes
from here; the prose around them is written by hand.

Sources, never typed in twice:
- objectives: each notebook's opening cell ("By the end of this notebook you will be able to");
- which lesson an exercise belongs to: the notebook whose code calls `check("<id>", ...)`;
- prompt, hint and solution: the registry `k8slab.exercises.EXERCISES`;
- the misconceptions an exercise surfaces: read from its checker's source (the misconception
  id and message of every wrong-answer Feedback it can return), so a new wrong answer the
  checker learns shows up here at the next regeneration.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(ROOT, "docs", "instructor.md")
NOTEBOOKS = os.path.join(ROOT, "notebooks")

# A careful reader's time per notebook, exercises included, as a learner measured it for
# issue 24 (every cell run, every exercise tried): 00: 20, 01: 60, 02: 65, 03: 60, 04: 65,
# 05: 100, 08 (then 06): 75. Nothing may run past an hour, so 02, 04 and 08 were cut after
# that reading (02: the IPVS simulation; 04: the PTR aside, the free-play cell, most of the
# environment variables; 08: cases 3, 5 and 8 became extra practice) and 05 is being trimmed
# by its owner: their figure is the budget the cut was sized to, until a reader times them
# again. One entry per line, so that a new notebook adds one line.
READER_MINUTES = {
    "00": "20",
    "01": "60",
    "02": "60",
    "03": "60",
    "04": "60",
    "05": "60",
    "06": "40",
    "07": "40",
    "08": "60",
    "09": "30",
}
EXPECTED_ONLY = {"02", "04", "05", "06", "07", "08", "09"}

# Feedback ids that are not misconceptions: unparseable answers and the catch-all.
NOT_MISCONCEPTIONS = {"format", "other", "unanswered", "invalid"}


def marker(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name}:start -->", f"<!-- generated:{name}:end -->"


# -- the notebooks -------------------------------------------------------------------------
def notebooks() -> list[dict]:
    """Each numbered notebook: stem, title, stated time, objectives, the exercises it checks."""
    out = []
    for name in sorted(os.listdir(NOTEBOOKS)):
        if not re.match(r"\d\d-.*\.ipynb$", name):
            continue
        with open(os.path.join(NOTEBOOKS, name), encoding="utf-8") as f:
            cells = json.load(f)["cells"]
        opening = "".join(cells[0]["source"])
        title = opening.splitlines()[0].lstrip("# ").strip()
        stated = re.search(r"\*(?:Time: about|About) (\d+) minutes", opening)
        checks = []
        for cell in cells:
            if cell["cell_type"] == "code":
                for ex_id in re.findall(r"""\bcheck\(\s*["']([\w-]+)["']""", "".join(cell["source"])):
                    if ex_id not in checks:
                        checks.append(ex_id)
        out.append({"stem": name[:-len(".ipynb")], "title": title,
                    "stated": stated.group(1) if stated else "?",
                    "objectives": objectives(opening), "exercises": checks})
    return out


def objectives(opening: str) -> list[str]:
    """The list after "you will be able to:", one string per item (wrapped lines joined)."""
    at = opening.lower().find("you will be able to:**")      # "By the end ... you", "You"
    if at < 0:
        return []
    rest = opening[at + len("you will be able to:**"):]
    items: list[str] = []
    for line in rest.strip().splitlines():
        item = re.match(r"\s*(?:-|\d+\.)\s+(.*)", line)
        if item:
            items.append(item.group(1).strip())
        elif line.strip() and items and line.startswith(" "):
            items[-1] += " " + line.strip()
        elif items:
            break
    return [re.sub(r"[;.]$", "", item) for item in items]


def _minutes(number: str) -> str:
    if number not in READER_MINUTES:
        return "not measured"
    return f"{READER_MINUTES[number]} min" + (" (after the cut)" if number in EXPECTED_ONLY else "")


def lessons_block(nbs: list[dict]) -> str:
    rows = ["| notebook | what it teaches | the notebook says | a careful reader took | "
            "checked exercises |", "|---|---|---|---|---|"]
    for nb in nbs:
        rows.append(f"| `{nb['stem']}` | {nb['title']} | {nb['stated']} min | "
                    f"{_minutes(nb['stem'][:2])} | "
                    f"{len(nb['exercises'])} |")
    present = {nb["stem"][:2] for nb in nbs}
    for number, minutes in READER_MINUTES.items():
        if number not in present:
            rows.append(f"| `{number}` (being written) | | | {_minutes(number)} | |")
    minutes = [int(m) for n, m in READER_MINUTES.items() if n in present]
    total = sum(minutes)
    unmeasured = sorted(nb["stem"][:2] for nb in nbs if nb["stem"][:2] not in READER_MINUTES)
    out = ["\n".join(rows), "",
           f"Total for the notebooks timed above: about {total // 60} h {total % 60:02d} min of "
           "a careful reader's time (figures marked \"after the cut\" are the budget a cut was "
           "sized to, not yet timed again)"
           + (f"; not timed yet: {', '.join(unmeasured)}." if unmeasured else "."), ""]
    for nb in nbs:
        out.append(f"### `{nb['stem']}`: {nb['title']}")
        out.append("")
        out.append("By the end, a learner is able to:")
        out.append("")
        out.extend(f"- {item}" for item in nb["objectives"])
        out.append("")
    return "\n".join(out).rstrip()


# -- the misconceptions, from each checker's source ----------------------------------------
def _text(node: ast.AST, names: dict) -> str:
    """The words of a message expression; computed parts (numbers, names) become '...'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v, names) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _text(node.value, names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left, names) + _text(node.right, names)
    if isinstance(node, ast.Name) and isinstance(names.get(node.id), str):
        return names[node.id]
    return "…"


def _feedback_calls(func, seen: set) -> list[tuple[str, str]]:
    """(misconception id, message) for each wrong-answer Feedback func (or a helper) builds."""
    if func in seen:
        return []
    seen.add(func)
    names = getattr(func, "__globals__", {})
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        return []
    except SyntaxError:
        # A lambda's source is the line around it, which does not parse alone: follow the
        # package functions its code calls instead (the lambda only hands over to them).
        found = []
        for name in func.__code__.co_names:
            helper = names.get(name)
            if inspect.isfunction(helper) and helper.__module__.startswith("k8slab.exercises"):
                found.extend(_feedback_calls(helper, seen))
        return found
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        # Feedback(exercise, False, message, misconception, hint) or a helper
        # wrong(exercise, misconception, message, hint): the misconception is a literal id.
        if callee == "Feedback" and len(node.args) >= 4:
            mid, message = node.args[3], node.args[2]
        elif "wrong" in callee and len(node.args) >= 3:
            mid, message = node.args[1], node.args[2]
        else:
            mid = None
        if isinstance(mid, ast.Constant) and isinstance(mid.value, str):
            found.append((mid.value, " ".join(_text(message, names).split())))
        # Follow calls into helpers of the exercises package (a checker may delegate).
        helper = names.get(callee) if isinstance(node.func, ast.Name) else None
        if inspect.isfunction(helper) and helper.__module__.startswith("k8slab.exercises"):
            found.extend(_feedback_calls(helper, seen))
    return found


def misconceptions(exercise) -> list[tuple[str, str]]:
    first: dict[str, str] = {}
    for mid, message in _feedback_calls(exercise.checker, set()):
        if mid not in NOT_MISCONCEPTIONS:
            first.setdefault(mid, message)
    return list(first.items())


# -- the answer key ------------------------------------------------------------------------
def _markdown(text: str) -> str:
    """A registry text (paragraphs; 4-space-indented ones are code) as Markdown."""
    out = []
    for para in text.split("\n\n"):
        if para.startswith("    "):
            out.append("```python\n" + textwrap.dedent(para) + "\n```")
        else:
            out.append(" ".join(para.split()))
    return "\n\n".join(out)


def answer_key_block(nbs: list[dict]) -> str:
    sys.path.insert(0, ROOT)
    from k8slab.exercises import EXERCISES, exercise
    out = []
    placed = set()
    groups = [(f"`{nb['stem']}`", nb["exercises"]) for nb in nbs if nb["exercises"]]
    rest = [ex_id for ex_id in EXERCISES if not any(ex_id in ids for _, ids in groups)]
    if rest:
        groups.append(("Not yet checked in any notebook", rest))
    for heading, ids in groups:
        out += [f"### {heading}", ""]
        for ex_id in ids:
            ex = exercise(ex_id)
            placed.add(ex_id)
            out += [f"#### `{ex.id}`: {ex.title}", "",
                    f"**Asks:** {' '.join(ex.prompt.split())}", "",
                    "**Answer:**", "", _markdown(ex.solution), "",
                    f"**Hint** (`exercises.hint(\"{ex.id}\")`): {' '.join(ex.hint.split())}", ""]
            found = misconceptions(ex)
            if found:
                out += ["**Wrong answers it recognises** (misconception id: what the learner is told):",
                        ""]
                out += [f"- `{mid}`: {message}" for mid, message in found]
                out.append("")
    assert placed == set(EXERCISES)
    return "\n".join(out).rstrip()


def render(text: str) -> str:
    nbs = notebooks()
    for name, build in (("lessons", lessons_block), ("answer-key", answer_key_block)):
        start, end = marker(name)
        if start not in text:
            raise SystemExit(f"{GUIDE}: marker {start} is missing")
        block = f"{start}\n{build(nbs)}\n{end}"
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    return text


if __name__ == "__main__":
    with open(GUIDE, encoding="utf-8") as f:
        old = f.read()
    new = render(old)
    with open(GUIDE, "w", encoding="utf-8") as f:
        f.write(new)
    print("docs/instructor.md " + ("updated" if new != old else "already current"))
