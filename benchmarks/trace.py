"""Benchmark: `trace` on the demo cluster, the route/trace agreement at 10,000 cases, `rules` at scale.

Budgets (issue 11): one trace on the demo cluster <= 20 ms warm; the route/trace property
check over 10,000 cases (client x Service port x way in x via node, on generated clusters)
<= 60 s on 2 cores; `rules` for 10,000 Services <= 5 s (benchmarks/rules.py measures that
in detail; this script runs it once for the figure). Prints the figures; run with
`python benchmarks/trace.py` (`--cases N` and `--no-rules` shorten it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings

ROOT = __file__.rsplit("/benchmarks/", 1)[0]
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import k8slab  # noqa: E402
from k8slab import routing, trace  # noqa: E402


def demo_traces(mode: str | None = None) -> tuple[float, float, int]:
    """(first call ms, warm mean ms, traces) for every client x proxied Service of the demo
    (with kube-proxy in `mode`: the demo's own, iptables, unless given)."""
    from k8slab import proxy
    cluster = k8slab.demo_cluster()
    if mode:
        cluster = proxy.with_mode(cluster, mode)
    dials = []
    for client in routing.default_clients(cluster):
        for svc in cluster.services:
            if not svc.proxied:
                continue
            r = routing.route(cluster, client=client, service=svc.name)
            if r.entry == "ClusterIP":
                dials.append((client, f"{svc.cluster_ip}:{r.port.port}"))
            elif r.entry == "NodePort":
                dials.append((client, f"{cluster.nodes[0].address}:{r.port.node_port}"))
            elif r.entry == "LoadBalancer":
                dials.append((client, f"{svc.load_balancer_ingress[0]}:{r.port.port}"))
    t0 = time.perf_counter()
    trace.trace(cluster, *dials[0])
    first = (time.perf_counter() - t0) * 1000
    rounds = 20
    t0 = time.perf_counter()
    for _ in range(rounds):
        for client, dial in dials:
            trace.trace(cluster, client, dial)
    warm = (time.perf_counter() - t0) * 1000 / (rounds * len(dials))
    return first, warm, len(dials)


def property_cases(cases: int) -> tuple[int, int, float, float]:
    """(cases, clusters, wall s, CPU s): every combination of generated clusters, until `cases`."""
    import test_route_trace_agree as agree
    from hypothesis.errors import NonInteractiveExampleWarning
    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    strategy = agree.clusters()
    done = clusters = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while done < cases:
        done += agree.check_cluster(strategy.example())
        clusters += 1
    return done, clusters, time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--no-rules", action="store_true", help="skip the 10,000-Service rules run")
    ap.add_argument("--mode", choices=["iptables", "nftables"], help="kube-proxy's mode for the traces")
    args = ap.parse_args()
    ok = True

    first, warm, n = demo_traces(args.mode)
    print(f"trace, demo cluster{' (' + args.mode + ' mode)' if args.mode else ''}: {n} client x Service dials; first call {first:.1f} ms "
          f"(rules generated and parsed), warm {warm:.2f} ms per trace   (budget 20 ms)")
    ok &= warm <= 20

    done, clusters, seconds, cpu = property_cases(args.cases)
    print(f"route/trace agreement: {done:,} cases on {clusters} generated clusters in "
          f"{seconds:.1f} s ({cpu:.1f} s CPU)   (budget 60 s for 10,000)")
    ok &= seconds * 10_000 / max(done, 1) <= 60

    if not args.no_rules:
        out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "rules.py")],
                             capture_output=True, text=True)
        line = next((l for l in out.stdout.splitlines() if l.startswith("generation, first")), out.stdout)
        print("rules, 10,000 Services: " + line.strip())
        ok &= out.returncode == 0
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
