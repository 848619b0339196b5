"""`k8slab reach`: the truth table and one pair, in DESIGN.md's JSON shapes; usage mistakes exit 2."""
import json

import pytest

from k8slab.cli import main

YAML = """
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y, labels: {pod: b}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: y}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: y}
spec:
  podSelector: {matchLabels: {pod: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}}], ports: [{port: http}]}]
"""


@pytest.fixture
def manifest(tmp_path):
    p = tmp_path / "np.yaml"
    p.write_text(YAML)
    return str(p)


def test_matrix_json(manifest, capsys):
    assert main(["reach", manifest, "--port", "8080", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "port": 8080, "protocol": "TCP", "pods": ["x/a", "y/b"], "allowed": [[True, True], [True, True]]}
    assert main(["reach", manifest, "--port", "80", "--json"]) == 0      # the named port is 8080 only
    assert json.loads(capsys.readouterr().out)["allowed"] == [[True, False], [True, True]]


def test_matrix_text(manifest, capsys):
    assert main(["reach", manifest, "--port", "80"]) == 0
    assert capsys.readouterr().out.splitlines() == ["----\tx/a\ty/b", "x/a\t.\tX", "y/b\t.\t."]


def test_one_pair_json(manifest, capsys):
    assert main(["reach", manifest, "--from", "pod/x/a", "--to", "pod/y/b", "--port", "80", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("from", "to", "port", "protocol", "allowed", "egress", "ingress")} == {
        "from": "pod/x/a", "to": "pod/y/b", "port": 80, "protocol": "TCP", "allowed": False,
        "egress": {"allowed": True, "policies": []},
        "ingress": {"allowed": False, "policies": ["y/deny-all", "y/web"]}}
    assert "no rule of them allows" in out["reason"]


def test_one_pair_text_names_the_rule_and_the_fix(manifest, capsys):
    assert main(["reach", manifest, "--from", "pod/x/a", "--to", "pod/y/b", "--port", "80"]) == 0
    out = capsys.readouterr().out
    assert "ingress[0]: from every pod in namespaces kubernetes.io/metadata.name=x; http/TCP" in out
    assert "fix: add to one of the policies selecting y/b (y/deny-all and y/web), or to a new one selecting it, the ingress rule" in out


def test_an_outside_client_is_only_an_address(manifest, capsys):
    assert main(["reach", manifest, "--from", "laptop", "--to", "pod/y/b", "--port", "8080", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["allowed"] is False and "198.51.100.10" in out["reason"]


def test_to_an_address(manifest, capsys):
    import k8slab
    c = k8slab.load(manifest)
    ip = c.pod("b", "y").ip
    assert main(["reach", manifest, "--from", "pod/x/a", "--to", ip, "--port", "8080", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["to"] == "pod/y/b"


def test_usage(manifest, capsys):
    assert main(["reach", manifest, "--from", "pod/x/a"]) == 2
    assert "give both --from and --to" in capsys.readouterr().err
    assert main(["reach", manifest, "--from", "pod/x/a", "--to", "pod/y/nope"]) == 1
    assert "no pod 'nope'" in capsys.readouterr().err


def test_matrix_json_text_is_the_dict(manifest):
    import k8slab
    from k8slab import policy
    m = policy.matrix(k8slab.load(manifest), 80)
    assert json.loads(m.json_text()) == m.to_dict()
    empty = policy.Matrix(80, "TCP", (), ())  # no pods, no rows
    assert json.loads(empty.json_text()) == empty.to_dict()
