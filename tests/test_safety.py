"""Nothing in a config or a request moves traffic where the rules don't say (issue 11, items 1-5).

On both twins: an invalid Host gets 400 and never a redirect or a match; the decision for a target
is the decision for the path it sends upstream; no Location or upstream host has an authority that
is not a configured hostname, the request's valid Host or a configured backend; paths, hostnames
and header fields from config are refused at load time when they hold controls or authority
tricks; and no Python-level call on a native object crashes the interpreter.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import routecore
from routecore import _match
from routecore.testing import (INVALID_HOSTS, configs, injected_httproutes, parents, requests_for)

from builders import gateway_yaml, listener_yaml
from conftest import make_router

# --- the Host -------------------------------------------------------------------------------------

EDGE = gateway_yaml(listener_yaml("wild", hostname="*.example.com"), listener_yaml("any", 8080)) + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: infra}
spec:
  parentRefs: [{name: edge}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
  - matches: [{path: {type: PathPrefix, value: /fixed}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: www.example.com}}]
  - backendRefs: [{name: shop, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mesh, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
  - backendRefs: [{name: svc-v1, port: 80}]
"""

GW = ("gateway", "edge", "infra", 80)
GW_ANY = ("gateway", "edge", "infra", 8080)
MESH = ("service", "svc", "default", 80)


def both(view, method, target, headers=(), **kw):
    """The decision of each twin (native first when built); asserts they are equal."""
    out = []
    for native in ((True, False) if _match.NativeTable is not None else (False,)):
        v = getattr(make_router(EDGE, native), view[0])(*view[1:])
        out.append(v.route(method, target, headers, **kw))
    assert all(d.to_dict() == out[0].to_dict() for d in out), "the twins disagree"
    return out[0]


@pytest.mark.parametrize("view", [GW, GW_ANY, MESH])
@pytest.mark.parametrize("host", INVALID_HOSTS + ("evil.com/x.example.com", "x.example.com/@evil",
                                                  "evil.com\\x.example.com", "a.example.com\x00"))
@pytest.mark.parametrize("target", ["/old/page", "/x", "http://evil@a.example.com/old/page"])
def test_an_invalid_host_gets_400_never_a_redirect_or_a_match(view, host, target):
    """issue 11 item 4: "Host: evil.com/x.example.com" gave Location http://evil.com/x.example.com/..."""
    if target.startswith("http://"):  # the absolute-form authority is the Host: "evil@..." is invalid
        d = both(view, "GET", target)
    else:
        d = both(view, "GET", target, host=host)
    assert (d.status, d.matched, d.location, d.route, d.listener) == (400, False, None, None, None)
    assert d.upstream_path is None and d.upstream_host is None
    # the same through the Host header and :authority
    for name in ("host", ":authority"):
        assert both(view, "GET", "/old/page", [(name, host)]).status == 400
    # gRPC: 3 INVALID_ARGUMENT
    g = both(view, "POST", "/old/page", [("content-type", "application/grpc")], host=host)
    assert (g.status, g.grpc_status) == (400, 3)


@pytest.mark.parametrize("host", ["a.example.com", "A.Example.COM:80", "a.example.com.", "a.example.com:"])
def test_a_valid_host_redirects_to_itself(host):
    d = both(GW, "GET", "/old/page?x=1", host=host)
    assert (d.status, d.location) == (302, "http://a.example.com/new/page?x=1")


@pytest.mark.parametrize("view", [GW_ANY, MESH])
@pytest.mark.parametrize("headers,host", [((), None), ((), ""), ((("host", ""),), None)])
def test_no_host_routes_but_never_redirects_to_no_host(view, headers, host):
    """A missing or empty Host is routed (a gateway listener without hostname, a mesh Service),
    but a redirect that would take its host from the request is 400, never "http:///..."."""
    d = both(view, "GET", "/old/page", headers, host=host)
    assert (d.status, d.location, d.matched) == (400, None, True)
    assert d.rule == 0
    g = both(view, "GET", "/old/page", headers + (("content-type", "application/grpc"),), host=host)
    assert (g.status, g.grpc_status) == (400, 3)
    d = both(view, "GET", "/x", headers, host=host)
    assert d.status is None and d.backend.name in ("shop", "svc-v1")
    assert d.upstream_host == (host if not headers else "")


def test_no_host_with_a_configured_redirect_hostname():
    d = both(GW_ANY, "GET", "/fixed/a")
    assert (d.status, d.location) == (302, "http://www.example.com:8080/fixed/a")  # the listener port


def test_no_host_on_a_listener_with_a_hostname_is_404():
    d = both(GW, "GET", "/old/page")
    assert (d.status, d.listener) == (404, None)


# --- paths and hostnames from config --------------------------------------------------------------

def _route(filters, backend_refs=True, **rule):
    rule = dict(rule, filters=filters)
    if backend_refs:
        rule["backendRefs"] = [{"name": "b", "port": 80}]
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": [rule]}}


def _rewrite(ptype, value):
    field = ptype[0].lower() + ptype[1:]
    return {"type": "URLRewrite", "urlRewrite": {"path": {"type": ptype, field: value}}}


def _issues(obj):
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load(obj)
    assert "\n" not in "".join(str(i) for i in err.value.errors)  # one line per issue
    return [(i.path, i.message) for i in err.value.errors]


@pytest.mark.parametrize("value", ["@127.0.0.1:9101/stolen", ":9101/x", "//127.0.0.1:9101/x",
                                   "http://127.0.0.1:9101/x", "x/y", ""])
def test_a_rewrite_path_that_is_not_a_path_is_refused(value):
    """issue 11 item 2: replaceFullPath "@127.0.0.1:9101/stolen" sent the request elsewhere."""
    where = "spec.rules[0].filters[0].urlRewrite.path.replaceFullPath"
    issues = _issues(_route([_rewrite("ReplaceFullPath", value)]))
    assert {p for p, _ in issues} == {where}
    expected = "must not contain '//'" if value.startswith("//") else "must start with '/'"
    assert (where, expected) in issues


@pytest.mark.parametrize("value,message", [
    ("/x\r\nSet-Cookie: session=attacker", "contains characters not allowed in a path (percent-encode them)"),
    ("/x\x00", "contains characters not allowed in a path (percent-encode them)"),
    ("/x?y=1", "contains characters not allowed in a path (percent-encode them)"),
    ("/x#y", "must not contain '#'"),
    ("/a\\b", "contains characters not allowed in a path (percent-encode them)"),
    ("/a%2Fb", "must not contain '%2F'"),
    ("/a%5cb", "must not contain '%5c'"),
    ("/a/../b", "must not contain '/../'"),
    ("/%2e%2e/admin", "must be a normalised path"),
    ("/..;/admin", "must be a normalised path"),
    ("/a%3bb", "must be a normalised path"),
])
def test_redirect_and_rewrite_paths_must_be_normalised_paths(value, message):
    """issue 11 item 3: CR/LF in a RequestRedirect path reached the response as a header line."""
    for ptype in ("ReplaceFullPath", "ReplacePrefixMatch"):
        field = ptype[0].lower() + ptype[1:]
        redirect = {"type": "RequestRedirect", "requestRedirect": {"path": {"type": ptype, field: value}}}
        for flt, refs, key in ((redirect, False, "requestRedirect"), (_rewrite(ptype, value), True, "urlRewrite")):
            match = [{"path": {"type": "PathPrefix", "value": "/a"}}]
            issues = _issues(_route([flt], refs, matches=match))
            where = f"spec.rules[0].filters[0].{key}.path.{field}"
            assert {p for p, _ in issues} == {where}
            assert any(m.startswith(message) for p, m in issues), issues


@pytest.mark.parametrize("value", ["/", "/a/b", "/a/b/", "/~u/a%20b", "/@x:1/y", ""])
def test_plain_paths_are_accepted(value):
    match = [{"path": {"type": "PathPrefix", "value": "/a"}}]
    if value:
        routecore.load(_route([_rewrite("ReplaceFullPath", value)], matches=match))
    routecore.load(_route([_rewrite("ReplacePrefixMatch", value)], matches=match))


def test_every_injected_field_is_reported_at_once():
    obj = _route([{"type": "RequestHeaderModifier", "requestHeaderModifier": {
        "set": [{"name": "x-a\r\n", "value": "1\r\nx: y"}], "remove": ["a b"]}},
        {"type": "CORS", "cors": {"allowOrigins": ["https://a\x00.example.com"], "exposeHeaders": ["x\n"]}},
        _rewrite("ReplaceFullPath", "@evil:1/x")],
        sessionPersistence={"cookie": {"name": "sid\r\n", "path": "/;Domain=evil"}})
    obj["spec"]["hostnames"] = ["a.example.com\r\n"]
    paths = {p for p, _ in _issues(obj)}
    assert paths == {
        "spec.hostnames[0]",
        "spec.rules[0].filters[0].requestHeaderModifier.set[0].name",
        "spec.rules[0].filters[0].requestHeaderModifier.set[0].value",
        "spec.rules[0].filters[0].requestHeaderModifier.remove[0]",
        "spec.rules[0].filters[1].cors.allowOrigins[0]",
        "spec.rules[0].filters[1].cors.exposeHeaders[0]",
        "spec.rules[0].filters[2].urlRewrite.path.replaceFullPath",
        "spec.rules[0].sessionPersistence.cookie.name",
        "spec.rules[0].sessionPersistence.cookie.path",
    }


_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))


@_SETTINGS
@given(case=st.one_of(injected_httproutes(), injected_httproutes(parent="mesh")))
def test_injected_controls_and_authority_tricks_are_always_refused(case):
    """Property: a control character or an authority trick in any field that ends up in a
    header, a Location, an upstream URL or a log line is a ConfigError at that field."""
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load(case.obj)
    assert {i.path for i in err.value.errors} == {case.path}, case.rule


# --- properties over generated configs and requests -----------------------------------------------

OPTIONS = st.fixed_dictionaries({"merge_slashes": st.booleans(),
                                 "escaped_slashes": st.sampled_from(["reject", "keep", "unescape"])})


def _view(cfg, p, options, native):
    """A freshly compiled view of parent ``p`` (seed 7): two of them draw the same weighted
    choice on their first request when it lands on the same outcome."""
    router = routecore.Router(cfg, seed=7, native=native, **options)
    if p["kind"] == "Gateway":
        return router.gateway(p["name"], p["namespace"], p["port"])
    return router.service(p["name"], p["namespace"], p["port"], p["client_namespace"])


def _rewrites(objs, decision):
    """Whether the rule that took the request (or one of its backendRefs) has a URLRewrite."""
    ns, name = decision.route.split("/")
    route = next(o for o in objs if o.get("kind") in ("HTTPRoute", "GRPCRoute")
                 and o["metadata"]["name"] == name and o["metadata"].get("namespace", "default") == ns)
    rule = route["spec"]["rules"][decision.rule]
    filters = list(rule.get("filters", ())) + [f for r in rule.get("backendRefs", ()) for f in r.get("filters", ())]
    return any(f.get("type") == "URLRewrite" for f in filters)


def _configured_hostnames(objs):
    out = set()
    for o in objs:
        for rule in (o.get("spec") or {}).get("rules", ()) or ():
            for f in list(rule.get("filters", ())) + [f for r in rule.get("backendRefs", ()) for f in r.get("filters", ())]:
                body = f.get("requestRedirect") or f.get("urlRewrite") or {}
                if body.get("hostname"):
                    out.add(body["hostname"])
    return out


def _check_pairs(objs, data, options):
    hostnames = _configured_hostnames(objs)
    reqs = requests_for(objs)
    cfg = routecore.load(objs)
    for native in ((True, False) if _match.NativeTable is not None else (False,)):
        for p in parents(objs):
            for _ in range(3):
                req = data.draw(reqs)
                d = _view(cfg, p, options, native).route(req["method"], req["target"], req["headers"],
                                                         host=req["host"], sni=req.get("sni"))
                request_host = d._host  # the Host the request brought (argument, absolute-form, header)
                if d.location is not None:
                    loc = urlsplit(d.location)
                    assert loc.scheme in ("http", "https") and "@" not in loc.netloc
                    allowed = hostnames | {routecore._paths.host_key(request_host).strip("[]")}
                    assert loc.hostname in allowed, d.location
                    assert d.location.startswith(f"{loc.scheme}://{loc.netloc}/")
                if d.upstream_path is None:
                    continue
                up = d.upstream_path
                assert d.upstream_host in hostnames | {request_host}, d.upstream_host
                assert routecore._paths.valid_host(d.upstream_host or "")
                if d.route is None:  # a mesh Service without routes for this client: passed through
                    continue
                assert up.startswith("/") and urlsplit("http://b.invalid" + up).netloc == "b.invalid", up
                if _rewrites(objs, d):
                    continue
                # the decision for the path sent upstream is the decision for the target
                d2 = _view(cfg, p, options, native).route(req["method"], up, req["headers"],
                                                          host=request_host, sni=req.get("sni"))
                assert (d2.route, d2.rule, d2.listener, d2.status, d2.backend) == \
                    (d.route, d.rule, d.listener, d.status, d.backend), (req, up)
                assert d2.upstream_path == up  # normalising again changes nothing


_PAIRS = settings(_SETTINGS, max_examples=60)


@_PAIRS
@given(objs=configs(parent="gateway"), data=st.data(), options=OPTIONS)
def test_upstream_path_decides_the_same_and_no_foreign_authority_gateway(objs, data, options):
    _check_pairs(objs, data, options)


@_PAIRS
@given(objs=configs(parent="mesh"), data=st.data(), options=OPTIONS)
def test_upstream_path_decides_the_same_and_no_foreign_authority_mesh(objs, data, options):
    _check_pairs(objs, data, options)


# --- native objects used before they are initialised ----------------------------------------------

PROBE = textwrap.dedent('''
    import inspect, json, sys
    from routecore import _match_c
    results = {}
    for cls_name, cls in sorted(vars(_match_c).items()):
        if not isinstance(cls, type) or cls.__module__ != _match_c.__name__:
            continue
        try:
            obj = cls.__new__(cls)
        except TypeError as exc:  # it cannot be made without its arguments: nothing to misuse
            results[cls_name + ".__new__"] = "TypeError"
            continue
        for name in sorted(dir(cls)):
            if name.startswith("__") and name not in ("__repr__", "__eq__", "__init__", "__reduce__"):
                continue
            key = cls_name + "." + name
            sys.stdout.write(key + "\\n"); sys.stdout.flush()  # the last line names a crash
            attr = inspect.getattr_static(cls, name)
            try:
                if isinstance(attr, (property,)) or type(attr).__name__ == "getset_descriptor":
                    getattr(obj, name)
                elif callable(getattr(obj, name)):
                    args = {"route": ("GET", "/"), "route_many": ([("GET", "/")],),
                            "explain": ("GET", "/"), "route_asgi": ({"type": "http", "path": "/"},),
                            "route_wsgi": ({"PATH_INFO": "/", "REQUEST_METHOD": "GET"},),
                            "apply_request_headers": ([],), "apply_response_headers": ([],),
                            "__eq__": (obj,), "__init__": (None,)}.get(name, ())
                    getattr(obj, name)(*args)
                else:
                    getattr(obj, name)
                results[key] = "ok"
            except Exception as exc:
                results[key] = type(exc).__name__ + ": " + str(exc)
    print("RESULTS " + json.dumps(results))
''')


def test_no_native_object_crashes_the_interpreter_when_not_initialised():
    """issue 11 item 5: type(view).__new__(type(view)).route('GET', '/') was a segfault. Every
    method and property of every native class, on an object made by __new__ alone, raises a
    Python exception or returns; run in a subprocess, so a crash fails this test."""
    if _match.NativeTable is None:
        pytest.fail("the native extension is not built")
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    last = proc.stdout.strip().splitlines()[-1:] or [""]
    assert proc.returncode == 0, f"crashed (signal {-proc.returncode}) at {last[0]}: {proc.stderr[-2000:]}"
    results = json.loads(last[0].split(" ", 1)[1])
    for name in ("Table.route", "Table.route_many", "Table.explain", "Table.route_asgi", "Table.route_wsgi"):
        assert results[name].startswith("TypeError: this Table is not initialised"), (name, results[name])
    for name in ("Decision.matched", "Decision.backend", "Decision.location", "Decision.upstream_path",
                 "Decision.to_dict", "Decision.apply_request_headers"):
        assert results[name].startswith("TypeError: this Decision is not initialised"), (name, results[name])
    # an initialised table cannot be initialised again (its C arrays would leak or be swapped
    # under requests in flight)
    view = routecore.Router(routecore.load(EDGE), native=True).service("svc")
    with pytest.raises(TypeError, match="already initialised"):
        view.__init__(view.spec)
    assert view.route("GET", "/x").backend.name == "svc-v1"


@pytest.mark.parametrize("target", ["*", "h:443", "127.0.0.1:9101", "ftp://h/x", "@evil:1/x"])
def test_a_target_that_is_not_a_path_matches_no_regex(target):
    """Found by the property above: a RegularExpression ".*" took asterisk-form and authority-form
    targets and sent "127.0.0.1:9101" upstream as the path (base URL + path: another port)."""
    text = EDGE.replace("  - backendRefs: [{name: svc-v1, port: 80}]",
                        "  - matches: [{path: {type: RegularExpression, value: '.*'}}]\n"
                        "    backendRefs: [{name: svc-v1, port: 80}]")
    for native in ((True, False) if _match.NativeTable is not None else (False,)):
        view = make_router(text, native).service("svc")
        d = view.route("OPTIONS", target)
        assert (d.status, d.upstream_path) == (404, None), native
        assert view.route("GET", "/x").backend.name == "svc-v1"


@pytest.mark.parametrize("target,host,why", [("/a%zz", "a.example.com", "the path is refused"),
                                             ("/x", "evil/x", "is not a valid Host")])
def test_explain_says_why_a_request_is_refused(target, host, why):
    for native in ((True, False) if _match.NativeTable is not None else (False,)):
        for view in (GW, MESH):
            e = getattr(make_router(EDGE, native), view[0])(*view[1:]).explain("GET", target, host=host)
            assert e.decision.status == 400 and why in e.listener_reason and e.rows == ()
