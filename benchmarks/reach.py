"""NetworkPolicy figures: `k8slab reach` on 50 namespaces x 20 pods with 500 policies, and what
policies add to the explorer's update path (a route query).

Budgets (issue 20): the whole `k8slab reach FILE` process <= 1 s; policies add <= 5 ms (median)
to the explorer's update path.
Run: .venv/bin/python benchmarks/reach.py [--namespaces 50 --pods 20 --policies 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def objects(namespaces: int, pods: int, policies: int, seed: int = 1) -> list[dict]:
    """A List a `kubectl get -o json` could print: nodes, namespaces, pods, policies of every shape."""
    rnd = random.Random(seed)
    items = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i}"},
              "status": {"addresses": [{"type": "InternalIP", "address": f"192.0.2.{11 + i}"}]}}
             for i in range(10)]
    apps = ["web", "api", "db", "cache", "worker"]
    for n in range(namespaces):
        ns = f"ns-{n:02d}"
        items.append({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": ns, "labels": {"team": f"team-{n % 7}", "tier": rnd.choice(["a", "b"])}}})
        for p in range(pods):
            app = apps[p % len(apps)]
            items.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": f"{app}-{p}", "namespace": ns, "labels": {"app": app, "pod": f"p{p}"}},
                          "spec": {"nodeName": f"node-{(n * pods + p) % 10}",
                                   "containers": [{"name": "c", "image": "x",
                                                   "ports": [{"name": "http", "containerPort": 80}]}]}})
    for i in range(policies):
        ns = f"ns-{rnd.randrange(namespaces):02d}"
        shape = i % 5
        sel = {"matchLabels": {"app": rnd.choice(apps)}}
        if shape == 0:
            spec = {"podSelector": {}, "policyTypes": ["Ingress"]}
        elif shape == 1:
            spec = {"podSelector": sel, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": f"team-{i % 7}"}},
                                                               "podSelector": {"matchLabels": {"app": rnd.choice(apps)}}}],
                                                     "ports": [{"port": "http"}]}]}
        elif shape == 2:
            spec = {"podSelector": sel, "policyTypes": ["Egress"],
                    "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["a"]}]}}], "ports": [{"port": 80, "endPort": 90}]}]}
        elif shape == 3:
            spec = {"podSelector": sel, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16",
                                                                            "except": ["10.244.1.0/24"]}}]}]}
        else:
            spec = {"podSelector": sel, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}},
                                                              {"namespaceSelector": {"matchLabels": {"team": "team-0"}}}]}]}
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": f"np-{i}", "namespace": ns}, "spec": spec})
    return items


def whole_process(path: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "k8slab", "reach", path, "--port", "80", "--json"],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def in_process(items: list[dict]) -> dict[str, float]:
    from k8slab import manifests, policy
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    t0 = time.perf_counter()
    cluster = manifests.load_texts([("bench.json", text)])
    t1 = time.perf_counter()
    policy.index(cluster)
    t2 = time.perf_counter()
    m = policy.matrix(cluster, 80, "TCP")
    t3 = time.perf_counter()
    denied = sum(not ok for row in m.allowed for ok in row)
    return {"load": t1 - t0, "index": t2 - t1, "matrix": t3 - t2, "pods": len(m.pods),
            "policies": len(cluster.policies), "denied": denied}


def explorer_cost(policies: int, runs: int = 200) -> tuple[float, float]:
    """Median time of one route query (what the explorer recomputes on every change) on the
    demo cluster, without and with `policies` NetworkPolicies in its namespace."""
    import k8slab
    from k8slab import routing
    base = k8slab.demo_cluster()
    pols = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": f"np-{i}", "namespace": "default"},
             "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                      "ingress": [{"from": [{"ipBlock": {"cidr": f"198.51.{i % 256}.0/24"}}], "ports": [{"port": 8080}]}]}}
            for i in range(policies)]
    from importlib.resources import files
    demo = files("k8slab").joinpath("data/demo.yaml").read_text(encoding="utf-8")
    with_pols = k8slab.Cluster.from_yaml(demo + "\n---\n" + "\n---\n".join(json.dumps(p) for p in pols))

    def median(cluster, fresh: bool):
        out = []
        for i in range(runs):
            # fresh: a new copy each time, as a switch the explorer has not seen builds one (the
            # policy index is rebuilt, its cost counted); else the explorer's cached cluster.
            c = cluster.with_policies(cluster.policies) if fresh else cluster
            t = time.perf_counter()
            routing.route(c, "laptop", "web-lb")
            out.append(time.perf_counter() - t)
        return statistics.median(out)
    return (median(base, True) * 1000, median(with_pols, True) * 1000,
            median(base, False) * 1000, median(with_pols, False) * 1000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--pods", type=int, default=20)
    ap.add_argument("--policies", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    items = objects(args.namespaces, args.pods, args.policies)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "cluster.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
        whole = whole_process(path, args.runs)
    parts = in_process(items)
    print(f"reach matrix: {parts['pods']} pods, {parts['policies']} policies, "
          f"{parts['denied']:,} of {parts['pods'] ** 2:,} pairs denied")
    print(f"  whole process (k8slab reach FILE --json), median of {args.runs}: {whole * 1000:.0f} ms   (budget 1000 ms)")
    print(f"  in process: load {parts['load'] * 1000:.0f} ms, policy index {parts['index'] * 1000:.1f} ms, "
          f"matrix {parts['matrix'] * 1000:.0f} ms")
    without, with_, again_without, again_with = explorer_cost(args.policies)
    print(f"explorer update path (one route query, demo cluster, {args.policies} policies on web's pods), median:")
    print(f"  a state seen before (cached cluster): {again_without:.2f} ms without policies, {again_with:.2f} ms "
          f"with: +{again_with - again_without:.2f} ms   (budget +5 ms)")
    print(f"  a new state (fresh cluster copy, index rebuilt): {without:.2f} ms without, {with_:.2f} ms with: "
          f"+{with_ - without:.2f} ms")


if __name__ == "__main__":
    main()
