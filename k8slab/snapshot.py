"""`k8slab snapshot`: the learner's own kubectl, read-only `get` calls, one file every command reads."""

# k8slab never talks to a cluster itself: it runs the kubectl the learner already uses, with the
# learner's kubeconfig and context, and only `kubectl get` (plus `kubectl api-resources` and
# `kubectl config`, which read discovery and the local kubeconfig). What it asks for is exactly
# what k8slab reads (RESOURCES); the answers are joined into one `kind: List` in JSON (JSON is
# YAML, and it loads several times faster than YAML).

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from .errors import K8slabError

__all__ = ["RESOURCES", "SINGLE_OBJECTS", "Snapshot", "snapshot", "read_only_cluster_role"]

#: (resource as kubectl names it, API group, namespaced, required): what k8slab reads. The
#: optional ones are asked for only when `kubectl api-resources` lists them (ServiceCIDR is GA
#: in 1.33; the Gateway API is a set of CRDs a cluster may not have).
RESOURCES = (
    ("nodes", "", False, True),
    ("namespaces", "", False, True),
    ("pods", "", True, True),
    ("services", "", True, True),
    ("endpointslices", "discovery.k8s.io", True, True),
    ("networkpolicies", "networking.k8s.io", True, True),
    ("ingresses", "networking.k8s.io", True, False),
    ("servicecidrs", "networking.k8s.io", False, False),
    ("gatewayclasses", "gateway.networking.k8s.io", False, False),
    ("gateways", "gateway.networking.k8s.io", True, False),
    ("httproutes", "gateway.networking.k8s.io", True, False),
    ("referencegrants", "gateway.networking.k8s.io", True, False),
)
#: Single objects k8slab reads when they exist: kube-proxy's configuration (mode and
#: settings), Cilium's (whether it replaces kube-proxy), and, for a one-namespace snapshot, the
#: two Services that say the cluster's Service range and DNS address.
SINGLE_OBJECTS = (
    ("configmaps", "kube-system", "kube-proxy"),
    ("configmaps", "kube-system", "cilium-config"),
    ("services", "default", "kubernetes"),
    ("services", "kube-system", "kube-dns"),
)
_TIMEOUT = "20s"                # kubectl's --request-timeout for each call
_WAIT = 120                     # seconds before k8slab gives up on one kubectl run


@dataclass
class Snapshot:
    """What `snapshot` wrote: the file, how many objects of each resource, what was left out."""

    path: str
    context: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def text(self) -> str:
        total = sum(self.counts.values())
        parts = ", ".join(f"{n} {r}" for r, n in self.counts.items() if n)
        lines = [f"wrote {self.path}: {total} objects from context {self.context} ({parts or 'none'})"]
        lines += [f"  not in this cluster: {s}" for s in self.skipped]
        lines.append(f"next: k8slab route {self.path} --service NAME --namespace NS --client laptop")
        return "\n".join(lines)


def read_only_cluster_role() -> str:
    """The ClusterRole that lets `k8slab snapshot` read everything it asks for, and nothing else."""
    by_group: dict[str, list[str]] = {}
    for resource, group, _, _ in RESOURCES:
        by_group.setdefault(group, []).append(resource)
    rules = []
    for group, resources in by_group.items():
        rules.append(f"- apiGroups: [\"{group}\"]\n  resources: [{', '.join(sorted(resources))}]\n"
                     "  verbs: [get, list]")
    # ConfigMaps may hold anything: only the two k8slab reads, by name (get only, as
    # resourceNames allows).
    names = sorted({obj for resource, _, obj in SINGLE_OBJECTS if resource == "configmaps"})
    rules.append(f"- apiGroups: [\"\"]\n  resources: [configmaps]\n  resourceNames: [{', '.join(names)}]\n"
                 "  verbs: [get]")
    return ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
            "  name: k8slab-snapshot-reader\nrules:\n" + "\n".join(rules) + "\n")


def _kubectl(kubectl: str, args: list[str], context: str | None) -> subprocess.CompletedProcess:
    argv = [kubectl, *args]
    if context:
        argv += ["--context", context]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=_WAIT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise K8slabError(f"`{' '.join(args[:2])}` did not answer within {_WAIT} s: the cluster is "
                          "unreachable or very slow (check `kubectl cluster-info`)") from None
    except OSError as e:
        raise K8slabError(f"could not run {kubectl}: {e.strerror or e}") from None


def _fail(p: subprocess.CompletedProcess, what: str, context: str) -> K8slabError:
    """kubectl's failure as the learner can act on it: forbidden, unreachable, or its own words."""
    err = (p.stderr or "").strip()
    last = err.splitlines()[-1] if err else f"kubectl exited with {p.returncode}"
    low = err.lower()
    if "forbidden" in low:
        return K8slabError(
            f"{what}: your user may not read this ({last}).\nk8slab only reads (get, list). A cluster "
            "admin can allow it with this ClusterRole, bound to you with a ClusterRoleBinding "
            "(`kubectl create clusterrolebinding k8slab-snapshot-reader --clusterrole=k8slab-snapshot-reader "
            "--user=YOU`):\n\n" + read_only_cluster_role())
    if any(s in low for s in ("unable to connect", "connection refused", "was refused", "i/o timeout",
                              "no such host", "no route to host", "timeout", "eof")):
        return K8slabError(f"{what}: the cluster of context {context} is unreachable ({last}). Is it "
                           "running (`kind get clusters`, `minikube status`, `k3s` service)? "
                           "`kubectl cluster-info` says more.")
    if "unauthorized" in low or "must be logged in" in low:
        return K8slabError(f"{what}: the cluster does not accept your credentials ({last}); log in again "
                           "as your cluster's docs say, then retry")
    return K8slabError(f"{what}: kubectl failed: {last}")


def _items(p: subprocess.CompletedProcess, what: str) -> list[dict]:
    try:
        doc = json.loads(p.stdout or "{}")
    except ValueError:
        raise K8slabError(f"{what}: kubectl's output is not JSON ({(p.stdout or '')[:80]!r})") from None
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        return [i for i in doc["items"] if isinstance(i, dict)]
    return [doc] if isinstance(doc, dict) and doc.get("kind") else []


def snapshot(output: str, *, context: str | None = None, namespace: str | None = None,
             all_namespaces: bool = False, kubectl: str | None = None) -> Snapshot:
    """Read the cluster of `context` (default: kubectl's current one) with read-only `kubectl get`
    calls and write what k8slab reads to `output`, as one JSON `kind: List`.

    `namespace` limits the namespaced resources to one namespace; `all_namespaces` reads them
    all; neither means the context's own namespace, as `kubectl get` does. Nodes, namespaces and
    ServiceCIDRs are cluster-wide either way: routing needs them. K8slabError says what went
    wrong in words a learner can act on (no kubectl, no context, forbidden, unreachable)."""
    if namespace and all_namespaces:
        raise K8slabError("give -n NAMESPACE or -A, not both")
    kubectl = kubectl or os.environ.get("K8SLAB_KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        raise K8slabError("no kubectl found on PATH: `k8slab snapshot` runs your own kubectl. Install it "
                          "(kubernetes.io/docs/tasks/tools), or with kind, minikube or k3s use theirs: "
                          "`minikube kubectl --`, `k3s kubectl`; or save the output of "
                          "`kubectl get nodes,pods,services,endpointslices -A -o yaml` yourself")
    if context is None:
        p = _kubectl(kubectl, ["config", "current-context"], None)
        context = (p.stdout or "").strip()
        if p.returncode or not context:
            raise K8slabError("kubectl has no current context (no cluster chosen): list them with "
                              "`kubectl config get-contexts`, then give one with --context NAME "
                              "(kind: kind-kind, minikube: minikube, k3s: default)")
    else:
        p = _kubectl(kubectl, ["config", "get-contexts", context, "-o", "name"], None)
        if p.returncode:
            raise K8slabError(f"kubectl knows no context {context!r}: list them with "
                              "`kubectl config get-contexts`")
    p = _kubectl(kubectl, ["api-resources", "-o", "name", f"--request-timeout={_TIMEOUT}"], context)
    if p.returncode and not p.stdout:
        raise _fail(p, "kubectl api-resources", context)
    available = set((p.stdout or "").split())
    items: list[dict] = []
    result = Snapshot(output, context)
    scope = ["-A"] if all_namespaces else (["-n", namespace] if namespace else [])
    for resource, group, namespaced, required in RESOURCES:
        name = f"{resource}.{group}" if group else resource
        if not required and name not in available:
            result.skipped.append(f"{name} (no such API here)")
            continue
        args = ["get", name, "-o", "json", f"--request-timeout={_TIMEOUT}"] + (scope if namespaced else [])
        p = _kubectl(kubectl, args, context)
        if p.returncode:
            raise _fail(p, f"kubectl get {name}", context)
        found = _items(p, f"kubectl get {name}")
        result.counts[resource] = len(found)
        items.extend(found)
    seen = {(i.get("kind"), (i.get("metadata") or {}).get("namespace"), (i.get("metadata") or {}).get("name"))
            for i in items}
    for resource, ns, obj in SINGLE_OBJECTS:
        kind = "ConfigMap" if resource == "configmaps" else "Service"
        if (kind, ns, obj) in seen:
            continue
        p = _kubectl(kubectl, ["get", resource, obj, "-n", ns, "-o", "json", "--ignore-not-found",
                               f"--request-timeout={_TIMEOUT}"], context)
        if p.returncode:
            if resource == "configmaps" and "forbidden" in (p.stderr or "").lower():
                result.skipped.append(f"{ns}/{obj} ConfigMap (not allowed to read it)")
                continue
            raise _fail(p, f"kubectl get {resource} {obj} -n {ns}", context)
        found = _items(p, f"kubectl get {resource} {obj}") if (p.stdout or "").strip() else []
        result.counts[resource] = result.counts.get(resource, 0) + len(found)
        items.extend(found)
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
    tmp = f"{output}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            # Readable for a learner's cluster; compact for a large one (k8slab reads files up
            # to manifests.MAX_FILE_BYTES, and indentation alone can add half again).
            json.dump(doc, f, indent=1 if len(items) < 10_000 else None,
                      separators=None if len(items) < 10_000 else (",", ":"))
            f.write("\n")
        os.replace(tmp, output)
    except OSError as e:
        raise K8slabError(f"cannot write {output}: {e.strerror or e}") from None
    return result
