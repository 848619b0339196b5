"""Simulation figures: 1,000,000 requests through the demo cluster, in the shapes the notebooks use.

Budget (issue 5): 1,000,000 requests in <= 1 s. Each line is the median of several runs of
`k8slab.simulate.simulate` on a prepared route (route computation and numpy's import excluded).
Run: .venv/bin/python benchmarks/simulate.py [--requests 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def cases(requests: int):
    import k8slab
    from k8slab.manifests import with_service_type
    demo = k8slab.demo_cluster()

    def sticky(cluster, name):
        return cluster.replace_service(replace(cluster.service(name), session_affinity="ClientIP",
                                               session_affinity_timeout=10800))

    local = with_service_type(demo, demo.service("web-lb"), "LoadBalancer", "Local")
    return [
        ("pod -> ClusterIP, a connection per request (iptables)",
         demo.route(client="pod/client", service="web"), {}),
        ("pod -> ClusterIP, nftables", demo.route(client="pod/client", service="web"),
         {"mode": "nftables"}),
        ("pod -> ClusterIP, IPVS round robin", demo.route(client="pod/client", service="web"),
         {"mode": "ipvs"}),
        ("internet -> LoadBalancer over 3 nodes (Cluster)",
         demo.route(client="internet", service="web-lb"), {}),
        ("internet -> LoadBalancer, Local policy", local.route(client="internet", service="web-lb"), {}),
        ("internet -> LoadBalancer, ClientIP affinity, 10,000 clients",
         sticky(demo, "web-lb").route(client="internet", service="web-lb"), {"clients": 10_000}),
        ("IPVS rr with affinity, 10,000 clients",
         sticky(demo, "web").route(client="pod/client", service="web"),
         {"mode": "ipvs", "clients": 10_000}),
        ("keep-alive: 1,000 connections", demo.route(client="pod/client", service="web"),
         {"connections": 1000}),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    from k8slab.simulate import simulate
    import numpy
    print(f"k8slab simulate: {args.requests:,} requests, median of {args.runs} runs "
          f"(numpy {numpy.__version__}, Python {sys.version.split()[0]})")
    worst = 0.0
    for title, route, kw in cases(args.requests):
        simulate(route, 1000, **kw)                    # warm up
        times = []
        for seed in range(args.runs):
            t = time.perf_counter()
            sim = simulate(route, args.requests, seed=seed, **kw)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        worst = max(worst, med)
        print(f"  {med * 1000:7.1f} ms  {title}  (p = {sim.p_value:.3g})")
    verdict = "within" if worst <= 1.0 else "OVER"
    print(f"slowest: {worst * 1000:.1f} ms, {verdict} the 1 s budget")
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
