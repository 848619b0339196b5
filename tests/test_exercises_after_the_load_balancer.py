"""Notebook 07's exercises (k8slab.exercises.after_the_load_balancer): keys from the model,
feedback per misconception, and the notebook's frame."""

import json
import pathlib

import pytest

from k8slab import gateway
from k8slab.exercises import EXERCISES, check, solution
from k8slab.exercises import after_the_load_balancer as lesson

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "07-after-the-load-balancer.ipynb"
IDS = ["gateway-listener", "gateway-paths", "gateway-canary", "gateway-status", "gateway-grant"]

RIGHT = [
    ("gateway-listener", {"shop.example": "shop", "m.shop.example": "shop-subdomains",
                          "api.m.shop.example": "shop-subdomains", "example.org": "other-hosts"}),
    ("gateway-paths", {"/api", "/api/", "/api/orders"}),
    ("gateway-paths", ["/api/orders", "/api/", "/api"]),
    ("gateway-canary", {"web-v1": 30, "web-v2": 10}),
    ("gateway-canary", {"web-v1": "30%", "web-v2": 10.0}),
    ("gateway-status", {"a": 200, "b": None, "c": 500, "d": 404}),
    ("gateway-grant", {"namespace": "reviews", "from_namespace": "shop"}),
]

WRONG = [
    ("gateway-listener", {"shop.example": "shop-subdomains", "m.shop.example": "shop-subdomains",
                          "api.m.shop.example": "shop-subdomains", "example.org": "other-hosts"},
     "wildcard-matches-bare"),
    ("gateway-listener", {"shop.example": "shop", "m.shop.example": "shop-subdomains",
                          "api.m.shop.example": "other-hosts", "example.org": "other-hosts"},
     "wildcard-one-label"),
    ("gateway-listener", {"shop.example": "other-hosts", "m.shop.example": "shop-subdomains",
                          "api.m.shop.example": "shop-subdomains", "example.org": "other-hosts"},
     "catch-all-first"),
    ("gateway-paths", {"/api", "/api/", "/api/orders", "/apiary"}, "string-prefix"),
    ("gateway-paths", {"/api", "/api/", "/api/orders", "/API/orders"}, "case-insensitive"),
    ("gateway-paths", {"/api", "/api/", "/api/orders", "/v2/api"}, "anywhere"),
    ("gateway-paths", {"/api/orders"}, "too-strict"),
    ("gateway-canary", {"web-v1": 25, "web-v2": 25}, "pods-not-weights"),
    ("gateway-canary", {"web-v1": 90, "web-v2": 10}, "weight-per-pod"),
    ("gateway-canary", {"web-v1": 20, "web-v2": 40}, "weights"),
    ("gateway-status", {"a": 200, "b": 404, "c": 500, "d": 404}, "404-without-listener"),
    ("gateway-status", {"a": 200, "b": None, "c": 403, "d": 404}, "grant-status"),
    ("gateway-status", {"a": 200, "b": None, "c": 500, "d": 200}, "listener-isolation"),
    ("gateway-grant", {"namespace": "shop", "from_namespace": "shop"}, "grant-in-route-namespace"),
    ("gateway-grant", {"namespace": "infra", "from_namespace": "shop"}, "grant-in-gateway-namespace"),
    ("gateway-canary", "30", "format"),
    ("gateway-status", {"a": 200}, "format"),
]


@pytest.mark.parametrize("ex,answer", RIGHT)
def test_right_answers_pass(ex, answer):
    fb = check(ex, answer)
    assert fb.correct, fb.message


@pytest.mark.parametrize("ex,answer,misconception", WRONG)
def test_wrong_answers_name_their_misconception(ex, answer, misconception):
    fb = check(ex, answer)
    assert not fb.correct and fb.misconception == misconception, fb.message


@pytest.mark.parametrize("ex", IDS)
def test_every_exercise_has_misconceptions_and_placeholders_are_unanswered(ex):
    found = {m for e, _, m in WRONG if e == ex} - {"format"}
    assert len(found) >= 2
    assert check(ex, ...).misconception == "unanswered"
    assert "answer_" in str(solution(ex))


def test_keys_come_from_the_model():
    # Change the cluster and the keys follow: a fourth web-v1 pod changes the canary key.
    c = lesson.gateway_cluster()
    a = gateway.request(c, lesson.GATEWAY, "http://shop.example/")
    v1 = next(b for b in a.backends if b.label == "shop/web-v1")
    assert len(v1.endpoints) == 3 and lesson._canary_key() == {"web-v1": 30.0, "web-v2": 10.0}
    assert lesson._status_key() == {"a": 200, "b": None, "c": 500, "d": 404}
    data = (ROOT / "k8slab" / "data" / "gateway.yaml").read_text()
    assert data == (ROOT / "notebooks" / "manifests" / "gateway.yaml").read_text()


def test_notebook_frames_the_lesson_and_checks_every_exercise():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"])
    assert "you will be able to:**" in first and "*Time: about" in first
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for ex in IDS:
        assert f'check("{ex}"' in code and f'solution("{ex}")' in code
    assert any("Key points" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert set(IDS) <= set(EXERCISES)
