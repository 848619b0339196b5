"""pytest, for every test and notebook under this folder: the order `make test` runs them in."""

# Here, not in tests/conftest.py: a run that collects notebooks alone never loads that one.
#
# `make test` runs pytest-xdist with `--dist loadfile`: a test file (or a notebook) runs whole
# on one worker, since a notebook's cells must run in order in one kernel (nbval) and a
# module's fixtures are built once. (`--dist loadgroup` would let files that share a session
# fixture share a worker, but xdist 3.8 marks a group by rewriting `item._nodeid`, which
# pytest 9 no longer reads: every test, every notebook cell, is then scheduled apart.)
# With `--no-loadscope-reorder` (xdist's default reorders files by their number of tests),
# xdist hands files out in collection order, one at a time as a worker runs dry, so the slow
# files (marked `slow`, still run) come first: the longest jobs start first and the workers
# finish together.

import pytest

#: Files (or folders) that take more than about 10 s, with their seconds: --durations of a
#: `make test` under a load average of about 11 on 2 cores (7 December 2026). Only their
#: order matters; a file not listed keeps its place after them.
SLOW = {
    "tests/browser/test_site.py": 240.0,          # builds the whole site (a module fixture)
    # These two share one JupyterLab when they land on the same worker, and test_first_look
    # leaves notebooks open: test_explorer_in_lab goes first, as in their file order.
    "tests/browser/test_explorer_in_lab.py": 161.0,
    "tests/browser/test_first_look.py": 160.0,    # every notebook opened in JupyterLab, Chromium
    "tests/test_cli.py": 90.0,                    # a non-editable install into a fresh venv
    "tests/test_explorer_states.py": 90.0,
    "tests/test_draw.py": 80.0,
    "tests/kernel/": 40.0,                        # network namespaces, a kernel's own netfilter
    "tests/test_diagnose.py": 35.0,
    "tests/test_fuzz.py": 25.0,
    "tests/test_route_trace_agree.py": 20.0,
    "tests/test_plot.py": 15.0,
    "tests/test_architecture.py": 15.0,
    "tests/test_manifests.py": 15.0,
    "tests/test_validation.py": 10.0,
    "tests/test_properties.py": 10.0,
}


def _seconds(path: str) -> float:
    return next((s for prefix, s in SLOW.items() if path.startswith(prefix)), 0.0)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    first: dict[str, int] = {}
    index = {}
    for i, item in enumerate(items):
        path = item.nodeid.split("::", 1)[0]
        first.setdefault(path, i)
        index[id(item)] = (path, i)
        if _seconds(path):
            item.add_marker(pytest.mark.slow)
    # Slowest file first; a file's items stay together and in their own order.
    items.sort(key=lambda item: (-_seconds(index[id(item)][0]), first[index[id(item)][0]],
                                 index[id(item)][1]))
