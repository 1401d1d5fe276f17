"""Strategies for valid Gateway API objects: routes, Gateways, Services, Namespaces, ReferenceGrants,
whole configs and their entry points (``parents``).

Invariant: every object drawn here is valid (``routecore.load`` reports no issue for it) unless a
knob asks for one field off (``configs(..., broken=...)``), and alphabets stay small so that
generated objects collide.
"""
from __future__ import annotations

from hypothesis import strategies as st

from ._draws import BOOLS, ints, one_of_values, pick_from, unique


GATEWAY_GROUP = "gateway.networking.k8s.io"

# --- alphabets -----------------------------------------------------------------------------------

NAMESPACES = ("default", "team", "team-x")
ROUTE_NAMES = ("r", "s")
BACKENDS = ("b1", "b2", "b3")
PATH_VALUES = ("/", "/a", "/a/b", "/ab", "/a/", "/b", "/a/b/", "/a/bc")
# regexes every engine reads the same way
SAFE_REGEXES = ("/a/.*", "/[ab]+", "/a/b", "/a.*", "/(a|b)/b", ".*", "/a/b/?", "/b|/a/b")
# valid RE2 whose literal parts are not plain text: counted repeats, escapes, inline flags
TRICKY_REGEXES = ("/[ab]{1,2}", "/\\x61/b", "/(?i)a/B", "/a{0,10}", "/\\141b?", "/\\pL/b")
REGEXES = SAFE_REGEXES + TRICKY_REGEXES
HEADER_NAMES = ("x-a", "X-A", "x-b")
HEADER_VALUES = ("1", "2", "1,2")
HEADER_REGEXES = ("1|2", "[0-9]+", "1,.*", "2")
QUERY_NAMES = ("q", "Q", "r")
QUERY_VALUES = ("1", "2")
QUERY_REGEXES = ("[12]", "1.*")
ROUTE_HOSTNAMES = ("a.example.com", "*.example.com", "b.a.example.com")
GW_ROUTE_HOSTNAMES = ("a.example.com", "*.example.com", "b.a.example.com", "*.a.example.com",
                      "x.example.com", "other.org")
LISTENER_HOSTNAMES = (None, "*.example.com", "a.example.com")
LISTENER_HOSTNAMES_FULL = (None, "*.example.com", "a.example.com", "*.a.example.com")
TIMESTAMPS = ("2024-01-01T00:00:00Z", "2023-06-01T12:00:00Z", "2024-01-01T01:00:00+02:00",
              "2024-01-01t00:00:00z")
GRPC_SERVICES = ("a.B", "a", "a.Bc", "A.B")
GRPC_METHODS = ("C", "Cd", "c")
GRPC_SERVICE_REGEXES = ("a\\..*", "a|A\\.B", ".*", "(?i)a\\.b")
GRPC_METHOD_REGEXES = ("C.*", "c|C", "[A-Z]d")
NS_LABELS = ({}, {"env": "prod"}, {"env": "dev"}, {"env": "prod", "tier": "edge"})
SELECTORS = (
    {"matchLabels": {"env": "prod"}},
    {"matchLabels": {"kubernetes.io/metadata.name": "team"}},
    {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]},
    {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
    {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
    {"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]},
    {"matchLabels": {"env": "prod"},
     "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                           "values": ["team", "team-x"]}]},
    {},  # the empty selector selects every namespace
)
ROUTE_KINDS = ([{"kind": "HTTPRoute"}], [{"kind": "GRPCRoute"}],
               [{"group": GATEWAY_GROUP, "kind": "HTTPRoute"}, {"kind": "GRPCRoute"}])
# a listener whose protocol conflicts with the others on its port (all of them are refused)
CONFLICTING_LISTENERS = ((80, "HTTPS", None), (80, "HTTPS", "a.example.com"), (80, "TCP", None),
                         (443, "HTTP", "*.a.example.com"))
API_VERSIONS = (f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1beta1")
GRPC_API_VERSIONS = (f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1alpha2")

MATCH_KINDS = ("Exact", "PathPrefix", "RegularExpression", "headers", "queryParams", "method")
FILTER_KINDS = ("RequestRedirect", "URLRewrite", "RequestHeaderModifier", "RequestMirror",
                "ResponseHeaderModifier", "CORS")

# --- rules ---------------------------------------------------------------------------------------


def _header_modifier(draw):
    mod = {}
    names = iter(draw(st.permutations(["x-a", "X-Set", "x-new", "x-b"])))
    if draw(BOOLS):
        mod["set"] = [{"name": next(names), "value": "s"}]
    if draw(BOOLS):
        mod["add"] = [{"name": next(names), "value": "t"}]
    if draw(BOOLS):
        mod["remove"] = [next(names)]
    return mod or {"set": [{"name": "x-set", "value": "v"}]}


def _mirror_filters(draw, cross_namespace=True):
    out = []
    for _ in range(draw(ints(1, 2))):
        ref = {"name": draw(pick_from(BACKENDS)), "port": 80}
        if cross_namespace and draw(BOOLS):
            ref["namespace"] = draw(pick_from(NAMESPACES))
        body = {"backendRef": ref}
        share = draw(ints(0, 3))
        if share == 1:
            body["percent"] = draw(pick_from([0, 50, 100]))
        elif share == 2:
            body["fraction"] = {"numerator": 1, "denominator": draw(pick_from([2, 100]))}
        out.append({"type": "RequestMirror", "requestMirror": body})
    return out


class _Knobs:
    """What generated rules may contain (see ``httproutes``)."""

    def __init__(self, *, max_rules=4, min_rules=1, max_matches=3, match_kinds=MATCH_KINDS,
                 filter_kinds=FILTER_KINDS[:4], regexes=True, cross_namespace=False,
                 weights=True, simple=False, rich=False, gateway=False):
        self.max_rules, self.min_rules, self.max_matches = max_rules, min_rules, max_matches
        self.match_kinds = frozenset(match_kinds)
        if not regexes:
            self.match_kinds -= {"RegularExpression"}
        self.regexes = regexes
        self.filter_kinds = frozenset(filter_kinds)
        self.cross_namespace, self.weights = cross_namespace, weights
        self.simple, self.rich, self.gateway = simple, rich, gateway
        path_kinds = [k for k in ("Exact", "PathPrefix", "RegularExpression") if k in self.match_kinds]
        self.path_kinds = tuple(path_kinds) + (None,)
        self.match = st.composite(self._match)()
        self.rule = st.composite(self._rule)()
        self.rules = st.lists(self.rule, min_size=min_rules, max_size=max_rules)
        self.grpc_match = st.composite(self._grpc_match)()
        self.grpc_rule = st.composite(self._grpc_rule)()
        self.grpc_rules = st.lists(self.grpc_rule, max_size=max_rules)

    def _path(self, draw):
        kind = draw(pick_from(self.path_kinds))
        if kind is None:
            return None  # the default: PathPrefix "/"
        value = draw(pick_from(REGEXES if kind == "RegularExpression" else PATH_VALUES))
        if kind == "PathPrefix" and draw(BOOLS):
            return {"value": value}  # type defaults to PathPrefix
        return {"type": kind, "value": value}

    def _headers(self, draw):
        out = []
        for name in draw(unique(HEADER_NAMES, key=str.lower)):
            if self.regexes and draw(ints(0, 3)) == 0:
                out.append({"type": "RegularExpression", "name": name, "value": draw(pick_from(HEADER_REGEXES))})
            else:
                h = {"name": name, "value": draw(pick_from(HEADER_VALUES))}
                if draw(BOOLS):
                    h["type"] = "Exact"
                out.append(h)
        return out

    def _queries(self, draw):
        out = []
        for name in draw(unique(QUERY_NAMES)):
            if self.regexes and draw(ints(0, 3)) == 0:
                out.append({"type": "RegularExpression", "name": name, "value": draw(pick_from(QUERY_REGEXES))})
            else:
                out.append({"name": name, "value": draw(pick_from(QUERY_VALUES))})
        return out

    def _match(self, draw):
        m = {}
        p = self._path(draw)
        if p is not None:
            m["path"] = p
        if "headers" in self.match_kinds and draw(ints(0, 2)) == 0:
            hs = self._headers(draw)
            if hs:
                m["headers"] = hs
        if "queryParams" in self.match_kinds and draw(ints(0, 3)) == 0:
            qs = self._queries(draw)
            if qs:
                m["queryParams"] = qs
        if "method" in self.match_kinds:
            method = draw(pick_from([None, None, "GET", "POST"]))
            if method:
                m["method"] = method
        return m

    def _path_modifier(self, draw, one_prefix, full):
        ptype = draw(pick_from([None, "ReplaceFullPath"] + (["ReplacePrefixMatch"] if one_prefix else [])))
        if ptype == "ReplaceFullPath":
            return {"type": ptype, "replaceFullPath": draw(pick_from(full))}
        if ptype == "ReplacePrefixMatch":
            return {"type": ptype, "replacePrefixMatch": draw(pick_from(["/", "/x", "/x/"]))}
        return None

    def _rule(self, draw):
        matches = [draw(self.match) for _ in range(draw(ints(0, self.max_matches)))]
        rule = {}
        if matches:
            rule["matches"] = matches
        elif draw(BOOLS):
            rule["matches"] = [{"path": {"type": "PathPrefix", "value": "/"}}]
        if self.simple:  # one backendRef, no filters
            ref = {"name": draw(pick_from(BACKENDS)), "port": 80}
            if self.weights and draw(BOOLS):
                ref["weight"] = draw(ints(1, 3))
            rule["backendRefs"] = [ref]
            return rule
        ms = rule.get("matches", [{}])
        one_prefix = len(ms) == 1 and ms[0].get("path", {}).get("type", "PathPrefix") == "PathPrefix"
        fk = self.filter_kinds
        filters = []
        redirect = "RequestRedirect" in fk and draw(ints(0, 5)) == 0
        if redirect:
            rr = {}
            if draw(BOOLS):
                rr["scheme"] = draw(pick_from(["http", "https"]))
            if draw(BOOLS):
                rr["hostname"] = draw(pick_from(["r.example.com", "a.example.com"]))
            if draw(BOOLS):
                rr["port"] = draw(pick_from([80, 443, 8080]))
            if draw(BOOLS):
                rr["statusCode"] = draw(pick_from([301, 302]))
            path = self._path_modifier(draw, one_prefix, ["/x", "/x/"])
            if path:
                rr["path"] = path
            filters.append({"type": "RequestRedirect", "requestRedirect": rr})
        elif "URLRewrite" in fk and draw(ints(0, 3)) == 0:
            rw = {}
            if draw(BOOLS):
                rw["hostname"] = "rw.example.com"
            path = self._path_modifier(draw, one_prefix, ["/x", "/"])
            if path:
                rw["path"] = path
            filters.append({"type": "URLRewrite", "urlRewrite": rw})
        if "RequestHeaderModifier" in fk and draw(ints(0, 3)) == 0:
            filters.append({"type": "RequestHeaderModifier", "requestHeaderModifier": _header_modifier(draw)})
        if "ResponseHeaderModifier" in fk and draw(ints(0, 5)) == 0:
            filters.append({"type": "ResponseHeaderModifier", "responseHeaderModifier": _header_modifier(draw)})
        if "CORS" in fk and draw(ints(0, 5)) == 0:
            filters.append({"type": "CORS", "cors": {
                "allowOrigins": [draw(pick_from(["*", "https://a.example.com"]))],
                "allowMethods": ["GET", "POST"], "allowCredentials": draw(BOOLS)}})
        if "RequestMirror" in fk and self.rich and draw(ints(0, 2)) == 0:
            filters.extend(_mirror_filters(draw, self.cross_namespace))
        if filters:
            rule["filters"] = filters
        if not redirect:
            refs = []
            for _ in range(draw(ints(0, 3))):
                ref = {"name": draw(pick_from(BACKENDS)), "port": draw(pick_from([80, 8080]))}
                w = draw(pick_from([None, 0, 1, 2, 3])) if self.weights else None
                if w is not None:
                    ref["weight"] = w
                if self.rich and self.cross_namespace and draw(BOOLS):
                    ref["namespace"] = draw(pick_from(NAMESPACES))  # maybe granted, maybe not
                elif self.gateway and self.cross_namespace and draw(ints(0, 5)) == 0:
                    ref["namespace"] = draw(pick_from(NAMESPACES))  # maybe RefNotPermitted
                if "RequestHeaderModifier" in fk and draw(ints(0, 5)) == 0:
                    ref["filters"] = [{"type": "RequestHeaderModifier",
                                       "requestHeaderModifier": _header_modifier(draw)}]
                refs.append(ref)
            if refs:
                rule["backendRefs"] = refs
        return rule

    def _grpc_match(self, draw):
        match = {}
        kind = draw(ints(0, 4 if self.regexes else 3))  # none, service+method, service, method, regex
        if kind == 4:
            mm = {"type": "RegularExpression"}
            if draw(BOOLS):
                mm["service"] = draw(pick_from(GRPC_SERVICE_REGEXES))
            if "service" not in mm or draw(BOOLS):
                mm["method"] = draw(pick_from(GRPC_METHOD_REGEXES))
            match["method"] = mm
        elif kind:
            mm = {"type": "Exact"} if draw(BOOLS) else {}
            if kind in (1, 2):
                mm["service"] = draw(pick_from(GRPC_SERVICES))
            if kind in (1, 3):
                mm["method"] = draw(pick_from(GRPC_METHODS))
            match["method"] = mm
        if "headers" in self.match_kinds and draw(ints(0, 2)) == 0:
            hs = self._headers(draw)
            if hs:
                match["headers"] = hs
        return match

    def _grpc_rule(self, draw):
        rule = {}
        matches = [draw(self.grpc_match) for _ in range(draw(ints(0, self.max_matches)))]
        if matches:
            rule["matches"] = matches
        if "RequestHeaderModifier" in self.filter_kinds and draw(ints(0, 3)) == 0:
            rule["filters"] = [{"type": "RequestHeaderModifier", "requestHeaderModifier": _header_modifier(draw)}]
        refs = []
        for _ in range(draw(ints(0, 3))):
            ref = {"name": draw(pick_from(BACKENDS)), "port": 80}
            w = draw(pick_from([None, 0, 1, 2])) if self.weights else None
            if w is not None:
                ref["weight"] = w
            if self.rich and self.cross_namespace and draw(BOOLS):
                ref["namespace"] = draw(pick_from(NAMESPACES))
            refs.append(ref)
        if "RequestMirror" in self.filter_kinds and self.rich and draw(ints(0, 3)) == 0:
            rule.setdefault("filters", []).extend(_mirror_filters(draw, self.cross_namespace))
        if refs:
            rule["backendRefs"] = refs
        return rule


# --- parentRefs ----------------------------------------------------------------------------------


def _simple_mesh_parent(draw, service):
    ns, name, port = service
    ref = {"group": "", "kind": "Service", "name": name, "port": port}
    choice = draw(ints(0, 9))
    if choice < 4:
        ref["namespace"] = ns  # from another namespace: a consumer route
    elif choice == 4:
        ref["port"] = 8080 if port != 8080 else 80  # attached to another port of the Service
    elif choice == 5:
        del ref["port"]
    return [ref]


def _full_mesh_parents(draw, route_ns, service):
    ns, name, _ = service

    def ref():
        r = {"group": "", "kind": "Service", "name": name}
        if route_ns != ns or draw(BOOLS):
            r["namespace"] = ns
        return r

    shape = draw(ints(0, 7))
    if shape <= 4:
        r = ref()
        what = draw(ints(0, 5))
        if what in (0, 1):
            r["port"] = draw(pick_from([80, 8080, 9090]))
        elif what == 2:
            r["sectionName"] = draw(pick_from(["http", "alt", "nope"]))
        elif what == 3:
            r.update(port=draw(pick_from([80, 8080])), sectionName=draw(pick_from(["http", "alt"])))
        return [r]  # else: the whole Service
    if shape == 5:  # two ports of the Service, by sectionName
        return [dict(ref(), sectionName="http"), dict(ref(), sectionName=draw(pick_from(["alt", "nope"])))]
    if shape == 6:  # two ports of the Service, by port
        return [dict(ref(), port=80), dict(ref(), port=8080)]
    return [ref(), {"group": "", "kind": "Service", "name": "other", "namespace": ns}]


def _simple_gateway_parent(draw, gateway, listener_names):
    ns, name = gateway
    ref = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": name, "namespace": ns}
    if listener_names and draw(ints(0, 3)) == 0:
        ref["sectionName"] = draw(pick_from(listener_names))
    if draw(ints(0, 9)) == 0:
        ref["port"] = 80
    return [ref]


def _full_gateway_parents(draw, route_ns, gateway, listener_names, service):
    gw_ns, gw_name = gateway

    def ref(name=gw_name):
        r = {"name": name}
        if route_ns != gw_ns or draw(BOOLS):
            r["namespace"] = gw_ns
        if draw(BOOLS):
            r.update(group=GATEWAY_GROUP, kind="Gateway")
        return r

    names = list(listener_names) or ["l0"]
    sections = names + ["nope"]
    shape = draw(ints(0, 9))
    if shape <= 5:  # one ref, maybe narrowed by sectionName and/or port
        r = ref()
        if draw(ints(0, 2)) == 0:
            r["sectionName"] = draw(pick_from(names if draw(ints(0, 5)) else ["nope"]))
        if draw(ints(0, 4)) == 0:
            r["port"] = draw(pick_from([80, 443, 8080]))
        return [r]
    if shape <= 7:  # two refs to the same Gateway: distinct sectionNames (and maybe ports)
        a, b = draw(st.lists(pick_from(sections), min_size=2, max_size=2, unique=True))
        refs = [dict(ref(), sectionName=a), dict(ref(), sectionName=b)]
        if shape == 7:
            for r in refs:
                r["port"] = draw(pick_from([80, 443]))
        return refs
    if shape == 8:  # another Gateway, which does not exist, and maybe this one
        return [ref("other")] + ([ref()] if draw(BOOLS) else [])
    return [ref(), {"group": "", "kind": "Service", "name": service[1], "namespace": service[0],
                    "port": service[2]}]


# --- routes --------------------------------------------------------------------------------------


def _meta(draw, ns, name, timestamps):
    meta = {"name": name, "namespace": ns}
    if timestamps and draw(BOOLS):
        meta["creationTimestamp"] = draw(pick_from(TIMESTAMPS))
    return meta


def _route(draw, knobs, kind, ns, name, *, parent, shape, hostnames, timestamps, gateway, service,
           listener_names):
    spec = {}
    if parent == "gateway":
        if shape == "full":
            spec["parentRefs"] = _full_gateway_parents(draw, ns, gateway, listener_names, service)
        else:
            spec["parentRefs"] = _simple_gateway_parent(draw, gateway, listener_names)
        if hostnames:
            pool = GW_ROUTE_HOSTNAMES if shape == "full" else ROUTE_HOSTNAMES
            hosts = draw(unique(pool)) if shape != "full" or draw(BOOLS) or kind == "GRPCRoute" else None
            if hosts:
                spec["hostnames"] = hosts
    else:
        spec["parentRefs"] = (_full_mesh_parents(draw, ns, service) if shape == "full"
                              else _simple_mesh_parent(draw, service))
    if kind == "GRPCRoute":
        rules = draw(knobs.grpc_rules)
        if rules or draw(BOOLS):
            spec["rules"] = rules
        api = draw(pick_from(GRPC_API_VERSIONS))
    else:
        spec["rules"] = draw(knobs.rules)
        api = draw(pick_from(API_VERSIONS))
    return {"apiVersion": api, "kind": kind, "metadata": _meta(draw, ns, name, timestamps), "spec": spec}


def httproutes(*, parent="mesh", namespaces=NAMESPACES, names=ROUTE_NAMES, min_rules=1, max_rules=4,
               max_matches=3, match_kinds=MATCH_KINDS, filter_kinds=FILTER_KINDS[:4], regexes=True,
               hostnames=True, cross_namespace=True, weights=True, timestamps=True,
               gateway=("default", "gw"), service=("default", "svc", 80), listener_names=("l0",)):
    """Valid HTTPRoute objects (dicts) that ``routecore.load`` accepts.

    parent: ``"mesh"`` (a parentRef to Service ``service`` = (namespace, name, port), from its
    namespace or as a consumer route) or ``"gateway"`` (a parentRef to Gateway ``gateway`` =
    (namespace, name), maybe narrowed to one of ``listener_names`` or a port).
    min_rules/max_rules, max_matches (per rule); match_kinds: any of "Exact", "PathPrefix",
    "RegularExpression", "headers", "queryParams", "method"; filter_kinds: any of
    "RequestRedirect", "URLRewrite", "RequestHeaderModifier", "RequestMirror",
    "ResponseHeaderModifier", "CORS"; regexes=False leaves out every RegularExpression match;
    hostnames (gateway parents): draw ``spec.hostnames``; cross_namespace: backendRefs in other
    namespaces; weights: draw backendRef weights (0 included); timestamps: draw
    ``metadata.creationTimestamp``.
    """
    knobs = _Knobs(max_rules=max_rules, min_rules=min_rules, max_matches=max_matches,
                   match_kinds=match_kinds, filter_kinds=filter_kinds, regexes=regexes,
                   cross_namespace=cross_namespace, weights=weights, rich=cross_namespace,
                   gateway=parent == "gateway")
    return _simple_routes("HTTPRoute", knobs, namespaces, names, parent=parent, hostnames=hostnames,
                          timestamps=timestamps, gateway=gateway, service=service,
                          listener_names=listener_names)


def grpcroutes(*, parent="mesh", namespaces=NAMESPACES, names=ROUTE_NAMES, max_rules=3, max_matches=3,
               regexes=True, hostnames=True, cross_namespace=True, weights=True, timestamps=True,
               gateway=("default", "gw"), service=("default", "svc", 80), listener_names=("l0",)):
    """Valid GRPCRoute objects (dicts): method matches (Exact service and/or method,
    RegularExpression unless ``regexes=False``), header matches, weighted backendRefs; other
    knobs as ``httproutes``."""
    knobs = _Knobs(max_rules=max_rules, max_matches=max_matches, regexes=regexes,
                   cross_namespace=cross_namespace, weights=weights, rich=cross_namespace,
                   gateway=parent == "gateway")
    return _simple_routes("GRPCRoute", knobs, namespaces, names, parent=parent, hostnames=hostnames,
                          timestamps=timestamps, gateway=gateway, service=service,
                          listener_names=listener_names)


def _simple_routes(kind, knobs, namespaces, names, **shape):
    """A strategy of valid ``kind`` routes named from ``namespaces`` x ``names``, drawn by
    ``_route`` with ``knobs`` (httproutes and grpcroutes)."""
    keys = pick_from([(ns, n) for ns in namespaces for n in names])

    @st.composite
    def one(draw):
        ns, name = draw(keys)
        return _route(draw, knobs, kind, ns, name, shape="simple", **shape)

    return one()


# --- Gateways, Services, Namespaces, ReferenceGrants ---------------------------------------------


def _allowed_routes(draw):
    choice = draw(ints(0, 9))  # small values are the likeliest: make them the happy path
    if choice == 5:
        return None  # the default: from Same
    if choice == 6:
        return {"namespaces": {"from": "Same"}}
    if choice <= 4:
        allowed = {"namespaces": {"from": "All"}}
    else:
        allowed = {"namespaces": {"from": "Selector", "selector": one_of_values(draw, SELECTORS)}}
    if draw(ints(0, 5)) == 0:
        allowed["kinds"] = one_of_values(draw, ROUTE_KINDS)
    return allowed


def _gateway(draw, gateway, shape):
    ns, name = gateway
    if shape == "simple":
        hosts = draw(unique(LISTENER_HOSTNAMES, min_size=1, max_size=3))
        listeners = []
        for i, h in enumerate(hosts):
            lis = {"name": f"l{i}", "port": 80, "protocol": "HTTP",
                   "allowedRoutes": {"namespaces": {"from": "All"}}}
            if h is not None:
                lis["hostname"] = h
            listeners.append(lis)
        api = f"{GATEWAY_GROUP}/v1"
    else:
        pool = [(80, "HTTP", h) for h in draw(unique(LISTENER_HOSTNAMES_FULL, max_size=4))]
        pool += [(443, "HTTPS", h) for h in draw(unique(LISTENER_HOSTNAMES_FULL, max_size=4))]
        if not pool or draw(ints(0, 7)) == 0:
            pool.append(draw(pick_from(CONFLICTING_LISTENERS)))
        listeners = []
        for i, (port, proto, host) in enumerate(pool):
            lis = {"name": f"l{i}", "port": port, "protocol": proto}
            if host is not None:
                lis["hostname"] = host
            if proto == "HTTPS" and draw(BOOLS):
                lis["tls"] = {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}
            allowed = _allowed_routes(draw)
            if allowed is not None:
                lis["allowedRoutes"] = allowed
            listeners.append(lis)
        api = draw(pick_from(API_VERSIONS))
    return {"apiVersion": api, "kind": "Gateway", "metadata": {"name": name, "namespace": ns},
            "spec": {"gatewayClassName": "gc", "listeners": listeners}}


def gateways(*, namespace="default", name="gw", shape="full"):
    """Valid Gateway objects. shape "full": listeners on ports 80 (HTTP) and 443 (HTTPS, maybe
    with tls) with hostnames None / "*.example.com" / "a.example.com" / "*.a.example.com",
    allowedRoutes Same/All/Selector and kinds, and now and then a listener whose protocol
    conflicts with its port's others; "simple": 1-3 HTTP listeners on port 80 allowing All."""
    return st.composite(lambda draw: _gateway(draw, (namespace, name), shape))()


def _namespaces(draw):
    out = []
    for ns in NAMESPACES:
        if draw(BOOLS):
            meta = {"name": ns}
            labels = one_of_values(draw, NS_LABELS)
            if labels:
                meta["labels"] = labels
            out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    return out


def _services(draw, service, *, mesh_ports):
    """[] (no Service objects: every backend resolves) or the Service objects: the mesh Service
    (ports named "http" 80 and, when port names are drawn, "alt" 8080) and about 3/4 of the
    backends b1..b3 in each namespace."""
    if draw(BOOLS):
        return []
    ports = [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 8080}]
    if mesh_ports and draw(ints(0, 2)):
        ports[1]["name"] = "alt"
    out = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": service[1], "namespace": service[0]},
            "spec": {"ports": ports}}]
    for ns in NAMESPACES:
        for b in BACKENDS:
            if draw(ints(0, 3)):
                out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": b, "namespace": ns},
                            "spec": {"ports": [{"port": 80}, {"port": 8080}]}})
    return out


def _cross_refs(routes):
    """(route kind, route namespace, target namespace, target name) of every backendRef and
    mirror target that leaves its route's namespace."""
    out = []
    for r in routes:
        ns = r["metadata"]["namespace"]
        for rule in r["spec"].get("rules", ()):
            refs = list(rule.get("backendRefs", ()))
            refs += [f["requestMirror"]["backendRef"] for f in rule.get("filters", ())
                     if f["type"] == "RequestMirror"]
            for ref in list(refs):
                refs += [f["requestMirror"]["backendRef"] for f in ref.get("filters", ())
                         if f["type"] == "RequestMirror"]
            for ref in refs:
                if ref.get("namespace", ns) != ns:
                    out.append((r["kind"], ns, ref["namespace"], ref["name"]))
    return out


def _reference_grants(draw, routes):
    """Grants for some cross-namespace references: right, or with one field off."""
    refs = _cross_refs(routes)
    grants = []
    for i in range(draw(ints(0, 4))):
        if refs and draw(ints(0, 4)):
            kind, from_ns, to_ns, to_name = draw(pick_from(refs))
        else:
            kind, from_ns, to_ns, to_name = (draw(pick_from(["HTTPRoute", "GRPCRoute"])), draw(pick_from(NAMESPACES)),
                                             draw(pick_from(NAMESPACES)), draw(pick_from(BACKENDS)))
        frm = {"group": GATEWAY_GROUP, "kind": kind, "namespace": from_ns}
        to = {"group": "", "kind": "Service", "name": to_name}
        if draw(BOOLS):
            del to["name"]  # every Service of the namespace
        miss = draw(ints(0, 15))
        if miss == 1:
            to_ns = draw(pick_from([n for n in NAMESPACES if n != to_ns]))  # grant in the wrong namespace
        elif miss == 2:
            frm["group"] = draw(pick_from(["gateway.networking.x-k8s.io", ""]))
        elif miss == 3:
            frm["kind"] = draw(pick_from(["Gateway", "GRPCRoute" if kind == "HTTPRoute" else "HTTPRoute"]))
        elif miss == 4:
            frm["namespace"] = draw(pick_from([n for n in NAMESPACES if n != from_ns]))
        elif miss == 5:
            to["kind"] = draw(pick_from(["Secret", "service"]))
        elif miss == 6:
            to["name"] = draw(pick_from([b for b in BACKENDS if b != to_name]))  # another Service
        elif miss == 7:
            to["group"] = "core"
        spec = {"from": [frm], "to": [to]}
        if draw(ints(0, 3)) == 0:  # entries are ORed: a wrong one next to the others
            spec["from"].append({"group": GATEWAY_GROUP, "kind": "HTTPRoute",
                                 "namespace": draw(pick_from(NAMESPACES))})
        if draw(ints(0, 3)) == 0:
            spec["to"].insert(0, {"group": "", "kind": "Service", "name": draw(pick_from(BACKENDS))})
        grants.append({"apiVersion": draw(pick_from(API_VERSIONS)), "kind": "ReferenceGrant",
                       "metadata": {"name": f"g{i}", "namespace": to_ns}, "spec": spec})
    return grants


_KNOBS: dict = {}


def _knobs(**kw):
    key = tuple(sorted(kw.items()))
    if key not in _KNOBS:
        _KNOBS[key] = _Knobs(**kw)
    return _KNOBS[key]


def configs(*, parent="gateway", shape="full", grpc=True, grants=True, services=True, namespaces=True,
            min_routes=1, max_routes=6, simple_rules=False, regexes=True, hostnames=True,
            gateway=("default", "gw"), service=("default", "svc", 80)):
    """Consistent configurations: a list of object dicts that ``routecore.load`` accepts.

    parent "gateway": the Gateway ``gateway`` (``gateways(shape=shape)``) and routes attached to
    it (shape "full": parentRefs with sectionName/port, some to nothing, route hostnames, backends
    and mirror targets in other namespaces); parent "mesh": routes attached to Service
    ``service`` (shape "full": by port, by port name, whole Service, consumer routes from other
    namespaces). ``min_routes``..``max_routes`` routes named r/s in default/team/team-x.
    grpc: some routes are GRPCRoutes (``"only"``: all of them, mesh); grants: ReferenceGrants
    for some cross-namespace references, right or with one field off; services: Service
    objects half of the time (then a missing backend is BackendNotFound); namespaces: Namespace
    objects with labels for allowedRoutes selectors; simple_rules: one backendRef per rule, no
    filters, no weights of 0 (the routes ``reference_decide`` tells everything about).
    """
    gw = parent == "gateway"
    full = shape == "full"
    knobs = _knobs(simple=simple_rules, rich=full, gateway=gw, cross_namespace=gw or full,
                   regexes=regexes, max_rules=3 if full else 4,
                   filter_kinds=FILTER_KINDS[:4])
    keys = unique([(ns, n) for ns in NAMESPACES for n in ROUTE_NAMES], min_size=min_routes,
                   max_size=max_routes)

    @st.composite
    def build(draw):
        objs = []
        names = ()
        if gw:
            g = _gateway(draw, gateway, shape)
            names = tuple(lis["name"] for lis in g["spec"]["listeners"])
            objs.append(g)
        with_grpc = grpc == "only" or (grpc and (draw(ints(0, 3)) == 0 if gw else True))
        routes = []
        for ns, name in draw(keys):
            if grpc == "only":
                kind = "GRPCRoute"
            elif with_grpc and full:
                kind = "GRPCRoute" if draw(ints(0, 2 if gw else 5)) == 0 else "HTTPRoute"
            else:
                kind = "HTTPRoute"
            routes.append(_route(draw, knobs, kind, ns, name, parent=parent, shape=shape,
                                 hostnames=hostnames and gw, timestamps=True, gateway=gateway,
                                 service=service, listener_names=names))
        if grpc == "only" and draw(BOOLS):  # HTTPRoutes the GRPCRoutes take the port from
            for ns, name in draw(keys):  # the names of GRPCRoutes are fine: another kind
                routes.append(_route(draw, knobs, "HTTPRoute", ns, name, parent=parent, shape=shape,
                                     hostnames=False, timestamps=True, gateway=gateway,
                                     service=service, listener_names=names))
        objs += routes
        if grants and (gw or draw(ints(0, 3)) == 0):  # grants change nothing for mesh backends
            objs += _reference_grants(draw, routes)
        if namespaces:
            objs += _namespaces(draw)
        if services:
            objs += _services(draw, service, mesh_ports=not gw)
        return objs

    return build()


def parents(config, *, client_namespaces=(None,) + NAMESPACES):
    """The entry points of ``config`` (a list of object dicts), as ``reference_decide``'s
    ``parent``: every port of every Gateway, and every mesh Service some route attaches to on
    ports 80 and 8080 (or its Service object's ports) for each client namespace."""
    out = []
    services = {(o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
                for o in config if o.get("kind") == "Service"}
    for o in config:
        if o.get("kind") == "Gateway":
            for port in sorted({lis["port"] for lis in o["spec"]["listeners"]}):
                out.append({"kind": "Gateway", "namespace": o["metadata"].get("namespace", "default"),
                            "name": o["metadata"]["name"], "port": port})
    seen = set()
    for o in config:
        if o.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            continue
        rns = o["metadata"].get("namespace", "default")
        for p in o["spec"].get("parentRefs", ()):
            if p.get("group") == "" and p.get("kind") == "Service":
                key = (p.get("namespace", rns), p["name"])
                if key in seen or (services and key not in services):
                    continue
                seen.add(key)
                svc = services.get(key)
                ports = sorted({sp["port"] for sp in svc["spec"].get("ports", ())}) if svc else [80, 8080]
                for port in ports or [80]:
                    for client in client_namespaces:
                        out.append({"kind": "Service", "namespace": key[0], "name": key[1], "port": port,
                                    "client_namespace": client})
    return out
