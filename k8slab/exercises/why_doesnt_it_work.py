"""Notebook 08's checks: read the symptom, fix the YAML, and prove the whole fix end to end."""

# A fix is checked the way a careful engineer checks one on a cluster: not only the request that
# failed, but every request of the case, before and after. Each case names its dials: the broken
# one (it must now reach a pod, on the pods' right port), the ones that worked (they must still
# work: a fix that breaks HTTP to make HTTPS work is not a fix), and the ones that were shut (they
# must stay shut: deleting loadBalancerSourceRanges "fixes" the office by opening the Service to
# the internet). Each dial is judged by `diagnose` on the edited YAML, and a fix that works only
# because of where the model's scheduler happened to put a pod is tried again with the pods put
# elsewhere, as a real scheduler may. When the fix is wrong, the feedback names the misconception
# from what diagnose reports (never from comparing the text with a key).
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import yaml

from .. import diagnose, dns, manifests
from ..errors import K8slabError
from .mechanism import EXERCISES, Exercise, Feedback, register, right, wrong

__all__ = ["Dial", "FixCase", "FIX_CASES", "WHERE_TO_LOOK", "check_fix", "dial_outcome",
           "fingerprint", "placements", "where_it_breaks"]


def fingerprint(text: str) -> str | None:
    """The objects a YAML text describes, hashed: the same setup however it is spaced."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return None
    return hashlib.sha256(json.dumps(docs, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Dial:
    """One request of a case besides the broken one, and what the fix must leave it doing."""

    client: str
    dial: str
    protocol: str = "tcp"
    expect: str = "works"              # "works": worked before, must still work; "closed": must stay shut
    lands: int | None = None           # the pods' port it must reach (the right server behind it)
    says: str = ""                     # the request in the story's words ("http://web:80 from frontend")
    misconception: str = ""            # the id given when the fix breaks (or opens) this dial
    why: str = ""                      # what that means, in the learner's terms


@dataclass(frozen=True)
class FixCase:
    """One broken setup of notebook 08: who dialed what, and what each wrong fix reveals."""

    id: str
    title: str
    client: str
    dial: str
    protocol: str
    broken: tuple[str, ...]                    # the codes diagnose reports on the setup as given
    done: str                                  # said when the fix works
    # code diagnose still (or newly) reports -> (misconception id, what it means); the key
    # "lands-elsewhere" is used when the dial reaches the pods on another port than `lands`
    after: dict[str, tuple[str, str]] = field(default_factory=dict)
    hint: str = ""
    explain: str = ""                          # the solution in words
    edits: tuple[tuple[str, str], ...] = ()    # the solution as text edits: (old, new), first match
    original: str = ""                         # fingerprint() of the setup as the notebook gives it
    symptom: str = ""                          # what the client sees on the setup as given
    lands: int | None = None                   # the pods' port the broken dial must reach
    others: tuple[Dial, ...] = ()              # the case's other dials: worked before, or shut

    def solution(self, n: int) -> str:
        """The worked solution: the reasoning, then the edits as code the learner can run."""
        code = "\n".join(f"    case_{n} = case_{n}.replace({old!r}, {new!r}, 1)" for old, new in self.edits)
        return f"{self.explain}\n\n{code}"

    def fixed(self, text: str) -> str:
        """The setup with the solution's edits applied (what the solution's code does)."""
        for old, new in self.edits:
            if old not in text:
                raise ValueError(f"{self.id}: {old!r} is not in the setup")
            text = text.replace(old, new, 1)
        return text


def dial_outcome(report: diagnose.Report, lands: int | None = None) -> tuple[bool, int | None]:
    """(reaches a pod with no error and on the right port, the pods' port it reached if any)."""
    route = report.route
    reached = (report.works and not report.errors and route is not None and route.reachable
               and bool(route.endpoints))
    ports = sorted({e.endpoint.port for e in route.endpoints}) if reached else []
    port = ports[0] if len(ports) == 1 else None
    return reached and (lands is None or ports == [lands]), port


def _diagnose(texts, d) -> diagnose.Report:
    return diagnose.diagnose_texts(texts, d.client, d.dial, d.protocol)


_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


def _spread_is_required(spec: dict) -> bool:
    """The pod template itself forbids two replicas on one node (so "all on one node" is no
    placement a scheduler may choose): required pod anti-affinity, or a DoNotSchedule topology
    spread, on the node's hostname."""
    anti = ((spec.get("affinity") or {}).get("podAntiAffinity") or {})
    for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or ():
        if isinstance(term, dict) and term.get("topologyKey") == "kubernetes.io/hostname":
            return True
    return any(isinstance(c, dict) and c.get("topologyKey") == "kubernetes.io/hostname"
               and c.get("whenUnsatisfiable") == "DoNotSchedule" and c.get("maxSkew") == 1
               for c in spec.get("topologySpreadConstraints") or ())


def placements(text: str) -> list[tuple[str, str]]:
    """Other places a real scheduler may put the pods the YAML leaves it to place.

    The model's scheduler spreads a workload's replicas over the nodes (manifests.py); the
    real one scores nodes and may put them all on one node (kube-scheduler's default spreading
    is a soft `ScheduleAnyway` constraint, pkg/scheduler/framework/plugins/podtopologyspread).
    So for each workload (or bare pod) with no `nodeName`, and no rule of its own that forbids
    sharing a node, yield (what moved, the YAML) with all its pods pinned by `nodeSelector` to
    one node where they fit; a placement where they would stay Pending is skipped.
    """
    try:
        docs = list(yaml.safe_load_all(text))
        cluster = manifests.load_texts([("your-fix.yaml", text)])
    except (yaml.YAMLError, K8slabError):
        return []
    out = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or doc.get("kind") not in (*_WORKLOADS, "Pod"):
            continue
        kind, meta = doc["kind"], doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        pod_spec = spec if kind == "Pod" else ((spec.get("template") or {}).get("spec") or {})
        if not isinstance(pod_spec, dict) or pod_spec.get("nodeName") or _spread_is_required(pod_spec):
            continue
        ns = meta.get("namespace") or "default"
        owner = None if kind == "Pod" else f"{kind}/{meta.get('name')}"
        mine = [p for p in cluster.pods if p.namespace == ns
                and (p.owner == owner if owner else (p.owner is None and p.name == meta.get("name")))]
        if not mine:
            continue
        for node in cluster.nodes:
            if {p.node for p in mine} == {node.name}:
                continue                                   # the model's own placement
            moved = json.loads(json.dumps(doc))
            target = moved["spec"] if kind == "Pod" else moved["spec"]["template"]["spec"]
            target["nodeSelector"] = {**(target.get("nodeSelector") or {}),
                                      "kubernetes.io/hostname": node.name}
            variant = yaml.safe_dump_all([moved if j == i else d for j, d in enumerate(docs)],
                                         sort_keys=False)
            try:
                placed = manifests.load_texts([("your-fix.yaml", variant)])
            except K8slabError:
                continue
            if all(p.node == node.name for p in placed.pods if p.namespace == ns
                   and (p.owner == owner if owner else p.name == meta.get("name"))):
                what = f"every pod of {owner}" if owner else f"pod {meta.get('name')}"
                out.append((f"{what} on {node.name}", variant))
    return out


def _judge_dials(case: FixCase, texts) -> tuple[str, Dial, diagnose.Report] | None:
    """The first of the case's other dials the edited setup gets wrong, if any."""
    for d in case.others:
        report = _diagnose(texts, d)
        ok, _ = dial_outcome(report, d.lands)
        if d.expect == "works" and not ok:
            return "broke", d, report
        if d.expect == "closed" and report.works:
            return "opened", d, report
    return None


def check_fix(case: FixCase, text) -> Feedback:
    """The whole fix: the broken dial reaches the right port of a pod, the dials that worked
    still work, the shut ones stay shut, and all of it wherever the scheduler puts the pods."""
    ex = case.id
    if not isinstance(text, str) or not text.strip():
        return wrong(ex, "format", "Give the whole edited YAML as one string.", case.hint)
    texts = [("your-fix.yaml", text)]
    report = diagnose.diagnose_texts(texts, case.client, case.dial, case.protocol)
    if case.original and fingerprint(text) == case.original:
        # The setup as given: say what the client sees, and nothing of the cause.
        return wrong(ex, "unchanged", f"This is the setup as reported: {case.client} -> {case.dial} "
                     f"fails ({report.symptom}). Edit the YAML in the cell, then run it again.",
                     case.hint)
    errors = report.errors
    reached, port = dial_outcome(report)
    if not errors and reached:
        if case.lands is not None and port != case.lands:
            mis, why = case.after.get("lands-elsewhere", ("wrong-port-on-pod", ""))
            return wrong(ex, mis, f"{case.client} -> {case.dial} reaches the pods now, but on their "
                         f"port {port if port is not None else 'several ports'}, not {case.lands}. "
                         f"{why}", case.hint)
        bad = _judge_dials(case, texts)
        if bad is not None:
            how, d, other = bad
            if how == "broke":
                seen = other.symptom if not other.works else "it lands on the wrong port"
                return wrong(ex, d.misconception or "broke-what-worked",
                             f"{case.dial} works now, but {d.says} worked before and now does not "
                             f"({seen}). {d.why}", case.hint)
            return wrong(ex, d.misconception or "opened-too-wide",
                         f"{case.dial} works now, but so does {d.says}, which was shut before and "
                         f"nobody asked to open. {d.why}", case.hint)
        for where, variant in placements(text):
            vtexts = [("your-fix.yaml", variant)]
            vreport = diagnose.diagnose_texts(vtexts, case.client, case.dial, case.protocol)
            vok, _ = dial_outcome(vreport, case.lands)
            if not vok or _judge_dials(case, vtexts) is not None:
                shown = vreport.symptom if not vok else "another request of the case fails"
                return wrong(ex, "depends-on-the-scheduler",
                             f"This works where the model's scheduler put the pods, but nothing in "
                             f"the YAML makes it so: with {where} (a real scheduler may choose "
                             f"that), {case.client} -> {case.dial} fails again ({shown}). A fix "
                             "must not depend on where pods happen to land.", case.hint)
        warn = [p for p in report.problems if p.severity == "warning"]
        extra = (" diagnose still warns: " + "; ".join(f"{p.code} ({p.message})" for p in warn)
                 if warn else "")
        pods = ", ".join(e.endpoint.pod or e.endpoint.address for e in report.route.endpoints)
        kept = [d.says for d in case.others if d.expect == "works"]
        shut = [d.says for d in case.others if d.expect == "closed"]
        whole = ((f" Still working: {'; '.join(kept)}." if kept else "")
                 + (f" Still shut: {'; '.join(shut)}." if shut else ""))
        return right(ex, f"{case.done} diagnose reports no error, and the route from {case.client} "
                         f"reaches {pods or 'the Service'}.{whole}{extra}")
    first = errors[0] if errors else None
    if first is not None and first.code == "invalid":
        return wrong(ex, "refused", f"The API server would refuse this: {first.object} "
                     f"{first.field}: {first.message.removeprefix('the API server refuses it: ')}. "
                     "A refused object does not exist at all.", case.hint)
    if first is None:
        return wrong(ex, "other", f"The client still sees: {report.symptom}.", case.hint)
    seen = f"The client now sees: {report.symptom}."
    if first.code in case.after:
        mis, why = case.after[first.code]
        return wrong(ex, mis, f"{seen} {why}", case.hint)
    if first.code in case.broken:
        return wrong(ex, "unchanged", f"{seen} That is still the problem you started from; "
                     "read the symptom again: where does it say to look?", case.hint)
    if case.symptom and report.symptom == case.symptom:
        # Same symptom, another cause: nothing visible moved, so do not say it did.
        return wrong(ex, "same-symptom", f"The client still sees {report.symptom}, as before. "
                     f"diagnose now finds {first.code} on {first.object} {first.field}: "
                     f"{first.message}. Your change did not remove the first cause, or it added "
                     "a second one with the same symptom: undo it and read the symptom again.",
                     case.hint)
    return wrong(ex, "moved", f"{seen} This change moved the problem: diagnose now reports "
                 f"{first.code} on {first.object} {first.field}: {first.message}.", case.hint)


def where_it_breaks(text: str, client: str, dial: str, protocol: str = "tcp"):
    """A case's route, drawn: where the request stops (the whole path, once the fix works).

    diagnose's own route when it has one; when the dialed port is none of the Service's, no
    route gets past the lookup in diagnose, so the picture is the route to that port of the
    Service the name resolves to (routing draws where it stops: no rule for it). The report
    itself when nothing can be drawn (a name that resolves to no Service).
    """
    from ..draw import draw

    texts = [("case.yaml", text)]
    report = diagnose.diagnose_texts(texts, client, dial, protocol)
    if report.route is not None:
        return draw(report.route)
    host, port = diagnose.parse_dial(dial)
    if client.startswith("pod/"):
        try:
            cluster = manifests.load_texts(texts)
            addresses = set(dns.lookup(cluster, client, host).addresses)
        except K8slabError:
            return report
        for svc in cluster.services:
            if svc.cluster_ip and svc.cluster_ip in addresses:
                # By address, not `name=host`: with the name, the picture of a route with no
                # such port puts its stop on the (successful) lookup step instead of the port.
                return draw(cluster.route(client=client, service=svc.name, namespace=svc.namespace,
                                          port=port, protocol=protocol))
    return report


_SEL = ("connection refused means kube-proxy had a rule for the Service and no endpoint to send "
        "to: look at the selector, readiness and the targetPort, not at DNS or ports.")

FIX_CASES = (
    FixCase(
        "fix-selector", "connection refused, with pods running", "pod/frontend", "web:80", "tcp",
        ("selector-matches-nothing",),
        "The Service's selector now matches the pods' template labels, so the EndpointSlice "
        "controller lists them.",
        {"selector-matches-nothing": (
            "labels-on-the-deployment",
            "The selector still matches no pod. A Service selects *pods*, by the labels in the "
            "Deployment's `spec.template.metadata.labels`; the Deployment's own labels and its "
            "`spec.selector` do not count.")},
        _SEL,
        "In the Service, `selector: {app: webapp}`, the label the pods carry. (Relabelling the "
        "pods `app: web` works too, if nothing else selects them.)",
        (("  selector:\n    app: web\n", "  selector:\n    app: webapp\n"),),
        original="60f703e4e9dbc0b0", symptom="connection refused", lands=8080),
    FixCase(
        "fix-port", "a timeout on the pods' port", "pod/frontend", "web:8080", "tcp",
        ("dialed-target-port",),
        "The Service now listens on 8080 and forwards to the pods' 8080.",
        {"dialed-target-port": (
            "service-port-is-target-port",
            "The client dials the cluster IP, where only the Service's `port` values have rules; "
            "`targetPort` is where the packet goes afterwards, on the pod."),
         "port-not-in-service": (
            "moved-the-target",
            "Changing targetPort changes where the packet lands on the pod, not what the Service "
            "listens on: the cluster IP still has no rule for 8080."),
         "target-port-not-declared": (
            "moved-the-target",
            "That changes where the packet lands on the pod, not what the Service listens on.")},
        "a timeout to a cluster IP means no rule caught the packet: compare the dialed port with "
        "the Service's `port` values.",
        "Make the Service listen where the client dials, and keep what worked: add a second "
        "Service port, `port: 8080`, `targetPort: 8080`. With two ports, each needs a name. "
        "(Replacing 80 by 8080 breaks whoever dials web:80; dialing web:80 instead would be a "
        "change to the client.)",
        (("  - port: 80\n    targetPort: 8080\n",
          "  - name: http\n    port: 80\n    targetPort: 8080\n"
          "  - name: http-alt\n    port: 8080\n    targetPort: 8080\n"),),
        original="03d4e2a26cdf82bc", symptom="timeout", lands=8080,
        # Nothing in the report says who dials web:80, but it works today: a fix keeps it working.
        others=(Dial("pod/frontend", "web:80", lands=8080, says="web:80 from frontend",
                     misconception="replaced-not-added",
                     why="Whoever dials web:80 today (another pod, a probe, an Ingress) would now "
                         "time out: add a Service port beside 80 instead of replacing it."),)),
    FixCase(
        "fix-named-port", "connection refused, and the pods are ready", "pod/frontend", "web:80",
        "tcp", ("named-port-missing",),
        "The named targetPort now resolves on every pod.",
        {"named-port-missing": (
            "port-name-is-anything",
            "A named targetPort is looked up on each pod, among its containers' `ports[].name`: "
            "it must be spelled exactly as there.")},
        _SEL,
        "Name the container port `http`, as the targetPort says (or set `targetPort: 8080`, "
        "or `targetPort: web`).",
        (("- name: web\n          containerPort", "- name: http\n          containerPort"),),
        original="24f22b3e32ed9a21", symptom="connection refused", lands=8080),
    FixCase(
        "fix-local", "a timeout on one node only", "laptop", "192.0.2.12:30080", "tcp",
        ("no-local-endpoints",),
        "Either every node now forwards (Cluster), or node-b runs a pod of its own.",
        {"no-local-endpoints": (
            "local-forwards",
            "Under `externalTrafficPolicy: Local` a node sends only to pods on itself and drops "
            "the rest; node-b still has none.")},
        "a timeout on one node and not another points at something per node: the traffic policy.",
        "`externalTrafficPolicy: Cluster`: node-b forwards to the pod on node-a (and the pod sees "
        "node-b's address). `replicas: 2` is not enough: nothing stops a scheduler from putting "
        "both pods on node-a. A pod on every node needs a DaemonSet, or a required pod "
        "anti-affinity on `kubernetes.io/hostname` with as many replicas as nodes.",
        (("externalTrafficPolicy: Local", "externalTrafficPolicy: Cluster"),),
        original="99c75386d6f9331d", symptom="timeout", lands=8080,
        others=(Dial("laptop", "192.0.2.11:30080", lands=8080, says="192.0.2.11:30080 from the laptop",
                     misconception="broke-what-worked",
                     why="node-a answered before your change: a fix for node-b must keep node-a "
                         "working."),)),
    FixCase(
        "fix-protocol", "dig works, dig +tcp times out", "pod/frontend", "resolver:53", "tcp",
        ("protocol-mismatch",),
        "The Service now has a TCP port 53 as well, to the pods' TCP 53.",
        {"protocol-mismatch": (
            "port-number-is-enough",
            "A Service port is a number *and* a protocol: kube-proxy writes rules for 53/UDP only, "
            "and a TCP packet to 53 matches none.")},
        "UDP works and TCP does not, on the same port number: what does a Service port consist of?",
        "Add a second Service port: `name: dns-tcp`, `port: 53`, `protocol: TCP`, "
        "`targetPort: dns-tcp`. With two ports, each needs a name.",
        (("    targetPort: dns\n",
          "    targetPort: dns\n  - name: dns-tcp\n    port: 53\n    protocol: TCP\n    targetPort: dns-tcp\n"),),
        original="74af09656904758d", symptom="timeout", lands=53,
        others=(Dial("pod/frontend", "resolver:53", "udp", lands=53,
                     says="plain dig (UDP 53) from frontend", misconception="replaced-not-added",
                     why="Switching the port's protocol to TCP trades UDP for TCP, and almost every "
                         "lookup is UDP: keep the UDP port and add a TCP one beside it."),)),
    FixCase(
        "fix-https", "http works, https hangs", "pod/frontend", "web:443", "tcp",
        ("port-not-in-service",),
        "The Service now listens on 443 and sends it to the pods' https port, 8443.",
        {"lands-elsewhere": (
            "https-to-the-http-port",
            "That is the pods' plain-HTTP port (`http`, 8080): the TLS handshake meets an HTTP "
            "server and fails. The new port's targetPort must be the pods' `https` port, 8443."),
         "port-not-in-service": (
            "container-port-is-exposed",
            "Declaring containerPort 8443 on the pod exposes nothing: the cluster IP has rules "
            "only for the Service's own ports."),
         "named-port-missing": (
            "wrong-port-name",
            "The new port's targetPort must name a port the pods declare (they call it https).")},
        "http on 80 works, so DNS, the selector and the pods are fine: only the 443 path is "
        "missing. A timeout to a cluster IP is a port no rule catches.",
        "Add a Service port `name: https`, `port: 443`, `targetPort: https`.",
        (("    targetPort: http\n",
          "    targetPort: http\n  - name: https\n    port: 443\n    targetPort: https\n"),),
        original="f74d6d4447984e3f", symptom="timeout", lands=8443,
        others=(Dial("pod/frontend", "web:80", lands=8080, says="http://web:80 from frontend",
                     misconception="replaced-not-added",
                     why="Changing port 80 to 443 trades HTTP for HTTPS: every HTTP client now "
                         "times out. Add a second Service port for 443 beside 80."),)),
    FixCase(
        "fix-source-range", "the load balancer hangs for the office", "laptop", "web:80", "tcp",
        ("source-range-blocked",),
        "The office's address (the laptop sends from 198.51.100.10) is now admitted, and only it.",
        {"source-range-blocked": (
            "source-range-is-destination",
            "`loadBalancerSourceRanges` lists who may connect (client networks), not the cluster's "
            "own ranges: the laptop's 198.51.100.10 must be inside one of them.")},
        "a timeout through a load balancer that has an address: who is allowed in?",
        "Add the office's address, `198.51.100.10/32`, to `spec.loadBalancerSourceRanges`, and "
        "nothing wider: a wider range (or deleting the list, or `0.0.0.0/0`) lets in clients "
        "nobody asked for.",
        (("  - 10.0.0.0/8\n", "  - 10.0.0.0/8\n  - 198.51.100.10/32\n"),),
        original="e224a09c3b8648a7", symptom="timeout", lands=8080,
        others=(Dial("internet", "web:80", expect="closed",
                     says="the internet (198.51.100.30)", misconception="opened-to-everyone",
                     why="`loadBalancerSourceRanges` is the Service's firewall: deleting it, "
                         "`0.0.0.0/0` or a range wider than the office admits the whole internet. "
                         "Add only the office's address."),
                Dial("other-cluster", "web:80", expect="closed",
                     says="the other cluster (198.51.100.20)", misconception="opened-too-wide",
                     why="Admit the office's address, 198.51.100.10/32; a wider range lets in "
                         "its neighbours too."))),
    FixCase(
        "fix-namespace", "connection refused, but the pods are fine", "pod/frontend", "web:80",
        "tcp", ("selector-other-namespace",),
        "The Service and its pods now share a namespace, and the name still resolves from frontend.",
        {"selector-other-namespace": (
            "selector-crosses-namespaces",
            "A Service selects pods only in its own namespace, whatever their labels."),
         "name-not-found": (
            "moved-the-name",
            "Moving the Service to shop fixes its endpoints but moves its name: frontend, in "
            "default, looks up web.default.svc.cluster.local first and finds nothing. Either "
            "move the pods instead, or keep the Service beside them and have frontend dial "
            "web.shop.")},
        _SEL,
        "With frontend still dialing `web:80`: run the Deployment in `default`, beside the Service "
        "(delete its `namespace: shop`). If the Service moved to shop instead, frontend would have "
        "to dial `web.shop:80`: a change to the client, not to this YAML.",
        (("  name: web\n  namespace: shop\n", "  name: web\n"),),
        original="91fac9139a2c950c", symptom="connection refused", lands=8080),
    FixCase(
        "fix-two-api", "two problems: a timeout first", "pod/frontend", "api:8080", "tcp",
        ("port-not-in-service",),
        "The Service listens on 8080 and its selector matches the api pods.",
        {"port-not-in-service": (
            "service-port-is-target-port",
            "api has no port 8080 yet: a cluster IP has rules only for the Service's `port` values."),
         "selector-matches-nothing": (
            "one-fix-at-a-time",
            "The port is right now (the timeout became connection refused: the packet reaches "
            "kube-proxy's rules), and the next check fails: the selector matches no pod.")},
        "fix what the symptom points at, run the check, and read the new symptom: it moves.",
        "Two changes to the Service: `port: 8080` (the timeout), then `selector: {app: api}` "
        "(the refusal that appears once the port is right).",
        (("    port: 80\n", "    port: 8080\n"), ("    app: api-server\n", "    app: api\n")),
        original="c6df3ac71f3f67e0", symptom="timeout", lands=8080),
    FixCase(
        "fix-two-edge", "two problems: refused first", "laptop", "192.0.2.12:30080", "tcp",
        ("named-port-missing",),
        "The pod's port name matches the targetPort, and node-b may forward to it.",
        {"named-port-missing": (
            "port-name-is-anything",
            "targetPort http must name a port the pod declares; it declares `web`."),
         "no-local-endpoints": (
            "one-fix-at-a-time",
            "The endpoint exists now (refused became a timeout: there is a pod, but node-b may not "
            "use it), and the next check fails: externalTrafficPolicy: Local and no pod on node-b.")},
        "refused, then timeout: each symptom names its own check.",
        "Name the container port `http` (the refusal), then set `externalTrafficPolicy: Cluster` "
        "(the timeout that appears once there is an endpoint). `replicas: 2` would work only if "
        "the scheduler happened to put a pod on node-b: not a fix.",
        (("- name: web\n          containerPort", "- name: http\n          containerPort"),
         ("externalTrafficPolicy: Local", "externalTrafficPolicy: Cluster")),
        original="9bf283cea556e088", symptom="connection refused", lands=8080),
)


#: The symptom exercise's key: where each symptom says to look (diagnose's checks).
WHERE_TO_LOOK = {
    "name not found": "dns",
    "timeout": "port",
    "connection refused": "endpoints",
    "no address yet": "load-balancer",
}
_LOOK_WORDS = {
    "dns": ("dns", "name", "namespace", "the name", "service name"),
    "port": ("port", "ports", "the port", "policy", "port or policy", "rules"),
    "endpoints": ("endpoints", "selector", "pods", "readiness", "endpoint", "ready"),
    "load-balancer": ("load-balancer", "load balancer", "lb", "cloud", "external-ip"),
}


def _look(value) -> str | None:
    t = str(value).strip().lower()
    for key, words in _LOOK_WORDS.items():
        if t in words:
            return key
    return None


def _check_symptoms(answer) -> Feedback:
    ex = "symptoms"
    if not isinstance(answer, dict) or set(answer) != set(WHERE_TO_LOOK):
        return wrong(ex, "format", "Give a dict with the four symptoms as keys, each "
                     "\"dns\", \"port\", \"endpoints\" or \"load-balancer\".", EXERCISES[ex].hint)
    given = {k: _look(v) for k, v in answer.items()}
    if any(v is None for v in given.values()):
        return wrong(ex, "format", "Answer each with \"dns\", \"port\", \"endpoints\" or "
                     "\"load-balancer\".", EXERCISES[ex].hint)
    if given == WHERE_TO_LOOK:
        return right(ex, "Name not found: the name never became an address (typo, namespace, or a "
                         "node's resolver). Timeout: the packet went nowhere, no rule caught it (a port "
                         "that is not the Service's, a cluster IP from outside) or a rule dropped it "
                         "(Local policy, source ranges). Refused: kube-proxy knew the Service and had "
                         "no endpoint, so it rejected. No address yet: the load balancer was never "
                         "made.")
    if given["connection refused"] == "port":
        return wrong(ex, "refused-means-port",
                     "On a cluster IP, a port the Service does not have is not refused: no rule "
                     "matches, the packet is routed nowhere and the client times out. Refused comes "
                     "from kube-proxy's REJECT rule for a Service with no endpoints.",
                     "which kube-proxy rule sends the ICMP reply that curl reports as refused?")
    if given["timeout"] == "endpoints":
        return wrong(ex, "timeout-means-no-pods",
                     "A Service with no endpoints answers at once (REJECT): refused. A timeout means "
                     "nothing answered at all: no rule caught the packet, or a rule dropped it.",
                     "what does kube-proxy write for a Service with no endpoints?")
    return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


def _exercise(case: FixCase, n: int) -> Exercise:
    return Exercise(case.id, f"Case {n}: {case.title}",
                    f"Edit the YAML so that {case.client} -> {case.dial} reaches a pod.",
                    case.hint, case.solution(n), lambda text, c=case: check_fix(c, text))


register(
    Exercise("symptoms", "What each symptom says",
             "For each symptom, where do you look first: dns, port, endpoints or load-balancer?",
             "which of them does kube-proxy answer itself, which does it drop, and which never "
             "reach it?",
             "`{\"name not found\": \"dns\", \"timeout\": \"port\", \"connection refused\": "
             "\"endpoints\", \"no address yet\": \"load-balancer\"}`.\n\nRefused comes from "
             "kube-proxy's REJECT rule for a Service without endpoints; a timeout from a packet no "
             "rule caught (a wrong port, a cluster IP from outside) or one a rule dropped (a Local "
             "traffic policy, loadBalancerSourceRanges). A timeout can also be a policy: read the "
             "port first, then the policy.\n\n"
             "    answer_1 = {\"name not found\": \"dns\", \"timeout\": \"port\", "
             "\"connection refused\": \"endpoints\", \"no address yet\": \"load-balancer\"}",
             _check_symptoms),
    *(_exercise(c, i) for i, c in enumerate(FIX_CASES, 1)),
)
