"""The hub configuration (deploy/z2jh/config.yaml), checked offline.

The chart's own values.schema.json ships only inside the Helm chart (hub.jupyter.org), which
no package registry carries. SCHEMA below is the part of it this config uses, written here
from jupyterhub/zero-to-jupyterhub-k8s at tag 4.4.0, jupyterhub/values.schema.yaml (types,
enums and `additionalProperties: false` as there), so a misspelt key or a wrong type fails
here as it would in `helm install`. The rest checks what the schema cannot: the sizes agree
with each other and with the measured figures docs/classroom.md states, the nbgitpuller link
opens a notebook that exists, and the image and JupyterHub versions match the chart's.
"""

from __future__ import annotations

import os
import re
import urllib.parse

import jsonschema
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "deploy", "z2jh", "config.yaml")

CHART = "4.4.0"
CHART_JUPYTERHUB = "5.5.0"   # the chart's appVersion and images/hub/requirements.txt pin


def _object(properties: dict, required=()) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            **({"required": list(required)} if required else {})}


_ENABLED = _object({"enabled": {"type": "boolean"}}, required=["enabled"])
_RESOURCE = {"limit": {"type": ["number", "null"]}, "guarantee": {"type": ["number", "null"]}}
_MEMORY = {"limit": {"type": ["number", "string", "null"]},
           "guarantee": {"type": ["number", "string", "null"]}}
# The chart's top-level keys (values.schema.yaml `properties`): anything else is refused.
_TOP_LEVEL = ("cull", "custom", "debug", "enabled", "fullnameOverride", "global", "httpRoute",
              "hub", "imagePullSecret", "imagePullSecrets", "ingress", "nameOverride",
              "prePuller", "proxy", "rbac", "scheduling", "singleuser")

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **{key: {} for key in _TOP_LEVEL},
        "singleuser": {"type": "object", "properties": {
            "image": {"type": "object", "required": ["name", "tag"], "properties": {
                "name": {"type": "string"}, "tag": {"type": "string"},
                "pullPolicy": {"enum": [None, "", "IfNotPresent", "Always", "Never"]}}},
            "cpu": _object(_RESOURCE),
            "memory": _object(_MEMORY),
            "defaultUrl": {"type": ["string", "null"]},
            "startTimeout": {"type": ["integer", "null"]},
            "storage": {"type": "object", "properties": {"capacity": {"type": ["string", "null"]}}},
        }},
        "hub": {"type": "object", "properties": {
            "config": {"type": "object"},
            "extraConfig": {"type": "object", "additionalProperties": {"type": "string"}},
            "extraEnv": {"type": ["object", "array"]},
        }},
        "proxy": {"type": "object", "properties": {
            "https": _object({
                "enabled": {"type": "boolean"},
                "type": {"enum": ["letsencrypt", "manual", "offload", "secret"]},
                "letsencrypt": _object({"contactEmail": {"type": "string"},
                                        "acmeServer": {"type": "string"}}),
                "manual": _object({"key": {"type": ["string", "null"]},
                                   "cert": {"type": ["string", "null"]}}),
                "secret": _object({"name": {"type": "string"}, "key": {"type": "string"},
                                   "crt": {"type": "string"}}),
                "hosts": {"type": "array", "items": {"type": "string"}},
            }),
        }},
        "cull": {"type": "object", "additionalProperties": False, "required": ["enabled"],
                 "properties": {"enabled": {"type": "boolean"},
                                "users": {"type": ["boolean", "null"]},
                                "adminUsers": {"type": ["boolean", "null"]},
                                "removeNamedServers": {"type": ["boolean", "null"]},
                                **{k: {"type": ["integer", "null"]}
                                   for k in ("timeout", "every", "concurrency", "maxAge")}}},
        "prePuller": {"type": "object", "properties": {
            "hook": {"type": "object", "required": ["enabled"],
                     "properties": {"enabled": {"type": "boolean"}}},
            "continuous": {"type": "object", "required": ["enabled"],
                           "properties": {"enabled": {"type": "boolean"}}}}},
        "scheduling": {"type": "object", "properties": {
            "userScheduler": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
            "podPriority": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
            "userPlaceholder": {"type": "object", "additionalProperties": False, "properties": {
                "enabled": {"type": "boolean"}, "replicas": {"type": "integer"},
                "resources": {"type": "object"}}},
            "userPods": _object({"nodeAffinity": _object(
                {"matchNodePurpose": {"enum": ["ignore", "prefer", "require"]}})}),
        }},
    },
}

# KubeSpawner's byte units (traitlets ByteSpecification): K, M, G, T are powers of 1024.
_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def to_bytes(value) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])", str(value))
    assert match, f"{value!r} is not a size KubeSpawner reads (e.g. 512M, 1G)"
    return int(float(match.group(1)) * _UNITS[match.group(2)])


@pytest.fixture(scope="module")
def config() -> dict:
    with open(CONFIG, encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_config_passes_the_charts_schema_for_the_keys_it_uses(config):
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.validate(config, SCHEMA)


@pytest.mark.parametrize("bad", [
    {"singleuser": {"memory": {"guarantee": "384M", "limits": "1G"}}},   # misspelt key
    {"cull": {"enabled": True, "timeout": "1h"}},                          # wrong type
    {"scheduling": {"userPods": {"nodeAffinity": {"matchNodePurpose": "always"}}}},
    {"singelUser": {}},
])
def test_the_schema_refuses_what_helm_would(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_guarantees_fit_under_limits(config):
    cpu, memory = config["singleuser"]["cpu"], config["singleuser"]["memory"]
    assert 0 < cpu["guarantee"] <= cpu["limit"]
    assert 0 < to_bytes(memory["guarantee"]) <= to_bytes(memory["limit"])


def test_sizes_cover_the_measured_kernel_in_docs(config):
    """docs/classroom.md records benchmarks/kernel_memory.py's figures; the sizes must cover them."""
    with open(os.path.join(ROOT, "docs", "classroom.md"), encoding="utf-8") as f:
        docs = f.read()
    figures = dict(re.findall(r"<!-- measured:(\w+) -->\s*(\d+) MB", docs))
    assert {"kernel", "server", "two_notebooks", "all_open"} <= set(figures), figures
    mb = {k: int(v) * 2**20 for k, v in figures.items()}
    memory = config["singleuser"]["memory"]
    assert to_bytes(memory["guarantee"]) >= mb["two_notebooks"] >= mb["kernel"] + mb["server"]
    assert to_bytes(memory["limit"]) >= mb["all_open"]
    for key in ("guarantee", "limit"):
        assert f"`{memory[key]}`" in docs, f"docs/classroom.md does not state memory {key}"


def test_placeholders_are_off_by_default_and_images_are_prepulled(config):
    scheduling = config["scheduling"]
    # Placeholders cost a learner's guarantee each, arrivals or not: off unless an instructor
    # turns them on (docs/classroom.md says when). Pod priority stays on, so that turning them
    # on works: without it they are ordinary pods real users cannot displace
    # (templates/scheduling/user-placeholder/statefulset.yaml sets priorityClassName only then).
    assert scheduling["userPlaceholder"]["enabled"] is False
    assert scheduling["userPlaceholder"]["replicas"] == 0
    assert scheduling["podPriority"]["enabled"]
    with open(CONFIG, encoding="utf-8") as f:
        text = f.read()
    assert "cost" in text.split("userPlaceholder:")[0].rsplit("userScheduler", 1)[1]
    assert config["prePuller"]["hook"]["enabled"] and config["prePuller"]["continuous"]["enabled"]
    assert config["cull"]["enabled"] and config["cull"]["every"] < config["cull"]["timeout"]


def test_the_authenticator_is_not_anyone_with_any_password(config):
    hub = config["hub"]
    auth = hub["config"]["JupyterHub"]["authenticator_class"]
    assert auth not in ("dummy", "jupyterhub.auth.DummyAuthenticator", "null")
    assert auth == "shared-password"
    # The password comes from a Secret, not from this file (which lives in git): a hub whose
    # Secret is missing does not start, rather than starting open.
    assert "SharedPasswordAuthenticator" not in hub["config"]
    ref = hub["extraEnv"]["K8SLAB_CLASS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "k8slab-class-password" and "optional" not in ref
    code = "".join(hub["extraConfig"].values())
    assert 'c.SharedPasswordAuthenticator.user_password = os.environ["K8SLAB_CLASS_PASSWORD"]' in code
    compile(code, "extraConfig", "exec")
    with open(CONFIG, encoding="utf-8") as f:
        text = f.read()
    assert f"secret generic {ref['name']}" in text and f"--from-literal={ref['key']}=" in text
    with open(os.path.join(ROOT, "docs", "classroom.md"), encoding="utf-8") as f:
        docs = f.read()
    for option in ("shared-password", "OAuthenticator", "NativeAuthenticator"):
        assert option in docs, f"docs/classroom.md does not document {option}"


def test_https_is_on(config):
    https = config["proxy"]["https"]
    assert https["enabled"] and https["type"] == "letsencrypt" and https["hosts"]
    assert "@" in https["letsencrypt"]["contactEmail"]


def test_nbgitpuller_link_opens_the_first_notebook(config):
    url = urllib.parse.urlsplit(config["singleuser"]["defaultUrl"])
    assert url.path == "/git-pull"
    query = dict(urllib.parse.parse_qsl(url.query, strict_parsing=True))
    assert query["repo"].startswith("https://") and query["branch"]
    clone_dir = query.get("targetPath", query["repo"].rstrip("/").rsplit("/", 1)[-1])
    head, _, inside = query["urlpath"].partition(f"tree/{clone_dir}/")
    assert head in ("lab/", "") and inside == "notebooks/00-start-here.ipynb"
    assert os.path.exists(os.path.join(ROOT, inside))


def test_image_and_jupyterhub_match_the_chart_and_the_package(config):
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        version = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)
    assert config["singleuser"]["image"]["tag"] == version
    with open(CONFIG, encoding="utf-8") as f:
        assert f"--version {CHART}" in f.read()
    with open(os.path.join(ROOT, "deploy", "singleuser", "requirements.txt"), encoding="utf-8") as f:
        assert f"\njupyterhub=={CHART_JUPYTERHUB}\n" in f.read()
