"""Matching and precedence (semantics digest §2-§4 and the documented choices in api.md).

Every test runs on both twins (``twin`` fixture). Path/header/query/method tests use a mesh
Service view; hostname tests use a Gateway view.
"""
import pytest

import routecore
from conftest import make_router

GW = "gateway.networking.k8s.io/v1"
OLD = "2024-01-01T00:00:00Z"
NEW = "2025-01-01T00:00:00Z"


# --- builders ----------------------------------------------------------------------------------

def route(name, rules, *, ns="default", created=OLD, parent=None, hostnames=None):
    spec = {"parentRefs": [parent or {"group": "", "kind": "Service", "name": "svc", "port": 80}],
            "rules": rules}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    meta = {"name": name, "namespace": ns}
    if created is not None:
        meta["creationTimestamp"] = created
    return {"apiVersion": GW, "kind": "HTTPRoute", "metadata": meta, "spec": spec}


def rule(backend, *matches, **extra):
    r = {"backendRefs": [{"name": backend, "port": 8080}]}
    if matches:
        r["matches"] = list(matches)
    r.update(extra)
    return r


def prefix(value, **more):
    return dict(path={"type": "PathPrefix", "value": value}, **more)


def exact(value, **more):
    return dict(path={"type": "Exact", "value": value}, **more)


def regex(value, **more):
    return dict(path={"type": "RegularExpression", "value": value}, **more)


def hdr(name, value, type_="Exact"):
    return {"name": name, "value": value, "type": type_}


def qp(name, value, type_="Exact"):
    return {"name": name, "value": value, "type": type_}


def mesh(objs, twin, **kw):
    return make_router(list(objs), twin, **kw).service("svc", namespace="default", port=80)


def gateway_obj(listeners=None, ns="infra"):
    return {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "edge", "namespace": ns},
            "spec": {"gatewayClassName": "routecore", "listeners": listeners or [
                {"name": "web", "port": 80, "protocol": "HTTP",
                 "allowedRoutes": {"namespaces": {"from": "All"}}}]}}


GW_PARENT = {"name": "edge", "namespace": "infra"}


def gw_route(name, rules, *, hostnames=None, ns="default", created=OLD):
    return route(name, rules, ns=ns, created=created, parent=GW_PARENT, hostnames=hostnames)


def gw(objs, twin, port=80, **kw):
    return make_router([gateway_obj()] + list(objs), twin, **kw).gateway("edge", "infra", port)


def backend(d):
    return None if d.backend is None else d.backend.name


# --- precedence (§4) ---------------------------------------------------------------------------

def test_exact_beats_prefix_of_same_and_longer_text(twin, twins_agree):
    objs = [route("a", [rule("prefix", prefix("/a/b/"))]),           # older, trailing slash: longer text
            route("b", [rule("exact", exact("/a/b"))], created=NEW)]
    v = mesh(objs, twin)
    assert backend(v.route("GET", "/a/b")) == "exact"
    assert backend(v.route("GET", "/a/b/c")) == "prefix"
    assert twins_agree(objs, ("service", "svc", "default", 80), "GET", "/a/b")["route"] == "default/b"


def test_longest_prefix_wins(twin):
    objs = [route("a", [rule("short", prefix("/a"))]),
            route("b", [rule("long", prefix("/a/b"))], created=NEW),
            route("c", [rule("root", prefix("/"))])]
    v = mesh(objs, twin)
    assert backend(v.route("GET", "/a/b/c")) == "long"
    assert backend(v.route("GET", "/a/bc")) == "short"
    assert backend(v.route("GET", "/x")) == "root"


def test_method_beats_headers(twin):
    objs = [route("a", [rule("headers", prefix("/", headers=[hdr("x-a", "1"), hdr("x-b", "1")])),
                        rule("method", prefix("/", method="GET"))])]
    v = mesh(objs, twin)
    d = v.route("GET", "/", [("x-a", "1"), ("x-b", "1")])
    assert backend(d) == "method" and d.rule == 1
    assert backend(v.route("POST", "/", [("x-a", "1"), ("x-b", "1")])) == "headers"


def test_more_headers_beats_fewer(twin):
    objs = [route("a", [rule("one", prefix("/", headers=[hdr("x-a", "1")])),
                        rule("two", prefix("/", headers=[hdr("x-a", "1"), hdr("x-b", "1")]))])]
    v = mesh(objs, twin)
    assert backend(v.route("GET", "/", {"x-a": "1", "x-b": "1"})) == "two"
    assert backend(v.route("GET", "/", {"x-a": "1"})) == "one"


def test_more_query_params_beats_fewer_and_headers_beat_query(twin):
    objs = [route("a", [rule("q1", prefix("/", queryParams=[qp("a", "1")])),
                        rule("q2", prefix("/", queryParams=[qp("a", "1"), qp("b", "1")])),
                        rule("h1", prefix("/", headers=[hdr("x-h", "1")]))])]
    v = mesh(objs, twin)
    assert backend(v.route("GET", "/?a=1&b=1")) == "q2"
    assert backend(v.route("GET", "/?a=1")) == "q1"
    assert backend(v.route("GET", "/?a=1&b=1", {"x-h": "1"})) == "h1"


def test_older_route_wins_across_routes(twin):
    objs = [route("a", [rule("newer", prefix("/x"))], created=NEW),
            route("b", [rule("older", prefix("/x"))], created=OLD)]
    assert backend(mesh(objs, twin).route("GET", "/x")) == "older"


def test_specificity_beats_age(twin):
    objs = [route("old", [rule("old", prefix("/x"))], created=OLD),
            route("new", [rule("new", prefix("/x/y"))], created=NEW)]
    assert backend(mesh(objs, twin).route("GET", "/x/y")) == "new"


def test_creation_timestamp_unquoted_yaml(twin):
    # YAML parses an unquoted timestamp into a datetime; it must still order routes.
    text = f"""
apiVersion: {GW}
kind: HTTPRoute
metadata: {{name: a, namespace: default, creationTimestamp: 2025-01-01T00:00:00Z}}
spec:
  parentRefs: [{{group: "", kind: Service, name: svc, port: 80}}]
  rules: [{{backendRefs: [{{name: newer, port: 8080}}]}}]
---
apiVersion: {GW}
kind: HTTPRoute
metadata: {{name: b, namespace: default, creationTimestamp: 2024-01-01T00:00:00Z}}
spec:
  parentRefs: [{{group: "", kind: Service, name: svc, port: 80}}]
  rules: [{{backendRefs: [{{name: older, port: 8080}}]}}]
"""
    v = make_router(text, twin).service("svc", "default", 80)
    assert backend(v.route("GET", "/")) == "older"


def test_tie_broken_by_namespace_slash_name_string(twin, twins_agree):
    # "team-x/r" < "team/r" because "-" < "/"; a (namespace, name) tuple order would pick team/r.
    objs = [gw_route("r", [rule("team", prefix("/"))], ns="team"),
            gw_route("r", [rule("team-x", prefix("/"))], ns="team-x")]
    d = gw(objs, twin).route("GET", "/", host="a.example.com")
    assert d.route == "team-x/r" and backend(d) == "team-x"
    assert twins_agree([gateway_obj()] + objs, ("gateway", "edge", "infra", 80), "GET", "/",
                       host="a.example.com")["route"] == "team-x/r"


def test_tie_broken_by_name_within_namespace(twin):
    objs = [route("b", [rule("b", prefix("/"))]), route("a", [rule("a", prefix("/"))])]
    assert mesh(objs, twin).route("GET", "/").route == "default/a"


def test_rule_order_within_route(twin):
    objs = [route("a", [rule("first", prefix("/p")), rule("second", prefix("/p"))])]
    d = mesh(objs, twin).route("GET", "/p/q")
    assert backend(d) == "first" and d.rule == 0


def test_precedence_is_per_match_not_per_rule(twin):
    objs = [route("a", [rule("r0", prefix("/zzz"), exact("/a/b")),
                        rule("r1", prefix("/a")),
                        rule("r2", prefix("/"), prefix("/a/b/c"))])]
    v = mesh(objs, twin)
    assert backend(v.route("GET", "/a/b")) == "r0"       # through its Exact entry
    assert backend(v.route("GET", "/a/b/c/d")) == "r2"   # through its longer second entry
    assert backend(v.route("GET", "/a/x")) == "r1"
    assert backend(v.route("GET", "/q")) == "r2"


def test_regex_ranks_below_every_prefix_by_default(twin):
    objs = [route("a", [rule("regex", regex("/a/.*"))]),
            route("b", [rule("root", prefix("/"))], created=NEW)]
    v = mesh(objs, twin)
    assert backend(v.route("GET", "/a/b")) == "root"
    # without a competing prefix the regex serves
    v2 = mesh(objs[:1], twin)
    assert backend(v2.route("GET", "/a/b")) == "regex"


def test_regex_before_prefix_option(twin):
    objs = [route("a", [rule("prefix", prefix("/a")),
                        rule("regex", regex("/a/.*")),
                        rule("exact", exact("/a/exact"))])]
    v = mesh(objs, twin, regex_precedence="before-prefix")
    assert backend(v.route("GET", "/a/b")) == "regex"
    assert backend(v.route("GET", "/a/exact")) == "exact"
    assert backend(v.route("GET", "/a")) == "prefix"
    v_default = mesh(objs, twin)
    assert backend(v_default.route("GET", "/a/b")) == "prefix"


def test_regex_precedence_rejects_unknown_value():
    with pytest.raises(ValueError):
        routecore.Router(routecore.load([route("a", [rule("x")])]), regex_precedence="first")


def test_longer_regex_first(twin):
    objs = [route("a", [rule("short", regex("/a.*")), rule("long", regex("/a/b.*"))])]
    v = mesh(objs, twin)
    assert backend(v.route("GET", "/a/bc")) == "long"
    assert backend(v.route("GET", "/ax")) == "short"


# --- path types (§3) ---------------------------------------------------------------------------

def test_exact_is_case_sensitive_and_trailing_slash_distinct(twin):
    v = mesh([route("a", [rule("x", exact("/abc"))])], twin)
    assert backend(v.route("GET", "/abc")) == "x"
    for path in ("/Abc", "/abc/", "/abcd", "/ab"):
        d = v.route("GET", path)
        assert (d.matched, d.status, d.backend) == (False, 404, None), path


@pytest.mark.parametrize("path,ok", [("/abc", True), ("/abc/", True), ("/abc/x", True),
                                     ("/abc/x/y", True), ("/abcd", False), ("/ab", False),
                                     ("/ABC", False), ("/", False)])
def test_prefix_segment_boundaries(twin, path, ok):
    v = mesh([route("a", [rule("x", prefix("/abc"))])], twin)
    d = v.route("GET", path)
    assert d.matched is ok and (d.status is None) is ok


@pytest.mark.parametrize("path,ok", [("/abc", True), ("/abc/", True), ("/abc/x", True),
                                     ("/abcd", False)])
def test_prefix_trailing_slash_ignored(twin, path, ok):
    v = mesh([route("a", [rule("x", prefix("/abc/"))])], twin)
    assert v.route("GET", path).matched is ok


@pytest.mark.parametrize("path, expected", [
    ("/", "root"), ("/?x=1", "root"), ("", "root"),      # an empty path is "/"
    ("/a", "rest"), ("//", "rest"), ("/%20", "rest"),
])
def test_exact_root_matches_only_the_root(twin, path, expected):
    """Exact "/" is whole-path equality; it beats the PathPrefix "/" of an older route."""
    v = mesh([route("rest", [rule("rest", prefix("/"))], created=OLD),
              route("root", [rule("root", exact("/"))], created=NEW)], twin)
    assert backend(v.route("GET", path)) == expected


def test_exact_root_alone_answers_404_elsewhere(twin):
    v = mesh([route("root", [rule("root", exact("/"))])], twin)
    assert backend(v.route("GET", "/")) == "root"
    for path in ("/a", "/a/", "//x"):
        d = v.route("GET", path)
        assert (d.matched, d.status, d.backend) == (False, 404, None), path


@pytest.mark.parametrize("path, expected", [
    ("/foo/", "slash"), ("/foo/?q=1", "slash"),
    ("/foo", "bare"),
    ("/foo/x", "prefix"), ("/foo//", "prefix"),
    ("/foobar", None), ("/fo", None),
])
def test_exact_path_ending_in_slash_is_its_own_path(twin, path, expected):
    """Exact "/foo/" and Exact "/foo" are two paths; both beat the (longer-lived) PathPrefix "/foo"."""
    v = mesh([route("prefix", [rule("prefix", prefix("/foo"))], created=OLD),
              route("bare", [rule("bare", exact("/foo"))], created=NEW),
              route("slash", [rule("slash", exact("/foo/"))], created=NEW)], twin)
    d = v.route("GET", path)
    assert backend(d) == expected and d.matched is (expected is not None)


@pytest.mark.parametrize("older, newer", [("/foo", "/foo/"), ("/foo/", "/foo")])
@pytest.mark.parametrize("path, matches", [
    ("/foo", True), ("/foo/", True), ("/foo/x", True), ("/foo/x/", True),
    ("/foobar", False), ("/fo", False), ("/Foo/x", False),
])
def test_prefix_with_trailing_slash_ties_with_the_bare_prefix(twin, twins_agree, older, newer,
                                                              path, matches):
    """PathPrefix "/foo/" and "/foo" match the same paths (segment-wise, the trailing "/"
    ignored) and rank the same, so the older route wins either way round."""
    objs = [route("old", [rule("old", prefix(older))], created=OLD),
            route("new", [rule("new", prefix(newer))], created=NEW),
            route("other", [rule("other", prefix("/"))], created=NEW)]
    expected = "old" if matches else "other"
    assert backend(mesh(objs, twin).route("GET", path)) == expected
    got = twins_agree(objs, ("service", "svc", "default", 80), "GET", path)
    assert got["backend"]["name"] == expected


def test_root_prefix_matches_everything(twin):
    v = mesh([route("a", [rule("x", prefix("/"))])], twin)
    for path in ("/", "/a", "/a/b/c", "/%20", "/?x=1"):
        assert backend(v.route("GET", path)) == "x", path


def test_rule_without_matches_matches_everything(twin):
    v = mesh([route("a", [rule("x")])], twin)
    assert backend(v.route("DELETE", "/any/thing?q")) == "x"


def test_query_string_excluded_from_path(twin):
    v = mesh([route("a", [rule("e", exact("/abc")), rule("p", prefix("/x"))])], twin)
    d = v.route("GET", "/abc?x=1&y=2")
    assert backend(d) == "e" and d.upstream_path == "/abc?x=1&y=2"
    assert backend(v.route("GET", "/x?/abc")) == "p"
    assert not v.route("GET", "/xy?/x").matched


def test_regex_is_full_match(twin):
    v = mesh([route("a", [rule("x", regex("/a.c"))])], twin)
    assert v.route("GET", "/abc").matched
    for path in ("/abcd", "/x/abc", "/abc/"):
        assert not v.route("GET", path).matched, path


def test_regex_is_case_sensitive(twin):
    v = mesh([route("a", [rule("x", regex("/v[0-9]+/items"))])], twin)
    assert v.route("GET", "/v12/items").matched
    assert not v.route("GET", "/V12/items").matched


# --- headers -----------------------------------------------------------------------------------

def _hv(twin, *headers):
    return mesh([route("a", [rule("x", prefix("/", headers=list(headers)))])], twin)


def test_header_name_case_insensitive(twin):
    v = _hv(twin, hdr("X-Env", "prod"))
    for name in ("x-env", "X-ENV", "X-Env"):
        assert v.route("GET", "/", [(name, "prod")]).matched, name


def test_header_value_case_sensitive(twin):
    v = _hv(twin, hdr("x-env", "prod"))
    assert not v.route("GET", "/", [("x-env", "Prod")]).matched
    assert not v.route("GET", "/", [("x-env", "prod ")]).matched


def test_repeated_request_header_joined_with_comma(twin):
    v = _hv(twin, hdr("x-tag", "a,b"))
    assert v.route("GET", "/", [("x-tag", "a"), ("X-Tag", "b")]).matched
    assert not v.route("GET", "/", [("x-tag", "b"), ("x-tag", "a")]).matched
    v1 = _hv(twin, hdr("x-tag", "a"))
    assert not v1.route("GET", "/", [("x-tag", "a"), ("x-tag", "b")]).matched


def test_regex_header_full_match(twin):
    v = _hv(twin, hdr("x-version", "v[0-9]+", "RegularExpression"))
    assert v.route("GET", "/", {"x-version": "v12"}).matched
    assert not v.route("GET", "/", {"x-version": "v12x"}).matched
    assert not v.route("GET", "/", {"x-version": "xv1"}).matched


def test_bytes_header_pairs(twin):
    v = _hv(twin, hdr("x-env", "prod"))
    assert v.route("GET", "/", [(b"X-Env", b"prod")]).matched
    assert not v.route("GET", "/", [(b"x-env", b"dev")]).matched


def test_dict_headers(twin):
    v = _hv(twin, hdr("x-env", "prod"), hdr("x-team", "a"))
    assert v.route("GET", "/", {"X-Env": "prod", "x-team": "a"}).matched
    assert not v.route("GET", "/", {"X-Env": "prod"}).matched


def test_missing_header_does_not_match(twin):
    v = _hv(twin, hdr("x-env", "prod"))
    assert not v.route("GET", "/").matched
    assert not v.route("GET", "/", [("x-other", "prod")]).matched
    assert v.route("GET", "/").status == 404


def test_first_header_match_entry_with_same_name_counts(twin):
    # several entries naming the same header (case-insensitively): only the first counts
    objs = [route("a", [rule("x", prefix("/", headers=[hdr("X-A", "1"), hdr("x-a", "2")]))])]
    v = mesh(objs, twin)
    assert v.route("GET", "/", {"x-a": "1"}).matched
    assert not v.route("GET", "/", {"x-a": "2"}).matched


# --- query parameters --------------------------------------------------------------------------

def _qv(twin, *params):
    return mesh([route("a", [rule("x", prefix("/", queryParams=list(params)))])], twin)


def test_query_param_name_case_sensitive(twin):
    v = _qv(twin, qp("animal", "whale"))
    assert v.route("GET", "/?animal=whale").matched
    assert not v.route("GET", "/?ANIMAL=whale").matched
    assert not v.route("GET", "/?animal=Whale").matched


def test_query_param_first_value_of_repeated(twin):
    v = _qv(twin, qp("a", "1"))
    assert v.route("GET", "/?a=1&a=2").matched
    assert not v.route("GET", "/?a=2&a=1").matched


def test_query_param_regex(twin):
    v = _qv(twin, qp("id", "[0-9]+", "RegularExpression"))
    assert v.route("GET", "/?x=y&id=42").matched
    assert not v.route("GET", "/?id=42a").matched
    assert not v.route("GET", "/?id=").matched
    assert not v.route("GET", "/").matched


def test_query_param_among_others(twin):
    v = _qv(twin, qp("a", "1"), qp("b", "2"))
    assert v.route("GET", "/p?z=0&b=2&a=1").matched
    assert not v.route("GET", "/p?a=1").matched


# --- method ------------------------------------------------------------------------------------

def test_head_is_not_get(twin):
    v = mesh([route("a", [rule("get", prefix("/", method="GET"))])], twin)
    assert v.route("GET", "/").matched
    for m in ("HEAD", "POST", "OPTIONS"):
        d = v.route(m, "/")
        assert not d.matched and d.status == 404, m


# --- hostnames (§2) ----------------------------------------------------------------------------

def test_exact_hostname(twin):
    v = gw([gw_route("r", [rule("x")], hostnames=["foo.example.com"])], twin)
    assert v.route("GET", "/", host="foo.example.com").matched
    for h in ("bar.example.com", "a.foo.example.com", "example.com"):
        d = v.route("GET", "/", host=h)
        assert not d.matched and d.status == 404, h


def test_wildcard_hostname_one_or_more_labels(twin):
    v = gw([gw_route("r", [rule("x")], hostnames=["*.example.com"])], twin)
    assert v.route("GET", "/", host="a.example.com").matched
    assert v.route("GET", "/", host="a.b.example.com").matched
    assert not v.route("GET", "/", host="example.com").matched
    assert not v.route("GET", "/", host="a.example.org").matched
    assert not v.route("GET", "/", host="aexample.com").matched


def test_host_case_insensitive(twin):
    v = gw([gw_route("r", [rule("x")], hostnames=["foo.example.com", "*.wild.example.com"])], twin)
    assert v.route("GET", "/", host="Foo.Example.COM").matched
    assert v.route("GET", "/", host="A.WILD.example.com").matched


def test_host_port_ignored_and_forwarded_unchanged(twin):
    v = gw([gw_route("r", [rule("x")], hostnames=["very.specific.com"])], twin)
    d = v.route("GET", "/", host="very.specific.com:1234")
    assert d.matched and d.upstream_host == "very.specific.com:1234"


def test_host_header_and_host_kwarg(twin):
    v = gw([gw_route("a", [rule("a")], hostnames=["a.example.com"]),
            gw_route("b", [rule("b")], hostnames=["b.example.com"])], twin)
    assert backend(v.route("GET", "/", [("Host", "a.example.com")])) == "a"
    assert backend(v.route("GET", "/", {"host": "b.example.com"})) == "b"
    # host= overrides the header
    assert backend(v.route("GET", "/", [("host", "a.example.com")], host="b.example.com")) == "b"


def test_more_specific_hostname_wins(twin, twins_agree):
    objs = [gw_route("any", [rule("any", prefix("/"))], created=OLD),
            gw_route("wild", [rule("wild", prefix("/"))], hostnames=["*.example.com"], created=OLD),
            gw_route("deep", [rule("deep", prefix("/"))], hostnames=["*.foo.example.com"], created=NEW),
            gw_route("exact", [rule("exact", prefix("/"))], hostnames=["a.foo.example.com"], created=NEW)]
    v = gw(objs, twin)
    assert backend(v.route("GET", "/x", host="a.foo.example.com")) == "exact"
    assert backend(v.route("GET", "/x", host="b.foo.example.com")) == "deep"
    assert backend(v.route("GET", "/x", host="b.example.com")) == "wild"
    assert backend(v.route("GET", "/x", host="other.org")) == "any"
    twins_agree([gateway_obj()] + objs, ("gateway", "edge", "infra", 80), "GET", "/x",
                host="b.foo.example.com")


def test_hostname_specificity_beats_path_specificity(twin):
    objs = [gw_route("wild", [rule("wild", exact("/x"))], hostnames=["*.example.com"]),
            gw_route("exact", [rule("exact", prefix("/"))], hostnames=["a.example.com"], created=NEW)]
    assert backend(gw(objs, twin).route("GET", "/x", host="a.example.com")) == "exact"


def test_fallback_to_less_specific_hostname_when_no_rule_matches(twin):
    objs = [gw_route("specific", [rule("specific", prefix("/api"))], hostnames=["foo.example.com"]),
            gw_route("wild", [rule("wild", prefix("/"))], hostnames=["*.example.com"])]
    v = gw(objs, twin)
    assert backend(v.route("GET", "/api/x", host="foo.example.com")) == "specific"
    d = v.route("GET", "/other", host="foo.example.com")
    assert backend(d) == "wild" and d.route == "default/wild"


def test_no_listener_for_host_is_404_without_listener(twin):
    g = gateway_obj([{"name": "web", "port": 80, "protocol": "HTTP", "hostname": "*.example.com",
                      "allowedRoutes": {"namespaces": {"from": "All"}}}])
    v = make_router([g, gw_route("r", [rule("x")])], twin).gateway("edge", "infra", 80)
    d = v.route("GET", "/", host="other.org")
    assert (d.matched, d.status, d.listener, d.backend, d.route) == (False, 404, None, None, None)
    d = v.route("GET", "/", host="a.example.com")
    assert d.matched and d.listener == "web"


def test_listener_chosen_by_hostname_specificity_and_isolated(twin):
    g = gateway_obj([
        {"name": "any", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "wild", "port": 80, "protocol": "HTTP", "hostname": "*.example.com",
         "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "exact", "port": 80, "protocol": "HTTP", "hostname": "a.example.com",
         "allowedRoutes": {"namespaces": {"from": "All"}}}])
    objs = [g, route("r", [rule("x", prefix("/only"))], parent={**GW_PARENT, "sectionName": "exact"}),
            route("w", [rule("w")], parent={**GW_PARENT, "sectionName": "wild"}),
            route("n", [rule("n")], parent={**GW_PARENT, "sectionName": "any"})]
    v = make_router(objs, twin).gateway("edge", "infra", 80)
    d = v.route("GET", "/only", host="a.example.com")
    assert (d.listener, backend(d)) == ("exact", "x")
    d = v.route("GET", "/other", host="a.example.com")   # listener isolation: no fall-through
    assert (d.listener, d.status, d.matched) == ("exact", 404, False)
    assert v.route("GET", "/", host="b.example.com").listener == "wild"
    assert v.route("GET", "/", host="other.org").listener == "any"


# --- path normalisation ------------------------------------------------------------------------

def test_normalize_path_default(twin):
    v = mesh([route("a", [rule("x", exact("/a/c")), rule("t", exact("/~u"))])], twin)
    for path in ("/a/b/../c", "/a/./c", "/a/b/./../c"):
        d = v.route("GET", path)
        assert backend(d) == "x" and d.upstream_path == "/a/c", path
    d = v.route("GET", "/%7Eu?q=%7E")
    assert backend(d) == "t" and d.upstream_path == "/~u?q=%7E"
    # reserved characters stay encoded
    assert not v.route("GET", "/a%2Fc").matched


def test_normalize_path_lowercase_percent_encoding(twin):
    v = mesh([route("a", [rule("t", exact("/~u"))])], twin)
    assert backend(v.route("GET", "/%7eu")) == "t"


def test_normalize_path_disabled(twin):
    v = mesh([route("a", [rule("x", exact("/a/c")), rule("t", exact("/~u")),
                          rule("raw", prefix("/a/b"))])], twin, normalize_path=False)
    d = v.route("GET", "/a/b/../c")
    assert backend(d) == "raw" and d.upstream_path == "/a/b/../c"
    d = v.route("GET", "/%7Eu")
    assert not d.matched and d.status == 404


# --- further documented choices and edge cases -------------------------------------------------

def test_prefix_length_beats_method(twin):
    objs = [route("a", [rule("method", prefix("/", method="GET")), rule("longer", prefix("/a"))])]
    assert backend(mesh(objs, twin).route("GET", "/a/x")) == "longer"


def test_wildcard_single_label_suffix(twin):
    v = gw([gw_route("r", [rule("x")], hostnames=["*.com"])], twin)
    assert v.route("GET", "/", host="example.com").matched
    assert v.route("GET", "/", host="a.example.com").matched
    assert not v.route("GET", "/", host="com").matched


def test_authority_pseudo_header_as_host(twin):
    v = gw([gw_route("r", [rule("x")], hostnames=["foo.example.com"])], twin)
    assert v.route("GET", "/", [(":authority", "foo.example.com")]).matched


def test_request_without_host(twin):
    v = gw([gw_route("named", [rule("named", prefix("/n"))], hostnames=["foo.example.com"]),
            gw_route("any", [rule("any", prefix("/"))])], twin)
    d = v.route("GET", "/n")
    assert backend(d) == "any" and d.listener == "web"


def test_ipv6_literal_host_does_not_crash(twin):
    v = gw([gw_route("any", [rule("any")]),
            gw_route("named", [rule("named")], hostnames=["foo.example.com"])], twin)
    d = v.route("GET", "/", host="[::1]:8080")
    assert backend(d) == "any" and d.upstream_host == "[::1]:8080"


def test_listener_selected_by_port(twin):
    g = gateway_obj([
        {"name": "web", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "alt", "port": 8080, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}])
    objs = [g, route("a", [rule("alt-only")], parent={**GW_PARENT, "sectionName": "alt"}),
            route("b", [rule("web-only", prefix("/w"))], parent={**GW_PARENT, "port": 80})]
    router = make_router(objs, twin)
    d = router.gateway("edge", "infra", 8080).route("GET", "/w", host="h")
    assert (d.listener, backend(d)) == ("alt", "alt-only")
    d = router.gateway("edge", "infra", 80).route("GET", "/w", host="h")
    assert (d.listener, backend(d)) == ("web", "web-only")
    d = router.gateway("edge", "infra", 80).route("GET", "/x", host="h")
    assert (d.listener, d.status) == ("web", 404)


def test_allowed_routes_same_namespace(twin):
    g = gateway_obj([{"name": "web", "port": 80, "protocol": "HTTP"}])  # default: from Same
    objs = [g, route("same", [rule("same", prefix("/s"))], ns="infra", parent=GW_PARENT),
            route("other", [rule("other", prefix("/o"))], ns="default", parent=GW_PARENT)]
    v = make_router(objs, twin).gateway("edge", "infra", 80)
    assert backend(v.route("GET", "/s", host="h")) == "same"
    assert v.route("GET", "/o", host="h").status == 404


def test_normalize_path_decodes_unreserved_letters_and_clamps_root(twin):
    v = mesh([route("a", [rule("x", exact("/Abc")), rule("y", exact("/a"))])], twin)
    assert backend(v.route("GET", "/%41bc")) == "x"
    d = v.route("GET", "/../a")
    assert backend(d) == "y" and d.upstream_path == "/a"


def test_regex_is_linear_time(twin):
    import time
    v = mesh([route("a", [rule("x", regex("/(a+)+b"), prefix("/zzz"))])], twin)
    t0 = time.perf_counter()
    d = v.route("GET", "/" + "a" * 20000 + "c")
    assert not d.matched
    assert time.perf_counter() - t0 < 2.0


def test_re2_syntax_rejects_lookahead():
    with pytest.raises(routecore.ConfigError):
        routecore.load([route("a", [rule("x", regex("/(?=a).*"))])])


def test_regex_before_prefix_orders_regexes_by_length_and_across_routes(twin):
    objs = [route("a", [rule("short", regex("/a.*"))]),
            route("b", [rule("long", regex("/a/b.*")), rule("prefix", prefix("/a/b"))], created=NEW),
            route("c", [rule("exact", exact("/a/b/c"))], created=NEW)]
    v = mesh(objs, twin, regex_precedence="before-prefix")
    assert backend(v.route("GET", "/a/b/d")) == "long"
    assert backend(v.route("GET", "/ax")) == "short"
    assert backend(v.route("GET", "/a/b/c")) == "exact"


def test_equal_hostname_specificity_falls_to_match_precedence(twin):
    objs = [gw_route("one", [rule("one", prefix("/"))], hostnames=["a.example.com"], created=OLD),
            gw_route("both", [rule("both", prefix("/x"))], hostnames=["*.example.com", "a.example.com"],
                     created=NEW)]
    v = gw(objs, twin)
    assert backend(v.route("GET", "/x", host="a.example.com")) == "both"
    assert backend(v.route("GET", "/y", host="a.example.com")) == "one"
    assert backend(v.route("GET", "/x", host="b.example.com")) == "both"


def test_merge_slashes_option(twin, make_router):
    text = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: Exact, value: /admin/panel}}]
    backendRefs: [{name: admin, port: 80}]
  - backendRefs: [{name: other, port: 80}]
"""
    plain = make_router(text, twin).service("svc")
    merged = make_router(text, twin, merge_slashes=True).service("svc")
    assert plain.route("GET", "/admin//panel").backend.name == "other"
    d = merged.route("GET", "//admin//panel?x=1")
    assert d.backend.name == "admin" and d.upstream_path == "/admin/panel?x=1"
    # dot-segments cannot reach a rule the normalised path would not
    assert merged.route("GET", "/public/..//admin/panel").backend.name == "admin"
    assert merged.route("GET", "/admin/panel/../../public").backend.name == "other"


REGEX_MANY = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rx, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: RegularExpression, value: "/users/[0-9]+"}}]
    backendRefs: [{name: users, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "/users/[0-9]+/posts"}, method: POST}]
    backendRefs: [{name: posts, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "/(?:en|de)/docs/.*"}}]
    backendRefs: [{name: docs, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "a|ab"}}, {path: {type: RegularExpression, value: "/x(a+)+$"}}]
    backendRefs: [{name: odd, port: 80}]
  - matches: [{path: {type: RegularExpression, value: ".*"}, headers: [{name: x-any, value: "1"}]}]
    backendRefs: [{name: any, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /users}}]
    backendRefs: [{name: prefix, port: 80}]
"""


@pytest.mark.parametrize("precedence", ["after-prefix", "before-prefix"])
@pytest.mark.parametrize("method, path, headers, expected", [
    ("GET", "/users/12", (), "prefix"),          # after-prefix: the prefix wins; before: users
    ("GET", "/other/12", (), None),
    ("GET", "/en/docs/x", (), "docs"),
    ("GET", "/fr/docs/x", [("x-any", "1")], "any"),
    ("POST", "/users/7/posts", (), "prefix"),
    ("GET", "/xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", (), "odd"),
    ("GET", "/q\ud800", [("x-any", "1")], None),  # not text: no regex matches it
])
def test_many_regexes_in_one_group(twin, make_router, precedence, method, path, headers, expected):
    """Four or more regex paths in one host group are matched by one RE2 Set in the native core;
    the pure twin calls each regex: same decisions."""
    v = make_router(REGEX_MANY, twin, regex_precedence=precedence).service("svc")
    d = v.route(method, path, headers)
    got = d.backend.name if d.backend else None
    if precedence == "before-prefix" and expected == "prefix":
        expected = "users" if method == "GET" else "posts"
    assert got == expected
