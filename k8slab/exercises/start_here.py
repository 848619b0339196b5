"""Notebook 00, start here: the warm-up check."""

# Every answer key is computed from k8slab's own model (routing, manifests, proxy), never
# typed in, so a check cannot drift from what the notebook shows.
from __future__ import annotations


from .mechanism import (EXERCISES, Exercise, Feedback, as_int, demo, register, right, wrong)

# -- 0. warm-up: where the web pods run ------------------------------------------------------
def _check_warm_up(answer) -> Feedback:
    ex = "warm-up"
    cluster = demo()
    nodes = [n.name for n in cluster.nodes]
    if not isinstance(answer, dict) or set(answer) != set(nodes):
        return wrong(ex, "format", "Give a dict with one entry per node: "
                      + ", ".join(f"`\"{n}\": ...`" for n in nodes) + ".", EXERCISES[ex].hint)
    a = {k: as_int(v) for k, v in answer.items()}
    if any(not isinstance(v, int) for v in a.values()):
        return wrong(ex, "format", "Each value is a number of pods.", EXERCISES[ex].hint)
    web = cluster.service("web")
    expected = {n: 0 for n in nodes}
    for p in cluster.selected_pods(web):
        expected[p.node] += 1
    everyone = {n: 0 for n in nodes}
    for p in cluster.pods:
        if p.node:
            everyone[p.node] += 1
    if a == expected:
        return right(ex, ", ".join(f"{n}: {c}" for n, c in expected.items()) + ". The scheduler "
                      "put two replicas on node-a and one on node-b; node-c's taint keeps web pods "
                      "off it. The client pod there is not a web pod: it lacks the label `app: web`.")
    if a == everyone:
        return wrong(ex, "every-pod-is-a-backend",
                      "You counted every pod. The client pod on node-c is not a web pod: a Service "
                      "picks its pods by label, and only pods labelled `app: web` belong to web.",
                      "count only the pods the Service's selector matches.")
    if sum(a.values()) == len(nodes) and all(v == 1 for v in a.values()):
        return wrong(ex, "one-replica-per-node",
                      "A Deployment does not place one replica per node (that is a DaemonSet). "
                      "The scheduler chose, and node-c's taint `dedicated=batch:NoSchedule` keeps "
                      "the web pods, which do not tolerate it, off node-c.",
                      "look at node-c's taint and the pods' `node` column.")
    if a.get("node-c", 0) > 0:
        return wrong(ex, "taint-ignored",
                      "No web pod runs on node-c: its taint `dedicated=batch:NoSchedule` keeps off "
                      "every pod that does not tolerate it, and the web pods do not.",
                      "look at node-c's taint.")
    return wrong(ex, "other", "Count again from the pod table above.", EXERCISES[ex].hint)




register(
    Exercise("warm-up", "Where do the web pods run?",
             "How many pods of Service web run on each node? Answer a dict, node -> count.",
             "a Service's pods are the ones its selector matches; the pod table shows each pod's node.",
             "`{\"node-a\": 2, \"node-b\": 1, \"node-c\": 0}`.\n\n"
             "Service web selects `app: web`: the three replicas of Deployment web. Two landed on "
             "node-a and one on node-b; node-c is tainted for batch jobs, and the web pods do not "
             "tolerate the taint. The pod named client runs on node-c, but it is no web pod.\n\n"
             "    answer = {\"node-a\": 2, \"node-b\": 1, \"node-c\": 0}",
             _check_warm_up),
)
