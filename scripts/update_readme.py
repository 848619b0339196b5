"""Regenerate the README's client x Service-type table from k8slab itself.

Run: .venv/bin/python scripts/update_readme.py   (tests/test_readme.py checks it is current)
"""

from __future__ import annotations

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
START, END = "<!-- reachability-table:start -->", "<!-- reachability-table:end -->"


def table() -> str:
    sys.path.insert(0, ROOT)
    import k8slab
    from k8slab.routing import reachability_table
    rows = reachability_table(k8slab.demo_cluster())
    head, body = rows[0], rows[1:]
    out = ["| client \\ Service | " + " | ".join(head[1:]) + " |",
           "|" + "---|" * len(head)]
    for row in body:
        out.append("| " + " | ".join([f"`{row[0]}`"] + [c.replace("yes, ", "✅ ").replace("no: ", "❌ ")
                                                         for c in row[1:]]) + " |")
    return "\n".join(out)


def render(text: str) -> str:
    block = f"{START}\n{table()}\n{END}"
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)


if __name__ == "__main__":
    with open(README, encoding="utf-8") as f:
        old = f.read()
    new = render(old)
    with open(README, "w", encoding="utf-8") as f:
        f.write(new)
    print("README table " + ("updated" if new != old else "already current"))
