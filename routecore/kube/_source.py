"""KubeSource: a live Router fed by the Kubernetes API server, and the status written back.

Invariants:
- One asyncio loop owns everything: the reflectors put changes in ``_pending``; after a debounce
  window the batch goes through ``apply_batch`` (the one entry point that changes the store and
  the Router). Nothing is built before every reflector has listed once; the first build (a full
  load) makes the source ready.
- After that a batch is applied incrementally: only the objects whose routing part changed
  (``routing_map``/``map_changes``: status writes, resourceVersion bumps and objects of other
  controllers' classes are not changes) go to ``Router.update``, which parses only them and
  rebuilds only the views they affect; a batch that changes nothing does not touch the Router.
  A failed update keeps the last configuration serving; so does an unreachable API server
  (reflectors retry forever).
- Status is written only while the Lease is held (``LeaderElector.is_leader()`` checked right
  before each write), only when it differs from the object's status, to ``/status`` with the
  object's resourceVersion; a 409 re-reads the object and recomputes.
- An object's status is computed only by a configuration built from that object's current
  ``metadata.generation`` (``_built_generation``, recorded when a batch is live): so
  ``observedGeneration`` never claims a spec the configuration has not seen (one the apply loop
  is still building, or one a 409 re-read brought early); such an object's status is written
  after its build, which marks it.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from typing import Callable, Iterable, List, Optional, Set, Tuple

import httpx

from .._config.load import load
from .._router import Router
from ._client import ApiClient, ApiError, ClientConfig
from ._kinds import BY_KIND, DEFAULT_CONTROLLER, ROUTE_KINDS, WATCHED, Key
from ._discovery import Discovery
from ._lease import LeaderElector
from ._reflector import Backoff, Reflector
from ._status import desired_statuses
from ._store import ObjectStore, map_changes, route_parent_gateways, routing_map

log = logging.getLogger("routecore.kube")

OnChange = Callable[[Router, Set[Key]], None]
_GONE = object()  # (a key deleted, in the generations a build reads)


class KubeSource:
    """Lists and watches the Gateway API (and the Services, Namespaces, Secrets and ConfigMaps it
    references) and keeps ``self.router`` equal to what the cluster says; optionally, as the
    leader among replicas, writes status back.

    Sync::

        with KubeSource(kubeconfig="~/.kube/config", on_change=print) as source:
            view = source.router.gateway("edge", namespace="infra", port=80)

    asyncio::

        async with KubeSource() as source:      # in-cluster service account, or ~/.kube/config
            source.router.gateway(...)
    """

    def __init__(self, *, kubeconfig: Optional[str] = None, context: Optional[str] = None,
                 client_config: Optional[ClientConfig] = None, namespaces: Optional[Iterable[str]] = None,
                 controller_name: str = DEFAULT_CONTROLLER, debounce: float = 0.1,
                 write_status: bool = True, lease_name: str = "routecore-gateway-controller",
                 lease_namespace: Optional[str] = None, identity: Optional[str] = None,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 backoff_base: float = 0.2, backoff_cap: float = 30.0, watch_timeout: int = 300,
                 request_timeout: float = 10.0, on_change: Optional[OnChange] = None,
                 router: Optional[Router] = None, incremental: bool = True,
                 discovery_max_age: float = 5.0, discovery_retry: float = 60.0, **router_kwargs):
        self._client_args = (client_config, kubeconfig, context)
        self.namespaces = None if namespaces is None else tuple(namespaces)
        self.controller_name = controller_name
        self.debounce = debounce
        self.write_status = write_status
        self.lease_name, self.lease_namespace = lease_name, lease_namespace
        self.identity = identity or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.lease_timing = (lease_duration, renew_deadline, retry_period)
        self.backoff = (backoff_base, backoff_cap)
        self.watch_timeout, self.request_timeout = watch_timeout, request_timeout
        # discovery: a snapshot is reused for discovery_max_age s; a kind not served is asked
        # about again every discovery_retry s
        self.discovery_max_age, self.discovery_retry = discovery_max_age, discovery_retry
        self.discovery: Optional[Discovery] = None
        self.on_change = on_change
        self.router = router
        self.incremental = incremental  # False: every change reloads everything (a baseline)
        self.router_kwargs = router_kwargs
        self.store = ObjectStore()
        self.reflectors: List[Reflector] = []
        self.elector: Optional[LeaderElector] = None
        self.client: Optional[ApiClient] = None
        # reloads: every configuration swapped in (the first full load and each update);
        # last_apply_seconds: how long the last one took, from the batch to the swap
        self.stats = {"batches": 0, "reloads": 0, "build_errors": 0, "status_writes": 0,
                      "status_conflicts": 0, "status_errors": 0, "last_reload": None,
                      "last_apply_seconds": None, "sync_lag_seconds": None}
        self._pending_since: Optional[float] = None  # when the oldest pending event arrived
        self._routing: Optional[dict] = None  # routing_map of the configuration serving
        self._store_touched: Set[Key] = set()  # keys the status writer changed in the store
        self._unbuilt: Set[Key] = set()  # keys changed in the store since the last live build
        self._built_generation: dict = {}  # key -> metadata.generation the live configuration read
        self._pending: List[Tuple[Key, Optional[dict]]] = []
        self._ready = threading.Event()
        self._status_dirty: Set[Key] = set()
        self._status_all = False
        self._wake: Optional[asyncio.Event] = None
        self._status_wake: Optional[asyncio.Event] = None
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task] = None
        self._failure: Optional[BaseException] = None

    # --- state ----------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True once every kind has been listed and the first configuration is live."""
        return self._ready.is_set()

    @property
    def synced(self) -> bool:
        return all(r.synced for r in self.reflectors)

    @property
    def connected(self) -> bool:
        """True when every watch stream is open (an optional kind not served counts as open)."""
        return all(r.connected or r.absent for r in self.reflectors)

    def is_leader(self) -> bool:
        return self.elector is not None and self.elector.is_leader()

    # --- asyncio --------------------------------------------------------------------------------

    async def run(self):
        """Run until cancelled: reflectors, the apply loop, and (with write_status) the Lease and
        the status writer."""
        config, kubeconfig, context = self._client_args
        config = config or ClientConfig.auto(kubeconfig, context)
        self.client = ApiClient(config, timeout=self.request_timeout)
        self._wake, self._status_wake = asyncio.Event(), asyncio.Event()
        self.discovery = Discovery(self.client, WATCHED, max_age=self.discovery_max_age)
        self.reflectors = []
        for info in WATCHED:
            scopes = [None] if not info.namespaced or self.namespaces is None else self.namespaces
            for ns in scopes:
                self.reflectors.append(Reflector(self.client, info, ns, self._sink,
                                                 backoff=Backoff(*self.backoff), discovery=self.discovery,
                                                 optional_retry=self.discovery_retry,
                                                 on_synced=self._wake.set, watch_timeout=self.watch_timeout))
        tasks = [asyncio.create_task(r.run(), name=repr(r)) for r in self.reflectors]
        tasks.append(asyncio.create_task(self._apply_loop(), name="apply"))
        if self.write_status:
            duration, deadline, period = self.lease_timing
            self.elector = LeaderElector(self.client, self.lease_namespace or config.namespace,
                                         self.lease_name, self.identity, lease_duration=duration,
                                         renew_deadline=deadline, retry_period=period,
                                         on_started=self._leading)
            tasks.append(asyncio.create_task(self.elector.run(), name="lease"))
            tasks.append(asyncio.create_task(self._status_loop(), name="status"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.elector is not None:
                await asyncio.shield(self.elector.release())
            await self.client.aclose()

    async def wait_ready(self, timeout: Optional[float] = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready.is_set():
            if deadline is not None and time.monotonic() > deadline:
                raise self._not_synced()
            await asyncio.sleep(0.02)

    def _not_synced(self) -> TimeoutError:
        """The first sync did not complete: why, from the reflectors' last errors."""
        errors = sorted({r.last_error for r in self.reflectors if r.last_error and not r.synced})
        why = f"; last error: {errors[0]}" + (f" (and {len(errors) - 1} other)" if len(errors) > 1 else "") \
            if errors else ""
        return TimeoutError(f"the Kubernetes source did not complete its first sync in time{why}")

    async def __aenter__(self) -> "KubeSource":
        self._task = asyncio.create_task(self.run())
        ready = asyncio.create_task(self.wait_ready())
        await asyncio.wait([self._task, ready], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            self._task.result()  # raises what stopped run()
        return self

    async def __aexit__(self, *exc):
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    # --- sync (a background thread runs the loop) -----------------------------------------------

    def start(self, timeout: Optional[float] = 30.0) -> Router:
        """Start in a background thread; return the live Router once ready."""
        self._thread = threading.Thread(target=self._thread_main, name="routecore-kube", daemon=True)
        self._thread.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready.wait(0.02):
            if self._failure is not None:
                raise self._failure
            if deadline is not None and time.monotonic() > deadline:
                error = self._not_synced()
                self.stop()
                raise error
        return self.router

    def _thread_main(self):
        self._loop = asyncio.new_event_loop()
        try:
            self._task = self._loop.create_task(self.run())
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._failure = exc
        finally:
            self._loop.close()

    def stop(self, timeout: float = 10.0):
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:
                pass  # the loop already ended
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> "KubeSource":
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- changes ------------------------------------------------------------------------------

    def _sink(self, key: Key, obj: Optional[dict]):
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append((key, obj))
        self._wake.set()

    async def _apply_loop(self):
        while True:
            await self._wake.wait()
            if self.debounce:
                await asyncio.sleep(self.debounce)  # events arriving meanwhile join the batch
            self._wake.clear()
            batch, self._pending, since = self._pending, [], self._pending_since
            await self.apply_batch(batch)
            if since is not None and self._ready.is_set():
                # sync lag: from the oldest event of the batch to its configuration serving
                self.stats["sync_lag_seconds"] = time.monotonic() - since

    async def apply_batch(self, batch: List[Tuple[Key, Optional[dict]]]) -> Set[Key]:
        """Apply ``(key, object or None)`` changes: update the store; when every kind is synced
        and what routing reads changed, build and swap in the new configuration. Returns the
        keys that changed."""
        changed = self.store.apply(batch)
        self.stats["batches"] += 1
        self._status_dirty |= changed
        changed |= self._store_touched  # (see _store_set)
        self._store_touched = set()
        self._unbuilt |= changed
        if not self.synced or (not changed and self._ready.is_set()):
            return changed
        # the generations this build reads (the status writer may store newer ones meanwhile)
        reading = {k: o["metadata"].get("generation") if o is not None else _GONE
                   for k, o in ((k, self.store.get(k)) for k in self._unbuilt)}
        self._unbuilt = set()
        routing = routing_map(self.store, self.controller_name, self._routing,
                              changed if self._routing is not None else None)
        updates, removed = map_changes(self._routing or {}, routing)
        if updates or removed or self._routing is None:
            try:
                await asyncio.to_thread(self._build, routing, updates, removed)
            except Exception:  # noqa: BLE001 - the last configuration keeps serving
                self.stats["build_errors"] += 1
                log.exception("building the configuration failed; the previous one keeps serving")
                self._unbuilt |= set(reading)
                return changed
            self._mark_status(changed, self._routing, routing)
            self._routing = routing
            if self.on_change is not None and self._ready.is_set():
                try:
                    self.on_change(self.router, changed)
                except Exception:  # noqa: BLE001 - a callback's bug must not stop the source
                    log.exception("on_change callback failed")
        self._mark_built(reading)
        if not self._ready.is_set():
            self._ready.set()
            if self.on_change is not None:  # the first configuration: every object is new
                try:
                    self.on_change(self.router, set(self.store.objects))
                except Exception:  # noqa: BLE001
                    log.exception("on_change callback failed")
        if self._status_wake is not None:
            self._status_wake.set()
        return changed

    def _mark_built(self, reading: dict):
        """``reading`` (key -> generation, or _GONE) is what the live configuration read; those
        objects' status is (re)considered now (the status loop skipped them while they built)."""
        for key, generation in reading.items():
            if generation is _GONE:
                self._built_generation.pop(key, None)
            else:
                self._built_generation[key] = generation
        self._status_dirty |= set(reading)

    def _built_from(self, key: Key, obj: dict) -> bool:
        """True when the live configuration was built from ``obj``'s generation."""
        return key in self._built_generation and \
            self._built_generation[key] == obj["metadata"].get("generation")

    def _build(self, routing: dict, updates: List[dict], removed: List[Key]):
        start = time.perf_counter()
        if self._routing is None or not self.incremental:  # the first sync: a full load
            objects = sorted(routing.values(), key=lambda o: (
                o["kind"], o["metadata"].get("namespace") or "", o["metadata"]["name"]))
            config = load(objects, strict=False)
            if self.router is None:
                self.router = Router(config, controller_name=self.controller_name,
                                     **self.router_kwargs)
            else:
                self.router.reload(config)
        else:
            self.router.update(updates, removed)
        self.stats["reloads"] += 1
        self.stats["last_reload"] = time.time()
        self.stats["last_apply_seconds"] = time.perf_counter() - start

    # --- status -------------------------------------------------------------------------------

    def _mark_status(self, changed: Set[Key], old: Optional[dict], new: dict) -> None:
        """The objects whose status a change can change: everything, unless only routes changed;
        then those routes, the Gateways they name (before and after: attachedRoutes), every
        ListenerSet (its entries' attachedRoutes) and BackendTLSPolicy (its ancestors are the
        Gateways of routes to its Services) and, when there are GRPCRoutes (an HTTPRoute and a
        GRPCRoute can refuse each other), every route on those Gateways."""
        if old is None or any(k[0] not in ROUTE_KINDS for k in changed):
            self._status_all = True
            return
        gateways = set()
        for key in changed:
            for version in (old.get(key), new.get(key)):
                if version is not None:
                    gateways |= route_parent_gateways(version)
        self._status_dirty |= {("Gateway", ns, name) for ns, name in gateways}
        self._status_dirty |= {k for k in new if k[0] in ("ListenerSet", "BackendTLSPolicy")}
        if any(k[0] == "GRPCRoute" for k in new):
            self._status_dirty |= {k for k, o in new.items() if k[0] in ROUTE_KINDS
                                   and route_parent_gateways(o) & gateways}

    def _leading(self):
        self._status_all = True
        if self._status_wake is not None:
            self._status_wake.set()

    async def _status_loop(self):
        backoff = Backoff(*self.backoff)
        while True:
            await self._status_wake.wait()
            self._status_wake.clear()
            if self.router is None or not self.is_leader():
                self._status_dirty.clear()  # becoming leader reconciles everything
                continue
            keys = None if self._status_all else set(self._status_dirty)
            self._status_all = False
            self._status_dirty.clear()
            if keys is not None and not keys:
                continue
            router, snapshot = self.router, self.store.snapshot()  # the thread reads a copy
            todo = await asyncio.to_thread(
                lambda: list(desired_statuses(router, snapshot, self.controller_name, keys)))
            # (a build may be under way: its objects' status waits for it, it marks them)
            todo = [t for t in todo if self._built_from(t[0], t[1])]
            failed = False
            for key, obj, want in todo:
                failed |= not await self._write_status(key, obj, want)
            if failed:
                await asyncio.sleep(backoff.next())
                self._status_wake.set()
            else:
                backoff.reset()

    def _store_set(self, key: Key, obj: dict) -> None:
        """Put an object the status writer read or wrote in the store. It may be newer than what
        the watch has brought (a spec change): the apply loop then applies it as a change, since
        the watch event that brings it later will find the store already equal."""
        if self.store.apply([(key, obj)]):
            self._store_touched.add(key)
            if self._wake is not None:
                self._wake.set()

    async def _write_status(self, key: Key, obj: dict, want: dict, attempts: int = 5) -> bool:
        """PUT ``want`` to the object's /status; on 409 re-read and recompute. False: retry later."""
        info = (self.discovery.chosen.get(key[0]) if self.discovery else None) or BY_KIND[key[0]]
        for _ in range(attempts):
            if not self.is_leader():
                return True  # not ours to write any more
            body = dict(obj, status=want)
            try:
                written = await self.client.replace(info, key[1], key[2], body, "status")
            except ApiError as exc:
                if exc.code == 404:
                    return True  # deleted meanwhile
                if exc.code != 409:
                    self.stats["status_errors"] += 1
                    log.warning("status of %s %s/%s: %s", key[0], key[1], key[2], exc)
                    self._status_dirty.add(key)
                    return False
                self.stats["status_conflicts"] += 1
                try:
                    fresh = await self.client.get(info, key[1], key[2])
                except ApiError as exc2:
                    return exc2.code == 404
                self._store_set(key, dict(fresh, kind=info.kind, apiVersion=info.api_version))
                again = list(desired_statuses(self.router, self.store, self.controller_name, {key}))
                if not again or not self._built_from(key, again[0][1]):
                    return True  # nothing to write, or a newer spec: written after its build
                _, obj, want = again[0]
                continue
            except (httpx.HTTPError, OSError) as exc:
                self.stats["status_errors"] += 1
                log.warning("status of %s %s/%s: %s", key[0], key[1], key[2], exc)
                self._status_dirty.add(key)
                return False
            self.stats["status_writes"] += 1
            self._store_set(key, dict(written, kind=info.kind, apiVersion=info.api_version))
            return True
        self._status_dirty.add(key)
        return False
