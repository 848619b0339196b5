"""The README's promises: its table is what k8slab computes, its commands exist."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import update_readme  # noqa: E402


def test_readme_table_is_generated_by_k8slab():
    with open(update_readme.README, encoding="utf-8") as f:
        text = f.read()
    assert update_readme.START in text
    slug = update_readme.remote_slug()
    assert update_readme.render(text, slug) == text, "run: .venv/bin/python scripts/update_readme.py"


def test_readme_names_the_two_commands_the_makefile_has():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        make = f.read()
    for target in ("lab", "test"):
        assert f"make {target}" in text and f"\n{target}:" in make


def test_readme_names_every_top_level_folder_and_make_site():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    layout = text.split("## Layout", 1)[1].split("```")[1]
    folders = sorted(n for n in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, n))
                     and not n.startswith(".") and not n.endswith(".egg-info")
                     and subprocess.run(["git", "-C", ROOT, "ls-files", "--error-unmatch", n],
                                        capture_output=True).returncode == 0)
    assert folders, "no tracked folder found"
    for name in folders:
        assert re.search(rf"^{re.escape(name)}/", layout, re.M), f"README's layout misses {name}/"
    assert "make site" in text


def _git_with_remote(tmp_path, url):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    if url:
        subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", url], check=True)
    return str(tmp_path)


@pytest.mark.parametrize("url, slug", [
    ("https://github.com/acme/k8slab.git", "acme/k8slab"),
    ("git@github.com:acme/k8s-lab.git", "acme/k8s-lab"),
    ("https://github.com/acme/lab/", "acme/lab"),
    ("https://gitlab.com/acme/k8slab.git", None),      # Binder's gh provider needs GitHub
    (None, None),
])
def test_links_come_from_the_repositorys_remote(tmp_path, url, slug):
    assert update_readme.remote_slug(_git_with_remote(tmp_path, url)) == slug


def test_a_remote_gives_live_links_and_no_remote_says_what_to_replace():
    with open(update_readme.README, encoding="utf-8") as f:
        text = f.read()
    live = update_readme.render(text, "acme/lab")
    badge = re.search(r"\(https://mybinder\.org/v2/gh/acme/lab/HEAD\?urlpath=lab/tree/([^)\s]+)\)", live)
    assert badge and os.path.exists(os.path.join(ROOT, badge.group(1)))
    none = update_readme.render(text, None)
    block = none.split(update_readme.BINDER_START)[1].split(update_readme.BINDER_END)[0]
    assert "](http" not in block and "no GitHub remote" in block and "replace `OWNER/k8slab`" in block
    for path in update_readme.PULLER_FILES:
        with open(path, encoding="utf-8") as f:
            hub = f.read()
        pulled = update_readme.puller_links(hub, "acme/lab")
        assert "github.com%2Facme%2Flab&" in pulled and "OWNER" not in pulled.split("git-pull")[1][:200]
        assert "urlpath=lab%2Ftree%2Flab%2Fnotebooks%2F" in pulled      # nbgitpuller's folder
        assert update_readme.puller_links(hub, None) == hub


def test_make_lab_turns_off_the_news_pop_up(tmp_path):
    # The same setting the browser tests give JupyterLab (tests/browser/conftest.py).
    import json
    venv = tmp_path / "venv"
    target = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    done = subprocess.run(["make", "-s", f"VENV={venv}", str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    settings = json.loads(target.read_text())["@jupyterlab/apputils-extension:notification"]
    assert settings == {"fetchNews": "false", "checkForUpdates": False}
    dry = subprocess.run(["make", "-n", f"VENV={venv}", "lab"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60).stdout
    assert "NeverCheckForUpdate" in dry and "jupyter lab" in dry
    with open(os.path.join(ROOT, "binder", "postBuild"), encoding="utf-8") as f:
        assert '"fetchNews": "false"' in f.read()
