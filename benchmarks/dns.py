"""DNS figures: `k8slab dns` as a whole process on the demo cluster, and lookups in process at
Kubernetes' published limits (10,000 Services, 150,000 pods, 5,000 nodes).

Budgets (issue 12): the whole process <= 150 ms; a lookup's median <= 1 ms in process.
The index (Services by name and address, namespaces) is built once per cluster and timed
apart; a Service's endpoints are computed on its first lookup, so most lookups here are cold.
Run: .venv/bin/python benchmarks/dns.py [--queries 3000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)


def whole_process(runs: int = 9) -> tuple[float, float, float]:
    """Median and best wall time, and median CPU time (user + system), of `k8slab dns` on the
    demo manifest, in ms. On a shared machine the CPU time is the steadier figure."""
    import resource
    cmd = [sys.executable, "-m", "k8slab", "dns", os.path.join(ROOT, "notebooks", "manifests", "demo.yaml"),
           "--client", "pod/client", "--name", "web-headless.default", "--json"]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)      # warm the file cache
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        times.append((time.perf_counter() - t) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(times), min(times), statistics.median(cpu)


def big_cluster():
    """scale.py's cluster at the limits, with every tenth Service headless."""
    from scale import big_cluster as base
    from k8slab.model import Cluster
    c = base()
    services = [dataclasses.replace(s, type="ClusterIP", cluster_ip="None",
                                    external_traffic_policy=None, load_balancer_ingress=())
                if i % 10 == 0 else s for i, s in enumerate(c.services)]
    return Cluster(c.nodes, c.pods, services, proxy=c.proxy)


def lookups(cluster, queries: int, seed: int = 3) -> dict[str, tuple[float, float, float]]:
    from k8slab import dns
    rnd = random.Random(seed)
    pod = cluster.pods[11]
    client = f"pod/{pod.namespace}/{pod.name}"
    t = time.perf_counter()
    dns.resolver(cluster, client)                 # builds the index
    index_ms = (time.perf_counter() - t) * 1000
    kinds = {
        "A, short name (search list)": lambda s: (s.name if s.namespace == pod.namespace
                                                  else f"{s.name}.{s.namespace}", "A"),
        "A, headless": lambda s: (f"{s.name}.{s.namespace}.svc.cluster.local.", "A"),
        "SRV, named port": lambda s: (f"_http._tcp.{s.name}.{s.namespace}.svc.cluster.local.", "SRV"),
        "PTR, cluster IP": lambda s: (s.cluster_ip, "PTR"),
        "A, outside name (4 tries)": lambda s: ("example.com", "A"),
    }
    headless = [s for s in cluster.services if s.headless]
    proxied = [s for s in cluster.services if not s.headless]
    out = {"index build (once)": (index_ms, index_ms, index_ms)}
    for label, make in kinds.items():
        pool = headless if "headless" in label else proxied
        times = []
        for _ in range(queries):
            name, qtype = make(pool[rnd.randrange(len(pool))])
            t = time.perf_counter()
            dns.lookup(cluster, client, name, qtype)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        out[label] = (statistics.median(times), times[int(len(times) * 0.95)], times[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=3000)
    args = ap.parse_args()
    median, best, cpu = whole_process()
    print(f"k8slab dns, whole process, demo cluster: median {median:.0f} ms, best {best:.0f} ms, "
          f"CPU {cpu:.0f} ms (budget 150 ms; load average {os.getloadavg()[0]:.1f})")
    t = time.perf_counter()
    cluster = big_cluster()
    print(f"built {len(cluster.services):,} Services, {len(cluster.pods):,} pods, "
          f"{len(cluster.nodes):,} nodes in {time.perf_counter() - t:.1f} s")
    for label, (med, p95, worst) in lookups(cluster, args.queries).items():
        print(f"  {label:<30} median {med:7.3f} ms  p95 {p95:7.3f} ms  max {worst:7.2f} ms")
    print("budget: median <= 1 ms per lookup")


if __name__ == "__main__":
    main()
