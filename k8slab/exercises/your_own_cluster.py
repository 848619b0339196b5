"""Notebook 09's checks: what a snapshot of a real cluster says, and what k8slab makes of it."""

# Every key is computed from k8slab's own model over the snapshots notebook 09 ships (copies in
# k8slab/data, kept equal to notebooks/manifests/snapshots by a test), never typed in by hand.
from __future__ import annotations

from functools import lru_cache

from .mechanism import EXERCISES, Exercise, Feedback, register, right, wrong, whole

__all__ = ["STORED_OR_WRITTEN", "snapshot_text", "k3s_service"]


def snapshot_text(name: str) -> str:
    """A snapshot notebook 09 ships, by its name there (openshift3, xcluster-mconnect)."""
    from importlib.resources import files
    return files("k8slab").joinpath(f"data/snapshot-{name}.yaml").read_text(encoding="utf-8")


def k3s_service(stored: bool) -> str:
    """The same k3s Service as `kubectl get -o yaml` prints it (stored) or as a learner writes it."""
    marks = ', uid: 6f1c2a, resourceVersion: "48213"' if stored else ""
    return ("apiVersion: v1\nkind: Service\n"
            f"metadata: {{name: web, namespace: default{marks}}}\n"
            "spec: {type: ClusterIP, clusterIP: 10.43.7.7, selector: {app: web}, ports: [{port: 80}]}\n")


#: Exercise 1's choices: which of the two copies of k3s_service k8slab refuses.
STORED_OR_WRITTEN = {
    "a": "the copy from `kubectl get -o yaml` (with uid and resourceVersion)",
    "b": "the copy you wrote yourself (no uid, no resourceVersion)",
    "c": "both: 10.43.7.7 is not a valid cluster IP",
    "d": "neither: a cluster IP is always taken as written",
}


def _refused() -> set[str]:
    from ..manifests import validate_texts
    return {letter for letter, stored in (("a", True), ("b", False))
            if validate_texts([("web.yaml", k3s_service(stored))])}


def _key_stored_or_written() -> str:
    refused = _refused()
    return {frozenset({"a"}): "a", frozenset({"b"}): "b", frozenset({"a", "b"}): "c"}.get(frozenset(refused), "d")


def _check_stored_or_written(answer) -> Feedback:
    ex = "stored-or-written"
    hint = EXERCISES[ex].hint
    letter = answer.strip().lower().strip("()") if isinstance(answer, str) else None
    if letter not in STORED_OR_WRITTEN:
        return wrong(ex, "format", "Give one letter: " + ", ".join(f'`"{k}"`' for k in STORED_OR_WRITTEN) + ".",
                     hint)
    key = _key_stored_or_written()
    if letter == key:
        return right(ex, "The copy with uid and resourceVersion was created by a real API server, whose "
                         "range was 10.43.0.0/16: k8slab takes it as it is. The copy you wrote is "
                         "checked as `kubectl create` would check it against the range k8slab knows "
                         "(kubeadm's 10.96.0.0/12 here, since nothing says otherwise), and refused.")
    if letter == "a":
        return wrong(ex, "stored-rechecked",
                     "A stored object is not allocated again: its API server already gave it that "
                     "address, inside that cluster's own range. Checking it against kubeadm's range "
                     "would call every k3s, GKE or OpenShift Service invalid.", hint)
    if letter == "c":
        return wrong(ex, "one-true-range",
                     "There is no single valid range: 10.96.0.0/12 is kubeadm's default, k3s uses "
                     "10.43.0.0/16, GKE 34.118.224.0/20. Each API server checks against its own.", hint)
    return wrong(ex, "ip-never-checked",
                 "A written manifest goes through the API server's allocator: an address outside its "
                 "range is refused with `failed to allocate IP ...: the provided IP is not in the "
                 "valid range`.", hint)


@lru_cache(maxsize=1)
def _openshift_with_new_service():
    from ..manifests import load_texts
    new = ("apiVersion: v1\nkind: Service\nmetadata: {name: added, namespace: default}\n"
           "spec: {selector: {app: added}, ports: [{port: 80}]}\n")
    return load_texts([("openshift3.yaml", snapshot_text("openshift3")), ("added.yaml", new)])


def _check_learned_address(answer) -> Feedback:
    ex = "learned-address"
    hint = EXERCISES[ex].hint
    cluster = _openshift_with_new_service()
    key = cluster.service("added").cluster_ip
    got = answer.strip() if isinstance(answer, str) else None
    if got is None:
        return wrong(ex, "format", 'Give the address as text, like `"10.1.2.3"`.', hint)
    if got == key:
        return right(ex, f"{key}: default/kubernetes holds {cluster.service('kubernetes').cluster_ip}, the "
                         "first address of the cluster's range, so the range starts just below it, and "
                         "k8slab fills in from the range's eleventh address on, as it does with "
                         "kubeadm's (10.96.0.11).")
    if got.startswith("10.96."):
        return wrong(ex, "kubeadm-everywhere",
                     "10.96.0.0/12 is kubeadm's default, not every cluster's. This snapshot says its "
                     "own range: look at default/kubernetes's cluster IP.", hint)
    if got == cluster.service("kubernetes").cluster_ip:
        return wrong(ex, "first-address-free",
                     "That address is taken: it is the API server's own Service, default/kubernetes, "
                     "always the range's first address.", hint)
    return wrong(ex, "guess", f"Not {got}. Load the snapshot plus a Service without clusterIP and read "
                              "what k8slab gave it; the rule is the same as kubeadm's, in another range.",
                 hint)


@lru_cache(maxsize=1)
def _mconnect_counts() -> dict[str, int]:
    from ..manifests import load_texts
    from ..simulate import simulate
    cluster = load_texts([("xcluster-mconnect.yaml", snapshot_text("xcluster-mconnect"))])
    route = cluster.route(client="node/vm-003", service="mconnect")
    sim = simulate(route, 100, clients=1, seed=0)
    return dict(sim.to_dict()["pods"])


def _check_recorded_split(answer) -> Feedback:
    ex = "recorded-split"
    hint = EXERCISES[ex].hint
    counts = _mconnect_counts()
    each = set(counts.values())
    n = whole(answer)
    if n is None:
        return wrong(ex, "format", "Give one whole number: the connections each pod gets.", hint)
    if len(each) == 1 and n in each:
        return right(ex, f"{n} each, exactly, as the recorded mconnect loop shows: the cluster's kube-proxy "
                         "runs in IPVS mode, whose default scheduler (rr) hands new connections to the "
                         f"{len(counts)} pods in turn. In iptables mode each pod would get 25 only on "
                         "average: every connection is an independent random pick.")
    if n == 100:
        return wrong(ex, "one-pod-gets-all",
                     "mconnect opens 100 separate connections, and kube-proxy picks a pod for each new "
                     "connection, not once per client.", hint)
    return wrong(ex, "uneven",
                 f"Not {n}: there are {len(counts)} ready pods and every one of them is a candidate "
                 "for every new connection.", hint)


register(
    Exercise("stored-or-written", "Stored or written?",
             "Two copies of a k3s Service with clusterIP 10.43.7.7: (a) from `kubectl get -o yaml`, "
             "with uid and resourceVersion, (b) written by you. Which does k8slab refuse?",
             "ask which of the two an API server has already allocated, and which range k8slab checks "
             "a new Service against when the input does not say the cluster's range.",
             '`"b"`.\n\nThe copy with uid and resourceVersion was stored by a real API server, which '
             "allocated 10.43.7.7 from its own range (k3s: 10.43.0.0/16); k8slab takes it as it is. "
             "Your copy is a create request, checked against the range k8slab knows: kubeadm's "
             "10.96.0.0/12, unless a ServiceCIDR, default/kubernetes or `--service-cidr` says "
             "otherwise.\n\n    answer_1 = \"b\"",
             _check_stored_or_written),
    Exercise("learned-address", "The address k8slab fills in",
             "Add a Service without clusterIP to the OpenShift 3 snapshot: which cluster IP does "
             "k8slab give it?",
             "find default/kubernetes in the snapshot: its cluster IP is the range's first address.",
             '`"172.30.0.11"`.\n\ndefault/kubernetes holds 172.30.0.1, so OpenShift\'s range starts at '
             "172.30.0.0; k8slab hands out from the eleventh address, as it does in kubeadm's "
             "10.96.0.0/12.\n\n    answer_2 = \"172.30.0.11\"",
             _check_learned_address),
    Exercise("recorded-split", "Predict the recorded loop",
             "mconnect opens 100 connections from node vm-003 to the mconnect Service (4 ready pods, "
             "kube-proxy in IPVS mode). How many connections does each pod get?",
             "IPVS's default scheduler is rr; iptables mode picks at random for each connection.",
             "`25`.\n\nIPVS round robin gives each of the 4 pods every fourth new connection: exactly "
             "25 each, as the recorded output shows. Under iptables mode the counts would vary "
             "around 25.\n\n    answer_3 = 25",
             _check_recorded_split),
)
