"""The README's promises: its table is what k8slab computes, its commands exist."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import update_readme  # noqa: E402


def test_readme_table_is_generated_by_k8slab():
    with open(update_readme.README, encoding="utf-8") as f:
        text = f.read()
    assert update_readme.START in text
    assert update_readme.render(text) == text, "run: .venv/bin/python scripts/update_readme.py"


def test_readme_names_the_two_commands_the_makefile_has():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        make = f.read()
    for target in ("lab", "test"):
        assert f"make {target}" in text and f"\n{target}:" in make
