"""How long the `k8slab` command takes, whole process, next to KubeDiagrams drawing the same file.

    python benchmarks/cli.py [--repeat N] [--kube-diagrams PATH | --install-kube-diagrams] [--input FILE]

Issue 10's budgets: `k8slab draw` on a bookinfo-sized manifest (about 10 KB) in at most half
the time KubeDiagrams 0.8 takes to draw it, and `k8slab route` in at most 150 ms. Every
command runs as a learner runs it (a fresh process, the console script, compiled bytecode,
warm caches: one untimed run of each first), in turns, so that both tools meet the same load;
the figures are medians of N runs (default 7), wall clock and CPU (the process and its
children, e.g. KubeDiagrams' `dot`). It prints figures; it is not a timed test and never fails
on them.

KubeDiagrams is not a k8slab dependency. Install it apart, in a venv of its own (its
`diagrams` dependency pins graphviz<0.21, which would replace the version k8slab pins), with
Graphviz's `dot` for it to call:

    apt-get install -y graphviz libgraphviz-dev gcc      # dot, and pygraphviz's build
    python3 -m venv /tmp/kd-venv && /tmp/kd-venv/bin/pip install KubeDiagrams==0.8.0
    python benchmarks/cli.py --kube-diagrams /tmp/kd-venv/bin/kube-diagrams

or let the benchmark do it: `--install-kube-diagrams` makes that venv in a temp folder
(KubeDiagrams==0.8.0; pygraphviz needs gcc and libgraphviz-dev) and removes it afterwards.
Without it (not found, or `dot` missing) the KubeDiagrams figures are skipped with a message.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOKSTORE = ROOT / "benchmarks" / "data" / "bookstore.yaml"
DRAW_BUDGET = 0.5          # k8slab draw / KubeDiagrams
ROUTE_BUDGET_MS = 150.0


def k8slab_command() -> list[str]:
    """The console script a learner types, next to this Python; else `python -m k8slab`."""
    script = Path(sys.executable).with_name("k8slab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "k8slab"]


def find_kube_diagrams(given: str | None) -> tuple[list[str] | None, str]:
    """KubeDiagrams' command, or None and why not."""
    candidates = [given] if given else [os.environ.get("KUBE_DIAGRAMS"),
                                        str(Path(sys.executable).with_name("kube-diagrams")),
                                        shutil.which("kube-diagrams"), "/tmp/kd-venv/bin/kube-diagrams"]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        return None, ("KubeDiagrams not found (pip install KubeDiagrams==0.8.0 in a venv of its own, "
                      "then --kube-diagrams PATH): its figures are skipped")
    if shutil.which("dot") is None:
        return None, "Graphviz's `dot` is not installed (apt-get install graphviz): KubeDiagrams skipped"
    return [found], ""


def install_kube_diagrams(where: str) -> str:
    """KubeDiagrams 0.8.0 in a venv of its own under `where`; its kube-diagrams script."""
    venv = os.path.join(where, "kd-venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    pip = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "KubeDiagrams==0.8.0"],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        raise SystemExit("installing KubeDiagrams failed (pygraphviz needs gcc and "
                         "libgraphviz-dev: apt-get install -y libgraphviz-dev gcc):\n"
                         + pip.stderr[-1500:])
    return os.path.join(venv, "bin", "kube-diagrams")


def timed(argv: list[str], env: dict, cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its waited-for children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed runs of each command (median of them)")
    ap.add_argument("--kube-diagrams", metavar="PATH", help="KubeDiagrams' kube-diagrams script")
    ap.add_argument("--install-kube-diagrams", action="store_true",
                    help="install KubeDiagrams 0.8.0 into a temporary venv for this run")
    ap.add_argument("--input", default=str(BOOKSTORE), metavar="FILE", help="the manifest to draw")
    args = ap.parse_args()

    # As a learner's machine has it: bytecode written (a CI or agent shell may disable it).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    compileall.compile_dir(str(ROOT / "k8slab"), quiet=1)
    out = tempfile.mkdtemp(prefix="k8slab-bench-cli-")
    k8slab = k8slab_command()
    source = os.path.abspath(args.input)
    commands = {
        "k8slab draw (svg)": [*k8slab, "draw", source, "--service", "productpage", "--client", "laptop",
                              "-o", os.path.join(out, "k8slab.svg")],
        "k8slab route": [*k8slab, "route", source, "--service", "productpage", "--client", "laptop"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    given = args.kube_diagrams
    if args.install_kube_diagrams and not given:
        given = install_kube_diagrams(out)
    kd, why_not = find_kube_diagrams(given)
    if kd:
        commands["KubeDiagrams (png, its default)"] = [*kd, "-o", os.path.join(out, "kd.png"), source]
        commands["KubeDiagrams (svg)"] = [*kd, "-o", os.path.join(out, "kd.svg"), "-f", "svg", source]

    for argv in commands.values():          # untimed: fills wasmtime's module cache, the OS page cache
        timed(argv, env, out)
    walls = {name: [] for name in commands}
    cpus = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, argv in commands.items():  # in turns: each tool meets the same load
            wall, cpu = timed(argv, env, out)
            walls[name].append(wall)
            cpus[name].append(cpu)

    size = os.path.getsize(source)
    print(f"input: {os.path.relpath(source, ROOT)} ({size / 1024:.1f} KB); median of {args.repeat} runs, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'command':34s} {'wall ms':>8s} {'(min)':>7s} {'cpu ms':>8s} {'(min)':>7s}")
    med = {}
    for name in commands:
        med[name] = (statistics.median(walls[name]) * 1e3, statistics.median(cpus[name]) * 1e3)
        print(f"{name:34s} {med[name][0]:8.0f} {min(walls[name]) * 1e3:7.0f} "
              f"{med[name][1]:8.0f} {min(cpus[name]) * 1e3:7.0f}")
    route_ms = med["k8slab route"][0]
    print(f"k8slab route: {route_ms:.0f} ms wall, {med['k8slab route'][1]:.0f} ms CPU "
          f"(budget {ROUTE_BUDGET_MS:.0f} ms: {'within' if route_ms <= ROUTE_BUDGET_MS else 'OVER'})")
    if not kd:
        print(why_not)
        return
    draw = med["k8slab draw (svg)"]
    for name in ("KubeDiagrams (png, its default)", "KubeDiagrams (svg)"):
        wall_ratio, cpu_ratio = draw[0] / med[name][0], draw[1] / med[name][1]
        print(f"k8slab draw / {name}: {wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
              f"(budget {DRAW_BUDGET}x: {'within' if wall_ratio <= DRAW_BUDGET else 'OVER'})")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
