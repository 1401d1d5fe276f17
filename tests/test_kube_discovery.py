"""routecore.kube picks, per kind, the newest version the API server serves (API discovery), skips
kinds not served (a log line and a metric), and looks again on relist: tested against the API
layouts of real Gateway API releases (tests/kubeapi/kinds.py), old and new."""
import json
import logging

import pytest

from kubeapi import KubeAPIServer
from kubeapi.objects import (CONTROLLER, backend_tls_policy, basic_cluster, gateway, listener_set,
                             stream_route, tcp_listener)
from routecore._serve.kube import KubeCollector
from routecore.kube import KubeSource
from test_kube import wait_for
from test_kubeapi import KUBECTL, kubectl, needs_kubectl

FAST = dict(debounce=0.05, lease_duration=2.0, renew_deadline=1.5, retry_period=0.2,
            backoff_base=0.05, backoff_cap=0.3, request_timeout=2.0, discovery_max_age=0.1,
            discovery_retry=0.3)


def cluster(api):
    """basic_cluster plus a TCP listener and TCPRoute, a ListenerSet and a BackendTLSPolicy."""
    basic_cluster(api)
    gw = gateway()
    gw["spec"]["listeners"].append(tcp_listener(port=9000))
    gw["spec"]["allowedListeners"] = {"namespaces": {"from": "All"}}
    api.apply(gw)
    api.apply(stream_route("TCPRoute", "db", backend="v1", section="tcp"))
    api.apply(listener_set("team", port=8080))
    api.apply(backend_tls_policy("v1-tls", "v1"))


@pytest.fixture
def make(tmp_path):
    made = []

    def _make(layout, **kw):
        api = KubeAPIServer(bookmark_interval=0.3, layout=layout).start()
        cluster(api)
        src = KubeSource(kubeconfig=api.write_kubeconfig(str(tmp_path / f"kc-{len(made)}")), **{**FAST, **kw})
        made.append((api, src))
        return api, src

    yield _make
    for api, src in made:
        src.stop()
        api.stop()


def api_version(src, kind, name, ns="shop"):
    obj = src.store.get((kind, ns, name))
    return None if obj is None else obj["apiVersion"]


def served_metric(src):
    (family,) = [m for m in KubeCollector(src).collect() if m.name == "routecore_kube_kind_served"]
    return {s.labels["kind"]: (s.labels["version"], s.value) for s in family.samples}


GW = "gateway.networking.k8s.io"


@pytest.mark.parametrize("layout, expect", [
    ("v1.6-standard", {"TCPRoute": "v1", "BackendTLSPolicy": "v1", "ListenerSet": "v1", "ReferenceGrant": "v1"}),
    # stream routes: v1alpha2 while served (its schema takes what either version holds)
    ("v1.6-experimental", {"TCPRoute": "v1alpha2", "BackendTLSPolicy": "v1", "ListenerSet": "v1",
                           "TLSRoute": "v1alpha2"}),
    ("v1.4-experimental", {"TCPRoute": "v1alpha2", "BackendTLSPolicy": "v1", "ListenerSet": None,
                           "TLSRoute": "v1alpha2", "ReferenceGrant": "v1beta1"}),
    ("v1.3-experimental", {"TCPRoute": "v1alpha2", "BackendTLSPolicy": "v1alpha3", "ListenerSet": None}),
    ("v1.2-standard", {"TCPRoute": None, "BackendTLSPolicy": None, "ListenerSet": None, "TLSRoute": None}),
])
def test_each_kind_is_read_at_the_newest_version_served(make, layout, expect, caplog):
    caplog.set_level(logging.INFO, logger="routecore.kube")
    api, src = make(layout, write_status=False)
    src.start(timeout=10)
    served = served_metric(src)
    for kind, version in expect.items():
        assert served[kind] == ((version, 1) if version else ("", 0)), kind
    names = {"TCPRoute": ("db", "tcproutes"), "BackendTLSPolicy": ("v1-tls", "backendtlspolicies"),
             "ListenerSet": ("team", "listenersets")}
    for kind, (name, plural) in names.items():
        version = expect[kind]
        assert api_version(src, kind, name) == (f"{GW}/{version}" if version else None), kind
        if version:  # listed and watched at that version, at no other
            assert {v for (p, v) in api.store.versions if p == plural} == {version}, kind
    # what is served is loaded: the TCP listener has its route, the ListenerSet its port
    assert any(r.name == "db" for r in src.router.config.routes) == (expect["TCPRoute"] is not None)
    if expect["ListenerSet"] is None:
        assert any("listenersets.gateway.networking.k8s.io at none of the versions" in r.getMessage()
                   for r in caplog.records)


def test_a_stream_route_written_at_v1alpha2_with_two_rules_is_taken_where_both_versions_are_served(make):
    """No conversion: the two-rule TCPRoute is served as it is at v1 too, where one rule is the
    limit; read at v1alpha2 it is taken (and accepted)."""
    api, src = make("v1.6-experimental")
    two = stream_route("TCPRoute", "two", backend="v1", section="tcp")
    two["spec"]["rules"].append({"backendRefs": [{"name": "v2", "port": 80}]})
    api.apply(two)
    src.start(timeout=10)
    assert not [i.message for i in src.router.config.issues if i.name == "two"]
    assert any(r.name == "two" for r in src.router.config.routes)
    assert api_version(src, "TCPRoute", "two") == f"{GW}/v1alpha2"

    def accepted():
        st = (api.get("tcproutes", "shop", "two").get("status") or {}).get("parents") or []
        return [c["status"] for p in st for c in p["conditions"] if c["type"] == "Accepted"]
    assert wait_for(accepted, what="the route's status") == ["True"]


def test_status_is_written_at_the_version_read(make):
    api, src = make("v1.6-standard")
    src.start(timeout=10)

    def ancestors():
        return (api.get("backendtlspolicies", "shop", "v1-tls").get("status") or {}).get("ancestors") or []
    (ours,) = wait_for(ancestors, what="the policy's ancestor status")
    assert ours["controllerName"] == CONTROLLER
    wait_for(lambda: (api.get("tcproutes", "shop", "db").get("status") or {}).get("parents"),
             what="the TCPRoute's status")
    assert api.store.versions.get(("backendtlspolicies", "v1alpha3"), 0) == 0
    assert api.store.versions.get(("tcproutes", "v1alpha2"), 0) == 0


def test_discovery_is_checked_again_on_relist_and_for_kinds_not_served(make):
    api, src = make("v1.3-experimental", write_status=False)
    src.start(timeout=10)
    assert api_version(src, "BackendTLSPolicy", "v1-tls") == f"{GW}/v1alpha3"
    assert api_version(src, "ListenerSet", "team") is None
    assert served_metric(src)["ListenerSet"] == ("", 0)
    # the newer CRDs are installed: v1alpha3 of BackendTLSPolicy no longer served, ListenerSet is
    api.serve_layout("v1.6-standard")
    api.compact()
    api.cut_watches()  # the watches end; resuming is refused (410): relist, discovery asked again
    wait_for(lambda: api_version(src, "BackendTLSPolicy", "v1-tls") == f"{GW}/v1", what="BackendTLSPolicy at v1")
    wait_for(lambda: api_version(src, "TCPRoute", "db") == f"{GW}/v1", what="TCPRoute at v1")
    wait_for(lambda: api_version(src, "ListenerSet", "team") == f"{GW}/v1", what="the ListenerSet read")
    wait_for(lambda: served_metric(src)["ListenerSet"] == ("v1", 1), what="the metric")
    wait_for(lambda: [ls.name for ls in src.router.config.listener_sets] == ["team"], what="the ListenerSet loaded")
    assert src.ready and src.stats["build_errors"] == 0
    # back to a cluster without TCPRoutes: the route goes, nothing crashes
    api.serve_layout("v1.2-standard")
    api.compact()
    api.cut_watches()
    wait_for(lambda: api_version(src, "TCPRoute", "db") is None, what="TCPRoute gone")
    assert served_metric(src)["TCPRoute"] == ("", 0)
    wait_for(lambda: not any(r.name == "db" for r in src.router.config.routes), what="the route unloaded")


@needs_kubectl
def test_kubectl_reads_the_discovery_of_old_and_new_layouts(tmp_path):
    for layout, lset, btls in (("v1.3-experimental", "xlistenersets.gateway.networking.x-k8s.io",
                                f"{GW}/v1alpha3"),
                               ("v1.6-standard", "listenersets.gateway.networking.k8s.io", f"{GW}/v1")):
        api = KubeAPIServer(layout=layout).start()
        try:
            api.kubeconfig = api.write_kubeconfig(str(tmp_path / f"kc-{layout}"))
            versions = kubectl(api, "api-versions").stdout.split()
            assert btls in versions
            resources = kubectl(api, "api-resources", "--api-group", lset.split(".", 1)[1], "-o", "name")
            assert lset in resources.stdout.split()
            assert kubectl(api, "get", "lset", "-A", "-o", "name").returncode == 0  # the short name resolves
            pol = backend_tls_policy("p", "v1")
            pol["apiVersion"] = btls
            (tmp_path / "p.json").write_text(json.dumps(pol))
            api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
            kubectl(api, "apply", "-f", str(tmp_path / "p.json"))
            got = json.loads(kubectl(api, "get", "backendtlspolicies", "-n", "shop", "p", "-o", "json").stdout)
            assert got["apiVersion"] == btls
            other = "v1alpha3" if btls.endswith("/v1") else "v1"
            missing = kubectl(api, "get", f"backendtlspolicies.{other}.{GW}", "-A", check=False)
            assert missing.returncode == 1
            # a body whose apiVersion is not the URL's is refused, as kube-apiserver does
            pol["metadata"]["name"] = "q"
            pol["apiVersion"] = f"{GW}/{other}"
            (tmp_path / "q.json").write_text(json.dumps(pol))
            raw = kubectl(api, "create", "--raw", f"/apis/{btls}/namespaces/shop/backendtlspolicies",
                          "-f", str(tmp_path / "q.json"), check=False)
            assert raw.returncode == 1 and "does not match the expected API version" in raw.stderr
        finally:
            api.stop()
    assert KUBECTL
