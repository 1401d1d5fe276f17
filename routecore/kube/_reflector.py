"""List-then-watch of one kind (in one namespace or cluster-wide), as client-go's reflector does.

Invariants:
- The watch starts from the list's resourceVersion; every event's resourceVersion, BOOKMARKs
  included, becomes the one a cut or ended stream is resumed from.
- A 410 (an ``ERROR`` event, or the HTTP status) forgets the resourceVersion: the next round lists
  again, and the relist reports as deleted every object seen before and absent now (so no
  deletion is missed across the gap). That relist waits the backoff too (as client-go's does), so
  a server answering every watch with 410 is not hammered with lists.
- The backoff restarts from its base once a watch delivers an event (a bookmark included), or
  a stream ends normally (``timeoutSeconds``).
- Every list (the first, and each relist) is preceded by API discovery (``Discovery.resolve``):
  the kind is read at the newest version routecore understands that the server serves, and a
  kind the server does not serve is reported as empty (its objects deleted), logged once, and
  asked about again every ``optional_retry`` seconds. A 404 on list or watch (a CRD removed or
  changed meanwhile) backs off and relists after discovery is fetched anew. When the version read
  changes, the relist reports every object again (with the new apiVersion).
- Any other failure (transport error, 5xx, a broken stream) waits a capped exponential backoff
  with jitter and retries; the loop ends only when cancelled. Changes go to ``sink`` as
  ``(key, object or None)``; the reflector keeps nothing but the keys it reported.
"""
from __future__ import annotations

import asyncio
import logging
import random
from typing import Callable, Dict, Optional

import httpx

from ._client import ApiClient, ApiError
from ._discovery import Discovery
from ._kinds import Key, KindInfo, key_of

log = logging.getLogger("routecore.kube")


class Backoff:
    """Capped exponential backoff with jitter: the n-th delay is in [d/2, d], d = min(cap, base*2**n)."""

    def __init__(self, base: float = 0.2, cap: float = 30.0):
        self.base, self.cap, self.attempt = base, cap, 0

    def next(self) -> float:
        d = min(self.cap, self.base * (2 ** self.attempt))
        self.attempt += 1
        return random.uniform(d / 2, d)

    def reset(self):
        self.attempt = 0


class _Gone(Exception):
    pass


class Reflector:
    def __init__(self, client: ApiClient, info: KindInfo, namespace: Optional[str],
                 sink: Callable[[Key, Optional[dict]], None], *, backoff: Backoff,
                 discovery: Optional[Discovery] = None, on_synced: Callable[[], None] = lambda: None,
                 watch_timeout: int = 300, optional_retry: float = 60.0):
        self.client, self.namespace, self.sink = client, namespace, sink
        self.spec = info  # the kind and the versions routecore reads
        self.info = info  # the version read now (discovery chooses it before each list)
        self.discovery = discovery
        self._recheck = False  # the next discovery is fetched anew (after a 404)
        self.on_synced = on_synced  # called after each complete list (a list may report nothing)
        self.backoff = backoff
        self.watch_timeout = watch_timeout
        self.optional_retry = optional_retry
        self.resource_version: Optional[str] = None
        self.synced = False  # the first list has been reported
        self.connected = False  # a watch stream is open
        self.absent = False  # a kind the server serves at no version routecore reads
        self.known: Dict[Key, str] = {}  # key -> resourceVersion of what was reported
        self.relists = 0
        self.errors = 0
        self.last_error: Optional[str] = None

    def __repr__(self):
        return f"Reflector({self.spec.kind}, {self.namespace or '*'})"

    async def run(self):
        while True:
            try:
                if self.resource_version is None:
                    if not await self._choose():
                        await asyncio.sleep(self.optional_retry)
                        self._recheck = True
                        continue
                    await self._list()
                await self._watch()
                self.backoff.reset()  # a stream that ended normally (timeoutSeconds): resume now
            except asyncio.CancelledError:
                raise
            except _Gone:
                log.info("%r: resourceVersion %s expired (410): listing again", self, self.resource_version)
                self.resource_version = None
                await asyncio.sleep(self.backoff.next())
            except ApiError as exc:
                if exc.code == 410:
                    self.resource_version = None
                    await asyncio.sleep(self.backoff.next())
                    continue
                if exc.code == 404:  # no longer served as discovery said: ask again, then relist
                    self.resource_version = None
                    self._recheck = True
                await self._failed(exc)
            except (httpx.HTTPError, OSError, ValueError) as exc:
                await self._failed(exc)
            except Exception as exc:  # noqa: BLE001 - a reflector never dies; it logs and retries
                log.exception("%r: unexpected error", self)
                await self._failed(exc)

    async def _choose(self) -> bool:
        """Pick the version to list by discovery; False (and the kind reported empty) when the
        server serves none routecore reads."""
        if self.discovery is None:
            return True
        info = await self.discovery.resolve(self.spec, refresh=self._recheck)
        self._recheck = False
        if info is None:
            self._absent()
            return False
        if info != self.info:
            log.info("%r: reading %s (was %s)", self, info.api_version, self.info.api_version)
            self.known = dict.fromkeys(self.known)  # every object is reported again
            self.info = info
        return True

    async def _failed(self, exc):
        self.connected = False
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        delay = self.backoff.next()
        log.warning("%r: %s; retrying in %.2fs", self, self.last_error, delay)
        await asyncio.sleep(delay)

    def _absent(self):
        if not self.absent:
            served = sorted(self.discovery.served_versions(self.spec.group)) if self.discovery else []
            log.log(logging.INFO if self.spec.optional else logging.WARNING,
                    "%r: the API server serves %s.%s at none of the versions routecore reads (%s; "
                    "served versions of the group: %s); taken as none", self, self.spec.plural,
                    self.spec.group, ", ".join(self.spec.versions or (self.spec.version,)),
                    ", ".join(served) or "none")
        self.absent = True
        self.connected = False
        for key in list(self.known):
            del self.known[key]
            self.sink(key, None)
        self.synced = True
        self.on_synced()

    async def _list(self):
        items, rv = await self.client.list(self.info, self.namespace)
        self.relists += 1
        self.absent = False
        seen = set()
        for obj in items:
            obj = dict(obj, kind=self.info.kind, apiVersion=self.info.api_version)
            key = key_of(self.info, obj)
            seen.add(key)
            rv_obj = (obj.get("metadata") or {}).get("resourceVersion")
            if self.known.get(key) != rv_obj or not self.synced:
                self.known[key] = rv_obj
                self.sink(key, obj)
        for key in [k for k in self.known if k not in seen]:
            del self.known[key]
            self.sink(key, None)
        self.resource_version = rv
        self.synced = True
        self.on_synced()

    async def _watch(self):
        async for type_, obj in self.client.watch(self.info, self.namespace, self.resource_version,
                                                  timeout_seconds=self.watch_timeout):
            if type_ == "ERROR":
                if obj.get("code") == 410:
                    raise _Gone()
                raise ApiError(int(obj.get("code") or 500), obj)
            if not self.connected:
                self.connected = True
                self.backoff.reset()
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if type_ == "BOOKMARK":
                if rv:
                    self.resource_version = rv
                continue
            obj = dict(obj, kind=self.info.kind, apiVersion=self.info.api_version)
            key = key_of(self.info, obj)
            if type_ == "DELETED":
                self.known.pop(key, None)
                self.sink(key, None)
            elif type_ in ("ADDED", "MODIFIED"):
                self.known[key] = rv
                self.sink(key, obj)
            if rv:
                self.resource_version = rv
        self.connected = False
