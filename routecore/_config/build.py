"""Model builders: turn checked and defaulted data (the output of kinds' schemas) into the attrs
models of models.py.

Invariants:
- the input passed every check (or is the kept part of a route under strict=False), so
  builders never validate and never fail on well-formed input;
- ``memo`` (one dict per load) lets equal immutable parts of routes share one object.
"""
from __future__ import annotations

from typing import Optional

from . import models as m
from .cel import FILTER_FIELD, duration_seconds


def _build_backend_ref(d: dict, ns: str, with_weight=True, memo: Optional[dict] = None) -> m.BackendRef:
    if memo is not None and with_weight and not d.get("filters"):
        # equal references (no filters) share one frozen model within a load
        key = ("BackendRef", d["group"], d["kind"], d.get("namespace") or ns, d["name"], d.get("port"),
               d["weight"])
        ref = memo.get(key)
        if ref is None:
            ref = memo[key] = _build_backend_ref(d, ns, with_weight)
        return ref
    return m.BackendRef(
        group=d["group"],
        kind=d["kind"],
        namespace=d.get("namespace") or ns,
        name=d["name"],
        port=d.get("port"),
        weight=d["weight"] if with_weight else 1,
        filters=tuple(_build_filter(f, ns) for f in d.get("filters", ())) if with_weight else (),
    )


def _build_path_modifier(d: Optional[dict]) -> Optional[m.PathModifier]:
    if d is None:
        return None
    typ = d["type"]
    return m.PathModifier(typ, d["replaceFullPath"] if typ == "ReplaceFullPath" else d["replacePrefixMatch"])


def _build_filter(f: dict, ns: str):
    typ = f["type"]
    body = f.get(FILTER_FIELD[typ])
    if typ in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        return m.HeaderModifier(
            type=typ,
            set=tuple((h["name"], h["value"]) for h in body.get("set", ())),
            add=tuple((h["name"], h["value"]) for h in body.get("add", ())),
            remove=tuple(body.get("remove", ())),
        )
    if typ == "RequestRedirect":
        return m.RequestRedirect(
            scheme=body.get("scheme"),
            hostname=body.get("hostname"),
            path=_build_path_modifier(body.get("path")),
            port=body.get("port"),
            status_code=body["statusCode"],
        )
    if typ == "URLRewrite":
        return m.URLRewrite(hostname=body.get("hostname"), path=_build_path_modifier(body.get("path")))
    if typ == "RequestMirror":
        if "fraction" in body:
            frac = body["fraction"]
            percent = 100.0 * frac["numerator"] / frac["denominator"]
        else:
            percent = float(body.get("percent", 100))
        return m.RequestMirror(backend_ref=_build_backend_ref(body["backendRef"], ns, with_weight=False),
                               percent=percent)
    if typ == "CORS":
        return m.CORS(
            allow_origins=tuple(body.get("allowOrigins", ())),
            allow_methods=tuple(body.get("allowMethods", ())),
            allow_headers=tuple(body.get("allowHeaders", ())),
            expose_headers=tuple(body.get("exposeHeaders", ())),
            allow_credentials=body.get("allowCredentials", False),
            max_age=body["maxAge"],
        )
    if typ == "ExtensionRef":
        return m.ExtensionRef(group=body["group"], kind=body["kind"], name=body["name"])
    raise AssertionError(typ)  # pragma: no cover - refused during validation


def _build_match(d: dict) -> m.RouteMatch:
    headers, seen = [], set()
    for h in d.get("headers", ()):
        name = h["name"].lower()
        if name in seen:
            continue  # only the first entry for a header name counts
        seen.add(name)
        headers.append(m.HeaderMatch(h["type"], name, h["value"]))
    return m.RouteMatch(
        path=m.PathMatch(d["path"]["type"], d["path"]["value"]),
        headers=tuple(headers),
        query_params=tuple(m.QueryParamMatch(q["type"], q["name"], q["value"]) for q in d.get("queryParams", ())),
        method=d.get("method"),
    )


def _build_session(d: dict) -> m.SessionPersistence:
    typ = d["type"]
    cookie = d.get("cookie") or {}
    idle = d.get("idleTimeout")
    absolute = d.get("absoluteTimeout")
    if typ == "Header":
        return m.SessionPersistence(
            type="Header",
            cookie_name=None,
            cookie_path=None,
            cookie_lifetime_type=None,
            header_name=(d.get("header") or {}).get("name") or d.get("sessionName"),
            absolute_timeout=duration_seconds(absolute) if absolute else None,
            idle_timeout=duration_seconds(idle) if idle else None,
        )
    lifetime = cookie.get("lifetimeType") or (d.get("cookieConfig") or {}).get("lifetimeType") or "Session"
    return m.SessionPersistence(
        type="Cookie",
        cookie_name=cookie.get("name") or d.get("sessionName"),
        cookie_path=cookie.get("path", "/"),
        cookie_lifetime_type=lifetime,
        header_name=None,
        absolute_timeout=duration_seconds(absolute) if absolute else None,
        idle_timeout=duration_seconds(idle) if idle else None,
    )


def _build_rule(r: dict, ns: str, memo: Optional[dict] = None) -> m.Rule:
    timeouts = None
    if "timeouts" in r:
        t = r["timeouts"]
        timeouts = m.Timeouts(
            request=duration_seconds(t["request"]) if "request" in t else None,
            backend_request=duration_seconds(t["backendRequest"]) if "backendRequest" in t else None,
        )
    retry = None
    if "retry" in r:
        rt = r["retry"]
        retry = m.Retry(
            codes=frozenset(rt.get("codes", ())),
            attempts=rt.get("attempts"),
            backoff=duration_seconds(rt["backoff"]) if "backoff" in rt else None,
        )
    return m.Rule(
        matches=tuple(_build_match(x) for x in r["matches"]),
        filters=tuple(_build_filter(f, ns) for f in r.get("filters", ())),
        backend_refs=_shared(memo, "backend_refs",
                             tuple(_build_backend_ref(b, ns, memo=memo) for b in r.get("backendRefs", ()))),
        name=r.get("name"),
        timeouts=timeouts,
        retry=retry,
        session_persistence=_build_session(r["sessionPersistence"]) if "sessionPersistence" in r else None,
    )


def build_parent_ref(p: dict, ns: str, memo: Optional[dict] = None) -> m.ParentRef:
    if memo is not None:  # equal references share one frozen model within a load
        key = ("ParentRef", p["group"], p["kind"], p.get("namespace") or ns, p["name"], p.get("sectionName"),
               p.get("port"))
        ref = memo.get(key)
        if ref is None:
            ref = memo[key] = build_parent_ref(p, ns)
        return ref
    return m.ParentRef(group=p["group"], kind=p["kind"], namespace=p.get("namespace") or ns,
                       name=p["name"], section_name=p.get("sectionName"), port=p.get("port"))


def _shared(memo: Optional[dict], tag: str, items: tuple) -> tuple:
    """``items``, or an equal tuple of the same objects built earlier in this load (``memo``).

    Keyed by the identity of the items: the memo holds the tuple, which keeps its items alive,
    so an id cannot be reused while the entry exists."""
    if memo is None or not items:
        return items
    return memo.setdefault((tag,) + tuple(map(id, items)), items)


def build_any_route(cls, build_rule, d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None):
    """An HTTPRoute or GRPCRoute (``cls``), leaving out the rules whose indexes are in ``drop``.

    ``memo`` (a dict kept for one load) lets equal parentRefs, backendRefs and hostname lists
    share one immutable object."""
    spec = d["spec"]
    rules = spec.get("rules", [])
    indexes = getattr(rules, "indexes", list(range(len(rules))))
    if drop:
        keep = [(i, r) for i, r in zip(indexes, rules) if i not in drop]
        indexes, rules = [i for i, _ in keep], [r for _, r in keep]
    hostnames = tuple(spec.get("hostnames", ()))
    if memo is not None and hostnames:
        hostnames = memo.setdefault(("hostnames",) + hostnames, hostnames)
    if memo is not None and build_rule is _build_rule:
        built_rules = tuple(_build_rule(r, ns, memo) for r in rules)
    else:
        built_rules = tuple(build_rule(r, ns) for r in rules)
    rule_indexes = tuple(indexes)
    if memo is not None:  # usually (0,), (0, 1)...: one tuple each
        rule_indexes = memo.setdefault(("rule_indexes",) + rule_indexes, rule_indexes)
    return cls(
        namespace=ns,
        name=name,
        parent_refs=_shared(memo, "parent_refs",
                            tuple(build_parent_ref(p, ns, memo) for p in spec.get("parentRefs", ()))),
        hostnames=hostnames,
        rules=built_rules,
        creation_timestamp=d["metadata"].get("creationTimestamp"),
        rule_indexes=rule_indexes,
    )


def build_route(d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None) -> m.HTTPRoute:
    return build_any_route(m.HTTPRoute, _build_rule, d, ns, name, drop, memo)


def _build_grpc_match(d: dict) -> m.GRPCRouteMatch:
    headers, seen = [], set()
    for h in d.get("headers", ()):
        name = h["name"].lower()
        if name in seen:
            continue  # only the first entry for a header name counts
        seen.add(name)
        headers.append(m.HeaderMatch(h["type"], name, h["value"]))
    mm = d.get("method")
    method = None if mm is None else m.GRPCMethodMatch(mm["type"], mm.get("service"), mm.get("method"))
    return m.GRPCRouteMatch(method=method, headers=tuple(headers))


def _build_grpc_rule(r: dict, ns: str) -> m.Rule:
    return m.Rule(
        # no matches: every gRPC request
        matches=tuple(_build_grpc_match(x) for x in r.get("matches", ())) or (m.GRPCRouteMatch(),),
        filters=tuple(_build_filter(f, ns) for f in r.get("filters", ())),
        backend_refs=tuple(_build_backend_ref(b, ns) for b in r.get("backendRefs", ())),
        name=r.get("name"),
        session_persistence=_build_session(r["sessionPersistence"]) if "sessionPersistence" in r else None,
    )


def build_grpc_route(d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None) -> m.GRPCRoute:
    return build_any_route(m.GRPCRoute, _build_grpc_rule, d, ns, name, drop, memo)


def _build_selector(d: Optional[dict]) -> Optional[m.LabelSelector]:
    if d is None:
        return None
    return m.LabelSelector(
        match_labels=tuple(sorted(d.get("matchLabels", {}).items())),
        match_expressions=tuple(
            m.LabelSelectorRequirement(e["key"], e["operator"], tuple(e.get("values", ())))
            for e in d.get("matchExpressions", ())
        ),
    )


def build_gateway(d: dict, ns: str, name: str) -> m.Gateway:
    spec = d["spec"]
    listeners = []
    for li in spec["listeners"]:
        allowed = li["allowedRoutes"]
        nss = allowed.get("namespaces") or {"from": "Same"}
        listeners.append(
            m.Listener(
                name=li["name"],
                port=li["port"],
                protocol=li["protocol"],
                hostname=li.get("hostname"),
                allowed_from=nss.get("from", "Same"),
                selector=_build_selector(nss.get("selector")),
                allowed_kinds=tuple(m.RouteGroupKind(k["group"], k["kind"]) for k in allowed.get("kinds", ())),
            )
        )
    return m.Gateway(namespace=ns, name=name, gateway_class=spec["gatewayClassName"], listeners=tuple(listeners))


def build_grant(d: dict, ns: str, name: str) -> m.ReferenceGrant:
    spec = d["spec"]
    return m.ReferenceGrant(
        namespace=ns,
        name=name,
        from_=tuple(m.ReferenceGrantFrom(f["group"], f["kind"], f["namespace"]) for f in spec["from"]),
        to=tuple(m.ReferenceGrantTo(t["group"], t["kind"], t.get("name")) for t in spec["to"]),
    )


def build_service(d: dict, ns: str, name: str) -> m.Service:
    spec = d.get("spec") or {}
    return m.Service(
        namespace=ns,
        name=name,
        ports=tuple(
            m.ServicePort(port=p["port"], name=p.get("name"), protocol=p["protocol"], app_protocol=p.get("appProtocol"))
            for p in spec.get("ports", ())
        ),
        type=spec.get("type", "ClusterIP"),
    )
