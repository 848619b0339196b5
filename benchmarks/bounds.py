"""Time and memory bounds on hostile input (issue 14, item 3), each through `k8slab` in a child.

Prints, for each input, the exit code, the wall-clock time, the child's peak memory and the
first line of its answer:

- a 50 MB `kubectl get -o yaml` snapshot (budget: 30 s and 2 GB, or a clear refusal);
- 1,000,000 tiny documents; a 10-million-character name; `replicas: 2000000000`;
- /dev/zero, a FIFO nobody writes to, an unreadable file, a directory;
- inputs under 1 MB (the demo, a fanned-out manifest): load + validate + one route under 2 s.

    python benchmarks/bounds.py
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

CHILD = ("import sys\nfrom k8slab.cli import main\nrc = main(sys.argv[1:])\n"
         "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
         "print('PEAK', hwm.split()[1], file=sys.stderr)\nsys.exit(rc)")


def run(args: list[str], timeout: float = 120.0) -> tuple[int, float, float, str]:
    t = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=timeout, errors="replace")
    except subprocess.TimeoutExpired:
        return -1, time.perf_counter() - t, 0.0, f"no answer within {timeout:.0f} s"
    elapsed = time.perf_counter() - t
    err, _, peak = p.stderr.rpartition("PEAK")
    answer = (p.stdout.strip().splitlines() or err.strip().splitlines() or [""])[0]
    if "Traceback" in p.stderr:
        answer = "TRACEBACK: " + p.stderr.strip().splitlines()[-1]
    return p.returncode, elapsed, int(peak or 0) / 1024, answer[:150]


def main() -> None:
    from scale import snapshot_yaml
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "snapshot-50mb.yaml")
        snapshot_yaml(big, pods=22_000, nodes=300, services=1000)
        size = os.path.getsize(big) / 2**20
        rows.append((f"snapshot, {size:.0f} MB: route", run(["route", big, "--service", "app2", "--namespace",
                                                            "ns-2", "--client", "laptop", "--json"])))
        million = os.path.join(tmp, "million.yaml")
        Path(million).write_text("a: 1\n---\n" * 1_000_000)
        rows.append(("1,000,000 tiny documents: validate", run(["validate", million])))
        long_name = os.path.join(tmp, "long-name.yaml")
        Path(long_name).write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: " + "a" * 10_000_000
                                   + "\nspec:\n  ports: [{port: 80}]\n")
        rows.append(("a 10-million-character name: validate", run(["validate", long_name])))
        replicas = os.path.join(tmp, "replicas.yaml")
        Path(replicas).write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2000000000\n"
            "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
            "    spec: {containers: [{name: web, image: nginx}]}\n---\napiVersion: v1\nkind: Service\n"
            "metadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n")
        rows.append(("replicas: 2000000000: route", run(["route", replicas, "--service", "web", "--client",
                                                         "node/node-a"])))
        Path(replicas).write_text(Path(replicas).read_text().replace("2000000000", "150000"))
        rows.append(("replicas: 150000 (the limit): route", run(["route", replicas, "--service", "web",
                                                                 "--client", "node/node-a"])))
        rows.append(("/dev/zero: validate", run(["validate", "/dev/zero"])))
        fifo = os.path.join(tmp, "fifo.yaml")
        os.mkfifo(fifo)
        rows.append(("a FIFO nobody writes to: validate", run(["validate", fifo])))
        locked = os.path.join(tmp, "locked.yaml")
        Path(locked).write_text("kind: Service\n")
        os.chmod(locked, 0)
        if os.geteuid() == 0:       # root reads any file: make it unreadable another way
            os.chmod(locked, stat.S_IWUSR)
            rows.append(("an unreadable file (root: skipped, root reads everything)", (0, 0.0, 0.0, "")))
        else:
            rows.append(("an unreadable file: validate", run(["validate", locked])))
        empty = os.path.join(tmp, "empty-dir")
        os.mkdir(empty)
        rows.append(("a directory with no YAML in it: validate", run(["validate", empty])))
        rows.append(("the demo (under 1 MB): route", run(["route", "notebooks/manifests/demo.yaml", "--service",
                                                          "web-nodeport", "--client", "laptop"])))
        fan = os.path.join(tmp, "fan.yaml")
        demo = (ROOT / "notebooks/manifests/demo.yaml").read_text()
        services = "".join(f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\nspec:\n  type: "
                           f"LoadBalancer\n  selector: {{app: web}}\n  ports: [{{port: 80, targetPort: http}}]\n"
                           for i in range(2000))
        Path(fan).write_text(demo + services)
        rows.append((f"demo + 2,000 LoadBalancer Services ({os.path.getsize(fan) / 2**10:.0f} KB): route",
                     run(["route", fan, "--service", "s1999", "--client", "laptop"])))
    print(f"{'input':<60} {'exit':>4} {'seconds':>8} {'peak MB':>8}  answer")
    for name, (rc, seconds, peak, answer) in rows:
        print(f"{name:<60} {rc:>4} {seconds:>8.2f} {peak:>8.0f}  {answer}")


if __name__ == "__main__":
    main()
