"""The harness's own safety and set-up, checked without root."""

import pytest

import netlab
from k8slab.model import Cluster, Node


def test_jump_rules_are_kube_proxys_prepends():
    text = netlab.jump_rules()
    lines = text.splitlines()
    nat = lines[lines.index("*nat"):]
    assert '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' in nat
    assert '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' in nat
    assert '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING' in nat
    # `iptables -I` one by one: in each built-in chain the last jump installed comes first
    inputs = [l.split()[-1] for l in lines if l.startswith("-A INPUT ")]
    assert inputs == ["KUBE-FIREWALL", "KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES"]
    forward = [l.split()[-1] for l in lines if l.startswith("-A FORWARD ")]
    assert forward == ["KUBE-PROXY-FIREWALL", "KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"]
    assert text.count("COMMIT") == 2


def test_refuses_addresses_outside_the_lab():
    cluster = Cluster(nodes=[Node("n1", "8.8.8.8")])
    lab = netlab.Lab(cluster, restore="iptables-legacy-restore")
    with pytest.raises(netlab.LabError, match="outside the lab"):
        lab.build()
    lab.close()
    assert lab.closed


def test_deletes_only_by_its_own_prefix():
    with pytest.raises(netlab.LabError):
        netlab.delete_prefix("k8slab")          # not this harness's family
    with pytest.raises(netlab.LabError):
        netlab.delete_prefix(netlab.FAMILY)     # the whole family at once


def test_skips_with_a_reason_when_it_cannot_run(monkeypatch):
    monkeypatch.setattr(netlab.os, "geteuid", lambda: 1000)
    assert "root" in netlab.missing()
