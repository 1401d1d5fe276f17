"""Strategies for requests: dicts ``{"method", "target", "headers", "host"[, "sni"]}``, generic
or biased to hit, nearly hit and miss the rules of one config.
"""
from __future__ import annotations

from hypothesis import strategies as st

from ._draws import BOOLS, ints, pick_from


# --- requests ------------------------------------------------------------------------------------

SEGMENTS = ("/a", "/b", "/ab", "/", "/.", "/..", "/%61", "/%2E", "/a/./b", "/a/b", "/bc", "/A")
# escapes and separators the normaliser decodes, refuses or keeps: a second decoding that would
# make a dot-segment, escaped slashes, backslashes, path parameters on dot-segments, bad escapes
HOSTILE_SEGMENTS = ("/%%32%65%%32%65", "/%252e%252e", "/..%2f", "/%2F", "/%5c", "/..\\", "/..;",
                    "/.;x", "/%zz", "/%", "/%2", "/%7E", "//", "/a%3Bb")
QUERIES = ("", "", "?q=1", "?q=1&q=2", "?q=2&r=1", "?Q=1", "?q", "?r=2&q=1", "?q=1#f", "#frag")
SPECIAL_TARGETS = ("", "*", "http://A.example.com:8080/a/b?q=1", "/a%2fb", "https://b.a.example.com",
                   "/a?x#y?q=1", "//a", "http://evil@a.example.com/a", "http://a.example.com:x/a")
REQ_HEADER_NAMES = ("x-a", "X-A", "x-b", "X-B", "x-c", "Host", "content-type")
REQ_HEADER_VALUES = ("1", "2", "1,2", "3", "")
# Hosts a client may send that are not a valid Host (RFC 9110 7.2): each gets 400
INVALID_HOSTS = ("evil.com/a.example.com", "evil.com?a.example.com", "evil.com#a.example.com",
                 "evil.com\\a.example.com", "user@a.example.com", "a.example.com\r\nx: y",
                 "a example.com", "a.example.com:8x", ":80", "[::1", "a.example.com:80:80",
                 "a%2eexample.com", "\u00e4.a.example.com")
HOSTS = (None, "a.example.com", "A.Example.COM:80", "b.a.example.com", "x.example.com",
         "example.com", "a.example.com.", "other.org", "[::1]:80") + INVALID_HOSTS[:4]
# weighted towards hosts some listener takes
GW_HOSTS = (("a.example.com", "b.a.example.com", "x.example.com", "c.b.a.example.com") * 3
            + (None, "A.Example.COM:443", "example.com", "a.example.com.", "other.org", "[::1]:443",
               "", ".a.example.com", "x." * 40 + "a.example.com") + INVALID_HOSTS)
SNIS = ("a.example.com", "b.a.example.com", "x.example.com", "other.org", "A.EXAMPLE.COM",
        "a.example.com.", "", "c.b.a.example.com", "example.com")
GRPC_TARGETS = ("/a.B/C", "/a.B/Cd", "/a/C", "/a/Cd", "/a.Bc/c", "/A.B/C", "/a.B", "/a.B/C/x", "/x/C",
                "/", "/a.B/C?q=1", "//C", "/a.B/./C", "/a%2EB/C")
GRPC_CONTENT_TYPES = ("application/grpc", "application/grpc+proto")


@st.composite
def _targets(draw):
    if draw(ints(0, 9)) == 0:
        return draw(pick_from(SPECIAL_TARGETS))
    segments = SEGMENTS + HOSTILE_SEGMENTS if draw(ints(0, 3)) == 0 else SEGMENTS
    path = "".join(draw(st.lists(pick_from(segments), min_size=1, max_size=3)))
    if draw(ints(0, 3)) == 0:
        path += "/"
    return path + draw(pick_from(QUERIES))


def _header_pairs(draw, names=REQ_HEADER_NAMES, values=REQ_HEADER_VALUES, hosts=HOSTS, pick=None):
    pairs = []
    if pick is None:
        pick = {"names": pick_from(names), "values": pick_from(values),
                "hosts": pick_from([h for h in hosts if isinstance(h, str)])}
    elif "names" not in pick:
        pick["names"] = st.sampled_from(names)
        pick["str_hosts"] = st.sampled_from([h for h in hosts if isinstance(h, str)])
    for name in draw(st.lists(pick["names"], max_size=4)):
        if name.lower() == "host":
            value = draw(pick.get("str_hosts", pick["hosts"]))
        elif name == "content-type":
            value = draw(pick_from(("text/plain",) + GRPC_CONTENT_TYPES))
        else:
            value = draw(pick["values"])
        pairs.append((name, value))
    return tuple(pairs)


@st.composite
def generic_requests(draw, *, grpc=False, sni=False, hosts=HOSTS):
    """Request dicts over the same small alphabets as the generated routes, independent of any
    config (``requests_for`` biases them to one config)."""
    if grpc and draw(BOOLS):
        method, target = "POST", draw(pick_from(GRPC_TARGETS))
        headers = _header_pairs(draw) + (("content-type", "application/grpc"),)
    else:
        method, target = draw(pick_from(["GET", "GET", "POST", "PUT"])), draw(_targets())
        headers = _header_pairs(draw)
    host = draw(pick_from(hosts) if hosts is HOSTS or hosts is GW_HOSTS else st.sampled_from(hosts))
    req = {"method": method, "target": target, "headers": headers, "host": host}
    if sni:
        choice = draw(ints(0, 3))
        if choice == 0:
            pass
        elif choice <= 2 and host is not None:
            req["sni"] = host  # a client sends the name it connects to
        else:
            req["sni"] = draw(pick_from(SNIS))
    return req


def _case_variants(name):
    return (name, name.lower(), name.upper(), name[:1].upper() + name[1:].lower())


def _path_variants(value):
    """Boundary paths around an Exact or PathPrefix value: equal, with and without the trailing
    slash, one more segment, the same characters without a segment boundary, one less character,
    another case, dot-segments and escapes that normalise to it."""
    base = value.rstrip("/") or ""
    out = [value, base or "/", base + "/", base + "/x", base + "x", value.upper(), base + "/./",
           base + "/x/..", "/x/.." + (base or "/"), "/x/%2e%2E" + (base or "/"), base + "/..%2F",
           "/x/..;" + (base or "/"), "/%%32%65" + (base or "/")]
    if len(base) > 1:
        out.append(base[:-1])
        out.append(base[:-1] + "%" + format(ord(base[-1]), "02X"))
    return out


def _hosts_of(config):
    """Hosts around the config's listener and route hostnames: exact, one and two labels under a
    wildcard, the bare wildcard suffix (a miss), other case, trailing dot, with a port."""
    names = set()
    for o in config:
        if o.get("kind") == "Gateway":
            names.update(lis["hostname"] for lis in o["spec"].get("listeners", ()) if lis.get("hostname"))
        elif o.get("kind") in ("HTTPRoute", "GRPCRoute"):
            names.update(o["spec"].get("hostnames", ()))
    out = []
    for h in sorted(names):
        if h.startswith("*."):
            out += ["x" + h[1:], "y.x" + h[1:], h[2:], "X" + h[1:].upper()]
        else:
            out += [h, h.upper(), h + ".", h + ":8080", "x." + h]
    return out


def requests_for(config, *, grpc=None, sni=None):
    """Request dicts ``{"method", "target", "headers", "host", "sni"}`` biased to hit, nearly
    hit and miss the rules of ``config`` (a list of object dicts): boundary paths around every
    Exact and PathPrefix value (trailing slash, one more segment or character, one less,
    dot-segments, escapes), gRPC paths from the method matches, header names in other cases,
    repeated headers and query parameters, hosts on and around the hostnames, an SNI that is
    the Host's name or another; one request in five comes from ``generic_requests``.
    ``headers`` is a tuple of (name, value) str pairs; ``host`` may be None (then the Host
    header, or the target's authority, is used); ``sni`` is only set for Gateway configs
    (``sni=False`` never sets it)."""
    paths, grpc_paths, methods = set(), set(), {"GET", "POST"}
    hnames, hvalues, queries = set(), {"1", "2", "3"}, set()
    cors = False
    for o in config:
        kind = o.get("kind")
        if kind not in ("HTTPRoute", "GRPCRoute"):
            continue
        for rule in o["spec"].get("rules", ()) or ():
            if any(f.get("type") == "CORS" for f in rule.get("filters", ())):
                cors = True
            for m in rule.get("matches", ()) or ():
                if kind == "HTTPRoute":
                    p = m.get("path") or {}
                    if p.get("type", "PathPrefix") != "RegularExpression":
                        paths.update(_path_variants(p.get("value", "/")))
                    if m.get("method"):
                        methods.add(m["method"])
                    for q in m.get("queryParams", ()):
                        v = q["value"] if q.get("type", "Exact") == "Exact" else "1"
                        queries.update({f"{q['name']}={v}", f"{q['name']}=x", f"{q['name'].upper()}={v}",
                                        f"{q['name']}={v}&{q['name']}=x", f"{q['name']}=x&{q['name']}={v}"})
                else:
                    mm = m.get("method") or {}
                    if mm.get("type", "Exact") == "Exact":
                        s, me = mm.get("service", "a.B"), mm.get("method", "C")
                        grpc_paths.update({f"/{s}/{me}", f"/{s}", f"/{s}/{me}x", f"/{s}x/{me}",
                                           f"/{s}/{me}/x", f"/x/{me}", f"/{s}/{me.lower()}"})
                for h in m.get("headers", ()):
                    hnames.update(_case_variants(h["name"]))
                    if h.get("type", "Exact") == "Exact":
                        hvalues.add(h["value"])
                        hvalues.update(h["value"].split(","))
    gw = any(o.get("kind") == "Gateway" for o in config)
    has_grpc = any(o.get("kind") == "GRPCRoute" for o in config) if grpc is None else grpc
    want_sni = gw if sni is None else sni
    hosts = tuple(_hosts_of(config)) + (GW_HOSTS if gw else HOSTS)
    path_pool = tuple(sorted(paths)) or ("/",)
    grpc_pool = tuple(sorted(grpc_paths)) + GRPC_TARGETS
    name_pool = tuple(sorted(hnames)) + REQ_HEADER_NAMES
    value_pool = tuple(sorted(hvalues))
    query_pool = ("",) + tuple("?" + q for q in sorted(queries)) + QUERIES
    method_pool = tuple(sorted(methods)) + ("PUT", "HEAD")
    snis = tuple(h for h in hosts if h) + SNIS

    pick = {k: st.sampled_from(v) for k, v in (
        ("hosts", hosts), ("paths", path_pool), ("grpc", grpc_pool), ("queries", query_pool),
        ("methods", method_pool), ("snis", snis), ("values", value_pool))}
    generic = generic_requests(grpc=has_grpc, sni=want_sni, hosts=hosts)

    @st.composite
    def one(draw):
        if draw(ints(0, 4)) == 0:
            return draw(generic)
        headers = list(_header_pairs(draw, name_pool, value_pool, hosts, pick))
        if has_grpc and draw(BOOLS):
            method, target = "POST", draw(pick["grpc"])
            headers.append(("content-type", draw(pick_from(GRPC_CONTENT_TYPES))))
        else:
            method = draw(pick["methods"])
            target = draw(pick["paths"]) + draw(pick["queries"])
        if draw(ints(0, 5)) == 0 and headers:  # the same header again, maybe in another case
            name, _ = headers[draw(ints(0, len(headers) - 1))]
            headers.append((draw(pick_from(_case_variants(name))), draw(pick["values"])))
        if cors and draw(ints(0, 3)) == 0:  # a CORS preflight, or an actual cross-origin request
            headers.append(("Origin", draw(pick_from(["https://a.example.com", "https://evil.example"]))))
            if draw(BOOLS):
                method = "OPTIONS"
                headers.append(("Access-Control-Request-Method", "GET"))
        host = draw(pick["hosts"]) if draw(ints(0, 4)) else None
        req = {"method": method, "target": target, "headers": tuple(headers), "host": host}
        if want_sni and draw(ints(0, 2)):
            req["sni"] = host if host is not None and draw(ints(0, 3)) else draw(pick["snis"])
        return req

    return one()
