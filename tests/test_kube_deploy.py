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
from kubeapi.objects import basic_cluster, route
from routecore.kube import DEFAULT_CONTROLLER, WATCHED, KubeSource

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


def test_rbac_grants_exactly_the_requests_made(tmp_path):
    """Run two replicas through sync, status writes (with a conflict) and a leader hand-over;
    every request they made is granted, and every grant was used."""
    api = KubeAPIServer(bookmark_interval=0.3).start()
    try:
        basic_cluster(api)
        kc = api.write_kubeconfig(str(tmp_path / "kc"))
        fast = dict(debounce=0.05, lease_duration=2.0, renew_deadline=1.5, retry_period=0.2,
                    backoff_base=0.05, backoff_cap=0.5, lease_namespace="routecore-system")
        a = KubeSource(kubeconfig=kc, identity="a", **fast)
        b = KubeSource(kubeconfig=kc, identity="b", **fast)
        a.start(timeout=10)
        b.start(timeout=10)
        deadline = time.monotonic() + 5
        while not (api.get("httproutes", "shop", "r0").get("status") and a.stats["status_writes"] +
                   b.stats["status_writes"] >= 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        # a stale write: bump the route behind the writer's back so its next PUT gets 409
        leader = a if a.is_leader() else b
        real = leader.client.replace

        async def bump_then_replace(info, ns, name, obj, sub=None):
            if sub == "status" and info.kind == "HTTPRoute":
                fresh = api.get("httproutes", ns, name)
                fresh["metadata"]["annotations"] = {"bumped": str(time.monotonic())}
                api.apply(fresh)
            return await real(info, ns, name, obj, sub)

        leader.client.replace = bump_then_replace
        api.apply(route("r0", backend="v2"))
        while leader.stats["status_conflicts"] == 0 and time.monotonic() < deadline + 5:
            time.sleep(0.05)
        leader.client.replace = real
        assert leader.stats["status_conflicts"] > 0
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
    # the grants not exercised here: no GRPCRoute in this cluster, and a conflict was provoked
    # on an HTTPRoute only (a 409 on any status write re-reads the object with get)
    unexercised = {g for g in granted() - used if g[0] not in ("list", "watch")}
    gw = "gateway.networking.k8s.io"
    assert unexercised == {("get", gw, "grpcroutes"), ("update", gw, "grpcroutes/status"),
                           ("get", gw, "gateways"), ("get", gw, "gatewayclasses")}


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
