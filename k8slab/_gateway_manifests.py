"""Gateway API and Ingress objects: their CRD/API-server validation and their reading into the model."""

# Validation follows what the API server enforces for these kinds, in its own words:
#   Gateway API (CRDs, standard channel): the OpenAPI schema of kubernetes-sigs/gateway-api
#   apis/v1/*_types.go (kubebuilder markers: Enum, Minimum/Maximum, MaxItems, MaxLength,
#   Pattern, defaults) and its CEL rules (x-kubernetes-validations, the XValidation markers),
#   whose messages are copied verbatim. The apiextensions server prints a schema error as
#   "FIELD: Invalid value: VALUE: FIELD in body should ..." (k8s.io/kube-openapi
#   pkg/validation/errors) and a CEL failure as 'FIELD: Invalid value: "object": MESSAGE'.
#   Ingress (built in): kubernetes/kubernetes pkg/apis/networking/validation/validation.go.

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .model import (
    Gateway, GatewayClass, GatewayObjects, HTTPBackendRef, HTTPMatchValue, HTTPRoute, HTTPRouteMatch,
    HTTPRouteRule, Ingress, IngressBackend, IngressPath, IngressRule, LabelSelector, Listener,
    ParentRef, ReferenceGrant,
)

__all__ = ["GATEWAY_GROUP", "API_VERSIONS", "validate", "read", "CheckProblem"]

GATEWAY_GROUP = "gateway.networking.k8s.io"
#: The kinds read here and the apiVersions each may carry (ReferenceGrant is served as
#: v1beta1 and, since Gateway API v1.5, v1 too).
API_VERSIONS = {
    "GatewayClass": ("gateway.networking.k8s.io/v1",),
    "Gateway": ("gateway.networking.k8s.io/v1",),
    "HTTPRoute": ("gateway.networking.k8s.io/v1",),
    "ReferenceGrant": ("gateway.networking.k8s.io/v1beta1", "gateway.networking.k8s.io/v1"),
    "Ingress": ("networking.k8s.io/v1",),
}


@dataclass(frozen=True)
class CheckProblem:
    """One problem found in one object: the field path and the API server's message."""

    path: str
    message: str


# --- Formats, as the CRD schema writes them (apis/v1/shared_types.go, gateway_types.go) ----------
_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_PRECISE_HOSTNAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_SECTION_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_NAMESPACE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_KIND = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
_GROUP = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_PROTOCOL = (r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?"
             r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$")
_CONTROLLER = (r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/"
               r"[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$")
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$"
_PATH_CHARS = r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_FILTER_TYPES = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
                 "URLRewrite", "ExtensionRef", "CORS")
_FILTER_FIELDS = {"CORS": "cors", "RequestHeaderModifier": "requestHeaderModifier",
                  "ResponseHeaderModifier": "responseHeaderModifier", "RequestMirror": "requestMirror",
                  "RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite",
                  "ExtensionRef": "extensionRef"}
_PATH_RULES = (   # HTTPPathMatch's CEL rules (httproute_types.go), in order; Exact and PathPrefix only
    (lambda v: v.startswith("/"), "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: "//" not in v, "must not contain '//' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: "/./" not in v, "must not contain '/./' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: "/../" not in v, "must not contain '/../' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: "%2f" not in v, "must not contain '%2f' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: "%2F" not in v, "must not contain '%2F' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: "#" not in v, "must not contain '#' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: not v.endswith("/.."), "must not end with '/..' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: not v.endswith("/."), "must not end with '/.' when type one of ['Exact', 'PathPrefix']"),
    (lambda v: re.match(_PATH_CHARS, v) is not None,
     "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) "
     "for types ['Exact', 'PathPrefix']"),
)


def _show(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)[:200]


_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object", type(None): "null"}


def _type_name(value) -> str:
    # The exact type first (the common case, and cheap); then subclasses, bool before int.
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    for t in (bool, int, float, str, list, dict):
        if isinstance(value, t):
            return _TYPE_NAMES[t]
    return "null"


class _Checks:
    """Collects problems for one object; each helper checks one schema rule on one field."""

    def __init__(self):
        self.found: list[CheckProblem] = []

    def add(self, path: str, message: str) -> None:
        self.found.append(CheckProblem(path, message))

    def typed(self, value, want: str, path: str) -> bool:
        """The schema's type check; False (and a problem) when `value` has another JSON type."""
        got = _type_name(value)
        if got == want or (want == "number" and got == "integer"):
            return True
        self.add(path, f'Invalid value: "{got}": {path} in body must be of type {want}: "{got}"')
        return False

    def required(self, obj: dict, key: str, path: str) -> bool:
        if obj.get(key) in (None, ""):
            self.add(f"{path}.{key}" if path else key, "Required value")
            return False
        return True

    def string(self, obj: dict, key: str, path: str, *, pattern: str | None = None,
               max_len: int | None = None, min_len: int = 0, enum=None, required: bool = False) -> str | None:
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if required:
                self.add(where, "Required value")
            return None
        if not self.typed(value, "string", where):
            return None
        if enum is not None and value not in enum:
            self.add(where, f"Unsupported value: {_show(value)}: supported values: "
                            + ", ".join(json.dumps(e) for e in enum))
            return None
        if len(value) < min_len:
            self.add(where, f"Invalid value: {_show(value)}: {where} in body should be at least {min_len} chars long")
            return None
        if max_len is not None and len(value) > max_len:
            self.add(where, f"Too long: may not be more than {max_len} bytes")
            return None
        if pattern is not None and value and re.search(pattern, value) is None:
            self.add(where, f"Invalid value: {_show(value)}: {where} in body should match '{pattern}'")
            return None
        return value

    def integer(self, obj: dict, key: str, path: str, low: int, high: int, required: bool = False) -> int | None:
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if required:
                self.add(where, "Required value")
            return None
        if not self.typed(value, "integer", where):
            return None
        if value < low:
            self.add(where, f"Invalid value: {value}: {where} in body should be greater than or equal to {low}")
            return None
        if value > high:
            self.add(where, f"Invalid value: {value}: {where} in body should be less than or equal to {high}")
            return None
        return value

    def items(self, obj: dict, key: str, path: str, most: int, least: int = 0) -> list:
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if least:
                self.add(where, "Required value")
            return []
        if not self.typed(value, "array", where):
            return []
        if len(value) < least:
            self.add(where, f"Invalid value: {len(value)}: {where} in body should have at least {least} items")
        if len(value) > most:
            self.add(where, f"Too many: {len(value)}: must have at most {most} items")
            return []
        return [(f"{where}[{i}]", v) for i, v in enumerate(value) if self.typed(v, "object", f"{where}[{i}]")]

    def items_raw(self, obj: dict, key: str, path: str, most: int) -> list:
        """A list of scalars (hostnames): its type and length checked, its items not yet."""
        where = f"{path}.{key}"
        value = obj.get(key)
        if value is None or not self.typed(value, "array", where):
            return []
        if len(value) > most:
            self.add(where, f"Too many: {len(value)}: must have at most {most} items")
            return []
        return value

    def obj(self, parent: dict, key: str, path: str) -> dict:
        where = f"{path}.{key}" if path else key
        value = parent.get(key)
        if value is None:
            return {}
        return value if self.typed(value, "object", where) else {}

    def cel(self, path: str, message: str, kind: str = "object") -> None:
        self.add(path, f'Invalid value: "{kind}": {message}')


def _meta(c: _Checks, obj: dict, namespaced: bool) -> None:
    meta = c.obj(obj, "metadata", "")
    name = meta.get("name")
    if name in (None, ""):
        c.add("metadata.name", "Required value: name or generateName is required")
    elif c.typed(name, "string", "metadata.name"):
        if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
            c.add("metadata.name", f"Invalid value: {_show(name)}: a lowercase RFC 1123 subdomain must consist "
                                   "of lower case alphanumeric characters, '-' or '.', and must start and end "
                                   "with an alphanumeric character (e.g. 'example.com', regex used for validation "
                                   "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    ns = meta.get("namespace")
    if namespaced and ns not in (None, "") and c.typed(ns, "string", "metadata.namespace"):
        if len(ns) > 63 or not _DNS_LABEL.fullmatch(ns):
            c.add("metadata.namespace", f"Invalid value: {_show(ns)}: a lowercase RFC 1123 label must consist of "
                                        "lower case alphanumeric characters or '-', and must start and end with an "
                                        "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                                        "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    labels = meta.get("labels")
    if labels is not None:
        c.typed(labels, "object", "metadata.labels")


def _selector(c: _Checks, sel, path: str) -> None:
    if sel is None or not c.typed(sel, "object", path):
        return
    ml = sel.get("matchLabels")
    if ml is not None:
        c.typed(ml, "object", f"{path}.matchLabels")
    for where, e in c.items(sel, "matchExpressions", path, 10_000):
        c.string(e, "key", where, required=True)
        op = c.string(e, "operator", where, required=True)
        values = e.get("values") or []
        if op in ("In", "NotIn") and not values:
            c.add(f"{where}.values", "Required value: must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist") and values:
            c.add(f"{where}.values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        elif op is not None and op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            c.add(f"{where}.operator", f'Unsupported value: {_show(op)}: supported values: "In", "NotIn", "Exists", "DoesNotExist"')


# --- GatewayClass --------------------------------------------------------------------------------
def _gateway_class(c: _Checks, obj: dict) -> None:
    _meta(c, obj, namespaced=False)
    spec = c.obj(obj, "spec", "")
    if obj.get("spec") is None:
        c.add("spec", "Required value")
        return
    c.string(spec, "controllerName", "spec", pattern=_CONTROLLER, max_len=253, min_len=1, required=True)


# --- Gateway (apis/v1/gateway_types.go) ----------------------------------------------------------
def _gateway(c: _Checks, obj: dict) -> None:
    _meta(c, obj, namespaced=True)
    if obj.get("spec") is None:
        c.add("spec", "Required value")
        return
    spec = c.obj(obj, "spec", "")
    c.string(spec, "gatewayClassName", "spec", max_len=253, min_len=1, required=True)
    listeners = c.items(spec, "listeners", "spec", 64, least=1)
    good = []
    for where, li in listeners:
        name = c.string(li, "name", where, pattern=_SECTION_NAME, max_len=253, min_len=1, required=True)
        port = c.integer(li, "port", where, 1, 65535, required=True)
        protocol = c.string(li, "protocol", where, pattern=_PROTOCOL, max_len=255, min_len=1, required=True)
        host = c.string(li, "hostname", where, pattern=_HOSTNAME, max_len=253, min_len=1)
        tls = c.obj(li, "tls", where)
        if "tls" in li and isinstance(li.get("tls"), dict):
            mode = c.string(tls, "mode", f"{where}.tls", enum=("Terminate", "Passthrough")) or "Terminate"
            if mode == "Terminate" and not tls.get("certificateRefs") and not tls.get("options"):
                c.cel(f"{where}.tls", "certificateRefs or options must be specified when mode is Terminate")
        allowed = c.obj(li, "allowedRoutes", where)
        nss = c.obj(allowed, "namespaces", f"{where}.allowedRoutes")
        c.string(nss, "from", f"{where}.allowedRoutes.namespaces", enum=("All", "Selector", "Same"))
        _selector(c, nss.get("selector"), f"{where}.allowedRoutes.namespaces.selector")
        for kw, k in c.items(allowed, "kinds", f"{where}.allowedRoutes", 8):
            c.string(k, "group", kw, pattern=_GROUP, max_len=253)
            c.string(k, "kind", kw, pattern=_KIND, max_len=63, min_len=1, required=True)
        good.append((li, name, port, protocol, host))
    # The listeners list's CEL rules, in the order the CRD lists them.
    rules = (
        ("tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
         lambda l: not (l[3] in ("HTTP", "TCP", "UDP") and "tls" in l[0])),
        ("tls mode must be Terminate for protocol HTTPS",
         lambda l: not (l[3] == "HTTPS" and isinstance(l[0].get("tls"), dict))
         or l[0]["tls"].get("mode") in (None, "", "Terminate")),
        ("tls mode must be set for protocol TLS",
         lambda l: l[3] != "TLS" or (isinstance(l[0].get("tls"), dict) and l[0]["tls"].get("mode") not in (None, ""))),
        ("hostname must not be specified for protocols ['TCP', 'UDP']",
         lambda l: not (l[3] in ("TCP", "UDP") and l[0].get("hostname") not in (None, ""))),
    )
    for message, ok in rules:
        if not all(ok(l) for l in good):
            c.cel("spec.listeners", message, "array")
    names = [l[1] for l in good]
    if len(set(names)) != len(names):
        c.cel("spec.listeners", "Listener name must be unique within the Gateway", "array")
    combos = [(l[2], l[3], l[4]) for l in good]
    if len(set(combos)) != len(combos):
        c.cel("spec.listeners", "Combination of port, protocol and hostname must be unique for each listener", "array")


# --- HTTPRoute (apis/v1/httproute_types.go, shared_types.go) -------------------------------------
def _parent_refs(c: _Checks, spec: dict) -> None:
    refs = c.items(spec, "parentRefs", "spec", 32)
    seen = []
    for where, ref in refs:
        c.string(ref, "group", where, pattern=_GROUP, max_len=253)
        c.string(ref, "kind", where, pattern=_KIND, max_len=63, min_len=1)
        c.string(ref, "namespace", where, pattern=_NAMESPACE, max_len=63, min_len=1)
        c.string(ref, "name", where, max_len=253, min_len=1, required=True)
        c.string(ref, "sectionName", where, pattern=_SECTION_NAME, max_len=253, min_len=1)
        c.integer(ref, "port", where, 1, 65535)
        seen.append((ref.get("group", GATEWAY_GROUP), ref.get("kind", "Gateway"), ref.get("name"),
                     ref.get("namespace") or "", ref.get("sectionName") or ""))
    for i, a in enumerate(seen):
        same = [b for b in seen if b[:4] == a[:4]]
        if len(same) > 1 and any((b[4] == "") != (a[4] == "") for b in same):
            c.cel("spec.parentRefs", "sectionName must be specified when parentRefs includes 2 or more "
                                     "references to the same parent", "array")
            break
    if len(set(seen)) != len(seen):
        c.cel("spec.parentRefs", "sectionName must be unique when parentRefs includes 2 or more references "
                                 "to the same parent", "array")


def _match_values(c: _Checks, match: dict, key: str, where: str, name_pattern: str) -> None:
    for w, h in c.items(match, key, where, 16):
        c.string(h, "type", w, enum=("Exact", "RegularExpression"))
        c.string(h, "name", w, pattern=name_pattern, max_len=256, min_len=1, required=True)
        c.string(h, "value", w, max_len=4096 if key == "headers" else 1024, min_len=1, required=True)
        if h.get("type") == "RegularExpression" and isinstance(h.get("value"), str):
            _regex(c, h["value"], f"{w}.value")


def _regex(c: _Checks, value: str, where: str) -> None:
    # RegularExpression matches are implementation-specific (RE2 for Envoy); k8slab reads them as
    # Python's re and says so when one does not compile.
    try:
        re.compile(value)
    except re.error as e:
        c.add(where, f"Invalid value: {_show(value)}: k8slab cannot read this regular expression ({e})")


def _backend_ref(c: _Checks, ref: dict, where: str) -> None:
    group = c.string(ref, "group", where, pattern=_GROUP, max_len=253)
    kind = c.string(ref, "kind", where, pattern=_KIND, max_len=63, min_len=1)
    c.string(ref, "name", where, max_len=253, min_len=1, required=True)
    c.string(ref, "namespace", where, pattern=_NAMESPACE, max_len=63, min_len=1)
    c.integer(ref, "port", where, 1, 65535)
    c.integer(ref, "weight", where, 0, 1_000_000)
    if (group or "") == "" and (kind or "Service") == "Service" and ref.get("port") is None:
        c.cel(where, "Must have port for Service reference")
    _filters(c, ref, where, backend=True)


def _filters(c: _Checks, owner: dict, where: str, backend: bool = False) -> list[dict]:
    filters = c.items(owner, "filters", where, 16)
    for w, f in filters:
        ftype = c.string(f, "type", w, enum=_FILTER_TYPES, required=True)
        for t, fld in _FILTER_FIELDS.items():
            if fld in f and ftype != t:
                c.cel(w, f"filter.{fld} must be nil if the filter.type is not {t}")
            if ftype == t and fld not in f:
                c.cel(w, f"filter.{fld} must be specified for {t} filter.type")
        redirect = c.obj(f, "requestRedirect", w)
        if redirect:
            c.string(redirect, "scheme", f"{w}.requestRedirect", enum=("http", "https"))
            c.string(redirect, "hostname", f"{w}.requestRedirect", pattern=_PRECISE_HOSTNAME, max_len=253, min_len=1)
            c.integer(redirect, "port", f"{w}.requestRedirect", 1, 65535)
            code = redirect.get("statusCode")
            if code is not None and c.typed(code, "integer", f"{w}.requestRedirect.statusCode") \
                    and code not in (301, 302, 303, 307, 308):
                c.add(f"{w}.requestRedirect.statusCode",
                      f"Unsupported value: {code}: supported values: \"301\", \"302\", \"303\", \"307\", \"308\"")
    types = [f.get("type") for _, f in filters]
    fw = f"{where}.filters"
    if "RequestRedirect" in types and "URLRewrite" in types:
        c.cel(fw, "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both", "array")
    for t in ("CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"):
        if types.count(t) > 1:
            c.cel(fw, f"{t} filter cannot be repeated", "array")
    return [f for _, f in filters]


def _http_route(c: _Checks, obj: dict) -> None:
    _meta(c, obj, namespaced=True)
    if obj.get("spec") is None:
        c.add("spec", "Required value")       # `json:"spec"`, no omitempty: the schema requires it
        return
    spec = c.obj(obj, "spec", "")
    _parent_refs(c, spec)
    for where, h in ((f"spec.hostnames[{i}]", h) for i, h in enumerate(c.items_raw(spec, "hostnames", "spec", 16))):
        if c.typed(h, "string", where):
            if len(h) > 253:
                c.add(where, "Too long: may not be more than 253 bytes")
            elif re.search(_HOSTNAME, h) is None:
                c.add(where, f"Invalid value: {_show(h)}: {where} in body should match '{_HOSTNAME}'")
    rules = c.items(spec, "rules", "spec", 16)
    total = 0
    for where, rule in rules:
        c.string(rule, "name", where, pattern=_SECTION_NAME, max_len=253, min_len=1)
        matches = c.items(rule, "matches", where, 64)
        total += len(rule.get("matches") or []) if isinstance(rule.get("matches"), list) else 0
        for mw, m in matches:
            path = c.obj(m, "path", mw)
            if path:
                ptype = c.string(path, "type", f"{mw}.path", enum=("Exact", "PathPrefix", "RegularExpression"))
                value = c.string(path, "value", f"{mw}.path", max_len=1024)
                ptype = ptype or "PathPrefix"
                value = "/" if value is None else value
                if ptype in ("Exact", "PathPrefix"):
                    for ok, message in _PATH_RULES:
                        if not ok(value):
                            c.cel(f"{mw}.path", message)
                elif ptype == "RegularExpression":
                    _regex(c, value, f"{mw}.path.value")
            _match_values(c, m, "headers", mw, _HEADER_NAME)
            _match_values(c, m, "queryParams", mw, _HEADER_NAME)
            c.string(m, "method", mw, enum=_METHODS)
        filters = _filters(c, rule, where)
        refs = c.items(rule, "backendRefs", where, 16)
        for bw, ref in refs:
            _backend_ref(c, ref, bw)
        if refs and any("requestRedirect" in f for f in filters):
            c.cel(where, "RequestRedirect filter must not be used together with backendRefs")
    if total > 128:
        c.cel("spec.rules", "While 16 rules and 64 matches per rule are allowed, the total number of matches "
                            "across all rules in a route must be less than 128", "array")




# --- ReferenceGrant (apis/v1beta1/referencegrant_types.go) ---------------------------------------
def _reference_grant(c: _Checks, obj: dict) -> None:
    _meta(c, obj, namespaced=True)
    spec = c.obj(obj, "spec", "")
    if obj.get("spec") is None:
        c.add("spec", "Required value")
        return
    for where, f in c.items(spec, "from", "spec", 16, least=1):
        c.string(f, "group", where, pattern=_GROUP, max_len=253, required=False)
        if "group" not in f:
            c.add(f"{where}.group", "Required value")
        c.string(f, "kind", where, pattern=_KIND, max_len=63, min_len=1, required=True)
        c.string(f, "namespace", where, pattern=_NAMESPACE, max_len=63, min_len=1, required=True)
    for where, t in c.items(spec, "to", "spec", 16, least=1):
        if "group" not in t:
            c.add(f"{where}.group", "Required value")
        c.string(t, "group", where, pattern=_GROUP, max_len=253)
        c.string(t, "kind", where, pattern=_KIND, max_len=63, min_len=1, required=True)
        c.string(t, "name", where, max_len=253, min_len=1)


# --- Ingress (kubernetes pkg/apis/networking/validation/validation.go) ---------------------------
_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def _ingress_backend(c: _Checks, b: dict, where: str) -> None:
    svc, res = b.get("service"), b.get("resource")
    if svc is not None and res is not None:
        c.add(where, "Invalid value: \"\": cannot set both resource and service backends")
        return
    if svc is None and res is None:
        c.add(where, "Invalid value: \"\": resource or service backend is required")
        return
    if svc is not None and c.typed(svc, "object", f"{where}.service"):
        name = svc.get("name")
        if name in (None, ""):
            c.add(f"{where}.service.name", "Required value")
        elif not isinstance(name, str) or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) or len(name) > 63:
            c.add(f"{where}.service.name", f"Invalid value: {_show(name)}: a DNS-1035 label must consist of lower "
                                           "case alphanumeric characters or '-', start with an alphabetic character, "
                                           "and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                                           "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
        port = svc.get("port") if isinstance(svc.get("port"), dict) else {}
        pname, pnum = port.get("name"), port.get("number")
        if pname not in (None, "") and pnum not in (None, 0):
            c.add(f"{where}.service.port", "Invalid value: \"\": cannot set both port name & port number")
        elif pname not in (None, ""):
            if not isinstance(pname, str) or len(pname) > 15 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", pname) \
                    or not re.search("[a-z]", pname) or "--" in pname:
                c.add(f"{where}.service.port.name", f"Invalid value: {_show(pname)}: must be an IANA_SVC_NAME")
        elif pnum not in (None, 0):
            if not isinstance(pnum, int) or isinstance(pnum, bool) or not 1 <= pnum <= 65535:
                c.add(f"{where}.service.port.number", f"Invalid value: {_show(pnum)}: must be between 1 and 65535, inclusive")
        else:
            c.add(f"{where}.service.port", "Invalid value: \"\": port name or number is required")
    if res is not None and c.typed(res, "object", f"{where}.resource"):
        for key in ("kind", "name"):
            if res.get(key) in (None, ""):
                c.add(f"{where}.resource.{key}", "Required value")


def _ingress(c: _Checks, obj: dict) -> None:
    _meta(c, obj, namespaced=True)
    spec = c.obj(obj, "spec", "")
    cls = spec.get("ingressClassName")
    if cls is not None and (not isinstance(cls, str) or not _DNS_SUBDOMAIN.fullmatch(cls)):
        c.add("spec.ingressClassName", f"Invalid value: {_show(cls)}: a lowercase RFC 1123 subdomain must consist "
                                       "of lower case alphanumeric characters, '-' or '.', and must start and end "
                                       "with an alphanumeric character (e.g. 'example.com', regex used for "
                                       "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    default = spec.get("defaultBackend")
    rules = spec.get("rules")
    if not default and not rules:
        c.add("spec", "Invalid value: \"\": either `defaultBackend` or `rules` must be specified")
    if default is not None and c.typed(default, "object", "spec.defaultBackend"):
        _ingress_backend(c, default, "spec.defaultBackend")
    for where, rule in c.items(spec, "rules", "spec", 10_000):
        host = rule.get("host")
        if host not in (None, ""):
            if not isinstance(host, str):
                c.typed(host, "string", f"{where}.host")
            else:
                plain = host[2:] if host.startswith("*.") else host
                if "*" in plain or not _DNS_SUBDOMAIN.fullmatch(plain) or len(host) > 253:
                    what = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain" \
                        if host.startswith("*") else "a lowercase RFC 1123 subdomain must consist of lower case " \
                        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                    c.add(f"{where}.host", f"Invalid value: {_show(host)}: {what}")
        http = c.obj(rule, "http", where)
        if "http" in rule:
            paths = c.items(http, "paths", f"{where}.http", 10_000)
            if not paths:
                c.add(f"{where}.http.paths", "Required value")
            for pw, p in paths:
                ptype = p.get("pathType")
                if ptype in (None, ""):
                    c.add(f"{pw}.pathType", "Required value: pathType must be specified")
                elif ptype not in _PATH_TYPES:
                    c.add(f"{pw}.pathType", f"Unsupported value: {_show(ptype)}: supported values: "
                                            "\"Exact\", \"ImplementationSpecific\", \"Prefix\"")
                path = p.get("path")
                if ptype in ("Exact", "Prefix"):
                    if not isinstance(path, str) or not path.startswith("/"):
                        c.add(f"{pw}.path", f"Invalid value: {_show(path)}: must be an absolute path")
                    elif any(bad in path for bad in ("//", "/./", "/../", "%2f", "%2F")) or \
                            path.endswith(("/..", "/.")):
                        c.add(f"{pw}.path", f"Invalid value: {_show(path)}: must not contain '//', '/./', '/../', "
                                            "'%2f' or '%2F', nor end in '/..' or '/.'")
                elif ptype == "ImplementationSpecific" and path not in (None, "") and \
                        (not isinstance(path, str) or not path.startswith("/")):
                    c.add(f"{pw}.path", f"Invalid value: {_show(path)}: must be an absolute path")
                backend = p.get("backend")
                if backend is None:
                    c.add(f"{pw}.backend", "Required value")
                elif c.typed(backend, "object", f"{pw}.backend"):
                    _ingress_backend(c, backend, f"{pw}.backend")


_CHECKS = {"GatewayClass": _gateway_class, "Gateway": _gateway, "HTTPRoute": _http_route,
           "ReferenceGrant": _reference_grant, "Ingress": _ingress}


def validate(obj: dict) -> list[CheckProblem]:
    """Every problem the API server would report for one of these objects (empty: valid)."""
    api, kind = obj.get("apiVersion"), obj.get("kind")
    allowed = API_VERSIONS[kind]
    if api not in allowed:
        return [CheckProblem("apiVersion", f"Unsupported value: {_show(api)}: supported values: "
                                           + ", ".join(json.dumps(a) for a in allowed))]
    c = _Checks()
    _CHECKS[kind](c, obj)
    return c.found


# --- Reading (after validation: every field has the right type) ----------------------------------
def _selector_spec(sel) -> LabelSelector | None:
    if not isinstance(sel, dict):
        return None
    labels = tuple(sorted((str(k), "" if v is None else str(v)) for k, v in (sel.get("matchLabels") or {}).items()))
    exprs = tuple((e.get("key"), e.get("operator"), tuple(str(v) for v in e.get("values") or ()))
                  for e in sel.get("matchExpressions") or ())
    return LabelSelector(labels, exprs)


def _listener(li: dict) -> Listener:
    allowed = li.get("allowedRoutes") or {}
    nss = allowed.get("namespaces") or {}
    kinds = tuple((k.get("group", GATEWAY_GROUP) or "", k["kind"]) for k in allowed.get("kinds") or ())
    return Listener(li["name"], li["port"], li["protocol"], li.get("hostname") or None,
                    nss.get("from") or "Same", _selector_spec(nss.get("selector")), kinds)


def _match(m: dict) -> HTTPRouteMatch:
    path = m.get("path") or {}

    def values(key):
        return tuple(HTTPMatchValue(v["name"], v["value"], v.get("type") or "Exact") for v in m.get(key) or ())

    return HTTPRouteMatch(path.get("type") or "PathPrefix", "/" if path.get("value") is None else path["value"],
                          values("headers"), values("queryParams"), m.get("method"))


def _rule(rule: dict) -> HTTPRouteRule:
    matches = tuple(_match(m) for m in rule.get("matches") or ()) or (HTTPRouteMatch(),)
    refs = tuple(HTTPBackendRef(r["name"], r.get("namespace") or None, r.get("group", "") or "",
                                r.get("kind") or "Service", r.get("port"),
                                1 if r.get("weight") is None else r["weight"],
                                tuple(f.get("type") for f in r.get("filters") or ()), _redirect_of(r))
                 for r in rule.get("backendRefs") or ())
    filters = rule.get("filters") or ()
    return HTTPRouteRule(matches, refs, tuple(f.get("type") for f in filters), _redirect_of(rule),
                         rule.get("name"))


def _redirect_of(owner: dict) -> dict | None:
    """The requestRedirect of a rule's (or a backendRef's) RequestRedirect filter, if it has one."""
    redirect = next((f.get("requestRedirect") for f in owner.get("filters") or ()
                     if f.get("type") == "RequestRedirect"), None)
    return dict(redirect) if isinstance(redirect, dict) else None


def _ingress_backend_of(b) -> IngressBackend | None:
    if not isinstance(b, dict):
        return None
    if b.get("service"):
        port = b["service"].get("port") or {}
        return IngressBackend(b["service"]["name"], port.get("number") or port.get("name"))
    res = b.get("resource") or {}
    return IngressBackend(resource=f"{res.get('kind')}/{res.get('name')}")


def read(objects) -> GatewayObjects:
    """The model of these validated objects: (kind, namespace, dict) triples, in input order."""
    classes, gateways, routes, grants, ingresses, labels = [], [], [], [], [], {}
    for kind, ns, obj in objects:
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        spec = obj.get("spec") or {}
        if kind == "Namespace":
            labels[name] = {str(k): "" if v is None else str(v) for k, v in (meta.get("labels") or {}).items()}
        elif kind == "GatewayClass":
            classes.append(GatewayClass(name, spec.get("controllerName")))
        elif kind == "Gateway":
            addresses = [a.get("value") for a in (obj.get("status") or {}).get("addresses") or () if isinstance(a, dict)]
            addresses += [a.get("value") for a in spec.get("addresses") or () if isinstance(a, dict)]
            gateways.append(Gateway(name, ns, spec.get("gatewayClassName"),
                                    tuple(_listener(li) for li in spec.get("listeners") or ()),
                                    tuple(a for a in addresses if isinstance(a, str))))
        elif kind == "HTTPRoute":
            parents = tuple(ParentRef(p["name"], p.get("namespace") or None, p.get("group", GATEWAY_GROUP),
                                      p.get("kind") or "Gateway", p.get("sectionName") or None, p.get("port"))
                            for p in spec.get("parentRefs") or ())
            created = meta.get("creationTimestamp")
            routes.append(HTTPRoute(name, ns, parents, tuple(spec.get("hostnames") or ()),
                                    tuple(_rule(r) for r in spec.get("rules") or ()) or (HTTPRouteRule(),),
                                    str(created) if created is not None else None))
        elif kind == "ReferenceGrant":
            grants.append(ReferenceGrant(
                name, ns,
                tuple((f.get("group") or "", f.get("kind"), f.get("namespace")) for f in spec.get("from") or ()),
                tuple((t.get("group") or "", t.get("kind"), t.get("name") or None) for t in spec.get("to") or ())))
        elif kind == "Ingress":
            rules = []
            for r in spec.get("rules") or ():
                paths = tuple(IngressPath(p.get("path"), p.get("pathType"), _ingress_backend_of(p.get("backend")))
                              for p in (r.get("http") or {}).get("paths") or ())
                rules.append(IngressRule(r.get("host") or None, paths))
            ingresses.append(Ingress(name, ns, spec.get("ingressClassName"),
                                     _ingress_backend_of(spec.get("defaultBackend")), tuple(rules)))
    return GatewayObjects(tuple(classes), tuple(gateways), tuple(routes), tuple(grants), tuple(ingresses), labels)
