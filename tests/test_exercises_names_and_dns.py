"""Notebook 04's exercises (k8slab.exercises.names_and_dns): keys from the model, feedback per
misconception, and the notebook's frame."""

import json
import pathlib

import pytest

from k8slab import dns, exercises
from k8slab.exercises import check
from k8slab.exercises.names_and_dns import EXTERNALNAME_CAUSES, shop_cluster

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "04-names-and-dns.ipynb"
IDS = ["search-tries", "cross-namespace", "ndots-cost", "headless-answer", "statefulset-name",
       "externalname-https"]

RIGHT = [
    ("search-tries", ["web.default.svc.default.svc.cluster.local.", "web.default.svc.svc.cluster.local.",
                      "web.default.svc.cluster.local."]),
    ("search-tries", ["web.default.svc.default.svc.cluster.local", "web.default.svc.svc.cluster.local",
                      "web.default.svc.cluster.local"]),
    ("cross-namespace", "cart.shop"),
    ("cross-namespace", "http://cart.shop/checkout"),
    ("cross-namespace", "cart.shop.svc.cluster.local."),
    ("ndots-cost", {"as written": 8, "with the final dot": 2}),
    ("headless-answer", {"pods": {"db-0", "db-1"}, "picked_by": "client"}),
    ("headless-answer", {"pods": ["db-1", "db-0"], "picked_by": "Client"}),
    ("statefulset-name", "kafka-1.kafka-brokers.events.svc.cluster.local"),
    ("statefulset-name", "kafka-1.kafka-brokers.events.svc.cluster.local."),
    ("externalname-https", "c"),
]

WRONG = [
    ("search-tries", ["web.default.svc."], "as-given-first"),
    ("search-tries", ["web.default.svc.svc.cluster.local.", "web.default.svc.cluster.local."],
     "namespace-domain-first"),
    ("search-tries", ["web.default.svc.default.svc.cluster.local.", "web.default.svc.svc.cluster.local.",
                      "web.default.svc.cluster.local.", "web.default.svc."], "stops-at-first-answer"),
    ("search-tries", ["web.default.svc.svc.cluster.local.", "web.default.svc.default.svc.cluster.local.",
                      "web.default.svc.cluster.local."], "search-order"),
    ("cross-namespace", "cart", "own-namespace-only"),
    ("cross-namespace", "shop.cart", "name-order"),
    ("cross-namespace", "cart.shop.cluster.local", "missing-svc"),
    ("cross-namespace", "cart.default", "wrong-namespace"),
    ("ndots-cost", {"as written": 4, "with the final dot": 1}, "forgot-aaaa"),
    ("ndots-cost", {"as written": 2, "with the final dot": 2}, "as-given-first"),
    ("headless-answer", {"pods": {"db-0", "db-1", "db-2"}, "picked_by": "client"}, "not-ready-published"),
    ("headless-answer", {"pods": {"db-0", "db-1"}, "picked_by": "kube-proxy"}, "kube-proxy-headless"),
    ("headless-answer", {"pods": {"db-0", "db-1"}, "picked_by": "coredns"}, "dns-picks"),
    ("statefulset-name", "kafka-2.kafka-brokers.events.svc.cluster.local", "ordinal-from-one"),
    ("statefulset-name", "kafka-1.kafka.events.svc.cluster.local", "statefulset-not-service"),
    ("statefulset-name", "kafka-1.events.svc.cluster.local", "missing-subdomain"),
    ("statefulset-name", "kafka-1.kafka-brokers", "short-name"),
    ("statefulset-name", "10-244-1-2.events.pod.cluster.local", "pod-zone"),
    ("externalname-https", "a", "cname-not-followed"),
    ("externalname-https", "b", "externalname-needs-proxy"),
    ("externalname-https", "d", "cname-port"),
]


@pytest.mark.parametrize("ex, answer", RIGHT)
def test_right_answers_pass(ex, answer):
    fb = check(ex, answer)
    assert fb.correct, fb


@pytest.mark.parametrize("ex, answer, misconception", WRONG)
def test_wrong_answers_name_their_misconception(ex, answer, misconception):
    fb = check(ex, answer)
    assert not fb.correct and fb.misconception == misconception, fb
    assert fb.hint


@pytest.mark.parametrize("ex", IDS)
def test_misconceptions_get_different_feedback(ex):
    messages = {check(e, a).message for e, a, _ in WRONG if e == ex}
    assert len(messages) == len([1 for e, _, _ in WRONG if e == ex])


@pytest.mark.parametrize("ex, answer", [
    ("search-tries", [...]), ("cross-namespace", ...), ("ndots-cost", {"as written": ..., "with the final dot": ...}),
    ("headless-answer", {"pods": {...}, "picked_by": ...}), ("statefulset-name", ...),
    ("externalname-https", ...)])
def test_the_notebook_placeholders_are_unanswered(ex, answer):
    assert check(ex, answer).misconception == "unanswered"


@pytest.mark.parametrize("ex, answer", [
    ("search-tries", 42), ("cross-namespace", "we b"), ("ndots-cost", {"as written": "many"}),
    ("headless-answer", {"pods": 3, "picked_by": None}), ("statefulset-name", ["x"]),
    ("externalname-https", "zz")])
def test_odd_answers_get_feedback_not_tracebacks(ex, answer):
    fb = check(ex, answer)
    assert not fb.correct and fb.message


def test_the_keys_come_from_the_model():
    c = shop_cluster()
    tries = [t.name for t in dns.lookup(c, "pod/client", "web.default.svc").tried]
    assert check("search-tries", tries).correct
    assert check("search-tries", tries[:-1]).correct is False
    ip = c.service("cart", "shop").cluster_ip
    assert dns.lookup(c, "pod/client", "cart.shop").addresses == [ip]
    assert set(EXTERNALNAME_CAUSES) == {"a", "b", "c", "d"}
    assert exercises.EXTERNALNAME_CAUSES is EXTERNALNAME_CAUSES


def cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def test_notebook_04_frames_the_lesson_and_checks_its_exercises():
    cs = cells()
    first, last = "".join(cs[0]["source"]), "".join(cs[-1]["source"])
    assert "you will be able to" in first.lower() and "*Time:" in first
    assert "## Summary" in last and "## Key points" in last
    sources = ["".join(c["source"]) for c in cs if c["cell_type"] == "code"]
    checked = [ex for ex in IDS if any(f'exercises.check("{ex}"' in s for s in sources)]
    solved = [ex for ex in IDS if any(f'exercises.solution("{ex}")' in s for s in sources)]
    assert checked == IDS and solved == IDS


def test_notebook_04_saved_outputs_are_deterministic_text():
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert " at 0x" not in text
    assert "widgets" not in json.loads(text).get("metadata", {})
