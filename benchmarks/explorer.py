"""How long the explorer takes from a control change to its new output, on the demo cluster.

    .venv/bin/python benchmarks/explorer.py [--changes N] [--no-kernel]

Measured two ways, both in the process that owns the widgets:
  - in a real Jupyter kernel (started with jupyter_client): the widgets' comm messages are
    really serialised and sent, as when a learner clicks in JupyterLab;
  - in this plain Python process (no comms), for the explorer's own work alone.
Each change sets one control's value; the explorer's observer rewrites the Service (its type,
its policy, its session affinity), kube-proxy's mode or the pods, routes, draws, runs its small
simulation and refills every output before the assignment returns. Target: median <= 30 ms.
Prints its figures; it is not a timed test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

TARGET_MS = 30.0

# One cycle of clicks a learner might make: every control, every value, the pod sliders
# through scaling up, a rolling update's terminating pods and back.
CHANGES = [("type", "NodePort"), ("kind", "pod"), ("kind", "laptop"), ("via", "node-b"),
           ("type", "LoadBalancer"), ("policy", "Local"), ("kind", "internet"),
           ("dial", "NodePort"), ("kind", "other-cluster"), ("via", "node-c"), ("dial", "usual"),
           ("policy", "Cluster"), ("kind", "node"), ("node", "node/node-c"), ("type", "ClusterIP"),
           ("kind", "laptop"),
           ("kind", "pod"), ("mode", "ipvs"), ("affinity", "ClientIP"), ("mode", "nftables"),
           ("replicas", 5), ("ready", 3), ("terminating", 1), ("replicas", 8), ("ready", 0),
           ("mode", "iptables"), ("affinity", "None"), ("terminating", 0), ("replicas", 3),
           ("type", "LoadBalancer"), ("policy", "Local"), ("kind", "internet"), ("replicas", 6),
           ("mode", "ipvs"), ("replicas", 3), ("mode", "iptables"), ("policy", "Cluster"),
           ("type", "ClusterIP"), ("kind", "laptop")]

MEASURE = """
import json, statistics, time
import k8slab
from k8slab.widgets import explorer
started = time.perf_counter()
ex = explorer(k8slab.demo_cluster())
build_ms = (time.perf_counter() - started) * 1000
changes = {changes!r}
for name, value in changes:            # warm: first renders, per-type cluster copies
    ex.controls[name].value = value
times = []
for i in range({n}):
    name, value = changes[i % len(changes)]
    t = time.perf_counter()
    ex.controls[name].value = value
    times.append((time.perf_counter() - t) * 1000)
result = {{"build_ms": build_ms, "times": times}}
"""
REPORT = 'print("K8SLAB-BENCH " + json.dumps(result))\n'


def figures(times: list[float]) -> str:
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    med = statistics.median(times)
    verdict = "ok" if med <= TARGET_MS else "OVER TARGET"
    return (f"median {med:6.2f} ms   p90 {p90:6.2f} ms   max {times[-1]:6.2f} ms   "
            f"({len(times)} changes; target median <= {TARGET_MS:.0f} ms: {verdict})")


def in_process(n: int) -> dict:
    namespace: dict = {}
    exec(MEASURE.format(changes=CHANGES, n=n), namespace)
    return namespace["result"]


def in_kernel(n: int) -> dict:
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        found = {}

        def on_output(msg):
            if msg["msg_type"] == "stream" and "K8SLAB-BENCH " in msg["content"]["text"]:
                line = msg["content"]["text"].split("K8SLAB-BENCH ", 1)[1].splitlines()[0]
                found.update(json.loads(line))
            elif msg["msg_type"] == "error":
                found["error"] = "\n".join(msg["content"]["traceback"])

        kc.execute_interactive(MEASURE.format(changes=CHANGES, n=n) + REPORT, timeout=300,
                               output_hook=on_output)
        if "error" in found:
            raise RuntimeError(found["error"])
        return found
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--changes", type=int, default=320, help="control changes to time")
    p.add_argument("--no-kernel", action="store_true", help="skip the real-kernel measurement")
    args = p.parse_args(argv)
    print("explorer: control change -> new output (demo cluster)")
    if not args.no_kernel:
        r = in_kernel(args.changes)
        print(f"  in a Jupyter kernel:  {figures(r['times'])}; explorer built in {r['build_ms']:.0f} ms")
    r = in_process(args.changes)
    print(f"  in plain Python:      {figures(r['times'])}; explorer built in {r['build_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
