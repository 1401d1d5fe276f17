"""routecore._compile.table: hostname intersection and the one precedence key per match."""
import pytest

import routecore
from routecore._config.models import HTTPRoute, PathMatch, RouteMatch
from routecore._compile.table import effective_hostnames, intersect_hostname, sort_key


@pytest.mark.parametrize("route, listener, expected", [
    ("a.example.com", None, "a.example.com"),
    ("a.example.com", "a.example.com", "a.example.com"),
    ("a.example.com", "*.example.com", "a.example.com"),
    ("*.example.com", "a.example.com", "a.example.com"),
    ("*.example.com", "*.foo.example.com", "*.foo.example.com"),
    ("*.foo.example.com", "*.example.com", "*.foo.example.com"),
    ("*.example.com", "*.example.org", None),
    ("a.example.com", "b.example.com", None),
    ("example.com", "*.example.com", None),
])
def test_intersect_hostname(route, listener, expected):
    assert intersect_hostname(route, listener) == expected


def test_route_without_hostnames_takes_the_listener_hostname():
    r = HTTPRoute(namespace="ns", name="r")
    assert effective_hostnames(r, "*.example.com") == ["*.example.com"]
    assert effective_hostnames(r, None) == [None]


def key(path_type, value, *, method=None, headers=0, queries=0, ts=None, ns="ns", name="r",
        rule=0, match=0, before=False):
    from routecore._config.models import HeaderMatch, QueryParamMatch

    m = RouteMatch(path=PathMatch(path_type, value), method=method,
                   headers=tuple(HeaderMatch("Exact", f"h{i}", "v") for i in range(headers)),
                   query_params=tuple(QueryParamMatch("Exact", f"q{i}", "v") for i in range(queries)))
    return sort_key(HTTPRoute(namespace=ns, name=name, creation_timestamp=ts), rule, match, m, before)


def test_precedence_order_of_the_spec():
    ordered = [
        key("Exact", "/a"),
        key("PathPrefix", "/abc/def"),
        key("PathPrefix", "/abc", method="GET"),
        key("PathPrefix", "/abc", headers=2),
        key("PathPrefix", "/abc", headers=1, queries=3),
        key("PathPrefix", "/abc", headers=1, queries=1),
        key("PathPrefix", "/abc", ts=100),
        key("PathPrefix", "/abc", ts=200),
        key("PathPrefix", "/abc", ns="team-x", name="r"),
        key("PathPrefix", "/abc", ns="team", name="r"),
        key("PathPrefix", "/abc", ns="team", name="r", rule=1),
        key("PathPrefix", "/abc", ns="team", name="r", rule=1, match=1),
        key("PathPrefix", "/"),
        key("RegularExpression", "/longer.*"),
        key("RegularExpression", "/a.*"),
    ]
    assert sorted(ordered) == ordered


def test_trailing_slash_does_not_change_rank():
    assert key("PathPrefix", "/abc/")[:2] == key("PathPrefix", "/abc")[:2]


def test_regex_before_prefix_ranks_between_exact_and_prefix():
    exact = key("Exact", "/a", before=True)
    regex = key("RegularExpression", "/a.*", before=True)
    prefix = key("PathPrefix", "/abc/def/ghi", before=True)
    assert exact < regex < prefix


def test_router_rejects_an_unknown_regex_precedence():
    with pytest.raises(ValueError, match="regex_precedence"):
        routecore.Router(routecore.load([]), regex_precedence="first")
