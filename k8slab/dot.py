"""DOT text for the pictures: a digraph's statements and subgraphs, written as the graphviz package writes them."""

# A picture is ~40 statements; building them with the graphviz package costs its import (~13 ms
# a process: it loads subprocess, logging and platform to run a `dot` k8slab never runs) and
# its per-attribute quoting. Here every value is quoted and every statement is one line of
# `body`, laid out exactly as graphviz.Digraph lays it out, so `Diagram.graph` can hand the
# same lines to a real graphviz.Digraph when a learner asks for one, and its source is equal.
from __future__ import annotations

__all__ = ["Digraph", "attribute_list"]


def attribute_list(attrs: dict) -> str:
    """`key="value" ...`, every value quoted; labels come already escaped (see draw._label)."""
    return " ".join(f'{k}="{str(v).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in attrs.items())


class Digraph:
    """A directed graph's DOT: `.body` (its lines), `.source`, and a few statement writers.

    Names are DOT identifiers k8slab chooses (route, cluster_k8s, node0, ...): never quoted.
    """

    __slots__ = ("name", "body", "_parent", "_keyword")

    def __init__(self, name: str = "", *, _parent: Digraph | None = None,
                 _keyword: str = "digraph"):
        self.name = name
        self.body: list[str] = []
        self._parent = _parent
        self._keyword = _keyword

    def node(self, node_id: str, attrs: dict) -> None:
        self.body.append(f"\t{node_id} [{attribute_list(attrs)}]\n")

    def edge(self, tail: str, head: str, attrs: dict) -> None:
        self.body.append(f"\t{tail} -> {head} [{attribute_list(attrs)}]\n")

    def defaults(self, attrs: dict, kind: str = "graph") -> None:
        """`graph [...]`, `node [...]` or `edge [...]`: attributes for what follows."""
        self.body.append(f"\t{kind} [{attribute_list(attrs)}]\n")

    def same_rank(self, node_ids) -> None:
        if node_ids:
            self.body.append("\t{rank=same; " + "; ".join(node_ids) + "}\n")

    def subgraph(self, name: str) -> Digraph:
        """`with g.subgraph("cluster_x") as sub:` - its lines join g's body when the block ends."""
        return Digraph(name, _parent=self, _keyword="subgraph")

    def __enter__(self) -> Digraph:
        return self

    def __exit__(self, *exc) -> None:
        if self._parent is not None:
            self._parent.body += [f"\t{line}" for line in self.lines()]

    def lines(self) -> list[str]:
        head = f"{self._keyword} {self.name} {{\n" if self.name else f"{self._keyword} {{\n"
        return [head, *self.body, "}\n"]

    @property
    def source(self) -> str:
        return "".join(self.lines())
