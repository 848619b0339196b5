"""Issue 22's budget: on the command line a large snapshot is checked in a forked child while it
is built and answered from (k8slab/_forked.py, manifests.deferred_checks). What a learner sees
must be exactly what the one-step path shows: the same answer for a valid snapshot, and for an
invalid one the problems alone, never an answer about a half-valid cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from snapshot_load import items  # noqa: E402  (the benchmark's snapshot, smaller)

pytestmark = pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2,
                                reason="the command forks only on Linux with a second CPU")


# `python -m k8slab`, with an audit hook that notes each fork (to a file: the output is compared).
_MAIN = ("import os, runpy, sys\n"
         "def hook(event, args):\n"
         "    if event in ('os.fork', 'os.kill'):\n"
         "        open(os.environ['FORKS'], 'a').write(event[3:] + '\\n')\n"
         "sys.addaudithook(hook)\n"
         "sys.argv = ['k8slab'] + sys.argv[1:]\n"
         "runpy.run_module('k8slab', run_name='__main__')\n")


def run(argv, parallel: bool, tmp_path, forks: int = 1, kills: int = 0) -> subprocess.CompletedProcess:
    forks_expected = forks
    forks = tmp_path / f"forks-{parallel}"
    forks.write_text("")
    env = {**os.environ, "K8SLAB_PARALLEL": "1" if parallel else "0", "K8SLAB_CACHE": "0", "FORKS": str(forks)}
    p = subprocess.run([sys.executable, "-c", _MAIN, *argv], capture_output=True, text=True, cwd=ROOT,
                       env=env, timeout=120)
    # The one-step path never forks; the other checks in one child (two when it reads again).
    assert forks.read_text().count("fork") == (forks_expected if parallel else 0), p.stderr
    # A child is stopped (killed) only when its answer is not wanted: the input is no snapshot.
    assert forks.read_text().count("kill") == (kills if parallel else 0), p.stderr
    return p


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    # 450 Services, pods and slices on 8 nodes: past the 1 MB at which the command forks.
    path = tmp_path_factory.mktemp("snap") / "cluster.json"
    # A Secret too: a kind k8slab skips, with a note (on stderr, before the answer).
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default", "uid": "u"}}
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items(450, 450, 8) + [secret]}))
    assert path.stat().st_size >= 1 << 20
    return path


COMMANDS = {
    "route": ["route", "{f}", "--service", "app7", "--namespace", "ns-7", "--client", "laptop"],
    "trace": ["trace", "{f}", "--client", "node/node-0003", "--dial", "10.96.1.8:80"],
    "dns": ["dns", "{f}", "--client", "pod/ns-7/app7-7d9f8b6c5d-000007", "--name", "app7"],
    "diagnose": ["diagnose", "{f}", "--client", "pod/ns-7/app7-7d9f8b6c5d-000007", "--dial", "app7:80"],
    "rules": ["rules", "{f}", "--node", "node-0003"],
    "route --json": ["route", "{f}", "--service", "app8", "--namespace", "ns-8", "--client", "internet", "--json"],
    "a failing trace": ["trace", "{f}", "--client", "node/node-0003", "--dial", "nope.ns-7:80"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_valid_snapshot_gets_the_same_answer_either_way(snapshot, tmp_path, name):
    argv = [a.format(f=snapshot) for a in COMMANDS[name]]
    one_step, forked = run(argv, False, tmp_path), run(argv, True, tmp_path)
    assert one_step.returncode == (2 if name == "a failing trace" else 0), one_step.stderr
    if name != "diagnose":                   # the notes come first; diagnose prints none
        assert "note: skipped 1 Secret object" in one_step.stderr
    assert (forked.returncode, forked.stdout, forked.stderr) == (one_step.returncode, one_step.stdout,
                                                                 one_step.stderr)


@pytest.mark.parametrize("name", ["route", "trace", "rules"])
def test_an_invalid_snapshot_shows_its_problems_and_no_answer(snapshot, tmp_path, name):
    # Stored objects a real API server would never have stored: a pod IP that is no IP, and two
    # Services on one cluster IP. The answer worked out meanwhile must not be shown.
    doc = json.loads(snapshot.read_text())
    doc["items"][-1]["metadata"]["name"] += "-edited"                      # keep every name unique
    pod = next(i for i in doc["items"] if i["kind"] == "Pod" and i["metadata"]["name"].endswith("000123"))
    pod["status"]["podIP"] = "10.64.300.1"
    twin = json.loads(json.dumps(next(i for i in doc["items"] if i["kind"] == "Service")))
    twin["metadata"]["name"] = "twin"
    doc["items"].append(twin)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    argv = [a.format(f=bad) for a in COMMANDS[name]]
    one_step, forked = run(argv, False, tmp_path), run(argv, True, tmp_path)
    assert one_step.returncode == 1 and one_step.stdout == ""
    assert "10.64.300.1" in one_step.stderr and "already allocated" in one_step.stderr
    assert (forked.returncode, forked.stdout, forked.stderr) == (1, "", one_step.stderr)


def test_a_snapshot_that_needs_converting_is_answered_again_in_one_step(snapshot, tmp_path):
    # A slice port written 8080.0 (kubectl sends 8080): the command first reads the text
    # unchecked and works out an answer from 8080.0; the child finds the text needed converting,
    # and the answer is worked out again from what kubectl would send (a second child checks).
    doc = json.loads(snapshot.read_text())
    (sl,) = [i for i in doc["items"] if i["kind"] == "EndpointSlice" and i["metadata"]["name"] == "app7-x7k2p"]
    sl["ports"][0]["port"] = 8080.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    assert '"port": 8080.0' in edited.read_text()
    argv = [a.format(f=edited) for a in COMMANDS["route"]]
    one_step, forked = run(argv, False, tmp_path), run(argv, True, tmp_path, forks=2)
    assert one_step.returncode == 0 and "10.64.7.2:8080 " in one_step.stdout and "8080.0" not in one_step.stdout
    assert (forked.returncode, forked.stdout, forked.stderr) == (0, one_step.stdout, one_step.stderr)


@pytest.mark.parametrize("replicas, kills", [(2, 0), (2_000_000_000, 1)])
def test_a_snapshot_with_controllers_is_built_while_checked_unless_it_asks_for_too_many_pods(
        snapshot, tmp_path, replicas, kills):
    # `kubectl get all -o yaml` brings Deployments: with their pods in the input nothing is made,
    # so the command builds while the child checks. One asking for two billion pods is checked
    # first (the child is stopped): the one-step path's answer, the limit, and nothing else.
    doc = json.loads(snapshot.read_text())
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "app7", "namespace": "ns-7", "uid": "d-7", "resourceVersion": "1"},
                  "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "app7"}},
                           "template": {"metadata": {"labels": {"app": "app7"}},
                                        "spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
                  "status": {"replicas": 1}}
    doc["items"].append(deployment)
    if replicas > 2:                       # its pods not in the input: k8slab would make them
        doc["items"] = [i for i in doc["items"] if not (i["kind"] == "Pod" and i["metadata"]["name"]
                                                         == "app7-7d9f8b6c5d-000007")]
    path = tmp_path / "all.json"
    path.write_text(json.dumps(doc))
    argv = [a.format(f=path) for a in COMMANDS["route"]]
    one_step, forked = run(argv, False, tmp_path), run(argv, True, tmp_path, kills=kills)
    assert one_step.returncode == (1 if kills else 0), one_step.stderr
    assert (forked.returncode, forked.stdout, forked.stderr) == (one_step.returncode, one_step.stdout,
                                                                 one_step.stderr)
    if kills:
        assert "150,000 pods" in one_step.stderr and one_step.stdout == ""


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_a_child_gives_its_answer_and_any_failure_there_is_done_here():
    p = _python("""
        import os
        from k8slab import _forked
        parent = os.getpid()
        _forked.allow()
        print(_forked.start(lambda: ("child" if os.getpid() != parent else "here", 7)).result())
        def fails_in_child():
            if os.getpid() != parent:
                raise RuntimeError("boom")
            return "done here"
        print(_forked.start(fails_in_child).result())
        def killed_in_child():
            if os.getpid() != parent:
                os.kill(os.getpid(), 9)
            return "done here after a kill"
        print(_forked.start(killed_in_child).result())
        print(_forked.start(lambda: (lambda: 1) if os.getpid() != parent else "unpicklable, done here").result())
        import time
        t = time.perf_counter()
        slow = _forked.start(time.sleep, 30)
        slow.cancel()                                     # an answer no longer wanted: stopped
        print("cancelled", time.perf_counter() - t < 5)
        os.environ["K8SLAB_PARALLEL"] = "0"
        print(_forked.start(lambda: "here" if os.getpid() == parent else "child").result())
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["('child', 7)", "done here", "done here after a kill",
                                     "unpicklable, done here", "cancelled True", "here"]
    assert p.stderr == ""                       # a child prints nothing, even when it fails


def test_nothing_forks_unless_the_command_allows_it():
    p = _python("""
        import os
        from k8slab import _forked
        parent = os.getpid()
        print(_forked.allowed(), _forked.start(lambda: os.getpid() == parent).result())
    """)
    assert p.stdout.split() == ["False", "True"]


def test_a_detached_child_does_its_work_after_the_caller_goes_on(tmp_path):
    out = tmp_path / "kept"
    p = _python(f"""
        import os, time
        from k8slab import _forked
        _forked.allow()
        def keep():
            time.sleep(0.3)
            open({str(out)!r}, "w").write(str(os.getppid() != 0))
        t = time.perf_counter()
        _forked.detach(keep)
        print(time.perf_counter() - t < 0.25)
    """)
    assert p.stdout.strip() == "True", p.stderr
    for _ in range(100):                        # bounded: at most 5 s
        if out.exists() and out.read_text():
            break
        import time
        time.sleep(0.05)
    assert out.read_text() == "True"
