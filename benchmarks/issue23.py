"""What issue 23's fixes cost (issue 23): figures, not timed tests.

- `import k8slab`: the Public Suffix List is not read (public_names loads it lazily);
- the first lookup that leaves cluster.local: reading the list (once per process);
- later such lookups;
- loading a Deployment of 99,999 replicas (generated pod names are now unique per namespace).

    python benchmarks/issue23.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True).stdout.strip()


def main() -> None:
    print("import k8slab:", child(
        "import time, sys; t = time.perf_counter(); import k8slab; "
        "print(f'{(time.perf_counter() - t) * 1000:.0f} ms, publicsuffixlist loaded: '"
        " + str('publicsuffixlist' in sys.modules))"))
    print(child(
        "import time, k8slab; from k8slab import dns; c = k8slab.demo_cluster(); "
        "t = time.perf_counter(); dns.lookup(c, 'pod/client', 'nosuch'); a = time.perf_counter() - t; "
        "t = time.perf_counter(); [dns.lookup(c, 'pod/client', f'nosuch{i}') for i in range(100)]; "
        "b = (time.perf_counter() - t) / 100; "
        "print(f'first lookup leaving cluster.local: {a * 1000:.0f} ms; later ones: {b * 1000:.2f} ms each')"))
    from k8slab.manifests import load_texts
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 99999\n"
            "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
            "    spec: {containers: [{name: c, image: x}]}\n")
    t = time.perf_counter()
    c = load_texts([("big.yaml", text)])
    names = {p.name for p in c.pods}
    print(f"99,999 replicas: loaded in {time.perf_counter() - t:.1f} s, {len(names):,} distinct pod names")


if __name__ == "__main__":
    main()
