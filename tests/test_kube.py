"""routecore.kube against the Kubernetes API test server (tests/kubeapi): sync, changes, 410,
dropped watches, outages, status, leader election. Short lease and debounce timings keep it fast."""
import asyncio
import base64
import json
import os
import time

import pytest

from kubeapi import KubeAPIServer
from kubeapi.objects import (CONTROLLER, backend_tls_policy, basic_cluster, gateway, gateway_class,
                             listener_set, route, service, stream_route, tcp_listener)
from routecore.kube import ClientConfig, ConfigurationError, KubeSource

FAST = dict(debounce=0.05, lease_duration=2.0, renew_deadline=1.5, retry_period=0.2,
            backoff_base=0.05, backoff_cap=0.5, request_timeout=2.0, seed=1)


def wait_for(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def api(tmp_path):
    srv = KubeAPIServer(bookmark_interval=0.3).start()
    srv.kubeconfig = srv.write_kubeconfig(str(tmp_path / "kubeconfig"))
    yield srv
    srv.stop()


@pytest.fixture
def start(api):
    sources = []

    def _start(**kw):
        src = KubeSource(kubeconfig=api.kubeconfig, **{**FAST, **kw})
        sources.append(src)
        src.start(timeout=10)
        return src

    yield _start
    for s in sources:
        s.stop()


def backend(src, path="/", host="a.example"):
    d = src.router.gateway("edge", namespace="infra", port=80).route("GET", path, host=host)
    return None if d.backend is None else d.backend.name


def parents(api, name, ns="shop"):
    return (api.get("httproutes", ns, name).get("status") or {}).get("parents") or []


def ours(api, name):
    return [p for p in parents(api, name) if p["controllerName"] == CONTROLLER]


def conds(entry):
    return {c["type"]: c for c in entry["conditions"]}


def test_initial_sync_then_a_route_change_is_applied(api, start):
    basic_cluster(api, routes=3)
    seen = []
    src = start(on_change=lambda router, keys: seen.append(set(keys)))
    assert src.ready and backend(src) == "v1" and backend(src, "/p2") == "v1"
    assert ("HTTPRoute", "shop", "r2") in seen[0]  # the first call names every object
    api.apply(route("r0", backend="v2"))
    wait_for(lambda: backend(src) == "v2", what="the change to be live")
    assert backend(src, "/p2") == "v1"
    assert ("HTTPRoute", "shop", "r0") in seen[-1]
    api.remove("httproutes", "shop", "r2")
    wait_for(lambda: backend(src, "/p2") == "v2", what="the deletion to be live")


def test_a_change_is_applied_incrementally_and_answers_as_a_full_load(api, start):
    basic_cluster(api, routes=3)
    api.apply(gateway("other", port=81))
    src = start(write_status=False)
    other = src.router.gateway("other", namespace="infra", port=81)
    kept = next(r for r in src.router.config.routes if r.name == "r1")
    api.apply(route("r0", backend="v2"))
    wait_for(lambda: backend(src) == "v2", what="the change to be live")
    # only the changed route was parsed again, only its Gateway's view rebuilt
    assert next(r for r in src.router.config.routes if r.name == "r1") is kept
    assert src.router.gateway("other", namespace="infra", port=81) is other
    assert src.stats["last_apply_seconds"] is not None
    full = start(write_status=False, incremental=False)  # a full load of the same objects
    for path in ("/", "/p1", "/p2", "/x"):
        assert src.router.gateway("edge", namespace="infra", port=80).route(
            "GET", path, host="a.example").to_dict() == full.router.gateway(
            "edge", namespace="infra", port=80).route("GET", path, host="a.example").to_dict()
    api.remove("httproutes", "shop", "r1")
    wait_for(lambda: backend(src, "/p1") == "v2" and backend(full, "/p1") == "v2",
             what="the deletion to be live in both")
    assert src.router.gateway("other", namespace="infra", port=81) is other


def test_status_and_metadata_only_changes_do_not_reload(api, start):
    basic_cluster(api)
    src = start(write_status=False)
    reloads, batches, generation = src.stats["reloads"], src.stats["batches"], src.router.generation
    obj = api.get("httproutes", "shop", "r0")
    obj["metadata"]["annotations"] = {"note": "x"}
    api.apply(obj)
    api.apply(dict(obj, status={"parents": []}))
    wait_for(lambda: src.stats["batches"] > batches, what="the batch")
    time.sleep(0.2)
    assert src.stats["reloads"] == reloads and src.router.generation == generation


def test_gateways_of_other_classes_are_not_served(api, start):
    basic_cluster(api)
    api.apply(gateway_class("other", controller="example.com/other"))
    api.apply(gateway("theirs", cls="other"))
    src = start()
    with pytest.raises(LookupError):
        src.router.gateway("theirs", namespace="infra", port=80)
    wait_for(lambda: ours(api, "r0"), what="status")
    assert "status" not in api.get("gateways", "infra", "theirs")
    assert "status" not in api.get("gatewayclasses", None, "other")


def test_namespace_restriction(api, start):
    basic_cluster(api)
    api.apply(route("elsewhere", ns="other", path="/other", backend="v9"))
    src = start(namespaces=["infra", "shop"], write_status=False)
    assert backend(src, "/other") == "v1"  # the route in `other` is not seen
    unrestricted = start(write_status=False)
    assert backend(unrestricted, "/other") is None  # v9 in `other` has no ReferenceGrant: 500


def test_relist_after_410_sees_what_changed_meanwhile(api, start):
    basic_cluster(api, routes=2)
    src = start(write_status=False)
    relists = sum(r.relists for r in src.reflectors)
    assert backend(src, "/p1") == "v1"
    api.go_down(0.5)  # watches cut; changes made meanwhile, then the history is compacted
    api.remove("httproutes", "shop", "r1")
    api.apply(route("r0", backend="v2"))
    api.compact()
    wait_for(lambda: backend(src, "/p1") == "v2", what="the relist")
    assert sum(r.relists for r in src.reflectors) > relists


def test_reconnect_after_dropped_watches(api, start):
    basic_cluster(api)
    src = start(write_status=False)
    api.cut_watches()
    api.apply(route("r0", backend="v2"))
    wait_for(lambda: backend(src) == "v2", what="the change after reconnecting")
    assert sum(r.errors for r in src.reflectors) > 0  # the cut streams were noticed


def test_five_second_outage_keeps_the_last_configuration(api, start):
    basic_cluster(api)
    src = start(write_status=False)
    api.go_down(5.0)
    deadline = time.monotonic() + 4.5
    while time.monotonic() < deadline:
        assert backend(src) == "v1"
        time.sleep(0.1)
    assert not src.connected
    wait_for(lambda: not api.is_down(), timeout=2)
    api.apply(route("r0", backend="v2"))
    wait_for(lambda: backend(src) == "v2", timeout=5, what="a change after the outage")


def test_status_conditions_and_observed_generation(api, start):
    basic_cluster(api, routes=2)
    src = start()
    wait_for(lambda: ours(api, "r1") and ours(api, "r0"), what="route status")
    entry = ours(api, "r0")[0]
    c = conds(entry)
    assert entry["parentRef"]["name"] == "edge" and entry["parentRef"]["namespace"] == "infra"
    assert c["Accepted"]["status"] == "True" and c["ResolvedRefs"]["status"] == "True"
    assert {x["observedGeneration"] for x in entry["conditions"]} == {1}
    gw = wait_for(lambda: api.get("gateways", "infra", "edge").get("status"), what="gateway status")
    assert conds(gw)["Accepted"]["status"] == "True" and conds(gw)["Programmed"]["status"] == "True"
    assert gw["listeners"][0]["attachedRoutes"] == 2
    assert conds(gw["listeners"][0])["Programmed"]["status"] == "True"
    gc = wait_for(lambda: api.get("gatewayclasses", None, "routecore").get("status"), what="class status")
    assert conds(gc)["Accepted"]["status"] == "True" and conds(gc)["Accepted"]["observedGeneration"] == 1
    before = c["Accepted"]["lastTransitionTime"]
    time.sleep(1.1)  # a new lastTransitionTime would differ by a second
    api.apply(route("r0", backend="missing"))  # generation 2; ResolvedRefs turns False
    entry = wait_for(lambda: [p for p in ours(api, "r0")
                              if conds(p)["Accepted"].get("observedGeneration") == 2], what="gen 2")[0]
    c2 = conds(entry)
    assert c2["ResolvedRefs"]["status"] == "False" and c2["ResolvedRefs"]["reason"] == "BackendNotFound"
    assert c2["Accepted"]["lastTransitionTime"] == before  # status unchanged: time kept
    assert c2["ResolvedRefs"]["lastTransitionTime"] != before
    assert backend(src) is None  # and routing agrees: the invalid backend's share is a 500


def _other_controllers_entry(ref_key, status, reason):
    """A status entry (``parentRef`` or ``ancestorRef``) written by another controller."""
    return {ref_key: {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "x",
                      "name": "mesh"}, "controllerName": "example.com/other",
            "conditions": [{"type": "Accepted", "status": status, "reason": reason, "message": "m",
                            "lastTransitionTime": "2020-01-01T00:00:00Z", "observedGeneration": 1}]}


def test_other_controllers_entries_are_left_untouched(api, start):
    basic_cluster(api)
    theirs = _other_controllers_entry("parentRef", "False", "Theirs")
    obj = api.get("httproutes", "shop", "r0")
    obj["status"] = {"parents": [theirs]}
    api.apply(obj)
    start()
    wait_for(lambda: ours(api, "r0"), what="our entry")
    assert parents(api, "r0")[0] == theirs and len(parents(api, "r0")) == 2
    # they rewrite theirs meanwhile (our next write must not undo it: read-modify-write)
    obj = api.get("httproutes", "shop", "r0")
    theirs2 = dict(theirs, conditions=[dict(theirs["conditions"][0], reason="Changed")])
    obj["status"]["parents"][0] = theirs2
    api.apply(obj)
    api.apply(route("r0", backend="missing"))
    wait_for(lambda: conds(ours(api, "r0")[0])["ResolvedRefs"]["status"] == "False", what="our update")
    assert parents(api, "r0")[0] == theirs2


def test_own_writes_do_not_trigger_more_writes(api, start):
    basic_cluster(api, routes=3)
    src = start()
    wait_for(lambda: all(ours(api, f"r{i}") for i in range(3)), what="status")
    time.sleep(0.5)
    writes = api.count("update", "httproutes", "status"), api.count("update", "gateways", "status")
    time.sleep(1.5)  # bookmarks, lease renewals and our own MODIFIED events come and go
    assert (api.count("update", "httproutes", "status"), api.count("update", "gateways", "status")) == writes
    api.apply(route("r1", path="/moved"))  # one route's generation changes: one write for it
    wait_for(lambda: conds(ours(api, "r1")[0])["Accepted"]["observedGeneration"] == 2, what="gen 2")
    time.sleep(1.0)
    assert api.count("update", "httproutes", "status") == writes[0] + 1
    assert api.count("update", "gateways", "status") == writes[1]  # attachedRoutes did not change
    assert src.stats["status_writes"] == api.count("update", "httproutes", "status") + \
        api.count("update", "gateways", "status") + api.count("update", "gatewayclasses", "status")


def test_two_controllers_only_the_leader_writes_and_the_other_takes_over(api, start):
    basic_cluster(api)
    a = start(identity="a")
    b = start(identity="b")
    wait_for(lambda: a.is_leader() or b.is_leader(), what="a leader")
    leader, follower = (a, b) if a.is_leader() else (b, a)
    wait_for(lambda: ours(api, "r0"), what="status")
    api.apply(route("r0", backend="v2"))
    wait_for(lambda: ours(api, "r0") and conds(ours(api, "r0")[0])["Accepted"]["observedGeneration"] == 2)
    assert follower.stats["status_writes"] == 0 and leader.stats["status_writes"] > 0
    assert not follower.is_leader()

    async def crash_release():  # stop without giving the Lease up, as a crashed replica does
        return None

    leader.elector.release = crash_release
    stopped = time.monotonic()
    leader.stop()
    wait_for(follower.is_leader, timeout=4.0, what="the take-over")
    # lease duration + retry period, plus slack for a loaded machine (CI shares two cores)
    assert time.monotonic() - stopped <= 2.0 + 0.2 + 1.5
    lease = api.get("leases", "default", "routecore-gateway-controller")
    assert lease["spec"]["holderIdentity"] == follower.identity
    assert lease["spec"]["leaseTransitions"] >= 1
    api.apply(route("r0", backend="missing"))
    wait_for(lambda: conds(ours(api, "r0")[0])["ResolvedRefs"]["status"] == "False", what="new leader writes")
    # the server shows the write before the writer has read its answer and counted it
    wait_for(lambda: follower.stats["status_writes"] > 0, what="the new leader's count")


def test_graceful_stop_hands_the_lease_over_at_once(api, start):
    basic_cluster(api)
    a = start(identity="a", lease_duration=30.0, renew_deadline=20.0)
    wait_for(a.is_leader, what="a leads")
    b = start(identity="b", lease_duration=30.0, renew_deadline=20.0)
    a.stop()  # releases the Lease: b need not wait 30 s
    wait_for(b.is_leader, timeout=3.0, what="b to lead")


def test_lost_lease_stops_status_writes_at_once(api, start):
    basic_cluster(api)
    a = start(identity="a", lease_duration=30.0, renew_deadline=20.0)
    wait_for(a.is_leader, what="a leads")
    wait_for(lambda: ours(api, "r0") and api.get("gateways", "infra", "edge").get("status"), what="status")
    time.sleep(0.3)  # the first round of writes is over
    lease = api.get("leases", "default", "routecore-gateway-controller")
    lease["spec"]["holderIdentity"] = "someone-else"
    api.apply(lease)  # another replica took it (say, after a partition)
    wait_for(lambda: not a.is_leader(), timeout=2.0, what="a to notice")
    writes = a.stats["status_writes"]
    api.apply(route("r0", backend="v2"))
    wait_for(lambda: backend(a) == "v2")
    time.sleep(0.5)
    assert a.stats["status_writes"] == writes


def test_asyncio_use(api):
    basic_cluster(api)

    async def main():
        async with KubeSource(kubeconfig=api.kubeconfig, write_status=False, **FAST) as src:
            assert src.ready
            first = src.router.gateway("edge", namespace="infra", port=80).route("GET", "/", host="h")
            api.apply(route("r0", backend="v2"))
            for _ in range(250):
                await asyncio.sleep(0.02)
                d = src.router.gateway("edge", namespace="infra", port=80).route("GET", "/", host="h")
                if d.backend.name == "v2":
                    return first.backend.name, d.backend.name
        return None

    assert asyncio.run(main()) == ("v1", "v2")


def test_unreachable_api_server_at_start_times_out_cleanly(tmp_path):
    srv = KubeAPIServer()
    kc = srv.write_kubeconfig(str(tmp_path / "kc"))
    srv.server_close()  # nothing listens on that port any more
    src = KubeSource(kubeconfig=kc, **FAST)
    with pytest.raises(TimeoutError):
        src.start(timeout=1.0)
    assert src.router is None


# --- configuration ------------------------------------------------------------------------------

def test_kubeconfig_context_token_and_certificate_data(tmp_path):
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "one",
           "clusters": [{"name": "c1", "cluster": {"server": "https://one:6443", "certificate-authority-data": ca}},
                        {"name": "c2", "cluster": {"server": "http://two:8080"}}],
           "users": [{"name": "u1", "user": {"token": "t1"}}, {"name": "u2", "user": {"tokenFile": "tok"}},
                     {"name": "u3", "user": {"exec": {"command": "aws"}}}],
           "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u1"}},
                        {"name": "two", "context": {"cluster": "c2", "user": "u2", "namespace": "ns2"}},
                        {"name": "three", "context": {"cluster": "c2", "user": "u3"}}]}
    path = tmp_path / "config"
    path.write_text(json.dumps(doc))
    (tmp_path / "tok").write_text("t2\n")
    one = ClientConfig.from_kubeconfig(str(path))
    assert one.server == "https://one:6443" and one.ca_data.startswith(b"-----BEGIN")
    assert one.headers()["Authorization"] == "Bearer t1" and one.namespace == "default"
    two = ClientConfig.from_kubeconfig(str(path), context="two")
    assert two.server == "http://two:8080" and two.namespace == "ns2"
    assert two.headers()["Authorization"] == "Bearer t2"
    with pytest.raises(ConfigurationError, match="exec"):
        ClientConfig.from_kubeconfig(str(path), context="three")
    with pytest.raises(ConfigurationError, match="no context named 'four'"):
        ClientConfig.from_kubeconfig(str(path), context="four")


def test_in_cluster_configuration(tmp_path, monkeypatch):
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "namespace").write_text("gateways")
    (tmp_path / "ca.crt").write_text("")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cfg = ClientConfig.in_cluster(str(tmp_path))
    assert cfg.server == "https://10.0.0.1:443" and cfg.namespace == "gateways"
    assert cfg.headers()["Authorization"] == "Bearer sa-token"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(ConfigurationError, match="not in a cluster"):
        ClientConfig.in_cluster(str(tmp_path))


# --- a real cluster ------------------------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get("ROUTECORE_KUBECONFIG"),
                    reason="set ROUTECORE_KUBECONFIG to a kubeconfig to run against a real cluster")
def test_real_cluster_sync_read_only():
    src = KubeSource(kubeconfig=os.environ["ROUTECORE_KUBECONFIG"],
                     context=os.environ.get("ROUTECORE_KUBE_CONTEXT"), write_status=False)
    try:
        router = src.start(timeout=60)
        assert src.ready and router is not None and src.synced
    finally:
        src.stop()


def test_a_spec_the_status_writer_reads_first_is_still_applied(api, start):
    """The status writer's 409 re-read puts a newer object (a spec change) in the store before
    the watch brings it; the watch's event then changes nothing in the store, and the change
    must be applied all the same."""
    basic_cluster(api)
    src = start()
    wait_for(lambda: src.is_leader() and src.stats["status_writes"] > 0, what="the first writes")
    real = src.client.replace
    done = []

    async def change_spec_then_replace(info, ns, name, obj, sub=None):
        if sub == "status" and info.kind == "HTTPRoute" and not done:
            done.append(1)
            api.cut_watches()  # the watch brings the change only after a reconnect (and relist)
            api.apply(route("r0", backend="v2"))
            api.compact()
        return await real(info, ns, name, obj, sub)

    src.client.replace = change_spec_then_replace
    api.apply(dict(route("r0"), metadata={"name": "r0", "namespace": "shop",
                                          "annotations": {"status": "again"}},
                   spec=dict(route("r0")["spec"], hostnames=["a.example"])))
    wait_for(lambda: bool(done), timeout=15, what="the status write")
    wait_for(lambda: backend(src) == "v2", timeout=10, what="the change read by the status writer")
    src.client.replace = real


def test_tcp_route_parent_status_and_observed_generation(api, start):
    basic_cluster(api)
    gw = gateway()
    gw["spec"]["listeners"].append(tcp_listener(port=9000))
    api.apply(gw)
    api.apply(stream_route("TCPRoute", "db", backend="v1", section="tcp"))

    def entry():
        return [p for p in (api.get("tcproutes", "shop", "db").get("status") or {}).get("parents") or ()
                if p["controllerName"] == CONTROLLER]
    start()
    (ours_,) = wait_for(entry, what="TCPRoute status")
    c = conds(ours_)
    assert ours_["parentRef"] == {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                  "namespace": "infra", "name": "edge", "sectionName": "tcp"}
    assert c["Accepted"]["status"] == "True" and c["ResolvedRefs"]["status"] == "True"
    assert {x["observedGeneration"] for x in ours_["conditions"]} == {1}
    listeners = {l["name"]: l for l in wait_for(
        lambda: api.get("gateways", "infra", "edge").get("status"), what="gateway status")["listeners"]}
    assert listeners["tcp"]["attachedRoutes"] == 1
    time.sleep(0.5)
    writes = api.count("update", "tcproutes", "status")
    time.sleep(1.0)  # our own MODIFIED event comes back: no second write
    assert api.count("update", "tcproutes", "status") == writes
    api.apply(stream_route("TCPRoute", "db", backend="missing", section="tcp"))  # generation 2
    (ours_,) = wait_for(lambda: [p for p in entry() if conds(p)["Accepted"]["observedGeneration"] == 2],
                        what="gen 2")
    assert conds(ours_)["ResolvedRefs"]["status"] == "False"
    assert conds(ours_)["ResolvedRefs"]["reason"] == "BackendNotFound"
    assert conds(ours_)["Accepted"]["lastTransitionTime"] == c["Accepted"]["lastTransitionTime"]


def test_listener_set_status_and_gateway_attached_listener_sets(api, start):
    basic_cluster(api)
    gw = gateway()
    gw["spec"]["allowedListeners"] = {"namespaces": {"from": "All"}}
    api.apply(gw)
    api.apply(gateway(name="theirs", cls="other"))
    api.apply(gateway_class("other", controller="example.com/other"))
    api.apply(listener_set("team", port=8080))
    api.apply(listener_set("elsewhere", gateway=("infra", "theirs"), port=8081))
    team = route("team", backend="v2")
    team["spec"]["parentRefs"] = [{"kind": "ListenerSet", "name": "team",
                                   "group": "gateway.networking.k8s.io"}]
    api.apply(team)
    start()
    st = wait_for(lambda: api.get("listenersets", "shop", "team").get("status"), what="ListenerSet status")
    assert conds(st)["Accepted"]["status"] == "True" and conds(st)["Programmed"]["status"] == "True"
    assert conds(st)["Accepted"]["observedGeneration"] == 1
    (entry,) = st["listeners"]
    assert entry["name"] == "team-web" and entry["attachedRoutes"] == 1
    assert conds(entry)["Accepted"]["status"] == "True" and "lastTransitionTime" in conds(entry)["Accepted"]
    gw_status = wait_for(lambda: (api.get("gateways", "infra", "edge").get("status") or {})
                         .get("attachedListenerSets") == 1 and api.get("gateways", "infra", "edge")["status"],
                         what="attachedListenerSets")
    assert [l["name"] for l in gw_status["listeners"]] == ["web"]  # its own listeners only
    (parent,) = wait_for(lambda: ours(api, "team"), what="route status")
    assert parent["parentRef"]["kind"] == "ListenerSet" and conds(parent)["Accepted"]["status"] == "True"
    time.sleep(0.5)
    assert "status" not in api.get("listenersets", "shop", "elsewhere")  # another controller's Gateway
    writes = api.count("update", "listenersets", "status")
    time.sleep(1.0)
    assert api.count("update", "listenersets", "status") == writes  # no write loop


def test_backend_tls_policy_ancestor_status_keeps_other_controllers_entries(api, start):
    basic_cluster(api)
    api.apply(backend_tls_policy("v1-tls", "v1"))
    theirs = _other_controllers_entry("ancestorRef", "True", "Accepted")
    obj = api.get("backendtlspolicies", "shop", "v1-tls")
    obj["status"] = {"ancestors": [theirs]}
    api.apply(obj)

    def ancestors():
        return (api.get("backendtlspolicies", "shop", "v1-tls").get("status") or {}).get("ancestors") or []
    start()
    wait_for(lambda: len(ancestors()) == 2, what="our ancestor entry")
    first, ours_ = ancestors()
    assert first == theirs
    assert ours_["controllerName"] == CONTROLLER
    assert ours_["ancestorRef"] == {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                    "namespace": "infra", "name": "edge"}
    c = conds(ours_)
    assert c["Accepted"]["status"] == "True" and c["ResolvedRefs"]["status"] == "True"
    assert {x["observedGeneration"] for x in ours_["conditions"]} == {1}
    # the only route to v1 moves to v2: the Gateway is no ancestor any more; theirs stays
    api.apply(route("r0", backend="v2"))
    wait_for(lambda: ancestors() == [theirs], what="our entry removed")
    writes = api.count("update", "backendtlspolicies", "status")
    time.sleep(1.0)
    assert api.count("update", "backendtlspolicies", "status") == writes
