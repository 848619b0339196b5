"""`k8slab request` figures: the whole process on a Gateway with 200 HTTPRoutes (issue 21).

Budget: the whole process (start Python, read and validate the YAML, build the cluster, match
the request, print JSON) <= 200 ms. The input is generated here: one Gateway with an exact, a
wildcard and a catch-all listener; 200 HTTPRoutes in 20 namespaces, each with 4 rules (path
prefixes, a header match, a weighted split) over 2 Services of 2 pods; the request is matched
against every attached rule. Also printed: in-process time of `gateway.request` alone.
Run: .venv/bin/python benchmarks/request.py [--routes 200]
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


def manifest(routes: int, namespaces: int = 20) -> str:
    docs = ["""apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: eg
  listeners:
  - {name: exact, port: 80, protocol: HTTP, hostname: shop.example, allowedRoutes: {namespaces: {from: All}}}
  - {name: wild, port: 80, protocol: HTTP, hostname: "*.example", allowedRoutes: {namespaces: {from: All}}}
  - {name: any, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}"""]
    for n in range(namespaces):
        ns = f"team-{n:02d}"
        for v in ("v1", "v2"):
            docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{v}, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app, version: {v}}}}}
  template:
    metadata: {{labels: {{app: app, version: {v}}}}}
    spec: {{containers: [{{name: app, image: app, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: app-{v}, namespace: {ns}}}
spec: {{selector: {{app: app, version: {v}}}, ports: [{{port: 80, targetPort: 8080}}]}}""")
    for r in range(routes):
        ns = f"team-{r % namespaces:02d}"
        docs.append(f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: route-{r:03d}, namespace: {ns}}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  hostnames: ["shop.example", "*.example"]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /svc-{r:03d}/api}}}}]
    backendRefs: [{{name: app-v1, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /svc-{r:03d}}}, headers: [{{name: X-Canary, value: always}}]}}]
    backendRefs: [{{name: app-v2, port: 80}}]
  - matches: [{{path: {{type: Exact, value: /svc-{r:03d}/health}}}}]
    backendRefs: [{{name: app-v1, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /svc-{r:03d}}}}}]
    backendRefs: [{{name: app-v1, port: 80, weight: 90}}, {{name: app-v2, port: 80, weight: 10}}]""")
    return "\n---\n".join(docs) + "\n"


def whole_process(path: str, runs: int, gateway: str = "infra/gw",
                  url: str = "http://shop.example/svc-199/cart") -> tuple[float, float, float]:
    cmd = [sys.executable, "-m", "k8slab", "request", path, "--gateway", gateway,
           "--url", url, "--header", "X-Canary: never", "--json"]
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


def in_process(text: str, runs: int = 50) -> tuple[float, float]:
    from k8slab import gateway
    from k8slab.manifests import load_texts
    t = time.perf_counter()
    cluster = load_texts([("routes.yaml", text)])
    load_ms = (time.perf_counter() - t) * 1000
    times = []
    for i in range(runs):
        t = time.perf_counter()
        gateway.request(cluster, "infra/gw", f"http://shop.example/svc-{i % 200:03d}/cart")
        times.append((time.perf_counter() - t) * 1000)
    return load_ms, statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", type=int, default=200)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    text = manifest(args.routes)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "routes.yaml")
        with open(path, "w") as f:
            f.write(text)
        median, best, cpu = whole_process(path, args.runs)
    small = whole_process(os.path.join(ROOT, "notebooks", "manifests", "gateway.yaml"), args.runs,
                          "infra/shop-gw", "http://shop.example/")
    load_ms, match_ms = in_process(text)
    print(f"input: 1 Gateway (3 listeners), {args.routes} HTTPRoutes x 4 rules, 40 Services, 80 pods "
          f"({len(text) / 1024:.0f} KiB of YAML)")
    print(f"k8slab request, whole process: median {median:.0f} ms, best {best:.0f} ms, "
          f"CPU {cpu:.0f} ms (budget 200 ms)")
    print(f"for scale, on notebook 07's cluster (1 route): median {small[0]:.0f} ms, CPU {small[2]:.0f} ms "
          "(Python, imports and reading: what every command pays)")
    print(f"in process: load + validate {load_ms:.0f} ms; gateway.request median {match_ms:.2f} ms")


if __name__ == "__main__":
    main()
