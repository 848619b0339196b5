"""YAML in and out: Kubernetes objects to the model, with the API server's defaulting and validation."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import K8slabError, Problem
from .model import (
    Cluster, ContainerPort, Endpoint, EndpointSlice, Node, Pod, PodDNSConfig, ProxyConfig,
    Service, ServicePort,
)

__all__ = ["load", "load_texts", "read_objects", "validate_files", "service_to_yaml",
           "MAX_FILE_BYTES", "FILL_IN", "short_hash", "with_service_type"]

#: Larger files are refused: they are not something a learner or a snapshot of a real
#: cluster at Kubernetes' published limits produces, and reading them would take minutes.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: Above this size a file is read by the Rust YAML parser when it is installed: PyYAML
#: builds objects in Python at about 1 MB/s here, too slow for a whole-cluster snapshot.
FAST_PARSER_BYTES = 4 * 1024 * 1024
#: A document whose aliases would expand past this many values is refused (alias bombs).
MAX_EXPANDED_VALUES = 5_000_000

#: The kinds k8slab reads, with the apiVersion each must carry.
KINDS = {
    "Node": "v1", "Pod": "v1", "Service": "v1", "ReplicationController": "v1",
    "Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1", "EndpointSlice": "discovery.k8s.io/v1",
    "KubeProxyConfiguration": "kubeproxy.config.k8s.io/v1alpha1",
}
#: What a problem says when k8slab's own checks failed: never expected, always a bug.
INTERNAL = "k8slab could not check this object (a bug in k8slab; please report it)"
CONTROLLERS = ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet")

#: Where k8slab takes what the input leaves out: documentation ranges only (RFC 5737),
#: and Kubernetes' own defaults for the service CIDR and the node-port range.
FILL_IN = {
    "node_names": ("node-a", "node-b", "node-c"),
    "node_ips": "192.0.2.0/24",          # first address handed out: .11
    "pod_cidr": "10.244.{n}.0/24",       # node n (from 1) gets this block
    "service_cidr": "10.96.0.0/12",      # .1 is the API server's, .10 the cluster DNS
    "node_ports": (30000, 32767),
    "load_balancer_ips": "203.0.113.0/24",  # first address handed out: .10
}

# The providers whose nodes carry a providerID but have no cloud load balancer.
_NO_CLOUD_PROVIDER_IDS = ("kind://", "minikube://", "k3s://", "docker://")

# Kubernetes' alphabet for generated name suffixes (no vowels, no look-alikes):
# k8s.io/apimachinery/pkg/util/rand SafeEncodeString.
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# ---------------------------------------------------------------------------------------
# Reading text into objects
# ---------------------------------------------------------------------------------------

@dataclass
class _Object:
    file: str
    obj: dict
    where: str            # "document 2" or "document 1, items[3]", for messages

    @property
    def kind(self) -> str:
        return self.obj.get("kind") if isinstance(self.obj.get("kind"), str) else None

    @property
    def name(self) -> str | None:
        meta = self.obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else None

    @property
    def namespace(self) -> str:
        meta = self.obj.get("metadata")
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        return ns if isinstance(ns, str) and ns else "default"


def _yaml_documents(filename: str, text: str) -> list:
    """Every document of a YAML (or JSON) text, or K8slabError naming the line and column."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:                                   # `kubectl get -o json`: JSON is YAML, and fast
            return [json.loads(text)]
        except ValueError:
            pass                               # YAML flow style; the YAML parser says more
    if len(text) > FAST_PARSER_BYTES:
        docs = _fast_yaml_documents(filename, text)
        if docs is not None:
            return docs
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs = [d for d in yaml.load_all(text, Loader=loader)]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise K8slabError(problems=[Problem(filename, f"YAML syntax error at {where}{what}")])
    except yaml.reader.ReaderError as e:
        raise K8slabError(problems=[Problem(
            filename, f"not YAML text: character #x{_code(e.character):04x} at position {e.position} "
                      f"({e.reason})")])
    except yaml.YAMLError as e:
        raise K8slabError(problems=[Problem(filename, f"YAML error: {e}")])
    except RecursionError:
        raise K8slabError(problems=[Problem(filename, "YAML nested too deeply to read")])
    for i, d in enumerate(docs):
        if _expanded_size(d, MAX_EXPANDED_VALUES) > MAX_EXPANDED_VALUES:
            raise K8slabError(problems=[Problem(
                filename, f"document {i + 1}: its aliases expand past {MAX_EXPANDED_VALUES:,} "
                "values (an alias bomb?); Kubernetes refuses such YAML too")])
    return docs


def _code(character) -> int:
    return character if isinstance(character, int) else ord(character[:1] or "\0")


def _fast_yaml_documents(filename: str, text: str) -> list | None:
    try:
        import yaml_rs
    except ImportError:
        return None
    try:
        docs = yaml_rs.loads(text)
    except yaml_rs.YAMLDecodeError as e:
        first = str(e).splitlines()[0] if str(e) else "YAML error"
        raise K8slabError(problems=[Problem(filename, f"YAML syntax error: {first}")])
    except Exception as e:  # noqa: BLE001 - the parser's own limits (aliases, depth)
        raise K8slabError(problems=[Problem(filename, f"YAML error: {e}")])
    # One document comes back bare, several as a list: a top-level list is never a
    # Kubernetes object, so a list here is the documents.
    if isinstance(docs, list) and "\n---" in text:
        return docs
    return [docs]


def _expanded_size(value, limit: int) -> int:
    """How many values `value` holds once aliases are expanded, counting no further than limit."""
    sizes: dict[int, int] = {}
    stack = [(value, False)]
    while stack:
        v, done = stack.pop()
        if not isinstance(v, (dict, list)) or (id(v) in sizes and not done):
            continue
        children = v.values() if isinstance(v, dict) else v
        if not done:
            sizes[id(v)] = -1
            stack.append((v, True))
            stack.extend((c, False) for c in children if isinstance(c, (dict, list)))
            continue
        total = 1
        for c in children:
            total += sizes.get(id(c), 1) if isinstance(c, (dict, list)) else 1
            if total > limit:
                return limit + 1
        sizes[id(v)] = total
    return sizes.get(id(value), 1)


def read_text(path: str) -> str:
    """A file's text, or K8slabError for a file that is missing, too large or not UTF-8."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise K8slabError(problems=[Problem(
                path, f"file is {size / 2**20:.0f} MiB; k8slab reads files up to "
                f"{MAX_FILE_BYTES // 2**20} MiB (split it, or leave out kinds it does not need)")])
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise K8slabError(problems=[Problem(path, e.strerror or str(e))])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise K8slabError(problems=[Problem(path, f"not UTF-8 text (byte {e.start})")])


def read_objects(filename: str, text: str) -> tuple[list[_Object], list[Problem]]:
    """The Kubernetes objects in one text, with Lists opened, and the problems found on the way."""
    objects: list[_Object] = []
    problems: list[Problem] = []
    for i, doc in enumerate(_yaml_documents(filename, text)):
        if doc is None:
            continue                                   # an empty document, as `---` at the end
        _open_lists(filename, doc, f"document {i + 1}", objects, problems)
    return objects, problems


def _read_all(texts) -> tuple[list[_Object], list[Problem]]:
    """Every object of every (filename, text) pair, and every problem; one bad file stops none."""
    objects: list[_Object] = []
    problems: list[Problem] = []
    for filename, text in texts:
        try:
            found, bad = read_objects(filename, text)
        except K8slabError as e:
            problems.extend(e.problems)
            continue
        objects.extend(found)
        problems.extend(bad)
    return objects, problems


def _read_files(paths) -> tuple[list[tuple[str, str]], list[Problem]]:
    texts, problems = [], []
    for path in paths:
        try:
            texts.append((path, read_text(path)))
        except K8slabError as e:
            problems.extend(e.problems)
    return texts, problems


def _open_lists(filename, doc, where, objects, problems, depth=0):
    if not isinstance(doc, dict):
        problems.append(Problem(filename, f"{where}: a Kubernetes object must be a mapping "
                                          f"(key: value), not {_type_name(doc)}"))
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc and depth < 4:
        items = doc.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            problems.append(Problem(filename, f"{where}: items: must be a list, not {_type_name(items)}",
                                    kind, None))
            return
        for j, item in enumerate(items):
            _open_lists(filename, item, f"{where}, items[{j}]", objects, problems, depth + 1)
        return
    objects.append(_Object(filename, doc, where))


def _type_name(v) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "empty"}.get(type(v), type(v).__name__)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------

def _validate(objects: list[_Object]) -> tuple[list[Problem], list[str]]:
    from . import _validation
    problems: list[Problem] = []
    skipped: dict[str, int] = {}
    known: list[_Object] = []
    for o in objects:
        kind, api = o.obj.get("kind"), o.obj.get("apiVersion")
        if not isinstance(kind, str) or not kind:
            problems.append(Problem(o.file, f"{o.where}: kind: Required value "
                                            "(every object needs apiVersion and kind)"))
            continue
        if kind not in KINDS:
            if kind == "ConfigMap" and _kube_proxy_configmap(o.obj) is not None:
                known.append(o)
                continue
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        if not isinstance(api, str) or not api:
            problems.append(Problem(o.file, "apiVersion: Required value", kind, o.name))
            continue
        if api != KINDS[kind]:
            problems.append(Problem(o.file, f'apiVersion: Unsupported value: "{api}": '
                                            f'supported values: "{KINDS[kind]}"', kind, o.name))
            continue
        known.append(o)
        if kind == "KubeProxyConfiguration":
            problems.extend(Problem(o.file, message, kind, o.name, path)
                            for path, message in _check_proxy_config(o.obj))
            continue
        try:
            found = _validation.validate_object(o.obj)
        except Exception as e:  # noqa: BLE001 - a checker bug must not become a traceback
            found = [_validation.FieldProblem("", f"{INTERNAL}: {type(e).__name__}: {e}")]
        for fp in found:
            problems.append(Problem(o.file, fp.message, kind, o.name, fp.path))
    checked = [o for o in known if o.obj.get("kind") in KINDS]
    try:
        together = _validation.validate_together([o.obj for o in checked])
    except Exception as e:  # noqa: BLE001
        together = [(0, _validation.FieldProblem("", f"{INTERNAL}: {type(e).__name__}: {e}"))] if checked else []
    for index, fp in together:
        o = checked[index]
        problems.append(Problem(o.file, fp.message, o.kind, o.name, fp.path))
    notes = [f"skipped {n} {kind} object{'s' if n > 1 else ''}: k8slab does not read that kind"
             for kind, n in sorted(skipped.items())]
    return problems, notes


def _check_proxy_config(conf: dict) -> list[tuple[str, str]]:
    """The KubeProxyConfiguration fields k8slab uses, checked as kube-proxy checks them at start
    (pkg/proxy/apis/config/validation/validation.go)."""
    out = []
    mode = conf.get("mode")
    if mode not in (None, "", "iptables", "ipvs", "nftables"):
        out.append(("mode", f"Invalid value: {json.dumps(mode, default=str)}: must be iptables, ipvs, "
                            "nftables or blank (blank means the best-available proxy [currently iptables])"))
    cidrs = conf.get("clusterCIDR")
    if cidrs not in (None, ""):
        ok = isinstance(cidrs, str)
        for cidr in cidrs.split(",") if ok else ():
            try:
                ipaddress.ip_network(cidr.strip(), strict=False)
            except ValueError:
                ok = False
        if not ok:
            out.append(("clusterCIDR", f"Invalid value: {json.dumps(cidrs, default=str)}: must be a valid "
                                       "CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)"))
    for path, value in (("iptables.masqueradeAll", _dig(conf, "iptables", "masqueradeAll")),
                        ("iptables.localhostNodePorts", _dig(conf, "iptables", "localhostNodePorts"))):
        if value is not None and not isinstance(value, bool):
            out.append((path, f"Invalid value: {json.dumps(value, default=str)}: must be true or false"))
    bit = _dig(conf, "iptables", "masqueradeBit")
    if bit is not None and not (isinstance(bit, int) and not isinstance(bit, bool) and 0 <= bit <= 31):
        out.append(("iptables.masqueradeBit", f"Invalid value: {json.dumps(bit, default=str)}: "
                                              "must be within the range [0, 31]"))
    return out


def validate_files(paths: Iterable[str]) -> list[Problem]:
    """Every problem in these files, as `kubectl apply` would report them (empty: all valid)."""
    texts, problems = _read_files(paths)
    objects, bad = _read_all(texts)
    more, _ = _validate(objects)
    return problems + bad + more


# ---------------------------------------------------------------------------------------
# Building the cluster
# ---------------------------------------------------------------------------------------

def load(*paths: str, cloud: bool | None = None) -> Cluster:
    """A cluster from YAML files (manifests, multi-document files, `kubectl get -o yaml` Lists).

    `cloud` says whether a cloud provider gives LoadBalancer Services an address; by default
    yes, unless the nodes say the cluster is kind, minikube or k3s.
    """
    if not paths:
        raise K8slabError("no files given")
    texts, problems = _read_files(paths)
    if problems:
        raise K8slabError(problems=problems)
    return load_texts(texts, cloud=cloud)


def load_texts(texts: list[tuple[str, str]], cloud: bool | None = None) -> Cluster:
    """A cluster from (filename, YAML text) pairs; K8slabError lists every problem found."""
    objects, problems = _read_all(texts)
    more, notes = _validate(objects)
    problems.extend(more)
    if problems:
        # Never a half-loaded cluster: a learner would take it for the whole one.
        raise K8slabError(problems=problems)
    try:
        return _Builder(objects, notes, cloud, [f for f, _ in texts]).build()
    except K8slabError:
        raise
    except Exception as e:  # noqa: BLE001 - last resort: bad input must never show a traceback
        raise K8slabError(problems=[Problem(
            ", ".join(f for f, _ in texts),
            f"could not build a cluster from this input ({type(e).__name__}: {e}); "
            "`k8slab validate` may say more")]) from e


def _dig(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict):
            return default
        d = d.get(k)
    return default if d is None else d


def _int_or(v, default: int) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _str_map(v) -> dict[str, str]:
    if not isinstance(v, dict):
        return {}
    return {str(k): "" if val is None else str(val) for k, val in v.items()}


def short_hash(*parts: str, length: int = 10) -> str:
    """A deterministic name suffix in Kubernetes' alphabet (real clusters use random ones)."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return "".join(_SAFE_ALPHABET[b % len(_SAFE_ALPHABET)] for b in digest[:length])


def _tolerates(tolerations, taint: dict) -> bool:
    for t in tolerations if isinstance(tolerations, list) else ():
        if not isinstance(t, dict):
            continue
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and str(t.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def _kube_proxy_configmap(obj: dict) -> dict | None:
    """The KubeProxyConfiguration inside kube-system's kube-proxy ConfigMap (kubeadm puts it there)."""
    if _dig(obj, "metadata", "name") != "kube-proxy" or _dig(obj, "metadata", "namespace") != "kube-system":
        return None
    text = _dig(obj, "data", "config.conf")
    if not isinstance(text, str):
        return None
    import yaml
    try:
        conf = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    return conf if isinstance(conf, dict) and conf.get("kind") == "KubeProxyConfiguration" else None


class _Builder:
    """Turns validated objects into a Cluster, filling in what a real cluster would add."""

    def __init__(self, objects: list[_Object], notes: list[str], cloud: bool | None, files):
        self.objects = objects
        self.notes = list(notes)
        self.cloud = cloud
        self.files = files
        self.by_kind: dict[str, list[_Object]] = {}
        for o in objects:
            self.by_kind.setdefault(o.kind, []).append(o)

    def of(self, kind: str) -> list[_Object]:
        return self.by_kind.get(kind, [])

    def build(self) -> Cluster:
        proxy = self._proxy_config()
        raw_pods = self._raw_pods()
        nodes, taints = self._nodes(raw_pods)
        pods = self._pods(raw_pods, nodes, taints)
        services = self._services(nodes)
        slices = self._slices()
        return Cluster(nodes, pods, services, slices, proxy, self._cloud(nodes), self.notes,
                       self.files)

    # -- kube-proxy ----------------------------------------------------------------------
    def _proxy_config(self) -> ProxyConfig:
        confs = [o.obj for o in self.of("KubeProxyConfiguration")]
        confs += [c for c in (_kube_proxy_configmap(o.obj) for o in self.of("ConfigMap")) if c]
        if not confs:
            return ProxyConfig()
        c = confs[-1]
        mode = c.get("mode") or "iptables"      # an empty mode means the platform default
        cidr = c.get("clusterCIDR")
        return ProxyConfig(
            mode=str(mode),
            cluster_cidr=str(cidr) if cidr else None,
            masquerade_all=bool(_dig(c, "iptables", "masqueradeAll", default=False)),
            ipvs_scheduler=str(_dig(c, "ipvs", "scheduler", default="") or "rr"),
            masquerade_bit=_int_or(_dig(c, "iptables", "masqueradeBit"), 14),
            localhost_node_ports=_dig(c, "iptables", "localhostNodePorts") is not False,
            node_port_addresses=tuple(str(a) for a in c.get("nodePortAddresses") or []
                                      if isinstance(c.get("nodePortAddresses"), list)),
        )

    def _cloud(self, nodes: list[Node]) -> bool:
        if self.cloud is not None:
            return self.cloud
        for n in nodes:
            if n.provider_id and n.provider_id.startswith(_NO_CLOUD_PROVIDER_IDS):
                return False
            if "minikube.k8s.io/name" in n.labels:
                return False
        return True

    # -- nodes ---------------------------------------------------------------------------
    def _nodes(self, raw_pods) -> tuple[list[Node], dict[str, list]]:
        given = self.of("Node")
        nodes: list[Node] = []
        taints: dict[str, list] = {}
        used_ips = set()
        for o in given:
            for a in _dig(o.obj, "status", "addresses", default=[]) or []:
                if isinstance(a, dict) and a.get("type") == "InternalIP" and a.get("address"):
                    used_ips.add(str(a["address"]))
        ip_pool = _address_pool(FILL_IN["node_ips"], start=11, used=used_ips)
        specs = [(o.name, o.obj) for o in given]
        if not given:
            # No nodes given: the nodes the pods name, else three of k8slab's own.
            named = sorted({_dig(p, "spec", "nodeName") for _, p, _ in raw_pods} - {None})
            specs = [(n, {}) for n in (named or FILL_IN["node_names"])]
            if not named:
                self.notes.append("no nodes given: filled in node-a, node-b and node-c")
        for i, (name, obj) in enumerate(sorted(specs, key=lambda s: s[0])):
            ip = next((str(a["address"]) for a in _dig(obj, "status", "addresses", default=[]) or []
                       if isinstance(a, dict) and a.get("type") == "InternalIP" and a.get("address")),
                      None) or next(ip_pool)
            labels = _str_map(_dig(obj, "metadata", "labels"))
            labels.setdefault("kubernetes.io/hostname", name)
            conditions = _dig(obj, "status", "conditions", default=[]) or []
            ready = all(c.get("status") == "True" for c in conditions
                        if isinstance(c, dict) and c.get("type") == "Ready")
            nodes.append(Node(
                name=name, address=ip,
                pod_cidr=_dig(obj, "spec", "podCIDR") or FILL_IN["pod_cidr"].format(n=i + 1),
                labels=labels, ready=ready,
                schedulable=not _dig(obj, "spec", "unschedulable", default=False),
                provider_id=_dig(obj, "spec", "providerID")))
            taints[name] = [t for t in _dig(obj, "spec", "taints", default=[]) or []
                            if isinstance(t, dict) and t.get("effect") in ("NoSchedule", "NoExecute")]
        return nodes, taints

    # -- pods ----------------------------------------------------------------------------
    def _raw_pods(self) -> list[tuple[str, dict, str | None]]:
        """(namespace, pod object, owner) for every pod: given ones, then controllers' pods."""
        pods = [(o.namespace, o.obj, _owner_of(o.obj)) for o in self.of("Pod")]
        given_by_ns: dict[str, list[dict]] = {}
        for ns, p, _ in pods:
            given_by_ns.setdefault(ns, []).append(_str_map(_dig(p, "metadata", "labels")))
        deployments = {(o.namespace, o.name) for o in self.of("Deployment")}
        for kind in CONTROLLERS:
            for o in self.of(kind):
                if kind == "ReplicaSet" and any(
                        (o.namespace, ref.get("name")) in deployments
                        for ref in _dig(o.obj, "metadata", "ownerReferences", default=[]) or []
                        if isinstance(ref, dict) and ref.get("kind") == "Deployment"):
                    continue        # its Deployment makes these pods already
                selector = _controller_selector(o.obj, kind)
                if any(_selector_matches(selector, labels) for labels in given_by_ns.get(o.namespace, [])):
                    continue        # a snapshot: the controller's pods are in the input as they are
                pods.extend((o.namespace, p, f"{kind}/{o.name}") for p in self._expand(o, kind))
        return pods

    def _expand(self, o: _Object, kind: str) -> list[dict]:
        """The pods a controller makes, named and labelled as Kubernetes does it."""
        template = _dig(o.obj, "spec", "template", default={})
        labels = _str_map(_dig(template, "metadata", "labels"))
        spec = _dig(template, "spec", default={})
        replicas = _dig(o.obj, "spec", "replicas", default=1)
        replicas = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
        template_hash = short_hash(json.dumps(template, sort_keys=True, default=str))
        out = []

        def pod(name, extra_labels, node=None):
            p_spec = dict(spec)
            if node:
                p_spec["nodeName"] = node
            return {"metadata": {"name": name, "namespace": o.namespace,
                                 "labels": {**labels, **extra_labels}}, "spec": p_spec}

        if kind == "Deployment":
            rs = f"{o.name}-{template_hash}"
            for i in range(replicas):
                out.append(pod(f"{rs}-{short_hash(rs, str(i), length=5)}",
                               {"pod-template-hash": template_hash}))
        elif kind in ("ReplicaSet", "ReplicationController"):
            for i in range(replicas):
                out.append(pod(f"{o.name}-{short_hash(o.name, str(i), length=5)}", {}))
        elif kind == "StatefulSet":
            service_name = _dig(o.obj, "spec", "serviceName")
            for i in range(replicas):
                p = pod(f"{o.name}-{i}", {
                    "statefulset.kubernetes.io/pod-name": f"{o.name}-{i}",
                    "apps.kubernetes.io/pod-index": str(i),
                    "controller-revision-hash": f"{o.name}-{template_hash}"})
                # The controller gives each pod its name as hostname and the governing
                # Service as subdomain (pkg/controller/statefulset/stateful_set_utils.go,
                # initIdentity): that is what makes web-0.web.NS.svc.cluster.local.
                p["spec"]["hostname"] = f"{o.name}-{i}"
                if isinstance(service_name, str) and service_name:
                    p["spec"]["subdomain"] = service_name
                out.append(p)
        elif kind == "DaemonSet":
            # One pod per node that fits: marked with the node now, placed by _pods below.
            out.append({"_daemonset": True, **pod(o.name, {
                "controller-revision-hash": template_hash,
                "pod-template-generation": "1"})})
        return out

    def _pods(self, raw_pods, nodes: list[Node], taints) -> list[Pod]:
        node_by_name = {n.name: n for n in nodes}
        per_node_total = {n.name: 0 for n in nodes}
        per_owner: dict[tuple[str | None, str], int] = {}
        placed: list[tuple[str, dict, str | None, str | None]] = []
        for ns, p, owner in raw_pods:
            node = _dig(p, "spec", "nodeName")
            if node is not None:
                per_node_total[node] = per_node_total.get(node, 0) + 1
                per_owner[(owner, node)] = per_owner.get((owner, node), 0) + 1
        pending = []
        for ns, p, owner in raw_pods:
            if p.get("_daemonset"):
                for n in nodes:
                    if self._fits(p, n, taints, daemon=True):
                        placed.append((ns, _renamed(p, f"{p['metadata']['name']}-"
                                                       f"{short_hash(p['metadata']['name'], n.name, length=5)}"),
                                       owner, n.name))
                        per_node_total[n.name] += 1
                continue
            node = _dig(p, "spec", "nodeName")
            if node is None and isinstance(p.get("status"), dict) and p["status"]:
                pending.append(_dig(p, "metadata", "name"))   # a snapshot's Pending pod stays so
            elif node is None:
                # The scheduler's default spreading: fewest pods of the same owner on the
                # node, then fewest pods in all, then the node's name for a stable answer.
                fits = [n for n in nodes if self._fits(p, n, taints)]
                if fits:
                    best = min(fits, key=lambda n: (per_owner.get((owner, n.name), 0),
                                                    per_node_total[n.name], n.name))
                    node = best.name
                    per_owner[(owner, node)] = per_owner.get((owner, node), 0) + 1
                    per_node_total[node] += 1
                else:
                    pending.append(_dig(p, "metadata", "name"))
            placed.append((ns, p, owner, node))
        if pending:
            shown = ", ".join(pending[:5]) + (" ..." if len(pending) > 5 else "")
            self.notes.append(f"{len(pending)} pod(s) stay Pending: no node fits them ({shown})")

        used_ips = {str(_dig(p, "status", "podIP")) for _, p, _, _ in placed if _dig(p, "status", "podIP")}
        pools = {n.name: _address_pool(n.pod_cidr, start=2, used=used_ips) for n in nodes}
        pods = []
        for ns, p, owner, node in placed:
            pods.append(self._pod(ns, p, owner, node, node_by_name.get(node), pools.get(node)))
        return pods

    def _fits(self, p: dict, n: Node, taints, daemon: bool = False) -> bool:
        if not n.ready and not daemon:
            return False
        if not n.schedulable and not daemon:
            return False        # cordoned; DaemonSet pods tolerate that (and not-ready) taint
        selector = _str_map(_dig(p, "spec", "nodeSelector"))
        if any(n.labels.get(k) != v for k, v in selector.items()):
            return False
        tolerations = _dig(p, "spec", "tolerations", default=[])
        return all(_tolerates(tolerations, t) for t in taints.get(n.name, []))

    def _pod(self, ns, p, owner, node_name, node: Node | None, pool) -> Pod:
        meta = p.get("metadata") or {}
        status = p.get("status")
        ports = []
        for c in _dig(p, "spec", "containers", default=[]) or []:
            for cp in (c.get("ports") or []) if isinstance(c, dict) else []:
                if isinstance(cp, dict) and isinstance(cp.get("containerPort"), int):
                    ports.append(ContainerPort(cp["containerPort"], cp.get("name"),
                                               cp.get("protocol") or "TCP"))
        host_network = bool(_dig(p, "spec", "hostNetwork", default=False))
        if isinstance(status, dict) and status:
            # As a snapshot says: an IP only if it has one, Ready only if the condition says so.
            ip = status.get("podIP")
            phase = status.get("phase") or "Pending"
            ready = any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
                        for c in status.get("conditions") or [])
        elif node is not None:
            ip = node.address if host_network else next(pool)
            phase, ready = "Running", True
        else:
            ip, phase, ready = None, "Pending", False
        return Pod(
            name=meta.get("name"), namespace=ns, node=node_name, ip=str(ip) if ip else None,
            labels=_str_map(meta.get("labels")), ports=tuple(ports), ready=ready,
            terminating=meta.get("deletionTimestamp") is not None, owner=owner, phase=phase,
            host_network=host_network, **_pod_dns(p.get("spec")))

    # -- Services -------------------------------------------------------------------------
    def _services(self, nodes) -> list[Service]:
        given = self.of("Service")
        used_ips = {str(_dig(o.obj, "spec", "clusterIP")) for o in given
                    if _dig(o.obj, "spec", "clusterIP") not in (None, "", "None")}
        ip_pool = _address_pool(FILL_IN["service_cidr"], start=11, used=used_ips)
        used_ports = set()
        for o in given:
            for p in _dig(o.obj, "spec", "ports", default=[]) or []:
                if isinstance(p, dict) and p.get("nodePort"):
                    used_ports.add(p["nodePort"])
            if _dig(o.obj, "spec", "healthCheckNodePort"):
                used_ports.add(_dig(o.obj, "spec", "healthCheckNodePort"))
        port_pool = _port_pool(FILL_IN["node_ports"], used_ports)
        lb_used = {str(i.get("ip")) for o in given
                   for i in _dig(o.obj, "status", "loadBalancer", "ingress", default=[]) or []
                   if isinstance(i, dict) and i.get("ip")}
        lb_pool = _address_pool(FILL_IN["load_balancer_ips"], start=10, used=lb_used)
        cloud = self._cloud(nodes)
        return [self._service(o, ip_pool, port_pool, lb_pool, cloud) for o in given]

    def _service(self, o: _Object, ip_pool, port_pool, lb_pool, cloud: bool) -> Service:
        spec = o.obj.get("spec") or {}
        svc_type = spec.get("type") or "ClusterIP"
        external = svc_type in ("NodePort", "LoadBalancer")
        wants_node_ports = external and not (
            svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is False)
        ports = []
        for p in spec.get("ports") or []:
            node_port = p.get("nodePort")
            if wants_node_ports and not node_port:
                node_port = next(port_pool)
            target = p.get("targetPort")
            ports.append(ServicePort(
                port=p["port"], target_port=p["port"] if target in (None, 0, "") else target,
                protocol=p.get("protocol") or "TCP", name=p.get("name") or None,
                node_port=node_port if external else None))
        cluster_ip = spec.get("clusterIP")
        if svc_type == "ExternalName":
            cluster_ip = None
        elif not cluster_ip:
            cluster_ip = next(ip_pool)
        # The policy applies to externally-accessible Services, which include a ClusterIP
        # Service with externalIPs (pkg/api/v1/service/util.go, ExternallyAccessible).
        reachable_from_outside = external or (svc_type == "ClusterIP" and bool(spec.get("externalIPs")))
        etp = (spec.get("externalTrafficPolicy") or "Cluster") if reachable_from_outside else None
        affinity = spec.get("sessionAffinity") or "None"
        timeout = _dig(spec, "sessionAffinityConfig", "clientIP", "timeoutSeconds")
        if affinity == "ClientIP" and not timeout:
            timeout = 10800                              # the API server's default: 3 hours
        health = spec.get("healthCheckNodePort")
        if svc_type == "LoadBalancer" and etp == "Local" and not health:
            health = next(port_pool)                     # allocated like a node port
        ingress = tuple(str(i.get("ip") or i.get("hostname"))
                        for i in _dig(o.obj, "status", "loadBalancer", "ingress", default=[]) or []
                        if isinstance(i, dict) and (i.get("ip") or i.get("hostname")))
        if svc_type == "LoadBalancer" and not ingress and cloud and "status" not in o.obj:
            # A manifest (no status yet): the cloud's controller would assign an address. A
            # snapshot whose status has none is a load balancer still <pending>: kept so.
            ingress = (next(lb_pool),)
        selector = spec.get("selector")
        return Service(
            name=o.name, namespace=o.namespace, type=svc_type,
            selector=_str_map(selector) if isinstance(selector, dict) and selector else None,
            ports=tuple(ports), cluster_ip=cluster_ip,
            external_ips=tuple(str(i) for i in spec.get("externalIPs") or []),
            external_name=spec.get("externalName"),
            external_traffic_policy=etp,
            internal_traffic_policy=spec.get("internalTrafficPolicy") or "Cluster",
            session_affinity=affinity, session_affinity_timeout=timeout if affinity == "ClientIP" else None,
            load_balancer_ingress=ingress if svc_type == "LoadBalancer" else (),
            load_balancer_source_ranges=tuple(str(r) for r in spec.get("loadBalancerSourceRanges") or []),
            health_check_node_port=health if svc_type == "LoadBalancer" and etp == "Local" else None,
            allocate_load_balancer_node_ports=spec.get("allocateLoadBalancerNodePorts") is not False,
            publish_not_ready_addresses=bool(spec.get("publishNotReadyAddresses")),
            traffic_distribution=spec.get("trafficDistribution"),
            labels=_str_map(_dig(o.obj, "metadata", "labels")))

    # -- EndpointSlices --------------------------------------------------------------------
    def _slices(self) -> list[EndpointSlice]:
        out = []
        for o in self.of("EndpointSlice"):
            owner = _dig(o.obj, "metadata", "labels", "kubernetes.io/service-name")
            if not owner:
                self.notes.append(f"EndpointSlice {o.name} has no kubernetes.io/service-name "
                                  "label: no Service uses it")
                continue
            ports = tuple((p.get("name") or None, p.get("port"), p.get("protocol") or "TCP")
                          for p in o.obj.get("ports") or [] if isinstance(p, dict) and p.get("port"))
            endpoints = []
            for e in o.obj.get("endpoints") or []:
                cond = e.get("conditions") or {}
                ready = cond.get("ready") is not False            # unset means ready
                # kube-proxy reads an unset serving as true, and only the first address
                # (pkg/proxy/endpointslicecache.go).
                serving = cond.get("serving") is not False
                hints = _dig(e, "hints", "forZones")
                for address in (e.get("addresses") or [])[:1]:
                    endpoints.append(Endpoint(
                        address=str(address), port=0,
                        pod=_dig(e, "targetRef", "name") if _dig(e, "targetRef", "kind") == "Pod" else None,
                        node=e.get("nodeName"), zone=e.get("zone"), ready=ready, serving=serving,
                        terminating=bool(cond.get("terminating")),
                        hostname=e.get("hostname") if isinstance(e.get("hostname"), str) else None,
                        hint_zones=tuple(h.get("name") for h in hints if isinstance(h, dict))
                        if isinstance(hints, list) else None))
            out.append(EndpointSlice(f"{o.namespace}/{owner}", o.name, ports, tuple(endpoints)))
        return out


def _pod_dns(spec) -> dict:
    """The Pod fields that decide its name and its resolv.conf, as the API server defaults them."""
    spec = spec if isinstance(spec, dict) else {}
    hostname, subdomain = spec.get("hostname"), spec.get("subdomain")
    policy = spec.get("dnsPolicy")
    conf = spec.get("dnsConfig")
    dns_config = None
    if isinstance(conf, dict):
        options = []
        for o in conf.get("options") or []:
            if isinstance(o, dict) and isinstance(o.get("name"), str) and o["name"]:
                value = o.get("value")
                options.append((o["name"], None if value is None else str(value)))
        dns_config = PodDNSConfig(
            nameservers=tuple(str(n) for n in conf.get("nameservers") or [] if n is not None),
            searches=tuple(str(n) for n in conf.get("searches") or [] if n is not None),
            options=tuple(options))
    return {"hostname": hostname if isinstance(hostname, str) and hostname else None,
            "subdomain": subdomain if isinstance(subdomain, str) and subdomain else None,
            "dns_policy": policy if isinstance(policy, str) and policy else "ClusterFirst",
            "dns_config": dns_config}


def _owner_of(pod: dict) -> str | None:
    for ref in _dig(pod, "metadata", "ownerReferences", default=[]) or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def _renamed(p: dict, name: str) -> dict:
    q = {k: v for k, v in p.items() if k != "_daemonset"}
    q["metadata"] = {**p["metadata"], "name": name}
    return q


def _controller_selector(obj: dict, kind: str):
    selector = _dig(obj, "spec", "selector")
    if kind == "ReplicationController":
        return {"matchLabels": _str_map(selector or _dig(obj, "spec", "template", "metadata", "labels"))}
    return selector if isinstance(selector, dict) else {}


def _selector_matches(selector: dict, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions) against a pod's labels."""
    match = _str_map(selector.get("matchLabels"))
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for e in selector.get("matchExpressions") or []:
        if not isinstance(e, dict):
            continue
        key, op, values = e.get("key"), e.get("operator"), [str(v) for v in e.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return bool(match) or bool(selector.get("matchExpressions"))


def _address_pool(cidr: str, start: int, used: set[str]):
    """Addresses of `cidr` from host number `start` on, skipping those already in use."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise K8slabError(f"cannot allocate addresses from {cidr!r}: not a CIDR")
    first = int(net.network_address)
    for i in range(start, net.num_addresses - 1):
        ip = str(ipaddress.ip_address(first + i))
        if ip not in used:
            used.add(ip)
            yield ip
    raise K8slabError(f"no free address left in {cidr}")


def _port_pool(bounds: tuple[int, int], used: set[int]):
    """Free node ports as the API server hands them out, in a deterministic order.

    Since Kubernetes 1.29 the range is split in two bands: automatic allocation takes the
    upper one first and leaves the lower one (30000-30085 by default) to ports people choose
    themselves (KEP-3668, pkg/registry/core/service/portallocator: calculateRangeOffset).
    The real allocator picks at random within a band; k8slab counts upward.
    """
    low, high = bounds
    size = high - low + 1
    offset = min(max(16, size // 32), 128)
    for port in list(range(low + offset, high + 1)) + list(range(low, low + offset)):
        if port not in used:
            used.add(port)
            yield port
    raise K8slabError(f"no free node port left in {low}-{high}")


# ---------------------------------------------------------------------------------------
# Out: a Service as `kubectl apply` takes it
# ---------------------------------------------------------------------------------------

def service_to_yaml(service: Service) -> str:
    """The Service as a manifest `kubectl apply -f` accepts, with what k8slab filled in."""
    import yaml
    spec: dict[str, Any] = {"type": service.type}
    if service.selector:
        spec["selector"] = dict(service.selector)
    if service.type == "ExternalName":
        spec["externalName"] = service.external_name
    elif service.cluster_ip == "None":
        spec["clusterIP"] = "None"
    ports = []
    for p in service.ports:
        entry: dict[str, Any] = {}
        if p.name:
            entry["name"] = p.name
        entry["protocol"] = p.protocol
        entry["port"] = p.port
        entry["targetPort"] = p.target_port
        if p.node_port:
            entry["nodePort"] = p.node_port
        ports.append(entry)
    if ports:
        spec["ports"] = ports
    if service.external_ips:
        spec["externalIPs"] = list(service.external_ips)
    if service.external_traffic_policy and service.external_traffic_policy != "Cluster":
        spec["externalTrafficPolicy"] = service.external_traffic_policy
    if service.internal_traffic_policy != "Cluster":
        spec["internalTrafficPolicy"] = service.internal_traffic_policy
    if service.session_affinity != "None":
        spec["sessionAffinity"] = service.session_affinity
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": service.session_affinity_timeout}}
    if service.load_balancer_source_ranges:
        spec["loadBalancerSourceRanges"] = list(service.load_balancer_source_ranges)
    if service.type == "LoadBalancer" and not service.allocate_load_balancer_node_ports:
        spec["allocateLoadBalancerNodePorts"] = False
    doc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": service.name, "namespace": service.namespace}, "spec": spec}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


# ---------------------------------------------------------------------------------------
# Changing a Service as `kubectl apply` would
# ---------------------------------------------------------------------------------------

def with_service_type(cluster: Cluster, service: Service, new_type: str,
                      external_traffic_policy: str | None = None) -> Cluster:
    """A copy of `cluster` where `service` has `new_type`, allocated as the API server would.

    Going to NodePort or LoadBalancer allocates a free node port per port (existing ones are
    kept); LoadBalancer gets an address when the cluster has a cloud provider, and a
    health-check node port under externalTrafficPolicy: Local; going back to ClusterIP
    releases them. Headless and ExternalName Services cannot change type this way.
    """
    from dataclasses import replace
    if not service.proxied:
        raise K8slabError(f"Service {service.name} is {'headless' if service.headless else 'ExternalName'}: "
                          "its type cannot switch to a proxied one without a cluster IP")
    if new_type not in ("ClusterIP", "NodePort", "LoadBalancer"):
        raise K8slabError(f"type {new_type!r}: give ClusterIP, NodePort or LoadBalancer")
    external = new_type in ("NodePort", "LoadBalancer")
    policy = (external_traffic_policy or service.external_traffic_policy or "Cluster") if external else None
    used = {p.node_port for s in cluster.services if s.key != service.key for p in s.ports if p.node_port}
    used |= {s.health_check_node_port for s in cluster.services
             if s.key != service.key and s.health_check_node_port}
    ports_pool = _port_pool(FILL_IN["node_ports"], used | {p.node_port for p in service.ports if p.node_port})
    ports = tuple(replace(p, node_port=(p.node_port or next(ports_pool)) if external else None)
                  for p in service.ports)
    ingress = service.load_balancer_ingress
    if new_type == "LoadBalancer" and not ingress and cluster.cloud_provider:
        lb_used = {i for s in cluster.services for i in s.load_balancer_ingress}
        ingress = (next(_address_pool(FILL_IN["load_balancer_ips"], start=10, used=lb_used)),)
    health = None
    if new_type == "LoadBalancer" and policy == "Local":
        health = service.health_check_node_port or next(ports_pool)
    changed = replace(service, type=new_type, ports=ports, external_traffic_policy=policy,
                      load_balancer_ingress=ingress if new_type == "LoadBalancer" else (),
                      health_check_node_port=health)
    return cluster.replace_service(changed)
