"""What one learner costs a hub: every notebook run in ONE kernel, its peak RSS and CPU time.

    python benchmarks/kernel_memory.py [--notebooks DIR] [--no-server]

Also prints each notebook's peak in a kernel of its own (JupyterLab's default: one kernel per
open notebook) and the idle JupyterLab server's RSS.

A learner on JupyterHub works through the notebooks in one session, often without restarting
the kernel, so the figure that sizes `singleuser.memory` (deploy/z2jh/config.yaml) is the
kernel's high-water mark after all of them, plus the Jupyter server beside it. Prints figures;
it is not a timed test and never fails on them (docs/classroom.md records a run).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent

# Run inside the kernel after each notebook: its own high-water mark and CPU, from the kernel.
PROBE = """
import json as _j, resource as _r
_s, _c = _r.getrusage(_r.RUSAGE_SELF), _r.getrusage(_r.RUSAGE_CHILDREN)
_rss = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:')][0]
print(_j.dumps({"peak_kb": _s.ru_maxrss, "rss_kb": _rss, "cpu_s": _s.ru_utime + _s.ru_stime,
                "children_peak_kb": _c.ru_maxrss, "children_cpu_s": _c.ru_utime + _c.ru_stime}))
"""


def run_code(client, code: str, timeout: float = 300) -> str:
    """Execute code in the kernel; return its stdout, raise on an error (a broken notebook)."""
    out: list[str] = []
    errors: list[str] = []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content.get("name") == "stdout":
            out.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook, store_history=False)
    if reply["content"]["status"] != "ok" or errors:
        raise RuntimeError("; ".join(errors) or reply["content"].get("evalue", "kernel error"))
    return "".join(out)


def kernel_figures(notebooks: list[Path]) -> list[tuple[str, dict, float]]:
    # ipc: a local socket file, no TCP port (and no warning about unencrypted TCP).
    km = KernelManager(kernel_name="python3", transport="ipc",
                       connection_file=tempfile.mktemp(suffix=".json"))
    km.start_kernel(cwd=str(notebooks[0].parent))
    client = km.client()
    client.start_channels()
    rows = []
    try:
        client.wait_for_ready(timeout=60)
        rows.append(("(fresh kernel)", json.loads(run_code(client, PROBE)), 0.0))
        for nb_path in notebooks:
            cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
            t0 = time.perf_counter()
            for cell in cells:
                if cell["cell_type"] == "code":
                    source = "".join(cell["source"])
                    if source.strip():
                        run_code(client, source)
            wall = time.perf_counter() - t0
            rows.append((nb_path.stem, json.loads(run_code(client, PROBE)), wall))
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
    return rows


def server_rss_kb() -> int | None:
    """The Jupyter server a learner's pod also runs: its RSS once it answers, idle."""
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        token = secrets.token_hex(16)
        env = dict(os.environ, JUPYTER_CONFIG_DIR=f"{tmp}/cfg", JUPYTER_DATA_DIR=f"{tmp}/data",
                   JUPYTER_RUNTIME_DIR=f"{tmp}/run", IPYTHONDIR=f"{tmp}/ipy")
        args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                f"--port={port}", f"--IdentityProvider.token={token}", f"--notebook-dir={tmp}"]
        if os.getuid() == 0:
            args.append("--allow-root")
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                           timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                return None
            # Load the Lab page once, as a browser would, so its handlers are warm.
            urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10).read()
            time.sleep(1)
            with open(f"/proc/{proc.pid}/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--no-server", action="store_true", help="skip the Jupyter server figure")
    args = parser.parse_args()
    notebooks = sorted(args.notebooks.glob("[0-9][0-9]-*.ipynb"))
    if not notebooks:
        sys.exit(f"no notebooks in {args.notebooks}")

    rows = kernel_figures(notebooks)
    print(f"{'after':<28} {'peak RSS':>10} {'RSS now':>10} {'CPU (s)':>8} {'wall (s)':>9}")
    for name, fig, wall in rows:
        print(f"{name:<28} {fig['peak_kb'] / 1024:>8.0f} MB {fig['rss_kb'] / 1024:>7.0f} MB "
              f"{fig['cpu_s']:>8.1f} {wall:>9.1f}")
    last = rows[-1][1]
    print(f"kernel peak RSS, all {len(notebooks)} notebooks in one kernel: "
          f"{last['peak_kb'] / 1024:.0f} MB; kernel CPU time: {last['cpu_s']:.1f} s")
    if last["children_peak_kb"]:
        print(f"the kernel's child processes: peak {last['children_peak_kb'] / 1024:.0f} MB, "
              f"CPU {last['children_cpu_s']:.1f} s")
    # JupyterLab starts one kernel per open notebook: a learner who never closes one keeps
    # them all, each with its own interpreter, k8slab and renderer.
    alone = [kernel_figures([nb])[-1][1]["peak_kb"] for nb in notebooks]
    print("each notebook in its own kernel, peak RSS: "
          + ", ".join(f"{nb.stem[:2]} {kb / 1024:.0f} MB" for nb, kb in zip(notebooks, alone))
          + f"; all open at once: {sum(alone) / 1024:.0f} MB")
    if not args.no_server:
        rss = server_rss_kb()
        print("jupyter server (JupyterLab), idle after loading /lab: "
              + (f"{rss / 1024:.0f} MB RSS" if rss else "did not start within 60 s"))
        if rss:
            # What a learner's pod holds: the server plus its kernels.
            one = rss + last["peak_kb"]
            two = rss + sum(sorted(alone)[-2:])
            print(f"a learner's pod: server + the one kernel {one / 1024:.0f} MB; server + the two "
                  f"largest notebooks open {two / 1024:.0f} MB; server + every notebook open "
                  f"{(rss + sum(alone)) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
