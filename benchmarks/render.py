"""How fast a route becomes a picture: warm, against Debian's dot, and in a fresh process.

    python benchmarks/render.py [--repeat N]

Prints figures with their budgets (issue 3); it is not a timed test and never fails on them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import k8slab  # noqa: E402
from k8slab.draw import draw  # noqa: E402

# One route per way in, plus a failure and the whole cluster: what the notebooks draw.
ROUTES = [
    ("laptop", "web-nodeport"),
    ("internet", "web-lb"),
    ("pod/client", "web"),
    ("laptop", "web"),
    ("pod/client", "web-headless"),
]

FRESH = """
import time
t0 = time.perf_counter()
import k8slab
cluster = k8slab.demo_cluster()
route = cluster.route(client="laptop", service="web-nodeport")
t1 = time.perf_counter()
k8slab.draw(route).svg()
t2 = time.perf_counter()
print(t2 - t1, t2 - t0)
"""


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def fresh_process() -> tuple[float, float]:
    p = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    first, whole = (float(x) * 1000 for x in p.stdout.split())
    return first, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    repeat = parser.parse_args().repeat

    cluster = k8slab.demo_cluster()
    draw(cluster).svg()                                   # compile or load the module once

    print(f"warm route + draw + svg, demo cluster, median of {repeat} (budget <= 10 ms):")
    wasm = {}
    for client, service in ROUTES:
        def one(client=client, service=service):
            draw(cluster.route(client=client, service=service)).svg()
        wasm[(client, service)] = median_ms(one, repeat)
        print(f"  {client:>11} -> {service:<13} {wasm[(client, service)]:6.2f} ms")
    whole = median_ms(lambda: draw(cluster).svg(), repeat)
    print(f"  {'the whole cluster':<28} {whole:6.2f} ms")

    if shutil.which("dot"):
        import graphviz
        dot_version = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr.strip()
        print(f"\nthe same DOT through system dot ({dot_version}) via graphviz.Source.pipe, "
              "median (budget: wasm >= 5x faster):")
        for client, service in ROUTES:
            source = draw(cluster.route(client=client, service=service)).source
            system = median_ms(lambda: graphviz.Source(source).pipe(format="svg"),
                               max(repeat // 4, 10))
            ratio = system / wasm[(client, service)]
            print(f"  {client:>11} -> {service:<13} {system:6.2f} ms   "
                  f"wasm route+draw+svg is {ratio:4.1f}x faster")
    else:
        print("\nno system `dot` on PATH: skipping the comparison (apt-get install graphviz)")

    fresh_process()                                       # make sure the module cache is warm
    runs = [fresh_process() for _ in range(5)]
    first = statistics.median(r[0] for r in runs)
    total = statistics.median(r[1] for r in runs)
    print("\nfresh process, warm module cache, median of 5 (budget <= 150 ms):")
    print(f"  first draw + svg (imports wasmtime, loads the compiled module): {first:6.1f} ms")
    print(f"  import k8slab + demo cluster + route + first svg:                   {total:6.1f} ms")


if __name__ == "__main__":
    main()
