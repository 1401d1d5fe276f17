"""How a compile stores what the tables keep (issue 15 item 5: bytes per rule).

Pins: the outcomes of a table are one flat ``Outcomes`` store (an array of first choices and a
list of shared weight tuples), read as (first, weights) pairs; a full Gateway build hands its
sorted host groups to the spec as they are (one tuple of entries per host, not a copy), and an
update copies a host's entries before it changes them, so a view made before the update answers
as it did; the native table, whose path maps are made after the layout from recorded buckets,
finds every bucket of many host groups as the pure twin does; a spec seals its Builder (the
builder, the spec and the table hold one tuple of choices and one Outcomes); an Entry's rank is
one tuple shared by the entries of that rank.
"""
import pytest

import routecore
from routecore import Router, _match
from routecore._compile.outcomes import Outcomes
from routecore._compile.table import KEY_LEN, CompileCache, Entry
from routecore._outcome import Choice
from routecore._compile.views import GatewayBuild

from builders import INFRA, be, exact, gateway, gw_ref, hdr, httproute, listener, prefix, rule


def _objects(n, hosts=4):
    """n routes on hosts h0..h{hosts-1}: an Exact and a PathPrefix per route, the same paths on
    every host (buckets of one path in many groups), every third route a second rule on the
    same prefix with a header match (buckets of two entries), weighted two ways."""
    routes = []
    for i in range(n):
        rules = [rule(be(f"s{i % 5}"), matches=[exact(f"/r{i % 7}/health"), prefix(f"/r{i % 7}/api")])]
        if i % 3 == 0:
            rules.append(rule(be("canary", weight=1), be(f"s{i % 5}", weight=9),
                              matches=[prefix(f"/r{i % 7}/api", headers=[hdr("x-canary", "1")])]))
        routes.append(httproute(f"r{i}", [gw_ref("edge")], rules, hostnames=[f"h{i % hosts}.example.com"]))
    return [gateway("edge", listener("web", from_="All"))] + routes


def _build(router):
    return GatewayBuild.full(router.attachments, router.options, CompileCache(), INFRA, "edge", 80)


def test_outcomes_are_one_flat_store_with_shared_weights():
    router = Router(routecore.load(_objects(30)), native=False, seed=1)
    spec = _build(router).spec()
    outs = spec.outcomes
    assert isinstance(outs, Outcomes) and outs.firsts.typecode == "q"
    assert len(outs) == len(outs.firsts) == len(outs.weights) > 30
    one = [w for w in outs.weights if w == (1,)]
    split = [w for w in outs.weights if w == (1, 10)]
    assert len(one) > 30 and len(split) == 10
    assert all(w is one[0] for w in one) and all(w is split[0] for w in split)
    for i, (first, weights) in enumerate(outs):
        assert outs[i] == (first, weights) and 0 <= first < len(spec.choices)
    # a copy is equal and independent: the Builder's store grows, the spec's does not
    copy = outs.copy()
    assert copy == outs and hash(copy) == hash(outs)
    copy.append(0, (1,))
    assert copy != outs and len(copy) == len(outs) + 1


def test_a_full_build_hands_its_host_groups_to_the_spec():
    router = Router(routecore.load(_objects(12)), native=False, seed=1)
    build = _build(router)
    spec = build.spec()
    (lb,) = build.listeners
    for group in spec.listeners[0].groups:
        assert type(group.entries) is tuple and group.entries is lb.groups[group.hostname]


def test_a_spec_seals_its_builder():
    """The spec holds the Builder's own choice tuples and Outcomes (one array of each per view,
    not one per holder); a sealed Builder takes no outcome, one carried from it does and leaves
    the spec as it was."""
    router = Router(routecore.load(_objects(12)), native=False, seed=1)
    build = _build(router)
    b = build.builder
    spec = build.spec()
    assert type(spec.choices) is tuple and spec.choices is b.choices
    assert spec.grpc_choices is b.grpc and spec.outcomes is b.outcomes
    again = build.spec()
    assert again.choices is spec.choices and again.outcomes is spec.outcomes
    n, k = len(spec.outcomes), len(spec.choices)
    with pytest.raises(RuntimeError, match="carry"):
        b.static(Choice(matched=False, status=404))
    assert (len(spec.outcomes), len(spec.choices), len(spec.grpc_choices)) == (n, k, k)
    carried = b.carry(router.attachments, CompileCache())
    assert carried.static(Choice(matched=False, status=404)) == n
    assert len(carried.choices) == k + 1 and len(carried.outcomes) == n + 1
    assert (len(spec.outcomes), len(spec.choices)) == (n, k)


def test_entries_of_one_rank_share_it():
    """An Entry is 10 items, its sort key the first 5: the rank (class, path length, method,
    header and query counts) is one tuple per distinct rank; the groups sort as the ranks'
    parts laid out flat would."""
    router = Router(routecore.load(_objects(30)), native=False, seed=1)
    spec = _build(router).spec()
    entries = [e for g in spec.listeners[0].groups for e in g.entries]
    assert len(Entry._fields) == 10 and KEY_LEN == 5 and len(entries) > 60
    ranks = {}
    for e in entries:
        assert len(e.rank) == 5 and ranks.setdefault(e.rank, e.rank) is e.rank
    assert len(ranks) == 3  # Exact; PathPrefix of length 7, with and without a header match
    for g in spec.listeners[0].groups:
        assert sorted(g.entries, key=lambda e: (*e.rank, *e[1:KEY_LEN])) == list(g.entries)


def _answers(view, hosts=4):
    return [view.route("GET", path, headers, host=f"h{h}.example.com").to_dict()
            for h in range(hosts) for path in ("/r1/health", "/r1/api/x", "/r2/api", "/nope")
            for headers in ([], [("x-canary", "1")])]


def test_a_view_made_before_an_update_answers_as_before(twin):
    """The update adds a route to host h1 (its group's entries change) and removes one from h2:
    the old view's groups are the build's tuples, which the update copied, not changed."""
    objects = _objects(12)
    router = Router(routecore.load(objects), native=twin, seed=1)
    old = router.gateway("edge", namespace=INFRA)
    before = _answers(old)
    added = httproute("late", [gw_ref("edge")], [rule(be("late"), matches=[exact("/r1/health")])],
                      hostnames=["h1.example.com"])
    router.update([added], [("HTTPRoute", objects[3]["metadata"]["namespace"], "r2")])
    new = router.gateway("edge", namespace=INFRA)
    assert _answers(old) == before
    assert _answers(new) != before  # (the update changed something the answers show)


@pytest.mark.skipif(_match.NativeTable is None, reason="the native extension is not built")
def test_every_bucket_of_many_groups_is_found_by_both_twins():
    source = _objects(63, hosts=9)  # (each (host, i % 7) pair once: 63 = 9 * 7)
    views = [Router(routecore.load(source), native=n, seed=1).gateway("edge", namespace=INFRA)
             for n in (False, True)]
    for h in range(9):
        for k in range(7):
            for path in (f"/r{k}/health", f"/r{k}/api", f"/r{k}/api/v1", f"/r{k}/healthz"):
                for headers in ([], [("x-canary", "1")]):
                    got = [v.route("GET", path, headers, host=f"h{h}.example.com").to_dict()
                           for v in views]
                    assert got[0] == got[1], (h, path, headers)
                    if path != f"/r{k}/healthz":
                        assert got[0]["matched"], (h, path)


@pytest.mark.skipif(_match.NativeTable is None, reason="the native extension is not built")
@pytest.mark.parametrize("n", [2, 5])  # (fewer than 4 regexes: the literal prefilter; 4 or more: an RE2 Set)
def test_regex_paths_with_and_without_literals_answer_alike(n):
    """Entries no longer keep their regex's prefilter literal: the native table computes it
    from the entry's path where it lays out the group. Paths that contain the literal, and
    paths that match a regex without one, are found by both twins, the right route each."""
    regexes = [f"/items{i}/[0-9]+/detail" for i in range(n - 1)] + ["/[a-z]+/[0-9]+"]
    routes = [httproute(f"x{i}", [gw_ref("edge")],
                        [rule(be(f"s{i}"), matches=[{"path": {"type": "RegularExpression", "value": p}}])])
              for i, p in enumerate(regexes)]
    source = [gateway("edge", listener("web", from_="All"))] + routes
    views = [Router(routecore.load(source), native=native, seed=1).gateway("edge", namespace=INFRA)
             for native in (False, True)]
    for path, want in ([(f"/items{i}/42/detail", f"s{i}") for i in range(n - 1)]
                       + [("/abc/7", f"s{n - 1}"), ("/items0/42/other", None), ("/items0/x/detail", None)]):
        got = [v.route("GET", path, host="a.example.com").to_dict() for v in views]
        assert got[0] == got[1], path
        assert (got[0]["backend"]["name"] if got[0]["matched"] else None) == want, (path, got[0])
