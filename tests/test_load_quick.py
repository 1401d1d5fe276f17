"""The one-pass HTTPRoute loader (routecore/_config/quick.py) against the general path (the
compiled validator, the CEL-like checks and the declarations' builders): on every route it either
builds exactly the model the general path builds, or gives up (None), and then load's result and
errors are the general path's. Run against the module as imported (the compiled extension when
it is built) and against its Python source loaded on its own (the pure-Python install)."""
import copy
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import routecore
import routecore.testing as rt
from routecore import ConfigError
from routecore._config import cel, quick

from conftest import source_module

_SOURCE = Path(quick.__file__).with_name("quick.py")
_SOURCE_MODULE = source_module(quick)
IMPLEMENTATIONS = {"imported": quick.http_route, "source": _SOURCE_MODULE.http_route}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def impl(request, monkeypatch):
    """parse uses this implementation of http_route (and counts the routes it built)."""
    one_pass = IMPLEMENTATIONS[request.param]
    built = []

    def http_route(obj, ns, memo):
        route = one_pass(obj, ns, memo)
        built.append(route is not None)
        return route

    monkeypatch.setattr(quick, "http_route", http_route)
    return built


def _load(objects, strict=True):
    """What load returns, or the issues it raises, on a copy of ``objects``."""
    try:
        return routecore.load(copy.deepcopy(objects), strict=strict)
    except ConfigError as exc:
        return exc.errors


def _general(objects, strict=True):
    """_load with the one pass turned off (every object through the general path)."""
    one_pass = quick.http_route
    quick.http_route = lambda obj, ns, memo: None
    try:
        return _load(objects, strict)
    finally:
        quick.http_route = one_pass


def test_the_source_is_importable_on_its_own():
    assert _SOURCE_MODULE.__file__ == str(_SOURCE)
    assert IMPLEMENTATIONS["source"] is not quick.http_route


_DRAWS = settings(deadline=None, max_examples=60,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.function_scoped_fixture])


@_DRAWS
@given(rt.configs())
def test_valid_configs_load_as_the_general_path_loads_them(impl, objects):
    assert _load(objects, strict=False) == _general(objects, strict=False)


@_DRAWS
@given(rt.httproutes(parent="gateway", regexes=False, filter_kinds=()))
def test_plain_routes_take_the_one_pass_and_equal_the_general_path(impl, route):
    impl.clear()
    assert _load([route]) == _general([route])
    # (one parentRef, no regex, no filter: the shape the pass handles, unless a drawn rule holds
    # something it leaves to the general path: a name, a timeout, a session...)
    assert impl == [True] or _has_unhandled_rule_field(route)


def _has_unhandled_rule_field(route):
    return any(set(rule) - {"matches", "backendRefs"} for rule in route["spec"]["rules"])


@_DRAWS
@given(rt.invalid_httproutes())
def test_invalid_routes_give_the_general_paths_errors(impl, bad):
    impl.clear()
    assert _load([bad.obj]) == _general([bad.obj])
    assert impl in ([], [False])  # never built


def test_the_workloads_take_the_one_pass(impl):
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import workloads
    for make in (workloads.gateway, workloads.mesh):
        impl.clear()
        objects = make(40).objects
        assert _load(objects) == _general(objects)
        assert impl and all(impl)


def _route(spec, **meta):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": dict({"name": "r", "namespace": "ns"}, **meta), "spec": spec}


_PARENT = {"name": "gw"}
_BACKEND = {"name": "be", "port": 8080}


def _rules(*matches, backends=(_BACKEND,)):
    return [{"matches": list(matches), "backendRefs": list(backends)}]


class _Str(str):
    pass


# routes the pass builds itself: (label, route)
BUILT = [
    ("defaults", _route({"rules": [{}]})),
    ("empty matches take the default", _route({"parentRefs": [_PARENT], "rules": [{"matches": []}]})),
    ("path defaults", _route({"rules": _rules({}, {"path": {}}, {"path": {"type": "Exact"}},
                                             {"path": {"value": "/a"}})})),
    ("header names in two cases: the first kept, lower-cased",
     _route({"rules": _rules({"headers": [{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"},
                                          {"name": "x-b", "value": "3", "type": "Exact"}]})})),
    ("query params and method", _route({"rules": _rules({"queryParams": [{"name": "Q", "value": "v"}],
                                                          "method": "POST"})})),
    ("references in full", _route({"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "namespace": "o",
                                                   "port": 80, "sectionName": "http"}],
                                   "hostnames": ["a.example.com", "*.b.example.com"],
                                   "rules": _rules({}, backends=[{"name": "x", "kind": "Other", "group": "g.io",
                                                                  "namespace": "n2", "weight": 0},
                                                                 {"name": "be", "port": 1, "weight": 1000000}])})),
    ("no parentRefs, hostnames or backendRefs", _route({"parentRefs": [], "hostnames": [],
                                                        "rules": [{"backendRefs": []}]})),
    ("metadata with labels and a timestamp",
     _route({"rules": [{}]}, labels={"a": "b"}, creationTimestamp="2024-01-02T03:04:05Z", uid="x")),
    ("a null spec field reads as absent", _route({"hostnames": None, "parentRefs": None, "rules": [{}]})),
    ("a tuple of rules", _route({"rules": ({},)})),
    ("status taken as is", dict(_route({"rules": [{}]}), status={"anything": [1]})),
    ("16 rules of 8 matches", _route({"rules": [{"matches": [{"path": {"value": f"/{i}/{j}"}} for j in range(8)]}
                                                for i in range(16)]})),
]

# routes the pass leaves to the general path (valid or not): (label, route)
LEFT = [
    ("two parentRefs", _route({"parentRefs": [dict(_PARENT, sectionName="a"), dict(_PARENT, sectionName="b")],
                               "rules": [{}]})),
    ("a null item", _route({"rules": [{}, None]})),
    ("a null path", _route({"rules": _rules({"path": None})})),
    ("a null namespace", _route({"rules": [{}]}, namespace=None)),
    ("no rules (the default rule)", _route({"parentRefs": [_PARENT]})),
    ("no rule at all", _route({"rules": []})),
    ("17 rules", _route({"rules": [{}] * 17})),
    ("129 matches", _route({"rules": [{"matches": [{"path": {"value": f"/{i}/{j}"}} for j in range(43)]}
                                      for i in range(3)]})),
    ("a regex path", _route({"rules": _rules({"path": {"type": "RegularExpression", "value": "/a.*"}})})),
    ("an escaped path", _route({"rules": _rules({"path": {"value": "/a%20b"}})})),
    ("a dot segment", _route({"rules": _rules({"path": {"value": "/a/../b"}})})),
    ("no slash", _route({"rules": _rules({"path": {"value": "a"}})})),
    ("a path too long", _route({"rules": _rules({"path": {"value": "/" + "a" * 1024}})})),
    ("a regex header", _route({"rules": _rules({"headers": [{"name": "a", "type": "RegularExpression",
                                                             "value": "x.*"}]})})),
    ("the same header twice", _route({"rules": _rules({"headers": [{"name": "a", "value": "1"},
                                                                   {"name": "a", "value": "2"}]})})),
    ("the same query param twice", _route({"rules": _rules({"queryParams": [{"name": "a", "value": "1"},
                                                                            {"name": "a", "value": "2"}]})})),
    ("a header without a value", _route({"rules": _rules({"headers": [{"name": "a"}]})})),
    ("a bad method", _route({"rules": _rules({"method": "get"})})),
    ("a filter", _route({"rules": [{"filters": [{"type": "RequestHeaderModifier",
                                                  "requestHeaderModifier": {"remove": ["x"]}}]}]})),
    ("backend filters", _route({"rules": _rules({}, backends=[dict(_BACKEND, filters=[])])})),
    ("a Service backend without a port", _route({"rules": _rules({}, backends=[{"name": "be"}])})),
    ("a port that is a bool", _route({"rules": _rules({}, backends=[{"name": "be", "port": True}])})),
    ("a port out of range", _route({"parentRefs": [dict(_PARENT, port=0)], "rules": [{}]})),
    ("a weight out of range", _route({"rules": _rules({}, backends=[dict(_BACKEND, weight=1000001)])})),
    ("a str subclass", _route({"rules": _rules({}, backends=[{"name": _Str("be"), "port": 1}])})),
    ("an IP hostname", _route({"hostnames": ["10.0.0.1"], "rules": [{}]})),
    ("17 hostnames", _route({"hostnames": [f"h{i}.example.com" for i in range(17)], "rules": [{}]})),
    ("a parentRef without a name", _route({"parentRefs": [{"kind": "Gateway"}], "rules": [{}]})),
    ("an unknown parentRef field", _route({"parentRefs": [dict(_PARENT, nmae="x")], "rules": [{}]})),
    ("an unknown field", dict(_route({"rules": [{}]}), extra=1)),
    ("a rule name", _route({"rules": [{"name": "a"}]})),
    ("useDefaultGateways", _route({"useDefaultGateways": "All", "rules": [{}]})),
    ("a bad name", _route({"rules": [{}]}, name="Bad_Name")),
    ("a bad namespace", _route({"rules": [{}]}, namespace="Bad")),
    ("no name", {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                 "metadata": {"namespace": "ns"}, "spec": {"rules": [{}]}}),
    ("a bad timestamp", _route({"rules": [{}]}, creationTimestamp="yesterday")),
    ("bad labels", _route({"rules": [{}]}, labels={"a": 1})),
    ("no spec", {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}}),
]


@pytest.mark.parametrize("label,route", BUILT, ids=[b[0] for b in BUILT])
def test_the_pass_builds_these_as_the_general_path(impl, label, route):
    impl.clear()
    assert _load([route]) == _general([route])
    assert impl == [True]


@pytest.mark.parametrize("label,route", LEFT, ids=[b[0] for b in LEFT])
def test_the_pass_leaves_these_to_the_general_path(impl, label, route):
    impl.clear()
    for strict in (True, False):
        assert _load([route], strict) == _general([route], strict)
    assert impl == [False, False]


def test_objects_the_driver_checks_never_reach_the_pass(impl):
    """A duplicate, a wrong apiVersion: the general path reports them (with the object's own)."""
    route = _route({"rules": [{}]})
    for objects in ([route, route], [dict(route, apiVersion="v1")]):
        impl.clear()
        assert _load(objects) == _general(objects)
        assert impl == [True] * (len(objects) - 1)


@given(st.text(alphabet=st.sampled_from("/./a/Z9-_~!$&'()*+,;=:@%#?\\ \t\x00é"), max_size=14),
       st.sampled_from(["Exact", "PathPrefix"]))
@settings(max_examples=1500, deadline=None)
def test_the_written_out_plain_path_is_cels(value, typ):
    """quick.py writes cel.plain_path out: it builds a route with this path exactly when
    cel.plain_path takes the path."""
    route = _route({"rules": _rules({"path": {"type": typ, "value": value}})})
    for one_pass in IMPLEMENTATIONS.values():
        assert (one_pass(route, "ns", {}) is not None) == cel.plain_path(value), value



@given(st.one_of(st.text(alphabet=st.sampled_from("ab0-.Z_é"), max_size=12),
                 st.integers(250, 256).map(lambda n: "a" * n),
                 st.lists(st.sampled_from(["a", "b9", "a-b", "-a", "a-", ""]), max_size=4).map(".".join)))
@settings(max_examples=1500, deadline=None)
def test_the_written_out_name_check_is_the_declared_one(name):
    """quick.py writes the route name's check out (compiled): it builds a route with this name
    exactly when the declared check (an RFC 1123 subdomain of 1 to 253 characters) takes it."""
    route = _route({"rules": [{}]}, name=name)
    declared = re.fullmatch(cel.PRECISE_HOSTNAME_RE, name) is not None and len(name) <= 253
    for one_pass in IMPLEMENTATIONS.values():
        assert (one_pass(route, "ns", {}) is not None) == declared, name

def _sharing(config):
    """Which parts of the routes are the same object (ids numbered by first sight)."""
    numbers = {}

    def n(x):
        return numbers.setdefault(id(x), len(numbers))

    out = []
    for r in config.routes:
        out.append((n(r.parent_refs), tuple(map(n, r.parent_refs)), n(r.hostnames), n(r.rule_indexes),
                    tuple((n(rule.backend_refs), tuple(map(n, rule.backend_refs))) for rule in r.rules)))
    return out


def test_the_pass_shares_what_the_general_path_shares(impl):
    """Equal references, their tuples, hostnames and rule indexes are one object per load, as
    the general path makes them (memory: comp4's figures count on it)."""
    routes = [_route({"parentRefs": [_PARENT], "hostnames": ["a.example.com"],
                      "rules": _rules({}, backends=[_BACKEND, dict(_BACKEND, weight=2)])}, name=f"r{i}")
              for i in range(3)]
    routes.append(_route({"parentRefs": [dict(_PARENT, port=80)], "rules": _rules({}) * 2}, name="other"))
    impl.clear()
    assert _sharing(_load(routes)) == _sharing(_general(routes))
    assert impl == [True] * 4
