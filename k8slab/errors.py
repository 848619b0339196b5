"""The one error type k8slab raises for bad input, with every problem it found."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["K8slabError", "Problem", "MAX_SHOWN_PROBLEMS", "shown_problems"]

#: Problems past this many are counted, not printed: a file of a million broken documents
#: must not answer with a million lines.
MAX_SHOWN_PROBLEMS = 100
#: Longer file names, object names and messages are shortened when printed.
_MAX_PART = {"file": 300, "name": 120, "path": 200, "message": 2000}


def _short(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what the API server would say."""

    file: str
    message: str
    kind: str | None = None
    name: str | None = None
    path: str = ""

    def __str__(self) -> str:
        parts = [_short(str(self.file), _MAX_PART["file"])]
        if self.kind:
            kind = _short(str(self.kind), _MAX_PART["name"])
            parts.append(f"{kind}/{_short(str(self.name), _MAX_PART['name'])}" if self.name else kind)
        if self.path:
            parts.append(_short(str(self.path), _MAX_PART["path"]))
        parts.append(_short(str(self.message), _MAX_PART["message"]))
        return ": ".join(parts)


def shown_problems(problems) -> list[str]:
    """The lines that print these problems: the first MAX_SHOWN_PROBLEMS, then how many more."""
    problems = list(problems)
    lines = [str(p) for p in problems[:MAX_SHOWN_PROBLEMS]]
    if len(problems) > MAX_SHOWN_PROBLEMS:
        lines.append(f"... and {len(problems) - MAX_SHOWN_PROBLEMS:,} more problems "
                     f"({len(problems):,} in all; the first {MAX_SHOWN_PROBLEMS} are shown)")
    return lines


class K8slabError(Exception):
    """Bad input (or a question the cluster cannot answer); `problems` lists each one."""

    def __init__(self, message: str | None = None, problems: tuple[Problem, ...] | list = ()):
        self.problems = tuple(problems)
        if message is None:
            message = "\n".join(shown_problems(self.problems)) or "invalid input"
        super().__init__(message)
