"""The `k8slab` command: output, exit codes (0 done, 1 bad input, 2 usage), never a traceback."""

import json
import os
import subprocess
import sys

import pytest

from k8slab.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "notebooks", "manifests", "demo.yaml")


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
