"""The reference decision for TLS, TCP and UDP connections: ``reference_decide_stream`` reads the
spec (gateway-api-semantics-kinds.md §1-§3, with routecore's documented choices) literally over
plain dicts and uses no routecore internals.

Invariant: nothing from routecore but the alphabet constant GATEWAY_GROUP; the answer is a
``ReferenceDecision`` (route, rule, listener, status, admitted backends and statuses) and the TLS
mode the decision must carry.
"""
from __future__ import annotations

import datetime as _dt
from typing import Optional, Tuple

from ._objects import GATEWAY_GROUP
from ._oracle import ReferenceDecision

_KINDS = {"HTTP": ("HTTPRoute", "GRPCRoute"), "HTTPS": ("HTTPRoute", "GRPCRoute"), "TLS": ("TLSRoute",),
          "TCP": ("TCPRoute",), "UDP": ("UDPRoute",)}


def _ns(obj):
    return obj["metadata"].get("namespace", "default")


def _age(route):
    ts = route["metadata"].get("creationTimestamp")
    when = (1, 0.0) if ts is None else (0, _dt.datetime.fromisoformat(ts.upper().replace("Z", "+00:00")).timestamp())
    return when, f"{_ns(route)}/{route['metadata']['name']}"


def _covers(pattern: Optional[str], host: str) -> bool:
    """A hostname (None: any) covers ``host``; "*.x" covers one or more labels before ".x"."""
    if pattern is None:
        return True
    if pattern.startswith("*."):
        labels = host.split(".")
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1 and "" not in labels
    return host == pattern


def _specificity(pattern: Optional[str]) -> tuple:
    if pattern is None:
        return (2, 0)
    return (1, -len(pattern)) if pattern.startswith("*.") else (0, 0)


def _intersection(route_host: str, listener_host: Optional[str]) -> Optional[str]:
    if listener_host is None or route_host == listener_host:
        return route_host
    if route_host.startswith("*.") and listener_host.startswith("*."):
        if listener_host.endswith(route_host[1:]):
            return listener_host
        return route_host if route_host.endswith(listener_host[1:]) else None
    if route_host.startswith("*."):
        return listener_host if _covers(route_host, listener_host) else None
    if listener_host.startswith("*."):
        return route_host if _covers(listener_host, route_host) else None
    return None


def _indistinct(a, b) -> bool:
    """Two listeners on one port that a connection cannot tell apart (digest §1.3)."""
    if a["port"] != b["port"]:
        return False
    fam = {"HTTP": "http", "HTTPS": "tls", "TLS": "tls", "TCP": "tcp", "UDP": "udp"}
    mine, theirs = fam[a["protocol"]], fam[b["protocol"]]
    if "udp" in (mine, theirs):
        return mine == theirs
    return mine != theirs or mine == "tcp" or a.get("hostname") == b.get("hostname")


def _merged(objs, gw):
    """[(listener, owner ("ns", "name") of its ListenerSet or None, usable)] of the Gateway and
    the ListenerSets it admits: the Gateway's indistinct listeners are all refused, a set's entry
    indistinct from one accepted before it is refused; a set with no usable entry is left out."""
    own = gw["spec"]["listeners"]
    out = [(l, None, not any(o is not l and _indistinct(l, o) for o in own)) for l in own]
    accepted = [l for l, _, ok in out if ok]
    frm = ((gw["spec"].get("allowedListeners") or {}).get("namespaces") or {}).get("from", "None")
    sets = [o for o in objs if o["kind"] == "ListenerSet"
            and o["spec"]["parentRef"]["name"] == gw["metadata"]["name"]
            and o["spec"]["parentRef"].get("namespace", _ns(o)) == _ns(gw)]
    for ls in sorted(sets, key=_age):
        if not (frm == "All" or (frm == "Same" and _ns(ls) == _ns(gw))):
            continue
        taken, entries = list(accepted), []
        for e in ls["spec"]["listeners"]:
            ok = not any(_indistinct(e, t) for t in taken)
            if ok:
                taken.append(e)
            entries.append((e, (_ns(ls), ls["metadata"]["name"]), ok))
        if any(ok for _, _, ok in entries):
            out += entries
            accepted = taken
    return out


def _key(lis, owner) -> str:
    return lis["name"] if owner is None else f"{owner[0]}/{owner[1]}/{lis['name']}"


def _takes(gw, lis, owner, route) -> bool:
    kind = route["kind"]
    allowed = lis.get("allowedRoutes") or {}
    kinds = [k["kind"] for k in allowed.get("kinds") or () if k.get("group", GATEWAY_GROUP) == GATEWAY_GROUP]
    ok_kinds = [k for k in kinds if k in _KINDS[lis["protocol"]]] if kinds else _KINDS[lis["protocol"]]
    if kind not in ok_kinds:
        return False
    frm = (allowed.get("namespaces") or {}).get("from", "Same")
    if frm == "Same" and _ns(route) != (_ns(gw) if owner is None else owner[0]):
        return False
    parent = ("Gateway", _ns(gw), gw["metadata"]["name"]) if owner is None else ("ListenerSet",) + owner
    for ref in route["spec"].get("parentRefs", ()):
        if (ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP
                and (ref.get("kind", "Gateway"), ref.get("namespace", _ns(route)), ref["name"]) == parent
                and ref.get("sectionName", lis["name"]) == lis["name"] and ref.get("port", lis["port"]) == lis["port"]):
            return True
    return False


def _outcome(objs, route, lis_name, listener_mode) -> Tuple[ReferenceDecision, Optional[str]]:
    services = {(_ns(o), o["metadata"]["name"]) for o in objs if o["kind"] == "Service"}
    have_services = any(o["kind"] == "Service" for o in objs)
    backends, statuses, valid = set(), set(), 0
    for rule in route["spec"]["rules"]:
        for b in rule["backendRefs"]:
            if b.get("weight", 1) == 0:
                continue
            ns = b.get("namespace", _ns(route))
            bad = (b.get("group", "") != "" or b.get("kind", "Service") != "Service"
                   or (have_services and (ns, b["name"]) not in services) or ns != _ns(route))
            if bad:
                statuses.add(500)
            else:
                backends.add((ns, b["name"], b.get("port")))
                valid += 1
    if not valid:
        statuses = {500}
    key = f"{_ns(route)}/{route['metadata']['name']}"
    ref = ReferenceDecision(route=key, kind=route["kind"], rule=0, listener=lis_name,
                            status=500 if not backends else None, backends=frozenset(backends),
                            statuses=frozenset(statuses))
    return ref, listener_mode


def reference_decide_stream(objs, port: int, *, sni=None, tls: bool = True, protocol=None
                            ) -> Tuple[ReferenceDecision, Optional[str]]:
    """(what the spec allows, the tls_mode the decision carries) for a TLS connection with SNI
    ``sni`` (``tls``) or a TCP/UDP connection (``protocol`` None: TCP first, then UDP) to Gateway
    ``default/gw`` on ``port``."""
    gw = next(o for o in objs if o["kind"] == "Gateway")
    merged = _merged(objs, gw)
    routes = [o for o in objs if o["kind"] in ("TLSRoute", "TCPRoute", "UDPRoute")]
    if tls:
        host = "" if sni is None else sni.lower().rstrip(".") if sni.endswith(".") else sni.lower()
        best = None
        for lis, owner, ok in merged:
            if lis["port"] != port or lis["protocol"] not in ("TLS", "HTTPS"):
                continue
            h = lis.get("hostname")
            if (h is None or (host and _covers(h, host))) and \
                    (best is None or _specificity(h) < _specificity(best[0].get("hostname"))):
                best = (lis, owner, ok)
        if best is None:
            return ReferenceDecision(status=404, statuses=frozenset({404})), None
        best, owner, ok = best
        name = _key(best, owner)
        mode = best["tls"]["mode"]
        candidates = []
        if best["protocol"] == "TLS" and ok:
            for r in routes:
                if not _takes(gw, best, owner, r):
                    continue
                for h in r["spec"].get("hostnames") or [None]:
                    eff = best.get("hostname") if h is None else _intersection(h, best.get("hostname"))
                    if (h is None or eff is not None) and (eff is None or (host and _covers(eff, host))):
                        candidates.append(((_specificity(eff), _age(r)), r))
        if not candidates:
            return ReferenceDecision(listener=name, status=404, statuses=frozenset({404})), mode
        return _outcome(objs, min(candidates, key=lambda c: c[0])[1], name, mode)
    order = [p for p in ("TCP", "UDP") if protocol in (None, p)]
    chosen = next((m for p in order for m in merged if m[0]["port"] == port and m[0]["protocol"] == p), None)
    if chosen is None:
        return ReferenceDecision(status=404, statuses=frozenset({404})), None
    lis, owner, ok = chosen
    taken = [r for r in routes if _takes(gw, lis, owner, r)] if ok else []
    if not taken:
        return ReferenceDecision(listener=_key(lis, owner), status=404, statuses=frozenset({404})), None
    return _outcome(objs, min(taken, key=_age), _key(lis, owner), None)
