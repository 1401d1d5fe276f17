"""API discovery: which version of each kind the API server serves, and so which one is read.

Invariants:
- A kind is read at the first of its ``versions`` (in order of preference, all accepted by
  routecore's parser: see _kinds.py) that the server lists in its discovery documents (``/apis``, then ``/apis/G/V`` for the
  group-versions that could matter); built-in kinds (core group) are always served, at v1.
- ``resolve`` answers from one snapshot of discovery shared by every reflector; a snapshot older
  than ``max_age`` (or ``refresh=True``) is fetched again first, once however many reflectors
  ask at the same time. ``None``: the server serves no version routecore reads.
- ``chosen`` maps each kind to the KindInfo last resolved for it (``None``: not served); the
  status writer addresses objects with it, so it writes at the version it read.
- Transport and API errors propagate: the caller (the reflector) backs off and retries.
"""
from __future__ import annotations

import asyncio
import time
from typing import Dict, Iterable, Optional, Set, Tuple

from ._client import ApiClient, ApiError
from ._kinds import KindInfo

Served = Set[Tuple[str, str, str]]  # (group, version, plural)


class Discovery:
    def __init__(self, client: ApiClient, kinds: Iterable[KindInfo], *, max_age: float = 5.0):
        self.client = client
        # every (group, version) worth a look: those of the kinds read
        self.wanted = {(k.group, v) for k in kinds if k.group for v in (k.versions or (k.version,))}
        self.max_age = max_age
        self.chosen: Dict[str, Optional[KindInfo]] = {}
        self.fetches = 0
        self._served: Optional[Served] = None
        self._groups: Dict[str, Set[str]] = {}  # group -> versions served (every resource)
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _snapshot(self, refresh: bool) -> Served:
        asked = time.monotonic()
        async with self._lock:
            fresh = self._served is not None and (
                self._fetched_at >= asked if refresh else asked - self._fetched_at < self.max_age)
            if not fresh:
                await self._fetch()
            assert self._served is not None
            return self._served

    async def _fetch(self):
        started = time.monotonic()
        doc = await self.client.request("GET", "/apis")
        groups: Dict[str, Set[str]] = {}
        for g in doc.get("groups") or ():
            if isinstance(g, dict) and g.get("name"):
                groups[g["name"]] = {v.get("version") for v in g.get("versions") or () if isinstance(v, dict)}
        served: Served = set()
        for group, version in sorted(self.wanted):
            if version not in groups.get(group, ()):
                continue
            try:
                rl = await self.client.request("GET", f"/apis/{group}/{version}")
            except ApiError as exc:
                if exc.code == 404:  # removed between the two requests
                    continue
                raise
            served |= {(group, version, r.get("name")) for r in rl.get("resources") or ()
                       if isinstance(r, dict) and "/" not in (r.get("name") or "/")}
        self._served, self._groups, self._fetched_at = served, groups, started
        self.fetches += 1

    async def resolve(self, info: KindInfo, refresh: bool = False) -> Optional[KindInfo]:
        """The KindInfo to read ``info``'s kind with (at its first version served), or None."""
        if not info.group:
            self.chosen[info.kind] = info
            return info
        versions = info.versions or (info.version,)
        served = await self._snapshot(refresh)
        version = next((v for v in versions if (info.group, v, info.plural) in served), None)
        out = None if version is None else info.at(version)
        self.chosen[info.kind] = out
        return out

    def served_versions(self, group: str) -> Set[str]:
        """The versions of ``group`` the last snapshot listed (for log lines)."""
        return set(self._groups.get(group, ()))
