"""Scale figures for the core: import time, route queries at Kubernetes' published limits,
and `k8slab route` on a 30,000-pod `kubectl get -o yaml` snapshot.

Budgets (issue 2): import <= 150 ms; route query median <= 2 ms on 5,000 nodes, 150,000
pods and 10,000 Services; the snapshot route <= 10 s end to end and <= 2 GB of memory.
Run: .venv/bin/python benchmarks/scale.py [--pods 30000]
"""

from __future__ import annotations

import argparse
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


def import_time(runs: int = 7) -> float:
    """Median extra wall time of `import k8slab` over a bare interpreter start, in ms."""
    def run(code):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        return time.perf_counter() - t
    bare = statistics.median(run("pass") for _ in range(runs))
    full = statistics.median(run("import k8slab") for _ in range(runs))
    return (full - bare) * 1000


def big_cluster(nodes=5000, pods=150_000, services=10_000, seed=1):
    """A cluster at Kubernetes' published scalability limits, built straight from the model."""
    from k8slab.model import Cluster, ContainerPort, Node, Pod, ProxyConfig, Service, ServicePort
    rnd = random.Random(seed)
    node_list = [Node(f"node-{i:04d}", f"172.16.{i // 250}.{i % 250 + 1}",
                      labels={"topology.kubernetes.io/zone": f"zone-{i % 3}"}) for i in range(nodes)]
    pod_list = []
    for i in range(pods):
        app = i % services
        n = node_list[rnd.randrange(nodes)]
        pod_list.append(Pod(f"app{app}-{i}", f"ns-{app % 100}", n.name,
                            f"10.{64 + i // 65536}.{(i // 256) % 256}.{i % 256}",
                            labels={"app": f"app{app}"}, ports=(ContainerPort(8080, "http"),)))
    types = ("ClusterIP", "NodePort", "LoadBalancer")
    svc_list = []
    for s in range(services):
        t = types[s % 3]
        svc_list.append(Service(
            f"app{s}", f"ns-{s % 100}", t, {"app": f"app{s}"},
            (ServicePort(80, "http", node_port=30000 + s if t != "ClusterIP" else None),),
            cluster_ip=f"10.96.{s // 250}.{s % 250 + 1}",
            external_traffic_policy=("Local" if s % 2 else "Cluster") if t != "ClusterIP" else None,
            load_balancer_ingress=(f"203.0.113.{s % 250 + 1}",) if t == "LoadBalancer" else ()))
    return Cluster(node_list, pod_list, svc_list, proxy=ProxyConfig())


def route_queries(cluster, queries=2000, seed=2) -> tuple[float, float, float]:
    from k8slab.routing import route
    rnd = random.Random(seed)
    clients = ["laptop", "internet", "other-cluster", f"node/{cluster.nodes[7].name}",
               f"pod/{cluster.pods[11].namespace}/{cluster.pods[11].name}"]
    times = []
    for _ in range(queries):
        s = cluster.services[rnd.randrange(len(cluster.services))]
        c = rnd.choice(clients)
        t = time.perf_counter()
        route(cluster, c, s.name, s.namespace)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], times[-1]


def snapshot_yaml(path: str, pods: int, nodes: int = 300, services: int = 1000) -> None:
    """A `kubectl get nodes,pods,services -A -o yaml`-shaped List, as kubectl prints one."""
    import yaml
    items = []
    for i in range(nodes):
        items.append({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": f"node-{i:03d}", "labels": {"kubernetes.io/hostname": f"node-{i:03d}",
                                                 "topology.kubernetes.io/zone": f"zone-{i % 3}"},
            "resourceVersion": str(1000 + i), "uid": f"n-{i}"},
            "spec": {"podCIDR": f"10.{64 + i // 256}.{i % 256}.0/24", "providerID": f"aws:///zone/i-{i:08x}"},
            "status": {"addresses": [{"type": "InternalIP", "address": f"172.16.{i // 250}.{i % 250 + 1}"},
                                     {"type": "Hostname", "address": f"node-{i:03d}"}],
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastHeartbeatTime": "2026-11-01T10:00:00Z"}],
                       "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"}}})
    for i in range(pods):
        app = i % services
        n = i % nodes
        ip = f"10.{64 + n // 256}.{n % 256}.{(i // nodes) % 250 + 2}"
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"app{app}-7d9f8b6c5d-{i:05d}", "namespace": f"ns-{app % 50}",
            "labels": {"app": f"app{app}", "pod-template-hash": "7d9f8b6c5d"},
            "generateName": f"app{app}-7d9f8b6c5d-", "uid": f"p-{i}", "resourceVersion": str(5000 + i),
            "creationTimestamp": "2026-11-01T10:00:00Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"app{app}-7d9f8b6c5d",
                                 "uid": f"rs-{app}", "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                                     "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                                     "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                                     "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                                       "name": "kube-api-access", "readOnly": True}]}],
                     "nodeName": f"node-{n:03d}", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                     "schedulerName": "default-scheduler", "serviceAccountName": "default",
                     "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                                      "operator": "Exists", "tolerationSeconds": 300}],
                     "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                         {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "172.16.0.1",
                       "qosClass": "Burstable", "startTime": "2026-11-01T10:00:00Z",
                       "conditions": [{"type": t, "status": "True", "lastProbeTime": None,
                                       "lastTransitionTime": "2026-11-01T10:00:00Z"}
                                      for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                       "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "started": True,
                                              "image": "nginx:1.27", "imageID": "docker.io/library/nginx@sha256:0",
                                              "state": {"running": {"startedAt": "2026-11-01T10:00:01Z"}}}]}})
    for s in range(services):
        t = ("ClusterIP", "NodePort", "LoadBalancer")[s % 3]
        spec = {"type": t, "selector": {"app": f"app{s}"}, "clusterIP": f"10.96.{s // 250 + 1}.{s % 250 + 1}",
                "clusterIPs": [f"10.96.{s // 250 + 1}.{s % 250 + 1}"], "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}
        status = {"loadBalancer": {}}
        if t != "ClusterIP":
            spec["ports"][0]["nodePort"] = 30000 + s
            spec["externalTrafficPolicy"] = "Cluster"
        if t == "LoadBalancer":
            spec["allocateLoadBalancerNodePorts"] = True
            status = {"loadBalancer": {"ingress": [{"ip": f"203.0.113.{s % 250 + 1}", "ipMode": "VIP"}]}}
        items.append({"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": f"app{s}", "namespace": f"ns-{s % 50}", "uid": f"s-{s}", "resourceVersion": str(9000 + s)},
            "spec": spec, "status": status})
    with open(path, "w") as f:
        yaml.dump({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}},
                  f, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), default_flow_style=False)


def snapshot_route(pods: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "snapshot.yaml")
        snapshot_yaml(path, pods)
        size = os.path.getsize(path) / 2**20
        # The child reports its own peak from /proc (VmHWM starts afresh at exec; getrusage's
        # maxrss would keep the peak of this large process, from which the child is forked).
        code = ("import sys\nfrom k8slab.cli import main\nrc = main(sys.argv[1:])\n"
                "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
                "print('PEAK', hwm.split()[1], file=sys.stderr)\nsys.exit(rc)")
        cmd = [sys.executable, "-c", code, "route", path, "--service", "app2", "--namespace", "ns-2",
               "--client", "laptop", "--json"]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"k8slab route failed: {proc.stderr[-2000:]}")
        peak = int(proc.stderr.rsplit("PEAK", 1)[1]) / 1024
        return size, elapsed, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=30_000, help="pods in the snapshot (default 30000)")
    args = ap.parse_args()
    print(f"import k8slab: {import_time():.1f} ms (budget 150 ms)")
    t = time.perf_counter()
    cluster = big_cluster()
    print(f"cluster at the limits (5,000 nodes, 150,000 pods, 10,000 Services) built in "
          f"{time.perf_counter() - t:.2f} s")
    med, p95, worst = route_queries(cluster)
    print(f"route query: median {med:.3f} ms, p95 {p95:.3f} ms, max {worst:.1f} ms (budget: median 2 ms)")
    size, elapsed, peak = snapshot_route(args.pods)
    print(f"k8slab route on a {args.pods:,}-pod snapshot ({size:.0f} MiB of YAML): {elapsed:.2f} s, "
          f"peak memory {peak:.0f} MiB (budget 10 s, 2048 MiB)")


if __name__ == "__main__":
    main()
