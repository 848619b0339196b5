"""Every notebook's metadata is the same: a fresh clone opened in JupyterLab shows no change.

JupyterLab rewrites a notebook's kernelspec to the running kernel's as soon as it saves (autosave,
about two minutes after opening): a notebook saved with `"display_name": "Python 3"` then shows
as modified in every learner's clone though they changed nothing (issue 24, item 4).
"""

from __future__ import annotations

import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# What ipykernel's own kernel.json says (ipykernel/kernelspec.py: display_name
# "Python %i (ipykernel)"), which is what JupyterLab writes back.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_metadata(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert (nb["nbformat"], nb["nbformat_minor"] >= 4) == (4, True), path.name
    meta = nb["metadata"]
    assert meta.get("kernelspec") == KERNELSPEC, f"{path.name}: kernelspec {meta.get('kernelspec')}"
    info = dict(meta.get("language_info", {}))
    version = info.pop("version", "")
    assert info == LANGUAGE_INFO, f"{path.name}: language_info {info}"
    assert version.startswith("3.11."), f"{path.name}: saved by Python {version}, the lab's is 3.11"
    # Nothing run-specific: widget state churns on every run (scripts/run_notebooks.py strips it),
    # and a trust signature or cell timings are per machine.
    assert set(meta) <= {"kernelspec", "language_info"}, f"{path.name}: extra metadata {set(meta) - {'kernelspec', 'language_info'}}"
    for i, cell in enumerate(nb["cells"]):
        assert "execution" not in cell.get("metadata", {}), f"{path.name}: cell {i} keeps its timing"
