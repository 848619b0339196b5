"""The observed-vs-expected bar chart: same bytes every time, no date or version, lazy import."""

import base64
import subprocess
import sys

import pytest

from k8slab import K8slabError
from k8slab.simulate import Chart, plot, simulate


@pytest.fixture(scope="module")
def sim(demo):
    return simulate(demo.route(client="pod/client", service="web"), 3000, seed=0)


def test_the_chart_is_svg_with_a_stable_text_form(sim):
    chart = plot(sim)
    assert isinstance(chart, Chart)
    bundle = chart._repr_mimebundle_()
    # An <img> of the SVG: JupyterLab shows it even when the notebook is untrusted.
    assert set(bundle) == {"text/html", "text/plain"}
    html = bundle["text/html"]
    assert html.startswith('<img src="data:image/svg+xml;base64,')
    svg = base64.b64decode(html.split("base64,", 1)[1].split('"', 1)[0]).decode()
    assert svg == chart.svg and svg.lstrip().startswith("<?xml") and "<svg" in svg
    shares = ", ".join(f"{p.rsplit('-', 1)[1]} {c / 3000:.1%}" for p, c in sim.pods.items())
    assert bundle["text/plain"] == f"<Chart: observed vs expected share of requests, 3 pods: {shares}>"
    assert repr(chart) == bundle["text/plain"] and "0x" not in repr(chart)


def test_the_same_simulation_gives_the_same_bytes(sim):
    assert plot(sim).svg == plot(sim).svg


def test_the_svg_carries_no_date_version_or_system_font(sim):
    svg = plot(sim).svg
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert "<text" not in svg                   # glyphs are paths: no font is needed to show it


def test_the_same_chart_in_a_fresh_process(sim, tmp_path):
    # A new interpreter (new hash seed, new id counters) still writes the same file.
    code = ("import k8slab; from k8slab.simulate import simulate, plot; "
            "c = k8slab.demo_cluster(); "
            "r = c.route(client='pod/client', service='web'); "
            f"plot(simulate(r, 3000, seed=0)).save({str(tmp_path / 'c.svg')!r})")
    env = {"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "MPLCONFIGDIR": str(tmp_path / "mpl")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert (tmp_path / "c.svg").read_text(encoding="utf-8") == plot(sim).svg


def test_other_counts_and_titles(sim):
    assert "share of connections" in plot(sim, of="connections").summary
    assert plot(sim, title="mine").svg != plot(sim).svg
    with pytest.raises(K8slabError):
        plot(sim, of="bytes")


def test_a_keepalive_run_shows_one_pod_with_everything(demo):
    s = simulate(demo.route(client="pod/client", service="web"), 900, connections=1, seed=0)
    summary = plot(s).summary
    assert summary.count("100.0%") == 1 and summary.count(" 0.0%") == 2


def test_importing_k8slab_does_not_import_matplotlib():
    code = "import sys, k8slab, k8slab.simulate; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
