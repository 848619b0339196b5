"""Benchmark: kube-proxy's iptables (or nftables) rules for 10,000 Services with 10 endpoints each.

Budget (issue 6): generation <= 5 s, peak memory <= 1 GB; `--mode nftables` (issue 19): the
whole process, Python start, imports, model and rules, <= 2 s (printed as "whole process"). The cluster is built directly
from the model (100 nodes, 100,000 pods, 10,000 Services selecting 10 pods each), so the
figure is the rules' own cost: the endpoints of every Service port (from the pods, as the
EndpointSlice controller would list them), kube-proxy's per-node categorisation, chain-name
hashing and the text. Prints the figures; run with `python benchmarks/rules.py`.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
import tracemalloc

sys.path.insert(0, __file__.rsplit("/benchmarks/", 1)[0])

from k8slab.model import Cluster, ContainerPort, Node, Pod, ProxyConfig, Service, ServicePort  # noqa: E402
from k8slab.proxy import rules  # noqa: E402


def build(services: int, endpoints: int, nodes: int) -> Cluster:
    node_list = [Node(f"node-{n:03d}", f"192.0.2.{n % 250 + 1}" if n < 250 else f"198.51.100.{n % 250 + 1}",
                      labels={"topology.kubernetes.io/zone": f"zone-{n % 3}"}) for n in range(nodes)]
    pods, svcs = [], []
    port = (ContainerPort(8080, "http"),)
    for s in range(services):
        ns = f"team-{s % 50:02d}"
        app = f"app-{s:05d}"
        for e in range(endpoints):
            i = s * endpoints + e
            pods.append(Pod(f"{app}-{e}", ns, f"node-{i % nodes:03d}",
                            f"10.{64 + i // 65536}.{(i // 256) % 256}.{i % 256}",
                            labels={"app": app}, ports=port))
        kind = ("ClusterIP", "NodePort", "LoadBalancer")[s % 3]
        svcs.append(Service(
            name=app, namespace=ns, type=kind, selector={"app": app},
            ports=(ServicePort(80, "http", "TCP", "http", 30000 + s % 2768 if kind != "ClusterIP" else None),),
            cluster_ip=f"10.96.{s // 256}.{s % 256}",
            external_traffic_policy=("Local" if s % 6 == 5 else "Cluster") if kind != "ClusterIP" else None,
            load_balancer_ingress=(f"203.0.113.{s % 250 + 1}",) if kind == "LoadBalancer" else (),
            health_check_node_port=32000 + s % 700 if kind == "LoadBalancer" and s % 6 == 5 else None,
            session_affinity="ClientIP" if s % 10 == 0 else "None",
            session_affinity_timeout=10800 if s % 10 == 0 else None))
    return Cluster(node_list, pods, svcs, (), ProxyConfig(cluster_cidr="10.64.0.0/10"))


START = time.perf_counter()      # as close to the process start as this script gets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--mode", default="iptables", choices=["iptables", "ipvs", "nftables"])
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    cluster = build(args.services, args.endpoints, args.nodes)
    built = time.perf_counter() - t0
    node = cluster.nodes[0].name
    gc.collect()

    t0, c0 = time.perf_counter(), time.process_time()
    text = rules(cluster, node, mode=args.mode, explain=args.explain)
    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    whole = time.perf_counter() - START + _interpreter_start()
    whole_cpu = sum(os.times()[:2])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux

    t0 = time.perf_counter()
    text = rules(cluster, node, mode=args.mode, explain=args.explain)
    again = time.perf_counter() - t0

    # The allocations of one generation (tracemalloc slows it down: timed separately above).
    fresh = build(args.services, args.endpoints, args.nodes)
    gc.collect()
    tracemalloc.start()
    rules(fresh, node, mode=args.mode, explain=args.explain)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    lines = text.count("\n")
    print(f"cluster: {args.services:,} Services x {args.endpoints} endpoints "
          f"({args.services * args.endpoints:,} pods) on {args.nodes} nodes, built in {built:.2f} s")
    print(f"rules ({args.mode}{', explain' if args.explain else ''}) for {node}: "
          f"{lines:,} lines, {len(text) / 2**20:.1f} MiB of text")
    print(f"generation, first call (endpoints computed): {first:.2f} s, {first_cpu:.2f} s CPU   (budget 5 s)")
    print(f"whole process up to the text (interpreter, imports, model, rules): {whole:.2f} s, "
          f"{whole_cpu:.2f} s CPU"
          + ("   (budget 2 s)" if args.mode == "nftables" else ""))
    print(f"generation, second call (endpoints cached):  {again:.2f} s")
    print(f"peak memory allocated by one generation:     {traced_peak / 2**20:.0f} MiB")
    print(f"peak RSS of this process (model included):    {rss:.0f} MiB   (budget 1024 MiB)")
    # The machine is shared: wall time means little without the load it was measured under.
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    ok = first <= 5.0 and rss <= 1024 and (args.mode != "nftables" or whole <= 2.0)
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


def _interpreter_start() -> float:
    """Seconds between the process's start and START (Linux: /proc/self/stat's start time)."""
    try:
        with open("/proc/self/stat") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as f:
            now = float(f.read().split()[0])
        return max(0.0, (now - started) - (time.perf_counter() - START))
    except (OSError, ValueError, IndexError):
        return 0.0


if __name__ == "__main__":
    raise SystemExit(main())
