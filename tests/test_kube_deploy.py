"""deploy/: the manifests parse, kubectl accepts those the API test server serves, and the RBAC
grants exactly what routecore.kube does against the API server (recorded by the test server)."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from kubeapi import KubeAPIServer
from kubeapi.objects import (backend_tls_policy, basic_cluster, gateway, listener_set, route, stream_route,
                             tcp_listener)
from routecore.kube import DEFAULT_CONTROLLER, WATCHED, ApiClient, KubeSource

DEPLOY = Path(__file__).parent.parent / "deploy"


def manifests():
    out = []
    for f in sorted(DEPLOY.glob("*.yaml")):
        out.extend(d for d in yaml.safe_load_all(f.read_text()) if d)
    return out


def by_kind(kind):
    return [d for d in manifests() if d["kind"] == kind]


def granted():
    """{(verb, group, resource)} the ClusterRole and Role grant."""
    out = set()
    for role in by_kind("ClusterRole") + by_kind("Role"):
        for rule in role["rules"]:
            for g in rule["apiGroups"]:
                for r in rule["resources"]:
                    for v in rule["verbs"]:
                        out.add((v, g, r))
    return out


def test_manifests_are_consistent():
    (gc,) = by_kind("GatewayClass")
    assert gc["spec"]["controllerName"] == DEFAULT_CONTROLLER
    (dep,) = by_kind("Deployment")
    pod = dep["spec"]["template"]["spec"]
    (sa,) = by_kind("ServiceAccount")
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    (c,) = pod["containers"]
    admin = next(p for p in c["ports"] if p["name"] == "admin")
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert f"0.0.0.0:{admin['containerPort']}" in c["args"]
    # the container's command line is one `routecore serve --kubernetes` takes
    from routecore._cli.main import parser as cli_parser
    args = cli_parser().parse_args(c["args"])
    assert args.kubernetes and args.gateway == ("infra", "edge", None) and args.path is None
    assert args.identity == "$(POD_NAME)" and any(e["name"] == "POD_NAME" for e in c["env"])
    for binding in by_kind("ClusterRoleBinding") + by_kind("RoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                        "namespace": sa["metadata"]["namespace"]}]
    # list/watch: exactly the kinds the reflectors watch
    watched = {(v, k.group, k.plural) for k in WATCHED for v in ("list", "watch")}
    assert {g for g in granted() if g[0] in ("list", "watch")} == watched


def every_status_kind(api):
    """basic_cluster plus one object of every other kind whose status routecore.kube writes: a
    GRPCRoute, TLSRoute, TCPRoute and UDPRoute on listeners of infra/edge, a ListenerSet of it
    and a BackendTLSPolicy on the Service the routes send to."""
    basic_cluster(api)
    gw = gateway()
    gw["spec"]["allowedListeners"] = {"namespaces": {"from": "All"}}
    gw["spec"]["listeners"] += [
        tcp_listener("tcp", 9000), dict(tcp_listener("udp", 9001), protocol="UDP"),
        dict(tcp_listener("tls", 8443), protocol="TLS", hostname="db.example",
             tls={"mode": "Passthrough"})]
    api.apply(gw)
    grpc = route("g0", host="grpc.example")
    grpc["kind"] = "GRPCRoute"
    grpc["spec"]["rules"] = [{"backendRefs": [{"name": "v1", "port": 80}]}]
    api.apply(grpc)
    for kind, section in (("TCPRoute", "tcp"), ("UDPRoute", "udp"), ("TLSRoute", "tls")):
        obj = stream_route(kind, kind.lower(), section=section)
        if kind == "TLSRoute":
            obj["spec"]["hostnames"] = ["db.example"]
        api.apply(obj)
    api.apply(listener_set("team"))
    api.apply(backend_tls_policy("v1-tls", "v1"))


def test_rbac_grants_exactly_the_requests_made(tmp_path, monkeypatch):
    """Run two replicas through sync, status writes of every kind (each kind's first one meets a
    conflict) and a leader hand-over; every request they made is granted, and every grant was
    used."""
    api = KubeAPIServer(bookmark_interval=0.3).start()
    status_kinds = {"GatewayClass", "Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "TLSRoute",
                    "TCPRoute", "UDPRoute", "BackendTLSPolicy"}
    plural_of = {k.kind: k.plural for k in WATCHED}
    bumped = set()
    real = ApiClient.replace

    async def bump_then_replace(self, info, ns, name, obj, sub=None):
        # a stale write: the first status PUT of each kind finds the object changed behind the
        # writer's back (a 409, then a get)
        if sub == "status" and info.kind not in bumped:
            bumped.add(info.kind)
            fresh = api.get(info.plural, ns, name)
            fresh["metadata"]["annotations"] = {"bumped": "yes"}
            api.apply(fresh)
        return await real(self, info, ns, name, obj, sub)

    monkeypatch.setattr(ApiClient, "replace", bump_then_replace)
    try:
        every_status_kind(api)
        kc = api.write_kubeconfig(str(tmp_path / "kc"))
        fast = dict(debounce=0.05, lease_duration=2.0, renew_deadline=1.5, retry_period=0.2,
                    backoff_base=0.05, backoff_cap=0.5, lease_namespace="routecore-system")
        a = KubeSource(kubeconfig=kc, identity="a", **fast)
        b = KubeSource(kubeconfig=kc, identity="b", **fast)
        a.start(timeout=10)
        b.start(timeout=10)
        deadline = time.monotonic() + 10
        while not (bumped == status_kinds and all(api.count("update", plural_of[k], "status") >= 2
                                                  for k in status_kinds)) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bumped == status_kinds
        assert a.stats["status_conflicts"] + b.stats["status_conflicts"] >= len(status_kinds)
        leader = a if a.is_leader() else b
        leader.stop()
        other = b if leader is a else a
        while not other.is_leader() and time.monotonic() < deadline + 10:
            time.sleep(0.05)
        assert other.is_leader()
        other.stop()
    finally:
        api.stop()
    group_of = {k.plural: k.group for k in WATCHED}
    group_of["leases"] = "coordination.k8s.io"
    used = {(verb, group_of[plural], plural + ("/" + sub if sub else ""))
            for (verb, plural, sub), n in api.store.requests.items() if n}
    assert used <= granted(), used - granted()
    assert granted() - used == set()  # every grant was used


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_dry_run_of_the_manifests_the_test_server_serves(tmp_path):
    api = KubeAPIServer().start()
    try:
        kc = api.write_kubeconfig(str(tmp_path / "kc"))
        env = dict(os.environ, KUBECONFIG=kc, HOME=str(tmp_path))
        out = subprocess.run(["kubectl", "apply", "--dry-run=client", "-f", str(DEPLOY / "gatewayclass.yaml"),
                              "-f", str(DEPLOY / "namespace.yaml")], capture_output=True, text=True,
                             env=env, timeout=30)
        assert out.returncode == 0, out.stderr
        assert "gatewayclass.gateway.networking.k8s.io/routecore created (dry run)" in out.stdout
    finally:
        api.stop()
