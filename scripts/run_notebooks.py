"""Re-execute notebooks in place, the way their saved outputs are meant to be made.

    python scripts/run_notebooks.py                       # every notebook
    python scripts/run_notebooks.py notebooks/04-*.ipynb  # some

Widget state is not stored (it churns on every run and nbval never compares it); the cell
timing metadata nbconvert writes is dropped, so a re-run changes only what the code shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    ExecutePreprocessor(timeout=120, kernel_name="python3", store_widget_state=False).preprocess(
        nb, {"metadata": {"path": str(path.parent)}})
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    print(f"ran {path.relative_to(ROOT)}")


if __name__ == "__main__":
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for p in paths:
        run(p)
