"""The Pod fields the resolver reads, validated as the API server does (validation.go:
validateDNSPolicy, validatePodDNSConfig, and the hostname/subdomain DNS-1123 label rules)."""
from __future__ import annotations

import pytest

from k8slab.manifests import validate_files


def problems(tmp_path, spec: str) -> list[str]:
    f = tmp_path / "pod.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                 "  containers: [{name: c, image: x}]\n" + spec)
    return [str(p).split("Pod/p: ", 1)[-1] for p in validate_files([str(f)])]


@pytest.mark.parametrize("spec,expected", [
    ("  dnsPolicy: ClusterFirstt\n",
     'spec.dnsPolicy: Unsupported value: "ClusterFirstt": supported values: '
     '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'),
    ("  dnsPolicy: None\n",
     "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"),
    ("  dnsPolicy: None\n  dnsConfig: {searches: [a.b]}\n",
     "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver "
     "when `dnsPolicy` is None"),
    ("  dnsConfig: {nameservers: [1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4]}\n",
     'spec.dnsConfig.nameservers: Invalid value: ["1.1.1.1","1.0.0.1","8.8.8.8","8.8.4.4"]: '
     "must not have more than 3 nameservers"),
    ("  dnsConfig: {nameservers: [dns.example.com]}\n",
     'spec.dnsConfig.nameservers[0]: Invalid value: "dns.example.com": must be valid IP address'),
    ("  dnsConfig: {options: [{value: '2'}]}\n",
     "spec.dnsConfig.options[0]: Required value: Option.Name must not be empty"),
    ("  hostname: Web_0\n", 'spec.hostname: Invalid value: "Web_0": a lowercase RFC 1123 label'),
    ("  subdomain: web.shop\n", 'spec.subdomain: Invalid value: "web.shop": must not contain dots'),
])
def test_the_api_server_refuses_it(tmp_path, spec, expected):
    found = problems(tmp_path, spec)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize("spec", [
    "",
    "  dnsPolicy: ClusterFirstWithHostNet\n  hostNetwork: true\n",
    "  dnsPolicy: None\n  dnsConfig: {nameservers: [192.0.2.53], searches: [corp.example.com.],"
    " options: [{name: ndots, value: '2'}]}\n",
    "  hostname: web-0\n  subdomain: web\n",
])
def test_valid_dns_settings_pass(tmp_path, spec):
    assert problems(tmp_path, spec) == []
