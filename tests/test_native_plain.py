"""CEntry.plain (the native table's "no method, header or query condition" flag, which
_slot_entry and Table._bucket read instead of the three fields) agrees with the fields it stands
for in every entry: of a table built whole (_build) and of one made from the previous table by
an update (_match_c_patch.pxi), whose new entries are written by the same _fill. A flag set
where a condition exists would take that entry without checking it; the decisions below say so
too."""
import pytest

import routecore
from builders import APPS, be, exact, gateway, gw_ref, hdr, httproute, listener, prefix, qp, rule
from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")


def _route(extra_path):
    """Every kind of condition, alone and together, ahead of the unconditional rules of the
    same paths (so that both kinds share buckets)."""
    return httproute("r", [gw_ref("gw", APPS)], [
        rule(be("m"), matches=[prefix("/a", method="POST")]),
        rule(be("h"), matches=[prefix("/a", headers=[hdr("x-h", "1")])]),
        rule(be("q"), matches=[exact("/e", queryParams=[qp("k", "v")])]),
        rule(be("all"), matches=[exact("/e", method="PUT", headers=[hdr("x-h", "2")],
                                       queryParams=[qp("k", "w")])]),
        rule(be("plain-a"), matches=[prefix("/a")]),
        rule(be("plain-e"), matches=[exact("/e")]),
        rule(be("new-h"), matches=[prefix(extra_path, headers=[hdr("x-n", "1")])]),
        rule(be("new"), matches=[prefix(extra_path)]),
    ])


def _entries_agree(table):
    from routecore import _match_c
    rows = _match_c._entries_for_tests(table)
    for plain, method, h_start, h_end, q_start, q_end in rows:
        assert plain == (method < 0 and h_start == h_end and q_start == q_end)
    return [row[0] for row in rows]


def _decisions(table):
    return [d.backend.name if d.backend is not None else d.status
            for d in (table.route(m, p, hs) for m, p, hs in [("GET", "/a/x", ()), ("POST", "/a/x", ()), ("GET", "/a", [("x-h", "1")]),
                             ("GET", "/e?k=v", ()), ("GET", "/e?k=w", [("x-h", "2")]),
                             ("PUT", "/e?k=w", [("x-h", "2")]), ("GET", "/e", ()),
                             ("GET", "/n1/z", [("x-n", "1")]), ("GET", "/n1/z", ()),
                             ("GET", "/n2/z", [("x-n", "1")]), ("GET", "/n2/z", ())])]


def test_the_plain_flag_agrees_with_the_conditions_after_a_build_and_an_update(monkeypatch):
    objs = [gateway("gw", listener("web", 80, from_="All"), ns=APPS), _route("/n1")]
    router = routecore.Router(routecore.load(objs), native=True)
    table = router.gateway("gw", APPS, 80)
    flags = _entries_agree(table)
    assert 1 in flags and 0 in flags
    made = []
    real = _match.native_patched
    monkeypatch.setattr(_match, "native_patched",
                        lambda old, spec, changes: made.append(real(old, spec, changes)) or made[-1])
    router.update([_route("/n2")])
    patched = router.gateway("gw", APPS, 80)
    assert made and made[-1] is patched  # made from the previous table, not built whole
    flags = _entries_agree(patched)
    assert 1 in flags and 0 in flags
    pure = routecore.Router(routecore.load([objs[0], _route("/n2")]), native=False)
    assert _decisions(patched) == _decisions(pure.gateway("gw", APPS, 80))
    assert _decisions(patched)[:7] == ["plain-a", "m", "h", "q", "plain-e", "all", "plain-e"]
