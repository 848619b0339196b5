"""On which of a node's addresses kube-proxy opens node ports: its nodePortAddresses."""

# pkg/proxy/iptables/proxier.go, syncProxyRules: with nodePortAddresses empty, the last rule
# of KUBE-SERVICES jumps to KUBE-NODEPORTS for every local address (`-m addrtype --dst-type
# LOCAL`); with it set, one `-d <IP> -j KUBE-NODEPORTS` per node IP inside a listed range
# (pkg/proxy/util/nodeport_addresses.go: "primary" stands for the node's primary IPs). A
# packet for an address no range lists is caught by no nat rule: it reaches the node's own
# stack, where nothing listens on the node port, and the kernel refuses it (TCP reset).
# `rules` writes exactly these jumps (iptables.py node_ports_last); route reads this.
from __future__ import annotations

import ipaddress

from .kube_names import ipv4, ipv4_net
from .model import Cluster, Node

__all__ = ["node_port_addresses", "opens_node_ports"]


def node_port_addresses(cluster: Cluster) -> tuple[str, ...]:
    """The cluster's kube-proxy nodePortAddresses, as given (empty: every local address)."""
    conf = getattr(cluster, "proxy", None)
    return tuple(getattr(conf, "node_port_addresses", ()) or ())


def opens_node_ports(cluster: Cluster, node: Node) -> bool:
    """Whether kube-proxy on `node` catches node-port traffic sent to the node's InternalIP."""
    listed = node_port_addresses(cluster)
    if not listed:
        return True
    address = ipv4(node.address)
    for a in listed:
        if a == "primary":
            return True                     # the node's primary IP is its InternalIP here
        net = ipv4_net(a)
        if net is not None and address is not None and ipaddress.IPv4Address(address) in net:
            return True
    return False
