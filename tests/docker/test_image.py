"""The hub's single-user image (deploy/singleuser/Dockerfile), built and run for real.

    K8SLAB_DOCKER_TESTS=1 .venv/bin/python -m pytest tests/docker -p no:cacheprovider -s
    (or: make test-image)

Opt-in: the build takes minutes (measured here: about 3 minutes with a fresh debootstrap base,
2 with the base cached), so `make test` reports this test as skipped, with why, unless
K8SLAB_DOCKER_TESTS=1. CI (.ci/run) sets it wherever a Docker daemon answers. When enabled, a
Docker that does not answer is a failure, not a skip.

Docker Hub is not reachable here, so the base is made locally: `debootstrap` a minimal
Debian 12 with python3 and `docker import` it (cached as k8slab-test-base:bookworm). The
Python packages come from a wheelhouse built on this machine with pip, and the image is built
and run with `--network none`: nothing in the test reaches any network but the Debian mirror
debootstrap reads (K8SLAB_DEBIAN_MIRROR) and pip's configured index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE_TAG = "k8slab-test-base:bookworm"
IMAGE_TAG = "k8slab-singleuser:test"
ENABLE = "K8SLAB_DOCKER_TESTS"
# What the image build copies (the same list .dockerignore lets through).
CONTEXT = ["binder/requirements.txt", "deploy/singleuser", "pyproject.toml", "README.md", "k8slab",
           ".dockerignore"]


def docker_problem() -> str | None:
    """Why Docker cannot run a container here, or None when it can."""
    if not shutil.which("docker"):
        return "no docker client on PATH (Debian: apt-get install docker.io)"
    if not shutil.which("dockerd") and not os.path.exists("/var/run/docker.sock"):
        return "no dockerd on this machine (Debian: apt-get install docker.io)"
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "dockerd does not answer `docker info` within 20 s"
    if done.returncode != 0:
        return "dockerd is not responding: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    return None


def _gate():
    problem = docker_problem()
    if os.environ.get(ENABLE) != "1":
        state = f"Docker here: {problem}" if problem else "Docker responds here"
        pytest.skip(f"the image build takes minutes; set {ENABLE}=1 (or `make test-image`) to "
                    f"run it ({state})")
    if problem:
        pytest.fail(f"{ENABLE}=1 but Docker cannot run: {problem}", pytrace=False)
    if os.geteuid() != 0 and not docker_image_exists(BASE_TAG):
        pytest.fail(f"making the base with debootstrap needs root (or `docker load` a {BASE_TAG})",
                    pytrace=False)


def run(args, timeout, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    assert done.returncode == 0, (f"{' '.join(map(str, args))} failed ({done.returncode}):\n"
                                  + done.stdout[-4000:] + done.stderr[-4000:])
    return done


def docker_image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True,
                          timeout=30).returncode == 0


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    _gate()
    work = tmp_path_factory.mktemp("k8slab-image")
    if not docker_image_exists(BASE_TAG):
        if not shutil.which("debootstrap"):
            pytest.fail("the base image needs debootstrap (apt-get install debootstrap)",
                        pytrace=False)
        rootfs = work / "rootfs"
        mirror = os.environ.get("K8SLAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
        run(["debootstrap", "--variant=minbase",
             "--include=python3,python3-venv,git,ca-certificates", "bookworm", str(rootfs),
             mirror], timeout=1200)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(["docker", "import", "-", BASE_TAG], timeout=600, stdin=tar.stdout)
        assert tar.wait(timeout=60) == 0
        shutil.rmtree(rootfs)

    context = work / "context"
    for rel in CONTEXT:
        src, dst = REPO / rel, context / rel
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    # The wheelhouse, from pip's own index on this machine, resolved for the base's Python
    # (Debian 12 has 3.11.2: the newest releases of some packages need more); setuptools is
    # there to build k8slab's wheel inside the image (pyproject's build-system), offline.
    base_python = run(["docker", "run", "--rm", "--network", "none", BASE_TAG, "python3", "-c",
                       "import platform; print(platform.python_version())"], timeout=120)
    wheels = context / "deploy/singleuser/wheels"
    run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
         "--python-version", base_python.stdout.strip(), "-d", str(wheels),
         "-r", str(context / "deploy/singleuser/requirements.txt"), "setuptools>=77", "wheel"],
        timeout=900)
    run(["docker", "build", "--force-rm", "--network", "none",
         "-f", "deploy/singleuser/Dockerfile",
         "--build-arg", f"BASE_IMAGE={BASE_TAG}",
         "--build-arg", "PIP_OPTIONS=--no-index --find-links=/tmp/wheels",
         "-t", IMAGE_TAG, "."], timeout=1800, cwd=context)
    return IMAGE_TAG


@pytest.fixture(scope="module")
def test_wheels(image, tmp_path_factory) -> Path:
    """pytest and nbval for the image's Python (same resolution as the image's wheelhouse)."""
    wheels = tmp_path_factory.mktemp("k8slab-test-wheels")
    os.chmod(wheels, 0o755)                 # the container's user (uid 1000) reads it
    python = run(["docker", "run", "--rm", "--network", "none", image, "python", "-c",
                  "import platform; print(platform.python_version())"], timeout=120)
    run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
         "--python-version", python.stdout.strip(), "-d", str(wheels), "pytest>=8", "nbval>=0.11"],
        timeout=600)
    return wheels


def in_image(image: str, *command: str, volumes=(), timeout=300) -> str:
    args = ["docker", "run", "--rm", "--network", "none"]
    for host, inside in volumes:
        args += ["-v", f"{host}:{inside}"]
    return run(args + [image, *command], timeout=timeout).stdout


def test_k8slab_is_installed_outside_home_and_not_editable(image, tmp_path):
    empty_home = tmp_path / "home"          # what a hub mounts: a fresh, empty volume
    empty_home.mkdir()
    os.chmod(empty_home, 0o777)
    out = in_image(image, "python", "-c",
                   "import json, k8slab, importlib.metadata as m; d = m.distribution('k8slab');"
                   "print(json.dumps({'file': k8slab.__file__,"
                   " 'direct_url': d.read_text('direct_url.json')}))",
                   volumes=[(empty_home, "/home/jovyan")])
    found = json.loads(out)
    assert found["file"].startswith("/opt/k8slab/lib/"), found
    assert '"editable": true' not in (found["direct_url"] or ""), found


def test_the_hub_pieces_have_the_pinned_versions(image):
    out = in_image(image, "python", "-c",
                   "import importlib.metadata as m;"
                   "print(*(m.version(p) for p in ('jupyterhub', 'nbgitpuller', 'jupyterlab')))")
    hub, puller, lab = out.split()
    pins = (REPO / "deploy/singleuser/requirements.txt").read_text()
    assert f"jupyterhub=={hub}\n" in pins and f"nbgitpuller=={puller}\n" in pins
    assert int(lab.split(".")[0]) >= 4
    extensions = in_image(image, "jupyter", "server", "extension", "list")
    assert "nbgitpuller" in extensions and "jupyterlab" in extensions
    assert in_image(image, "sh", "-c", "command -v jupyterhub-singleuser git").count("/") >= 2


def test_every_notebook_passes_strict_nbval_in_the_image_offline(image, test_wheels, tmp_path):
    """The same check as `make test` (strict nbval: saved outputs, SVGs byte for byte), run by
    the image's own Python and kernel. pytest and nbval go into a throwaway --target dir of
    the container, not into the image."""
    work = tmp_path / "work"
    shutil.copytree(REPO / "notebooks", work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in [work, *work.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    notebooks = " ".join(sorted(p.name for p in work.glob("[0-9][0-9]-*.ipynb")))
    assert notebooks
    out = in_image(image, "sh", "-c",
                   "pip install --quiet --no-index --find-links=/wheels --target=/tmp/t pytest nbval"
                   " && cd /home/jovyan/work && PYTHONPATH=/tmp/t python -m pytest --nbval "
                   f"--nbval-current-env -p no:cacheprovider -q {notebooks}",
                   volumes=[(work, "/home/jovyan/work"), (test_wheels, "/wheels")], timeout=900)
    print("\n" + out[-600:])
    assert re.search(r"\b\d+ passed\b", out) and "failed" not in out


def test_kernel_memory_in_the_image(image, tmp_path):
    """Not a budget: prints what docs/classroom.md sizes the hub from, measured in the image."""
    work = tmp_path / "nb"
    shutil.copytree(REPO / "notebooks", work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    out = in_image(image, "python", "/bench/kernel_memory.py", "--notebooks", "/nb",
                   volumes=[(work, "/nb"), (REPO / "benchmarks", "/bench")], timeout=600)
    print("\n" + out)
    assert "kernel peak RSS, all" in out
