"""The one error type k8slab raises for bad input, with every problem it found."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["K8slabError", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what the API server would say."""

    file: str
    message: str
    kind: str | None = None
    name: str | None = None
    path: str = ""

    def __str__(self) -> str:
        parts = [self.file]
        if self.kind:
            parts.append(f"{self.kind}/{self.name}" if self.name else self.kind)
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)


class K8slabError(Exception):
    """Bad input (or a question the cluster cannot answer); `problems` lists each one."""

    def __init__(self, message: str | None = None, problems: tuple[Problem, ...] | list = ()):
        self.problems = tuple(problems)
        if message is None:
            message = "\n".join(str(p) for p in self.problems) or "invalid input"
        super().__init__(message)
