"""How an exercise is checked: Feedback, Solution, Exercise, the registry, and answer readers."""

# Each lesson module (start_here, who_is_calling, ...) registers its exercises here; every
# typical wrong answer maps to the misconception it reveals, with a hint.
#
# Use:  exercises.check("reach", answer)  -> Feedback (shows itself in Jupyter)
#       exercises.hint("reach")           -> the hint, without checking anything
#       exercises.solution("reach")       -> a Solution, folded until the learner opens it
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from ..errors import K8slabError

__all__ = [
    "Feedback", "Solution", "Exercise", "EXERCISES", "register", "check", "hint", "solution",
    "exercise", "NODE_PORT_RANGE", "KINDS", "TYPES", "ALL_TYPES",
    # reading answers and building the clusters the keys come from, shared by the lessons
    "Unanswered", "unanswered", "right", "wrong", "demo", "demo_text", "demo_without_services",
    "client_of_kind", "client_kind", "as_strings", "as_int", "as_number", "close", "pct", "whole",
    "scaled", "with_service",
]

#: The API server's default --service-node-port-range.
NODE_PORT_RANGE = (30000, 32767)
KINDS = ("pod", "node", "laptop", "other-cluster", "internet")
TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
ALL_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")   # the API's enum

# -- what a check answers ------------------------------------------------------------------
@dataclass(frozen=True)
class Feedback:
    """The result of one check: right or not, and if not, which misconception and a hint."""

    exercise: str
    correct: bool
    message: str
    misconception: str | None = None      # a short id ("cluster-ip-is-public"), None when right
    hint: str | None = None

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        if self.correct:
            head = "Right."
        elif self.misconception == "unanswered":
            head = "Not answered yet."
        else:
            head = "Not yet."
        text = f"{head} {self.message}"
        if self.hint and not self.correct:
            text += f"\nHint: {self.hint}"
        return text

    def __repr__(self) -> str:
        return str(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self.correct:
            colour, fill, head = "#1b7837", "#eaf5ec", "\u2714 Right."
        elif self.misconception == "unanswered":
            colour, fill, head = "#555555", "#f2f2f2", "Not answered yet."
        else:
            colour, fill, head = "#b35806", "#fdf0e2", "\u2718 Not yet."
        body = f"<b style='color:{colour}'>{head}</b> {_inline(self.message)}"
        if self.hint and not self.correct:
            body += f"<br><b>Hint:</b> {_inline(self.hint)}"
        box = (f"<div style='border-left:4px solid {colour};background:{fill};padding:6px 10px;"
               f"margin:2px 0;max-width:60em'>{body}</div>")
        return {"text/html": box, "text/plain": str(self)}


@dataclass(frozen=True)
class Solution:
    """A worked solution, folded: it shows only when the learner opens it (or prints it)."""

    exercise: str
    text: str

    def __str__(self) -> str:
        return f"Solution to exercise {self.exercise!r}:\n{self.text}"

    def __repr__(self) -> str:
        return (f"<solution to exercise {self.exercise!r}, hidden: print() it, or open it "
                "in Jupyter>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        paragraphs = "".join(f"<p>{_inline(p)}</p>" if not p.startswith("    ") else
                             f"<pre>{html.escape(_dedent4(p))}</pre>"
                             for p in self.text.split("\n\n"))
        box = ("<details style='border:1px solid #ccc;border-radius:4px;padding:4px 10px;"
               "max-width:60em'><summary style='cursor:pointer'><b>Show the solution</b> "
               "(try the exercise first)</summary>" + paragraphs + "</details>")
        return {"text/html": box, "text/plain": repr(self)}


def _dedent4(block: str) -> str:
    return "\n".join(line[4:] if line.startswith("    ") else line for line in block.splitlines())


def _inline(text: str) -> str:
    """Escape text for HTML, turning `code` spans into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


@dataclass(frozen=True)
class Exercise:
    """One checked exercise: a one-line prompt, a checker, a hint, a solution."""

    id: str
    title: str
    prompt: str
    hint: str
    solution: str
    checker: Callable[[Any], Feedback]

    def check(self, answer) -> Feedback:
        if unanswered(answer):
            return unanswered_feedback(self.id)
        try:
            return self.checker(answer)
        except Unanswered:
            return unanswered_feedback(self.id)
        except K8slabError as exc:     # the answer led to a clear error: say it, no traceback
            return Feedback(self.id, False, str(exc), "invalid", self.hint)


class Unanswered(Exception):
    """A learner's function still returns `...`."""


def unanswered(answer) -> bool:
    if answer is ... or answer is None:
        return True
    if isinstance(answer, dict):
        return any(v is ... for v in answer.values())
    if isinstance(answer, (list, tuple, set)):
        return ... in answer
    return False


def unanswered_feedback(ex: str) -> Feedback:
    return Feedback(ex, False, "Replace each `...` with your answer, then run the cell again.",
                    "unanswered", EXERCISES[ex].hint)


def right(ex: str, message: str) -> Feedback:
    return Feedback(ex, True, message)


def wrong(ex: str, misconception: str, message: str, hint: str) -> Feedback:
    return Feedback(ex, False, message, misconception, hint)


# -- the model the answers come from ---------------------------------------------------------
def demo_text() -> str:
    from importlib.resources import files
    return files("k8slab").joinpath("data/demo.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=2)
def demo(cloud: bool = True):
    from ..manifests import load_texts
    return load_texts([("demo.yaml", demo_text())], cloud=None if cloud else False)


@lru_cache(maxsize=1)
def demo_without_services() -> str:
    import yaml
    docs = [d for d in yaml.safe_load_all(demo_text()) if d and d.get("kind") != "Service"]
    return yaml.safe_dump_all(docs, sort_keys=False)


def client_of_kind(cluster, kind: str) -> str:
    from ..routing import default_clients
    for c in default_clients(cluster):
        if c.partition("/")[0] == kind:
            return c
    raise K8slabError(f"the demo cluster has no client of kind {kind}")


def client_kind(text: str) -> str | None:
    t = str(text).strip().lower().replace("_", "-").replace(" ", "-")
    first = t.partition("/")[0]
    if first in ("pod", "node"):
        return first
    aliases = {"othercluster": "other-cluster", "other": "other-cluster",
               "a-pod-in-another-cluster": "other-cluster", "another-cluster": "other-cluster",
               "pod-in-another-cluster": "other-cluster", "a-laptop": "laptop"}
    t = aliases.get(t, t)
    return t if t in KINDS else None


def as_strings(answer) -> list[str] | None:
    if isinstance(answer, str):
        for sep in ("->", "\u2192", ","):
            if sep in answer:
                return [p.strip() for p in answer.split(sep) if p.strip()]
        return [answer.strip()] if answer.strip() else []
    if isinstance(answer, (list, tuple, set, frozenset)):
        if all(isinstance(a, str) for a in answer):
            return list(answer)
    return None


def as_int(value) -> int | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = value.strip()
        return int(s) if s.isdigit() else s
    return None



def as_number(value) -> float | None:
    """A probability or share as a learner may write it: 0.25, 1/4, Fraction(1, 4), "1/4", "25%"."""
    from fractions import Fraction
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Fraction)):
        return float(value)
    if isinstance(value, str):
        s = value.strip().replace(" ", "")
        try:
            if s.endswith("%"):
                return float(s[:-1]) / 100
            if "/" in s:
                num, _, den = s.partition("/")
                return float(Fraction(int(num), int(den)))
            return float(s)
        except (ValueError, ZeroDivisionError):
            return None
    try:                                    # numpy numbers, Decimal
        return float(value)
    except (TypeError, ValueError):
        return None


def close(a: float, b: float, tol: float = 0.005) -> bool:
    return abs(float(a) - float(b)) <= tol


def pct(x) -> str:
    return f"{float(x):.1%}"


def whole(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@lru_cache(maxsize=8)
def scaled(replicas: int, ready: int | None = None, terminating: int = 0):
    """The demo cluster with web's Deployment at `replicas` pods in the given states."""
    from ..variants import with_replicas
    cluster = demo()
    return with_replicas(cluster, cluster.service("web"), replicas, ready=ready,
                         terminating=terminating)


def with_service(cluster, name: str, **changes):
    from dataclasses import replace
    return cluster.replace_service(replace(cluster.service(name), **changes))



# -- the registry --------------------------------------------------------------------------
#: Every exercise of every lesson, by id; filled by the lesson modules as they are imported.
EXERCISES: dict[str, Exercise] = {}


def register(*exercises: Exercise) -> None:
    """Add a lesson's exercises to the registry (ids are unique across the suite)."""
    for e in exercises:
        if e.id in EXERCISES:
            raise ValueError(f"exercise id {e.id!r} registered twice")
        EXERCISES[e.id] = e


def exercise(exercise_id: str) -> Exercise:
    """The exercise with this id (see `EXERCISES`)."""
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise K8slabError(f"no exercise {exercise_id!r}; there are: {', '.join(EXERCISES)}") from None


def check(exercise_id: str, answer) -> Feedback:
    """Check a learner's answer: right, or which misconception it shows, with a hint."""
    return exercise(exercise_id).check(answer)


def hint(exercise_id: str) -> str:
    """The hint for an exercise, without checking anything."""
    return "Hint: " + exercise(exercise_id).hint


def solution(exercise_id: str) -> Solution:
    """The worked solution, folded until the learner opens it."""
    return Solution(exercise_id, exercise(exercise_id).solution)
