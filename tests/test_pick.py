"""The pure twin's weighted pick is an explicit hook (``Table(spec, pick=...)``), used by diff."""
import pytest

import routecore
from routecore._match_py import Table

from test_decision_parity import CONFIG


def _spec():
    router = routecore.Router(routecore.load(CONFIG), native=False, seed=7)
    return router.gateway("edge", namespace="infra", port=80).spec


def test_the_pick_hook_chooses_among_the_weighted_backends():
    seen = []

    def pick(cum):
        seen.append(cum)
        return len(cum) - 1  # always the last choice

    t = Table(_spec(), pick=pick)
    names = {t.route("GET", "/api/x", host="shop.example.com").backend.name for _ in range(8)}
    assert names == {"api-canary"}
    assert seen[0] == (3, 4)
    assert t.route("GET", "/", host="shop.example.com").backend.name == "home"
    assert seen[-1] == (1,)


def test_the_default_pick_is_the_seeded_draw_of_both_twins():
    spec = _spec()
    a, b = Table(spec), Table(spec)
    assert ([a.route("GET", "/api/x", host="shop.example.com").backend for _ in range(32)]
            == [b.route("GET", "/api/x", host="shop.example.com").backend for _ in range(32)])


def test_a_pick_out_of_range_is_a_clear_error():
    t = Table(_spec(), pick=lambda cum: len(cum))
    with pytest.raises(ValueError, match="not the index of one of 2 choices"):
        t.route("GET", "/api/x", host="shop.example.com")
