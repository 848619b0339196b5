"""The API server's validation rules for the objects k8slab reads, in its own words."""

# Every message below is copied from the Kubernetes source, not paraphrased: learners paste
# them into search engines. Sources, all in kubernetes/kubernetes:
#   F  staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go  (how an error prints)
#   U  staging/src/k8s.io/apimachinery/pkg/util/validation/{validation,ip}.go  (formats)
#   M  staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go,
#      staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go  (metadata, selectors)
#   C  pkg/apis/core/validation/validation.go   (Service, Pod, ReplicationController, Node)
#   A  pkg/apis/apps/validation/validation.go   (Deployment, ReplicaSet, StatefulSet, DaemonSet)
#   D  pkg/apis/discovery/validation/validation.go  (EndpointSlice)
#   V  pkg/apis/core/v1/defaults.go  (defaults applied before validation)
#   R  pkg/registry/core/service/storage/alloc.go, .../portallocator, .../ipallocator
# The server validates objects *after* decoding and defaulting them, so this module does the
# same: a decode pass that reports wrong JSON types the way encoding/json does, then the rules
# on well-typed, defaulted data.

from __future__ import annotations

import base64
import datetime
import functools
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["NODE_PORT_RANGE", "FieldProblem", "validate_object", "validate_together", "validate_proxy_config",
           "unusable", "unknown_fields",
           "is_stored", "check_objects"]

NODE_PORT_RANGE = (30000, 32767)  # kube-apiserver's default --service-node-port-range
#: kube-apiserver's --service-cluster-ip-range as kubeadm sets it (single-stack IPv4); its
#: first address belongs to default/kubernetes (the API server's own Service).
SERVICE_CIDR = ipaddress.IPv4Network("10.96.0.0/12")
KUBERNETES_SERVICE_IP = ipaddress.IPv4Address("10.96.0.1")


@dataclass(frozen=True)
class FieldProblem:
    path: str  # e.g. "spec.ports[0].nodePort" ("" for whole-object problems)
    message: str  # e.g. "Invalid value: 80000: provided port is not in the valid range. ..."

    def __str__(self):
        return f"{self.path}: {self.message}" if self.path else self.message


# --- How a field.Error prints (F) --------------------------------------------------------
# Numbers and bools print as Go's %v, strings as Go's %q. Since v1.34 (kubernetes#132314)
# maps, lists and structs print as JSON; older servers print Go syntax instead, such as
# map[string]string{"app":"web"}.

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r",
               "\t": r"\t", "\v": r"\v", '"': r"\"", "\\": r"\\"}


def _go_quote(s: str) -> str:
    """Go's strconv.Quote."""
    out = []
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


#: Longer strings are shown shortened in messages (Go's would print them whole).
_SHOWN_CHARS = 200


def _render(value) -> str:
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return _go_quote(value[:_SHOWN_CHARS]) + f"... ({len(value) - _SHOWN_CHARS:,} more characters)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _go_quote(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for ch in "<>&\u2028\u2029":  # Go's JSON encoder escapes these
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    if len(text) > 4 * _SHOWN_CHARS:
        text = text[:4 * _SHOWN_CHARS] + f"... ({len(text) - 4 * _SHOWN_CHARS:,} more characters)"
    return text


def _invalid(value, detail: str = "") -> str:
    return f"Invalid value: {_render(value)}" + (f": {detail}" if detail else "")


def _required(detail: str = "") -> str:
    return "Required value" + (f": {detail}" if detail else "")


def _forbidden(detail: str) -> str:
    return f"Forbidden: {detail}"


def _duplicate(value) -> str:
    return f"Duplicate value: {_render(value)}"


def _not_supported(value, supported) -> str:
    return f"Unsupported value: {_render(value)}: supported values: " + ", ".join(map(_go_quote, supported))


def _too_many(count: int, most: int) -> str:
    return f"Too many: {count}: must have at most {most} items"


# --- Formats (U) ---------------------------------------------------------------------------
# Go's regexp "^...$" anchors at the very end of the text, hence re.fullmatch; Go's len()
# counts UTF-8 bytes, hence _blen.

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
              "and must start and end with an alphanumeric character")
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                  "'-' or '.', and must start and end with an alphanumeric character")
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
                "an alphabetic character, and end with an alphanumeric character")
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character")
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                    "or '.', and must start and end with an alphanumeric character")
_IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"


def _memo(check):
    """check, remembering its messages per value: a snapshot repeats the same names, label keys
    and values, and addresses thousands of times (issue 22's budget). Each call gets its own
    list, so a caller may extend it."""
    remembered = functools.lru_cache(maxsize=65536)(lambda value: tuple(check(value)))

    @functools.wraps(check)
    def memo(value):
        return list(remembered(value))
    return memo


def _blen(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # RegexError: each example is followed by ", " and joined by " or ", hence the double space.
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


@_memo
def _dns1123_label(value: str) -> list[str]:
    errs = [_max_len(63)] if _blen(value) > 63 else []
    if not re.fullmatch(_LABEL_FMT, value):
        # A valid subdomain that is not a label can only be failing because of its dots.
        errs.append("must not contain dots" if re.fullmatch(_SUBDOMAIN_FMT, value)
                    else _regex_error(_LABEL_MSG, _LABEL_FMT, "my-name", "123-abc"))
    return errs


@_memo
def _dns1123_subdomain(value: str) -> list[str]:
    errs = [_max_len(253)] if _blen(value) > 253 else []
    if not re.fullmatch(_SUBDOMAIN_FMT, value):
        errs.append(_regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com"))
    return errs


@_memo
def _dns1035_label(value: str) -> list[str]:
    errs = [_max_len(63)] if _blen(value) > 63 else []
    if not re.fullmatch(_DNS1035_FMT, value):
        errs.append(_regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return errs


@_memo
def _qualified_name(value: str) -> list[str]:
    """IsQualifiedName: an optional DNS-subdomain prefix and '/', then a name (label keys)."""
    errs = []
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        msgs = _dns1123_subdomain(prefix) if prefix else ["must be non-empty"]
        errs += ["prefix part " + m for m in msgs]
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > 63:
        errs.append("name part " + _max_len(63))
    if not re.fullmatch(_QNAME_FMT, name):  # also fails on "", so an empty name gets both messages
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


@_memo
def _label_value(value: str) -> list[str]:
    errs = [_max_len(63)] if _blen(value) > 63 else []
    if not re.fullmatch(_LABEL_VALUE_FMT, value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [_PORT_RANGE_MSG]


@_memo
def _port_name(name: str) -> list[str]:
    """IsValidPortName: an IANA_SVC_NAME, the only kind of name a targetPort or containerPort may have."""
    errs = [_max_len(15)] if _blen(name) > 15 else []
    if not re.fullmatch("[-a-z0-9]+", name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name[:1] == "-" or name[-1:] == "-":
        errs.append("must not begin or end with a hyphen")
    return errs


def _mask_trailing_dash(name: str) -> str:
    # maskTrailingDash (M): a generateName may end in '-'; the server checks it with the last two
    # characters replaced by 'a', exactly as written there.
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


# --- IP addresses (U, C) ------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)    # snapshots repeat host IPs, and podIP in podIPs
def _parse_ip(text: str):
    """netutils.ParseIPSloppy: net.ParseIP, except that IPv4 parts may have leading zeros."""
    if not text.isascii() or "%" in text:  # Go rejects IPv6 zones
        return None
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    a, b, c, d = map(int, parts)
    # From the number, not the text: ipaddress's text parser was a tenth of a snapshot's checks.
    return ipaddress.IPv4Address(a << 24 | b << 16 | c << 8 | d)


def _as_v4(ip):
    """Go's ip.To4(): IPv4 addresses and IPv4-mapped IPv6 addresses count as IPv4."""
    return ip if ip.version == 4 else ip.ipv4_mapped


def _parse_cidr(text: str):
    addr, slash, bits = text.partition("/")
    ip = _parse_ip(addr) if slash else None
    width = 128 if ":" in addr else 32  # Go sizes the mask by how the address is written
    return ip if ip is not None and bits.isascii() and bits.isdigit() and int(bits) <= width else None


def _ip_errors(text: str) -> list[str]:
    return [] if _parse_ip(text) else [_IP_MSG]


def _endpoint_ip_errors(text: str) -> list[str]:
    """ValidateEndpointIP (C): addresses that make no sense as a destination."""
    ip = _parse_ip(text)
    if ip is None:
        return ["must be a valid IP address"]
    v4, packed = _as_v4(ip), ip.packed
    errs = []
    either = ip if v4 is None else v4
    if either.is_unspecified:
        errs.append(f"may not be unspecified ({text})")
    if either.is_loopback:
        errs.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if either.is_link_local:
        errs.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    # Go's IsLinkLocalMulticast: 224.0.0.0/24, or ffX2::/16 whatever the flags X
    multicast = v4 in ipaddress.IPv4Network("224.0.0.0/24") if v4 else packed[0] == 0xFF and packed[1] & 0x0F == 2
    if multicast:
        errs.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return errs


# --- Decoding, as encoding/json does it -----------------------------------------------------
# Go types of the fields k8slab reads; fields not listed are ignored. A list element, map value
# or field of the wrong JSON type is reported the way the API server's decoder words it, e.g.
#   json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32
# (the server prefixes '<Kind> in version "v1" cannot be handled as a <Kind>: ' and stops at the
# first one; here every one is reported, at its field path).

_META = {"metadata": "v1.ObjectMeta"}
_SELECTED = {"selector": "v1.LabelSelector", "template": "v1.PodTemplateSpec"}
_STRUCTS: dict[str, dict[str, str]] = {
    "v1.ObjectMeta": {"name": "string", "generateName": "string", "namespace": "string",
                      "labels": "map[string]string", "annotations": "map[string]string",
                      "deletionTimestamp": "v1.Time", "ownerReferences": "[]v1.OwnerReference",
                      "uid": "types.UID", "resourceVersion": "string", "creationTimestamp": "v1.Time"},
    "v1.OwnerReference": {"apiVersion": "string", "kind": "string", "name": "string", "uid": "types.UID",
                          "controller": "bool", "blockOwnerDeletion": "bool"},
    "v1.LabelSelector": {"matchLabels": "map[string]string",
                         "matchExpressions": "[]v1.LabelSelectorRequirement"},
    "v1.LabelSelectorRequirement": {"key": "string", "operator": "v1.LabelSelectorOperator",
                                    "values": "[]string"},
    "v1.Service": {**_META, "spec": "v1.ServiceSpec", "status": "v1.ServiceStatus"},
    "v1.ServiceStatus": {"loadBalancer": "v1.LoadBalancerStatus"},
    "v1.LoadBalancerStatus": {"ingress": "[]v1.LoadBalancerIngress"},
    "v1.LoadBalancerIngress": {"ip": "string", "hostname": "string", "ipMode": "v1.LoadBalancerIPMode"},
    "v1.ServiceSpec": {
        "type": "v1.ServiceType", "ports": "[]v1.ServicePort", "selector": "map[string]string",
        "clusterIP": "string", "clusterIPs": "[]string", "ipFamilies": "[]v1.IPFamily",
        "ipFamilyPolicy": "v1.IPFamilyPolicy", "externalIPs": "[]string", "externalName": "string",
        "sessionAffinity": "v1.ServiceAffinity", "sessionAffinityConfig": "v1.SessionAffinityConfig",
        "loadBalancerIP": "string", "loadBalancerSourceRanges": "[]string", "loadBalancerClass": "string",
        "allocateLoadBalancerNodePorts": "bool", "externalTrafficPolicy": "v1.ServiceExternalTrafficPolicy",
        "internalTrafficPolicy": "v1.ServiceInternalTrafficPolicy", "healthCheckNodePort": "int32",
        "publishNotReadyAddresses": "bool", "trafficDistribution": "string"},
    "v1.ServicePort": {"name": "string", "protocol": "v1.Protocol", "appProtocol": "string", "port": "int32",
                       "targetPort": "intstr.IntOrString", "nodePort": "int32"},
    "v1.SessionAffinityConfig": {"clientIP": "v1.ClientIPConfig"},
    "v1.ClientIPConfig": {"timeoutSeconds": "int32"},
    "v1.Pod": {**_META, "spec": "v1.PodSpec", "status": "v1.PodStatus"},
    "v1.PodTemplateSpec": {**_META, "spec": "v1.PodSpec"},
    "v1.PodSpec": {"containers": "[]v1.Container", "initContainers": "[]v1.Container", "nodeName": "string",
                   "restartPolicy": "v1.RestartPolicy", "hostNetwork": "bool",
                   "nodeSelector": "map[string]string", "tolerations": "[]v1.Toleration",
                   "hostname": "string", "subdomain": "string", "dnsPolicy": "v1.DNSPolicy",
                   "dnsConfig": "v1.PodDNSConfig"},
    "v1.PodDNSConfig": {"nameservers": "[]string", "searches": "[]string",
                        "options": "[]v1.PodDNSConfigOption"},
    "v1.PodDNSConfigOption": {"name": "string", "value": "string"},
    "v1.Toleration": {"key": "string", "operator": "v1.TolerationOperator", "value": "string",
                      "effect": "v1.TaintEffect", "tolerationSeconds": "int64"},
    "v1.Container": {"name": "string", "image": "string", "ports": "[]v1.ContainerPort"},
    "v1.ContainerPort": {"name": "string", "hostPort": "int32", "containerPort": "int32",
                         "protocol": "v1.Protocol", "hostIP": "string"},
    "v1.PodStatus": {"phase": "v1.PodPhase", "podIP": "string", "podIPs": "[]v1.PodIP", "hostIP": "string",
                     "conditions": "[]v1.PodCondition"},
    "v1.PodIP": {"ip": "string"},
    "v1.PodCondition": {"type": "v1.PodConditionType", "status": "v1.ConditionStatus"},
    "v1.ReplicationController": {**_META, "spec": "v1.ReplicationControllerSpec"},
    "v1.ReplicationControllerSpec": {"replicas": "int32", "selector": "map[string]string",
                                     "template": "v1.PodTemplateSpec"},
    "v1.Deployment": {**_META, "spec": "v1.DeploymentSpec"},
    "v1.DeploymentSpec": {"replicas": "int32", **_SELECTED},
    "v1.ReplicaSet": {**_META, "spec": "v1.ReplicaSetSpec"},
    "v1.ReplicaSetSpec": {"replicas": "int32", **_SELECTED},
    "v1.StatefulSet": {**_META, "spec": "v1.StatefulSetSpec"},
    "v1.StatefulSetSpec": {"replicas": "int32", "serviceName": "string", **_SELECTED},
    "v1.DaemonSet": {**_META, "spec": "v1.DaemonSetSpec"},
    "v1.DaemonSetSpec": dict(_SELECTED),
    "v1.Node": {**_META, "spec": "v1.NodeSpec", "status": "v1.NodeStatus"},
    "v1.NodeSpec": {"podCIDR": "string", "podCIDRs": "[]string", "unschedulable": "bool",
                    "providerID": "string", "taints": "[]v1.Taint"},
    "v1.Taint": {"key": "string", "value": "string", "effect": "v1.TaintEffect", "timeAdded": "v1.Time"},
    "v1.NodeStatus": {"addresses": "[]v1.NodeAddress", "conditions": "[]v1.NodeCondition"},
    "v1.NodeCondition": {"type": "v1.NodeConditionType", "status": "v1.ConditionStatus"},
    "v1.NodeAddress": {"type": "v1.NodeAddressType", "address": "string"},
    "v1.EndpointSlice": {**_META, "addressType": "v1.AddressType", "endpoints": "[]v1.Endpoint",
                         "ports": "[]v1.EndpointPort"},
    "v1.Endpoint": {"addresses": "[]string", "hostname": "string", "nodeName": "string",
                    "conditions": "v1.EndpointConditions", "zone": "string", "hints": "v1.EndpointHints",
                    "targetRef": "v1.ObjectReference"},
    "v1.EndpointHints": {"forZones": "[]v1.ForZone", "forNodes": "[]v1.ForNode"},
    "v1.ForZone": {"name": "string"},
    "v1.ForNode": {"name": "string"},
    "v1.ObjectReference": {"kind": "string", "namespace": "string", "name": "string", "uid": "types.UID"},
    "v1.EndpointConditions": {"ready": "bool", "serving": "bool", "terminating": "bool"},
    "v1.EndpointPort": {"name": "string", "protocol": "v1.Protocol", "port": "int32",
                        "appProtocol": "string"},
    # networking.k8s.io/v1 NetworkPolicy, every field (so that unknown ones can be named), and
    # the Namespace's metadata (its labels are what a namespaceSelector reads).
    "v1.NetworkPolicy": {**_META, "spec": "v1.NetworkPolicySpec", "status": "v1.NetworkPolicyStatus"},
    "v1.NetworkPolicyStatus": {},
    "v1.NetworkPolicySpec": {"podSelector": "v1.LabelSelector", "ingress": "[]v1.NetworkPolicyIngressRule",
                             "egress": "[]v1.NetworkPolicyEgressRule", "policyTypes": "[]v1.PolicyType"},
    "v1.NetworkPolicyIngressRule": {"ports": "[]v1.NetworkPolicyPort", "from": "[]v1.NetworkPolicyPeer"},
    "v1.NetworkPolicyEgressRule": {"ports": "[]v1.NetworkPolicyPort", "to": "[]v1.NetworkPolicyPeer"},
    "v1.NetworkPolicyPort": {"protocol": "v1.Protocol", "port": "intstr.IntOrString", "endPort": "int32"},
    "v1.NetworkPolicyPeer": {"podSelector": "v1.LabelSelector", "namespaceSelector": "v1.LabelSelector",
                             "ipBlock": "v1.IPBlock"},
    "v1.IPBlock": {"cidr": "string", "except": "[]string"},
    "v1.Namespace": {**_META},
    "v1.Endpoints": {**_META, "subsets": "[]v1.EndpointSubset"},
    "v1.EndpointSubset": {"addresses": "[]v1.EndpointAddress", "notReadyAddresses": "[]v1.EndpointAddress",
                          "ports": "[]v1.EndpointPort"},
    "v1.EndpointAddress": {"ip": "string", "hostname": "string", "nodeName": "string",
                           "targetRef": "v1.ObjectReference"},
    "v1.ServiceCIDR": {**_META, "spec": "v1.ServiceCIDRSpec"},
    "v1.ServiceCIDRSpec": {"cidrs": "[]string"},
}
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
#: List types whose items are plain strings in every struct table (decode's fast path).
_STRING_LISTS = frozenset({"[]string"})


def _not_strings(structs: dict) -> frozenset:
    """Every Go type a string does not simply decode into (all other field types are string types)."""
    return frozenset(
        [t for fields in structs.values() for t in fields.values()
         if t.startswith("[]") or t.startswith("map[") or t in structs]
        + list(structs) + list(_INT_BOUNDS) + ["bool", "intstr.IntOrString"])


_NOT_STRINGS = _not_strings(_STRUCTS)


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array"}.get(type(value), "object")


def _number_text(value) -> str:
    if isinstance(value, float):
        return repr(value)
    try:
        return str(value)
    except ValueError:  # past Python's int-to-decimal limit; hex has none
        return hex(value)


_JSON_TYPES = frozenset((str, int, bool, float, dict, list, type(None)))


def _as_json(value):
    """What kubectl's YAML-to-JSON step makes of PyYAML values that JSON has no word for."""
    if type(value) in _JSON_TYPES:          # nearly every value: skip the checks below
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (set, frozenset)):
        return dict.fromkeys(value)
    return value


def _key_text(key) -> str:
    """A YAML map key as the JSON key kubectl turns it into (yes: -> "true", 1: -> "1")."""
    key = _as_json(key)
    if isinstance(key, str):
        return key
    return _render(key) if key is None or isinstance(key, (bool, int)) else repr(key)


def _join(path: str, child: str) -> str:
    return f"{path}.{child}" if path else child


class _Report:
    """Problems found so far, and the paths whose values could not be decoded."""

    def __init__(self, structs: dict | None = None):
        self.problems: list[FieldProblem] = []
        self._undecodable: list[str] = []
        self.structs = _STRUCTS if structs is None else structs
        self.not_strings = _NOT_STRINGS if structs is None else _not_strings(structs)

    def add(self, path: str, message: str) -> None:
        # An undecodable field is reported once; the rules then see its zero value and stay quiet.
        if not self.undecodable(path):
            self.problems.append(FieldProblem(path, message))

    def undecodable(self, path: str) -> bool:
        """Whether the value at path, or one holding it, failed to decode."""
        return any(path == p or path.startswith((p + ".", p + "[")) for p in self._undecodable)

    def garbled(self, path: str) -> bool:
        """Whether anything at or under path failed to decode."""
        return any(p == path or p.startswith((path + ".", path + "[")) for p in self._undecodable)

    def decode(self, value, gotype: str, path: str, jpath: str, struct: str | None):
        """value as Go would decode it into gotype; None when absent, null or undecodable."""
        t = type(value)
        if t is str and gotype not in self.not_strings:
            return value                    # the common case, first: a string into a string type
        # Then the other common well-typed cases, without the generic walk below (issue 22:
        # decoding was most of a 5,000-object snapshot's load): an int in range, a bool, a list
        # of plain strings.
        if t is int:
            bounds = _INT_BOUNDS.get(gotype)
            if bounds is not None and bounds[0] <= value <= bounds[1]:
                return value
        elif t is bool:
            if gotype == "bool":
                return value
        elif t is list and gotype in _STRING_LISTS and all(type(v) is str for v in value):
            return list(value)
        value = _as_json(value)
        if value is None:
            return None  # null leaves a Go field at its zero value
        if gotype.startswith("[]"):
            if not isinstance(value, list):
                return self._mismatch(value, gotype, path, jpath, struct)
            elem = gotype[2:]
            zero = {} if elem in self.structs else ""
            out, decode = [], self.decode
            for i, v in enumerate(value):
                item = decode(v, elem, f"{path}[{i}]", jpath, struct)
                out.append(zero if item is None else item)
            return out
        if gotype == "map[string]string":
            if not isinstance(value, dict):
                return self._mismatch(value, gotype, path, jpath, struct)
            out = {}
            for key, item in value.items():
                if type(key) is str and type(item) is str:
                    out[key] = item          # the common case (labels), without building its path
                    continue
                key = _key_text(key)
                item = self.decode("" if item is None else item, "string", f"{path}[{key}]", jpath, struct)
                if item is not None:
                    out[key] = item
            return out
        if gotype in self.structs:
            if not isinstance(value, dict):
                return self._mismatch(value, gotype, path, jpath, struct)
            name, out = gotype.partition(".")[2], {}
            not_strings = self.not_strings
            for key, ftype in self.structs[gotype].items():
                if key in value:
                    item = value[key]
                    if type(item) is str and ftype not in not_strings:
                        out[key] = item      # the common case, without building its path
                        continue
                    item = self.decode(item, ftype, _join(path, key), _join(jpath, key), name)
                    if item is not None:
                        out[key] = item
            return out
        if gotype in _INT_BOUNDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return self._mismatch(value, gotype, path, jpath, struct)
            lo, hi = _INT_BOUNDS[gotype]
            # kubectl turns a YAML 80.0 into JSON 80, so whole floats decode fine
            if isinstance(value, float) and not value.is_integer() or not lo <= value <= hi:
                return self._mismatch(value, gotype, path, jpath, struct, literal=True)
            return int(value)
        if gotype == "bool":
            return value if isinstance(value, bool) else self._mismatch(value, gotype, path, jpath, struct)
        if gotype == "intstr.IntOrString":
            if isinstance(value, str):
                return value
            # IntOrString.UnmarshalJSON decodes non-strings into a bare int32, so its errors name
            # no struct field (staging/src/k8s.io/apimachinery/pkg/util/intstr/intstr.go).
            return self.decode(value, "int32", path, jpath, None)
        if isinstance(value, str):  # string, or a named string type such as v1.Protocol
            return value
        return self._mismatch(value, gotype, path, jpath, struct)

    def _mismatch(self, value, gotype, path, jpath, struct, literal=False):
        kind = _json_kind(value)
        if literal:
            kind += " " + _number_text(value)
        target = f"Go struct field {struct}.{jpath}" if struct else "Go value"
        message = f"json: cannot unmarshal {kind} into {target} of type {gotype}"
        self.problems.append(FieldProblem(path, message))
        self._undecodable.append(path)
        return None


# --- Metadata and selectors (M) --------------------------------------------------------------


def _labels(r: _Report, labels: dict, path: str) -> None:
    # ValidateLabels reports keys and values at the map's own path.
    for key, value in labels.items():
        for msg in _qualified_name(key):
            r.add(path, _invalid(key, msg))
        for msg in _label_value(value):
            r.add(path, _invalid(value, msg))


def _object_meta(r: _Report, meta: dict, name_rule: Callable[[str], list[str]], namespaced: bool) -> None:
    name, generate = meta.get("name", ""), meta.get("generateName", "")
    if generate:
        for msg in name_rule(_mask_trailing_dash(generate)):
            r.add("metadata.generateName", _invalid(generate, msg))
    if name:
        for msg in name_rule(name):
            r.add("metadata.name", _invalid(name, msg))
    elif not generate:  # with generateName the server makes the name up before validating
        r.add("metadata.name", _required("name or generateName is required"))
    # Absent, the namespace comes from the request; cluster-scoped objects have it cleared.
    if namespaced and meta.get("namespace"):
        for msg in _dns1123_label(meta["namespace"]):
            r.add("metadata.namespace", _invalid(meta["namespace"], msg))
    _labels(r, meta.get("labels", {}), "metadata.labels")
    for key in meta.get("annotations", {}):  # annotation keys are qualified names, case-insensitively
        for msg in _qualified_name(key.lower()):
            r.add("metadata.annotations", _invalid(key, msg))


def _label_selector(r: _Report, selector: dict, path: str) -> bool:
    """ValidateLabelSelector; True when LabelSelectorAsSelector would also accept it."""
    found = []
    for key, value in selector.get("matchLabels", {}).items():
        found += [(f"{path}.matchLabels", _invalid(key, m)) for m in _qualified_name(key)]
        found += [(f"{path}.matchLabels", _invalid(value, m)) for m in _label_value(value)]
    for i, expr in enumerate(selector.get("matchExpressions", [])):
        at, op, values = f"{path}.matchExpressions[{i}]", expr.get("operator", ""), expr.get("values", [])
        if op in ("In", "NotIn"):
            if not values:
                found.append((f"{at}.values",
                              _required("must be specified when `operator` is 'In' or 'NotIn'")))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                found.append((f"{at}.values", _forbidden(
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")))
        else:
            found.append((f"{at}.operator", _invalid(op, "not a valid selector operator")))
        key = expr.get("key", "")
        found += [(f"{at}.key", _invalid(key, m)) for m in _qualified_name(key)]
        for j, value in enumerate(values):
            found += [(f"{at}.values[{j}]", _invalid(value, m)) for m in _label_value(value)]
    for where, message in found:
        r.add(where, message)
    return not found


def _selector_json(selector: dict) -> dict:
    """A metav1.LabelSelector as its JSON tags print it (omitempty, declared field order)."""
    out = {}
    if selector.get("matchLabels"):
        out["matchLabels"] = dict(sorted(selector["matchLabels"].items()))
    exprs = [{"key": e.get("key", ""), "operator": e.get("operator", ""),
              **({"values": e["values"]} if e.get("values") else {})}
             for e in selector.get("matchExpressions", [])]
    if exprs:
        out["matchExpressions"] = exprs
    return out


def _matches(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values", [])
        present = key in labels
        if {"In": not (present and labels[key] in values), "NotIn": present and labels[key] in values,
                "Exists": not present, "DoesNotExist": present}.get(op, True):
            return False
    return True


def _map_json(labels):
    return None if labels is None else dict(sorted(labels.items()))  # a nil map prints as null


# --- Service (C, V, R) -------------------------------------------------------------------------

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")  # sorted, as the server lists them
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_ONLY_LB = "may only be used when `type` is 'LoadBalancer'"
_ALLOCATED = "provided port is already allocated"


@dataclass
class _ServiceView:
    """A Service spec after defaulting (V) and the storage layer's clusterIP -> clusterIPs sync."""

    type: str
    ports: list
    cluster_ips: list
    external_ips: list
    etp: str

    @classmethod
    def of(cls, spec: dict) -> _ServiceView:
        typ = spec.get("type") or "ClusterIP"
        ports = []
        for p in spec.get("ports", []):
            target = p.get("targetPort", 0)
            ports.append({**p, "protocol": p.get("protocol") or "TCP",
                          "targetPort": p.get("port", 0) if target in (0, "") else target})
        ip = spec.get("clusterIP", "")
        external = spec.get("externalIPs", [])
        view = cls(typ, ports, spec.get("clusterIPs") or ([ip] if ip else []), external, "")
        view.etp = spec.get("externalTrafficPolicy") or ("Cluster" if view.externally_accessible else "")
        return view

    @property
    def headless(self) -> bool:
        return self.cluster_ips == ["None"]

    @property
    def externally_accessible(self) -> bool:  # apiservice.ExternallyAccessible
        return self.type in ("NodePort", "LoadBalancer") or (
            self.type == "ClusterIP" and bool(self.external_ips))

    @property
    def needs_health_check(self) -> bool:  # apiservice.NeedsHealthCheck
        return self.type == "LoadBalancer" and self.etp == "Local"

    def node_ports(self) -> list[tuple[int, int]]:
        """(index, nodePort) the allocator reserves: only NodePort and LoadBalancer Services get any."""
        if self.type not in ("NodePort", "LoadBalancer"):
            return []
        return [(i, p["nodePort"]) for i, p in enumerate(self.ports) if p.get("nodePort")]


def _service_port_key(port: dict) -> dict:
    # The duplicate-port error carries an internal core.ServicePort holding only Protocol and Port;
    # internal types have no json tags, so it prints with Go's field names.
    return {"Name": "", "Protocol": port["protocol"], "AppProtocol": None, "Port": port.get("port", 0),
            "TargetPort": 0, "NodePort": 0}


def _service_port(r: _Report, port: dict, require_name: bool, names: set, path: str) -> None:
    name = port.get("name", "")
    if require_name and not name:
        r.add(f"{path}.name", _required())
    elif name:  # Service port names are DNS labels, not IANA_SVC_NAMEs like targetPort names
        for msg in _dns1123_label(name):
            r.add(f"{path}.name", _invalid(name, msg))
        if name in names:
            r.add(f"{path}.name", _duplicate(name))
        names.add(name)
    number = port.get("port", 0)
    for msg in _port_num(number):
        r.add(f"{path}.port", _invalid(number, msg))
    if port["protocol"] not in _PROTOCOLS:
        r.add(f"{path}.protocol", _not_supported(port["protocol"], _PROTOCOLS))
    target = port["targetPort"]  # defaulted to port, so an unreadable port says nothing about it
    if not r.undecodable(f"{path}.port"):
        check = _port_num if isinstance(target, int) else _port_name
        for msg in check(target):
            r.add(f"{path}.targetPort", _invalid(target, msg))
    if "appProtocol" in port:
        for msg in _qualified_name(port["appProtocol"]):
            r.add(f"{path}.appProtocol", _invalid(port["appProtocol"], msg))


def _cluster_ips(r: _Report, spec: dict, view: _ServiceView) -> None:
    """ValidateServiceClusterIPsRelatedFields."""
    ip, ips, families = spec.get("clusterIP", ""), view.cluster_ips, spec.get("ipFamilies", [])
    if ip and ips[0] != ip:
        r.add("spec.clusterIPs", _invalid(ips, "first value must match `clusterIP`"))
    elif not ip and ips:
        r.add("spec.clusterIPs", _invalid(ips, "must be empty when `clusterIP` is not specified"))
    for i, family in enumerate(families):
        if family not in ("IPv4", "IPv6"):
            r.add(f"spec.ipFamilies[{i}]", _not_supported(family, ("IPv4", "IPv6")))
        if family in families[:i]:
            r.add(f"spec.ipFamilies[{i}]", _duplicate(family))
    policies = ("PreferDualStack", "RequireDualStack", "SingleStack")
    if spec.get("ipFamilyPolicy", policies[0]) not in policies:
        r.add("spec.ipFamilyPolicy", _not_supported(spec["ipFamilyPolicy"], policies))
    bad = False
    for i, text in enumerate(ips):
        if i == 0 and text == "None":
            if len(ips) > 1:
                bad = True
                r.add("spec.clusterIPs", _invalid(ips, "'None' must be the first and only value"))
        elif _strict_ip_errors(text):
            bad = True
            for msg in _strict_ip_errors(text):
                r.add(f"spec.clusterIPs[{i}]", _invalid(text, msg))
    if len(ips) > 2:
        r.add("spec.clusterIPs", _invalid(ips, "may only hold up to 2 values"))
    if bad or view.headless:
        return  # the server stops on bad IPs too: the checks below would only echo them
    v6 = [_as_v4(_parse_ip(text)) is None for text in ips]
    if len(ips) > 1 and not (any(v6) and not all(v6)):
        r.add("spec.clusterIPs", _invalid(ips, "may specify no more than one IP for each IP family"))
    if not view.headless:
        for i, (text, family) in enumerate(zip(ips, families)):
            if family in ("IPv4", "IPv6") and v6[i] != (family == "IPv6"):
                why = f"expected an {family} value as indicated by `ipFamilies[{i}]`"
                r.add(f"spec.clusterIPs[{i}]", _invalid(text, why))


def _service(r: _Report, svc: dict, node_port_range: tuple[int, int]) -> None:
    _object_meta(r, svc.get("metadata", {}), _dns1035_label, True)
    s = svc.get("spec", {})
    v = _ServiceView.of(s)
    if not v.ports and not v.headless and v.type != "ExternalName":
        r.add("spec.ports", _required())
    if v.type in ("LoadBalancer", "NodePort") and v.headless:
        r.add("spec.clusterIPs[0]", _invalid("None", f"may not be set to 'None' for {v.type} services"))
    if v.type == "ExternalName":
        for key, present in (("clusterIPs", v.cluster_ips), ("ipFamilies", s.get("ipFamilies")),
                             ("ipFamilyPolicy", "ipFamilyPolicy" in s)):
            if present:
                r.add(f"spec.{key}", _forbidden("may not be set for ExternalName services"))
        cname = s.get("externalName", "").removesuffix(".")  # a trailing dot marks a fully-qualified name
        if not cname:
            r.add("spec.externalName", _required())
        for msg in _dns1123_subdomain(cname) if cname else []:
            r.add("spec.externalName", _invalid(cname, msg))
    names: set[str] = set()
    for i, port in enumerate(v.ports):
        _service_port(r, port, len(v.ports) > 1, names, f"spec.ports[{i}]")
    _labels(r, s.get("selector", {}), "spec.selector")
    affinity = s.get("sessionAffinity") or "None"
    if affinity not in ("ClientIP", "None"):
        r.add("spec.sessionAffinity", _not_supported(affinity, ("ClientIP", "None")))
    # With ClientIP the defaulter fills in a missing timeout; with None it drops sessionAffinityConfig,
    # so validation's "must not be set" never fires for a v1 object.
    timeout = s.get("sessionAffinityConfig", {}).get("clientIP", {}).get("timeoutSeconds")
    if affinity == "ClientIP" and timeout is not None and not 0 < timeout <= 86400:
        r.add("spec.sessionAffinityConfig.clientIP.timeoutSeconds",
              _invalid(timeout, "must be greater than 0 and less than 86400"))
    if v.type != "ExternalName":
        _cluster_ips(r, s, v)
    for i, ip in enumerate(v.external_ips):
        for msg in _strict_ip_errors(ip) or _endpoint_ip_errors(ip):
            r.add(f"spec.externalIPs[{i}]", _invalid(ip, msg))
    if v.type not in _SERVICE_TYPES:
        r.add("spec.type", _not_supported(v.type, _SERVICE_TYPES))
    if v.type == "ClusterIP":
        for i, port in enumerate(v.ports):
            if port.get("nodePort"):
                r.add(f"spec.ports[{i}].nodePort", _forbidden("may not be used when `type` is 'ClusterIP'"))
    node_keys, port_keys = set(), set()
    for i, port in enumerate(v.ports):  # the same number is fine for TCP and UDP, not twice for one
        if port.get("nodePort"):
            key = (port["protocol"], port["nodePort"])
            if key in node_keys:
                r.add(f"spec.ports[{i}].nodePort", _duplicate(port["nodePort"]))
            node_keys.add(key)
    for i, port in enumerate(v.ports):
        key = (port["protocol"], port.get("port", 0))
        if key in port_keys:
            r.add(f"spec.ports[{i}]", _duplicate(_service_port_key(port)))
        port_keys.add(key)
    if s.get("loadBalancerSourceRanges"):
        where = "spec.LoadBalancerSourceRanges"  # sic: the server capitalises this path
        if v.type != "LoadBalancer":
            r.add(where, _forbidden(_ONLY_LB))
        for i, cidr in enumerate(s["loadBalancerSourceRanges"]):
            if _parse_cidr(cidr.strip()) is None:  # historically these may be space-padded
                r.add(f"{where}[{i}]", _invalid(cidr.strip(), _CIDR_MSG))
    if "allocateLoadBalancerNodePorts" in s and v.type != "LoadBalancer":
        r.add("spec.allocateLoadBalancerNodePorts", _forbidden(_ONLY_LB))
    if "loadBalancerClass" in s:
        if v.type != "LoadBalancer":
            r.add("spec.loadBalancerClass", _forbidden(_ONLY_LB))
        for msg in _qualified_name(s["loadBalancerClass"]) if v.type == "LoadBalancer" else []:
            r.add("spec.loadBalancerClass", _invalid(s["loadBalancerClass"], msg))
    if not v.externally_accessible:
        if v.etp:
            r.add("spec.externalTrafficPolicy",
                  _invalid(v.etp, "may only be set for externally-accessible services"))
    elif v.etp not in ("Cluster", "Local"):
        r.add("spec.externalTrafficPolicy", _not_supported(v.etp, ("Cluster", "Local")))
    health = s.get("healthCheckNodePort", 0)
    if health and not v.needs_health_check:
        r.add("spec.healthCheckNodePort", _invalid(
            health, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
    for msg in _port_num(health) if health and v.needs_health_check else []:
        r.add("spec.healthCheckNodePort", _invalid(health, msg))
    # Defaulted to Cluster for every type but ExternalName, so only a wrong value can fail.
    if s.get("internalTrafficPolicy", "Cluster") not in ("Cluster", "Local"):
        r.add("spec.internalTrafficPolicy", _not_supported(s["internalTrafficPolicy"], ("Cluster", "Local")))
    # validation.go (validateServiceTrafficDistribution): PreferSameZone and PreferSameNode
    # (PreferSameTrafficDistribution, GA in 1.35) beside PreferClose, its deprecated older
    # name; the message lists them as sets.List sorts them.
    distributions = ("PreferClose", "PreferSameNode", "PreferSameZone")
    if s.get("trafficDistribution", "PreferClose") not in distributions:
        r.add("spec.trafficDistribution", _not_supported(s["trafficDistribution"], distributions))
    _node_port_allocation(r, v, health, node_port_range, is_stored(svc))
    _load_balancer_status(r, svc.get("status", {}).get("loadBalancer", {}), "status.loadBalancer")


def _load_balancer_status(r: _Report, status: dict, path: str) -> None:
    """ValidateLoadBalancerStatus (C): the server resets status on create, but k8slab reads a
    snapshot's status as the cluster's state, so it checks it as a status update would be."""
    for i, ingress in enumerate(status.get("ingress", [])):
        at = f"{path}.ingress[{i}]"
        if ingress.get("ip"):
            for msg in _strict_ip_errors(ingress["ip"]):
                r.add(f"{at}.ip", _invalid(ingress["ip"], msg))
        if ingress.get("hostname"):
            for msg in _dns1123_subdomain(ingress["hostname"]):
                r.add(f"{at}.hostname", _invalid(ingress["hostname"], msg))
            if _parse_ip(ingress["hostname"]) is not None:
                r.add(f"{at}.hostname", _invalid(ingress["hostname"], "must be a DNS name, not an IP address"))


def _node_port_allocation(r: _Report, v: _ServiceView, health: int, node_port_range: tuple[int, int],
                          stored: bool = False) -> None:
    """What the port allocator (R) refuses within one Service: ports outside the range, and a
    health-check port that one of the Service's own ports already took."""
    lo, hi = node_port_range
    out_of_range = f"provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
    # A stored object's ports were allocated by its own API server, whose
    # --service-node-port-range k8slab does not know: the range is a create-time check only.
    if stored:
        lo, hi = -1, 1 << 31
    for i, node_port in v.node_ports():
        if not lo <= node_port <= hi:
            r.add(f"spec.ports[{i}].nodePort", _invalid(node_port, out_of_range))
    if health and v.needs_health_check:  # the allocator wraps these in an InternalError
        if not lo <= health <= hi:
            r.add("spec.healthCheckNodePort", _health_check_error(health, out_of_range))
        elif health in dict(v.node_ports()).values():
            r.add("spec.healthCheckNodePort", _health_check_error(health, _ALLOCATED))


def _health_check_error(port: int, why: str) -> str:
    return f"Internal error occurred: failed to allocate requested HealthCheck NodePort {port}: {why}"


# --- Pods and pod templates (C, A) -------------------------------------------------------------

_RESTART_POLICIES = ("Always", "OnFailure", "Never")  # in the order the server lists them


def _container(r: _Report, c: dict, path: str) -> None:
    name = c.get("name", "")
    if not name:
        r.add(f"{path}.name", _required())
    for msg in _dns1123_label(name) if name else []:
        r.add(f"{path}.name", _invalid(name, msg))
    if not c.get("image"):
        r.add(f"{path}.image", _required())
    names: set[str] = set()  # port names are unique per container, not per pod
    for i, port in enumerate(c.get("ports", [])):
        at, pname = f"{path}.ports[{i}]", port.get("name", "")
        msgs = _port_name(pname) if pname else []
        for msg in msgs:
            r.add(f"{at}.name", _invalid(pname, msg))
        if pname and not msgs:
            if pname in names:
                r.add(f"{at}.name", _duplicate(pname))
            names.add(pname)
        number = port.get("containerPort", 0)
        if not number:
            r.add(f"{at}.containerPort", _required())
        for msg in _port_num(number) if number else []:
            r.add(f"{at}.containerPort", _invalid(number, msg))
        for msg in _port_num(port["hostPort"]) if port.get("hostPort") else []:
            r.add(f"{at}.hostPort", _invalid(port["hostPort"], msg))
        protocol = port.get("protocol") or "TCP"
        if protocol not in _PROTOCOLS:
            r.add(f"{at}.protocol", _not_supported(protocol, _PROTOCOLS))


def _pod_spec(r: _Report, spec: dict, path: str) -> None:
    containers = spec.get("containers", [])
    if not containers:
        r.add(f"{path}.containers", _required())
    names: set[str] = set()
    for i, c in enumerate(containers):
        _container(r, c, f"{path}.containers[{i}]")
        name = c.get("name", "")
        if name in names:  # "" counts too, as it does on the server
            r.add(f"{path}.containers[{i}].name", _duplicate(name))
        names.add(name)
    for i, c in enumerate(spec.get("initContainers", [])):
        _container(r, c, f"{path}.initContainers[{i}]")
        name = c.get("name", "")
        if name in names:
            r.add(f"{path}.initContainers[{i}].name", _duplicate(name))
        elif name:
            names.add(name)
    policy = spec.get("restartPolicy") or "Always"
    if policy not in _RESTART_POLICIES:
        r.add(f"{path}.restartPolicy", _not_supported(policy, _RESTART_POLICIES))
    for msg in _dns1123_subdomain(spec["nodeName"]) if spec.get("nodeName") else []:
        r.add(f"{path}.nodeName", _invalid(spec["nodeName"], msg))
    _pod_dns(r, spec, path)


# validation.go: validateDNSPolicy lists its values in this order; validatePodDNSConfig's limits.
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_MAX_NAMESERVERS, _MAX_SEARCHES, _MAX_SEARCH_CHARS = 3, 32, 2048


def _pod_dns(r: _Report, spec: dict, path: str) -> None:
    """hostname, subdomain, dnsPolicy and dnsConfig, as ValidatePodSpec checks them."""
    for field in ("hostname", "subdomain"):
        for msg in _dns1123_label(spec[field]) if spec.get(field) else []:
            r.add(f"{path}.{field}", _invalid(spec[field], msg))
    policy = spec.get("dnsPolicy") or "ClusterFirst"       # defaulted when empty
    if policy not in _DNS_POLICIES:
        r.add(f"{path}.dnsPolicy", _not_supported(policy, _DNS_POLICIES))
    config = spec.get("dnsConfig")
    if policy == "None" and not isinstance(config, dict):
        r.add(f"{path}.dnsConfig", _required("must provide `dnsConfig` when `dnsPolicy` is None"))
        return
    if not isinstance(config, dict):
        return
    where = f"{path}.dnsConfig"
    servers = config.get("nameservers") or []
    if policy == "None" and not servers:
        r.add(f"{where}.nameservers", _required("must provide at least one DNS nameserver when "
                                                 "`dnsPolicy` is None"))
    if len(servers) > _MAX_NAMESERVERS:
        r.add(f"{where}.nameservers", _invalid(servers, f"must not have more than "
                                                        f"{_MAX_NAMESERVERS} nameservers"))
    for i, ns in enumerate(servers):
        if not _parse_ip(str(ns)):
            r.add(f"{where}.nameservers[{i}]", _invalid(ns, "must be valid IP address"))
    searches = config.get("searches") or []
    if len(searches) > _MAX_SEARCHES:
        r.add(f"{where}.searches", _invalid(searches, f"must not have more than {_MAX_SEARCHES} "
                                                      "search paths"))
    if len(" ".join(map(str, searches))) > _MAX_SEARCH_CHARS:
        r.add(f"{where}.searches", _invalid(searches, f"must not have more than "
                                                      f"{_MAX_SEARCH_CHARS} characters (including "
                                                      "spaces) in the search list"))
    for i, s in enumerate(searches):
        name = str(s)[:-1] if str(s).endswith(".") else str(s)   # a trailing dot is allowed
        for msg in _dns1123_subdomain(name):
            r.add(f"{where}.searches[{i}]", _invalid(s, msg))
    for i, option in enumerate(config.get("options") or []):
        if isinstance(option, dict) and not option.get("name"):
            r.add(f"{where}.options[{i}]", _required("Option.Name must not be empty"))


def _pod(r: _Report, pod: dict, _node_port_range) -> None:
    _object_meta(r, pod.get("metadata", {}), _dns1123_subdomain, True)
    _pod_spec(r, pod.get("spec", {}), "spec")
    # The server resets status on create, but k8slab reads status as the cluster's state, so the
    # addresses in it must at least be addresses (ValidatePodStatusUpdate's rule).
    status = pod.get("status", {})
    for key in ("podIP", "hostIP"):
        for msg in _strict_ip_errors(status[key]) if status.get(key) else []:
            r.add(f"status.{key}", _invalid(status[key], msg))
    for i, pod_ip in enumerate(status.get("podIPs", [])):
        for msg in _strict_ip_errors(pod_ip.get("ip", "")):
            r.add(f"status.podIPs[{i}]", _invalid(pod_ip.get("ip", ""), msg))


@_memo
def _strict_ip_errors(text: str) -> list[str]:
    """IsValidIPForLegacyField with StrictIPCIDRValidation (on by default since 1.33), as
    apimachinery/pkg/api/validation/ip.go parseIP words it: a sloppy-parsable IPv4 with a
    leading zero "must not have leading 0s" (010 is octal to some parsers, decimal to others)."""
    errs = _ip_errors(text)
    ip = None if errs else _parse_ip(text)
    if ip is not None and ip.version == 4 and any(len(p) > 1 and p[0] == "0" for p in text.split(".")):
        errs.append("must not have leading 0s")
    if ip is not None and ip.version == 6 and ip.ipv4_mapped is not None:
        errs.append("must not be an IPv4-mapped IPv6 address")
    return errs


def _template(r: _Report, template: dict, check_pod_spec: bool = True) -> None:
    """ValidatePodTemplateSpec plus the controllers' own rule that pods restart Always."""
    # sic: template labels are checked at spec.template.labels, without "metadata"
    _labels(r, template.get("metadata", {}).get("labels", {}), "spec.template.labels")
    spec = template.get("spec", {})
    if check_pod_spec:
        _pod_spec(r, spec, "spec.template.spec")
    if (spec.get("restartPolicy") or "Always") != "Always":
        r.add("spec.template.spec.restartPolicy", _not_supported(spec["restartPolicy"], ("Always",)))


def _mismatch(r: _Report, template: dict) -> None:
    labels = template.get("metadata", {}).get("labels")
    if r.garbled("spec.template.metadata.labels"):
        return  # the labels' decode error says it already
    r.add("spec.template.metadata.labels",
          _invalid(_map_json(labels), "`selector` does not match template `labels`"))


def _workload(kind: str) -> Callable:
    """Deployment, ReplicaSet, StatefulSet and DaemonSet (A): one label selector, one pod template."""
    noun = {"ReplicaSet": "deployment"}.get(kind, kind.lower())  # sic: ReplicaSet's message says deployment

    # A StatefulSet's pods are named after it, so its name must be a DNS label.
    name_rule = _dns1123_label if kind == "StatefulSet" else _dns1123_subdomain

    def rules(r: _Report, obj: dict, _node_port_range) -> None:
        _object_meta(r, obj.get("metadata", {}), name_rule, True)
        s = obj.get("spec", {})
        template = s.get("template", {})
        if kind != "DaemonSet" and s.get("replicas", 1) < 0:  # replicas defaults to 1
            r.add("spec.replicas", _invalid(s["replicas"], "must be greater than or equal to 0"))
        selector = s.get("selector")
        usable = True
        if r.garbled("spec.selector"):
            pass  # its decode error says it all; what is left of it would only mislead
        elif selector is None:
            if kind != "DaemonSet":  # a DaemonSet gets only the mismatch below
                r.add("spec.selector", _required())
        else:
            usable = _label_selector(r, selector, "spec.selector")
            if not selector.get("matchLabels") and not selector.get("matchExpressions"):
                why = f"empty selector is invalid for {noun}"
                r.add("spec.selector", _invalid(_selector_json(selector), why))
        if not usable:  # LabelSelectorAsSelector failed
            if kind != "DaemonSet":
                detail = "" if kind == "StatefulSet" else "invalid label selector"
                r.add("spec.selector", _invalid(_selector_json(selector), detail))
        elif not r.garbled("spec.selector"):
            # A missing selector converts to one that matches nothing, an empty one to one that
            # matches everything; so a missing selector is also reported as a mismatch.
            labels = template.get("metadata", {}).get("labels", {})
            if selector is None or not _matches(selector, labels):
                _mismatch(r, template)
        # ValidatePodTemplateSpecForStatefulSet leaves the pod spec unchecked ("TODO: Add
        # validation for PodSpec"), so a broken StatefulSet template only fails at pod creation.
        _template(r, template, check_pod_spec=kind != "StatefulSet")

    return rules


def _replication_controller(r: _Report, rc: dict, _node_port_range) -> None:
    _object_meta(r, rc.get("metadata", {}), _dns1123_subdomain, True)
    s = rc.get("spec", {})
    template = s.get("template")  # a pointer in v1, so it can be missing
    labels = (template or {}).get("metadata", {}).get("labels", {})
    # SetDefaults_ReplicationController: an empty selector becomes the template's labels.
    selector = s.get("selector") or (labels if template is not None else {})
    if r.garbled("spec.selector"):
        selector = {}  # its decode error says it all
    elif not selector:
        r.add("spec.selector", _required())
    if s.get("replicas", 1) < 0:
        r.add("spec.replicas", _invalid(s["replicas"], "must be greater than or equal to 0"))
    if template is None:
        r.add("spec.template", _required())
        return
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        _mismatch(r, template)
    _template(r, template)


# --- Node and EndpointSlice (C, D) ---------------------------------------------------------------


def _node(r: _Report, node: dict, _node_port_range) -> None:
    _object_meta(r, node.get("metadata", {}), _dns1123_subdomain, False)
    s = node.get("spec", {})
    # v1 -> internal conversion folds podCIDR into podCIDRs[0], so that is where errors point.
    cidrs = s.get("podCIDRs") or ([s["podCIDR"]] if s.get("podCIDR") else [])
    parsed = [_parse_cidr(c) for c in cidrs]
    for i, (text, ip) in enumerate(zip(cidrs, parsed)):
        if ip is None:
            r.add(f"spec.podCIDRs[{i}]", _invalid(text, _CIDR_MSG))
    if len(cidrs) > 1 and None not in parsed:
        v6 = [_as_v4(ip) is None for ip in parsed]
        if len(cidrs) > 2 or all(v6) or not any(v6):
            r.add("spec.podCIDRs", _invalid(cidrs, "may specify no more than one CIDR for each IP family"))
        for i, text in enumerate(cidrs):
            if text in cidrs[:i]:
                r.add(f"spec.podCIDRs[{i}]", _duplicate(text))


def _fqdn(r: _Report, address: str, path: str) -> None:
    """IsFullyQualifiedDomainName (U)."""
    name = address.removesuffix(".")
    labels = name.split(".")
    if not address:
        r.add(path, _required())
    elif _dns1123_subdomain(name):
        r.add(path, _invalid(name, ",".join(_dns1123_subdomain(name))))
    elif len(labels) < 2:
        r.add(path, _invalid(name, "should be a domain with at least two segments separated by dots"))
    else:
        bad = next((label for label in labels if _dns1123_label(label)), None)
        if bad is not None:
            r.add(path, _invalid(bad, ",".join(_dns1123_label(bad))))


def _endpoint_slice(r: _Report, eps: dict, _node_port_range) -> None:
    _object_meta(r, eps.get("metadata", {}), _dns1123_subdomain, True)
    address_type = eps.get("addressType", "")
    if not address_type:
        r.add("addressType", _required())
    elif address_type not in ("FQDN", "IPv4", "IPv6"):
        r.add("addressType", _not_supported(address_type, ("FQDN", "IPv4", "IPv6")))
    endpoints = eps.get("endpoints", [])
    if len(endpoints) > 1000:
        r.add("endpoints", _too_many(len(endpoints), 1000))
        endpoints = []
    for i, endpoint in enumerate(endpoints):
        at, addresses = f"endpoints[{i}]", endpoint.get("addresses", [])
        if not addresses:
            r.add(f"{at}.addresses", _required("must contain at least 1 address"))
        elif len(addresses) > 100:
            r.add(f"{at}.addresses", _too_many(len(addresses), 100))
        for j, address in enumerate(addresses):
            path = f"{at}.addresses[{j}]"
            if address_type == "FQDN":
                _fqdn(r, address, path)
            elif address_type in ("IPv4", "IPv6"):  # other types' addresses go unchecked
                ip = _parse_ip(address)
                if ip is None or (_as_v4(ip) is None) == (address_type == "IPv4"):
                    r.add(path, _invalid(address, f"must be a valid {address_type} address"))
                for msg in _endpoint_ip_errors(address) + [m for m in _strict_ip_errors(address)
                                                             if ip is not None and m != _IP_MSG]:
                    r.add(path, _invalid(address, msg))
        for msg in _dns1123_subdomain(endpoint["nodeName"]) if "nodeName" in endpoint else []:
            r.add(f"{at}.nodeName", _invalid(endpoint["nodeName"], msg))
        for msg in _dns1123_label(endpoint["hostname"]) if "hostname" in endpoint else []:
            r.add(f"{at}.hostname", _invalid(endpoint["hostname"], msg))
    ports = eps.get("ports", [])
    if len(ports) > 100:
        r.add("ports", _too_many(len(ports), 100))
        ports = []
    names: set[str] = set()
    for i, port in enumerate(ports):  # the server sets no range on port: any int32 goes
        name = port.get("name", "")  # a missing name defaults to "", so two unnamed ports clash
        for msg in _dns1123_label(name) if name else []:
            r.add(f"ports[{i}].name", _invalid(name, msg))
        if name in names:
            r.add(f"ports[{i}].name", _duplicate(name))
        names.add(name)
        protocol = port.get("protocol", "TCP")
        if protocol not in _PROTOCOLS:
            r.add(f"ports[{i}].protocol", _not_supported(protocol, _PROTOCOLS))
        for msg in _qualified_name(port["appProtocol"]) if "appProtocol" in port else []:
            r.add(f"ports[{i}].appProtocol", _invalid(port["appProtocol"], msg))


# --- NetworkPolicy and Namespace (pkg/apis/networking/validation/validation.go) -----------------

_POLICY_TYPES = ("Ingress", "Egress")
#: Paths under a NetworkPolicy whose every field k8slab knows (metadata is ObjectMeta: open).
_POLICY_OPEN = ("metadata", "status")


def _cidr_network(text: str):
    """ParseCIDRSloppy's network (the address masked), or None."""
    ip = _parse_cidr(text)
    if ip is None:
        return None
    return ipaddress.ip_network(f"{ip}/{text.rpartition('/')[2]}", strict=False)


def _policy_port(r: _Report, port: dict, path: str) -> None:
    # ValidateNetworkPolicyPort, in its order.
    protocol = port.get("protocol")
    if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
        r.add(f"{path}.protocol", _not_supported(protocol, ("TCP", "UDP", "SCTP")))
    number, end = port.get("port"), port.get("endPort")
    if number is not None:
        if isinstance(number, int):
            for msg in _port_num(number):
                r.add(f"{path}.port", _invalid(number, msg))
            if end is not None:
                if end < number:
                    r.add(f"{path}.endPort", _invalid(end, "must be greater than or equal to `port`"))
                for msg in _port_num(end):
                    r.add(f"{path}.endPort", _invalid(end, msg))
        else:
            if end is not None:
                r.add(f"{path}.endPort", _invalid(end, "may not be specified when `port` is non-numeric"))
            for msg in _port_name(number):
                r.add(f"{path}.port", _invalid(number, msg))
    elif end is not None:
        r.add(f"{path}.endPort", _invalid(end, "may not be specified when `port` is not specified"))


def _ip_block(r: _Report, block: dict, path: str) -> None:
    # ValidateIPBlock: cidr required and a CIDR; each except a CIDR strictly inside it.
    cidr = block.get("cidr", "")
    if not cidr:
        r.add(f"{path}.cidr", _required())
        return
    network = _cidr_network(cidr)
    if network is None:
        r.add(f"{path}.cidr", _invalid(cidr, _CIDR_MSG))
        return
    for i, text in enumerate(block.get("except", [])):
        at = f"{path}.except[{i}]"
        inner = _cidr_network(text)
        if inner is None:
            r.add(at, _invalid(text, _CIDR_MSG))
            continue
        # `!cidrIPNet.Contains(exceptCIDR.IP) || cidrMaskLen >= exceptMaskLen`: other families
        # are never contained.
        inside = inner.version == network.version and inner.network_address in network
        if not inside or network.prefixlen >= inner.prefixlen:
            r.add(at, _invalid(text, "must be a strict subset of `cidr`"))


def _policy_peer(r: _Report, peer: dict, path: str) -> None:
    # ValidateNetworkPolicyPeer: at least one of the three; ipBlock alone.
    count = 0
    if "podSelector" in peer:
        count += 1
        _label_selector(r, peer["podSelector"], f"{path}.podSelector")
    if "namespaceSelector" in peer:
        count += 1
        _label_selector(r, peer["namespaceSelector"], f"{path}.namespaceSelector")
    if "ipBlock" in peer:
        count += 1
        _ip_block(r, peer["ipBlock"], f"{path}.ipBlock")
    if count == 0:
        r.add(path, _required("must specify a peer"))
    elif count > 1 and "ipBlock" in peer:
        r.add(path, _forbidden("may not specify both ipBlock and another peer"))


def _network_policy(r: _Report, np: dict, _node_port_range) -> None:
    _object_meta(r, np.get("metadata", {}), _dns1123_subdomain, True)
    spec = np.get("spec", {})
    _label_selector(r, spec.get("podSelector", {}), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction, [])):
            at = f"spec.{direction}[{i}]"
            for j, port in enumerate(rule.get("ports", [])):
                _policy_port(r, port, f"{at}.ports[{j}]")
            for j, peer in enumerate(rule.get(peers, [])):
                _policy_peer(r, peer, f"{at}.{peers}[{j}]")
    types = spec.get("policyTypes", [])
    if len(types) > len(_POLICY_TYPES):
        r.add("spec.policyTypes", _invalid(types, "may not specify more than two policyTypes"))
        return
    for i, kind in enumerate(types):
        if kind not in _POLICY_TYPES:
            r.add(f"spec.policyTypes[{i}]", _not_supported(kind, _POLICY_TYPES))


def _namespace(r: _Report, ns: dict, _node_port_range) -> None:
    # ValidateNamespace: the name is a DNS label; a Namespace has no namespace of its own.
    _object_meta(r, ns.get("metadata", {}), _dns1123_label, False)


def unknown_fields(obj: dict) -> list[str]:
    """The paths of fields a NetworkPolicy carries that its API type does not have: the server
    drops them (kubectl apply warns `unknown field`), so a typo such as `form:` for `from:`
    silently widens a rule. Empty for other kinds."""
    if not isinstance(obj, dict) or obj.get("kind") != "NetworkPolicy":
        return []
    found: list[str] = []

    def walk(value, gotype: str, path: str) -> None:
        if len(found) >= 20:
            return
        if gotype.startswith("[]"):
            for i, item in enumerate(value if isinstance(value, list) else []):
                walk(item, gotype[2:], f"{path}[{i}]")
            return
        fields = _STRUCTS.get(gotype)
        if fields is None or not isinstance(value, dict):
            return
        for key, item in value.items():
            where = _join(path, _key_text(key))
            if key in fields:
                if where not in _POLICY_OPEN:
                    walk(item, fields[key], where)
            elif path or key not in ("apiVersion", "kind"):
                found.append(where)

    walk(obj, "v1.NetworkPolicy", "")
    return found
def _endpoints(r: _Report, ep: dict, _node_port_range) -> None:
    """ValidateEndpoints (C): the legacy v1 Endpoints, deprecated since 1.33 but still served."""
    _object_meta(r, ep.get("metadata", {}), _dns1123_subdomain, True)
    for i, subset in enumerate(ep.get("subsets", [])):
        at = f"subsets[{i}]"
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(subset.get(key, [])):
                path = f"{at}.{key}[{j}]"
                ip = address.get("ip", "")
                for msg in _ip_errors(ip) or _endpoint_ip_errors(ip):
                    r.add(f"{path}.ip", _invalid(ip, msg))
                for msg in _dns1123_subdomain(address["nodeName"]) if address.get("nodeName") else []:
                    r.add(f"{path}.nodeName", _invalid(address["nodeName"], msg))
                for msg in _dns1123_label(address["hostname"]) if address.get("hostname") else []:
                    r.add(f"{path}.hostname", _invalid(address["hostname"], msg))
        ports = subset.get("ports", [])
        for j, port in enumerate(ports):
            path = f"{at}.ports[{j}]"
            name = port.get("name", "")
            if len(ports) > 1 and not name:
                r.add(f"{path}.name", _required())
            for msg in _dns1123_label(name) if name else []:
                r.add(f"{path}.name", _invalid(name, msg))
            for msg in _port_num(port.get("port", 0)):
                r.add(f"{path}.port", _invalid(port.get("port", 0), msg))
            protocol = port.get("protocol", "TCP")
            if protocol not in _PROTOCOLS:
                r.add(f"{path}.protocol", _not_supported(protocol, _PROTOCOLS))


def _service_cidr(r: _Report, obj: dict, _node_port_range) -> None:
    """ValidateServiceCIDR (pkg/apis/networking/validation/validation.go)."""
    _object_meta(r, obj.get("metadata", {}), _dns1123_subdomain, False)
    cidrs = obj.get("spec", {}).get("cidrs", [])
    if not cidrs:
        r.add("spec.cidrs", _required("at least one CIDR required"))
        return
    if len(cidrs) > 2:
        r.add("spec.cidrs", _invalid(obj.get("spec"), "may only hold up to 2 values"))
        return
    parsed = [_parse_cidr(c) for c in cidrs]
    if len(cidrs) == 2 and (None in parsed or (_as_v4(parsed[0]) is None) == (_as_v4(parsed[1]) is None)):
        r.add("spec.cidrs", _invalid(obj.get("spec"), "may specify no more than one IP for each IP family, "
                                                      "i.e 192.168.0.0/24 and 2001:db8::/64"))
        return
    for i, (text, ip) in enumerate(zip(cidrs, parsed)):
        if ip is None:
            r.add(f"spec.cidrs[{i}]", _invalid(text, _CIDR_MSG))


# --- Dispatch ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    api_version: str
    resource: str  # as an AlreadyExists error names it
    namespaced: bool
    rules: Callable[[_Report, dict, tuple[int, int]], None]


_KINDS = {
    "Service": _Kind("v1", "services", True, _service),
    "Pod": _Kind("v1", "pods", True, _pod),
    "ReplicationController": _Kind("v1", "replicationcontrollers", True, _replication_controller),
    "Node": _Kind("v1", "nodes", False, _node),
    "Deployment": _Kind("apps/v1", "deployments.apps", True, _workload("Deployment")),
    "ReplicaSet": _Kind("apps/v1", "replicasets.apps", True, _workload("ReplicaSet")),
    "StatefulSet": _Kind("apps/v1", "statefulsets.apps", True, _workload("StatefulSet")),
    "DaemonSet": _Kind("apps/v1", "daemonsets.apps", True, _workload("DaemonSet")),
    "EndpointSlice": _Kind("discovery.k8s.io/v1", "endpointslices.discovery.k8s.io", True, _endpoint_slice),
    "NetworkPolicy": _Kind("networking.k8s.io/v1", "networkpolicies.networking.k8s.io", True, _network_policy),
    "Namespace": _Kind("v1", "namespaces", False, _namespace),
    "Endpoints": _Kind("v1", "endpoints", True, _endpoints),
    "ServiceCIDR": _Kind("networking.k8s.io/v1", "servicecidrs.networking.k8s.io", False, _service_cidr),
}


def _check(obj, node_port_range) -> tuple[str | None, dict | None, _Report]:
    """(kind, the object as decoded, report); kind is None for objects this module ignores."""
    r = _Report()
    if obj is None:  # an empty YAML document, which kubectl skips
        return None, None, r
    if not isinstance(obj, dict):
        kind = _json_kind(_as_json(obj))
        r.add("", f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
        return None, None, r
    kind = obj.get("kind")
    known = _KINDS.get(kind) if isinstance(kind, str) else None
    if known is None:
        return None, None, r
    version = obj.get("apiVersion")
    if version is None or version == "":
        r.add("apiVersion", "apiVersion not set")  # kubectl's wording; the server never sees such an object
    elif not isinstance(version, str):
        r.add("apiVersion", "couldn't get version/kind; json parse error: json: cannot unmarshal "
                            f"{_json_kind(_as_json(version))} into Go struct field .apiVersion of type string")
    elif version != known.api_version:
        r.add("apiVersion", f"no matches for kind {_go_quote(kind)} in version {_go_quote(version)}")
    if r.problems:
        return kind, None, r
    decoded = r.decode(obj, f"v1.{kind}", "", "", None)
    known.rules(r, decoded, node_port_range)
    return kind, decoded, r


def validate_object(obj: dict, *, node_port_range: tuple[int, int] = NODE_PORT_RANGE) -> list[FieldProblem]:
    """What the API server would reject in obj on its own; [] for kinds this module does not know."""
    return _check(obj, node_port_range)[2].problems


def check_objects(objs: list, *, node_port_range: tuple[int, int] = NODE_PORT_RANGE) -> list[tuple]:
    """validate_object for each of objs, once: (kind, decoded object, problems) per object, to
    hand to validate_together(checked=...) so that no object is decoded twice."""
    out = []
    for obj in objs:
        kind, decoded, report = _check(obj, node_port_range)
        out.append((kind, decoded, report.problems))
    return out


def _allocate(svc: dict, taken_ips: set, taken_ports: set, service_cidr=None, stored: bool = False):
    """(error, IPs, ports) the Service allocator (R) would reserve for svc, given what earlier
    Services hold; it stops at the first thing already taken. A stored Service (stored=True) was
    allocated by its own API server: only a clash with another object is still an error."""
    spec = svc.get("spec", {})
    v = _ServiceView.of(spec)
    ips, ports = set(), set()
    if v.type == "ExternalName":
        return None, ips, ports
    if stored:
        for text in [] if v.headless else v.cluster_ips:
            ip = _parse_ip(text)
            if ip in taken_ips:
                why = f"failed to allocate IP {text}: provided IP is already allocated"
                return FieldProblem("spec.clusterIPs", _invalid(v.cluster_ips, why)), ips, ports
            ips.add(ip)
        service_cidr, v = None, _ServiceView(v.type, v.ports, [], v.external_ips, v.etp)
    # The IP families come first (pkg/registry/core/service/storage/alloc.go,
    # initIPFamilyFields): this cluster is single-stack IPv4. A headless Service without a
    # selector is its special case: it defaults to RequireDualStack with both families and may
    # keep them even on a single-stack cluster, so no family check applies to it.
    any_families = stored or (v.headless and not spec.get("selector"))
    if spec.get("ipFamilyPolicy") == "RequireDualStack" and not any_families:
        return FieldProblem("spec.ipFamilyPolicy", _invalid(
            "RequireDualStack", "this cluster is not configured for dual-stack services")), ips, ports
    for i, family in enumerate([] if any_families else spec.get("ipFamilies") or []):
        if family != "IPv4":
            return FieldProblem(f"spec.ipFamilies[{i}]", _invalid(family, "not configured on this cluster")), ips, ports
    for text in [] if v.headless else v.cluster_ips:
        ip = _parse_ip(text)
        if service_cidr is not None and isinstance(ip, ipaddress.IPv4Address) and not any(
                ip in net for net in service_cidr):
            # pkg/registry/core/service/ipallocator: ErrNotInRange
            why = (f"failed to allocate IP {text}: the provided IP ({text}) is not in the valid "
                   f"range. The range of valid IPs is {', '.join(map(str, service_cidr))}")
            return FieldProblem("spec.clusterIPs", _invalid(v.cluster_ips, why)), ips, ports
        if ip in taken_ips:
            why = f"failed to allocate IP {text}: provided IP is already allocated"
            return FieldProblem("spec.clusterIPs", _invalid(v.cluster_ips, why)), ips, ports
        ips.add(ip)
    for i, node_port in v.node_ports():
        if node_port in taken_ports:
            return FieldProblem(f"spec.ports[{i}].nodePort", _invalid(node_port, _ALLOCATED)), ips, ports
        ports.add(node_port)  # a TCP and a UDP port may share a number within one Service
    health = svc.get("spec", {}).get("healthCheckNodePort", 0)
    if health and v.needs_health_check:
        if health in taken_ports:
            return FieldProblem("spec.healthCheckNodePort", _health_check_error(health, _ALLOCATED)), ips, ports
        ports.add(health)
    return None, ips, ports


def validate_together(objs: list[dict], *, node_port_range: tuple[int, int] = NODE_PORT_RANGE,
                      service_range: tuple[list[str] | None, str] | None = None,
                      checked: list[tuple] | None = None) -> list[tuple[int, FieldProblem]]:
    """Create objs one after another, as `kubectl create -f` would, and report what the server
    refuses because an earlier object got there first: a name, a cluster IP, a node port.
    Objects that validate_object rejects are never created, so they hold nothing.

    `service_range` is the cluster's Service range as the caller learned it: (its CIDRs, or None
    when only its first address is known, then only clashes count; that first address, which
    default/kubernetes holds). Objects that were stored (see is_stored) get no range checks."""
    problems: list[tuple[int, FieldProblem]] = []
    created: set[tuple[str, str, str]] = set()
    # The API server's own Service holds the range's first address from the start. The range
    # is kubeadm's default, unless a snapshot's default/kubernetes sits elsewhere: then the
    # cluster's range is another one, which k8slab does not know, and only clashes count.
    first, service_cidr = KUBERNETES_SERVICE_IP, [SERVICE_CIDR]
    learned = service_range is not None
    if learned:
        cidrs, first_text = service_range
        first = _parse_ip(first_text)
        service_cidr = None if cidrs is None else [ipaddress.ip_network(c, strict=False) for c in cidrs]
    for obj in [] if learned else objs if isinstance(objs, (list, tuple)) else []:
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if (isinstance(meta, dict) and obj.get("kind") == "Service" and meta.get("name") == "kubernetes"
                and (meta.get("namespace") or "default") == "default"):
            spec = obj.get("spec")          # any JSON value: its own check reports a bad one
            ip = _parse_ip(str((spec if isinstance(spec, dict) else {}).get("clusterIP") or ""))
            if isinstance(ip, ipaddress.IPv4Address) and ip not in SERVICE_CIDR:
                first, service_cidr, learned = ip, None, True
    taken_ips: set = {first}
    taken_ports: set[int] = set()
    for index, obj in enumerate(objs if isinstance(objs, (list, tuple)) else []):
        if checked is not None:
            kind, decoded, found = checked[index]
        else:
            kind, decoded, report = _check(obj, node_port_range)
            found = report.problems
        if kind is None or found:
            continue
        meta = decoded.get("metadata", {})
        name = meta.get("name", "")
        namespace = (meta.get("namespace") or "default") if _KINDS[kind].namespaced else ""
        # The Service allocator runs before storage, so a clash of IPs or ports is what a
        # re-created Service reports, not that it already exists.
        problem, ips, ports = None, set(), set()
        if kind == "Service":
            # default/kubernetes itself (in a snapshot) is the holder of that first address.
            own = {first} if (namespace, name) == ("default", "kubernetes") else set()
            stored = is_stored(obj)
            if stored and not learned:
                own = {first}   # the range is assumed, so is its first address: no clash with it
            # Without a copy of every IP taken so far per Service (5,000 Services: 12 million
            # copies, issue 22's budget): own is at most the first address, lifted out and put back.
            lifted = first in own and first in taken_ips
            if lifted:
                taken_ips.discard(first)
            try:
                problem, ips, ports = _allocate(decoded, taken_ips, taken_ports, service_cidr, stored)
            finally:
                if lifted:
                    taken_ips.add(first)
        key = (kind, namespace, name)
        if problem is None and name and key in created:
            exists = f"{_KINDS[kind].resource} {_go_quote(name)} already exists"
            problem = FieldProblem("metadata.name", exists)
        if problem is not None:
            problems.append((index, problem))
            continue
        created.add(key)
        taken_ips |= ips
        taken_ports |= ports
    return problems


def is_stored(obj) -> bool:
    """Whether obj carries the marks of having been stored by an API server (a `kubectl get`
    snapshot): metadata.uid, resourceVersion or creationTimestamp, or a status. Such an object
    is taken as it is: what its own server allocated (cluster IPs, node ports) is not checked
    against create-time rules whose settings (ranges, families) k8slab cannot see."""
    if not isinstance(obj, dict):
        return False
    meta = obj.get("metadata")
    if isinstance(meta, dict) and any(meta.get(k) for k in ("uid", "resourceVersion", "creationTimestamp")):
        return True
    return isinstance(obj.get("status"), dict)


# --- KubeProxyConfiguration (kube-proxy's own checks at start) ------------------------------------
# cmd/kube-proxy reads its config file with a strict decoder, then runs
# pkg/proxy/apis/config/validation/validation.go. Only the fields k8slab uses are checked.

_PROXY_MODES_MSG = "must be iptables, ipvs, nftables or blank (blank means the best-available proxy [currently iptables])"
_IPVS_SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq")
_PROXY_STRUCTS = {
    "v1alpha1.KubeProxyConfiguration": {
        "mode": "v1alpha1.ProxyMode", "clusterCIDR": "string", "nodePortAddresses": "[]string",
        "iptables": "v1alpha1.KubeProxyIPTablesConfiguration", "ipvs": "v1alpha1.KubeProxyIPVSConfiguration"},
    "v1alpha1.KubeProxyIPTablesConfiguration": {"masqueradeAll": "bool", "masqueradeBit": "int32",
                                                "localhostNodePorts": "bool"},
    "v1alpha1.KubeProxyIPVSConfiguration": {"scheduler": "string"},
}


def validate_proxy_config(conf: dict) -> list[FieldProblem]:
    """What kube-proxy refuses at start in the KubeProxyConfiguration fields k8slab reads."""
    r = _Report(_PROXY_STRUCTS)
    c = r.decode(conf, "v1alpha1.KubeProxyConfiguration", "", "", None) or {}
    mode = c.get("mode", "")
    if mode not in ("", "iptables", "ipvs", "nftables"):
        r.add("mode", _invalid(mode, _PROXY_MODES_MSG))
    for text in c.get("clusterCIDR", "").split(",") if c.get("clusterCIDR") else []:
        if _parse_cidr(text.strip()) is None:
            r.add("clusterCIDR", _invalid(c["clusterCIDR"], "must be a valid CIDR block (e.g. 10.100.0.0/16 "
                                                             "or fde4:8dba:82e1::/48)"))
            break
    bit = c.get("iptables", {}).get("masqueradeBit")
    if bit is not None and not 0 <= bit <= 31:
        r.add("iptables.masqueradeBit", _invalid(bit, "must be within the range [0, 31]"))
    scheduler = c.get("ipvs", {}).get("scheduler", "")
    if scheduler not in _IPVS_SCHEDULERS + ("",):
        listed = " ".join(_IPVS_SCHEDULERS) + " "      # Go prints the list with its "" entry last
        r.add("ipvs.scheduler", _invalid(scheduler, f"must be in [{listed}], blank means the default "
                                                    "algorithm method (currently rr)"))
    addresses = c.get("nodePortAddresses", [])
    if any(_parse_cidr(a) is None for a in addresses if a != "primary"):
        r.add("nodePortAddresses", _invalid(addresses, "must be a valid IP block"))
    return r.problems


# --- Beyond the API server: what it stores but no cluster can use -------------------------------


def unusable(obj: dict) -> list[FieldProblem]:
    """What the API server stores in a valid obj but kube-proxy cannot use, so k8slab cannot route:
    an EndpointSlice port outside 1-65535 (the server sets no range; iptables-restore refuses a
    rule to such a port) and a node InternalIP or ExternalIP that is not an IP (kube-proxy and the
    kubelet parse it as one, utilnet.ParseIPSloppy). Call it only on objects validate_object passed."""
    out = []
    kind = obj.get("kind")
    if kind == "EndpointSlice":
        for i, port in enumerate(obj.get("ports") or []):
            number = port.get("port") if isinstance(port, dict) else None
            if isinstance(number, int) and not 1 <= number <= 65535:
                out.append(FieldProblem(f"ports[{i}].port", _invalid(number, _PORT_RANGE_MSG + " (the API server "
                                        "stores it, but kube-proxy cannot send traffic to such a port)")))
    elif kind == "Node":
        internal = []
        for i, address in enumerate((obj.get("status") or {}).get("addresses") or []):
            if isinstance(address, dict) and address.get("type") in ("InternalIP", "ExternalIP"):
                text = address.get("address") or ""
                for msg in _ip_errors(text):
                    out.append(FieldProblem(f"status.addresses[{i}].address", _invalid(text, msg + (
                        f" (the API server stores any text here, but kube-proxy reads an {address['type']} "
                        "as an IP)"))))
                if address.get("type") == "InternalIP" and _parse_ip(text) is not None:
                    internal.append(_as_v4(_parse_ip(text)) is not None)
        if internal and not any(internal):
            out.append(FieldProblem("status.addresses", "k8slab models single-stack IPv4 clusters, and this "
                                    "node has only IPv6 InternalIPs: give it an IPv4 InternalIP too (as a "
                                    "dual-stack node has)"))
    return out
