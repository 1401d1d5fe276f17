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


_G = "gateway.networking.k8s.io"
# rules of every shape rule_choices has: a plain backend, weighted backends with one that does not
# resolve (the 500 share), a redirect, header modifiers on the rule and on a backendRef, a
# rewrite, a backendRef redirect, an unknown ExtensionRef, no backendRef; and header/query matches
_OBJECTS = [
    {"apiVersion": f"{_G}/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "default"},
     "spec": {"gatewayClassName": "x", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "default"},
     "spec": {"ports": [{"port": 80}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b", "namespace": "default"},
     "spec": {"ports": [{"port": 80}]}},
    {"apiVersion": f"{_G}/v1", "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "default"},
     "spec": {"parentRefs": [{"name": "gw"}, {"group": "", "kind": "Service", "name": "a", "port": 80}],
              "rules": [
         {"matches": [{"path": {"type": "PathPrefix", "value": "/a/"},
                       "headers": [{"name": "X-V", "value": "1"}]}],
          "backendRefs": [{"name": "a", "port": 80}]},
         {"matches": [{"path": {"type": "Exact", "value": "/w"}, "queryParams": [{"name": "q", "value": "1"}]}],
          "backendRefs": [{"name": "a", "port": 80, "weight": 3}, {"name": "missing", "port": 80, "weight": 1}]},
         {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
          "filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 301, "hostname": "x.example"}}]},
         {"matches": [{"path": {"type": "RegularExpression", "value": "/re/[0-9]+"}}],
          "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x-a", "value": "1"}]}},
                      {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/x"}}}],
          "backendRefs": [{"name": "a", "port": 80, "filters": [
              {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [{"name": "x-b", "value": "2"}]}}]},
                          {"name": "b", "port": 80, "filters": [
              {"type": "RequestRedirect", "requestRedirect": {"statusCode": 302, "hostname": "y.example"}}]}]},
         {"matches": [{"path": {"type": "PathPrefix", "value": "/ext"}}],
          "filters": [{"type": "ExtensionRef", "extensionRef": {"group": "example.com", "kind": "Nope", "name": "n"}}],
          "backendRefs": [{"name": "a", "port": 80}]},
         {"matches": [{"path": {"type": "PathPrefix", "value": "/none"}}]},
     ]}},
]


def _specs(new):
    from routecore._compile.attach import Attachments
    from routecore._compile.table import CompileCache
    from routecore._compile.views import gateway_spec, service_spec

    config = routecore.load(_OBJECTS)
    options = routecore.Router(config).options
    attachments = Attachments(config)
    return (gateway_spec(attachments, options, CompileCache(new=new), "default", "gw", 80),
            service_spec(attachments, options, CompileCache(new=new), "default", "a", 80, None))


def test_choices_made_without_init_are_those_init_makes():
    """CompileCache.new (the native twin's new_frozen) makes the same Choices as Choice.__init__,
    every field set: equal, same hash, same fields."""
    import attrs
    from routecore import _match

    if _match.new_frozen is None:
        pytest.skip("the native extension is not built")
    for plain, fast in zip(_specs(None), _specs(_match.new_frozen)):
        assert len(plain.choices) == len(fast.choices) > 3
        for a, b in zip(plain.choices, fast.choices):
            assert attrs.asdict(a, recurse=False) == attrs.asdict(b, recurse=False)
            assert a == b and hash(a) == hash(b)
        assert plain.grpc_choices == fast.grpc_choices and plain.outcomes == fast.outcomes
        # (each cache compiles its own RE2 programs: compared by pattern, as the entries hold it)
        assert [e._replace(regex=None) for lis in plain.listeners for g in lis.groups for e in g.entries] \
            == [e._replace(regex=None) for lis in fast.listeners for g in lis.groups for e in g.entries]


def test_new_frozen_wants_a_value_per_name():
    from routecore import _match
    from routecore._outcome import Backend

    if _match.new_frozen is None:
        pytest.skip("the native extension is not built")
    with pytest.raises(ValueError):
        _match.new_frozen(Backend, ("namespace", "name"), ("ns",))


def test_new_frozen_writes_only_object_slots():
    """new_frozen stores values straight into the slots of the class's member descriptors: a
    name that is not such a slot (a property, a plain class attribute, an instance __dict__
    name, a read-only member) or a slot named twice is refused, never written past the object;
    values are held (reference counts), and a later write of the same slot releases the old."""
    import sys

    from routecore import _match
    from routecore._outcome import Backend

    if _match.new_frozen is None:
        pytest.skip("the native extension is not built")

    class Plain:  # no __slots__: attributes live in __dict__
        x = None

    with pytest.raises(TypeError, match="not a slot"):
        _match.new_frozen(Plain, ("x",), (1,))
    with pytest.raises(TypeError, match="not a slot"):
        _match.new_frozen(Backend, ("namespace", "name", "port", "group", "kind", "__str__"),
                          ("a", "b", 1, "", "Service", 1))
    with pytest.raises(TypeError, match="not a writable object slot"):  # a C member, read-only
        _match.new_frozen(type(slice(0)), ("start",), (1,))
    with pytest.raises(ValueError, match="twice"):
        _match.new_frozen(Backend, ("namespace",) * 6, ("a",) * 6)
    name = "".join(["svc", "-only-here"])  # (a str object nothing else holds)
    before = sys.getrefcount(name)
    b = _match.new_frozen(Backend, ("namespace", "name", "port", "group", "kind", "weight"),
                          ("ns", name, 80, "", "Service", 1))
    held = sys.getrefcount(name)  # (before the assertions: pytest keeps their operands)
    assert held == before + 1
    assert b == Backend("ns", name, 80, "", "Service", 1)
    del b
    assert sys.getrefcount(name) == before


def test_an_entry_is_its_sort_key_then_its_match():
    """Entry.sort_key is the key sort_key() gives its match; the entries of a host group are
    sorted by it."""
    from routecore._compile.table import Entry

    config = routecore.load(_OBJECTS)
    route = config.routes[0]
    spec, _ = _specs(None)
    entries = [e for lis in spec.listeners for g in lis.groups for e in g.entries]
    assert len(entries) == 6 and all(isinstance(e, Entry) for e in entries)
    for e in entries:
        m = route.rules[e.rule].matches[e.match]
        assert e.sort_key == sort_key(route, e.rule, e.match, m, False)
        assert (e.route, e.rule, e.match) == e.sort_key[-3:]
    for lis in spec.listeners:
        for g in lis.groups:
            keys = [e.sort_key for e in g.entries]
            assert keys == sorted(keys)
