"""The reference decision: ``reference_decide`` reads the Gateway API spec literally (with routecore's
documented choices) and uses no routecore internals.

Invariant: no Hypothesis here and nothing from routecore but the alphabet constant GATEWAY_GROUP:
the oracle is plain code over plain dicts.
"""
from __future__ import annotations

import re
import datetime as _dt
from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple

import re2

from ._objects import GATEWAY_GROUP


# --- the reference decision ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceDecision:
    """What the spec (with routecore's documented choices) says about one request.

    ``route`` "namespace/name" and ``rule`` index of the rule that takes the request (or None);
    ``kind`` "HTTPRoute"/"GRPCRoute"; ``listener`` the Gateway listener chosen (None for mesh,
    and when no listener takes the Host); ``status`` the answer when the request is never
    forwarded and only one answer is possible (404 no rule or listener, 421 misdirected, 500 no
    valid backend, a redirect code, 204 CORS preflight), else None; ``backends`` the
    (namespace, name, port) the request may be forwarded to (weights are not modelled: every
    backendRef with a weight above 0); ``statuses`` every answer the request may get instead of
    being forwarded (a 500 share for ``invalid_backends`` (namespace, name, port, reason), a
    backendRef-level redirect).
    """

    route: Optional[str] = None
    kind: Optional[str] = None
    rule: Optional[int] = None
    listener: Optional[str] = None
    status: Optional[int] = None
    backends: FrozenSet[Tuple[str, str, int]] = frozenset()
    statuses: FrozenSet[int] = frozenset()
    invalid_backends: FrozenSet[Tuple[str, str, int, str]] = frozenset()

    @property
    def matched(self) -> bool:
        return self.route is not None

    def admits(self, decision) -> bool:
        """Whether ``decision`` (anything with ``route``, ``rule``, ``status``, ``backend``
        (``namespace``, ``name``, ``port``) and, for Gateways, ``listener``) is one this
        reference allows."""
        if (decision.route, decision.rule) != (self.route, self.rule):
            return False
        if getattr(decision, "listener", self.listener) != self.listener:
            return False
        if decision.status is not None:
            return decision.status in self.statuses
        b = decision.backend
        return b is not None and (b.namespace, b.name, b.port) in self.backends


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return value


_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _remove_dot_segments(path):
    """RFC 3986 section 5.2.4, step by step."""
    inp, out = path, ""
    while inp:
        if inp.startswith("../"):
            inp = inp[3:]
        elif inp.startswith("./"):
            inp = inp[2:]
        elif inp.startswith("/./"):
            inp = "/" + inp[3:]
        elif inp == "/.":
            inp = "/"
        elif inp.startswith("/../"):
            inp = "/" + inp[4:]
            out = out[:out.rfind("/")] if "/" in out else ""
        elif inp == "/..":
            inp = "/"
            out = out[:out.rfind("/")] if "/" in out else ""
        elif inp in (".", ".."):
            inp = ""
        else:
            start = 1 if inp.startswith("/") else 0
            cut = inp.find("/", start)
            seg = inp if cut == -1 else inp[:cut]
            out += seg
            inp = "" if cut == -1 else inp[cut:]
    return out


def _decode_unreserved(path):
    """Percent-decode unreserved characters (RFC 3986 6.2.2.2) in one pass; other escapes
    upper-cased; None when a "%" is not followed by two hex digits (refused: 400)."""
    out, i = "", 0
    while i < len(path):
        esc = path[i + 1:i + 3]
        if path[i] != "%":
            out += path[i]
            i += 1
        elif len(esc) == 2 and all(c in "0123456789abcdefABCDEF" for c in esc):
            ch = chr(int(esc, 16))
            out += ch if ch in _UNRESERVED else "%" + esc.upper()
            i += 3
        else:
            return None
    return out


def _normalised(path, merge_slashes, escaped_slashes):
    """routecore's path normalisation, step by step; None when the path is refused (400)."""
    path = _decode_unreserved(path)
    if path is None:
        return None
    if "%2F" in path or "%5C" in path or "\\" in path:
        if escaped_slashes == "reject":
            return None
        if escaped_slashes == "unescape":
            path = path.replace("%2F", "/").replace("%5C", "/").replace("\\", "/")
    if merge_slashes:
        while "//" in path:
            path = path.replace("//", "/")
    if path.startswith("/"):
        if any(seg.split(";")[0] in (".", "..") and ";" in seg for seg in path.split("/")):
            return None  # "..;": a dot-segment to servers that strip path parameters
        path = _remove_dot_segments(path)
    return path


# RFC 3986 host (reg-name of unreserved and sub-delims, without %-escapes, or [IPv6]) and port
_VALID_HOST = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")


def _host_ok(host):
    return not host or _VALID_HOST.fullmatch(host) is not None


def _request_parts(request, normalize, merge_slashes, escaped_slashes="reject"):
    """(method, path, query, header map, host) under routecore's documented request choices:
    absolute-form gives its authority as the Host, a fragment is dropped, an empty path is "/",
    repeated headers are joined with ",", the path is normalised (escapes of unreserved
    characters decoded, escaped slashes refused or kept or unescaped, then runs of "/" merged
    when asked, then dot-segments removed); path None: the path is refused."""
    method = _text(request.get("method", "GET"))
    target = _text(request.get("target", "/"))
    authority = None
    if target[:7].lower() == "http://" or target[:8].lower() == "https://":
        rest = target.split("//", 1)[1]
        cut = min([i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i != -1] or [len(rest)])
        authority, target = rest[:cut], rest[cut:]
    target = target.split("#", 1)[0]
    path, sep, query = target.partition("?")
    if not path:
        path = "/"
    if normalize:
        path = _normalised(path, merge_slashes, escaped_slashes)
    elif merge_slashes:
        while "//" in path:
            path = path.replace("//", "/")
    headers = {}
    raw = request.get("headers", ())
    for name, value in (raw.items() if hasattr(raw, "items") else raw):
        name, value = _text(name).lower(), _text(value)
        headers[name] = value if name not in headers else headers[name] + "," + value
    host = request.get("host")
    if host is None:
        host = authority if authority is not None else headers.get("host", headers.get(":authority"))
    return method, path, query if sep else "", headers, _text(host)


def _host_name(host):
    """The Host as hostnames are compared: lower-case, no ":port", no trailing dot."""
    if not host:
        return ""
    if host.startswith("["):
        end = host.find("]")
        host = host[:end + 1] if end != -1 else host
    elif ":" in host:
        host = host[:host.rfind(":")]
    return host[:-1].lower() if host.endswith(".") else host.lower()


def _covers(pattern, host):
    """Gateway API hostname match: a wildcard stands for one or more whole labels."""
    if pattern is None:
        return True
    if pattern.startswith("*."):
        suffix = pattern[2:].split(".")
        labels = host.split(".")
        return (len(labels) > len(suffix) and labels[-len(suffix):] == suffix
                and all(labels[:-len(suffix)]))
    return host == pattern


def _intersection(route_host, listener_host):
    """The hostname a route hostname has on a listener (digest 1.4), None when disjoint."""
    if listener_host is None or route_host == listener_host:
        return route_host
    rw, lw = route_host.startswith("*."), listener_host.startswith("*.")
    if rw and lw:
        if _covers(route_host, listener_host[2:]) or route_host == listener_host:
            return listener_host
        if _covers(listener_host, route_host[2:]):
            return route_host
        return None
    if rw:
        return listener_host if _covers(route_host, listener_host) else None
    if lw:
        return route_host if _covers(listener_host, route_host) else None
    return None


def _effective_hosts(route, listener_host):
    names = route["spec"].get("hostnames") or []
    if not names:
        return [listener_host]
    out = []
    for h in names:
        e = _intersection(h, listener_host)
        if e is not None and e not in out:
            out.append(e)
    return out


def _timestamp(text):
    text = text.upper().replace("Z", "+00:00")
    return int(_dt.datetime.fromisoformat(text).timestamp())


def _age(route):
    ts = route["metadata"].get("creationTimestamp")
    meta = route["metadata"]
    return ((1, 0) if ts is None else (0, _timestamp(ts)), f"{meta.get('namespace', 'default')}/{meta['name']}")


def _value_ok(cond, value):
    if value is None:
        return False
    if cond.get("type", "Exact") == "RegularExpression":
        return re2.fullmatch(cond["value"], value) is not None
    return value == cond["value"]


def _first_headers(match):
    seen, out = set(), []
    for h in match.get("headers", ()):
        if h["name"].lower() not in seen:  # only the first entry for a name counts
            seen.add(h["name"].lower())
            out.append(h)
    return out


def _prefix_ok(prefix, path):
    p = prefix.rstrip("/")
    return path == p or path.startswith(p + "/")


def _http_candidates(route, before):
    """(precedence key after hostnames and age, rule index, test) for every match."""
    out = []
    for ri, rule in enumerate(route["spec"].get("rules", ())):
        for mi, m in enumerate(rule.get("matches") or [{}]):
            pm = m.get("path") or {}
            ptype, value = pm.get("type", "PathPrefix"), pm.get("value", "/")
            if ptype == "Exact":
                rank = (0, 0)
            elif ptype == "PathPrefix":
                rank = (2 if before else 1, -len(value.rstrip("/")))
            else:  # routecore's choice: RE2 regexes after every PathPrefix (or before, as asked)
                rank = (1 if before else 2, -len(value))
            hs = _first_headers(m)
            qs = m.get("queryParams", ())
            key = rank + (0 if m.get("method") else 1, -len(hs), -len(qs))

            def test(method, path, headers, query, ptype=ptype, value=value, m=m, hs=hs, qs=qs):
                if ptype == "Exact" and path != value:
                    return False
                if ptype == "PathPrefix" and not _prefix_ok(value, path):
                    return False
                # routecore's choice: a target that is not a path ("*", authority-form) matches
                # no path rule, RegularExpression included
                if ptype == "RegularExpression" and (not path.startswith("/")
                                                    or re2.fullmatch(value, path) is None):
                    return False
                if m.get("method") and m["method"] != method:
                    return False
                return (all(_value_ok(h, headers.get(h["name"].lower())) for h in hs)
                        and all(_value_ok(q, query.get(q["name"])) for q in qs))

            out.append((key, ri, mi, test))
    return out


def _grpc_candidates(route, before):
    """GRPCRoute method matches on the path /<service>/<method> (routecore's choice for the
    implementation-specific parts: method only and RegularExpression matches, their rank)."""
    out = []
    for ri, rule in enumerate(route["spec"].get("rules") or ()):
        for mi, m in enumerate(rule.get("matches") or [{}]):
            mm = m.get("method")
            s = mm.get("service") if mm else None
            me = mm.get("method") if mm else None
            if mm is None:
                klass = 4
            elif mm.get("type", "Exact") == "RegularExpression":
                klass = 1 if before else 3
            elif s is not None and me is not None:
                klass = 0
            elif s is not None:
                klass = 2 if before else 1
            else:
                klass = 3 if before else 2
            hs = _first_headers(m)
            key = (klass, -len(s or ""), -len(me or ""), -len(hs), 0)

            def test(method, path, headers, query, mm=mm, s=s, me=me, hs=hs):
                if not path.startswith("/"):  # "*", authority-form: no path rule matches
                    return False
                if mm is not None:
                    if mm.get("type", "Exact") == "RegularExpression":
                        rx = "/({})/({})".format("[^/]+" if s is None else s, "[^/]+" if me is None else me)
                        if re2.fullmatch(rx, path) is None:
                            return False
                    elif s is not None and me is not None:
                        if path != f"/{s}/{me}":
                            return False
                    elif s is not None:
                        if not (path == f"/{s}" or path.startswith(f"/{s}/")):
                            return False
                    else:
                        parts = path.split("/")
                        if not (len(parts) == 3 and parts[0] == "" and parts[1] and parts[2] == me):
                            return False
                return all(_value_ok(h, headers.get(h["name"].lower())) for h in hs)

            out.append((key, ri, mi, test))
    return out


def _ref_key(ref, route_ns):
    return (ref.get("group", ""), ref.get("kind", "Service"), ref.get("namespace", route_ns), ref["name"])


def _backend_problem(objs, route, ref, mesh):
    """None, or why a backendRef is invalid: InvalidKind, BackendNotFound, RefNotPermitted."""
    rns = route["metadata"].get("namespace", "default")
    group, kind, ns, name = _ref_key(ref, rns)
    if group != "" or kind != "Service":
        return "InvalidKind"
    services = [o for o in objs if o.get("kind") == "Service"]
    if services and not any(o["metadata"].get("namespace", "default") == ns and o["metadata"]["name"] == name
                            for o in services):
        return "BackendNotFound"
    if ns != rns and not mesh:  # routecore's choice: mesh backends need no grant (GEP-1294)
        for g in objs:
            if g.get("kind") != "ReferenceGrant" or g["metadata"].get("namespace", "default") != ns:
                continue
            if not any(f.get("group") == GATEWAY_GROUP and f.get("kind") == route["kind"]
                       and f.get("namespace") == rns for f in g["spec"].get("from", ())):
                continue
            if any(t.get("group", "") == group and t.get("kind") == kind and t.get("name") in (None, name)
                   for t in g["spec"].get("to", ())):
                return None
        return "RefNotPermitted"
    return None


def _redirect_code(redirect, no_host):
    """The status of a RequestRedirect filter; routecore's choice: 400 when its Location would
    take the request's host and the request has none (never "http:///...")."""
    if no_host and "hostname" not in redirect["requestRedirect"]:
        return 400
    return redirect["requestRedirect"].get("statusCode", 302)


def _rule_outcome(objs, route, ri, listener, mesh, method, headers, extensions, no_host=False):
    rule = route["spec"]["rules"][ri]
    meta = route["metadata"]
    rns = meta.get("namespace", "default")
    base = dict(route=f"{rns}/{meta['name']}", kind=route["kind"], rule=ri, listener=listener)
    filters = rule.get("filters", ())

    def known(fs):
        return all((f["extensionRef"]["group"], f["extensionRef"]["kind"]) in extensions
                   for f in fs if f.get("type") == "ExtensionRef")

    if any(f.get("type") == "CORS" for f in filters):
        # routecore's choice: a preflight on a rule with a CORS filter is answered with 204
        if method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers:
            return ReferenceDecision(status=204, statuses=frozenset({204}), **base)
    if not known(filters):  # routecore's choice: an unresolvable ExtensionRef gives 500
        return ReferenceDecision(status=500, statuses=frozenset({500}), **base)
    redirect = next((f for f in filters if f.get("type") == "RequestRedirect"), None)
    if redirect is not None:
        code = redirect["requestRedirect"].get("statusCode", 302)
        code = _redirect_code(redirect, no_host)
        return ReferenceDecision(status=code, statuses=frozenset({code}), **base)
    backends, statuses, invalid = set(), set(), set()
    for ref in rule.get("backendRefs", ()):
        if ref.get("weight", 1) <= 0:
            continue
        _, _, ns, name = _ref_key(ref, rns)
        problem = _backend_problem(objs, route, ref, mesh)
        if problem is not None:
            invalid.add((ns, name, ref.get("port"), problem))
            statuses.add(500)
        elif not known(ref.get("filters", ())):
            statuses.add(500)
        else:
            b_redirect = next((f for f in ref.get("filters", ()) if f.get("type") == "RequestRedirect"), None)
            if b_redirect is not None:
                statuses.add(_redirect_code(b_redirect, no_host))
            else:
                backends.add((ns, name, ref["port"]))
    if not backends and not statuses:  # routecore's choice: no backend at all is 500
        statuses.add(500)
    status = next(iter(statuses)) if not backends and len(statuses) == 1 else None
    return ReferenceDecision(status=status, backends=frozenset(backends), statuses=frozenset(statuses),
                             invalid_backends=frozenset(invalid), **base)


def _pick_best(objs, routes, listener_host, host, mesh, listener, request_parts, before, extensions):
    """Sort every match of every route by the spec's precedence; the first that matches wins."""
    method, path, query_text, headers, request_host = request_parts
    query = {}
    for part in query_text.split("&") if query_text else ():
        if part:
            name, _, value = part.partition("=")
            query.setdefault(name, value)  # routecore's choice: the first value counts
    candidates = []
    for route in routes:
        if mesh:
            host_key = (0, 0)
        else:
            ranks = []
            for h in _effective_hosts(route, listener_host):
                if _covers(h, host):
                    exact = h is not None and not h.startswith("*.")
                    ranks.append((-len(h) if exact else 0, -len(h) if h else 0))
            if not ranks:
                continue
            host_key = min(ranks)
        age = _age(route)
        gen = _grpc_candidates if route["kind"] == "GRPCRoute" else _http_candidates
        for key, ri, mi, test in gen(route, before):
            candidates.append(((host_key,) + key + age + (ri, mi), route, ri, test))
    candidates.sort(key=lambda c: c[0])
    for _, route, ri, test in candidates:
        if test(method, path, headers, query):
            return _rule_outcome(objs, route, ri, listener, mesh, method, headers, extensions,
                                 no_host=not _host_name(request_host))
    return None


def _listener_choice(listeners, host):
    """The listener of a port for this host name: exact hostname > wildcard with more labels
    > no hostname (digest 1.5)."""
    best, best_rank = None, None
    for lis in listeners:
        h = lis.get("hostname")
        if not _covers(h, host):
            continue
        rank = (2, 0) if h is None else ((1, -h.count(".")) if h.startswith("*.") else (0, 0))
        if best_rank is None or rank < best_rank:
            best, best_rank = lis, rank
    return best


_FAMILY = {"HTTP": "http", "HTTPS": "tls", "TLS": "tls", "TCP": "tcp", "UDP": "udp"}


def _selector_ok(selector, labels):
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in selector.get("matchExpressions") or ():
        present = req["key"] in labels
        values = req.get("values") or ()
        op = req["operator"]
        if op == "In" and not (present and labels[req["key"]] in values):
            return False
        if op == "NotIn" and present and labels[req["key"]] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _listener_takes(objs, gw, lis, route):
    """Protocol, conflicts, allowedRoutes kinds and namespaces (digest 1.3)."""
    if lis.get("protocol") not in ("HTTP", "HTTPS"):
        return False
    families = {_FAMILY.get(l.get("protocol"), l.get("protocol"))
                for l in gw["spec"]["listeners"] if l["port"] == lis["port"]}
    if len(families) > 1:  # conflicted listeners are all refused
        return False
    allowed = lis.get("allowedRoutes") or {}
    kinds = allowed.get("kinds") or ()
    if kinds and not any(k.get("group", GATEWAY_GROUP) == GATEWAY_GROUP and k["kind"] == route["kind"]
                         for k in kinds):
        return False
    gw_ns = gw["metadata"].get("namespace", "default")
    rns = route["metadata"].get("namespace", "default")
    nss = allowed.get("namespaces") or {}
    frm = nss.get("from", "Same")
    if frm == "All":
        return True
    if frm == "Same":
        return rns == gw_ns
    if frm == "Selector":
        labels = {}
        for o in objs:
            if o.get("kind") == "Namespace" and o["metadata"]["name"] == rns:
                labels = dict(o["metadata"].get("labels") or {})
        labels["kubernetes.io/metadata.name"] = rns  # every namespace carries it
        return _selector_ok(nss.get("selector"), labels)
    return False


def _ref_to_listener(ref, route, gw, lis):
    rns = route["metadata"].get("namespace", "default")
    return (ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP and ref.get("kind", "Gateway") == "Gateway"
            and ref.get("namespace", rns) == gw["metadata"].get("namespace", "default")
            and ref["name"] == gw["metadata"]["name"]
            and ref.get("sectionName", lis["name"]) == lis["name"]
            and ref.get("port", lis["port"]) == lis["port"])


def _listener_routes(objs, gw, lis, routes):
    """Routes a listener takes. An HTTPRoute and a GRPCRoute whose hostnames intersect on it:
    the older is taken (creationTimestamp, then "namespace/name"), the newer left out (digest
    10; routecore's reading: routes are admitted oldest first, a left-out route excludes
    nothing)."""
    cands = []
    for r in routes:
        if not any(_ref_to_listener(p, r, gw, lis) for p in r["spec"].get("parentRefs", ())):
            continue
        if not _listener_takes(objs, gw, lis, r):
            continue
        hosts = _effective_hosts(r, lis.get("hostname"))
        if hosts:
            cands.append((r, hosts))
    if len({r["kind"] for r, _ in cands}) < 2:
        return [r for r, _ in cands]

    def meet(a, b):
        return any(x is None or y is None or _intersection(x, y) is not None for x in a for y in b)

    kept = []
    for r, hosts in sorted(cands, key=lambda rh: _age(rh[0])):
        if not any(k["kind"] != r["kind"] and meet(hosts, kh) for k, kh in kept):
            kept.append((r, hosts))
    return [r for r, _ in kept]


def reference_decide(config, parent, request, *, regex_precedence="after-prefix", normalize_path=True,
                     merge_slashes=False, extensions=(), escaped_slashes="reject"):
    """The decision the Gateway API spec gives ``request`` at ``parent``, read literally.

    config: the objects as users write them (a list of dicts: HTTPRoute, GRPCRoute, Gateway,
    Service, Namespace, ReferenceGrant; assumed valid). parent: ``{"kind": "Gateway",
    "namespace", "name", "port"}`` or ``{"kind": "Service", "namespace", "name", "port",
    "client_namespace"}``. request: ``{"method", "target", "headers" (pairs or a mapping),
    "host" (optional), "sni" (optional)}``. The keyword options are routecore's Router options
    of the same names; ``extensions`` the (group, kind) of ExtensionRef filters the gateway
    implements. Raises LookupError when the parent does not exist (no such Gateway port, or
    Service objects are given and none is this one, or it has no such port).

    Naive on purpose: every match of every rule of every route attached to the parent (the
    chosen listener's, for Gateways) gets the spec's precedence key (route hostname, path kind
    and length, method, header and query counts, age, "namespace/name", rule, match); they are
    sorted and the first whose conditions hold wins.
    """
    objs = [o for o in config if isinstance(o, dict)]
    before = regex_precedence == "before-prefix"
    extensions = frozenset(tuple(e) for e in extensions)
    parts = _request_parts(request, normalize_path, merge_slashes, escaped_slashes)
    routes = [o for o in objs if o.get("kind") in ("HTTPRoute", "GRPCRoute")]
    bad = ReferenceDecision(status=400, statuses=frozenset({400}))
    ns, name, port = parent["namespace"], parent["name"], parent["port"]
    if parent["kind"] == "Service":
        services = [o for o in objs if o.get("kind") == "Service"]
        port_name = None
        if services:
            svc = next((o for o in services if o["metadata"].get("namespace", "default") == ns
                        and o["metadata"]["name"] == name), None)
            if svc is None:
                raise LookupError(f"no Service {ns}/{name}")
            sp = next((p for p in svc["spec"].get("ports", ()) if p["port"] == port), None)
            if sp is None and svc["spec"].get("ports"):
                raise LookupError(f"Service {ns}/{name} has no port {port}")
            port_name = sp.get("name") if sp else None

        def covers(p, r):
            return (p.get("group") == "" and p.get("kind") == "Service" and p["name"] == name
                    and p.get("namespace", r["metadata"].get("namespace", "default")) == ns
                    and p.get("port", port) == port
                    and ("sectionName" not in p or p["sectionName"] == port_name))

        attached = [r for r in routes if any(covers(p, r) for p in r["spec"].get("parentRefs", ()))]
        client = parent.get("client_namespace")
        consumer = [r for r in attached if r["metadata"].get("namespace", "default") not in (ns,)
                    and r["metadata"].get("namespace", "default") == client]
        chosen = consumer or [r for r in attached if r["metadata"].get("namespace", "default") == ns]
        if any(r["kind"] == "GRPCRoute" for r in chosen):  # GEP-1294: GRPCRoute > HTTPRoute per port
            chosen = [r for r in chosen if r["kind"] == "GRPCRoute"]
        if parts[1] is None or not _host_ok(parts[4]):  # a refused path, an invalid Host: 400
            return bad
        if not chosen:  # no route for this client: the request goes to the Service itself
            return ReferenceDecision(backends=frozenset({(ns, name, port)}))
        best = _pick_best(objs, chosen, None, "", True, None, parts, before, extensions)
        return best or ReferenceDecision(status=404, statuses=frozenset({404}))
    gw = next((o for o in objs if o.get("kind") == "Gateway" and o["metadata"]["name"] == name
               and o["metadata"].get("namespace", "default") == ns), None)
    if gw is None:
        raise LookupError(f"no Gateway {ns}/{name}")
    listeners = [lis for lis in gw["spec"]["listeners"] if lis["port"] == port]
    if not listeners:
        raise LookupError(f"Gateway {ns}/{name} has no listener on port {port}")
    if parts[1] is None or not _host_ok(parts[4]):
        return bad
    host = _host_name(parts[4])
    lis = _listener_choice(listeners, host)
    if lis is None:
        return ReferenceDecision(status=404, statuses=frozenset({404}))
    sni = request.get("sni")
    if sni is not None and _listener_choice(listeners, _host_name(_text(sni))) is not lis:
        # routecore's choice: with an SNI, the SNI and the Host must select the same listener
        return ReferenceDecision(status=421, statuses=frozenset({421}))
    taken = _listener_routes(objs, gw, lis, routes)
    best = _pick_best(objs, taken, lis.get("hostname"), host, False, lis["name"], parts, before, extensions)
    return best or ReferenceDecision(listener=lis["name"], status=404, statuses=frozenset({404}))
