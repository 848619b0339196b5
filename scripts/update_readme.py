"""Regenerate the README's generated parts: the client x Service-type table from k8slab itself,
and the Binder badge and nbgitpuller links from this checkout's GitHub remote.

Run: .venv/bin/python scripts/update_readme.py   (tests/test_readme.py checks it is current)

Links are never shipped dead: with a GitHub remote (`git remote`: origin first), the Binder
badge (README) and the nbgitpuller links (deploy/z2jh/config.yaml, docs/classroom.md) name
that repository; without one, the README says plainly what to replace, and the hub files keep
their OWNER/k8slab placeholder, which their comments name.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
START, END = "<!-- reachability-table:start -->", "<!-- reachability-table:end -->"
BINDER_START, BINDER_END = "<!-- binder:start -->", "<!-- binder:end -->"
#: The files whose nbgitpuller links name the repository (URL-encoded github.com/OWNER/NAME).
PULLER_FILES = [os.path.join(ROOT, "deploy", "z2jh", "config.yaml"),
                os.path.join(ROOT, "docs", "classroom.md")]
START_HERE = "notebooks/00-start-here.ipynb"
_GITHUB = re.compile(r"github\.com[:/]([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+?)(?:\.git)?/?$")


def remote_slug(root: str = ROOT) -> str | None:
    """OWNER/NAME of the GitHub repository this checkout's remote names (origin first), or None
    (no git, no remote, or a remote that is not on GitHub: Binder's `gh` provider needs GitHub)."""
    try:
        out = subprocess.run(["git", "-C", root, "remote", "-v"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    remotes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            remotes.setdefault(parts[0], parts[1])
    for name in sorted(remotes, key=lambda n: (n != "origin", n)):
        m = _GITHUB.search(remotes[name])
        if m:
            return f"{m.group(1)}/{m.group(2)}"
    return None


def binder_url(slug: str) -> str:
    return f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=lab/tree/{START_HERE}"


def binder_block(slug: str | None) -> str:
    if slug:
        body = f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]({binder_url(slug)})"
    else:
        body = ("**No Binder badge yet:** this copy has no GitHub remote, and a badge naming a "
                "made-up repository would be a dead link. Once the repository is on GitHub, run "
                "`.venv/bin/python scripts/update_readme.py`: it writes the badge here, and the "
                "nbgitpuller links in `deploy/z2jh/config.yaml` and `docs/classroom.md`, from "
                "`git remote`. By hand: replace `OWNER/k8slab` with your GitHub path in "
                f"`{binder_url('OWNER/k8slab')}` and in those two files.")
    return f"{BINDER_START}\n{body}\n{BINDER_END}"


def puller_links(text: str, slug: str | None) -> str:
    """text with its nbgitpuller links naming `slug` (unchanged without one)."""
    if not slug:
        return text
    owner, name = slug.split("/")
    text = re.sub(r"(repo=https%3A%2F%2Fgithub\.com%2F)[^%&\s]+%2F[^&\s]+?(&)",
                  lambda m: f"{m.group(1)}{owner}%2F{name}{m.group(2)}", text)
    # nbgitpuller clones into a folder named after the repository: the page it opens is there.
    return re.sub(r"(git-pull\?[^\s\"]*?urlpath=lab%2Ftree%2F)[^%&\s]+(%2Fnotebooks%2F)",
                  lambda m: f"{m.group(1)}{name}{m.group(2)}", text)


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


def render(text: str, slug: str | None = None) -> str:
    """The README with its generated parts current (`slug`: the GitHub repository, if any)."""
    block = f"{START}\n{table()}\n{END}"
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    badge = binder_block(slug)
    return re.sub(re.escape(BINDER_START) + ".*?" + re.escape(BINDER_END), lambda _: badge, text,
                  flags=re.S)


if __name__ == "__main__":
    slug = remote_slug()
    for path, fix in [(README, lambda t: render(t, slug))] + [(p, lambda t: puller_links(t, slug))
                                                             for p in PULLER_FILES]:
        with open(path, encoding="utf-8") as f:
            old = f.read()
        new = fix(old)
        if new != old:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
        print(f"{os.path.relpath(path, ROOT)}: " + ("updated" if new != old else "already current"))
    print(f"repository: {slug}" if slug else
          "no GitHub remote: the README says what to replace; the hub files keep OWNER/k8slab")
