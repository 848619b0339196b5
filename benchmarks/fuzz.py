"""The long fuzz run (`make fuzz`): mutated manifests through the Python API and the command line.

Prints, and with --write stores in benchmarks/fuzz.md, the figures issue 14 asks for: inputs,
escapes (exceptions other than K8slabError), hangs over 10 s, invalid input routed as if valid,
and the slowest input. Exits 1 when any input failed a check. The mutations and checks live in
tests/fuzzing.py, shared with the quick profile in tests/test_fuzz.py.

    python benchmarks/fuzz.py --examples 100000 --cli 300 --workers 2 [--seed 0] [--write]
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import random
import signal
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

HANG_SECONDS = 10
_SEEDS = None


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _worker(job):
    """Inputs index, index + step, ... below stop; returns counts and failures."""
    start, stop, step, seed, cli_every = job
    global _SEEDS
    import fuzzing
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.gettempdir())
    if _SEEDS is None:                  # parsed once per worker process, not per chunk
        _SEEDS = fuzzing.seeds()
    all_seeds = _SEEDS
    signal.signal(signal.SIGALRM, _alarm)
    stats = collections.Counter()
    failures: list[tuple[int, str]] = []
    slowest = (0.0, -1, 0)
    peak_first_route = 0.0
    with tempfile.TemporaryDirectory(prefix="k8slab-fuzz-") as tmp:
        for i in range(start, stop, step):
            rng = random.Random(f"{seed}:{i}")
            suffix, data = fuzzing.make_input(all_seeds, rng)
            path = os.path.join(tmp, f"input-{i}{suffix}")
            with open(path, "wb") as f:
                f.write(data)
            signal.alarm(HANG_SECONDS)
            t0 = time.perf_counter()
            try:
                out = fuzzing.check(path, rng)
            except _Hang:
                stats["hangs"] += 1
                failures.append((i, f"hang > {HANG_SECONDS}s"))
                continue
            finally:
                signal.alarm(0)
            elapsed = time.perf_counter() - t0
            stats["inputs"] += 1
            stats["loaded"] += out.loaded
            stats["routes"] += out.routes
            stats["bytes"] += out.size
            if elapsed > slowest[0]:
                slowest = (elapsed, i, out.size)
            if out.size < 2**20:
                peak_first_route = max(peak_first_route, out.first_route_seconds or out.seconds)
            for f in out.failures:
                stats[f.split(" ", 1)[0].split(":")[0]] += 1
                failures.append((i, f))
            if cli_every and i % cli_every == 0:
                for argv in fuzzing.cli_commands(path, rng):
                    stats["cli"] += 1
                    for f in fuzzing.check_cli(argv):
                        stats["cli-failures"] += 1
                        failures.append((i, f))
            os.unlink(path)
    return stats, failures, slowest, peak_first_route


CHUNK = 500


def run(examples: int, cli: int, workers: int, seed: int, max_seconds: float | None = None):
    """Inputs 0 .. examples-1 in chunks over `workers` processes; with max_seconds, stops
    handing out chunks once that much time has passed (the figures say how many ran)."""
    cli_every = max(1, examples // cli) if cli else 0
    jobs = [(start, min(start + CHUNK, examples), 1, seed, cli_every) for start in range(0, examples, CHUNK)]
    t0 = time.perf_counter()
    total = collections.Counter()
    failures = []
    slowest = (0.0, -1, 0)
    first = 0.0
    done = 0
    with get_context("fork").Pool(workers) as pool:
        for stats, fails, slow, peak in pool.imap_unordered(_worker, jobs):
            total.update(stats)
            failures += fails
            slowest = max(slowest, slow)
            first = max(first, peak)
            done += 1
            elapsed = time.perf_counter() - t0
            print(f"  {total['inputs'] + total['hangs']:,} inputs, {len(failures)} failures, {elapsed:.0f} s",
                  file=sys.stderr, flush=True)
            if max_seconds and elapsed > max_seconds and done < len(jobs):
                pool.terminate()
                break
    return total, sorted(failures), slowest, first, time.perf_counter() - t0


def report(total, failures, slowest, first, seconds, seed, workers) -> str:
    kinds = collections.Counter(f.split(":")[0].split(" ")[0] for _, f in failures)
    lines = [
        "# Fuzz run (issue 14)",
        "",
        f"`python benchmarks/fuzz.py --examples {total['inputs'] + total['hangs']} --seed {seed} "
        f"--workers {workers}` on {platform.python_version()}, {os.cpu_count()} cores, "
        f"{seconds:.0f} s wall clock.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| inputs through the Python API | {total['inputs'] + total['hangs']:,} |",
        f"| of which loaded into a cluster | {total['loaded']:,} |",
        f"| routes computed | {total['routes']:,} |",
        f"| escapes (exceptions other than K8slabError) | {kinds['escape']:,} |",
        f"| hangs over {HANG_SECONDS} s | {total['hangs']:,} |",
        f"| invalid input routed as if valid | {kinds['invalid-routed']:,} |",
        f"| K8slabError messages without the file | {kinds['no-file']:,} |",
        f"| a loaded cluster failing to route its own clients | {kinds['route-error']:,} |",
        f"| probabilities not summing to 1 | {kinds['probabilities']:,} |",
        f"| inputs under 1 MB over 2 s to load, validate and route | {kinds['slow']:,} |",
        f"| slowest input under 1 MB (load + validate + first route) | {first:.2f} s |",
        f"| slowest input, all checks | {slowest[0]:.2f} s (input {slowest[1]}, {slowest[2]:,} bytes) |",
        f"| command-line runs (`python -m k8slab`) | {total['cli']:,} |",
        f"| command-line runs with a traceback, a hang or an exit code not 0/1/2 | {total['cli-failures']:,} |",
    ]
    if failures:
        lines += ["", "First failures (input number: what):", ""]
        lines += [f"- {i}: {f[:300]}" for i, f in failures[:30]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=int(os.environ.get("K8SLAB_FUZZ_EXAMPLES", "100000")))
    p.add_argument("--cli", type=int, default=300, help="command-line runs in all")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="store the figures in benchmarks/fuzz.md")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="stop after this long, reporting the inputs that ran (default: no limit)")
    a = p.parse_args(argv)
    total, failures, slowest, first, seconds = run(a.examples, a.cli, a.workers, a.seed, a.max_seconds)
    text = report(total, failures, slowest, first, seconds, a.seed, a.workers)
    print(text, end="")
    if a.write:
        (Path(__file__).resolve().parent / "fuzz.md").write_text(text, encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
