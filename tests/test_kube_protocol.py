"""Protocol details of routecore.kube against the API test server that decide whether it works on
a real API server: Lease bookkeeping as client-go keeps it, and observedGeneration that never
claims a spec the configuration has not seen."""
import asyncio
import time

from kubeapi.objects import CONTROLLER, basic_cluster, route
from routecore.kube import ApiClient, ClientConfig, KubeSource, LeaderElector
from test_kube import api  # noqa: F401,F811 - the fixture: a running API test server with a kubeconfig

OLD = "2020-01-01T00:00:00.000000Z"


def test_lease_acquire_time_and_transitions_count_each_new_holding(api):
    api.apply({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "l", "namespace": "default"},
               "spec": {"holderIdentity": "a", "leaseDurationSeconds": 2, "acquireTime": OLD,
                        "renewTime": OLD, "leaseTransitions": 3}})

    def spec():
        return api.get("leases", "default", "l")["spec"]

    async def lead(elector):
        task = asyncio.create_task(elector.run())
        for _ in range(200):
            if elector.is_leader():
                return task
            await asyncio.sleep(0.02)
        raise AssertionError("not leading")

    async def main():
        client = ApiClient(ClientConfig.from_kubeconfig(api.kubeconfig))
        timing = dict(lease_duration=2.0, renew_deadline=1.5, retry_period=0.1)
        a = LeaderElector(client, "default", "l", "a", **timing)
        # the record names "a", written by an earlier process of that identity: a new holding
        task = await lead(a)
        first = spec()
        assert first["holderIdentity"] == "a" and first["leaseTransitions"] == 4
        assert first["acquireTime"] != OLD
        await asyncio.sleep(0.35)
        renewed = spec()  # renewals keep acquireTime and the count
        assert renewed["renewTime"] > first["renewTime"]
        assert (renewed["acquireTime"], renewed["leaseTransitions"]) == (first["acquireTime"], 4)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await a.release()
        assert spec()["holderIdentity"] == ""
        b = LeaderElector(client, "default", "l", "b", **timing)
        task = await lead(b)
        taken = spec()
        assert taken["holderIdentity"] == "b" and taken["leaseTransitions"] == 5
        assert taken["acquireTime"] > renewed["acquireTime"]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()

    asyncio.run(main())


def test_a_conflicting_status_write_never_claims_a_generation_not_yet_built(api, monkeypatch):
    """The first status write of shop/r0 meets a spec change made meanwhile (a 409): the re-read
    object is generation 2, whose backend does not exist, while the configuration serving was
    built from generation 1. No status written may say generation 2 with ResolvedRefs True."""
    basic_cluster(api)
    real = ApiClient.replace
    written = []
    bumped = []

    async def change_spec_then_replace(self, info, ns, name, obj, sub=None):
        if sub == "status" and info.kind == "HTTPRoute" and name == "r0" and not bumped:
            bumped.append(True)
            api.apply(route("r0", backend="missing"))  # generation 2
        out = await real(self, info, ns, name, obj, sub)
        if sub == "status" and name == "r0":
            written.append(out)
        return out

    monkeypatch.setattr(ApiClient, "replace", change_spec_then_replace)
    # a long debounce: the spec change is built well after the 409 re-read
    src = KubeSource(kubeconfig=api.kubeconfig, debounce=0.5, lease_duration=2.0, renew_deadline=1.5,
                     retry_period=0.2, backoff_base=0.05, backoff_cap=0.3)
    try:
        src.start(timeout=10)

        def ours(obj):
            entry = next(p for p in obj["status"]["parents"] if p["controllerName"] == CONTROLLER)
            return {c["type"]: c for c in entry["conditions"]}

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                ours(w)["ResolvedRefs"]["observedGeneration"] == 2 for w in written):
            time.sleep(0.05)
        assert bumped and written
        for w in written:
            c = ours(w)
            gen = c["ResolvedRefs"]["observedGeneration"]
            assert w["metadata"]["generation"] == gen
            assert c["ResolvedRefs"]["status"] == ("True" if gen == 1 else "False"), (gen, c["ResolvedRefs"])
        assert ours(written[-1])["ResolvedRefs"]["observedGeneration"] == 2
    finally:
        src.stop()


def test_the_backoff_restarts_once_a_reconnected_watch_delivers_an_event(api):
    from routecore.kube._kinds import HTTP_ROUTE
    from routecore.kube._reflector import Backoff, Reflector

    basic_cluster(api)

    async def main():
        client = ApiClient(ClientConfig.from_kubeconfig(api.kubeconfig))
        backoff = Backoff(base=0.02, cap=0.1)
        reflector = Reflector(client, HTTP_ROUTE, None, lambda key, obj: None, backoff=backoff)
        task = asyncio.create_task(reflector.run())
        attempts = []
        try:
            for _ in range(4):
                for _ in range(300):  # an event (a bookmark at the latest) on the open stream
                    if reflector.connected:
                        break
                    await asyncio.sleep(0.01)
                assert reflector.connected
                attempts.append(backoff.attempt)
                api.cut_watches()
                for _ in range(300):
                    if not reflector.connected:
                        break
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.aclose()
        return attempts, reflector.errors

    attempts, errors = asyncio.run(main())
    assert errors >= 3 and attempts == [0, 0, 0, 0]


def test_a_server_answering_every_watch_with_410_is_not_hammered_with_lists(api):
    """Each relist after a 410 waits the backoff (a server that expires every watch would
    otherwise get list after list as fast as it answers), and the backoff grows meanwhile."""
    from routecore.kube._kinds import HTTP_ROUTE
    from routecore.kube._reflector import Backoff, Reflector

    class Recording(Backoff):
        def __init__(self):
            super().__init__(base=0.02, cap=0.1)
            self.delays = []

        def next(self):
            self.delays.append(super().next())
            return self.delays[-1]

    basic_cluster(api)
    api.store.expire_watches = True

    async def main():
        client = ApiClient(ClientConfig.from_kubeconfig(api.kubeconfig))
        backoff = Recording()
        reflector = Reflector(client, HTTP_ROUTE, None, lambda key, obj: None, backoff=backoff)
        task = asyncio.create_task(reflector.run())
        for _ in range(500):
            if reflector.relists >= 4:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
        return reflector, backoff

    reflector, backoff = asyncio.run(main())
    assert reflector.relists >= 4
    assert len(backoff.delays) >= reflector.relists - 1  # one wait before every relist
    assert max(backoff.delays) >= 0.04  # and growing: the 3rd wait and later are in [0.04, 0.1]
