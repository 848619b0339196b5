"""How long notebook 08's whole-fix check takes: per case, on the setup as given and on the fix.

    python benchmarks/checkers.py [--repeat N]

The check runs diagnose once per dial of the case, and again for every other place a real
scheduler may put the pods (issue 24): a learner waits for it after every edit. Budget: a check
answers in under a second on a busy 2-core machine. Prints figures; it is not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from k8slab import exercises  # noqa: E402
from k8slab.exercises.why_doesnt_it_work import FIX_CASES, placements  # noqa: E402

BROKEN = ROOT / "notebooks" / "manifests" / "broken"
FILES = {"fix-selector": "10-labels.yaml", "fix-port": "04-web.yaml", "fix-named-port": "13-named.yaml",
         "fix-local": "15-local.yaml", "fix-protocol": "07-resolver.yaml", "fix-https": "03-https.yaml",
         "fix-source-range": "16-firewall.yaml", "fix-namespace": "11-two-teams.yaml",
         "fix-two-api": "22-api.yaml", "fix-two-edge": "23-edge.yaml"}


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{'case':18} {'dials':>5} {'placements':>10} {'as given ms':>12} {'fixed ms':>9}")
    worst = 0.0
    for case in FIX_CASES:
        text = (BROKEN / FILES[case.id]).read_text()
        fixed = case.fixed(text)
        assert exercises.check(case.id, fixed), case.id
        given = median_ms(lambda: exercises.check(case.id, text), args.repeat)
        right = median_ms(lambda: exercises.check(case.id, fixed), args.repeat)
        worst = max(worst, given, right)
        print(f"{case.id:18} {1 + len(case.others):5} {len(placements(fixed)):10} "
              f"{given:12.1f} {right:9.1f}")
    print(f"slowest check: {worst:.0f} ms (budget 1000 ms)")


if __name__ == "__main__":
    main()
