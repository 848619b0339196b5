"""Benchmark: `k8slab diagnose` as a whole process on the demo cluster, and diagnose itself on a
30,000-pod `kubectl get -o yaml` snapshot once it is loaded.

Budgets (issue 13): the whole process <= 200 ms on the demo cluster; on the 30,000-pod
snapshot, diagnose itself (after loading) <= 200 ms. Prints the figures; run with
`python benchmarks/diagnose.py` (`--pods N` changes the snapshot).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

DEMO = os.path.join(ROOT, "notebooks", "manifests", "demo.yaml")


def whole_process(runs: int = 9) -> list[tuple[str, float, float]]:
    """Median wall and CPU time (user + system, the child's own) of `k8slab diagnose ... --json`
    per dial, in ms, and of a bare interpreter for scale. CPU time is what the machine's load
    does not inflate; on a shared machine read both."""
    def run(args):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, cwd=ROOT, capture_output=True)
        wall = (time.perf_counter() - t) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
        return wall, cpu

    def median(args):
        runs_ = [run(args) for _ in range(runs)]
        return statistics.median(w for w, _ in runs_), statistics.median(c for _, c in runs_)
    out = [("bare `python -c pass` (for scale)", *median(["-c", "pass"]))]
    for client, dial in (("pod/client", "web:80"), ("pod/client", "web:8080"), ("laptop", "192.0.2.11:30080"),
                         ("laptop", "web-lb:80")):
        args = ["-m", "k8slab", "diagnose", DEMO, "--client", client, "--dial", dial, "--json"]
        out.append((f"{client} -> {dial}", *median(args)))
    return out


def on_snapshot(pods: int) -> tuple[float, list[tuple[str, float, float]]]:
    """(load seconds, [(case, first call ms, warm median ms)]) on a generated snapshot."""
    from scale import snapshot_yaml
    from k8slab import manifests
    from k8slab.diagnose import diagnose
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "snapshot.yaml")
        snapshot_yaml(path, pods)
        t = time.perf_counter()
        cluster = manifests.load(path)
        load_s = time.perf_counter() - t
    pod = next(p for p in cluster.pods if p.namespace == "ns-2")
    svc_np = cluster.service("app1", "ns-1")      # NodePort
    svc_lb = cluster.service("app2", "ns-2")      # LoadBalancer
    node = cluster.nodes[5]
    cases = [
        ("pod -> app2:80 (by name, same namespace)", f"pod/ns-2/{pod.name}", "app2:80"),
        ("pod -> app2:8080 (the target port)", f"pod/ns-2/{pod.name}", "app2:8080"),
        ("pod -> app7.ns-7:80 (another namespace)", f"pod/ns-2/{pod.name}", "app7.ns-7:80"),
        ("laptop -> node IP : node port", "laptop", f"{node.address}:{svc_np.ports[0].node_port}"),
        ("internet -> load balancer", "internet", f"{svc_lb.load_balancer_ingress[0]}:80"),
        ("laptop -> cluster IP (not exposed)", "laptop", f"{svc_lb.cluster_ip}:80"),
    ]
    results = []
    for label, client, dial in cases:
        t, c = time.perf_counter(), time.process_time()
        diagnose(cluster, client, dial)
        first = ((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
        warm, warm_cpu = [], []
        for _ in range(5):
            t, c = time.perf_counter(), time.process_time()
            diagnose(cluster, client, dial)
            warm.append((time.perf_counter() - t) * 1000)
            warm_cpu.append((time.process_time() - c) * 1000)
        results.append((label, first, (statistics.median(warm), statistics.median(warm_cpu))))
    return load_s, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=30_000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("k8slab diagnose, whole process, demo cluster (median of 9; budget 200 ms):")
    print(f"  {'':40} {'wall':>9} {'cpu':>9}")
    for label, wall, cpu in whole_process():
        print(f"  {label:40} {wall:6.1f} ms {cpu:6.1f} ms")
    load_s, results = on_snapshot(args.pods)
    print(f"\ndiagnose on a {args.pods:,}-pod snapshot (loaded in {load_s:.1f} s; budget 200 ms per call):")
    print(f"  {'case':44} {'first wall/cpu':>18} {'warm wall/cpu':>18}")
    for label, first, warm in results:
        print(f"  {label:44} {first[0]:6.1f}/{first[1]:6.1f} ms  {warm[0]:6.1f}/{warm[1]:6.1f} ms")


if __name__ == "__main__":
    main()
