"""Benchmark: the kernel harness (tests/kernel) on the demo cluster, and on its policies cluster.

Budget (issue 11): the demo cluster's harness <= 60 s. Builds the cluster in network namespaces
(needs root, iproute2 and iptables; says why not otherwise), runs every case the test runs,
and prints cases, connections and time: the build, the cases, the teardown. Cases where the
kernel disagrees with `route` are counted (the known ones are strict xfails in the test).
Run with `python benchmarks/kernel.py [--cluster demo|policies|both] [--verbose]`.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "kernel"))

import k8slab  # noqa: E402
import kernel_cases as C  # noqa: E402
import netlab  # noqa: E402
from kernel_known import disagreements, source_check_is_chance  # noqa: E402


def measure(name: str, cluster, yaml_path, clients=None, verbose: bool = False) -> dict:
    t0 = time.monotonic()
    all_cases = C.cases(cluster, clients)
    run = [c for c in all_cases if not c.skip]
    t_cases = time.monotonic()
    lab = netlab.Lab(cluster, rules_for=lambda node: C.cli_rules([yaml_path], node))
    try:
        lab.build()
        t_built = time.monotonic()
        agree = known = unexpected = connections = 0
        for case in run:
            v = C.run(lab, case, check_source=not source_check_is_chance(cluster, case))
            connections += v.connections
            expected_bad = bool(disagreements(cluster, case))
            if v.ok and not expected_bad:
                agree += 1
            elif not v.ok and expected_bad:
                known += 1
            else:
                unexpected += 1
                print(("UNEXPECTED " if not v.ok else "NOW AGREES ") + v.text())
            if verbose:
                print(f"  {v.seconds:6.3f} s  {'ok ' if v.ok else 'BAD'}  {case.id}")
        t_run = time.monotonic()
    finally:
        lab.close()
    t_end = time.monotonic()
    print(f"{name}: {len(all_cases)} cases ({len(run)} run, {len(all_cases) - len(run)} skipped with a reason), "
          f"{connections} connections; agree {agree}, known disagreements {known}, unexpected {unexpected}")
    print(f"  backend {lab.restore}; {len(lab.ns)} namespaces")
    print(f"  cases {t_cases - t0:.2f} s, build {t_built - t_cases:.2f} s, connections {t_run - t_built:.2f} s, "
          f"teardown {t_end - t_run:.2f} s, total {t_end - t0:.2f} s")
    return {"total": t_end - t0, "unexpected": unexpected}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cluster", choices=["demo", "policies", "both"], default="both")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    why = netlab.missing()
    if why:
        print(f"kernel harness cannot run here: {why}")
        return 0
    netlab.cleanup_leftovers()
    out = {}
    if args.cluster in ("demo", "both"):
        out["demo"] = measure("demo", k8slab.demo_cluster(), C.DEMO_YAML, verbose=args.verbose)
        print(f"  budget: demo harness <= 60 s: {'met' if out['demo']['total'] <= 60 else 'MISSED'}")
    if args.cluster in ("policies", "both"):
        cluster = C.policies_cluster()
        out["policies"] = measure("policies", cluster, C.POLICIES_YAML, C.policies_clients(cluster),
                                   verbose=args.verbose)
    return 1 if any(v["unexpected"] for v in out.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
