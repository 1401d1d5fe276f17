"""Strategies for invalid HTTPRoutes: ``invalid_httproutes()`` (one validation rule broken) and
``injected_httproutes()`` (one field carrying a header/path/authority injection).

Invariant: each ``InvalidHTTPRoute`` breaks exactly one rule, at exactly its ``path``.
"""
from __future__ import annotations

import copy
from typing import NamedTuple

from hypothesis import strategies as st

from ._draws import BOOLS, ints, pick_from
from ._objects import GATEWAY_GROUP, httproutes


# --- invalid HTTPRoutes --------------------------------------------------------------------------


class InvalidHTTPRoute(NamedTuple):
    """An HTTPRoute (dict) breaking one validation rule: ``path`` is the field a validator must
    name (routecore: ``ConfigIssue.path``), ``rule`` says which rule in words."""

    obj: dict
    path: str
    rule: str


def _loc(route, draw, want=None):
    """(rule index, match index or None, rule, match) of a random match of a random rule; the
    match is created when the rule has none."""
    rules = route["spec"]["rules"]
    ri = draw(ints(0, len(rules) - 1))
    rule = rules[ri]
    if not rule.get("matches"):
        rule["matches"] = [{}]
    mi = draw(ints(0, len(rule["matches"]) - 1))
    return ri, mi, rule, rule["matches"][mi]


def _strip_prefix_filters(rule):
    """Drop ReplacePrefixMatch path modifiers (they constrain the matches) from a rule."""
    def keep(f):
        body = f.get("urlRewrite") or f.get("requestRedirect") or {}
        return (body.get("path") or {}).get("type") != "ReplacePrefixMatch"
    if "filters" in rule:
        rule["filters"] = [f for f in rule["filters"] if keep(f)]
        if not rule["filters"]:
            del rule["filters"]
    for ref in rule.get("backendRefs", ()):
        if "filters" in ref:
            ref["filters"] = [f for f in ref["filters"] if keep(f)]
            if not ref["filters"]:
                del ref["filters"]


def _bad_path(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    ptype = draw(pick_from(["Exact", "PathPrefix"]))
    bad, why = draw(pick_from([
        ("a", "a path must start with '/'"), ("/a//b", "a path must not contain '//'"),
        ("/a/./b", "a path must not contain '/./'"), ("/a/../b", "a path must not contain '/../'"),
        ("/a%2fb", "a path must not contain '%2f'"), ("/a%2Fb", "a path must not contain '%2F'"),
        ("/a#b", "a path must not contain '#'"), ("/a/..", "a path must not end with '/..'"),
        ("/a/.", "a path must not end with '/.'"), ("/a b", "a path has characters not allowed"),
        ("/a%zz", "a path has characters not allowed"), ("/" + "a" * 1024, "a path has at most 1024 characters"),
    ]))
    _strip_prefix_filters(rule)
    m["path"] = {"type": ptype, "value": bad}
    return f"spec.rules[{ri}].matches[{mi}].path.value", f"{ptype} {why}"


def _bad_path_type(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    m["path"] = {"type": draw(pick_from(["Prefix", "exact", "Regex"])), "value": "/a"}
    _strip_prefix_filters(rule)
    return f"spec.rules[{ri}].matches[{mi}].path.type", "path type is Exact, PathPrefix or RegularExpression"


def _bad_regex(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    where = draw(pick_from(["path", "headers", "queryParams"]))
    bad = draw(pick_from(["/a([", "(", "[", "a**", "(?P<x"]))
    if where == "path":
        m["path"] = {"type": "RegularExpression", "value": bad}
        _strip_prefix_filters(rule)
        return f"spec.rules[{ri}].matches[{mi}].path.value", "a regular expression must be valid RE2"
    m[where] = [{"type": "RegularExpression", "name": "x-z", "value": bad}]
    return f"spec.rules[{ri}].matches[{mi}].{where}[0].value", "a regular expression must be valid RE2"


def _bad_header(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    how = draw(ints(0, 5))
    hs = [{"name": "x-ok", "value": "1"}]
    if how == 0:
        hs.append({"name": draw(pick_from(["bad name", ":authority", "x(y)", "é"])), "value": "1"})
        return _set_headers(m, hs, ri, mi, 1, "name", "a header name must be an HTTP token")
    if how == 1:
        hs.append({"name": "x-z", "value": ""})
        return _set_headers(m, hs, ri, mi, 1, "value", "a header value must not be empty")
    if how == 2:
        hs.append({"name": "x-z", "value": "v" * 4097})
        return _set_headers(m, hs, ri, mi, 1, "value", "a header value has at most 4096 characters")
    if how == 3:
        hs.append({"name": "x-ok", "value": "2"})
        return _set_headers(m, hs, ri, mi, 1, "name", "header match names are unique (exact duplicates)")
    if how == 4:
        hs.append({"name": "x-z", "value": "1", "type": draw(pick_from(["Prefix", "exact"]))})
        return _set_headers(m, hs, ri, mi, 1, "type", "header match type is Exact or RegularExpression")
    m["headers"] = [{"name": f"h{i}", "value": "v"} for i in range(17)]
    return f"spec.rules[{ri}].matches[{mi}].headers", "at most 16 header matches"


def _set_headers(m, hs, ri, mi, index, field, why):
    m["headers"] = hs
    return f"spec.rules[{ri}].matches[{mi}].headers[{index}].{field}", why


def _bad_query(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    how = draw(ints(0, 3))
    if how == 0:
        m["queryParams"] = [{"name": draw(pick_from(["q=", "a b", "q?"])), "value": "1"}]
        return f"spec.rules[{ri}].matches[{mi}].queryParams[0].name", "a query name must be an HTTP token"
    if how == 1:
        m["queryParams"] = [{"name": "q", "value": "v" * 1025}]
        return f"spec.rules[{ri}].matches[{mi}].queryParams[0].value", "a query value has at most 1024 characters"
    if how == 2:
        m["queryParams"] = [{"name": "q", "value": "1"}, {"name": "q", "value": "2"}]
        return f"spec.rules[{ri}].matches[{mi}].queryParams[1].name", "query match names are unique"
    m["queryParams"] = [{"name": f"q{i}", "value": "v"} for i in range(17)]
    return f"spec.rules[{ri}].matches[{mi}].queryParams", "at most 16 query matches"


def _bad_method(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    m["method"] = draw(pick_from(["get", "FETCH", "Post"]))
    return f"spec.rules[{ri}].matches[{mi}].method", "method is an upper-case HTTP method"


def _too_many_matches(route, draw):
    rules = route["spec"]["rules"]
    ri = draw(ints(0, len(rules) - 1))
    rules[ri]["matches"] = [{"path": {"value": "/"}}] * 65
    _strip_prefix_filters(rules[ri])
    return f"spec.rules[{ri}].matches", "at most 64 matches per rule"


def _bad_rules(route, draw):
    rules = route["spec"]["rules"]
    if draw(BOOLS):
        route["spec"]["rules"] = []
        return "spec.rules", "at least 1 rule"
    route["spec"]["rules"] = (rules * 17)[:17]
    for r in route["spec"]["rules"]:
        r.pop("name", None)
    return "spec.rules", "at most 16 rules"


def _bad_hostname(route, draw):
    if draw(ints(0, 4)) == 0:
        route["spec"]["hostnames"] = [f"h{i}.example.com" for i in range(17)]
        return "spec.hostnames", "at most 16 hostnames"
    hosts = ["a.example.com"]
    hosts.append(draw(pick_from(["Example.com", "*", "example.com.", "a..example.com", "*.*.example.com",
                             "example.com:80", "-a.example.com", "a_b.example.com"])))
    route["spec"]["hostnames"] = hosts
    return "spec.hostnames[1]", "a hostname is a lower-case RFC 1123 name, maybe with a leading '*.'"


def _with_backend(route, draw):
    rules = route["spec"]["rules"]
    ri = draw(ints(0, len(rules) - 1))
    rule = rules[ri]
    rule.pop("filters", None)
    refs = rule.setdefault("backendRefs", [])
    if not refs:
        refs.append({"name": "b1", "port": 80})
    bi = draw(ints(0, len(refs) - 1))
    return ri, rule, bi, refs[bi]


def _bad_backend(route, draw):
    ri, rule, bi, ref = _with_backend(route, draw)
    where = f"spec.rules[{ri}].backendRefs[{bi}]"
    how = draw(ints(0, 6))
    ref.pop("filters", None)
    if how == 0:
        ref.pop("port", None)
        ref.pop("group", None)
        ref.pop("kind", None)
        return f"{where}.port", "a backendRef to a Service needs a port"
    if how == 1:
        ref["port"] = draw(pick_from([0, 65536, -1]))
        return f"{where}.port", "a port is 1..65535"
    if how == 2:
        ref["weight"] = draw(pick_from([-1, 1000001]))
        return f"{where}.weight", "a weight is 0..1000000"
    if how == 3:
        ref["namespace"] = draw(pick_from(["Team", "team_x", "a" * 64]))
        return f"{where}.namespace", "a namespace is an RFC 1123 label"
    if how == 4:
        ref["name"] = ""
        return f"{where}.name", "a name must not be empty"
    if how == 5:
        ref["port"] = "80"
        return f"{where}.port", "a port is an integer"
    rule["backendRefs"] = [{"name": f"s{i}", "port": 80} for i in range(17)]
    return f"spec.rules[{ri}].backendRefs", "at most 16 backendRefs"


def _bad_filters(route, draw):
    ri, rule, bi, ref = _with_backend(route, draw)
    where = f"spec.rules[{ri}]"
    hdr = {"set": [{"name": "x-a", "value": "1"}]}
    how = draw(ints(0, 7))
    if how == 0:
        rule["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}]
        return f"{where}.filters", "RequestRedirect must not be used together with backendRefs"
    if how == 1:
        kind = draw(pick_from(["RequestHeaderModifier", "ResponseHeaderModifier"]))
        key = kind[0].lower() + kind[1:]
        rule["filters"] = [{"type": kind, key: hdr}, {"type": kind, key: hdr}]
        return f"{where}.filters", f"{kind} cannot be repeated"
    if how == 2:
        rule["filters"] = [{"type": draw(pick_from(["Foo", "requestHeaderModifier", "Redirect"]))}]
        return f"{where}.filters[0].type", "filter type is one of the Gateway API filter types"
    if how == 3:
        rule["matches"] = [{"path": {"type": draw(pick_from(["Exact", "RegularExpression"])), "value": "/a"}}]
        rule["filters"] = [{"type": "URLRewrite", "urlRewrite": {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}}]
        return f"{where}.filters[0].urlRewrite.path", "ReplacePrefixMatch needs exactly one PathPrefix match"
    if how == 4:
        rule["filters"] = [{"type": "RequestMirror", "requestMirror": {
            "backendRef": {"name": "m", "port": 80}, "percent": draw(pick_from([101, -1]))}}]
        return f"{where}.filters[0].requestMirror.percent", "a mirror percent is 0..100"
    if how == 5:
        rule["filters"] = [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
            "set": [{"name": "x-a", "value": "1"}], "remove": ["X-A"]}}]
        return f"{where}.filters[0].requestHeaderModifier.remove[0]", "one action per header name"
    if how == 6:
        rule["filters"] = [{"type": "RequestHeaderModifier"}]
        return f"{where}.filters[0]", "the filter's body must be given for its type"
    rule["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"statusCode": draw(pick_from([304, 200, 399]))}}]
    rule.pop("backendRefs")
    return f"{where}.filters[0].requestRedirect.statusCode", "redirect status is 301, 302, 303, 307 or 308"


def _bad_rule_settings(route, draw):
    rules = route["spec"]["rules"]
    ri = draw(ints(0, len(rules) - 1))
    rule = rules[ri]
    where = f"spec.rules[{ri}]"
    how = draw(ints(0, 4))
    if how == 0:
        rule["timeouts"] = {"request": draw(pick_from(["10", "1d", "1.5s", "100000s", "1h1m1s1ms1h"]))}
        return f"{where}.timeouts.request", "a duration matches ^([0-9]{1,5}(h|m|s|ms)){1,4}$"
    if how == 1:
        rule["timeouts"] = {"request": "5s", "backendRequest": "10s"}
        return f"{where}.timeouts.backendRequest", "backendRequest is at most request"
    if how == 2:
        rule["name"] = draw(pick_from(["Rule_1", "UPPER", "a b"]))
        return f"{where}.name", "a rule name is a lower-case RFC 1123 subdomain"
    if how == 3 and len(rules) > 1:
        for r in rules:
            r.pop("name", None)
        rules[0]["name"] = rules[-1]["name"] = "same"
        return f"spec.rules[{len(rules) - 1}].name", "rule names are unique"
    rule["backendRef"] = [{"name": "x", "port": 1}]
    return f"{where}.backendRef", "no unknown fields (backendRef for backendRefs)"


def _bad_meta(route, draw):
    how = draw(ints(0, 5))
    if how == 0:
        route["metadata"]["name"] = draw(pick_from(["Cart", "a_b", "c" * 254]))
        return "metadata.name", "a name is an RFC 1123 subdomain"
    if how == 1:
        route["metadata"]["creationTimestamp"] = draw(pick_from(["yesterday", "2024-13-02T03:04:05Z"]))
        return "metadata.creationTimestamp", "a timestamp is RFC 3339"
    if how == 2:
        route["apiVersion"] = draw(pick_from(["v1", f"{GATEWAY_GROUP}/v1alpha2", f"{GATEWAY_GROUP}/v2"]))
        return "apiVersion", "an HTTPRoute is gateway.networking.k8s.io/v1 or v1beta1"
    refs = route["spec"]["parentRefs"]
    pi = draw(ints(0, len(refs) - 1))
    if how == 3:
        refs[pi]["port"] = draw(pick_from([0, 65536]))
        return f"spec.parentRefs[{pi}].port", "a parentRef port is 1..65535"
    if how == 4:
        del refs[pi]["name"]
        return f"spec.parentRefs[{pi}].name", "a parentRef needs a name"
    refs[pi]["sectionName"] = draw(pick_from(["Web", "a b"]))
    return f"spec.parentRefs[{pi}].sectionName", "a sectionName is a lower-case RFC 1123 subdomain"


# --- values that would inject a header line, a path or an authority -------------------------------

CONTROLS = ("\r\n", "\n", "\r", "\x00", "\x7f", "\x1b", "\x01", "\x0b", "\x1f")
# what makes a path from config reach another host, or leave the path
PATH_TRICKS = ("@127.0.0.1:9101/stolen", ":9101/x", "//evil.example/x", "\\\\evil.example/x",
               "/x?y=1", "/x#y", "http://evil.example/x", " /x", "/x y", "/%2e%2e/admin", "/a/../b",
               "/a\\b", "/..;/x", "/%zz", "/%2F", "/\u00e9")
HOST_TRICKS = ("evil.example/x", "a@evil.example", "evil.example:80", "evil.example?", "a b", "",
               "EVIL.example", "evil.example.", "*")
TOKEN_TRICKS = ("a b", "a:b", "a@b", "a/b", "", "\u00e9", "a,b")
ORIGIN_TRICKS = ("https://evil.example/x", "https://a@evil.example", "https://a b", "https://",
                 "https://evil.example?x", "evil.example", "https://a.example.com:port")


def _filter_site(route, draw):
    """One filter of the first rule holding a field that ends up in a header, a Location or an
    upstream URL: (field path, setter, kind of value)."""
    rule = route["spec"]["rules"][0]
    rule["matches"] = [{"path": {"type": "PathPrefix", "value": "/a"}}]
    rule.pop("filters", None)
    hdr = {"set": [{"name": "x-a", "value": "1"}], "add": [{"name": "x-b", "value": "2"}], "remove": ["x-c"]}
    kind = draw(pick_from(["RequestRedirect", "URLRewrite", "RequestHeaderModifier",
                       "ResponseHeaderModifier", "CORS", "RequestMirror"]))
    key = {"URLRewrite": "urlRewrite", "CORS": "cors"}.get(kind, kind[0].lower() + kind[1:])
    where = "spec.rules[0].filters[0]"
    if kind in ("RequestRedirect", "URLRewrite"):
        ptype = draw(pick_from(["ReplaceFullPath", "ReplacePrefixMatch"]))
        pfield = ptype[0].lower() + ptype[1:]
        body = {"hostname": "a.example.com", "path": {"type": ptype, pfield: "/b"}}
        if kind == "RequestRedirect":
            rule.pop("backendRefs", None)
            body.update(scheme="https", port=8443)
        fields = [("hostname", "host"), (f"path.{pfield}", "path")]
    elif kind == "CORS":
        body = {"allowOrigins": ["https://a.example.com"], "allowHeaders": ["x-a"],
                "exposeHeaders": ["x-b"], "allowMethods": ["GET"]}
        fields = [("allowOrigins[0]", "origin"), ("allowHeaders[0]", "token"),
                  ("exposeHeaders[0]", "token"), ("allowMethods[0]", "token")]
    elif kind == "RequestMirror":
        body = {"backendRef": {"name": "m", "port": 80}}
        fields = [("backendRef.name", "name")]
    else:
        body = hdr
        fields = [("set[0].name", "token"), ("set[0].value", "value"), ("add[0].name", "token"),
                  ("add[0].value", "value"), ("remove[0]", "token")]
    rule["filters"] = [{"type": kind, key: body}]
    field, what = draw(pick_from(fields))
    return f"{where}.{key}.{field}", what


def _session_site(route, draw):
    rule = route["spec"]["rules"][0]
    shape = draw(ints(0, 3))
    if shape == 0:
        rule["sessionPersistence"] = {"sessionName": "sid"}
        return "spec.rules[0].sessionPersistence.sessionName", "token"
    if shape == 1:
        rule["sessionPersistence"] = {"cookie": {"name": "sid", "path": "/"}}
        return f"spec.rules[0].sessionPersistence.cookie.{draw(pick_from(['name', 'path']))}", "token"
    if shape == 2:
        rule["sessionPersistence"] = {"type": "Header", "header": {"name": "x-sid"}}
        return "spec.rules[0].sessionPersistence.header.name", "token"
    return "spec.rules[0].backendRefs[0].name", "name"


def _set_field(route, path, value):
    """Set the field at ``path`` (a ConfigIssue path below the route) to ``value``."""
    import re as _re

    node, parts = route, _re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)
    keys = [int(i) if i else k for k, i in parts]
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


def _injected_field(route, draw):
    """A control character or an authority trick in one field that ends up in a header, a
    Location, an upstream URL or a log line."""
    if "hostnames" in route["spec"] and draw(ints(0, 5)) == 0:
        path, what = "spec.hostnames[0]", "host"
    elif draw(ints(0, 4)) == 0:
        rule = route["spec"]["rules"][0]
        rule.pop("filters", None)
        rule["backendRefs"] = [{"name": "b1", "port": 80}]
        path, what = _session_site(route, draw)
    else:
        path, what = _filter_site(route, draw)
    tricks = {"path": PATH_TRICKS, "host": HOST_TRICKS, "token": TOKEN_TRICKS,
              "origin": ORIGIN_TRICKS}.get(what, ())
    if tricks and draw(BOOLS):
        value = draw(pick_from(tricks))
        if what == "path" and path.endswith("replacePrefixMatch") and value == "":
            value = " "
        how = f"an authority or path trick `{value!r}`"
    else:
        base = {"path": "/b", "host": "a.example.com", "token": "x-a", "value": "1",
                "name": "m", "origin": "https://a.example.com"}[what]
        ctrl = draw(pick_from(CONTROLS))
        at = draw(ints(0, len(base)))
        value = base[:at] + ctrl + base[at:]
        how = f"a control character {ctrl!r}"
    _set_field(route, path, value)
    return path, f"{how} in a field that ends up in a header, a Location or an upstream URL"


_BREAKERS = (_bad_path, _bad_path_type, _bad_regex, _bad_header, _bad_query, _bad_method,
             _too_many_matches, _bad_rules, _bad_hostname, _bad_backend, _bad_filters,
             _bad_rule_settings, _bad_meta, _injected_field)


def injected_httproutes(*, parent="gateway"):
    """``InvalidHTTPRoute(obj, path, rule)``: a valid ``httproutes(parent=parent)`` object with
    one field that ends up in a response or request header, a redirect Location, an upstream
    path or host, or a log line (redirect and rewrite hostname and paths, header modifier names
    and values, CORS fields, session persistence names and cookie path, backend names, route
    hostnames) set to a value with a control character (CR, LF, NUL, other C0, DEL) or an
    authority trick (``@host:port``, ``:port``, ``//host``, a backslash, ``?``/``#``, an absolute
    URL, dot-segments, escapes...). A validator must refuse it at ``path``."""
    base = httproutes(parent=parent, max_rules=2, max_matches=1)

    @st.composite
    def one(draw):
        route = copy.deepcopy(draw(base))
        path, rule = _injected_field(route, draw)
        return InvalidHTTPRoute(route, path, rule)

    return one()


def invalid_httproutes(*, parent="gateway"):
    """``InvalidHTTPRoute(obj, path, rule)``: a valid ``httproutes(parent=parent)`` object with
    exactly one validation rule broken (path values, path type, regexes, header and query
    matches, methods, list limits, hostnames, backendRefs, filter combinations, timeouts, rule
    names, unknown fields, metadata, parentRefs). ``path`` is the field path of the problem,
    as in routecore's ``ConfigIssue.path``: a validator should report an issue there, and
    only there."""
    base = httproutes(parent=parent, max_rules=3, max_matches=2)
    which = ints(0, len(_BREAKERS) - 1)

    @st.composite
    def one(draw):
        route = copy.deepcopy(draw(base))
        path, rule = _BREAKERS[draw(which)](route, draw)
        return InvalidHTTPRoute(route, path, rule)

    return one()
