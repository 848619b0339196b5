"""YAML in and out: Kubernetes objects to the model, with the API server's defaulting and validation."""

from __future__ import annotations

import base64
import contextlib
import datetime
import functools
import gc
import hashlib
import ipaddress
import json
import math
import os
import re
import stat
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from . import _forked, _gateway_manifests
from .errors import K8slabError, Problem
from .kube_names import ipv4
from .model import (
    CONTROLLER, Cluster, ClusterFacts, ContainerPort, Endpoint, EndpointSlice, Node, Pod, PodDNSConfig,
    ProxyConfig, Service, ServicePort, ServiceRange, LabelSelector, Namespace, IPBlock, PolicyPeer,
    PolicyPort, PolicyRule, NetworkPolicy,
)

__all__ = ["load", "load_texts", "read_objects", "read_text", "validate_files", "validate_texts",
           "service_to_yaml", "allow_forking", "deferred_checks", "Checks", "Reread", "FORK_MAX_BYTES",
           "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_DOCUMENTS", "MAX_EXPANDED_VALUES",
           "MAX_PODS", "MAX_NODES", "DEFAULT_MAX_PODS_PER_NODE", "FILL_IN", "INTERNAL", "short_hash",
           "with_service_type", "learn_service_range"]

#: Larger files are refused: they are not something a learner or a snapshot of a real
#: cluster at Kubernetes' published limits produces, and reading them would take minutes.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: Up to this size the Rust YAML parser (yaml_rs) reads a file only where it is known to give
#: PyYAML's objects (_exact_for_fast_parser); anything else, and every error, goes to PyYAML,
#: whose messages name the line and column. Above it the Rust parser reads every file: PyYAML
#: builds objects in Python at about 1 MB/s here, too slow for a whole-cluster snapshot.
FAST_PARSER_BYTES = 4 * 1024 * 1024
#: A document whose aliases would expand past this many values is refused (alias bombs).
MAX_EXPANDED_VALUES = 5_000_000
#: Deeper nesting is refused: no Kubernetes object comes near it (Go's decoders stop at 10,000,
#: far past what Python's recursion can follow).
MAX_DEPTH = 100
#: More documents in one file are refused: reading them would take minutes, and a snapshot of a
#: cluster at Kubernetes' limits is one List document.
MAX_DOCUMENTS = 200_000

#: Kubernetes' published scalability limits (kubernetes.io/docs/setup/best-practices/cluster-large/):
#: k8slab builds no larger cluster, so that a typo such as `replicas: 2000000000` gets an answer,
#: not a laptop out of memory.
MAX_PODS = 150_000
MAX_NODES = 5_000
#: The kubelet's default maxPods: the scheduler places no more pods on a node (unless the Node's
#: status.allocatable.pods says otherwise); the rest stay Pending, as in a real cluster.
DEFAULT_MAX_PODS_PER_NODE = 110

#: The kinds k8slab reads, with the apiVersion each must carry.
KINDS = {
    "Node": "v1", "Pod": "v1", "Service": "v1", "ReplicationController": "v1",
    "Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1", "EndpointSlice": "discovery.k8s.io/v1",
    "KubeProxyConfiguration": "kubeproxy.config.k8s.io/v1alpha1",
    "NetworkPolicy": "networking.k8s.io/v1", "Namespace": "v1",
    "Endpoints": "v1", "ServiceCIDR": "networking.k8s.io/v1",
}
_SERVICECIDR_BETA = "networking.k8s.io/v1beta1"
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
_SAFE_TABLE = bytes(ord(_SAFE_ALPHABET[b % len(_SAFE_ALPHABET)]) for b in range(256))   # byte -> letter


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


def _yaml_documents(filename: str, text: str, trust: bool = False) -> list:
    """Every document of a YAML (or JSON) text as the JSON kubectl sends, or K8slabError naming
    the line and column (or the document and field) of what cannot be read. `trust` leaves a
    document the parser made without shared values as it came, unchecked: for a caller that has
    the check made elsewhere (_load_texts, by the child that reads the same text)."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:   # only a Python string can hold one; no file can
            raise K8slabError(problems=[Problem(
                filename, f"not UTF-8 text: a lone surrogate (\\u{ord(text[e.start]):04x}) at "
                          f"position {e.start}")])
        text = text.removeprefix("\ufeff")   # a byte-order mark, as some Windows editors write
    docs = None
    unshared = True        # JSON and the Rust parser never share a value between two places
    sent = False           # whether every document is known to be as kubectl sends it
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:                                   # `kubectl get -o json`: JSON is YAML, and fast
            docs = [json.loads(text, parse_int=_json_int)]
        except (ValueError, RecursionError):
            pass                               # YAML flow style; the YAML parser says more
    if docs is None and len(text) > FAST_PARSER_BYTES:
        docs = _fast_yaml_documents(filename, text)
    elif docs is None:
        docs = _exact_fast_documents(text)
        sent = docs is not None                # _exact_fast_documents checked each one
    if docs is None:
        docs = _pyyaml_documents(filename, text)
        unshared = False                       # PyYAML gives an alias the anchor's own object
    if len(docs) > MAX_DOCUMENTS:
        raise K8slabError(problems=[Problem(
            filename, f"{len(docs):,} YAML documents; k8slab reads up to {MAX_DOCUMENTS:,} in one file "
                      "(a whole cluster at Kubernetes' limits is one `kubectl get -o yaml` List)")])
    # A document that is already what kubectl would send is taken as it is (a snapshot always
    # is): checking costs a fraction of copying it. Anything else is converted, value by value.
    if sent or (trust and unshared):
        return docs
    return [d if unshared and _already_sent(d) else _as_sent(filename, i, d, unshared)
            for i, d in enumerate(docs)]


def _already_sent(doc, words: frozenset = frozenset()) -> bool:
    """Whether an unshared document needs no conversion by _as_sent: string keys, text without
    lone surrogates, 64-bit integers, no floats or other types, nesting within bounds, and no
    string (key or value) among `words`. (Its size is bounded by MAX_FILE_BYTES: with no
    aliases, nothing expands.)"""
    if type(doc) is not dict and type(doc) is not list:
        return doc is None or (type(doc) is str and doc not in words
                               and (doc.isascii() or _no_surrogates(doc) is doc))
    stack = [(doc, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        v, depth = pop()
        if depth >= MAX_DEPTH:
            return False
        if type(v) is dict:
            for k, item in v.items():
                if type(k) is not str or not (k.isascii() or _no_surrogates(k) is k) or k in words:
                    return False
                t = type(item)
                if t is str:
                    if item in words or not item.isascii() and _no_surrogates(item) is not item:
                        return False
                elif t is dict or t is list:
                    push((item, depth + 1))
                elif t is int:
                    if not -(2**63) <= item < 2**64:
                        return False
                elif item is not None and t is not bool:
                    return False
        else:
            for item in v:
                t = type(item)
                if t is str:
                    if item in words or not item.isascii() and _no_surrogates(item) is not item:
                        return False
                elif t is dict or t is list:
                    push((item, depth + 1))
                elif t is int:
                    if not -(2**63) <= item < 2**64:
                        return False
                elif item is not None and t is not bool:
                    return False
    return True


def _pyyaml_documents(filename: str, text: str) -> list:
    import yaml
    try:
        return list(yaml.load_all(text, Loader=_loader()))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(x for x in (e.context, e.problem) if x)
        if "'\\t'" in (e.problem or "") or (mark and text[mark.index:mark.index + 1] == "\t"):
            # PyYAML's words ("found character '\t' that cannot start any token") hide the cause.
            what = "a tab character: YAML indents with spaces only, never tabs (replace it with spaces)"
        raise K8slabError(problems=[Problem(filename, f"YAML syntax error at {where}{_shorten(what)}")])
    except yaml.reader.ReaderError as e:
        raise K8slabError(problems=[Problem(
            filename, f"not YAML text: character #x{_code(e.character):04x} at position {e.position} "
                      f"({e.reason})")])
    except yaml.YAMLError as e:
        raise K8slabError(problems=[Problem(filename, f"YAML error: {_shorten(str(e))}")])
    except RecursionError:
        raise K8slabError(problems=[Problem(filename, f"YAML nested too deeply to read (k8slab reads "
                                                      f"objects up to {MAX_DEPTH} levels deep)")])
    except (KeyError, ValueError, TypeError, OverflowError) as e:
        # A tagged scalar PyYAML's constructors choke on (`!!float x`): go-yaml refuses it too.
        raise K8slabError(problems=[Problem(filename, f"YAML error: a tagged value that cannot be read "
                                                      f"({_shorten(f'{type(e).__name__}: {e}')})")])


@functools.lru_cache(maxsize=1)
def _loader():
    """PyYAML's safe loader, made to read values as Kubernetes' YAML-to-JSON step does.

    kubectl and the API server read YAML with go-yaml v2 through sigs.k8s.io/yaml, then decode
    the JSON that comes out. Two of PyYAML's YAML 1.1 readings differ from go-yaml's: an unquoted
    date (`name: 2024-01-01`) stays a string there (go-yaml v2 keeps timestamps it decodes into
    an interface{} as strings, decode.go), and so does `1:20` (go-yaml has no base-60 integers).
    Integers past 64 bits become floats, or strings past a float's range (resolve.go), which
    also keeps Python's 4,300-digit limit on int() from ever being reached.
    """
    import yaml
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    timestamp = "tag:yaml.org,2002:timestamp"

    class KubernetesLoader(base):
        yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != timestamp]
            for first, resolvers in base.yaml_implicit_resolvers.items()}
        yaml_constructors = dict(base.yaml_constructors)

    def construct_int(loader, node):
        text = loader.construct_scalar(node)
        if ":" in text:
            return text
        try:
            value = yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
        except ValueError:                       # past Python's int-from-text digit limit
            value = None
        if value is not None and -(2**63) <= value < 2**64:
            return value
        return _go_yaml_big_number(text.replace("_", ""))

    def construct_bool(loader, node):
        # An explicit !!bool takes only go-yaml v2's spellings (resolve.go's table); anything
        # else is its error, with the place (PyYAML would raise a bare KeyError).
        text = loader.construct_scalar(node)
        value = _GO_YAML_BOOLS.get(text)
        if value is None:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot decode !!str `{_shorten(text, 60)}` as a !!bool", node.start_mark)
        return value

    KubernetesLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    KubernetesLoader.add_constructor("tag:yaml.org,2002:bool", construct_bool)
    KubernetesLoader.add_constructor(timestamp, yaml.constructor.SafeConstructor.construct_yaml_str)
    return KubernetesLoader


#: go-yaml v2 resolve.go: the plain scalars that resolve to a bool.
_GO_YAML_BOOLS = {**dict.fromkeys("y Y yes Yes YES on On ON true True TRUE".split(), True),
                  **dict.fromkeys("n N no No NO off Off OFF false False FALSE".split(), False)}


def _go_yaml_big_number(text: str):
    """An integer too large for 64 bits, as go-yaml v2 resolves it: a float, else the text."""
    try:
        value = float(text)
    except ValueError:                           # hexadecimal or octal: go-yaml keeps the text
        return text
    return value if math.isfinite(value) else text


def _json_int(text: str):
    try:
        value = int(text)
    except ValueError:                           # past Python's int-from-text digit limit
        value = None
    if value is not None and -(2**63) <= value < 2**64:
        return value
    return float(text)                           # as Go reads an out-of-range JSON number: +Inf past 1e308


class _Unreadable(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path, self.message = path, message


def _as_sent(filename: str, index: int, doc, unshared: bool = False):
    """One parsed document as the JSON kubectl would send: string keys, whole numbers as integers,
    no lone surrogates, no self-containing aliases, nesting and alias expansion bounded.
    `unshared`: the parser never shares a value (JSON, the Rust parser), so there are no aliases
    to bound, and a whole cluster's List of more than MAX_EXPANDED_VALUES values is no bomb."""
    values = [0]
    memo: dict[int, Any] = {}
    active: set[int] = set()

    def convert(v, path: str, depth: int):
        values[0] += 1
        t = type(v)
        if t is str:
            return v if v.isascii() else _no_surrogates(v)
        if t is int and not -(2**63) <= v < 2**64:
            # As go-yaml resolves an integer past 64 bits (the fast parser keeps it whole).
            return float(v) if v.bit_length() < 1024 else _go_int_text(v)
        if v is None or t is int or t is bool:
            return v
        if t is float:
            if not math.isfinite(v):
                # kubectl's json.Marshal refuses these before anything reaches the server.
                shown = "NaN" if v != v else ("+Inf" if v > 0 else "-Inf")
                raise _Unreadable(path, f"json: unsupported value: {shown}")
            # Go's encoding/json writes a whole float64 below 1e21 without a fraction (80.0 -> 80),
            # so the server decodes it as an integer: kubectl turns `targetPort: 8080.0` into 8080.
            return int(v) if v.is_integer() and abs(v) < 1e21 else v
        if t is dict or t is list:
            key = id(v)
            if key in memo:
                return memo[key]              # an alias: the same value, converted once
            if key in active:
                raise _Unreadable(path, "an alias refers to a value that contains it "
                                        "(go-yaml: anchor's value contains itself)")
            if depth >= MAX_DEPTH:
                raise _Unreadable(path, f"nested more than {MAX_DEPTH} levels deep; k8slab reads "
                                        f"objects up to {MAX_DEPTH} levels (no Kubernetes object needs more)")
            active.add(key)
            if t is dict:
                out = {}
                for k, item in v.items():
                    k = _key_text(k)
                    out[k] = convert(item, f"{path}.{_shorten(k, 40)}" if path else _shorten(k, 40), depth + 1)
            else:
                out = [convert(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(v)]
            active.discard(key)
            memo[key] = out
            return out
        if isinstance(v, (datetime.date, datetime.datetime)):   # an explicit !!timestamp
            return v.isoformat()
        if isinstance(v, bytes):                                # !!binary
            return base64.b64encode(v).decode()
        if isinstance(v, (set, frozenset)):                     # !!set
            return convert(dict.fromkeys(v), path, depth)
        if isinstance(v, tuple):
            return convert(list(v), path, depth)
        return str(v)

    where = f"document {index + 1}"
    try:
        out = convert(doc, "", 0)
    except _Unreadable as e:
        raise K8slabError(problems=[Problem(filename, f"{where}: {e.path}: {e.message}" if e.path
                                            else f"{where}: {e.message}")])
    except RecursionError:
        raise K8slabError(problems=[Problem(filename, f"{where}: nested too deeply to read")])
    # go-yaml v2 refuses a document whose aliases make up too much of what it decodes
    # (decode.go, allowedAliasRatio): 99% up to 400,000 values, falling to 10% at 4,000,000.
    if unshared:
        return out
    expanded = _expanded_size(out, MAX_EXPANDED_VALUES)
    aliased = expanded - values[0]
    if expanded > MAX_EXPANDED_VALUES or (aliased > 100 and expanded > 1000
                                          and aliased / expanded > _allowed_alias_ratio(expanded)):
        raise K8slabError(problems=[Problem(
            filename, f"{where}: document contains excessive aliasing (its aliases expand to "
                      f"{'more than ' if expanded > MAX_EXPANDED_VALUES else ''}"
                      f"{min(expanded, MAX_EXPANDED_VALUES):,} values; an alias bomb?): "
                      "Kubernetes refuses such YAML too")])
    return out


def _allowed_alias_ratio(count: int) -> float:
    low, high = 400_000, 4_000_000
    if count <= low:
        return 0.99
    if count >= high:
        return 0.10
    return 0.99 - 0.89 * (count - low) / (high - low)


def _no_surrogates(s: str) -> str:
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        # Go's JSON decoder reads an unpaired \ud800 escape as U+FFFD.
        return re.sub("[\ud800-\udfff]", "\ufffd", s)


def _key_text(key) -> str:
    """A YAML map key as the JSON key sigs.k8s.io/yaml turns it into (yes: -> "true", 1: -> "1")."""
    if type(key) is str:
        return key if key.isascii() else _no_surrogates(key)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return _go_int_text(key)
    if isinstance(key, float):
        return repr(key)
    return _no_surrogates(str(key))


def _go_int_text(n: int) -> str:
    try:
        return str(n)
    except ValueError:                           # past Python's int-to-text limit
        return hex(n)


def _shorten(text: str, limit: int = 200) -> str:
    """text, or its start and how much was left out: a message must stay readable."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def _code(character) -> int:
    return character if isinstance(character, int) else ord(character[:1] or "\0")


def _fast_yaml_documents(filename: str, text: str) -> list | None:
    try:
        import yaml_rs
    except ImportError:
        return None
    if _too_deep_for_fast_parser(text):
        return None                  # yaml_rs 0.1.6 crashes the process on deep block nesting
    try:
        # parse_datetime=False: a timestamp stays the text it is, quoted or not, as go-yaml v2
        # leaves it when decoding into interface{} (yaml_rs would turn even quoted ones into datetimes).
        docs = yaml_rs.loads(text, parse_datetime=False)
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


#: Where yaml_rs (YAML 1.2, and stricter or looser than PyYAML here and there) may read a text
#: otherwise than the PyYAML loader above, found by comparing the two (tests/test_manifests.py,
#: test_the_rust_parser_reads_only_what_pyyaml_reads_alike). A match anywhere, even inside a
#: quoted string or a comment, only sends the text to PyYAML: false alarms cost time, never answers.
#: A node starts a line (after its indentation), follows `[ { ,`, `: - ?` and a space, or a
#: quoted key's colon; the patterns
#: below look only there, so that prose in comments ("notebook 07") rarely raises one.
#: Characters PyYAML refuses (reader.py NON_PRINTABLE) or takes as line breaks (yaml_rs accepts
#: them); byte-order marks (PyYAML skips them); tabs (each parser accepts some the other refuses).
_NOT_PRINTABLE = re.compile("[\t\x85\u2028\u2029\ufeff]|[^\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_PRINTABLE_ASCII = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
#: Anchors, aliases and tags at the start of a node: PyYAML shares an alias's value (which the
#: alias-bomb check needs), and an explicit !!bool takes go-yaml's spellings only.
_NODE_PROPERTY = re.compile(r"(?:^|[\n\[\{,]|[:?-] |['\"]:)[ ]*[&*!]")
#: Plain numbers YAML 1.1 reads otherwise than YAML 1.2: leading zeros and 0o (017 is 15 to
#: PyYAML, 17 to yaml_rs; 09 is a string to PyYAML, 9 to yaml_rs), underscores, base-60 floats
#: (1:20.5 is 80.5 to PyYAML, a string to yaml_rs).
_YAML11_NUMBER = re.compile(r"(?:^|[\n\[\{,]|[:?-] |['\"]:)[ ]*[-+]?(?:0[0-9bBoOxX_]|[.0-9][0-9.]*_|[0-9]+(?::[0-5]?[0-9])+\.)")
#: Plain scalars PyYAML reads as something else than the string yaml_rs returns: YAML 1.1's
#: bools (as go-yaml v2 reads them too), `=` (PyYAML's value tag, which it refuses), and the
#: infinities and NaN in every spelling PyYAML reads as floats. Found in
#: yaml_rs's output; a quoted "yes" is sent to PyYAML too, needlessly but harmlessly.
_YAML11_WORDS = frozenset("yes Yes YES no No NO on On ON off Off OFF = .inf .Inf .INF +.inf +.Inf +.INF "
                          "-.inf -.Inf -.INF .nan .NaN .NAN".split())
#: Block nesting deeper than a line's indentation can show: yaml_rs 0.1.6 overflows its stack
#: (a segmentation fault, found with `- - - ...` 20,000 deep) where PyYAML says "nested too deeply".
_TOO_DEEP_FOR_FAST_PARSER = re.compile(r"\n[ ?:-]{1000}")    # a literal first: 12 ms on 12 MB, not 150


def _too_deep_for_fast_parser(text: str) -> bool:
    head = text[:1000]           # the first line, which no newline precedes
    return (len(head) == 1000 and not head.strip(" ?:-")) or _TOO_DEEP_FOR_FAST_PARSER.search(text) is not None
#: A last document that makes yaml_rs always return a list of documents (it returns a lone
#: document bare, so a one-document text holding a list would be ambiguous).
_LAST_DOCUMENT = "k8slab-end-of-text"


def _exact_fast_documents(text: str) -> list | None:
    """The documents of a text as the PyYAML loader reads them, by the Rust parser, or None
    when that parser is missing, fails, or could read the text otherwise than PyYAML: then PyYAML
    reads it (and says what is wrong, with line and column)."""
    if (text and not text.endswith("\n") or "<<" in text or "\n%" in text or "\n..." in text
            or text.startswith(("%", "...")) or _too_deep_for_fast_parser(text)
            or (_NOT_PRINTABLE_ASCII if text.isascii() else _NOT_PRINTABLE).search(text)
            or _NODE_PROPERTY.search(text) or _YAML11_NUMBER.search(text)):
        return None
    try:
        import yaml_rs
        docs = yaml_rs.loads(f"{text}---\n{_LAST_DOCUMENT}\n", parse_datetime=False)
    except Exception:  # noqa: BLE001 - any refusal is PyYAML's to explain (or to accept)
        return None
    if docs == _LAST_DOCUMENT:
        return []
    if type(docs) is not list or not docs or docs[-1] != _LAST_DOCUMENT:
        return None
    docs.pop()
    # Floats (1e3 is a string to PyYAML), integers past 64 bits, non-string keys (complex keys
    # come back as tuples), deep nesting: PyYAML's reading and _as_sent's words decide.
    return docs if all(_already_sent(d, _YAML11_WORDS) for d in docs) else None


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


def read_text(path) -> str:
    """A file's text, or K8slabError for a file that is missing, unreadable, not a regular file,
    too large or not UTF-8. Never blocks: a FIFO or a device is refused before it is opened."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise K8slabError(problems=[Problem(
            _shorten(repr(path)), f"not a file name: k8slab reads files given by their path (a str), "
                                  f"not {type(path).__name__}")])
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    # printable, whatever it holds: surrogates and NUL escaped, YAML text cut to its start
    shown = path.encode("utf-8", "backslashreplace").decode("utf-8").replace("\0", "\\0")
    if "\n" in shown:
        shown = repr(path[:40]) + ("..." if len(path) > 40 else "")
    if "\0" in path:
        raise K8slabError(problems=[Problem(_shorten(shown), "not a usable file name: it contains a NUL "
                                                             "character, which no file name can hold")])
    try:
        os.fsencode(path)
    except UnicodeEncodeError as e:
        raise K8slabError(problems=[Problem(_shorten(shown), (
            f"not a usable file name: a lone surrogate (\\u{ord(path[e.start]):04x}) at position "
            f"{e.start}, which the file system cannot encode"))]) from None
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise K8slabError(problems=[Problem(path, "is a directory: give the YAML files in it")])
        if not stat.S_ISREG(info.st_mode):
            what = ("a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else
                    "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                    "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise K8slabError(problems=[Problem(path, f"is {what}, not a regular file: k8slab reads "
                                                      "YAML files (save the output to a file first)")])
        if info.st_size > MAX_FILE_BYTES:
            raise K8slabError(problems=[Problem(path, _too_large(info.st_size))])
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, open() still returns.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb", closefd=True) as f:
            data = f.read(MAX_FILE_BYTES + 1)      # a file that grows is still read no further
    except OSError as e:
        if isinstance(e, FileNotFoundError) and ("\n" in path or re.match(r"\s*(apiVersion|kind)\s*:", path)):
            raise K8slabError(problems=[Problem(_shorten(shown), (
                "no such file, and this looks like YAML text rather than a file name: "
                "k8slab.load() reads files; give text to k8slab.Cluster.from_yaml(text)"))]) from None
        raise K8slabError(problems=[Problem(path, e.strerror or str(e))])
    if len(data) > MAX_FILE_BYTES:
        raise K8slabError(problems=[Problem(path, _too_large(len(data)))])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise K8slabError(problems=[Problem(path, f"not UTF-8 text (byte {e.start})")])


def _too_large(size: int) -> str:
    return (f"file is {size / 2**20:.0f} MiB; k8slab reads files up to {MAX_FILE_BYTES // 2**20} MiB "
            "(split it, or leave out kinds it does not need)")


def read_objects(filename: str, text: str) -> tuple[list[_Object], list[Problem]]:
    """The Kubernetes objects in one text, with Lists opened, and the problems found on the way."""
    return _objects_of(filename, _yaml_documents(filename, text))


def _objects_of(filename: str, docs: list) -> tuple[list[_Object], list[Problem]]:
    objects: list[_Object] = []
    problems: list[Problem] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue                                   # an empty document, as `---` at the end
        _open_lists(filename, doc, f"document {i + 1}", objects, problems)
    return objects, problems


def _read_all(texts, trust: bool = False, sent: list | None = None) -> tuple[list[_Object], list[Problem]]:
    """Every object of every (filename, text) pair, and every problem; one bad file stops none.
    `trust`: as _yaml_documents; then `sent`, if given, gets whether each document read unchecked
    was already as kubectl sends it (what checking would have found)."""
    objects: list[_Object] = []
    problems: list[Problem] = []
    for filename, text in texts:
        try:
            docs = _yaml_documents(filename, text, trust)
        except K8slabError as e:
            problems.extend(e.problems)
            continue
        if sent is not None:
            sent.extend(_already_sent(d) for d in docs)
        found, bad = _objects_of(filename, docs)
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
        # A typed list straight from the API (a ServiceList from /api/v1/services, as client
        # libraries save it) carries no kind or apiVersion on its items: they are the list's kind
        # without "List", in the list's apiVersion, as apimachinery's decodeToList sets them
        # (staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/helpers.go).
        item_kind = kind[:-len("List")]
        for j, item in enumerate(items):
            if (item_kind and isinstance(item, dict) and "kind" not in item and "apiVersion" not in item
                    and isinstance(doc.get("apiVersion"), str)):
                item = {"apiVersion": doc["apiVersion"], "kind": item_kind, **item}
            _open_lists(filename, item, f"{where}, items[{j}]", objects, problems, depth + 1)
        return
    objects.append(_Object(filename, doc, where))


def _type_name(v) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "empty"}.get(type(v), type(v).__name__)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------

def _validate(objects: list[_Object], service_range: ServiceRange | None = None
              ) -> tuple[list[Problem], list[str]]:
    from . import _validation
    if service_range is None:
        service_range = learn_service_range(objects)
    problems: list[Problem] = []
    known: list[_Object] = []
    for o in objects:
        kind, api = o.obj.get("kind"), o.obj.get("apiVersion")
        if not isinstance(kind, str) or not kind:
            problems.append(Problem(o.file, f"{o.where}: kind: Required value "
                                            "(every object needs apiVersion and kind)"))
            continue
        if kind in _gateway_manifests.API_VERSIONS or (kind == "Namespace" and kind not in KINDS):
            problems.extend(_gateway_problems(o))     # Gateway API and Ingress: their own module
            continue
        if kind not in KINDS:
            if kind == "ConfigMap" and o.name == "cilium-config":
                continue            # read for its kube-proxy-replacement setting only
            conf = _kube_proxy_configmap(o.obj) if kind == "ConfigMap" else None
            if conf is not None:
                known.append(o)
                problems.extend(Problem(o.file, fp.message, kind, o.name, f"data[config.conf].{fp.path}")
                                for fp in _validation.validate_proxy_config(conf))
                continue
            continue                      # a kind k8slab does not read: _skipped_notes says so
        if not isinstance(api, str) or not api:
            problems.append(Problem(o.file, "apiVersion: Required value", kind, o.name))
            continue
        if kind == "ServiceCIDR" and api == _SERVICECIDR_BETA:
            # 1.31 and 1.32 serve ServiceCIDR as v1beta1, with the same fields as v1 (GA in 1.33):
            # a snapshot of such a cluster is read as v1.
            o.obj = {**o.obj, "apiVersion": KINDS["ServiceCIDR"]}
            api = KINDS["ServiceCIDR"]
        if api != KINDS[kind]:
            problems.append(Problem(o.file, f'apiVersion: Unsupported value: "{api}": '
                                            f'supported values: "{KINDS[kind]}"', kind, o.name))
            continue
        known.append(o)
        if kind == "KubeProxyConfiguration":
            problems.extend(Problem(o.file, fp.message, kind, o.name, fp.path)
                            for fp in _validation.validate_proxy_config(o.obj))
            continue
    checked = [o for o in known if o.obj.get("kind") in KINDS]
    # Each object is decoded and checked once; validate_together reuses what it found.
    results = []
    for o in checked:
        try:
            [result] = _validation.check_objects([o.obj])
            found = result[2] or _validation.unusable(o.obj)
            if o.kind == "Node" and _validation.is_stored(o.obj):
                # An IPv6-only node of a real cluster is read, not refused: the builder names it
                # as not modelled (k8slab models IPv4) and gives it a stand-in address.
                found = [fp for fp in found if fp.path != "status.addresses"]
        except Exception as e:  # noqa: BLE001 - a checker bug must not become a traceback
            result = (None, None, [])
            found = [_validation.FieldProblem("", f"{INTERNAL}: {type(e).__name__}: {_shorten(str(e))}")]
        results.append(result if not found or result[2] else (result[0], result[1], found))
        for fp in found:
            problems.append(Problem(o.file, fp.message, o.kind, o.name, fp.path))
    try:
        together = _validation.validate_together(
            [o.obj for o in checked], checked=results,
            # Nothing learned: the validator's own default (kubeadm's range, or where a
            # default/kubernetes outside it says the range starts).
            service_range=None if service_range.source == "kubeadm" else
            (list(service_range.cidrs) if service_range.exact else None, service_range.kubernetes_ip))
    except Exception as e:  # noqa: BLE001
        together = [(0, _validation.FieldProblem("", f"{INTERNAL}: {type(e).__name__}: {e}"))] if checked else []
    for index, fp in together:
        o = checked[index]
        problems.append(Problem(o.file, fp.message, o.kind, o.name, fp.path))
    return problems, _skipped_notes(objects)


def _skipped_notes(objects: list[_Object]) -> list[str]:
    """A note per kind k8slab does not read, as _validate passes them over (cheap: kinds only)."""
    skipped: dict[str, int] = {}
    for o in objects:
        kind = o.obj.get("kind")
        if (not isinstance(kind, str) or not kind or kind in KINDS or kind in _gateway_manifests.API_VERSIONS
                or kind == "Namespace"
                or kind == "ConfigMap" and (o.name == "cilium-config" or _kube_proxy_configmap(o.obj) is not None)):
            continue
        skipped[kind] = skipped.get(kind, 0) + 1
    return [f"skipped {n} {kind} object{'s' if n > 1 else ''}: k8slab does not read that kind"
            for kind, n in sorted(skipped.items())]


def _gateway_problems(o: _Object) -> list[Problem]:
    if o.kind == "Namespace":
        return []            # read for its labels only (Gateway allowedRoutes selectors)
    try:
        found = _gateway_manifests.validate(o.obj)
    except Exception as e:  # noqa: BLE001 - a checker bug must not become a traceback
        found = [_gateway_manifests.CheckProblem("", f"{INTERNAL}: {type(e).__name__}: {_shorten(str(e))}")]
    return [Problem(o.file, fp.message, o.kind, o.name, fp.path) for fp in found]


def validate_files(paths: Iterable[str], service_cidr: str | None = None) -> list[Problem]:
    """Every problem in these files, as `kubectl apply` would report them (empty: all valid).

    `service_cidr` is the cluster's Service range when the files do not say it (see load)."""
    texts, problems = _read_files(paths)
    if not problems and _built_before(texts, service_cidr):
        return []
    return problems + _validate_texts(texts, service_cidr, limits=not problems)


def validate_texts(texts: list[tuple[str, str]], service_cidr: str | None = None) -> list[Problem]:
    """validate_files for (filename, YAML text) pairs already read (standard input, a notebook)."""
    if _built_before(texts, service_cidr):
        return []
    return _validate_texts(texts, service_cidr)


def _validate_texts(texts, service_cidr, limits: bool = True) -> list[Problem]:
    with _collector_paused():
        objects, bad = _read_all(texts)
        more, _ = _validate(objects, learn_service_range(objects, service_cidr))
        if limits and not (bad or more):
            more = _beyond_limits(objects)
    return bad + more


_paused = threading.Lock()
_pausing = {"depth": 0, "was_enabled": False}


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off while objects are read, checked and built: they make no
    garbage cycles, but a snapshot's million new containers would make the collector walk the
    growing heap again and again (a tenth of a 5,000-Service snapshot's load; issue 22's
    budget). Counted, so that threads loading at once turn it back on only when the last is done."""
    with _paused:
        if _pausing["depth"] == 0:
            _pausing["was_enabled"] = gc.isenabled()
            gc.disable()
        _pausing["depth"] += 1
    try:
        yield
    finally:
        with _paused:
            _pausing["depth"] -= 1
            if _pausing["depth"] == 0 and _pausing["was_enabled"]:
                gc.enable()


def _beyond_limits(objects: list[_Object]) -> list[Problem]:
    """Valid objects that would make a cluster past Kubernetes' scalability limits."""
    by_kind: dict[str, list[_Object]] = {}
    for o in objects:
        by_kind.setdefault(o.kind, []).append(o)
    nodes = by_kind.get("Node", [])
    if len(nodes) > MAX_NODES:
        o = nodes[MAX_NODES]
        return [Problem(o.file, f"{len(nodes):,} nodes: k8slab builds clusters of up to {MAX_NODES:,} "
                                "nodes (Kubernetes' tested limit)", "Node", o.name)]
    total = len(by_kind.get("Pod", []))
    node_count = len(nodes) or len(FILL_IN["node_names"])
    for o, kind in _expanding_controllers(by_kind):
        n = node_count if kind == "DaemonSet" else _replicas(o.obj)
        total += n
        if total > MAX_PODS:
            path = "" if kind == "DaemonSet" else "spec.replicas"
            what = f"{n:,} pods (one per node)" if kind == "DaemonSet" else f"Invalid value: {n}"
            return [Problem(o.file, f"{what}: k8slab builds clusters of up to {MAX_PODS:,} pods "
                                    f"(Kubernetes' tested limit); with this object the input asks for "
                                    f"{total:,} or more", kind, o.name, path)]
    return []


def _replicas(obj: dict) -> int:
    replicas = _dig(obj, "spec", "replicas", default=1)
    return replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1


def _expanding_controllers(by_kind: dict[str, list[_Object]]) -> list[tuple[_Object, str]]:
    """The controllers whose pods k8slab makes, in order: not those a snapshot lists the pods of."""
    given_by_ns: dict[str, list[dict]] = {}
    for o in by_kind.get("Pod", []):
        given_by_ns.setdefault(o.namespace, []).append(_str_map(_dig(o.obj, "metadata", "labels")))
    deployments = {(o.namespace, o.name) for o in by_kind.get("Deployment", [])}
    out = []
    for kind in CONTROLLERS:
        for o in by_kind.get(kind, []):
            if kind == "ReplicaSet" and any(
                    (o.namespace, ref.get("name")) in deployments
                    for ref in _dig(o.obj, "metadata", "ownerReferences", default=[]) or []
                    if isinstance(ref, dict) and ref.get("kind") == "Deployment"):
                continue        # its Deployment makes these pods already
            selector = _controller_selector(o.obj, kind)
            if any(_selector_matches(selector, labels) for labels in given_by_ns.get(o.namespace, [])):
                continue        # a snapshot: the controller's pods are in the input as they are
            out.append((o, kind))
    return out


# ---------------------------------------------------------------------------------------
# Building the cluster
# ---------------------------------------------------------------------------------------

def load(*paths: str, cloud: bool | None = None, service_cidr: str | None = None) -> Cluster:
    """A cluster from YAML files (manifests, multi-document files, `kubectl get -o yaml` Lists).

    `cloud` says whether a cloud provider gives LoadBalancer Services an address; by default
    yes, unless the nodes say the cluster is kind, minikube or k3s. `service_cidr` is the
    cluster's Service range (kube-apiserver's --service-cluster-ip-range) for input that does
    not say it: ServiceCIDR objects or default/kubernetes in the files come first.
    """
    if not paths:
        raise K8slabError("no files given")
    texts, problems = _read_files(paths)
    if problems:
        raise K8slabError(problems=problems)
    return load_texts(texts, cloud=cloud, service_cidr=service_cidr)


def load_texts(texts: list[tuple[str, str]], cloud: bool | None = None,
               service_cidr: str | None = None) -> Cluster:
    """A cluster from (filename, YAML text) pairs; K8slabError lists every problem found.

    A large input (a whole cluster's snapshot, CACHE_MIN_BYTES or more) is built once and kept
    in K8SLAB_CACHE_DIR (default ~/.cache/k8slab; K8SLAB_CACHE=0 turns it off), so that every
    later command on the same text starts at once; small inputs never touch the disk."""
    cache = _cache_file(texts, cloud, service_cidr)
    with _collector_paused():
        cluster = _cached(cache)
        if cluster is not None:
            return cluster
        cluster, check = _load_texts(texts, cloud, service_cidr)

    def keep():
        # Pickling a 5,000-Service cluster takes a tenth of a second: the command (which may
        # fork) leaves it to a child and answers meanwhile; anyone else keeps it here.
        if cache is not None:
            _forked.detach(_keep, cache, cluster)
    if check is None:
        keep()
    elif _deferred is not None:
        _deferred.append((check, keep))       # deferred_checks().wait() runs both
    else:
        check()
        keep()
    return cluster


_deferred: list | None = None        # inside deferred_checks(): (check, keep) of clusters loaded


class Checks:
    """The checks of the clusters loaded inside deferred_checks(), perhaps still running."""

    def __init__(self, pending: list):
        self._pending = pending

    def wait(self) -> None:
        """Wait for every check; K8slabError with the problems of an input that failed them.
        An answer computed from such an input must not be shown: the caller drops it."""
        while self._pending:
            check, keep = self._pending.pop(0)
            check()
            keep()


@contextlib.contextmanager
def deferred_checks():
    """Inside it, a large snapshot loaded on the command line (allow_forking) is built and
    answered from while its checks still run in a child; the `Checks` it gives must be waited
    for before the answer is shown, and an answer that has side effects (a file written) must
    not be computed inside it. Elsewhere, and for other inputs, loading checks first, as always."""
    global _deferred
    outer, _deferred = _deferred, []
    try:
        yield Checks(_deferred)
    finally:
        _deferred = outer


#: Inputs at least this large are cached (see load_texts): below it, loading takes < 0.2 s.
CACHE_MIN_BYTES = 1 << 20
_CACHE_KEEP = 4      # newest entries kept (a 150,000-pod cluster takes ~100 MB); older ones are deleted


def _cache_file(texts, cloud, service_cidr) -> str | None:
    """Where the cluster these inputs make is kept, or None when it is not (small, or off)."""
    if os.environ.get("K8SLAB_CACHE", "1") in ("0", "off", "no", "false"):
        return None
    if sum(len(t) for _, t in texts) < CACHE_MIN_BYTES:
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.blake2b(digest_size=20)
    # What the code is: its files' sizes and times, so that any change to k8slab misses.
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            st = os.stat(os.path.join(here, name))
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    h.update(repr((cloud, service_cidr, [f for f, _ in texts])).encode())
    for _, text in texts:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    root = os.environ.get("K8SLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "k8slab")
    return os.path.join(root, h.hexdigest() + ".pickle")


def _built_before(texts, service_cidr) -> bool:
    """Whether a cluster was built from exactly these texts: then they had no problem at all."""
    path = _cache_file(texts, None, service_cidr) if texts else None
    return path is not None and os.path.exists(path)


def _cached(path: str | None) -> Cluster | None:
    if path is None:
        return None
    import pickle
    try:
        with open(path, "rb") as f:
            cluster = pickle.load(f)
        return cluster if isinstance(cluster, Cluster) else None
    except Exception:  # noqa: BLE001 - a missing or damaged entry is simply rebuilt
        return None


def _keep(path: str | None, cluster: Cluster) -> None:
    if path is None:
        return
    import pickle
    import tempfile
    try:
        root = os.path.dirname(path)
        os.makedirs(root, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(cluster, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)            # atomic: a reader sees the whole entry or none
        entries = sorted((e for e in os.scandir(root) if e.name.endswith(".pickle")),
                         key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for e in entries[_CACHE_KEEP:]:
            os.unlink(e.path)
    except Exception:  # noqa: BLE001 - a cache that cannot be written costs time, never an answer
        pass


def _load_texts(texts, cloud, service_cidr) -> tuple[Cluster, Callable[[], None] | None]:
    """(the cluster, None) once every check passed; or, for a large snapshot on the command
    line, (the cluster, `check`) while a child still reads and checks it: `check()` waits for
    the child and raises K8slabError as the one-step path would have (or Reread)."""
    size = sum(len(t) for _, t in texts)
    # The child reads the text itself, as this process does: a copy of what this process read
    # would cost the child a page copy for every object it touches (see FORK_MAX_BYTES).
    child = (_forked.start(_snapshot_check, texts, service_cidr)
             if _forked.allowed() and CACHE_MIN_BYTES <= size <= FORK_MAX_BYTES else None)
    # Inside deferred_checks(), whether the values are as kubectl sends them is the child's to
    # check too (a tenth of a second here); where they were not, the answer is worked out
    # again (Reread). Elsewhere this process checks them as it reads.
    trusting = child is not None and _deferred is not None
    objects, problems = _read_all(texts, trust=trusting)
    service_range = learn_service_range(objects, service_cidr)
    files = [f for f, _ in texts]
    if child is not None and not problems and _snapshot_only(objects):
        cluster, failure = _build(objects, _skipped_notes(objects), cloud, files, service_range)

        def check():
            found, sent = child.result()
            if trusting and not sent:
                raise Reread()      # this reading was not kubectl's: the answer may be wrong
            if found:
                # Never a half-loaded cluster: a learner would take it for the whole one.
                raise K8slabError(problems=found)
            if failure is not None:
                raise failure
        if failure is None:
            return cluster, check
        try:
            check()                 # no cluster to answer from: the checks' verdict, now
        except Reread:
            pass                    # ... once the text is read as kubectl sends it, below
    elif child is not None:
        child.cancel()              # not a snapshot, or unreadable: the one-step path says it all
    if trusting:
        objects, problems = _read_all(texts)
        service_range = learn_service_range(objects, service_cidr)
    more, notes = _validate(objects, service_range)
    problems.extend(more)
    if not problems:
        problems = _beyond_limits(objects)
    if problems:
        raise K8slabError(problems=problems)
    cluster, failure = _build(objects, notes, cloud, files, service_range)
    if failure is not None:
        raise failure
    return cluster, None


class Reread(Exception):
    """An answer worked out inside deferred_checks() came from an input read unchecked that
    needed converting (a float port, a key that is a number): work it out again, outside."""


def _snapshot_check(texts, service_cidr) -> tuple[list[Problem], bool]:
    """The child's half of _load_texts: every problem the one-step path would find in the
    texts, and whether reading them unchecked (as the parent may) gave kubectl's values."""
    with _collector_paused():
        sent: list[bool] = []
        objects, bad = _read_all(texts, trust=True, sent=sent)
        if not all(sent):
            return _validate_texts(texts, service_cidr), False     # read again, converting
        more, _ = _validate(objects, learn_service_range(objects, service_cidr))
        if not (bad or more):
            more = _beyond_limits(objects)
    return bad + more, True


def _build(objects, notes, cloud, files, service_range) -> tuple[Cluster | None, K8slabError | None]:
    """(the cluster, None), or (None, the error that says why it could not be built)."""
    try:
        return _Builder(objects, notes, cloud, files, service_range).build(), None
    except K8slabError as e:
        return None, e
    except Exception as e:  # noqa: BLE001 - last resort: bad input must never show a traceback
        failure = K8slabError(problems=[Problem(
            ", ".join(files), f"could not build a cluster from this input ({type(e).__name__}: {e}); "
                              "`k8slab validate` may say more")])
        failure.__cause__ = e
        return None, failure


#: Larger inputs are checked before they are built, never in a child: the child copies every
#: page it touches (even reading an object writes its reference count), which for a multi-GB
#: model (150,000 pods) could double the memory to save a second in twenty.
FORK_MAX_BYTES = 64 << 20


def allow_forking() -> None:
    """Let loading check a large snapshot in a forked child while it builds the model here: for
    the `k8slab` command, which runs no other thread (a program that does must not fork; see
    _forked.py). Off unless called."""
    _forked.allow()


def _snapshot_only(objects: list[_Object]) -> bool:
    """Whether the input is a snapshot that can be built before its checks end: every object
    stored by an API server (a `kubectl get` snapshot, Deployments and all), and no more pods to
    make than Kubernetes' limits (_beyond_limits: what bounds building whatever the checks find)."""
    from ._validation import is_stored        # once: the wrapper imports it on every call
    controllers = False
    for o in objects:
        if not is_stored(o.obj):
            return False
        controllers = controllers or o.obj.get("kind") in CONTROLLERS
    if not controllers:
        return True                           # nothing to make: building is linear in the input
    try:
        return not _beyond_limits(objects)
    except Exception:  # noqa: BLE001 - an object too odd to count: checked first, as always
        return False


def learn_service_range(objects: list[_Object], given: str | None = None) -> ServiceRange:
    """The cluster's Service range, learned as the issue 22 order says: its ServiceCIDR objects
    (networking.k8s.io/v1, GA in 1.33; the API server makes one named `kubernetes` from its
    flags), else default/kubernetes's cluster IP (the range's first address), else `given`
    (--service-cidr), else kubeadm's 10.96.0.0/12. IPv4 only: k8slab models IPv4."""
    cidrs: list[ipaddress.IPv4Network] = []
    for o in sorted((o for o in objects if o.kind == "ServiceCIDR"), key=lambda o: o.name != "kubernetes"):
        if o.obj.get("apiVersion") not in (KINDS["ServiceCIDR"], _SERVICECIDR_BETA):
            continue
        for text in _dig(o.obj, "spec", "cidrs", default=[]) or []:
            try:
                net = ipaddress.ip_network(str(text), strict=False)
            except ValueError:
                continue                    # validation reports it
            if net.version == 4 and net not in cidrs:
                cidrs.append(net)
    if cidrs:
        return ServiceRange(tuple(map(str, cidrs)), "ServiceCIDR", True)
    for o in objects:
        if o.kind == "Service" and o.name == "kubernetes" and o.namespace == "default":
            try:
                ip = ipaddress.IPv4Address(str(_dig(o.obj, "spec", "clusterIP", default="")))
            except ValueError:
                continue
            network = int(ip) - 1
            # The first address is the range's .1, so the range starts one below it. Its size is
            # written nowhere: take the smallest block (a /24 at least) that starts there and
            # holds every stored Service's cluster IP, and no larger than the largest block that
            # starts there, nor than a /12 (kube-apiserver refuses larger IPv4 Service ranges:
            # "the mask must be >= 12", cmd/kube-apiserver/app/options/validation.go).
            aligned = 12
            while aligned < 32 and network & ((1 << (32 - aligned)) - 1):
                aligned += 1
            ips = []
            for other in objects:
                if other.kind == "Service" and _validation_is_stored(other.obj):
                    try:
                        ips.append(int(ipaddress.IPv4Address(str(_dig(other.obj, "spec", "clusterIP", default="")))))
                    except ValueError:
                        pass
            prefix = 24
            while prefix > aligned and not all(network <= a < network + (1 << (32 - prefix)) for a in ips):
                prefix -= 1
            prefix = max(prefix, aligned)
            return ServiceRange((f"{ipaddress.IPv4Address(network)}/{prefix}",), "default/kubernetes", False)
    if given:
        try:
            net = ipaddress.ip_network(given.strip(), strict=False)
        except ValueError:
            net = None
        if net is None or net.version != 4 or net.prefixlen > 30:
            raise K8slabError(f"--service-cidr {given!r}: give an IPv4 CIDR such as 10.43.0.0/16 "
                              "(kube-apiserver's --service-cluster-ip-range)")
        return ServiceRange((str(net),), "given", True)
    return ServiceRange()


def _validation_is_stored(obj) -> bool:
    from ._validation import is_stored
    return is_stored(obj)


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
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).digest()
    return digest[:length].translate(_SAFE_TABLE).decode("ascii")


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
    try:
        docs = _yaml_documents("config.conf", text)
    except K8slabError:
        return None          # kube-proxy would not start; k8slab keeps its defaults
    conf = docs[0] if len(docs) == 1 else None
    return conf if isinstance(conf, dict) and conf.get("kind") == "KubeProxyConfiguration" else None


class _Builder:
    """Turns validated objects into a Cluster, filling in what a real cluster would add."""

    def __init__(self, objects: list[_Object], notes: list[str], cloud: bool | None, files,
                 service_range: ServiceRange | None = None):
        self.service_range = service_range or ServiceRange()
        self.not_modelled: dict[str, list[str]] = {}     # what -> names, for one note each
        self.objects = objects
        self.notes = list(notes)
        self.cloud = cloud
        self.files = files
        self.by_kind: dict[str, list[_Object]] = {}
        self._per_spec: dict[int, tuple] = {}
        self._per_labels: dict[int, tuple] = {}
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
        for what, names in self.not_modelled.items():
            shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
            self.notes.append(f"not modelled: {len(names)} {what} ({shown}); k8slab models IPv4, as "
                              "kube-proxy's IPv4 proxier does, and answers everything else as usual")
        replacement = self._proxy_replacement()
        if replacement:
            self.notes.append(
                f"this cluster runs {replacement} in kube-proxy's place: the rules, traces and "
                "probabilities k8slab shows are what kube-proxy would write for these objects, not "
                "what runs there (the Service semantics are the same; the mechanism, eBPF programs "
                "instead of iptables chains, is not)")
        facts = ClusterFacts(service_range=self.service_range, proxy_replacement=replacement,
                             not_modelled=tuple(sorted(self.not_modelled)))
        policies, namespaces = _policies(self.of("NetworkPolicy"), self.notes), _namespaces(self.of("Namespace"))
        cluster = Cluster(nodes, pods, services, slices, proxy, self._cloud(nodes), self.notes,
                          self.files, facts=facts, policies=policies, namespaces=namespaces)
        cluster.gateway_objects = _gateway_manifests.read(
            (o.kind, o.namespace, o.obj) for o in self.objects
            if o.kind in _gateway_manifests.API_VERSIONS or o.kind == "Namespace")
        return cluster

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

    def _proxy_replacement(self) -> str | None:
        """What a snapshot shows running instead of kube-proxy, if anything. Cilium says it in
        its cilium-config ConfigMap (kube-proxy-replacement: "true", or "strict" before 1.14);
        a Cilium agent with no kube-proxy in sight is the same in practice."""
        for o in self.of("ConfigMap"):
            if o.name == "cilium-config":
                value = str(_dig(o.obj, "data", "kube-proxy-replacement", default="")).lower()
                if value in ("true", "strict"):
                    return f"Cilium's kube-proxy replacement (cilium-config: kube-proxy-replacement: {value})"
                if value in ("false", "disabled", "partial", "probe"):
                    return None
        def labelled(o, app):
            return (_dig(o.obj, "metadata", "labels", "k8s-app") == app
                    or _dig(o.obj, "spec", "template", "metadata", "labels", "k8s-app") == app)
        objs = self.of("Pod") + self.of("DaemonSet")
        cilium = any(labelled(o, "cilium") for o in objs)
        kube_proxy = any(labelled(o, "kube-proxy") or (o.name or "").startswith("kube-proxy") for o in objs)
        kube_proxy = kube_proxy or any(_kube_proxy_configmap(o.obj) for o in self.of("ConfigMap"))
        if cilium and not kube_proxy:
            return "Cilium with no kube-proxy in the snapshot (its kube-proxy replacement)"
        return None

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
        self.max_pods: dict[str, int] = {}
        specs = [(o.name, o.obj) for o in given]
        origin = {o.name: o for o in given}
        if not given:
            # No nodes given: the nodes the pods name, else three of k8slab's own.
            # nodeName "" is no name (the API server's omitempty string): not a node called "".
            named = {_dig(p, "spec", "nodeName") or None for _, p, _, _ in raw_pods}
            # ... and the nodes endpoints name: the EndpointSlice controller copies the pod's
            # spec.nodeName into each endpoint (podToEndpoint, staging/src/k8s.io/endpointslice/
            # utils.go), so a snapshot of Services and Endpoints alone still names its nodes.
            for o in self.of("EndpointSlice"):
                named.update(e.get("nodeName") for e in _dig(o.obj, "endpoints", default=[]) or []
                             if isinstance(e, dict) and isinstance(e.get("nodeName"), str))
            for o in self.of("Endpoints"):
                for s in _dig(o.obj, "subsets", default=[]) or []:
                    if isinstance(s, dict):
                        named.update(a.get("nodeName") for key in ("addresses", "notReadyAddresses")
                                     for a in (s.get(key) if isinstance(s.get(key), list) else [])
                                     if isinstance(a, dict) and isinstance(a.get("nodeName"), str))
            named = sorted(named - {None, ""})
            specs = [(n, {}) for n in (named or FILL_IN["node_names"])]
            if not named:
                self.notes.append("no nodes given: filled in node-a, node-b and node-c")
            else:
                # Named, but no Node object says their addresses: the stand-ins must not pass
                # for the nodes' own (a node port "at 192.0.2.11" is k8slab's, not the cluster's).
                shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
                self.notes.append(f"no Node objects given: {shown} (named by pods or endpoints) "
                                  f"{'have stand-in addresses' if len(named) > 1 else 'has a stand-in address'} "
                                  f"from {FILL_IN['node_ips']}")
        for i, (name, obj) in enumerate(sorted(specs, key=lambda s: s[0])):
            # The first IPv4 InternalIP: k8slab models kube-proxy's IPv4 proxier, which ignores
            # a dual-stack node's IPv6 address.
            # kube-proxy and the kubelet read it with ParseIPSloppy: "192.0.2.011" is 192.0.2.11.
            ip = next((ipv4(str(a["address"])) or str(a["address"])
                       for a in _dig(obj, "status", "addresses", default=[]) or []
                       if isinstance(a, dict) and a.get("type") == "InternalIP" and a.get("address")
                       and ":" not in str(a["address"])),
                      None) or _take(ip_pool, origin.get(name), "Node", name, "status.addresses",
                                     "node IP", FILL_IN["node_ips"])
            if any(isinstance(a, dict) and a.get("type") == "InternalIP" and ":" in str(a.get("address"))
                   for a in _dig(obj, "status", "addresses", default=[]) or []) and not any(
                    isinstance(a, dict) and a.get("type") == "InternalIP" and a.get("address")
                    and ":" not in str(a["address"]) for a in _dig(obj, "status", "addresses", default=[]) or []):
                self.not_modelled.setdefault(f"IPv6-only node(s), given a stand-in IPv4 address from "
                                             f"{FILL_IN['node_ips']}", []).append(name)
            self.max_pods[name] = _max_pods(obj)
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
                provider_id=_dig(obj, "spec", "providerID"),
                deleting=_dig(obj, "metadata", "deletionTimestamp") is not None,
                taint_keys=tuple(str(t["key"]) for t in _dig(obj, "spec", "taints", default=[]) or []
                                 if isinstance(t, dict) and isinstance(t.get("key"), str))))
            taints[name] = [t for t in _dig(obj, "spec", "taints", default=[]) or []
                            if isinstance(t, dict) and t.get("effect") in ("NoSchedule", "NoExecute")]
        return nodes, taints

    # -- pods ----------------------------------------------------------------------------
    def _raw_pods(self) -> list[tuple[str, dict, str | None, _Object]]:
        """(namespace, pod object, owner, where it came from) for every pod: given ones, then
        controllers' pods."""
        pods = [(o.namespace, o.obj, _owner_of(o.obj), o) for o in self.of("Pod")]
        # Names in use, so generated ones never repeat: the API server refuses a generateName
        # that collides (AlreadyExists) and the controller tries again with a new suffix.
        self._taken_names = {(o.namespace, o.name) for o in self.of("Pod")}
        for o, kind in _expanding_controllers(self.by_kind):
            ns, owner = o.namespace, f"{kind}/{o.name}"
            pods.extend((ns, p, owner, o) for p in self._expand(o, kind))
        return pods

    def _generated_name(self, namespace, base: str, seed: str) -> str:
        """base + "-" + 5 letters of Kubernetes' alphabet (apimachinery util/rand), unique in
        the namespace: on a collision the next attempt draws another suffix, as the API
        server's AlreadyExists makes the ReplicaSet controller do. Deterministic."""
        taken = self.__dict__.setdefault("_taken_names", set())
        attempt = 0
        while True:
            name = f"{base}-{short_hash(base, seed, *([str(attempt)] if attempt else []), length=5)}"
            if (namespace, name) not in taken:
                taken.add((namespace, name))
                return name
            attempt += 1

    def _expand(self, o: _Object, kind: str) -> list[dict]:
        """The pods a controller makes, named and labelled as Kubernetes does it."""
        template = _dig(o.obj, "spec", "template", default={})
        labels = _str_map(_dig(template, "metadata", "labels"))
        spec = _dig(template, "spec", default={})
        replicas = _replicas(o.obj)
        template_hash = short_hash(json.dumps(template, sort_keys=True, default=str))
        out = []

        namespace = o.namespace

        def pod(name, pod_labels):
            # The pods share their template's spec (and their labels, where those are the same):
            # nothing changes a pod once made, and 150,000 copies would take seconds.
            return {"metadata": {"name": name, "namespace": namespace, "labels": pod_labels}, "spec": spec}

        if kind == "Deployment":
            rs = f"{o.name}-{template_hash}"
            shared = {**labels, "pod-template-hash": template_hash}
            for i in range(replicas):
                out.append(pod(self._generated_name(namespace, rs, str(i)), shared))
        elif kind in ("ReplicaSet", "ReplicationController"):
            for i in range(replicas):
                out.append(pod(self._generated_name(namespace, o.name, str(i)), labels))
        elif kind == "StatefulSet":
            service_name = _dig(o.obj, "spec", "serviceName")
            for i in range(replicas):
                p = pod(f"{o.name}-{i}", {
                    **labels, "statefulset.kubernetes.io/pod-name": f"{o.name}-{i}",
                    "apps.kubernetes.io/pod-index": str(i),
                    "controller-revision-hash": f"{o.name}-{template_hash}"})
                # The controller gives each pod its name as hostname and the governing
                # Service as subdomain (pkg/controller/statefulset/stateful_set_utils.go,
                # initIdentity): that is what makes web-0.web.NS.svc.cluster.local.
                # Each pod gets its own copy of the shared spec for these two fields.
                p["spec"] = {**p["spec"], "hostname": f"{o.name}-{i}"}
                if isinstance(service_name, str) and service_name:
                    p["spec"]["subdomain"] = service_name
                out.append(p)
        elif kind == "DaemonSet":
            # One pod per node that fits: marked with the node now, placed by _pods below.
            out.append({"_daemonset": True, **pod(o.name, {
                **labels, "controller-revision-hash": template_hash,
                "pod-template-generation": "1"})})
        return out

    def _pods(self, raw_pods, nodes: list[Node], taints) -> list[Pod]:
        node_by_name = {n.name: n for n in nodes}
        per_node_total = {n.name: 0 for n in nodes}
        per_owner: dict[tuple[str | None, str], int] = {}
        placed: list[tuple[str, dict, str | None, str | None]] = []
        for ns, p, owner, _ in raw_pods:
            node = _dig(p, "spec", "nodeName") or None
            if node is not None:
                per_node_total[node] = per_node_total.get(node, 0) + 1
                per_owner[(owner, node)] = per_owner.get((owner, node), 0) + 1
        pending = []
        orphans: list[str] = []
        full = False

        def has_room(n: Node) -> bool:
            nonlocal full, room_left
            room = per_node_total[n.name] < self.max_pods.get(n.name, DEFAULT_MAX_PODS_PER_NODE)
            full = full or not room
            if not room and all(per_node_total[m.name] >= self.max_pods.get(m.name, DEFAULT_MAX_PODS_PER_NODE)
                                for m in nodes):
                room_left = False
            return room

        room_left = bool(nodes)

        for ns, p, owner, origin in raw_pods:
            if p.get("_daemonset"):
                for n in nodes:
                    if has_room(n) and self._fits(p, n, taints, daemon=True):
                        placed.append((ns, _renamed(p, self._generated_name(ns, p['metadata']['name'], n.name)),
                                       owner, n.name, origin))
                        per_node_total[n.name] += 1
                continue
            node = _dig(p, "spec", "nodeName") or None
            if node is not None and node not in node_by_name and isinstance(node, str):
                # Bound to a Node the input does not have: no kubelet runs it, whatever a stale
                # status says, and the EndpointSlice controller leaves it out (reconciler.go:
                # "update the EndpointSlice without the problematic Pod"). It stays Pending.
                orphans.append(f"{origin.file}: Pod/{_shorten(str(_dig(p, 'metadata', 'name')), 60)}: "
                               f"spec.nodeName: {_shorten(node, 60)!r} names no Node in the input")
                p = dict(p, status={"phase": "Pending"})
                node = None
            elif node is None and isinstance(p.get("status"), dict) and p["status"]:
                pending.append(_dig(p, "metadata", "name"))   # a snapshot's Pending pod stays so
            elif node is None:
                # The scheduler's default spreading: fewest pods of the same owner on the
                # node, then fewest pods in all, then the node's name for a stable answer.
                # Room first: it is cheap, and once every node is full it settles the rest.
                fits = [n for n in nodes if has_room(n) and self._fits(p, n, taints)] if room_left else []
                if fits:
                    best = min(fits, key=lambda n: (per_owner.get((owner, n.name), 0),
                                                    per_node_total[n.name], n.name))
                    node = best.name
                    per_owner[(owner, node)] = per_owner.get((owner, node), 0) + 1
                    per_node_total[node] += 1
                else:
                    pending.append(_dig(p, "metadata", "name"))
            placed.append((ns, p, owner, node, origin))
        if orphans:
            self.notes.append(f"{orphans[0]}: the pod stays Pending, with no IP (no kubelet runs it; the "
                              "pod garbage collector deletes such pods)"
                              + (f"; {len(orphans) - 1} more pod(s) like it" if len(orphans) > 1 else ""))
        if pending:
            shown = ", ".join(_shorten(str(n), 60) for n in pending[:5]) + (" ..." if len(pending) > 5 else "")
            why = (" or they are full (a node takes at most its status.allocatable.pods, "
                   f"{DEFAULT_MAX_PODS_PER_NODE} by default)") if full else ""
            self.notes.append(f"{len(pending)} pod(s) stay Pending: no node fits them{why} ({shown})")

        used_ips = {str(_dig(p, "status", "podIP")) for _, p, _, _, _ in placed if _dig(p, "status", "podIP")}
        pools = {n.name: _address_pool(n.pod_cidr, start=2, used=used_ips) for n in nodes}
        pods = []
        for ns, p, owner, node, origin in placed:
            pods.append(self._pod(ns, p, owner, node, node_by_name.get(node), pools.get(node), origin))
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

    def _pod(self, ns, p, owner, node_name, node: Node | None, pool, origin: _Object) -> Pod:
        meta = p.get("metadata") or {}
        status = p.get("status")
        spec = p.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        cached = self._per_spec.get(id(spec))
        if cached is None or cached[0] is not spec:     # a controller's pods share one spec
            ports = []
            # Named targetPorts resolve in the app containers, then in native sidecars (init
            # containers with restartPolicy: Always): pkg/api/v1/pod/util.go, FindPort.
            sidecars = [c for c in spec.get("initContainers") or []
                        if isinstance(c, dict) and c.get("restartPolicy") == "Always"]
            for c in list(spec.get("containers") or []) + sidecars:
                for cp in (c.get("ports") or []) if isinstance(c, dict) else []:
                    if isinstance(cp, dict) and isinstance(cp.get("containerPort"), int):
                        ports.append(ContainerPort(cp["containerPort"], cp.get("name"),
                                                   cp.get("protocol") or "TCP"))
            cached = self._per_spec[id(spec)] = (spec, tuple(ports), bool(spec.get("hostNetwork")))
        _, ports, host_network = cached
        raw_labels = meta.get("labels")
        labels = self._per_labels.get(id(raw_labels))
        if labels is None or labels[0] is not raw_labels:
            labels = self._per_labels[id(raw_labels)] = (raw_labels, _str_map(raw_labels))
        labels = labels[1]
        if isinstance(status, dict) and status:
            # As a snapshot says: an IP only if it has one, Ready only if the condition says so.
            ip = status.get("podIP")
            if ip and ":" in str(ip):
                # IPv6 first on a dual-stack cluster: status.podIPs holds the IPv4 one too.
                v4 = [str(a.get("ip")) for a in status.get("podIPs") or []
                      if isinstance(a, dict) and a.get("ip") and ":" not in str(a.get("ip"))]
                if not v4 and not host_network:
                    self.not_modelled.setdefault("IPv6-only pod(s)", []).append(f"{ns}/{meta.get('name')}")
                ip = v4[0] if v4 else None
            phase = status.get("phase") or "Pending"
            ready = any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
                        for c in status.get("conditions") or [])
        elif node is not None:
            ip = node.address if host_network else _take(
                pool, origin, origin.kind, origin.name, "status.podIP",
                lambda: f"pod IP for {_shorten(str(meta.get('name')), 80)} on node {node.name}", node.pod_cidr)
            phase, ready = "Running", True
        else:
            ip, phase, ready = None, "Pending", False
        return Pod(
            name=meta.get("name"), namespace=ns, node=node_name, ip=str(ip) if ip else None,
            labels=labels, ports=ports, ready=ready,
            terminating=meta.get("deletionTimestamp") is not None, owner=owner, phase=phase,
            host_network=host_network, **_pod_dns(p.get("spec")))

    # -- Services -------------------------------------------------------------------------
    def _services(self, nodes) -> list[Service]:
        given = self.of("Service")
        used_ips = {str(_dig(o.obj, "spec", "clusterIP")) for o in given
                    if _dig(o.obj, "spec", "clusterIP") not in (None, "", "None")}
        cidr = self.service_range.cidrs[0]
        ip_pool = _address_pool(cidr, start=11, used=used_ips)
        self._service_cidr_text = cidr
        keys = {f"{o.namespace}/{o.name}" for o in given}
        fills = (not {"default/kubernetes", "kube-system/kube-dns"} <= keys
                 or any(not _dig(o.obj, "spec", "clusterIP") and _dig(o.obj, "spec", "type") != "ExternalName"
                        for o in given))
        if self.service_range.source == "kubeadm" and fills:
            outside = sorted(o.name for o in given if _outside(_dig(o.obj, "spec", "clusterIP"), cidr))
            if outside:
                self.notes.append(
                    f"{len(outside)} Service(s) have cluster IPs outside {cidr} ({', '.join(outside[:3])}"
                    f"{' ...' if len(outside) > 3 else ''}): the input does not say the cluster's Service "
                    "range (no ServiceCIDR, no default/kubernetes), so the addresses k8slab fills in "
                    "(kube-dns's and kubernetes's included) come from kubeadm's; give --service-cidr "
                    "(or service_cidr=) to say it")
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
        out = []
        for o in given:
            ips = _dig(o.obj, "spec", "clusterIPs", default=None) or [_dig(o.obj, "spec", "clusterIP")]
            ips = [str(i) for i in ips if i not in (None, "", "None")]
            if ips and all(":" in i for i in ips):
                self.not_modelled.setdefault("IPv6-only Service(s)", []).append(f"{o.namespace}/{o.name}")
                continue
            if any(":" in i for i in ips):
                self.not_modelled.setdefault("dual-stack Service(s) whose IPv6 side is left out",
                                             []).append(f"{o.namespace}/{o.name}")
            out.append(self._service(o, ip_pool, port_pool, lb_pool, cloud))
        return out

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
                node_port = _take(port_pool, o, "Service", o.name, f"spec.ports[{len(ports)}].nodePort",
                                  "node port", "%d-%d" % FILL_IN["node_ports"])
            target = p.get("targetPort")
            ports.append(ServicePort(
                port=p["port"], target_port=p["port"] if target in (None, 0, "") else target,
                protocol=p.get("protocol") or "TCP", name=p.get("name") or None,
                node_port=node_port if external else None))
        cluster_ip = spec.get("clusterIP")
        if cluster_ip and ":" in str(cluster_ip):
            # IPv6 primary, IPv4 secondary: the IPv4 proxier serves the IPv4 one.
            cluster_ip = next((str(i) for i in spec.get("clusterIPs") or [] if ":" not in str(i)), cluster_ip)
        if svc_type == "ExternalName":
            cluster_ip = None
        elif not cluster_ip:
            cluster_ip = _take(ip_pool, o, "Service", o.name, "spec.clusterIP", "cluster IP",
                               self._service_cidr_text)
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
            health = _take(port_pool, o, "Service", o.name, "spec.healthCheckNodePort",  # like a node port
                           "node port", "%d-%d" % FILL_IN["node_ports"])
        given_ingress = [i for i in _dig(o.obj, "status", "loadBalancer", "ingress", default=[]) or []
                         if isinstance(i, dict) and (i.get("ip") or i.get("hostname"))]
        ingress = tuple(str(i.get("ip") or i.get("hostname")) for i in given_ingress)
        ip_mode = str(given_ingress[0].get("ipMode") or "VIP") if given_ingress else "VIP"
        lb_class = spec.get("loadBalancerClass") if svc_type == "LoadBalancer" else None
        # The cloud provider's service controller leaves a Service with a loadBalancerClass
        # to the controller of that class (k8s.io/cloud-provider, controllers/service:
        # wantsLoadBalancer skips it); k8slab models no such controller, so it stays pending.
        if svc_type == "LoadBalancer" and not ingress and cloud and "status" not in o.obj and not lb_class:
            # A manifest (no status yet): the cloud's controller would assign an address. A
            # snapshot whose status has none is a load balancer still <pending>: kept so.
            ingress = (_take(lb_pool, o, "Service", o.name, "status.loadBalancer.ingress",
                             "load-balancer address", FILL_IN["load_balancer_ips"]),)
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
            load_balancer_ip_mode=ip_mode if ip_mode in ("VIP", "Proxy") else "VIP",
            load_balancer_class=str(lb_class) if lb_class else None,
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
            if o.obj.get("addressType") == "IPv6":
                # The IPv6 proxier reads these; k8slab models the IPv4 one.
                self.not_modelled.setdefault("IPv6 EndpointSlice(s)", []).append(f"{o.namespace}/{o.name}")
                continue
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
                node_hints = _dig(e, "hints", "forNodes")
                for address in (e.get("addresses") or [])[:1]:
                    endpoints.append(Endpoint(
                        address=str(address), port=0,
                        pod=_dig(e, "targetRef", "name") if _dig(e, "targetRef", "kind") == "Pod" else None,
                        node=e.get("nodeName"), zone=e.get("zone"), ready=ready, serving=serving,
                        terminating=bool(cond.get("terminating")),
                        hostname=e.get("hostname") if isinstance(e.get("hostname"), str) else None,
                        hint_zones=tuple(h.get("name") for h in hints if isinstance(h, dict))
                        if isinstance(hints, list) else None,
                        hint_nodes=tuple(h.get("name") for h in node_hints if isinstance(h, dict))
                        if isinstance(node_hints, list) else None))
            out.append(EndpointSlice(
                f"{o.namespace}/{owner}", o.name, ports, tuple(endpoints),
                address_type=str(o.obj.get("addressType") or "IPv4"),
                managed_by=_dig(o.obj, "metadata", "labels", "endpointslice.kubernetes.io/managed-by")))
        return out + self._legacy_endpoints({sl.service for sl in out})

    def _legacy_endpoints(self, sliced: set[str]) -> list[EndpointSlice]:
        """v1 Endpoints, for Services the input gives no EndpointSlice of: as the slices the
        EndpointSlice controller (selector) or its mirroring controller (no selector) would
        make of them. kube-proxy reads only slices; Endpoints is deprecated since 1.33."""
        selectors = {f"{o.namespace}/{o.name}": bool(_dig(o.obj, "spec", "selector")) for o in self.of("Service")}
        out, used = [], []
        for o in self.of("Endpoints"):
            key = f"{o.namespace}/{o.name}"
            if key in sliced:
                continue
            used.append(key)
            for i, subset in enumerate(o.obj.get("subsets") or []):
                if not isinstance(subset, dict):
                    continue
                ports = tuple((p.get("name") or None, p.get("port"), p.get("protocol") or "TCP")
                              for p in subset.get("ports") or [] if isinstance(p, dict) and p.get("port"))
                endpoints = []
                for ready, field_name in ((True, "addresses"), (False, "notReadyAddresses")):
                    for a in subset.get(field_name) or []:
                        if not isinstance(a, dict) or not a.get("ip") or ":" in str(a.get("ip")):
                            continue
                        ref = a.get("targetRef") if isinstance(a.get("targetRef"), dict) else {}
                        endpoints.append(Endpoint(
                            address=str(a["ip"]), port=0,
                            pod=ref.get("name") if ref.get("kind") == "Pod" else None,
                            node=a.get("nodeName"), ready=ready, serving=ready,
                            hostname=a.get("hostname") if isinstance(a.get("hostname"), str) else None))
                out.append(EndpointSlice(
                    key, f"{o.name}-endpoints-{i}", ports, tuple(endpoints),
                    managed_by=CONTROLLER if selectors.get(key) else "endpointslicemirroring-controller.k8s.io"))
        if used:
            self.notes.append(
                f"read {len(used)} v1 Endpoints as their Services' endpoints ({', '.join(used[:3])}"
                f"{' ...' if len(used) > 3 else ''}): the input has no EndpointSlices for them. Endpoints is "
                "deprecated since Kubernetes 1.33 and kube-proxy reads EndpointSlices: add "
                "`kubectl get endpointslices -A -o yaml` to the snapshot")
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


def _selector(obj) -> LabelSelector:
    """A validated metav1.LabelSelector as the model's LabelSelector."""
    obj = obj if isinstance(obj, dict) else {}
    labels = tuple(sorted(_str_map(obj.get("matchLabels")).items()))
    exprs = tuple((str(e.get("key", "")), str(e.get("operator", "")),
                   tuple(str(v) for v in e.get("values") or []))
                  for e in obj.get("matchExpressions") or [] if isinstance(e, dict))
    return LabelSelector(labels, exprs)


def _policy_rule(rule, peers_key: str) -> PolicyRule:
    rule = rule if isinstance(rule, dict) else {}
    peers = []
    for peer in rule.get(peers_key) or []:
        peer = peer if isinstance(peer, dict) else {}
        block = peer.get("ipBlock")
        peers.append(PolicyPeer(
            pod_selector=_selector(peer["podSelector"]) if peer.get("podSelector") is not None else None,
            namespace_selector=(_selector(peer["namespaceSelector"])
                                if peer.get("namespaceSelector") is not None else None),
            ip_block=IPBlock(str(block.get("cidr", "")), tuple(str(e) for e in block.get("except") or []))
            if isinstance(block, dict) else None))
    ports = []
    for port in rule.get("ports") or []:
        port = port if isinstance(port, dict) else {}
        number = port.get("port")
        # SetDefaults_NetworkPolicyPort: a missing protocol is TCP (pkg/apis/networking/v1/defaults.go).
        ports.append(PolicyPort(protocol=str(port.get("protocol") or "TCP"),
                                port=number if isinstance(number, (int, str)) and number != "" else None,
                                end_port=port.get("endPort") if isinstance(port.get("endPort"), int) else None))
    return PolicyRule(tuple(peers), tuple(ports))


def _policies(objects, notes: list[str]) -> list[NetworkPolicy]:
    """NetworkPolicy objects as the API server stores them, defaulted."""
    from . import _validation
    out = []
    for o in objects:
        spec = _dig(o.obj, "spec", default={}) or {}
        ingress = tuple(_policy_rule(r, "from") for r in spec.get("ingress") or [])
        egress = tuple(_policy_rule(r, "to") for r in spec.get("egress") or [])
        types = tuple(str(t) for t in spec.get("policyTypes") or [])
        if not types:
            # SetDefaults_NetworkPolicy: no policyTypes means Ingress, plus Egress when the
            # policy has egress rules (pkg/apis/networking/v1/defaults.go).
            types = ("Ingress", "Egress") if spec.get("egress") else ("Ingress",)
        out.append(NetworkPolicy(o.name or "", o.namespace, _selector(spec.get("podSelector")),
                                 types, ingress, egress))
        unknown = _validation.unknown_fields(o.obj)
        if unknown:
            notes.append(f"{o.file}: NetworkPolicy/{o.name}: unknown field{'s' if len(unknown) > 1 else ''} "
                         + ", ".join(f'"{u}"' for u in unknown)
                         + " ignored (the API server drops them; check the spelling: a rule whose "
                         "from/to or ports is missing allows every peer or port)")
    return out


def _namespaces(objects) -> list[Namespace]:
    return [Namespace(o.name or "", _str_map(_dig(o.obj, "metadata", "labels"))) for o in objects]
def _outside(ip, cidr: str) -> bool:
    """Whether ip is an IPv4 address outside cidr (None, "None" and IPv6 are not)."""
    try:
        return ipaddress.IPv4Address(str(ip)) not in ipaddress.ip_network(cidr)
    except ValueError:
        return False


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


def _take(pool, o: _Object | None, kind: str, name: str | None, path: str, what: str, where: str):
    """The next value of an allocation pool, or K8slabError naming the object that found it empty."""
    try:
        return next(pool)
    except (StopIteration, K8slabError):
        pass
    raise K8slabError(problems=[Problem(
        o.file if o is not None else "(filled in by k8slab)",
        (f"no free address left in {where} for a {what() if callable(what) else what}" if what != "node port"
         else f"no free node port left in {where}")
        + " (k8slab fills these in from a fixed range: give the field a value yourself)", kind, name, path)])


def _max_pods(node: dict) -> int:
    """How many pods the scheduler places on a node: status.allocatable.pods (or capacity)."""
    for key in ("allocatable", "capacity"):
        value = _dig(node, "status", key, "pods")
        if isinstance(value, str) and value.isdigit() and len(value) < 10:
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return DEFAULT_MAX_PODS_PER_NODE


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
