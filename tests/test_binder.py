"""Binder's build, as repo2docker itself plans it (`repo2docker --no-build --debug .`).

repo2docker prints the Dockerfile it would build without building it (no Docker needed).
The checks: Python 3.11 is picked (not repo2docker's default), the dependencies are
installed before the repository is copied (so a commit reuses the cached layer), k8slab is
installed by postBuild after the copy, and nothing is installed editable.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINDER = os.path.join(ROOT, "binder")


def requirement_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def plan() -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "repo2docker")
    assert os.path.exists(exe), "repo2docker missing: pip install -r requirements-test.txt"
    # Binder builds as jovyan (uid 1000); as root, repo2docker would plan for uid 0.
    done = subprocess.run([exe, "--no-build", "--debug", "--user-id", "1000",
                           "--user-name", "jovyan", "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def line_index(lines: list[str], pattern: str) -> int:
    hits = [i for i, line in enumerate(lines) if re.search(pattern, line)]
    assert len(hits) == 1, f"expected one line matching {pattern!r}, found {len(hits)}"
    return hits[0]


def test_repo2docker_picks_python_3_11(plan):
    assert "Building conda environment for python=3.11" in plan
    assert "Python version unspecified" not in plan


def test_dependencies_are_installed_before_the_repository_is_copied(plan):
    lines = plan.splitlines()
    install = line_index(lines, r'^RUN .*pip install .*-r "binder/requirements\.txt"')
    copy_repo = line_index(lines, r"^COPY .*\bsrc/ \$\{REPO_DIR\}/$")
    post_build = line_index(lines, r"^RUN \./binder/postBuild$")
    assert install < copy_repo < post_build
    # Before the copy, only the requirements file itself may enter the image.
    early_copies = [line for line in lines[:copy_repo] if re.match(r"^COPY .*\bsrc/", line)]
    assert early_copies == [line for line in early_copies if "src/binder/requirements.txt" in line]


def test_nothing_is_installed_editable_or_twice(plan):
    installs = [line for line in plan.splitlines() if "pip install" in line]
    assert len(installs) == 1, installs          # k8slab itself is postBuild's job
    assert not any(re.search(r"(^|\s)(-e|--editable)\s", line) for line in installs)
    for name in os.listdir(BINDER):
        with open(os.path.join(BINDER, name), encoding="utf-8") as f:
            assert not re.search(r"(^|\s)(-e|--editable)\s", f.read()), name


def test_post_build_installs_k8slab_without_its_dependencies():
    path = os.path.join(BINDER, "postBuild")
    assert os.access(path, os.X_OK)
    commands = [line for line in requirement_lines(path) if "pip install" in line]
    assert commands == ["python -m pip install --no-cache-dir --no-deps ."]


def test_binder_requirements_are_the_learners_minus_the_local_install():
    learner = requirement_lines(os.path.join(ROOT, "requirements.txt"))
    assert "-e ." in learner
    assert requirement_lines(os.path.join(BINDER, "requirements.txt")) == \
        [line for line in learner if line != "-e ."]


def test_runtime_is_a_python_k8slab_supports():
    with open(os.path.join(BINDER, "runtime.txt"), encoding="utf-8") as f:
        assert f.read().strip() == "python-3.11"
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        assert 'requires-python = ">=3.11"' in f.read()


def test_readme_badge_opens_start_here():
    # The badge is written from the repository's GitHub remote (scripts/update_readme.py); a
    # copy without one carries no badge, rather than a dead link (tests/test_readme.py).
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import update_readme
    text = update_readme.binder_block("acme/k8slab")
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^/\s]+/[^/\s]+/[^?\s]+"
                      r"\?urlpath=lab/tree/([^)\s]+)\)", text)
    assert badge, "no Binder launch badge"
    assert badge.group(1) == "notebooks/00-start-here.ipynb"
    assert os.path.exists(os.path.join(ROOT, badge.group(1)))
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert update_readme.binder_block(update_readme.remote_slug()) in f.read()


def test_a_non_editable_install_carries_every_subpackage():
    """Binder's postBuild and the hub image install k8slab non-editable: setuptools then ships
    only the packages pyproject.toml names (k8slab.exercises became a package in issue 9)."""
    import fnmatch
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        setuptools_config = tomllib.load(f)["tool"]["setuptools"]
    packages = sorted(".".join(os.path.relpath(d, ROOT).split(os.sep))
                      for d, _, files in os.walk(os.path.join(ROOT, "k8slab"))
                      if "__init__.py" in files)
    assert "k8slab.exercises" in packages
    listed = setuptools_config.get("packages")
    if isinstance(listed, list):
        missing = [p for p in packages if p not in listed]
    else:
        include = listed["find"].get("include", ["*"])
        missing = [p for p in packages if not any(fnmatch.fnmatch(p, pat) for pat in include)]
    assert not missing, f"pyproject.toml leaves out {missing}: a non-editable install lacks them"
