"""Router: compiles a loaded Config into one rule table per entry point (Gateway port or Service).

Invariants: the compiled state of a Router changes only through ``reload`` and ``update``, which
build a whole new state off the request path and swap it in with one assignment (``update``
reuses the tables, listener records and backend resolutions its change cannot affect: see
routecore._compile.delta, makes an affected Gateway view's table from its previous one, only
the touched buckets rebuilt: ``patched_table``; a full reload of the same objects answers the
same); tables are built on first
use of a view and cached, so ``router.gateway(...)``/``router.service(...)`` are cheap to call
again, and a table, once handed out, never changes (requests in flight finish on it).
"""
from __future__ import annotations

import threading

import attrs
from typing import Callable, Dict, Optional

from ._config.load import bulk_build, load
from ._config.models import Config
from ._config.patch import patch
from ._compile.attach import Attachments
from ._compile.delta import affected
from . import _match
from ._compile.listeners import listener_infos
from ._compile.options import DEFAULT_CONTROLLER, RouterOptions
from ._compile.status import gateway_status, listener_set_status, policy_status, route_status
from ._compile.table import CompileCache
from ._compile.views import GatewayBuild, service_spec


class Router:
    """Compiled routing for every Gateway listener and mesh Service of one configuration."""

    def __init__(self, config: Config, *, seed: Optional[int] = None,
                 regex_precedence: str = "after-prefix", normalize_path: bool = True,
                 native: Optional[bool] = None, extensions=(), merge_slashes: bool = False,
                 escaped_slashes: str = "reject", controller_name: str = DEFAULT_CONTROLLER):
        self._setup(config, RouterOptions.build(
            seed=seed, regex_precedence=regex_precedence, normalize_path=normalize_path,
            native=native, extensions=extensions, merge_slashes=merge_slashes,
            escaped_slashes=escaped_slashes, controller_name=controller_name,
            default_native=_match.NATIVE))

    @classmethod
    def with_options(cls, config: Config, options: RouterOptions) -> "Router":
        """A Router of ``config`` with the options of another (``router.options``), reused
        whole: what ``reload`` and the serving proxy's reload do."""
        router = cls.__new__(cls)
        router._setup(config, options)
        return router

    def _setup(self, config: Config, options: RouterOptions) -> None:
        if not isinstance(options, RouterOptions):
            raise TypeError(f"options must be a RouterOptions, got {type(options).__name__}")
        if not isinstance(config, Config):
            raise TypeError(f"Router() takes the Config that routecore.load() returns, got "
                            f"{type(config).__name__}; use Router.from_source() for sources")
        self.config = config
        self.options = options
        if options.native and _match.NativeTable is None:
            raise RuntimeError("the native routecore extension is not available")
        self._table_cls = _match.NativeTable if options.native else _match.PyTable
        # a view's table made from its previous one after an update (None: build it whole)
        self._patched = _match.native_patched if options.native else _match.PyTable.patched
        self._cache = CompileCache(new=_match.new_frozen)
        self._attachments: Optional[Attachments] = None
        self._views: Dict[tuple, object] = {}
        # the view already compiled under a key (("gateway", ns, name, port) or ("service", ns,
        # name, port, client_namespace)), else None: the views dict's own get, so per-request
        # callers (the middleware) pay one C call, then fall back to gateway()/service(). Part of
        # the state ``reload`` and ``update`` swap in: it always reads the current views.
        self.cached_view: Callable[[tuple], Optional[object]] = self._views.get
        self._builds: Dict[tuple, GatewayBuild] = {}  # what each Gateway view was built from
        self._lock = threading.Lock()
        self.generation = 0

    # the options, by their names (read-only)
    seed = property(lambda self: self.options.seed)
    regex_precedence = property(lambda self: self.options.regex_precedence)
    normalize_path = property(lambda self: self.options.normalize_path)
    merge_slashes = property(lambda self: self.options.merge_slashes)
    extensions = property(lambda self: self.options.extensions)
    native = property(lambda self: self.options.native)
    escaped_slashes = property(lambda self: self.options.escaped_slashes)
    controller_name = property(lambda self: self.options.controller_name)

    @property
    def attachments(self) -> Attachments:
        """The attachment records of this configuration (routecore._compile.attach), resolved
        on first use and then shared by every view and by ``status()``."""
        att = self._attachments
        if att is None:
            with self._lock:
                if self._attachments is None:
                    self._attachments = Attachments(self.config)
                att = self._attachments
        return att

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
            new = Router.with_options(config, self.options)
            for key in list(self._views):
                try:
                    new._view(key)
                except LookupError:
                    pass  # the Gateway, listener or Service is gone from the new configuration
        return self._swap(new)

    def update(self, changed=(), removed=()) -> "Router":
        """Apply a change of some objects and swap the result in atomically, as ``reload``.

        ``changed``: Kubernetes objects (dicts) added or modified; ``removed``: the
        ``(kind, namespace, name)`` of objects deleted (namespace None for a Namespace). Only
        the changed objects are parsed and validated; attachment, backend resolution and the
        tables are rebuilt for the Gateways and Services the change can affect, every other
        view is reused as it is (routecore._compile.delta). The result answers exactly as a
        Router loaded from the final set of objects. A change that changes no model costs a
        parse of the changed objects and nothing else (the generation stays). An invalid object
        with a strict configuration raises ConfigError and the current one keeps serving.
        """
        with bulk_build():
            config, touched, changes = patch(self.config, changed, removed)
            if not changes and config.issues == self.config.issues \
                    and config.rejected == self.config.rejected:
                return self
            previous = self.attachments
            what = affected(self.config, config, changes)
            new = Router.with_options(config, self.options)
            new._cache = self._cache.carry()
            new._attachments = Attachments(config, previous, what)
            for key, view in self._views.items():
                if not what.covers(key):
                    new._views[key] = view
                    if key in self._builds:
                        new._builds[key] = self._builds[key]
                elif key in self._builds and not what.everything:
                    build = self._builds[key].updated(new._attachments, new._cache, what.routes)
                    if build is not None:
                        new._builds[key] = build
                        table = new._patched(view, attrs.evolve(build.spec(), parent=key),
                                             build.patch)
                        if table is not None:  # (else built whole below)
                            new._views[key] = table
            for key in self._views:
                if key not in new._views:
                    try:
                        new._view(key)
                    except LookupError:
                        pass  # the Gateway, listener or Service is gone
            return self._swap(new)  # (before bulk_build's collection: live sooner)

    def _swap(self, new: "Router") -> "Router":
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
        return self._view(("gateway", namespace, name, port))

    def service(self, name: str, namespace: str = "default", port: int = 80,
                client_namespace: Optional[str] = None):
        """The rule table for mesh requests to this Service port from ``client_namespace``."""
        return self._view(("service", namespace, name, port, client_namespace))

    def _view(self, key):
        view = self._views.get(key)
        if view is None:
            with bulk_build():
                attachments = self.attachments
                with self._lock:  # (the collector resumes after the lock is released)
                    view = self._views.get(key)
                    if view is None:
                        if key[0] == "gateway":
                            build = self._builds.get(key)
                            if build is None:
                                build = self._builds[key] = GatewayBuild.full(
                                    attachments, self.options, self._cache, *key[1:])
                            spec = build.spec()
                        else:
                            spec = service_spec(attachments, self.options, self._cache, *key[1:])
                        view = self._table_cls(attrs.evolve(spec, parent=key))
                        self._views[key] = view
        return view

    def listeners(self, name: str, namespace: str = "default"):
        """Every listener of this Gateway, its ListenerSets' entries merged in (precedence
        order), as ``ListenerInfo`` (port, protocol, hostname, tls_mode, accepted, the resolved
        certificate Secrets): what a data plane opens and which certificate it serves."""
        gw = self.attachments.gateway(namespace, name)
        if gw is None:
            raise LookupError(f"no Gateway {namespace}/{name} in this configuration")
        return listener_infos(self.config, self.attachments.gateway_listeners(gw))

    # --- status -------------------------------------------------------------------------------

    def status(self, kind: str, namespace: str, name: str) -> dict:
        """The status a controller writes back for this object, shaped as Kubernetes stores it
        (route parent entries name ``controller_name``)."""
        if kind == "Gateway":
            return gateway_status(self.attachments, namespace, name)
        if kind == "ListenerSet":
            return listener_set_status(self.attachments, namespace, name)
        if kind == "BackendTLSPolicy":
            return policy_status(self.attachments, namespace, name, self.options.controller_name)
        return route_status(self.attachments, kind, namespace, name, self.options.controller_name)
