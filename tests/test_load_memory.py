"""What a load keeps per route and per match (issue 15 item 5's memory per rule), pinned by the
objects themselves rather than by timings or resident-set figures:
- a RouteMatch holds its path's type and value itself, no PathMatch object; ``match.path`` and
  everything else public about a RouteMatch (construction, equality, hashing by value, repr,
  pattern matching, attrs.evolve, pickling) are as when ``path`` was an attribute;
- while a load runs it keeps no tuple per object it has seen (such tuples, freed when the load
  ends, left as many free blocks among the models it made)."""
import copy
import gc
import pickle

import attrs
import pytest

import routecore
from routecore._config import models as m, quick

GROUP = "gateway.networking.k8s.io"


def _route(i, path=None, extra=None):
    match = {"path": path or {"type": "PathPrefix", "value": f"/r{i}"}}
    match.update(extra or {})
    return {"apiVersion": f"{GROUP}/v1", "kind": "HTTPRoute",
            "metadata": {"name": f"r{i}", "namespace": "default"},
            "spec": {"parentRefs": [{"name": "gw"}],
                     "rules": [{"matches": [match, {}], "backendRefs": [{"name": "svc", "port": 80}]}]}}


# routes of the one pass (quick.py) and of the general path (a regex path, a regex header)
ROUTES = [_route(0), _route(1, {"type": "Exact", "value": "/x"}, {"method": "GET"}),
          _route(2, {"type": "RegularExpression", "value": "/r[0-9]+"}),
          _route(3, None, {"headers": [{"type": "RegularExpression", "name": "x-v", "value": "a+"}]})]


def test_a_loaded_match_holds_no_path_match_object():
    config = routecore.load(ROUTES)
    matches = [x for r in config.routes for rule in r.rules for x in rule.matches]
    assert len(matches) == 8
    for x in matches:
        assert not [o for o in gc.get_referents(x) if isinstance(o, m.PathMatch)]
        assert type(x.path) is m.PathMatch and x.path == m.PathMatch(x.path_type, x.path_value)
    assert [(x.path.type, x.path.value) for x in matches[::2]] == [
        ("PathPrefix", "/r0"), ("Exact", "/x"), ("RegularExpression", "/r[0-9]+"), ("PathPrefix", "/r3")]
    assert {x.path for x in matches[1::2]} == {m.PathMatch("PathPrefix", "/")}  # ({}: the default path)


def test_a_route_match_reads_as_when_path_was_an_attribute():
    p = m.PathMatch("Exact", "/a")
    x = m.RouteMatch(p, method="GET")
    assert x == m.RouteMatch(path=m.PathMatch("Exact", "/a"), headers=(), query_params=(), method="GET")
    assert hash(x) == hash(m.RouteMatch(path=m.PathMatch("Exact", "/a"), method="GET"))
    assert x != m.RouteMatch(m.PathMatch("PathPrefix", "/a"), method="GET")
    assert x != m.RouteMatch(m.PathMatch("Exact", "/b"), method="GET")
    assert x.path == p and x.path is not p
    assert repr(x) == ("RouteMatch(path=PathMatch(type='Exact', value='/a'), headers=(), "
                       "query_params=(), method='GET')")
    assert m.RouteMatch() == m.RouteMatch(m.PathMatch("PathPrefix", "/"))
    assert m.RouteMatch().path == m.PathMatch("PathPrefix", "/")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        x.path_type = "PathPrefix"
    assert attrs.evolve(x, method=None) == m.RouteMatch(p)
    assert attrs.evolve(x, path_value="/c").path == m.PathMatch("Exact", "/c")
    assert pickle.loads(pickle.dumps(x)) == x and copy.deepcopy(x) == x
    match x:
        case m.RouteMatch(path, headers, query, method):
            assert (path, headers, query, method) == (p, (), (), "GET")
        case _:  # pragma: no cover - the test fails here
            pytest.fail("RouteMatch's positional pattern")


def test_a_load_keeps_no_tuple_per_object_while_it_runs(monkeypatch):
    """At the last route, no (kind, namespace, name) tuple of the routes before it is alive."""
    n = 300
    objects = [_route(i) for i in range(n)]
    names = {f"r{i}" for i in range(n)}
    one_pass, calls, alive = quick.http_route, [], []

    def http_route(obj, ns, memo):
        calls.append(1)
        if len(calls) == n:
            alive.extend(o for o in gc.get_objects()
                         if type(o) is tuple and len(o) == 3 and o[0] == "HTTPRoute" and type(o[2]) is str
                         and o[2] in names)
        return one_pass(obj, ns, memo)

    monkeypatch.setattr(quick, "http_route", http_route)
    config = routecore.load(objects)
    assert len(calls) == n and len(config.routes) == n
    assert alive == []


def test_equal_header_and_query_matches_are_one_object_per_load():
    """The one pass (quick.py) and the general path share them under the same keys: equal header
    matches (names lower-cased first) and query matches are one object each (their tuples are
    not shared)."""
    canary = {"headers": [{"name": "X-Canary", "value": "true"}], "queryParams": [{"name": "v", "value": "2"}]}
    lower = {"headers": [{"type": "Exact", "name": "x-canary", "value": "true"}],
             "queryParams": [{"name": "v", "value": "2"}]}
    regex = {"type": "RegularExpression", "value": "/r[0-9]+"}  # (the general path's)
    objects = [_route(0, None, canary), _route(1, None, lower), _route(2, regex, canary), _route(3, regex, lower),
               _route(4, None, {"headers": [{"name": "x-canary", "value": "false"}]})]
    first = [r.rules[0].matches[0] for r in routecore.load(objects).routes]
    assert first[0].headers == (m.HeaderMatch("Exact", "x-canary", "true"),)
    assert first[0].query_params == (m.QueryParamMatch("Exact", "v", "2"),)
    for x in first[1:4]:
        assert x.headers == first[0].headers and x.query_params == first[0].query_params
        assert x.headers[0] is first[0].headers[0] and x.query_params[0] is first[0].query_params[0]
    assert first[4].headers == (m.HeaderMatch("Exact", "x-canary", "false"),)
    assert first[4].headers[0] is not first[0].headers[0] and first[4].query_params == ()
