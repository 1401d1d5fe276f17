"""Router: compiles a loaded Config into one rule table per entry point (Gateway port or Service).

Invariants: the compiled state of a Router changes only through ``reload``, which builds a whole
new state off the request path and swaps it in with one assignment; tables are built on first
use of a view and cached, so ``router.gateway(...)``/``router.service(...)`` are cheap to call
again, and a table, once handed out, never changes (requests in flight finish on it).
"""
from __future__ import annotations

import os
import threading

import attrs
from typing import Dict, List, Optional

from . import _match
from ._config.load import bulk_build, load
from ._config.models import CORS, GATEWAY_GROUP, Config, ExtensionRef, HTTPRoute, RequestMirror, RequestRedirect, Rule, URLRewrite
from ._outcome import Backend, Choice, Mirror
from ._paths import ESCAPED_SLASHES
from ._config.regex import compile_regex
from ._compile.table import (PREFIX, PATH_TYPES, ListenerSpec, _Builder, core_backend, group_entries,
                     header_ops, is_core_service, listener_routes, normalize_prefix,
                     service_ref_covers)


class Router:
    """Compiled routing for every Gateway listener and mesh Service of one configuration."""

    def __init__(self, config: Config, *, seed: Optional[int] = None,
                 regex_precedence: str = "after-prefix", normalize_path: bool = True,
                 native: Optional[bool] = None, extensions=(), merge_slashes: bool = False,
                 escaped_slashes: str = "reject"):
        if escaped_slashes not in ESCAPED_SLASHES:
            raise ValueError(f"escaped_slashes must be one of {', '.join(ESCAPED_SLASHES)}, "
                             f"got {escaped_slashes!r}")
        if regex_precedence not in ("after-prefix", "before-prefix"):
            raise ValueError("regex_precedence must be 'after-prefix' or 'before-prefix', "
                             f"got {regex_precedence!r}")
        if not isinstance(config, Config):
            raise TypeError(f"Router() takes the Config that routecore.load() returns, got "
                            f"{type(config).__name__}; use Router.from_source() for sources")
        self.config = config
        self.seed = seed if seed is not None else int.from_bytes(os.urandom(8), "little")
        self.regex_precedence = regex_precedence
        self.normalize_path = normalize_path
        self.merge_slashes = merge_slashes
        self.escaped_slashes = escaped_slashes
        # (group, kind) of the ExtensionRef filters the caller implements; any other is
        # unresolvable, and requests it would process get 500 (never silently skipped)
        self.extensions = frozenset((g, k) for g, k in extensions)
        self.native = _match.NATIVE if native is None else bool(native)
        if self.native and _match.NativeTable is None:
            raise RuntimeError("the native routecore extension is not available")
        self._table_cls = _match.NativeTable if self.native else _match.PyTable
        self._regexes: Dict[str, object] = {}
        self._backends: Dict[int, tuple] = {}  # id(backendRef) -> (backendRef, Backend)
        self._views: Dict[tuple, object] = {}
        self._lock = threading.Lock()
        self._services = None if config.services is None else {
            (s.namespace, s.name): s for s in config.services}
        self.generation = 0

    def reload(self, source, *, strict: Optional[bool] = None) -> "Router":
        """Load and compile a new configuration, then swap it in atomically.

        ``source`` is anything ``routecore.load`` takes, or a Config. The views in use are
        compiled before the swap, so no request pays for compilation. An invalid configuration
        raises ConfigError and the current one keeps serving. Tables handed out before the swap
        keep answering from the old configuration: call ``router.gateway(...)`` /
        ``router.service(...)`` per request (a dict lookup) to follow reloads.
        """
        with bulk_build():  # one pause of the cycle collector for the load and every view
            if isinstance(source, Config):
                config = source
            else:
                config = load(source, strict=self.config.strict if strict is None else strict)
            new = Router(config, seed=self.seed, regex_precedence=self.regex_precedence,
                         normalize_path=self.normalize_path, native=self.native,
                         extensions=self.extensions, merge_slashes=self.merge_slashes,
                         escaped_slashes=self.escaped_slashes)
            for key in list(self._views):
                try:
                    new._view(key, new._gateway_spec if key[0] == "gateway" else new._service_spec)
                except LookupError:
                    pass  # the Gateway, listener or Service is gone from the new configuration
        state = new.__dict__
        with self._lock:
            state["_lock"] = self._lock
            state["generation"] = self.generation + 1
            self.__dict__ = state
        return self

    def __repr__(self) -> str:
        c = self.config
        return (f"<Router generation={self.generation} gateways={len(c.gateways)} "
                f"services={len(c.services or ())} routes={len(c.routes)} "
                f"{'native' if self.native else 'pure'}>")

    @classmethod
    def from_source(cls, source, *, strict: bool = True, seed: Optional[int] = None, **kwargs):
        return cls(load(source, strict=strict), seed=seed, **kwargs)

    # --- views --------------------------------------------------------------------------------

    def gateway(self, name: str, namespace: str = "default", port: int = 80):
        """The rule table for requests arriving at this Gateway on ``port``."""
        return self._view(("gateway", namespace, name, port), self._gateway_spec)

    def service(self, name: str, namespace: str = "default", port: int = 80,
                client_namespace: Optional[str] = None):
        """The rule table for mesh requests to this Service port from ``client_namespace``."""
        return self._view(("service", namespace, name, port, client_namespace), self._service_spec)

    def _view(self, key, build):
        view = self._views.get(key)
        if view is None:
            with bulk_build(), self._lock:  # (the collector resumes after the lock is released)
                view = self._views.get(key)
                if view is None:
                    view = self._table_cls(attrs.evolve(build(*key[1:]), parent=key))
                    self._views[key] = view
        return view

    def _gateway_spec(self, namespace: str, name: str, port: int):
        gw = next((g for g in self.config.gateways
                   if g.namespace == namespace and g.name == name), None)
        if gw is None:
            known = ", ".join(f"{g.namespace}/{g.name}" for g in self.config.gateways) or "none"
            raise LookupError(f"no Gateway {namespace}/{name} in this configuration (Gateways: {known})")
        listeners = [l for l in gw.listeners if l.port == port]
        if not listeners:
            ports = ", ".join(f"{l.name}:{l.port}" for l in gw.listeners)
            raise LookupError(f"Gateway {namespace}/{name} has no listener on port {port} "
                              f"(listeners: {ports})")
        b = _Builder(self, mesh=False)
        specs = []
        for lis in listeners:
            scheme = "https" if lis.protocol == "HTTPS" else "http"
            by_host: Dict[Optional[str], list] = {}
            # an HTTPRoute and a GRPCRoute with intersecting hostnames: only the older is taken
            for route, hosts in listener_routes(self.config, gw, lis, self._sorted_routes())[0]:
                entries = b.entries(route, lis.name, lis.port, scheme)
                for h in hosts:
                    by_host.setdefault(h, []).extend(entries)
            no_match = b.static(Choice(matched=False, status=404, listener=lis.name))
            specs.append(ListenerSpec(lis.name, lis.hostname, group_entries(by_host), no_match))
        no_listener = b.static(Choice(matched=False, status=404))
        misdirected = b.static(Choice(matched=False, status=421))
        return b.spec(specs, no_listener, self.normalize_path, self.seed, misdirected)

    def _service_spec(self, namespace: str, name: str, port: int, client_namespace):
        svc = None if self._services is None else self._services.get((namespace, name))
        if self._services is not None and svc is None:
            raise LookupError(f"no Service {namespace}/{name} in this configuration")
        port_name = None
        if svc is not None:
            sp = next((p for p in svc.ports if p.port == port), None)
            if sp is None and svc.ports:
                ports = ", ".join(str(p.port) for p in svc.ports)
                raise LookupError(f"Service {namespace}/{name} has no port {port} (ports: {ports})")
            port_name = sp.name if sp is not None else None
        attached = [r for r in self._sorted_routes()
                    if any(service_ref_covers(ref, namespace, name, port, port_name)
                           for ref in r.parent_refs)]
        consumer = [r for r in attached
                    if r.namespace != namespace and r.namespace == client_namespace]
        routes = consumer or [r for r in attached if r.namespace == namespace]
        if any(r.kind == "GRPCRoute" for r in routes):  # GEP-1294: GRPCRoute > HTTPRoute per port
            routes = [r for r in routes if r.kind == "GRPCRoute"]
        b = _Builder(self, mesh=True)
        entries = []
        for route in routes:
            entries.extend(b.entries(route, None, port, "http"))
        if routes:
            no_match = b.static(Choice(matched=False, status=404))
        else:  # no route for this client: the request goes to the Service itself
            no_match = b.static(Choice(matched=False, status=None,
                                       backend=Backend(namespace, name, port)))
        groups = group_entries({None: entries}) if entries else ()
        lis = ListenerSpec(None, None, groups, no_match)
        return b.spec([lis], no_match, self.normalize_path, self.seed)

    def _sorted_routes(self) -> List[HTTPRoute]:
        return list(self.config.routes)

    # --- rules --------------------------------------------------------------------------------

    def _regex(self, pattern: str):
        rx = self._regexes.get(pattern)
        if rx is None:
            rx = self._regexes[pattern] = compile_regex(pattern)
        return rx

    def _extension_known(self, ext) -> bool:
        return (ext.group, ext.kind) in self.extensions

    def _backend_problem(self, route: HTTPRoute, ref, mesh: bool) -> Optional[str]:
        """None when the backendRef resolves, else the ResolvedRefs reason."""
        if not is_core_service(ref):
            return "InvalidKind"
        if self._services is not None and (ref.namespace, ref.name) not in self._services:
            return "BackendNotFound"
        if ref.namespace != route.namespace and not mesh and not self._granted(route, ref):
            return "RefNotPermitted"
        return None

    def _granted(self, route: HTTPRoute, ref) -> bool:
        for g in self.config.reference_grants:
            if g.namespace != ref.namespace:
                continue
            if not any(f.group == GATEWAY_GROUP and f.kind == route.kind
                       and f.namespace == route.namespace for f in g.from_):
                continue
            if any(t.group == ref.group and t.kind == ref.kind and t.name in (None, ref.name)
                   for t in g.to):
                return True
        return False

    def _core_backend(self, ref) -> Backend:
        """``core_backend(ref)``, built once per backendRef object of this Router's config (the
        frozen Backend is shared by every Choice that sends to it)."""
        hit = self._backends.get(id(ref))
        if hit is None or hit[0] is not ref:
            hit = self._backends[id(ref)] = (ref, core_backend(ref))  # the ref keeps id() unique
        return hit[1]

    def _rule_choices(self, route: HTTPRoute, index: int, rule: Rule, listener, port, scheme,
                      mesh: bool, route_key: Optional[str] = None):
        prefix = None
        if route.kind == "HTTPRoute" and len(rule.matches) == 1 \
                and PATH_TYPES[rule.matches[0].path.type] == PREFIX:
            prefix = normalize_prefix(rule.matches[0].path.value)
        filters = rule.filters
        if filters:
            mirrors = tuple(Mirror(core_backend(f.backend_ref), f.percent) for f in filters
                            if isinstance(f, RequestMirror)
                            and self._backend_problem(route, f.backend_ref, mesh) is None)
            cors = next((f for f in filters if isinstance(f, CORS)), None)
            rule_ext = tuple(f for f in filters if isinstance(f, ExtensionRef))
        else:  # the same values, without scanning an empty tuple five times
            mirrors, cors, rule_ext = (), None, ()
        base = dict(matched=True, route=route.key if route_key is None else route_key,
                    kind=route.kind, rule=index,
                    rule_name=rule.name, listener=listener, mirrors=mirrors,
                    timeouts=rule.timeouts, retry=rule.retry,
                    session_persistence=rule.session_persistence, prefix=prefix, port=port,
                    default_scheme=scheme, cors=cors, extensions=rule_ext)
        if rule_ext and any(not self._extension_known(e) for e in rule_ext):
            return [Choice(status=500, **base)], [1]
        if filters:
            req_ops = header_ops(filters, "RequestHeaderModifier")
            resp_ops = header_ops(filters, "ResponseHeaderModifier")
            redirect = next((f for f in filters if isinstance(f, RequestRedirect)), None)
            rewrite = next((f for f in filters if isinstance(f, URLRewrite)), None)
        else:
            req_ops, resp_ops, redirect, rewrite = (), (), None, None
        if redirect is not None:
            return [Choice(status=redirect.status_code, redirect=redirect,
                           request_headers=req_ops, response_headers=resp_ops, **base)], [1]
        # the share of an invalid backendRef, and the answer when no backend can be chosen
        # (built when first needed; one object however many shares it answers)
        error = None
        choices, weights = [], []
        for ref in rule.backend_refs:
            if ref.weight <= 0:
                continue
            ref_filters = ref.filters
            ref_ext = tuple(f for f in ref_filters if isinstance(f, ExtensionRef)) if ref_filters else ()
            if self._backend_problem(route, ref, mesh) is not None or (ref_ext and any(
                    not self._extension_known(e) for e in ref_ext)):
                if error is None:
                    error = Choice(status=500, request_headers=req_ops, response_headers=resp_ops,
                                   **base)
                choices.append(error)
            elif not ref_filters:
                choices.append(Choice(
                    status=None, backend=self._core_backend(ref), redirect=None, rewrite=rewrite,
                    request_headers=req_ops, response_headers=resp_ops, **base))
            else:
                b_redirect = next((f for f in ref_filters if isinstance(f, RequestRedirect)), None)
                b_rewrite = next((f for f in ref_filters if isinstance(f, URLRewrite)), rewrite)
                choices.append(Choice(
                    status=b_redirect.status_code if b_redirect else None,
                    backend=None if b_redirect else self._core_backend(ref),
                    redirect=b_redirect, rewrite=b_rewrite,
                    request_headers=req_ops + header_ops(ref_filters, "RequestHeaderModifier"),
                    response_headers=resp_ops + header_ops(ref_filters, "ResponseHeaderModifier"),
                    **{**base, "extensions": rule_ext + ref_ext}))
            weights.append(ref.weight)
        if not choices:  # no backendRefs, or every weight is 0
            if error is None:
                error = Choice(status=500, request_headers=req_ops, response_headers=resp_ops, **base)
            return [error], [1]
        return choices, weights

    # --- status -------------------------------------------------------------------------------

    def status(self, kind: str, namespace: str, name: str) -> dict:
        """The status a controller writes back for this object, shaped as Kubernetes stores it."""
        from ._compile.status import gateway_status, route_status

        if kind == "Gateway":
            return gateway_status(self, namespace, name)
        return route_status(self, kind, namespace, name)
