"""Leader election on a coordination.k8s.io/v1 Lease (client-go's protocol).

Invariants:
- ``is_leader()`` is True only while the last successful acquire or renew started less than
  ``renew_deadline`` ago (monotonic clock): a leader that cannot renew stops calling itself leader
  before ``lease_duration`` runs out, so before any other replica may take over.
- A Lease held by another identity is taken over only when its record has not changed for
  ``leaseDurationSeconds`` as observed on our own clock (no comparison of clocks across hosts),
  or when its holder is empty (released).
- Every write carries the resourceVersion read: a 409 (AlreadyExists on create, Conflict on
  update) means another replica won; we follow.
- ``acquireTime`` is set and ``leaseTransitions`` counted up whenever this process starts holding
  the Lease (client-go's rule): taking it from another holder, taking a released one, and also
  finding our own identity in it without having written that record ourselves (a restarted
  process with the same identity); a renewal keeps both.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import time
from typing import Callable, Optional

import httpx

from ._client import ApiClient, ApiError
from ._kinds import LEASE

log = logging.getLogger("routecore.kube")


def _micro_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: ApiClient, namespace: str, name: str, identity: str, *,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 on_started: Optional[Callable[[], None]] = None,
                 on_stopped: Optional[Callable[[], None]] = None):
        if not retry_period < renew_deadline < lease_duration:
            raise ValueError("need retry_period < renew_deadline < lease_duration")
        self.client, self.namespace, self.name, self.identity = client, namespace, name, identity
        self.lease_duration, self.renew_deadline, self.retry_period = lease_duration, renew_deadline, retry_period
        self.on_started, self.on_stopped = on_started, on_stopped
        self._renewed_at: Optional[float] = None  # monotonic start of the last successful write
        self._observed = (None, 0.0)  # (resourceVersion, monotonic time it was first seen)
        self._leading = False
        self._holding = False  # the Lease record says us because this process wrote it so
        self.transitions = 0

    def is_leader(self) -> bool:
        return self._renewed_at is not None and time.monotonic() - self._renewed_at < self.renew_deadline

    async def run(self):
        while True:
            started = time.monotonic()
            try:
                won = await self._try(started)
            except asyncio.CancelledError:
                raise
            except (ApiError, httpx.HTTPError, OSError, ValueError) as exc:
                log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
                won = None  # unknown: a leader stays one until renew_deadline passes
            if won:
                self._renewed_at = started
            elif won is False:  # another replica holds it: lost at once
                self._renewed_at = None
            self._notify()
            await asyncio.sleep(self.retry_period)

    def _notify(self):
        leading = self.is_leader()
        if leading != self._leading:
            self._leading = leading
            log.info("lease %s/%s: %s", self.namespace, self.name,
                     "leading" if leading else "not leading")
            cb = self.on_started if leading else self.on_stopped
            if cb is not None:
                cb()

    def _spec(self, acquire: bool, old: Optional[dict] = None) -> dict:
        now = _micro_now()
        spec = dict(old or {})
        spec.update(holderIdentity=self.identity, leaseDurationSeconds=max(1, int(round(self.lease_duration))),
                    renewTime=now)
        if acquire:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if old else 0)
        return spec

    async def _try(self, started: float) -> bool:
        """True: we hold the Lease now; False: another replica does."""
        try:
            lease = await self.client.get(LEASE, self.namespace, self.name)
        except ApiError as exc:
            if exc.code != 404:
                raise
            body = {"apiVersion": LEASE.api_version, "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._spec(True)}
            try:
                await self.client.create(LEASE, self.namespace, body)
            except ApiError as exc2:
                if exc2.code == 409:
                    return False  # another replica created it first: follow
                raise
            self.transitions += 1
            self._holding = True
            return True
        spec = lease.get("spec") or {}
        rv = lease["metadata"].get("resourceVersion")
        if rv != self._observed[0]:
            self._observed = (rv, started)
        holder = spec.get("holderIdentity") or ""
        if holder != self.identity:
            self._holding = False
            duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
            if holder and started - self._observed[1] < duration:
                return False  # held and renewed recently enough
        acquire = not self._holding
        lease["spec"] = self._spec(acquire, spec)
        try:
            await self.client.replace(LEASE, self.namespace, self.name, lease)
        except ApiError as exc:
            if exc.code == 409:
                self._holding = False
                return False
            raise
        if acquire:
            self.transitions += 1
        self._holding = True
        return True

    async def release(self):
        """Give the Lease up (holder emptied) so that another replica takes over at once."""
        if not self.is_leader():
            return
        self._renewed_at = None
        self._holding = False
        self._notify()
        try:
            lease = await self.client.get(LEASE, self.namespace, self.name)
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"] = dict(lease["spec"], holderIdentity="", leaseDurationSeconds=1, renewTime=_micro_now())
                await self.client.replace(LEASE, self.namespace, self.name, lease)
        except (ApiError, httpx.HTTPError, OSError) as exc:
            log.info("lease %s/%s: release failed: %s", self.namespace, self.name, exc)
