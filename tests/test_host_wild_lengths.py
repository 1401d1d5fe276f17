"""The native wildcard lookup's length test (_suffix_may_hold in _match_c_host.pxi): a Host of up
to 32 characters whose "." suffixes have no length a wildcard key of the map has is decided
without looking at the wildcards (its "." mask against _StrMap.rlens, the map's key lengths
reversed). Each case must decide as the pure twin: wildcards of several suffix lengths (the
shortest, 2, ".x", and the longest a 32-character Host can have, 31), Hosts of every length
1-34 with a "." at every place, an exact host whose group has no rule for the path (its
wildcards are tried next), and a table made from the previous one by an update that adds a
wildcard of a new length (_match_c_patch.pxi must remake rlens). A test shifted by one, or a
stale rlens, would miss a wildcard that matches."""
import pytest

import routecore
from builders import APPS, be, exact, gateway, gw_ref, httproute, listener, prefix, rule
from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")

# wildcard suffixes (after the "*") of lengths 2, 5, 9, 15 and 31
WILD = [".x", ".b.cd", ".ee.fg.hi", ".w3.example.com", "." + "s" * 14 + "." + "t" * 15]
EXACT = ["a.b.cd", "h1.example.com", "q" * 32]


def _objects(wild, extra=()):
    objs = [gateway("gw", listener("web", 80, from_="All"), ns=APPS)]
    for i, suffix in enumerate(wild):
        objs.append(httproute(f"w{i}", [gw_ref("gw", APPS)],
                              [rule(be(f"wild{len(suffix)}"), matches=[prefix("/")])],
                              hostnames=["*" + suffix]))
    for i, host in enumerate(EXACT):  # an exact host whose group has /only alone
        objs.append(httproute(f"e{i}", [gw_ref("gw", APPS)],
                              [rule(be(f"exact{i}"), matches=[exact("/only")])],
                              hostnames=[host]))
    objs.extend(extra)
    return objs


def _hosts():
    """Hosts of every length 1-34 ending in each suffix (and in none), a "." at every place."""
    out = set(EXACT) | {"u" + s for s in WILD} | {"u.v" + s for s in WILD}
    for suffix in WILD + [".nomatch", ".example.org", ""]:
        for n in range(1, 35):
            lead = n - len(suffix)
            if lead < 1:
                continue
            for dot in range(0, lead):
                name = list("k" * lead)
                if 0 < dot < lead - 1:
                    name[dot] = "."
                out.add("".join(name) + suffix)
    return sorted(out)


def _decide(table, hosts):
    return [(h, p, d.backend.name if d.backend is not None else d.status)
            for h in hosts for p in ("/only", "/other")
            for d in [table.route("GET", p, [("host", h)])]]


def _tables(objs):
    native = routecore.Router(routecore.load(objs), native=True).gateway("gw", APPS, 80)
    pure = routecore.Router(routecore.load(objs), native=False).gateway("gw", APPS, 80)
    return native, pure


def test_wildcards_of_several_lengths_decide_as_the_pure_twin():
    native, pure = _tables(_objects(WILD))
    hosts = _hosts()
    got = _decide(native, hosts)
    assert got == _decide(pure, hosts)
    by = {(h, p): name for h, p, name in got}
    # each suffix length matches (the test must not skip any of them) ...
    for suffix in WILD:
        assert by[("u" + suffix, "/other")] == f"wild{len(suffix)}"
        assert by[("u.v" + suffix, "/other")] == f"wild{len(suffix)}"
    # ... the longest wildcard a 32-character Host can have, and an exact host's path miss that
    # the wildcards then take
    assert by[("k" + WILD[-1], "/other")] == "wild31"
    assert by[("a.b.cd", "/only")] == "exact0"
    assert by[("a.b.cd", "/other")] == "wild5"
    assert by[("h1.example.com", "/only")] == "exact1"
    assert by[("h1.example.com", "/other")] == 404


def test_an_update_that_adds_a_wildcard_of_a_new_length_is_seen(monkeypatch):
    """The patched table's wildcard map gains a key length: its rlens must say so."""
    objs = _objects(WILD[:2])
    router = routecore.Router(routecore.load(objs), native=True)
    router.gateway("gw", APPS, 80).route("GET", "/", [("host", "u.x")])
    made = []
    real = _match.native_patched
    monkeypatch.setattr(_match, "native_patched",
                        lambda old, spec, changes: made.append(real(old, spec, changes)) or made[-1])
    new = httproute("w-new", [gw_ref("gw", APPS)],
                    [rule(be("wild-new"), matches=[prefix("/")])], hostnames=["*.new7.example"])
    router.update([new])
    patched = router.gateway("gw", APPS, 80)
    assert made and made[-1] is patched  # made from the previous table, not built whole
    pure = routecore.Router(routecore.load(objs + [new]), native=False).gateway("gw", APPS, 80)
    hosts = ["a.new7.example", "new7.example", "b.c.new7.example", "u.x", "u.b.cd", "z.example"]
    got = _decide(patched, hosts)
    assert got == _decide(pure, hosts)
    assert dict(((h, p), n) for h, p, n in got)[("a.new7.example", "/other")] == "wild-new"
