"""The Kubernetes API test server (tests/kubeapi) is faithful: the real kubectl works against it,
and the conventions routecore.kube relies on hold (checked over HTTP with httpx)."""
import json
import os
import shutil
import signal
import subprocess
import time

import httpx
import pytest

from kubeapi import KubeAPIServer
from kubeapi.objects import gateway, gateway_class, namespace, route

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@pytest.fixture
def api(tmp_path):
    srv = KubeAPIServer(bookmark_interval=0.2).start()
    srv.kubeconfig = srv.write_kubeconfig(str(tmp_path / "kubeconfig"))
    yield srv
    srv.stop()


def kubectl(api, *args, input=None, check=True):
    env = dict(os.environ, KUBECONFIG=api.kubeconfig, HOME=os.path.dirname(api.kubeconfig))
    out = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True, env=env, timeout=30)
    if check and out.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr}")
    return out


def seed(api):
    api.apply(gateway_class())
    api.apply(namespace("infra"))
    api.apply(namespace("shop"))
    api.apply(gateway())
    api.apply(route("a"))
    api.apply(route("b", ns="infra"))


@needs_kubectl
def test_kubectl_get_all_namespaces_and_json(api):
    seed(api)
    out = kubectl(api, "get", "httproutes", "-A").stdout.splitlines()
    assert out[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert sorted(tuple(l.split()[:2]) for l in out[1:]) == [("infra", "b"), ("shop", "a")]
    doc = json.loads(kubectl(api, "get", "gateways", "-n", "infra", "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in doc["items"]] == ["edge"]
    assert doc["items"][0]["spec"]["gatewayClassName"] == "routecore"
    gc = json.loads(kubectl(api, "get", "gatewayclass", "routecore", "-o", "json").stdout)
    assert gc["kind"] == "GatewayClass" and "namespace" not in gc["metadata"]
    assert kubectl(api, "get", "httproute", "nope", "-n", "shop", check=False).returncode == 1


@needs_kubectl
def test_kubectl_apply_create_conflict_patch_status_delete(api, tmp_path):
    api.apply(namespace("shop"))
    f = tmp_path / "r.yaml"
    f.write_text(json.dumps(route("c")))
    assert "created" in kubectl(api, "apply", "-f", str(f)).stdout
    assert api.get("httproutes", "shop", "c")["metadata"]["generation"] == 1
    assert "unchanged" in kubectl(api, "apply", "-f", str(f)).stdout
    created = kubectl(api, "create", "-f", str(f), check=False)
    assert created.returncode == 1 and "AlreadyExists" in created.stderr
    changed = route("c", path="/v2")
    f.write_text(json.dumps(changed))
    assert "configured" in kubectl(api, "apply", "-f", str(f)).stdout
    obj = api.get("httproutes", "shop", "c")
    assert obj["metadata"]["generation"] == 2
    assert obj["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/v2"
    status = {"status": {"parents": [{"parentRef": {"name": "edge"}, "controllerName": "x.dev/y",
                                      "conditions": []}]}}
    kubectl(api, "patch", "httproute", "c", "-n", "shop", "--type=merge", "--subresource=status",
            "-p", json.dumps(status))
    obj = api.get("httproutes", "shop", "c")
    assert obj["status"]["parents"][0]["controllerName"] == "x.dev/y"
    assert obj["metadata"]["generation"] == 2  # a status change is no spec change
    # a status sent to the main resource is ignored
    kubectl(api, "patch", "httproute", "c", "-n", "shop", "--type=merge", "-p",
            json.dumps({"status": {"parents": []}}))
    assert api.get("httproutes", "shop", "c")["status"]["parents"][0]["controllerName"] == "x.dev/y"
    # strategic merge patch is not served for custom resources
    bad = kubectl(api, "patch", "httproute", "c", "-n", "shop", "-p", '{"metadata":{"labels":{"a":"b"}}}',
                  check=False)
    assert bad.returncode == 1 and "unknown format" in bad.stderr
    kubectl(api, "label", "httproute", "c", "-n", "shop", "team=a")
    assert api.get("httproutes", "shop", "c")["metadata"]["generation"] == 2  # labels: metadata only
    assert kubectl(api, "get", "httproutes", "-n", "shop", "-l", "team=a", "-o", "name").stdout.split() == \
        ["httproute.gateway.networking.k8s.io/c"]
    assert kubectl(api, "get", "httproutes", "-n", "shop", "-l", "team=b", "-o", "name").stdout.split() == []
    assert "deleted" in kubectl(api, "delete", "httproute", "c", "-n", "shop").stdout
    assert kubectl(api, "get", "httproutes", "-A", "-o", "name").stdout.strip() == ""


@needs_kubectl
def test_kubectl_get_watch_reads_events(api):
    api.apply(namespace("shop"))
    api.apply(route("a"))
    env = dict(os.environ, KUBECONFIG=api.kubeconfig, HOME=os.path.dirname(api.kubeconfig))
    proc = subprocess.Popen([KUBECTL, "get", "httproutes", "-n", "shop", "-w", "--output-watch-events"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)
        api.apply(route("b"))
        api.apply(route("b", path="/x"))
        api.remove("httproutes", "shop", "b")
        lines = []
        deadline = time.monotonic() + 10
        while len(lines) < 5 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line:
                lines.append(line.split()[:2])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)
    assert lines[0] == ["EVENT", "NAME"]
    assert lines[1:] == [["ADDED", "a"], ["ADDED", "b"], ["MODIFIED", "b"], ["DELETED", "b"]]


@needs_kubectl
def test_kubectl_leases_and_builtins(api, tmp_path):
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "l", "namespace": "default"},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 10}}
    f = tmp_path / "lease.json"
    f.write_text(json.dumps(lease))
    kubectl(api, "create", "-f", str(f))
    again = kubectl(api, "create", "-f", str(f), check=False)
    assert again.returncode == 1 and "AlreadyExists" in again.stderr
    out = json.loads(kubectl(api, "get", "leases", "-o", "json").stdout)
    assert out["items"][0]["spec"]["holderIdentity"] == "a"
    # (generator commands such as `kubectl create namespace` send protobuf, which this server
    # does not read; manifests are sent as JSON)
    f.write_text(json.dumps(namespace("extra")))
    kubectl(api, "create", "-f", str(f))
    ns = json.loads(kubectl(api, "get", "ns", "extra", "-o", "json").stdout)
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "extra"


@needs_kubectl
def test_kubectl_over_tls_verifies_the_ca_and_authenticates_by_token_or_certificate(api, tmp_path):
    import base64

    from kubeapi.tls import ServerTLS
    seed(api)
    assert api.url.startswith("https://")
    api.tokens = set()
    api.kubeconfig = api.write_kubeconfig(str(tmp_path / "cert"), auth="cert")
    assert kubectl(api, "get", "gateways", "-A", "-o", "name").stdout.split() == \
        ["gateway.gateway.networking.k8s.io/edge"]
    api.tokens = {"good"}
    api.kubeconfig = api.write_kubeconfig(str(tmp_path / "token"))
    assert kubectl(api, "get", "ns", "-o", "name").stdout.split() == ["namespace/infra", "namespace/shop"]
    doc = json.loads(open(api.kubeconfig).read())
    doc["users"][0]["user"]["token"] = "bad"
    open(api.kubeconfig, "w").write(json.dumps(doc))
    denied = kubectl(api, "get", "ns", check=False)
    assert denied.returncode == 1 and "Unauthorized" in denied.stderr
    doc["users"][0]["user"]["token"] = "good"
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(ServerTLS().ca_pem).decode()
    open(api.kubeconfig, "w").write(json.dumps(doc))
    untrusted = kubectl(api, "get", "ns", check=False)
    assert untrusted.returncode == 1 and "x509" in untrusted.stderr


# --- the conventions routecore.kube relies on, over HTTPS ---------------------------------

def _events(resp, n):
    out = []
    for line in resp.iter_lines():
        if line.strip():
            out.append(json.loads(line))
            if len(out) == n:
                break
    return out


def test_list_items_of_builtin_kinds_carry_no_kind(api):
    api.apply(namespace("shop"))
    api.apply(route("a"))
    with api.http_client() as c:
        ns = c.get("/api/v1/namespaces").json()
        assert ns["kind"] == "NamespaceList" and int(ns["metadata"]["resourceVersion"]) > 0
        assert "kind" not in ns["items"][0] and "apiVersion" not in ns["items"][0]
        routes = c.get("/apis/gateway.networking.k8s.io/v1/httproutes").json()
        assert routes["items"][0]["kind"] == "HTTPRoute"
        v1beta1 = c.get("/apis/gateway.networking.k8s.io/v1beta1/namespaces/shop/httproutes/a").json()
        assert v1beta1["apiVersion"] == "gateway.networking.k8s.io/v1beta1"
        disc = c.get("/apis/gateway.networking.k8s.io/v1").json()
        names = {r["name"]: r for r in disc["resources"]}
        assert names["httproutes/status"]["verbs"] == ["get", "patch", "update"]
        assert names["gatewayclasses"]["namespaced"] is False


def test_watch_resume_bookmarks_and_410(api):
    api.apply(namespace("shop"))
    with api.http_client(timeout=5) as c:
        rv = c.get("/apis/gateway.networking.k8s.io/v1/httproutes").json()["metadata"]["resourceVersion"]
        api.apply(route("a"))
        api.apply(route("a", path="/x"))
        params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true"}
        with c.stream("GET", "/apis/gateway.networking.k8s.io/v1/httproutes", params=params) as resp:
            added, modified, bookmark = _events(resp, 3)
        assert (added["type"], modified["type"], bookmark["type"]) == ("ADDED", "MODIFIED", "BOOKMARK")
        assert int(modified["object"]["metadata"]["resourceVersion"]) > int(added["object"]["metadata"]["resourceVersion"])
        # timeoutSeconds ends the stream cleanly
        with c.stream("GET", "/api/v1/namespaces", params={"watch": "1", "resourceVersion": bookmark[
                "object"]["metadata"]["resourceVersion"], "timeoutSeconds": "1"}) as resp:
            assert _events(resp, 10) == []
        api.compact()
        with c.stream("GET", "/apis/gateway.networking.k8s.io/v1/httproutes",
                      params={"watch": "1", "resourceVersion": rv}) as resp:
            assert resp.status_code == 200
            (err,) = _events(resp, 1)
        assert err["type"] == "ERROR" and err["object"]["code"] == 410 and err["object"]["reason"] == "Expired"


def test_writes_conflict_generation_and_status(api):
    api.apply(namespace("shop"))
    created = api.apply(route("a"))
    base = "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/a"
    with api.http_client() as c:
        stale = dict(created, status={"parents": []})
        ok = c.put(base + "/status", json=stale)
        assert ok.status_code == 200 and ok.json()["metadata"]["generation"] == 1
        again = c.put(base + "/status", json=stale)
        assert again.status_code == 409 and again.json()["reason"] == "Conflict"
        fresh = ok.json()
        fresh["spec"]["hostnames"] = ["x.example"]
        fresh["status"] = {"ignored": True}
        upd = c.put(base, json=fresh).json()
        assert upd["metadata"]["generation"] == 2 and upd["status"] == {"parents": []}
        no_rv = dict(upd)
        no_rv["metadata"] = {k: v for k, v in upd["metadata"].items() if k != "resourceVersion"}
        assert c.put(base, json=no_rv).status_code == 422  # custom resources need a resourceVersion
        patch = c.patch(base + "/status", content=json.dumps({"status": {"parents": None}}),
                        headers={"Content-Type": "application/merge-patch+json"}).json()
        assert "parents" not in patch["status"] and patch["metadata"]["generation"] == 2
        assert c.post("/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes",
                      json=route("a")).json()["reason"] == "AlreadyExists"


def test_controls_down_and_cut(api):
    api.apply(namespace("shop"))
    with api.http_client(timeout=2) as c:
        with c.stream("GET", "/api/v1/namespaces", params={"watch": "1"}) as resp:
            lines = resp.iter_lines()
            assert json.loads(next(lines))["type"] == "ADDED"
            api.cut_watches()
            with pytest.raises(httpx.HTTPError):  # cut: no final chunk
                list(lines)
    api.go_down(0.5)
    with api.http_client(timeout=2) as c:
        with pytest.raises(httpx.HTTPError):
            c.get("/api/v1/namespaces")
    time.sleep(0.6)
    with api.http_client(timeout=2) as c:
        assert c.get("/api/v1/namespaces").status_code == 200
